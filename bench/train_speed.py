"""Train the same net several ways in one run and compare seconds per epoch:

1. CNN Lab's loop (models.train) on its fast path: the whole uint8 dataset on the device, batch
   augmentation there, channels_last, bfloat16 autocast where the hardware computes it natively;
2. the same loop forced to float32 (the ratio 2 / 1 is what the fast path buys);
3. the course-notebook way: a torchvision Dataset + DataLoader (batch 128, worker processes),
   per-image CPU transforms (augmentation, ToTensor, Normalize), float32;
4. a profile of our loop: where one step's seconds go (gather + augment + normalise, forward,
   backward, optimizer + schedule) and what one test-set evaluation costs.

    CNN_LAB_DATA=../shared/data python bench/train_speed.py gap-mnist
    CNN_LAB_DATA=../shared/data python bench/train_speed.py resnet20 --epochs 1 --notebook-epochs 1
    python bench/train_speed.py resnet20 --steps-only   # a float32 and a bf16 step side by side
    python bench/train_speed.py resnet20 --compile      # an eager and a torch.compile'd step, and the compile time
    python bench/train_speed.py gap-mnist --dropout     # a step with our dropout and with torch's nn.Dropout

Each of 1-3 runs the recipe's optimizer and one-cycle schedule for the same number of epochs
(3 for the notebook way runs --notebook-epochs: it is slow); seconds per epoch leave out the test
evaluation, which is timed once on its own. Accuracy is each run's final test accuracy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import build, data  # noqa: E402
from models.dropout import Dropout  # noqa: E402
from models.train import (  # noqa: E402
    RECIPES, TrainConfig, _make_optimizer, choose_precision, default_device, device_name, evaluate, prepare_batch,
    train,
)


def notebook_loaders(dataset: str, batch_size: int, workers: int):
    import torchvision
    from torchvision import transforms

    root = data.data_root()
    mean, std = data.NORMALISATION[dataset]
    if dataset == "mnist":
        augment = [transforms.RandomAffine(10, translate=(2 / 28, 2 / 28))]
        train_set = torchvision.datasets.MNIST(root, train=True, download=False, transform=transforms.Compose(
            augment + [transforms.ToTensor(), transforms.Normalize(mean, std)]))
    else:
        augment = [transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip()]
        folder = Path(root) / "cifar10-jpg" / "train"
        train_set = torchvision.datasets.ImageFolder(folder, transform=transforms.Compose(
            augment + [transforms.ToTensor(), transforms.Normalize(mean, std)]))
    return torch.utils.data.DataLoader(
        train_set, batch_size=batch_size, shuffle=True, num_workers=workers,
        pin_memory=torch.cuda.is_available(), drop_last=True, persistent_workers=workers > 0,
    )


def train_notebook_way(recipe, epochs: int, device: torch.device, workers: int):
    torch.manual_seed(0)
    model = build(recipe.arch, **recipe.arch_kwargs).to(device)
    config = recipe.config
    loader = notebook_loaders(recipe.dataset, 128, workers)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                nesterov=True, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=len(loader) * epochs, pct_start=config.warmup_fraction)
    epoch_seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y, label_smoothing=config.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        epoch_seconds.append(time.perf_counter() - start)
    accuracy = evaluate(model, data.load(recipe.dataset, train=False))
    return epoch_seconds, accuracy


def our_loop(recipe, config: TrainConfig, train_set, test_set) -> tuple[float, float, str]:
    """(seconds per epoch without evaluation, final test accuracy, precision used)."""
    torch.manual_seed(config.seed)
    model = build(recipe.arch, **recipe.arch_kwargs)
    result = train(model, train_set, None, config)
    return result.seconds / config.epochs, evaluate(model, test_set), result.precision


def synthetic_batch(recipe, config: TrainConfig, device) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch of the recipe's input shape, channels_last: for timing steps, not learning."""
    x = torch.randn(config.batch_size, *(1, 28, 28) if recipe.dataset == "mnist" else (3, 32, 32), device=device)
    return x.contiguous(memory_format=torch.channels_last), torch.randint(0, 10, (config.batch_size,), device=device)


def clock(device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def training_step(net, optimizer, precision, x, y) -> None:
    with torch.autocast(x.device.type, dtype=precision.autocast, enabled=precision.autocast is not None):
        loss = F.cross_entropy(net(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def profile_steps(recipe, config: TrainConfig, train_set, test_set, device, steps: int = 20) -> dict[str, float]:
    """Mean seconds per step of each part of our loop, and of one full test-set evaluation."""
    torch.manual_seed(0)
    model = build(recipe.arch, **recipe.arch_kwargs).to(device, memory_format=torch.channels_last).train()
    optimizer = _make_optimizer(model, config)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps + 5)
    precision = choose_precision(device, config.precision)
    generator = torch.Generator(device=device).manual_seed(0)
    images, labels = train_set.images.to(device), train_set.labels.to(device)
    parts = dict.fromkeys(("gather + augment + normalise", "forward + loss", "backward", "optimizer + schedule"), 0.0)

    for step in range(steps + 3):
        counted = step >= 3   # the first steps warm up the allocator and oneDNN's kernel cache
        t0 = clock(device)
        batch = torch.randint(0, len(train_set), (config.batch_size,), device=device, generator=generator)
        x, y = prepare_batch(images[batch], train_set, generator), labels[batch]
        t1 = clock(device)
        with torch.autocast(device.type, dtype=precision.autocast, enabled=precision.autocast is not None):
            loss = F.cross_entropy(model(x), y, label_smoothing=config.label_smoothing)
        t2 = clock(device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t3 = clock(device)
        optimizer.step()
        schedule.step()
        t4 = clock(device)
        if counted:
            for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                parts[name] += seconds / steps
    start = clock(device)
    evaluate(model, test_set)
    parts["one test-set evaluation (float32)"] = clock(device) - start
    return parts


def compare_precisions(recipe, config: TrainConfig, train_set, test_set, device) -> None:
    """Step time in float32 and in bfloat16 autocast, measured in turn in one run, and the fast path's choice."""
    totals = {}
    for precision in ("float32", "bfloat16"):
        parts = profile_steps(recipe, replace(config, precision=precision), train_set, test_set, device, steps=10)
        totals[precision] = sum(v for k, v in parts.items() if not k.startswith("one test"))
        print(f"  {precision:<9} {totals[precision] * 1000:8.1f} ms per step of {config.batch_size}")
    print(f"bfloat16 vs float32: {totals['float32'] / totals['bfloat16']:.2f}x per step; the fast path here picks "
          f"{choose_precision(device).describe()}")


def compare_compile(recipe, config: TrainConfig, device, steps: int = 20) -> None:
    """A training step of the eager net and of torch.compile's, side by side in one run, in the fast
    path's precision on synthetic batches, with the seconds the compiler takes first: the steps a run
    needs before compiling pays."""
    import torch._inductor.config

    torch._inductor.config.force_disable_caches = True   # time a cold compile, as a new run pays it
    precision = choose_precision(device, config.precision)
    x, y = synthetic_batch(recipe, config, device)
    per_step = {}
    for mode in ("eager", "compiled"):
        torch.manual_seed(0)
        model = build(recipe.arch, **recipe.arch_kwargs).to(device, memory_format=torch.channels_last).train()
        optimizer = _make_optimizer(model, config)
        net = torch.compile(model) if mode == "compiled" else model

        start = clock(device)
        for _ in range(3):      # compiles the forward and backward graphs (and warms oneDNN up)
            training_step(net, optimizer, precision, x, y)
        warm_up = clock(device) - start
        start = clock(device)
        for _ in range(steps):
            training_step(net, optimizer, precision, x, y)
        per_step[mode] = (clock(device) - start) / steps
        print(f"  {mode:<9} {per_step[mode] * 1000:8.1f} ms per step of {config.batch_size} "
              f"({precision.name}); first 3 steps {warm_up:.1f} s")
        if mode == "compiled":
            compile_seconds = warm_up - 3 * per_step["eager"]
    saved = per_step["eager"] - per_step["compiled"]
    verdict = (f"pays after {compile_seconds / saved:,.0f} steps" if saved > 0 else "never pays")
    print(f"compiled vs eager: {per_step['eager'] / per_step['compiled']:.2f}x per step; compiling "
          f"(~{compile_seconds:.0f} s) {verdict}")


def compare_dropout(recipe, config: TrainConfig, device, steps: int = 20, rounds: int = 3) -> None:
    """A training step of the net with its own Dropout (models.dropout: four coin flips per 64-bit
    random number) and of the same net with torch's nn.Dropout, in alternating rounds in one run."""
    precision = choose_precision(device, config.precision)
    x, y = synthetic_batch(recipe, config, device)
    nets = {}
    for kind in ("torch's nn.Dropout", "models.dropout.Dropout"):
        torch.manual_seed(0)
        model = build(recipe.arch, **recipe.arch_kwargs).to(device, memory_format=torch.channels_last).train()
        if kind == "torch's nn.Dropout":
            for parent in model.modules():
                for name, child in parent.named_children():
                    if isinstance(child, Dropout):
                        setattr(parent, name, torch.nn.Dropout(child.p))
        nets[kind] = (model, _make_optimizer(model, config))
    if not any(isinstance(m, Dropout) for m in nets["models.dropout.Dropout"][0].modules()):
        print(f"{recipe.arch} has no dropout: nothing to compare")
        return

    per_step = {kind: [] for kind in nets}
    for _ in range(rounds):
        for kind, (model, optimizer) in nets.items():
            for _ in range(3):
                training_step(model, optimizer, precision, x, y)
            start = clock(device)
            for _ in range(steps):
                training_step(model, optimizer, precision, x, y)
            per_step[kind].append((clock(device) - start) / steps)
    for kind, times in per_step.items():
        print(f"  {kind:<24} {min(times) * 1000:7.1f} ms per step of {config.batch_size} (best of {rounds} rounds; "
              f"all: {', '.join(f'{t * 1000:.1f}' for t in times)})")
    ours, theirs = min(per_step["models.dropout.Dropout"]), min(per_step["torch's nn.Dropout"])
    print(f"our dropout vs torch's: {theirs / ours:.2f}x per step ({precision.name})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", choices=["gap-mnist", "resnet20"])
    parser.add_argument("--epochs", type=int, default=2, help="epochs for each run of our loop")
    parser.add_argument("--notebook-epochs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--steps-only", action="store_true",
                        help="only time steps in float32 and in bfloat16 (forced), side by side, and say which "
                             "one the fast path picks here: minutes where bf16 is emulated")
    parser.add_argument("--dropout", action="store_true",
                        help="only time a step of the net with its own dropout and with torch's, side by side")
    parser.add_argument("--compile", action="store_true",
                        help="only time an eager and a torch.compile'd step side by side, and the compile time")
    args = parser.parse_args()

    recipe = RECIPES[args.recipe]
    device = default_device()
    config: TrainConfig = replace(recipe.config, epochs=args.epochs)
    print(f"{args.recipe} on {device_name(device)}, torch {torch.__version__}, batch {config.batch_size}")

    if args.compile:
        compare_compile(recipe, config, device)
        return
    if args.dropout:
        compare_dropout(recipe, config, device)
        return
    train_set, test_set = data.load(recipe.dataset, True), data.load(recipe.dataset, False)
    if args.steps_only:
        compare_precisions(recipe, config, train_set, test_set, device)
        return
    fast, fast_accuracy, fast_precision = our_loop(recipe, config, train_set, test_set)
    plain, plain_accuracy, _ = our_loop(recipe, replace(config, precision="float32"), train_set, test_set)
    notebook_seconds, notebook_accuracy = train_notebook_way(recipe, args.notebook_epochs, device, args.workers)
    notebook_per_epoch = notebook_seconds[-1] if len(notebook_seconds) > 1 else notebook_seconds[0]
    parts = profile_steps(recipe, config, train_set, test_set, device)

    print(f"CNN Lab loop, {fast_precision:<45}: {fast:7.2f} s/epoch -> test accuracy {fast_accuracy:.2%} "
          f"after {args.epochs} epochs")
    print(f"CNN Lab loop, {'float32':<45}: {plain:7.2f} s/epoch -> test accuracy {plain_accuracy:.2%}")
    print(f"notebook way (DataLoader, {args.workers} workers, float32){'':<9}: {notebook_per_epoch:7.2f} s/epoch "
          f"-> test accuracy {notebook_accuracy:.2%} after {args.notebook_epochs} epoch(s)")
    print(f"fast path vs float32: {plain / fast:.2f}x per epoch; vs the notebook way: {notebook_per_epoch / fast:.1f}x")
    steps_per_epoch = len(train_set) // config.batch_size
    step_total = sum(v for k, v in parts.items() if not k.startswith("one test"))
    print(f"where one step's {step_total * 1000:.1f} ms go (fast path, {steps_per_epoch} steps per epoch):")
    for name, seconds in parts.items():
        if name.startswith("one test"):
            print(f"  {name:<34} {seconds:7.2f} s (once per epoch: {seconds / (fast + seconds):.0%} of an epoch)")
        else:
            print(f"  {name:<34} {seconds * 1000:7.1f} ms ({seconds / step_total:.0%})")
    print(f"  epoch measured vs steps x step time: {fast:.1f} s vs {steps_per_epoch * step_total:.1f} s")


if __name__ == "__main__":
    main()
