"""One net-agnostic view of a net's insides, so pages never reach into a concrete class
(`model.conv1[0]`): its convolutions (the first one, the 1x1 channel mixes) with their
receptive fields, its normalisation layers, and what a named layer receives for an input.
Works for the GAP net, the CIFAR ResNets and any net built from a lab spec."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from models.probes import private_copy
from models.receptive_field import receptive_fields

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm2d)


@dataclass(frozen=True)
class ConvLayer:
    name: str                 # qualified module name ("conv1.0", "layer1.0.conv1", "1-conv")
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int
    field: int | None         # receptive field of one output unit, in input pixels

    @property
    def is_channel_mix(self) -> bool:
        """A 1x1 convolution over several channels: a weighted sum of channels at each pixel."""
        return self.kernel == 1 and self.in_channels > 1


def conv_layers(model: nn.Module, input_shape: tuple[int, int, int] | None = None) -> list[ConvLayer]:
    """Every Conv2d in registration order (forward order for the app's nets); with
    `input_shape`, each with its receptive field."""
    fields = {}
    if input_shape is not None:
        fields = {layer.name: int(layer.field.size) for layer in receptive_fields(model, input_shape)
                  if layer.kind == "Conv2d" and layer.field.size != float("inf")}
    return [ConvLayer(name, m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], _padding(m),
                      fields.get(name))
            for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def _padding(conv: nn.Conv2d) -> int:
    return conv.padding[0] if isinstance(conv.padding, tuple) else 0


def first_conv(model: nn.Module) -> ConvLayer | None:
    layers = conv_layers(model)
    return layers[0] if layers else None


def channel_mixes(model: nn.Module) -> list[ConvLayer]:
    return [layer for layer in conv_layers(model) if layer.is_channel_mix]


def norm_layers(model: nn.Module) -> list[str]:
    return [name for name, m in model.named_modules() if isinstance(m, NORMS)]


def batch_norms(model: nn.Module) -> list[str]:
    """The 2-D batch norms: the layers whose train and eval modes differ by whose statistics they use."""
    return [name for name, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]


def batch_norms_in_train_mode(model: nn.Module) -> nn.Module:
    """A copy of `model` in eval mode but for its batch norms, which normalise with the statistics
    of the batch they receive, as in training; dropout stays off, so only batch norm's mode differs."""
    probe = copy.deepcopy(model).eval()
    for m in probe.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.train()
    return probe


def with_running_means_shifted(model: nn.Module, shift: float) -> nn.Module:
    """A copy of `model` in eval mode whose batch norms' running means are all `shift` higher."""
    spoiled = copy.deepcopy(model).eval()
    for m in spoiled.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean += shift
    return spoiled


def module(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules:
        raise KeyError(f"the net has no layer {name!r}")
    return modules[name]


def weight(model: nn.Module, name: str) -> torch.Tensor:
    """A detached copy of the named layer's weight."""
    return module(model, name).weight.detach().clone()


@torch.no_grad()
def layer_input(model: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    """What the named layer receives when the net runs on `x` (on a private copy: a shared
    model is never hooked)."""
    seen = {}
    with private_copy(model) as probe:
        handle = module(probe, name).register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
        try:
            probe(x)
        finally:
            handle.remove()
    return seen["x"].detach()
