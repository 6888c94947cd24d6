"""Training knobs, measured on the course's GAP MNIST net: the learning rate (a sweep, the
range test, the one-cycle schedule), the batch size, regularisation against overfitting
(dropout, weight decay, augmentation, early stopping), input normalisation and activations.

Every experiment is a plain function: it takes its settings, `on_progress` (called with a
dict: "fraction" of the whole experiment done, "run" the label of the run going on, "runs"
the records so far) and `stop` (anything with is_set(), as models.train.train takes), and
returns plain data — runs as lists of dicts — that pages draw and JSON files keep. Training
goes through models.train.train, so the runs get the same fast path as every other run.

A run whose loss turns NaN or infinite is stopped there (models.train.train ends it) and marked
"diverged"; the experiment goes on with its next run. A run whose loss climbed above
EXPLODED_LOSS but stayed finite is marked "exploded".

Live experiments (a page's button) are checked against LIVE_BUDGET before anything is built.
"""

from __future__ import annotations

import copy
import inspect
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace

import torch
from torch import nn
from torch.nn import functional as F

from models import seeded
from models.budget import LIVE_BUDGET, check_budget
from models.data import ImageSet
from models.gap_mnist import ACTIVATIONS, GapMnistNet
from models.init_study import symmetry_runs
from models.train import (
    RECIPES,
    TrainConfig,
    choose_precision,
    default_device,
    evaluate,
    one_cycle,
    predict_classes,
    prepare_batch,
    train,
)

Progress = Callable[[dict], None]

# A cross-entropy over ten classes starts near ln 10 = 2.3; a mean above this means the net is
# confidently wrong by a factor of e^100 and its weights are running away.
EXPLODED_LOSS = 100.0


# --- One run, recorded ---------------------------------------------------------------------------


def _new_record(label: str, **settings) -> dict:
    return {"label": label, **settings, "step_losses": [], "history": [], "steps": 0, "total_steps": 0,
            "diverged": False, "why": "", "peak_loss": None, "stopped": False, "seconds": 0.0, "test_accuracy": None}


def _snapshot(runs: list[dict]) -> list[dict]:
    return [{**run, "step_losses": list(run["step_losses"]), "history": list(run["history"])} for run in runs]


def _run(record: dict, runs: list[dict], net: nn.Module, train_set: ImageSet, test_set: ImageSet | None,
         config: TrainConfig, share: tuple[float, float], on_progress: Progress | None, stop,
         after_epoch: Callable[[nn.Module], dict] | None = None) -> dict:
    """Train `net` with models.train.train and fill `record` (appended to `runs`) as it goes.
    `share` = (fraction of the experiment done before this run, fraction this run is of it)."""
    runs.append(record)

    def progress(p) -> None:
        record["steps"], record["total_steps"] = p.step, p.total_steps
        if p.epoch_end:
            row = {"epoch": p.epoch, "train_loss": p.loss, "train_accuracy": p.train_accuracy,
                   "test_accuracy": p.test_accuracy, "seconds": p.seconds}
            if after_epoch is not None:
                row.update(after_epoch(net))
            record["history"].append(row)
        else:
            record["step_losses"].append([p.step, p.loss])
            record["peak_loss"] = max(record["peak_loss"] or p.loss, p.loss)
        if on_progress is not None:
            on_progress({"fraction": share[0] + share[1] * p.step / p.total_steps, "run": record["label"],
                         "runs": _snapshot(runs)})

    result = train(net, train_set, test_set, config, on_progress=progress, stop=stop)
    record["seconds"] = result.seconds
    record["test_accuracy"] = result.test_accuracy
    record["precision"] = result.precision
    record["stopped"] = result.stopped
    if result.diverged:   # NaN somewhere after the last report
        record.update(diverged=True, why="NaN", diverged_by_step=min(record["steps"] + config.report_every,
                                                                       record["total_steps"] or record["steps"] + config.report_every))
    elif record["peak_loss"] is not None and record["peak_loss"] > EXPLODED_LOSS:
        record["why"] = "exploded"
    if not record["total_steps"]:
        record["total_steps"] = len(train_set) // config.batch_size * config.epochs
    return record


def _gap_net(seed: int, **kwargs) -> GapMnistNet:
    return seeded(lambda: GapMnistNet(**kwargs), seed)


def _stopped(stop) -> bool:
    return stop is not None and stop.is_set()


def _result(kind: str, runs: list[dict], train_set: ImageSet, test_set: ImageSet | None, started: float,
            stop, **extra) -> dict:
    return {"kind": kind, "runs": runs, "train_images": len(train_set),
            "test_images": len(test_set) if test_set is not None else 0, "seconds": time.perf_counter() - started,
            "stopped": _stopped(stop), "device": str(default_device()), **extra}


# --- 1. The learning rate ----------------------------------------------------------------------------


def lr_sweep(train_set: ImageSet, test_set: ImageSet, lrs: Sequence[float], epochs: int = 1, batch_size: int = 32,
             seed: int = 0, on_progress: Progress | None = None, stop=None, budget: int | None = LIVE_BUDGET) -> dict:
    """The GAP net from the same initial weights, once per peak learning rate (one-cycle, SGD
    with Nesterov momentum, as the shipped net), on the same batches."""
    check_budget(len(train_set) * epochs * len(lrs), "this learning-rate sweep", budget)
    started, runs = time.perf_counter(), []
    for index, lr in enumerate(lrs):
        if _stopped(stop):
            break
        config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=float(lr), weight_decay=1e-4, augment=False,
                             seed=seed, report_every=5)
        _run(_new_record(f"lr {lr:g}", lr=float(lr)), runs, _gap_net(seed), train_set, test_set, config,
             (index / len(lrs), 1 / len(lrs)), on_progress, stop)
    return _result("lr_sweep", runs, train_set, test_set, started, stop, epochs=epochs, batch_size=batch_size)


def lr_range_test(train_set: ImageSet, start: float = 1e-4, end: float = 1e3, steps: int = 120, batch_size: int = 64,
                  seed: int = 0, smoothing: float = 0.9, stop_factor: float = 4.0,
                  on_progress: Progress | None = None, stop=None, budget: int | None = LIVE_BUDGET) -> dict:
    """Smith's learning-rate range test: one sweep of SGD (momentum 0.9) over fresh batches with
    the learning rate raised by the same factor every step from `start` to `end`, recording the
    loss. The sweep ends early once the smoothed loss passes `stop_factor` x its lowest value (or
    turns NaN). The suggested rate is a tenth of the one where the smoothed loss was lowest
    (still on the steep part of the curve, safely before the blow-up)."""
    check_budget(steps * batch_size, "this range test", budget)
    device = default_device()
    started = time.perf_counter()
    net = _gap_net(seed).to(device=device, memory_format=torch.channels_last).train()
    optimizer = torch.optim.SGD(net.parameters(), lr=start, momentum=0.9)
    precision = choose_precision(device)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(train_set), generator=generator)
    factor = (end / start) ** (1 / max(steps - 1, 1))
    lrs, losses, smoothed = [], [], []
    average, best, ended = 0.0, math.inf, ""
    for step in range(steps):
        if _stopped(stop):
            ended = "stopped"
            break
        lr = start * factor ** step
        for group in optimizer.param_groups:
            group["lr"] = lr
        picks = order[(torch.arange(batch_size) + step * batch_size) % len(order)]
        x = prepare_batch(train_set.images[picks].to(device), train_set)
        y = train_set.labels[picks].to(device)
        with torch.autocast(device.type, dtype=precision.autocast, enabled=precision.autocast is not None):
            loss = F.cross_entropy(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = loss.item()
        lrs.append(lr)
        losses.append(value if math.isfinite(value) else None)
        if not math.isfinite(value):
            smoothed.append(None)
            ended = "NaN"
            break
        average = smoothing * average + (1 - smoothing) * value
        smooth = average / (1 - smoothing ** (step + 1))   # bias-corrected moving average
        smoothed.append(smooth)
        best = min(best, smooth)
        if on_progress is not None:
            on_progress({"fraction": (step + 1) / steps, "run": "range test", "lrs": list(lrs), "losses": list(losses)})
        if smooth > stop_factor * best:
            ended = f"loss above {stop_factor:g}× its lowest"
            break
    finite = [(s, lr) for s, lr in zip(smoothed, lrs) if s is not None]
    best_lr = min(finite)[1] if finite else None
    return {"kind": "lr_range_test", "lrs": lrs, "losses": losses, "smoothed": smoothed, "best_lr": best_lr,
            "chosen_lr": best_lr / 10 if best_lr else None, "ended": ended, "diverged_at": lrs[-1] if ended not in ("", "stopped") else None,
            "batch_size": batch_size, "steps": len(lrs), "seconds": time.perf_counter() - started,
            "stopped": ended == "stopped", "device": str(device)}


def one_cycle_curve(config: TrainConfig | None = None, total_steps: int | None = None) -> dict:
    """The learning rate and momentum at every step of the one-cycle schedule that
    models.train.train runs (by default the shipped GAP net's: its recipe on all 60,000 images)."""
    config = config or RECIPES["gap-mnist"].config
    total_steps = total_steps or 60_000 // config.batch_size * config.epochs
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr, momentum=config.momentum,
                                nesterov=True)
    schedule = one_cycle(optimizer, config, total_steps)
    lrs, momenta = [], []
    for _ in range(total_steps):
        group = optimizer.param_groups[0]
        lrs.append(group["lr"])
        momenta.append(group["momentum"])
        optimizer.step()
        schedule.step()
    return {"steps": list(range(1, total_steps + 1)), "lr": lrs, "momentum": momenta, "peak_lr": config.lr,
            "warmup_fraction": config.warmup_fraction, "epochs": config.epochs,
            "steps_per_epoch": total_steps // config.epochs}


# --- 2. The batch size -------------------------------------------------------------------------------


def batch_sweep(train_set: ImageSet, test_set: ImageSet, batch_sizes: Sequence[int] = (8, 32, 128, 512),
                scale_lr: bool = False, base_lr: float = 0.05, base_batch: int = 128, epochs: int = 1, seed: int = 0,
                on_progress: Progress | None = None, stop=None, budget: int | None = LIVE_BUDGET) -> dict:
    """The same net for the same epochs at each batch size: with `scale_lr`, the peak learning
    rate grows with the batch (base_lr x batch / base_batch, the linear scaling rule)."""
    check_budget(len(train_set) * epochs * len(batch_sizes), "this batch-size sweep", budget)
    # The one-cycle schedule needs more than one step of warm-up (torch's OneCycleLR divides by it).
    too_big = [batch for batch in batch_sizes if len(train_set) // batch * epochs * 0.25 <= 1]
    if too_big:
        raise ValueError(f"batch {too_big[0]} leaves too few steps on {len(train_set):,} images: use more images")
    started, runs = time.perf_counter(), []
    for index, batch in enumerate(batch_sizes):
        if _stopped(stop):
            break
        lr = base_lr * batch / base_batch if scale_lr else base_lr
        config = TrainConfig(epochs=epochs, batch_size=int(batch), lr=lr, weight_decay=1e-4, augment=False, seed=seed,
                             report_every=max(1, len(train_set) // batch // 20))
        _run(_new_record(f"batch {batch}", batch_size=int(batch), lr=lr), runs, _gap_net(seed), train_set, test_set,
             config, (index / len(batch_sizes), 1 / len(batch_sizes)), on_progress, stop)
    return _result("batch_sweep", runs, train_set, test_set, started, stop, epochs=epochs, scale_lr=scale_lr,
                   base_lr=base_lr, base_batch=base_batch)


# --- 3. Overfitting and regularisation ------------------------------------------------------------------


@dataclass(frozen=True)
class Regulariser:
    dropout: float = 0.0
    weight_decay: float = 0.0
    augment: bool = False
    cutout: int = 0          # side of the Cutout square in pixels (0: none)


REGULARISERS: dict[str, Regulariser] = {
    "none": Regulariser(),
    "dropout 0.1": Regulariser(dropout=0.1),
    "weight decay 5e-3": Regulariser(weight_decay=5e-3),
    "augmentation": Regulariser(augment=True),
    "augmentation + Cutout": Regulariser(augment=True, cutout=10),
    "all of them": Regulariser(dropout=0.1, weight_decay=5e-3, augment=True, cutout=10),
}


def early_stop(history: Sequence[dict], patience: int = 3, key: str = "val_accuracy") -> dict:
    """Where early stopping with `patience` would have ended this run: after `patience` epochs
    without a new best `key`, keeping the weights of the best epoch. stop_epoch is None when
    the run ended before patience ran out."""
    best_epoch, best = None, -math.inf
    for row in history:
        if row[key] is not None and row[key] > best:
            best, best_epoch = row[key], row["epoch"]
        elif best_epoch is not None and row["epoch"] - best_epoch >= patience:
            return {"stop_epoch": row["epoch"], "best_epoch": best_epoch, "best": best, "patience": patience}
    return {"stop_epoch": None, "best_epoch": best_epoch, "best": best if best_epoch else None, "patience": patience}


def regularisation(train_set: ImageSet, val_set: ImageSet, variants: Sequence[str], epochs: int = 10,
                   batch_size: int = 32, lr: float = 0.05, seed: int = 0,
                   on_progress: Progress | None = None, stop=None, budget: int | None = LIVE_BUDGET) -> dict:
    """The GAP net on a small training set, once per variant of REGULARISERS. After every epoch:
    accuracy on the training images (eval mode, not augmented) and on held-out validation
    images; the gap between them is what overfitting looks like (early_stop reads where
    early stopping would have ended each run)."""
    unknown = [v for v in variants if v not in REGULARISERS]
    if unknown:
        raise ValueError(f"unknown regularisers {unknown}; use some of {', '.join(REGULARISERS)}")
    check_budget(len(train_set) * epochs * len(variants), "this regularisation experiment", budget)
    started, runs = time.perf_counter(), []
    for index, name in enumerate(variants):
        if _stopped(stop):
            break
        knob = REGULARISERS[name]
        config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=knob.weight_decay,
                             augment=knob.augment, cutout=knob.cutout, seed=seed, report_every=10)

        def after_epoch(net: nn.Module) -> dict:
            return {"fit_accuracy": evaluate(net, train_set)}

        record = _run(_new_record(name, **asdict(knob)), runs, _gap_net(seed, dropout=knob.dropout), train_set,
                      val_set, config, (index / len(variants), 1 / len(variants)), on_progress, stop, after_epoch)
        for row in record["history"]:
            row["val_accuracy"] = row.pop("test_accuracy")
    return _result("regularisation", runs, train_set, val_set, started, stop, epochs=epochs, val_images=len(val_set))


def dropout_in_numbers(x: torch.Tensor, p: float, seed: int = 0) -> dict:
    """What nn.Dropout(p) does to `x`, with the random draw shown: in training each value is
    kept with probability 1-p and multiplied by 1/(1-p), so the expected value stays the same;
    in evaluation nothing changes. The draw is torch's own (F.dropout under `seed`), so
    nn.Dropout under the same seed gives exactly `train_output`."""
    x = x.detach().float()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        multiplier = F.dropout(torch.ones_like(x), p, training=True)
    kept = multiplier != 0
    return {"p": p, "scale": 1 / (1 - p) if p < 1 else math.inf, "kept": kept, "multiplier": multiplier,
            "train_output": x * multiplier, "eval_output": x.clone(), "zeroed_share": 1 - kept.float().mean().item(),
            "mean_before": x.mean().item(), "mean_train": (x * multiplier).mean().item()}


def first_activation(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The output (a feature map) of the first ReLU after a convolution of `model` for input `x`
    (eval mode, on a copy). ValueError when no ReLU of the net gives a feature map."""
    probe = copy.deepcopy(model).float().eval()
    caught = []
    handles = [m.register_forward_hook(lambda module, inputs, output: caught.append(output.detach()))
               for m in probe.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        probe(x)
    for handle in handles:
        handle.remove()
    maps = [output for output in caught if output.dim() == 4]
    if not maps:
        raise ValueError("this net has no ReLU after a convolution")
    return maps[0]


# --- 5. Input normalisation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rescaled(ImageSet):
    """An image set whose net input is (pixels / 255 - input_mean) / input_std with constants of
    our own choosing instead of the dataset's (models.data.NORMALISATION)."""

    input_mean: tuple[float, ...] = (0.0,)
    input_std: tuple[float, ...] = (1.0,)

    @property
    def mean(self) -> tuple[float, ...]:
        return self.input_mean

    @property
    def std(self) -> tuple[float, ...]:
        return self.input_std


def rescaled(images: ImageSet, mean: tuple[float, ...], std: tuple[float, ...]) -> Rescaled:
    base = {f.name: getattr(images, f.name) for f in fields(ImageSet)}
    return Rescaled(**base, input_mean=tuple(mean), input_std=tuple(std))


# label -> (mean, std) in the formula (pixels / 255 - mean) / std
INPUT_SCALINGS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "normalised (x/255 − 0.1307)/0.3081": ((0.1307,), (0.3081,)),
    "0 to 1 (x/255)": ((0.0,), (1.0,)),
    "raw pixels (0 to 255)": ((0.0,), (1 / 255,)),
}


def normalisation_runs(train_set: ImageSet, test_set: ImageSet, scalings: Sequence[str] = tuple(INPUT_SCALINGS),
                       batch_norm: bool = True, epochs: int = 2, batch_size: int = 32, lr: float = 0.05, seed: int = 0,
                       on_progress: Progress | None = None, stop=None, budget: int | None = LIVE_BUDGET) -> dict:
    """The GAP net (with or without batch norm) once per input scaling of INPUT_SCALINGS."""
    check_budget(len(train_set) * epochs * len(scalings), "this normalisation experiment", budget)
    started, runs = time.perf_counter(), []
    for index, name in enumerate(scalings):
        if _stopped(stop):
            break
        mean, std = INPUT_SCALINGS[name]
        config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=1e-4, augment=False, seed=seed,
                             report_every=5)
        _run(_new_record(name, mean=mean[0], std=std[0]), runs, _gap_net(seed, batch_norm=batch_norm, dropout=0.0),
             rescaled(train_set, mean, std), rescaled(test_set, mean, std), config,
             (index / len(scalings), 1 / len(scalings)), on_progress, stop)
    return _result("normalisation", runs, train_set, test_set, started, stop, batch_norm=batch_norm, epochs=epochs)


# --- 6. Activations ----------------------------------------------------------------------------------------

ACTIVATION_TITLES = {"relu": "ReLU", "leaky_relu": "Leaky ReLU (0.01)", "prelu": "PReLU", "elu": "ELU",
                     "swish": "Swish (SiLU)", "sigmoid": "sigmoid", "tanh": "tanh", "none": "none (linear)"}
assert set(ACTIVATION_TITLES) == set(ACTIVATIONS)


def activation_net(name: str, seed: int = 0) -> GapMnistNet:
    """The GAP net with `name` in every block; "none" also averages instead of max-pooling, so
    that nothing in it is non-linear."""
    return _gap_net(seed, activation=name, pool="avg" if name == "none" else "max")


def function_and_derivative(name: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(x) and f'(x) of one activation, as torch's own module computes them (autograd)."""
    module = ACTIVATIONS[name](1)
    x = x.detach().clone().requires_grad_(True)
    y = module(x.view(1, 1, -1)).view(-1) if name == "prelu" else module(x)
    (gradient,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), gradient


@torch.no_grad()
def linear_equivalent(net: nn.Module, input_shape: tuple[int, ...] = (1, 28, 28)) -> tuple[torch.Tensor, torch.Tensor]:
    """A net with no non-linearity, in eval mode, is one affine map: logits = W x + b. Read W and
    b off it (b = logits of the zero image, column i of W = logits of the i-th unit image - b),
    in float64. Returns W (classes, inputs) and b (classes,)."""
    probe = copy.deepcopy(net).cpu().double().eval().to(memory_format=torch.contiguous_format)
    size = math.prod(input_shape)
    logits = probe.logits if hasattr(probe, "logits") else probe
    bias = logits(torch.zeros(1, *input_shape, dtype=torch.float64))[0]
    basis = torch.eye(size, dtype=torch.float64).view(size, *input_shape)
    weights = torch.cat([logits(chunk) for chunk in basis.split(256)]) - bias
    return weights.T.contiguous(), bias


def activation_sweep(train_set: ImageSet, test_set: ImageSet, activations: Sequence[str] = tuple(ACTIVATIONS),
                     epochs: int = 1, batch_size: int = 32, lr: float = 0.2, seed: int = 0,
                     on_progress: Progress | None = None, stop=None, budget: int | None = LIVE_BUDGET) -> dict:
    """The GAP net with each activation, from the same seed, on the same batches. For "none",
    also the linear classifier it collapses to and how often that classifier agrees with it."""
    check_budget(len(train_set) * epochs * len(activations), "this activation sweep", budget)
    started, runs = time.perf_counter(), []
    for index, name in enumerate(activations):
        if _stopped(stop):
            break
        config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=1e-4, augment=False, seed=seed,
                             report_every=5)
        net = activation_net(name, seed)
        record = _run(_new_record(ACTIVATION_TITLES[name], activation=name), runs, net, train_set, test_set, config,
                      (index / len(activations), 1 / len(activations)), on_progress, stop)
        if name == "none" and record["history"]:
            record["linear"] = linear_summary(net, test_set)
    return _result("activations", runs, train_set, test_set, started, stop, epochs=epochs)


def linear_summary(net: nn.Module, test_set: ImageSet) -> dict:
    """The linear classifier a non-linearity-free net is: its weights as 28x28 templates, its
    own test accuracy, and how often it predicts what the net predicts."""
    weights, bias = linear_equivalent(net, tuple(test_set.images.shape[1:]))
    x = prepare_batch(test_set.images, test_set).contiguous().double().flatten(1)
    linear_predictions = (x @ weights.T + bias).argmax(1)
    net_predictions = predict_classes(net.float(), test_set).cpu()
    return {"weights": weights.view(-1, *test_set.images.shape[2:]).float().tolist(), "bias": bias.tolist(),
            "agreement": (linear_predictions == net_predictions).double().mean().item(),
            "accuracy": (linear_predictions == test_set.labels).double().mean().item(),
            "parameters_of_the_net": sum(p.numel() for p in net.parameters()),
            "parameters_of_the_classifier": weights.numel() + bias.numel()}


# --- Data for the experiments --------------------------------------------------------------------------------


def split(train_set: ImageSet, sizes: Sequence[int], seed: int = 0) -> list[ImageSet]:
    """Disjoint seeded random subsets of `train_set` of the given sizes (e.g. a small training
    set and a validation set the net never trains on)."""
    if sum(sizes) > len(train_set):
        raise ValueError(f"{sum(sizes):,} images asked of a set of {len(train_set):,}")
    order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(seed))
    parts, start = [], 0
    for size in sizes:
        chosen = order[start : start + size]
        changes = {"images": train_set.images[chosen], "labels": train_set.labels[chosen]}
        if "source" in {f.name for f in fields(train_set)}:
            changes["source"] = f"{size:,} images drawn from {getattr(train_set, 'source', '') or train_set.name}"
        parts.append(replace(train_set, **changes))
        start += size
    return parts


# --- The live experiments, as the pages (and bench/knobs_speed.py) run them ----------------------------------

# name -> (training images, test or validation images) of each live experiment
LIVE_SIZES: dict[str, tuple[int, int]] = {
    "lr_sweep": (3_000, 2_000),
    "lr_range_test": (60_000, 0),
    "batch_sweep": (4_000, 2_000),
    "regularisation": (1_000, 1_000),
    "normalisation": (3_000, 2_000),
    "symmetry": (2_000, 2_000),
    "activations": (2_000, 2_000),
}


def live_sets(name: str, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """The MNIST images a live experiment trains and tests on: seeded random subsets of the
    training and test sets (for "regularisation", a validation set drawn from the training set
    instead, disjoint from the training images)."""
    from models import data

    train_images, test_images = LIVE_SIZES[name]
    full = data.load("mnist", train=True)
    if name == "regularisation":
        small, validation = split(full, (train_images, test_images), seed)
        return small, validation
    if name == "lr_range_test":
        return full, full
    test = data.load("mnist", train=False)
    return data.subset(full, train_images, seed), data.subset(test, test_images, seed)


# The parameter that lists an experiment's runs (its count times the images and epochs is its work).
RUN_PARAMETER = {"lr_sweep": "lrs", "batch_sweep": "batch_sizes", "regularisation": "variants",
                 "normalisation": "scalings", "symmetry": "schemes", "activations": "activations"}


def _experiment(name: str) -> Callable[..., dict]:
    return {"lr_sweep": lr_sweep, "lr_range_test": lr_range_test, "batch_sweep": batch_sweep,
            "regularisation": regularisation, "normalisation": normalisation_runs, "symmetry": symmetry_runs,
            "activations": activation_sweep}[name]


def live_work(name: str, **settings) -> int:
    """The image-steps a live experiment with these settings trains (what LIVE_BUDGET limits)."""
    parameters = inspect.signature(_experiment(name)).parameters
    value = lambda key: settings.get(key, parameters[key].default)   # noqa: E731
    if name == "lr_range_test":
        return int(value("steps")) * int(value("batch_size"))
    return LIVE_SIZES[name][0] * int(value("epochs")) * len(value(RUN_PARAMETER[name]))


def run_live(name: str, on_progress: Progress | None = None, stop=None, **settings) -> dict:
    """One live experiment at its LIVE_SIZES with the page's `settings`, within LIVE_BUDGET."""
    check_budget(live_work(name, **settings), f"this {name.replace('_', ' ')}")
    if on_progress is not None:
        on_progress({"phase": "Loading MNIST (the first time takes a few seconds)"})
    train_set, test_set = live_sets(name)
    if name == "lr_range_test":
        return lr_range_test(train_set, on_progress=on_progress, stop=stop, **settings)
    return _experiment(name)(train_set, test_set, on_progress=on_progress, stop=stop, **settings)
