"""Inputs and initialisation: the normalisation constants measured on the data, how far the
activations spread layer by layer at initialisation under different weight initialisations,
and what symmetric (zero or constant) weights do to training."""

from __future__ import annotations

import math
import time

import torch
from torch import nn
from torch.nn import functional as F

from models import seeded
from models.data import ImageSet, normalise
from models.gap_mnist import GapMnistNet
from models.budget import LIVE_BUDGET, check_budget
from models.train import TrainConfig, train

# Weight initialisations of the convolutions (biases start at zero in every scheme).
INITS = ("zeros", "too small: N(0, 0.01²)", "Xavier (Glorot) normal", "He (Kaiming) normal", "too large: N(0, 1)")
# The layers whose outputs are measured, in forward order.
LAYERS = ("conv1", "conv2", "transition", "conv3", "conv4", "conv5", "conv6", "classifier")


@torch.no_grad()
def channel_statistics(images: ImageSet, chunk: int = 5_000) -> tuple[list[float], list[float]]:
    """Mean and standard deviation of every channel over all pixels of all images, in the
    [0, 1] units the normalisation uses (pixels / 255), accumulated in float64 chunk by chunk."""
    channels = images.images.shape[1]
    total = torch.zeros(channels, dtype=torch.float64)
    squares = torch.zeros(channels, dtype=torch.float64)
    count = 0
    for start in range(0, len(images), chunk):
        x = images.images[start : start + chunk].to(torch.float64) / 255
        total += x.sum((0, 2, 3))
        squares += (x * x).sum((0, 2, 3))
        count += x.numel() // channels
    mean = total / count
    std = (squares / count - mean * mean).clamp_min(0).sqrt()
    return mean.tolist(), std.tolist()


def initialise(net: nn.Module, scheme: str, constant: float = 0.1) -> nn.Module:
    """Set every convolution's weights by `scheme` (one of INITS, or "constant"); biases to 0."""
    for module in net.modules():
        if not isinstance(module, nn.Conv2d):
            continue
        weight = module.weight
        if scheme == "zeros":
            nn.init.zeros_(weight)
        elif scheme == "constant":
            nn.init.constant_(weight, constant)
        elif scheme.startswith("too small"):
            nn.init.normal_(weight, 0.0, 0.01)
        elif scheme.startswith("Xavier"):
            nn.init.xavier_normal_(weight)
        elif scheme.startswith("He"):
            nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
        elif scheme.startswith("too large"):
            nn.init.normal_(weight, 0.0, 1.0)
        else:
            raise ValueError(f"unknown initialisation {scheme!r}; use one of {', '.join(INITS)} or 'constant'")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    return net


def init_net(scheme: str, seed: int = 0, batch_norm: bool = False, dropout: float = 0.0) -> GapMnistNet:
    """The GAP net (by default without batch norm, which would hide the spread) initialised by `scheme`."""
    return seeded(lambda: initialise(GapMnistNet(batch_norm=batch_norm, dropout=dropout), scheme), seed)


@torch.no_grad()
def activation_spread(net: GapMnistNet, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict:
    """The standard deviation (and mean, and share of exact zeros) of every layer's output of
    LAYERS for the batch `x` (the net's input, already normalised), and the loss at the end."""
    net = net.eval()
    modules = dict(net.named_modules())
    seen: dict[str, torch.Tensor] = {}
    handles = [modules[name].register_forward_hook(
        lambda module, inputs, output, name=name: seen.__setitem__(name, output.detach().double()))
        for name in LAYERS]
    try:
        log_probabilities = net(x)
    finally:
        for handle in handles:
            handle.remove()
    rows = [{"layer": name, "std": seen[name].std(unbiased=False).item(), "mean": seen[name].mean().item(),
             "zero_share": (seen[name] == 0).double().mean().item()} for name in LAYERS]
    loss = F.nll_loss(log_probabilities, labels).item() if labels is not None else None
    return {"layers": rows, "loss": loss if loss is None or math.isfinite(loss) else None}


def spreads(images: ImageSet, count: int = 256, seed: int = 0, batch_norm: bool = False) -> dict[str, dict]:
    """`activation_spread` for every scheme of INITS on the first `count` images of `images`."""
    x = normalise(images.images[:count], images.mean, images.std)
    labels = images.labels[:count]
    return {scheme: activation_spread(init_net(scheme, seed, batch_norm), x, labels) for scheme in INITS}


def kernel_spread(net: nn.Module) -> list[dict]:
    """For every convolution: the largest difference between any of its kernels and its first
    kernel (0 means every kernel of the layer is the same), and its largest weight."""
    rows = []
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv2d):
            weight = module.weight.detach().float().cpu()
            rows.append({"layer": name, "kernels": weight.shape[0],
                         "largest difference between kernels": (weight - weight[:1]).abs().max().item(),
                         "largest |weight|": weight.abs().max().item()})
    return rows


SYMMETRY_INITS = ("zeros", "constant", "He (Kaiming) normal")


def symmetry_runs(train_set: ImageSet, test_set: ImageSet, schemes=SYMMETRY_INITS, epochs: int = 1,
                  batch_size: int = 32, lr: float = 0.2, seed: int = 0, on_progress=None, stop=None,
                  budget: int | None = LIVE_BUDGET) -> dict:
    """Train the course's net (batch norm, no dropout, which would break the symmetry at random)
    from zeros, from one constant and from He's random weights, and compare each layer's
    kernels before and after: symmetric weights get identical gradients and stay identical."""
    check_budget(len(train_set) * epochs * len(schemes), "this initialisation experiment", budget)
    started, runs = time.perf_counter(), []
    for index, scheme in enumerate(schemes):
        if stop is not None and stop.is_set():
            break
        net = init_net(scheme, seed, batch_norm=True)
        before = kernel_spread(net)
        config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=0.0, augment=False, seed=seed,
                             report_every=10)

        def progress(p, index=index) -> None:
            if on_progress is not None:
                on_progress({"fraction": (index + p.step / p.total_steps) / len(schemes), "run": scheme})

        result = train(net, train_set, test_set, config, on_progress=progress, stop=stop)
        net = net.cpu()
        runs.append({"label": scheme, "before": before, "after": kernel_spread(net),
                     "conv1_kernels": net.conv1[0].weight.detach().float()[:, 0].tolist(),
                     "test_accuracy": result.test_accuracy, "stopped": result.stopped, "seconds": result.seconds})
    return {"kind": "symmetry", "runs": runs, "epochs": epochs, "train_images": len(train_set),
            "test_images": len(test_set), "seconds": time.perf_counter() - started,
            "stopped": stop is not None and stop.is_set()}
