"""Looking inside a net on one input: feature maps around every ReLU, and input gradients.

Every probe works on a private copy of the model, with hooks added and removed inside the
call, so a model cached for all sessions is never touched and two sessions never see each
other's activations. Copies are lent from a pool rather than made per call: with a class at
once, deep-copying the model cost more than the probes themselves."""

from __future__ import annotations

import contextlib
import copy
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ReluMaps:
    name: str              # the ReLU module's qualified name, e.g. "conv1.2" or "layer1.0.relu2"
    pre: torch.Tensor      # (C, H, W): what goes into the ReLU
    post: torch.Tensor     # (C, H, W): what comes out (pre with negatives set to zero)

    @property
    def zero_share(self) -> float:
        """Share of the values the ReLU set to zero (values <= 0 before it)."""
        return (self.post == 0).float().mean().item()


def relu_layers(model: nn.Module) -> list[str]:
    """Qualified names of the ReLU modules, in registration order (forward order for our nets)."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.ReLU)]


IDLE_COPIES_KEPT = 8   # per model; more sessions at once make extra copies that are dropped after use
_idle_copies: weakref.WeakKeyDictionary[nn.Module, list[nn.Module]] = weakref.WeakKeyDictionary()
_idle_lock = threading.Lock()


@contextlib.contextmanager
def private_copy(model: nn.Module) -> Iterator[nn.Module]:
    """`with private_copy(model) as probe:` a copy of `model` in eval mode with frozen weights,
    for hooks that must not touch a shared model; no other call holds it meanwhile. It goes
    back to the pool only if the call left it as it found it (no hooks left behind, no error);
    the pool assumes the shared model's weights never change in place."""
    with _idle_lock:
        idle = _idle_copies.setdefault(model, [])
        probe = idle.pop() if idle else None
    if probe is None:
        probe = copy.deepcopy(model).eval()
        for p in probe.parameters():
            p.requires_grad_(False)
    yield probe   # an exception here drops the copy: it may hold a hook
    if not _has_hooks(probe) and not probe.training:
        with _idle_lock:
            if len(idle) < IDLE_COPIES_KEPT:
                idle.append(probe)


def _has_hooks(model: nn.Module) -> bool:
    return any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks
               for m in model.modules())


@torch.no_grad()
def relu_maps(model: nn.Module, x: torch.Tensor) -> list[ReluMaps]:
    """Every ReLU's input and output for a single image `x` of shape (1, C, H, W), in the
    order the forward pass reaches them."""
    captured: list[ReluMaps] = []

    def hook(name):
        return lambda module, inputs, output: captured.append(
            ReluMaps(name, inputs[0][0].detach().clone(), output[0].detach().clone())
        )

    with private_copy(model) as probe:
        handles = [m.register_forward_hook(hook(name)) for name, m in probe.named_modules()
                   if isinstance(m, nn.ReLU)]
        try:
            probe(x)
        finally:
            for handle in handles:
                handle.remove()
    return captured


def unit_input_gradient(
    model: nn.Module, x: torch.Tensor, relu_name: str, row: int, col: int, channel: int | None = None
) -> torch.Tensor:
    """|d unit / d input| summed over input channels, shape (H, W): the effective receptive
    field of one unit. The unit is the value entering ReLU `relu_name` at (row, col), of one
    channel or summed over all channels."""
    x = x.detach().clone().requires_grad_(True)
    captured = {}
    with private_copy(model) as probe:
        modules = dict(probe.named_modules())
        if relu_name not in modules or not isinstance(modules[relu_name], nn.ReLU):
            raise KeyError(f"no ReLU named {relu_name!r}")
        handle = modules[relu_name].register_forward_hook(
            lambda module, inputs, output: captured.setdefault("pre", inputs[0])
        )
        try:
            with torch.enable_grad():
                probe(x)
                pre = captured["pre"][0]
                unit = pre[:, row, col].sum() if channel is None else pre[channel, row, col]
                (gradient,) = torch.autograd.grad(unit, x)
        finally:
            handle.remove()
    return gradient[0].abs().sum(0)


def class_input_gradient(model: nn.Module, x: torch.Tensor, target: int | None = None) -> torch.Tensor:
    """|d class score / d input| summed over input channels, shape (H, W), for the predicted
    class or `target`. Eval-mode forward and backward with no hooks: safe on a shared model."""
    from models.inference import class_scores

    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        scores = class_scores(model, x)[0]
        (gradient,) = torch.autograd.grad(scores[int(scores.argmax()) if target is None else target], x)
    return gradient[0].abs().sum(0)
