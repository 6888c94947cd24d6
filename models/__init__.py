"""Nets, data, training and checkpoints for CNN Lab. Nothing here imports streamlit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
from torch import nn

from models.gap_mnist import GapMnistNet, gap_mnist
from models.resnet import CifarResNet, cifar_resnet

# An architecture is a builder name plus keyword arguments; checkpoints store both.
def spec_net(layers: list, input_shape: list) -> nn.Module:
    from models.spec import build as build_spec

    return build_spec(layers, tuple(input_shape))


ARCHITECTURES = {
    "gap-mnist": gap_mnist,
    "cifar-resnet": cifar_resnet,
    "spec": spec_net,   # a net written as a declarative spec (models/spec.py)
}


def build(arch: str, **kwargs) -> nn.Module:
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch](**kwargs)


Net = TypeVar("Net", bound=nn.Module)


def seeded(make: Callable[[], Net], seed: int) -> Net:
    """`make()` with its initial weights drawn from `seed`, and the process's random state as it
    was before (pages and the worker draw from it at the same time)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["ARCHITECTURES", "CifarResNet", "GapMnistNet", "build", "count_parameters", "seeded"]
