"""Receptive fields computed from a net's own layers (kernels, strides, paddings, dilations).

For every layer output we track, in input pixels:
- `size`: the side of the square patch of the input that one output unit sees;
- `jump`: the distance between neighbouring output units;
- `start`: the centre of the first output unit's patch (may be negative with padding).
A unit at (row, col) sees the patch centred at (start + row * jump, start + col * jump).

The net is traced with torch.fx, so branches (residual additions, Inception's
concatenations) are followed too: an addition or a concatenation of maps on one grid sees the
union of its inputs' patches. A net built on the meta device is traced on meta tensors (no
memory for weights or activations).
"""

from __future__ import annotations

import operator
import threading
from dataclasses import dataclass

import numpy as np
import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from models.resnet import PadShortcut


@dataclass(frozen=True)
class Field:
    size: float
    jump: float
    start: float

    def through(self, kernel: int, stride: int, padding: int, dilation: int = 1) -> "Field":
        span = dilation * (kernel - 1)
        return Field(
            size=self.size + span * self.jump,
            jump=self.jump * stride,
            start=self.start + (span / 2 - padding) * self.jump,
        )

    def patch(self, row: int, col: int) -> tuple[float, float, float, float]:
        """(top, left, bottom, right) of the unit's patch in input pixels, inclusive."""
        half = (self.size - 1) / 2
        centre_y, centre_x = self.start + row * self.jump, self.start + col * self.jump
        return centre_y - half, centre_x - half, centre_y + half, centre_x + half


@dataclass(frozen=True)
class LayerField:
    name: str             # the module's qualified name (or the fx node's name for functions)
    kind: str             # "Conv2d", "MaxPool2d", "add", ...
    out_shape: tuple      # (C, H, W) or (features,)
    field: Field


INPUT = Field(size=1, jump=1, start=0)


def _pair(value) -> int:
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise ValueError(f"non-square kernels/strides are not supported: {value}")
        return value[0]
    return value


_TRACING = threading.Lock()


class _Tracer(fx.Tracer):
    """torch.fx patches nn.Module.__call__ and __getattr__ for the whole process while it
    traces. The app runs nets in many threads at once (one per student, and the training
    worker), so modules used by other threads meanwhile must see the originals: the tracer
    only traces calls from its own thread, and one trace runs at a time (patches that
    interleave would be restored in the wrong order)."""

    def trace(self, root, concrete_args=None):
        with _TRACING:
            self._thread = threading.get_ident()
            return super().trace(root, concrete_args)

    def call_module(self, m, forward, args, kwargs):
        if threading.get_ident() != self._thread:
            return forward(*args, **kwargs)
        return super().call_module(m, forward, args, kwargs)

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        if threading.get_ident() != self._thread:
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    def is_leaf_module(self, module: nn.Module, name: str) -> bool:
        # models.dropout.Dropout branches on its input, which fx cannot trace through; like torch's it is per-pixel
        return isinstance(module, (PadShortcut, nn.Dropout)) or super().is_leaf_module(module, name)


def _module_field(module: nn.Module, field: Field, in_shape) -> Field:
    if isinstance(module, nn.Conv2d):
        if isinstance(module.padding, str):   # "same" / "valid"
            padding = 0 if module.padding == "valid" else _pair(module.dilation) * (_pair(module.kernel_size) - 1) // 2
        else:
            padding = _pair(module.padding)
        return field.through(_pair(module.kernel_size), _pair(module.stride), padding, _pair(module.dilation))
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        stride = _pair(module.stride) if module.stride is not None else _pair(module.kernel_size)
        dilation = _pair(getattr(module, "dilation", 1))
        return field.through(_pair(module.kernel_size), stride, _pair(module.padding), dilation)
    if isinstance(module, PadShortcut):
        return field.through(1, module.stride, 0)
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        h, w = in_shape[-2:]
        out = module.output_size
        out = (out, out) if not isinstance(out, tuple) else out
        out = tuple(side if o is None else o for side, o in zip((h, w), out))
        if out == (1, 1):
            return field.through(max(h, w), max(h, w), 0)
        if h == w and out[0] == out[1] and h % out[0] == 0:   # even bins: a pool of side h / out
            return field.through(h // out[0], h // out[0], 0)   # (AlexNet's and VGG's at 224: h == out)
        raise ValueError("adaptive pooling is supported only to 1x1 or to even square bins")
    if isinstance(module, nn.Linear):
        return Field(size=float("inf"), jump=field.jump, start=field.start)
    return field   # BatchNorm, ReLU, Dropout, Identity, Flatten, ...: per-pixel or reshaping


def _device(model: nn.Module) -> torch.device:
    tensor = next(iter(model.parameters()), None)
    if tensor is None:
        tensor = next(iter(model.buffers()), None)
    return tensor.device if tensor is not None else torch.device("cpu")


_MERGES = (operator.add, torch.add, torch.cat)


def receptive_fields(model: nn.Module, input_shape: tuple[int, int, int]) -> list[LayerField]:
    """One LayerField per traced node of `model` (a layer or an addition), in forward order,
    for an input of shape (C, H, W)."""
    return [layer for _, layer in _walk(model, input_shape)]


def stage_fields(model: nn.Module, input_shape: tuple[int, int, int], stages) -> dict[str, LayerField]:
    """The field at the output of each named module in `stages`, a leaf or not (ResNet's
    `layer4`, GoogLeNet's `inception3a`): that of the last traced node inside it."""
    wanted = set(stages)
    found: dict[str, LayerField] = {}
    for node, layer in _walk(model, input_shape):
        scopes = set(node.meta.get("nn_module_stack") or ()) | {layer.name}
        for name in wanted & scopes:
            found[name] = LayerField(name, layer.kind, layer.out_shape, layer.field)
    missing = [name for name in stages if name not in found]
    if missing:
        raise KeyError(f"no layer named {', '.join(map(repr, missing))}")
    return {name: found[name] for name in stages}


def _walk(model: nn.Module, input_shape: tuple[int, int, int]):
    graph = fx.GraphModule(model, _Tracer().trace(model))
    was_training = model.training
    model.eval()
    ShapeProp(graph).propagate(torch.zeros(1, *input_shape, device=_device(model)))
    model.train(was_training)
    modules = dict(model.named_modules())
    fields: dict[fx.Node, Field] = {}
    for node in graph.graph.nodes:
        tensor_inputs = [a for a in node.all_input_nodes if a in fields]
        if node.op == "placeholder":
            fields[node] = INPUT
            continue
        if node.op == "output" or not tensor_inputs:
            continue
        in_shape = tensor_inputs[0].meta["tensor_meta"].shape
        if node.op == "call_module":
            module = modules[node.target]
            field, kind, name = _module_field(module, fields[tensor_inputs[0]], in_shape), type(module).__name__, node.target
        elif node.op == "call_function" and node.target in _MERGES and len(tensor_inputs) > 1:
            field = max((fields[a] for a in tensor_inputs), key=lambda f: f.size)
            kind, name = ("cat" if node.target is torch.cat else "add"), node.name
        else:
            field, kind, name = fields[tensor_inputs[0]], getattr(node.target, "__name__", str(node.target)), node.name
        fields[node] = field
        meta = node.meta.get("tensor_meta")
        shape = tuple(meta.shape[1:]) if meta is not None and hasattr(meta, "shape") else ()
        yield node, LayerField(name, kind, shape, field)


@dataclass(frozen=True)
class GradientSpread:
    """Where a unit's |input gradient| (its effective receptive field) lies against its patch."""
    inside_share: float   # of the whole gradient, the share inside the patch
    middle_mean: float    # mean over the patch's middle (its central half each way)
    edge_mean: float      # mean over the rest of the patch

    @property
    def strongest_in_the_middle(self) -> bool:
        return self.middle_mean > self.edge_mean


def gradient_spread(gradient: np.ndarray, patch: tuple[float, float, float, float]) -> GradientSpread:
    """`patch`: (top, left, bottom, right), inclusive, as Field.patch gives it (it may reach past the
    image's border; only the pixels inside the image count)."""
    g = np.abs(np.asarray(gradient, dtype=float))
    top, left, bottom, right = patch
    rows, cols = np.indices(g.shape)
    inside = (rows >= top) & (rows <= bottom) & (cols >= left) & (cols <= right)
    middle = inside & (np.abs(rows - (top + bottom) / 2) <= (bottom - top + 1) / 4) \
        & (np.abs(cols - (left + right) / 2) <= (right - left + 1) / 4)
    edge = inside & ~middle
    total = float(g.sum())
    return GradientSpread(inside_share=float(g[inside].sum()) / total if total else 0.0,
                          middle_mean=float(g[middle].mean()) if middle.any() else 0.0,
                          edge_mean=float(g[edge].mean()) if edge.any() else 0.0)
