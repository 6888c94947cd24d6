"""Plain vs residual nets (He et al. 2016, Figure 6): the shipped training runs of plain-20,
plain-56, ResNet-20 and ResNet-56, what they show against what He et al. found, the gradient
that reaches each layer at initialisation, and the shipped ResNets trained longer against the
course's 91 % bar.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from models import checkpoints, seeded
from models.resnet import cifar_resnet
from models.train import accuracy_tie, with_defaults

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
STUDY_DIR = CHECKPOINTS / "plain_vs_residual"
NETS = {"plain20": (20, False), "plain56": (56, False), "resnet20": (20, True), "resnet56": (56, True)}
TITLES = {"plain20": "plain-20", "plain56": "plain-56", "resnet20": "ResNet-20", "resnet56": "ResNet-56"}
# All four trained with one recipe on all 50,000 training images.
RUN_PATHS = {name: STUDY_DIR / f"{name}_cifar10.pt" for name in NETS}
TEST_IMAGES = 10_000          # the shipped runs are tested on the whole CIFAR-10 test set
HE_ET_AL_STEPS = 64_000       # their CIFAR-10 runs: 64k steps of 128 images


@dataclass
class Run:
    name: str                    # a key of NETS
    history: list[dict]          # one row per epoch: train_loss, train_accuracy, test_accuracy, seconds, ...
    test_accuracy: float | None
    epochs: int
    train_images: int | None
    seconds: float | None
    device: str                  # where its last epoch ran
    precision: str | None        # what its steps ran in (models.train.precision_record); None: not recorded
    command: str
    config: dict              # the TrainConfig it was trained with

    @property
    def title(self) -> str:
        return TITLES[self.name]

    @property
    def steps(self) -> int | None:
        batch = self.config.get("batch_size")
        return self.epochs * ((self.train_images or 50_000) // batch) if batch else None

    @property
    def seconds_per_1000_images(self) -> float | None:
        """Seconds per 1,000 training images in its last epoch (its test pass included): the pace of
        `device`, also for a run resumed on other hardware."""
        times = [row.get("seconds") for row in self.history[-2:]]
        if not times or None in times:
            return None
        last = times[-1] - times[0] if len(times) == 2 else times[-1]
        return last / ((self.train_images or 50_000) / 1000)


def load_runs(paths: Mapping[str, str | Path] = RUN_PATHS) -> tuple[dict[str, Run], list[str]]:
    """The study's runs, by net (`paths`: net -> checkpoint), and messages about the missing or
    unreadable ones."""
    runs, problems = {}, []
    for name, path in paths.items():
        path = Path(path)
        if not path.exists():
            problems.append(f"{TITLES[name]}: no checkpoint at {path}")
            continue
        try:
            meta = checkpoints.read(path)["metadata"]
        except checkpoints.CheckpointError as error:
            problems.append(f"{TITLES[name]}: {error}")
            continue
        history = meta.get("history") or []
        if not history:
            problems.append(f"{TITLES[name]}: the checkpoint has no training history")
            continue
        runs[name] = Run(name, history, meta.get("test_accuracy"), len(history), meta.get("train_images"),
                         meta.get("train_seconds"), str(meta.get("device", "?")), meta.get("precision"),
                         str(meta.get("command", "")),
                         with_defaults(meta["config"]) if meta.get("config") else {})
    return runs, problems


# --- Trained longer: which depth reaches the course's bar ------------------------------------

COURSE_BAR = 0.91   # the course: a correctly built ResNet reaches above 91 % on CIFAR-10


@dataclass
class DeeperRun:
    depth: int
    parameters: int
    epochs: int
    test_accuracy: float
    history: list[dict]   # one row per epoch, as in Run
    recipe: str
    file: str

    @property
    def title(self) -> str:
        return f"ResNet-{self.depth}"


def deeper_runs(folder: str | Path | None = None) -> tuple[list[DeeperRun], list[str]]:
    """The CIFAR-10 ResNets with the 3×3 stem shipped in `folder` (default: checkpoints/; not its
    subfolders, so not the Figure-6 runs), shallowest first and, at one depth, most accurate first;
    and messages about the unreadable checkpoints."""
    found, problems = [], []
    for path in sorted(Path(folder or CHECKPOINTS).glob("*.pt")):
        if path.name.endswith(".state.pt"):
            continue
        try:
            payload = checkpoints.read(path)
        except checkpoints.CheckpointError as error:
            problems.append(str(error))
            continue
        kwargs, meta = payload["arch_kwargs"], payload["metadata"]
        accuracy = meta.get("test_accuracy")
        if (payload["arch"] != "cifar-resnet" or not kwargs.get("residual", True) or kwargs.get("stem_kernel", 3) != 3
                or meta.get("dataset") != "cifar10" or not isinstance(accuracy, (int, float))):
            continue
        history = meta.get("history") or []
        found.append(DeeperRun(int(kwargs.get("depth", 20)), int(meta.get("parameters", 0)),
                               int(meta.get("epochs", len(history))), float(accuracy), history,
                               str(meta.get("name", path.stem)), path.name))
    return sorted(found, key=lambda run: (run.depth, -run.test_accuracy)), problems


def best_at_each_depth(runs: list[DeeperRun]) -> list[DeeperRun]:
    """The most accurate of `runs` at each depth, shallowest first."""
    best: dict[int, DeeperRun] = {}
    for run in runs:
        if run.depth not in best or run.test_accuracy > best[run.depth].test_accuracy:
            best[run.depth] = run
    return [best[depth] for depth in sorted(best)]


def shallowest_at_bar(runs: list[DeeperRun], bar: float = COURSE_BAR) -> DeeperRun | None:
    """The shallowest of `runs` whose test accuracy reaches `bar` (the most accurate of that depth)."""
    return next((run for run in best_at_each_depth(runs) if run.test_accuracy >= bar), None)


# --- What the runs show, against He et al. -----------------------------------------------------

# He et al.'s Figure 6, as pairs: (net, other net, what their results lead one to expect of the net
# against the other, on training loss and on test accuracy). At 20 layers a plain net still trains
# well (on ImageNet they found plain-18 and ResNet-18 about as accurate): the gap opens with depth.
HE_ET_AL = [
    ("plain56", "plain20", ("worse",)),                     # depth without skips: harder to optimise
    ("resnet20", "plain20", ("better", "about the same")),  # skips at equal depth
    ("resnet56", "plain56", ("better",)),
    ("resnet56", "resnet20", ("better",)),                  # depth with skips
]
LOSS_TIE = 0.02   # a margin we chose: training losses within 2 % of their mean are "about the same"


@dataclass
class Comparison:
    net: str
    other: str
    expected: tuple[str, ...]     # the verdicts that agree with He et al. ("better", "worse", "about the same")
    loss: tuple[float, float]     # final training loss of net, other
    accuracy: tuple[float | None, float | None]  # final test accuracy of net, other
    by_loss: str                  # "better", "worse" or "about the same", in these runs
    by_accuracy: str | None       # None: a run has no test accuracy

    @property
    def agrees(self) -> bool:
        return self.by_loss in self.expected and self.by_accuracy in self.expected


def _verdict(difference: float, tie: float, higher_is_better: bool) -> str:
    if abs(difference) <= tie:
        return "about the same"
    return "better" if (difference > 0) == higher_is_better else "worse"


def compare_with_he_et_al(runs: Mapping[str, Run]) -> list[Comparison]:
    """Each of He et al.'s Figure-6 findings whose two nets are among `runs` and were trained alike
    (one recipe, as many images), as these runs show it."""
    comparisons = []
    for net, other, expected in HE_ET_AL:
        if net not in runs or other not in runs:
            continue
        if (runs[net].config, runs[net].train_images) != (runs[other].config, runs[other].train_images):
            continue   # trained differently: the comparison would say nothing about depth or skips
        a, b = runs[net].history[-1], runs[other].history[-1]
        loss = (a["train_loss"], b["train_loss"])
        accuracy = (a.get("test_accuracy"), b.get("test_accuracy"))
        by_loss = _verdict(loss[0] - loss[1], LOSS_TIE * (loss[0] + loss[1]) / 2, higher_is_better=False)
        by_accuracy = None if None in accuracy else _verdict(
            accuracy[0] - accuracy[1], accuracy_tie(sum(accuracy) / 2), higher_is_better=True)
        comparisons.append(Comparison(net, other, expected, loss, accuracy, by_loss, by_accuracy))
    return comparisons


def gradient_norms(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> list[tuple[str, float]]:
    """||dLoss/dW|| of every convolution and the final linear layer, in forward order, after
    one cross-entropy backward pass on (images, labels). `net` is left unchanged."""
    net = copy.deepcopy(net).train()   # batch statistics, as in the first step of training
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(images), labels).backward()
    return [(name, float(module.weight.grad.norm())) for name, module in net.named_modules()
            if isinstance(module, (nn.Conv2d, nn.Linear)) and module.weight.grad is not None]


def gradient_norms_at_init(depth: int, residual: bool, images: torch.Tensor, labels: torch.Tensor,
                           seed: int = 0) -> list[tuple[str, float]]:
    """`gradient_norms` for a freshly initialised CIFAR net (seeded, so plain and residual nets
    of one depth start from the same weights)."""
    return gradient_norms(seeded(lambda: cifar_resnet(depth, residual=residual), seed), images, labels)


def train_again(name: str, config, images: int, tested_on: int, report=None, stop=None) -> dict:
    """One of the four nets trained again from scratch on a seeded random `images` of the training
    images, tested on `tested_on` test images after each epoch (the live rerun of the page)."""
    from models import data
    from models.lab import load_for_training
    from models.train import device_name, train

    full_train, full_test = load_for_training("cifar10", report)
    train_set, test_set = data.subset(full_train, images), data.subset(full_test, tested_on)
    depth, residual = NETS[name]
    net = seeded(lambda: cifar_resnet(depth, residual=residual), config.seed)
    history = []

    def progress(p):
        if p.epoch_end:
            history.append({"epoch": p.epoch, "train_loss": p.loss, "train_accuracy": p.train_accuracy,
                            "test_accuracy": p.test_accuracy})
        if report is not None:
            report(fraction=p.step / p.total_steps, epoch=p.epoch, loss=p.loss, history=list(history))

    result = train(net, train_set, test_set, config, on_progress=progress, stop=stop)
    return {"name": name, "history": result.history, "seconds": result.seconds,
            "device": device_name(result.device), "diverged": result.diverged}
