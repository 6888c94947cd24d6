"""Plain vs residual nets (He et al. 2016, Figure 6): the shipped training runs of plain-20,
plain-56, ResNet-20 and ResNet-56, and the gradient that reaches each layer at initialisation.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from models import checkpoints
from models.resnet import cifar_resnet

STUDY_DIR = Path(__file__).resolve().parents[1] / "checkpoints" / "plain_vs_residual"
NETS = {"plain20": (20, False), "plain56": (56, False), "resnet20": (20, True), "resnet56": (56, True)}
TITLES = {"plain20": "plain-20", "plain56": "plain-56", "resnet20": "ResNet-20", "resnet56": "ResNet-56"}


@dataclass
class Run:
    name: str                    # a key of NETS
    history: list[dict]          # one row per epoch: train_loss, train_accuracy, test_accuracy, ...
    test_accuracy: float | None
    epochs: int
    train_images: int | None
    seconds: float | None
    device: str
    precision: str | None        # what its steps ran in (models.train.precision_record); None: not recorded
    command: str
    config: dict              # the TrainConfig it was trained with

    @property
    def title(self) -> str:
        return TITLES[self.name]

    @property
    def seconds_per_1000_images(self) -> float | None:
        """Training seconds per 1,000 images and epoch (test passes included)."""
        if not self.seconds or not self.epochs:
            return None
        return self.seconds / self.epochs / ((self.train_images or 50_000) / 1000)


def load_runs(folder: str | Path = STUDY_DIR) -> tuple[dict[str, Run], list[str]]:
    """The study's runs found in `folder` ({net}_cifar10.pt), and messages about the missing
    or unreadable ones."""
    runs, problems = {}, []
    for name in NETS:
        path = Path(folder) / f"{name}_cifar10.pt"
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
                         dict(meta.get("config") or {}))
    return runs, problems


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
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = cifar_resnet(depth, residual=residual)
    return gradient_norms(net, images, labels)


def train_again(name: str, config, images: int, tested_on: int, report=None, stop=None) -> dict:
    """One of the four nets trained again from scratch on a seeded random `images` of the training
    images, tested on `tested_on` test images after each epoch (the live rerun of the page)."""
    from models import data
    from models.lab import load_for_training
    from models.train import device_name, train

    full_train, full_test = load_for_training("cifar10", report)
    train_set, test_set = data.subset(full_train, images), data.subset(full_test, tested_on)
    depth, residual = NETS[name]
    torch.manual_seed(config.seed)
    net = cifar_resnet(depth, residual=residual)
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
