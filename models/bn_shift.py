"""Batch norm and the internal covariate shift (Ioffe & Szegedy, 2015): train the same net
with and without BatchNorm side by side, on the same batches from the same initial weights,
and record what every nonlinearity receives as training goes on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from models.data import ImageSet, normalise
from models.gap_mnist import GapMnistNet
from models.train import StopSignal

PERCENTILES = (0.15, 0.50, 0.85)   # the paper's Figure 1
SAMPLE_SIZE = 512                  # values kept per layer and snapshot, for histograms


class SigmoidMLP(nn.Module):
    """The paper's MNIST net: three fully connected hidden layers of 100 sigmoid units."""

    def __init__(self, batch_norm: bool = True, hidden: int = 100, layers: int = 3) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Flatten()]
        width = 28 * 28
        for _ in range(layers):
            blocks.append(nn.Linear(width, hidden, bias=not batch_norm))
            if batch_norm:
                blocks.append(nn.BatchNorm1d(hidden))
            blocks.append(nn.Sigmoid())
            width = hidden
        blocks.append(nn.Linear(width, 10))
        self.layers = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


TWINS = ("GAP MNIST net (ReLU)", "sigmoid MLP (as in the paper)")


def twin_nets(kind: str, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """(with BN, without BN): the layers they share start from the same weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == TWINS[0]:
            with_bn, without_bn = GapMnistNet(dropout=0.0), GapMnistNet(batch_norm=False, dropout=0.0)
        elif kind == TWINS[1]:
            with_bn, without_bn = SigmoidMLP(batch_norm=True), SigmoidMLP(batch_norm=False)
        else:
            raise ValueError(f"kind must be one of {TWINS}")
    # Pair the k-th conv/linear layer of one twin with the k-th of the other (their names
    # differ where BN layers sit in between) and give both the same weights.
    weighted = (nn.Conv2d, nn.Linear)
    pairs = zip((m for m in with_bn.modules() if isinstance(m, weighted)),
                (m for m in without_bn.modules() if isinstance(m, weighted)))
    with torch.no_grad():
        for source, target in pairs:
            target.weight.copy_(source.weight)
            if target.bias is not None and source.bias is not None:
                target.bias.copy_(source.bias)
            elif target.bias is not None:   # a bias that BN made unnecessary in the other twin
                target.bias.zero_()
    return with_bn, without_bn


def activation_layers(model: nn.Module) -> list[str]:
    return [name for name, m in model.named_modules() if isinstance(m, (nn.ReLU, nn.Sigmoid))]


class Recorder:
    """Keeps, when switched on, the input of every nonlinearity of one forward pass: its
    15/50/85th percentiles and a random sample of its values."""

    def __init__(self, model: nn.Module, generator: torch.Generator | None = None) -> None:
        self.on = False
        self.snapshot: dict[str, dict] = {}
        self._generator = generator or torch.Generator().manual_seed(0)
        modules = dict(model.named_modules())
        self.layers = activation_layers(model)
        self._handles = [modules[name].register_forward_hook(self._hook(name)) for name in self.layers]

    def _hook(self, name: str):
        def hook(module, inputs, output):
            if not self.on:
                return
            values = inputs[0].detach().float().flatten().cpu()
            quantiles = torch.quantile(values[: 2**24], torch.tensor(PERCENTILES))
            pick = torch.randint(0, values.numel(), (SAMPLE_SIZE,), generator=self._generator)
            self.snapshot[name] = {"percentiles": quantiles.tolist(), "sample": values[pick]}
        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


@dataclass
class NetHistory:
    layers: list[str]
    test_accuracy: list[float] = field(default_factory=list)
    percentiles: dict[str, list[list[float]]] = field(default_factory=dict)   # layer -> per snapshot [p15, p50, p85]
    samples: dict[str, list[torch.Tensor]] = field(default_factory=dict)

    def shift(self, layer: str) -> float:
        """How far the layer's input distribution moved between consecutive snapshots: the mean
        absolute change of its 15/50/85th percentiles, in units of its first 15-85 spread."""
        rows = torch.tensor(self.percentiles[layer])
        if len(rows) < 2:
            return 0.0
        spread = max(float(rows[0, 2] - rows[0, 0]), 1e-6)
        return float((rows[1:] - rows[:-1]).abs().mean() / spread)


@dataclass
class TwinHistory:
    steps: list[int] = field(default_factory=list)
    nets: dict[str, NetHistory] = field(default_factory=dict)   # "with BN" / "without BN"
    stopped: bool = False


def train_twins(
    kind: str, train_set: ImageSet, test_set: ImageSet, steps: int, batch_size: int = 64,
    lr: float = 0.05, record_every: int = 20, seed: int = 0, device: torch.device | str = "cpu",
    report: Callable[..., None] | None = None, stop: StopSignal | None = None,
    record: bool = True, test_images: int = 1000,
) -> TwinHistory:
    """Train both twins with SGD (momentum 0.9) on identical batches; every `record_every`
    steps, snapshot each net's activation inputs on the current batch and its accuracy on the
    first `test_images` test images."""
    nets = dict(zip(("with BN", "without BN"), twin_nets(kind, seed)))
    optimizers = {}
    recorders = {}
    history = TwinHistory()
    for name, net in nets.items():
        net.to(device).train()
        optimizers[name] = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
        recorders[name] = Recorder(net, torch.Generator().manual_seed(seed))
        history.nets[name] = NetHistory(recorders[name].layers)
    generator = torch.Generator().manual_seed(seed)
    images, labels = train_set.images, train_set.labels
    test_x = normalise(test_set.images[:test_images].to(device), test_set.mean, test_set.std)
    test_y = test_set.labels[:test_images].to(device)
    try:
        for step in range(steps + 1):
            if stop is not None and stop.is_set():
                history.stopped = True
                break
            batch = torch.randint(0, len(train_set), (batch_size,), generator=generator)
            x = normalise(images[batch].to(device), train_set.mean, train_set.std)
            y = labels[batch].to(device)
            snapshot = record and step % record_every == 0
            if step % record_every == 0:
                history.steps.append(step)
            for name, net in nets.items():
                recorders[name].on = snapshot
                loss = F.cross_entropy(net(x), y)
                recorders[name].on = False
                if step % record_every == 0:
                    _keep(history.nets[name], recorders[name], snapshot, net, test_x, test_y)
                if step < steps:
                    optimizers[name].zero_grad()
                    loss.backward()
                    optimizers[name].step()
            if report is not None:
                report(step=step, steps=steps, fraction=step / steps if steps else 1.0)
    finally:
        for recorder in recorders.values():
            recorder.remove()
    return history


def _keep(history: NetHistory, recorder: Recorder, snapshot: bool, net: nn.Module,
          test_x: torch.Tensor, test_y: torch.Tensor) -> None:
    if snapshot:
        for layer, values in recorder.snapshot.items():
            history.percentiles.setdefault(layer, []).append(values["percentiles"])
            history.samples.setdefault(layer, []).append(values["sample"])
    net.eval()
    with torch.no_grad():
        history.test_accuracy.append((net(test_x).argmax(1) == test_y).float().mean().item())
    net.train()


def normalisation_groups(method: str, batch: int, channels: int, groups: int = 2) -> torch.Tensor:
    """(batch, channels) ids: cells with the same id are normalised together (their statistics
    also pool over H and W). BatchNorm: one group per channel across the batch; LayerNorm: one
    per sample; InstanceNorm: one per sample and channel; GroupNorm: per sample and channel group."""
    n = torch.arange(batch)[:, None].expand(batch, channels)
    c = torch.arange(channels)[None, :].expand(batch, channels)
    ids = {
        "BatchNorm": c,
        "LayerNorm": n,
        "InstanceNorm": n * channels + c,
        "GroupNorm": n * groups + c // (channels // groups),
    }
    if method not in ids:
        raise ValueError(f"method must be one of {tuple(ids)}")
    return ids[method]


def normalise_by(method: str, x: torch.Tensor, groups: int = 2) -> torch.Tensor:
    """x (N, C, H, W) normalised the way `method` does it (no learned scale or shift)."""
    if method == "BatchNorm":
        return F.batch_norm(x, None, None, training=True)
    if method == "LayerNorm":
        return F.layer_norm(x, x.shape[1:])
    if method == "InstanceNorm":
        return F.instance_norm(x)
    if method == "GroupNorm":
        return F.group_norm(x, groups)
    raise ValueError(f"unknown method {method!r}")


def history_as_json(history: TwinHistory) -> str:
    """The recorded run without the raw samples: steps, accuracies, percentiles, shifts."""
    import json

    return json.dumps({
        "steps": history.steps,
        "stopped": history.stopped,
        "nets": {name: {"layers": net.layers, "test_accuracy": net.test_accuracy,
                        "percentiles_15_50_85": net.percentiles,
                        "shift": {layer: net.shift(layer) for layer in net.layers}}
                 for name, net in history.nets.items()},
    }, indent=1)
