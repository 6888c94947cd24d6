"""Train the same net two ways in one run and compare seconds per epoch:

1. the course-notebook way: a torchvision Dataset + DataLoader (batch 128, worker processes),
   per-image CPU transforms (PIL augmentation, ToTensor, Normalize), fp32;
2. CNN Lab's loop (models.train): the whole uint8 dataset on the device, batch augmentation
   there, bf16 autocast + channels_last on CUDA.

    CNN_LAB_DATA=../shared/data python bench/train_speed.py gap-mnist
    CNN_LAB_DATA=../shared/data python bench/train_speed.py resnet20 --notebook-epochs 1

Both use the recipe's optimizer and one-cycle schedule. The notebook way runs for
--notebook-epochs (default 1: it is slow) and our loop for the recipe's epochs, so the
seconds-per-epoch ratio is the comparison; accuracy is each run's final test accuracy.
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
from models.train import RECIPES, TrainConfig, default_device, evaluate, train  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", choices=["gap-mnist", "resnet20"])
    parser.add_argument("--epochs", type=int, help="epochs for our loop (default: the recipe's)")
    parser.add_argument("--notebook-epochs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    args = parser.parse_args()

    recipe = RECIPES[args.recipe]
    device = default_device()
    config: TrainConfig = replace(recipe.config, epochs=args.epochs or recipe.config.epochs)
    device_name = torch.cuda.get_device_name(0) if device.type == "cuda" else \
        f"CPU, {torch.get_num_threads()} threads"
    print(f"{args.recipe} on {device_name}, torch {torch.__version__}")

    train_set, test_set = data.load(recipe.dataset, True), data.load(recipe.dataset, False)
    torch.manual_seed(config.seed)
    model = build(recipe.arch, **recipe.arch_kwargs)
    ours = train(model, train_set, test_set, config)
    our_epoch = [row["seconds"] for row in ours.history]
    our_per_epoch = (our_epoch[-1] - our_epoch[0]) / (len(our_epoch) - 1) if len(our_epoch) > 1 else our_epoch[0]
    # (seconds in history include each epoch's test evaluation, so this slightly favours the notebook)

    notebook_seconds, notebook_accuracy = train_notebook_way(recipe, args.notebook_epochs, device, args.workers)
    notebook_per_epoch = notebook_seconds[-1] if len(notebook_seconds) > 1 else notebook_seconds[0]

    print(f"notebook way : {notebook_per_epoch:8.2f} s/epoch, {args.notebook_epochs} epoch(s) "
          f"-> test accuracy {notebook_accuracy:.2%} (batch 128, {args.workers} loader workers)")
    print(f"CNN Lab loop : {our_per_epoch:8.2f} s/epoch, {len(ours.history)} epochs in {ours.seconds:.1f} s "
          f"-> test accuracy {ours.test_accuracy:.2%} (batch {config.batch_size})")
    print(f"speed-up per epoch: {notebook_per_epoch / our_per_epoch:.1f}x")


if __name__ == "__main__":
    main()
