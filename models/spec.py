"""Nets as declarative specs: an ordered list of layers, checked, sized and built.

A spec is a list of dicts, each with a "type" and its settings:
    {"type": "conv", "out": 8, "kernel": 3, "stride": 1, "padding": 0, "dilation": 1, "bias": false}
    {"type": "bn"}   {"type": "relu"}   {"type": "dropout", "p": 0.05}
    {"type": "maxpool", "kernel": 2}    {"type": "gap"}
    {"type": "fc", "out": 10}           (flattens first when given a feature map)
    {"type": "residual", "out": 16, "stride": 1}   (a ResNet BasicBlock)
Input channels are never written: each layer takes what the previous one gives.

`check(spec, input_shape)` lists every problem at the layer that causes it, including anything
beyond the classroom's compute budget (LIMITS), before a single module is built; `build` turns a
valid spec into an nn.Sequential; `describe` gives each layer's output shape, parameters (counted
on the built modules), receptive field and jump, from the receptive-field code the rest of the
app uses."""

from __future__ import annotations

import json
from collections import OrderedDict
import os
from dataclasses import dataclass, replace

import torch
from torch import nn

from models.convolution import ConvSettingError, output_size
from models.dropout import Dropout
from models.receptive_field import receptive_fields
from models.resnet import BasicBlock

TYPES = ("conv", "bn", "relu", "dropout", "maxpool", "gap", "fc", "residual")
MAX_CLASSES = 10
SETTINGS = {"conv": ("out", "kernel", "stride", "padding", "dilation", "bias"), "dropout": ("p",),
            "maxpool": ("kernel", "stride"), "fc": ("out",), "residual": ("out", "stride")}


@dataclass(frozen=True)
class Limits:
    """What one net built from a spec may cost: every preset and the course's nets fit with room
    (ResNet-20: 272k parameters, 23 layers, 2.2 MB of activations per image). A student's spec
    arrives by link, lesson file or upload, so these are checked before anything is built."""

    layers: int = 80
    channels: int = 512               # outputs of one conv, residual block or fc layer
    kernel: int = 15
    stride: int = 8
    dilation: int = 8
    padding: int = 16
    parameters: int = 3_000_000
    activation_mb: float = 64.0       # float32 outputs of all layers, for one image
    training_mb: float = 4096.0       # one training step at the chosen batch size (training_memory_mb)

    def scaled(self, factor: float) -> Limits:
        return replace(self, channels=int(self.channels * factor), parameters=int(self.parameters * factor),
                       activation_mb=self.activation_mb * factor, layers=int(self.layers * factor),
                       training_mb=self.training_mb * factor)


def limits() -> Limits:
    """The budget in force: CNN_LAB_SPEC_BUDGET (a factor, e.g. 4) lets a teacher raise it."""
    try:
        factor = float(os.environ.get("CNN_LAB_SPEC_BUDGET", "1"))
    except ValueError:
        factor = 1.0
    return Limits().scaled(factor) if factor > 1 else Limits()

# The course's GAP net, layer for layer as models/gap_mnist.py builds it: convs in front of a
# batch norm (and the 1x1 transition) have no bias, since BN's shift replaces it.
GAP_PRESET = [
    {"type": "conv", "out": 8, "kernel": 3, "bias": False}, {"type": "bn"}, {"type": "relu"},
    {"type": "dropout", "p": 0.05},
    {"type": "conv", "out": 16, "kernel": 3, "bias": False}, {"type": "bn"}, {"type": "relu"},
    {"type": "dropout", "p": 0.05},
    {"type": "maxpool", "kernel": 2}, {"type": "conv", "out": 8, "kernel": 1, "bias": False},
    {"type": "conv", "out": 16, "kernel": 3, "bias": False}, {"type": "bn"}, {"type": "relu"},
    {"type": "dropout", "p": 0.05},
    {"type": "conv", "out": 16, "kernel": 3, "bias": False}, {"type": "bn"}, {"type": "relu"},
    {"type": "dropout", "p": 0.05},
    {"type": "conv", "out": 16, "kernel": 3, "bias": False}, {"type": "bn"}, {"type": "relu"},
    {"type": "dropout", "p": 0.05},
    {"type": "conv", "out": 16, "kernel": 3, "padding": 1, "bias": False}, {"type": "bn"}, {"type": "relu"},
    {"type": "dropout", "p": 0.05},
    {"type": "conv", "out": 10, "kernel": 1}, {"type": "gap"},
]


FC_HEAD_PRESET = GAP_PRESET[:-2] + [{"type": "fc", "out": 10}]

RESNET20_PRESET = (
    [{"type": "conv", "out": 16, "kernel": 3, "padding": 1, "bias": False}, {"type": "bn"}, {"type": "relu"}]
    + [{"type": "residual", "out": 16}] * 3
    + [{"type": "residual", "out": 32, "stride": 2}] + [{"type": "residual", "out": 32}] * 2
    + [{"type": "residual", "out": 64, "stride": 2}] + [{"type": "residual", "out": 64}] * 2
    + [{"type": "gap"}, {"type": "fc", "out": 10}]
)


@dataclass(frozen=True)
class Preset:
    layers: list[dict]
    dataset: str           # what it is made for: choosing it sets the lab's data and input size


PRESETS = {
    "The course's GAP net (MNIST)": Preset(GAP_PRESET, "mnist"),
    "The same net with a fully connected head": Preset(FC_HEAD_PRESET, "mnist"),
    "ResNet-20 (CIFAR-10)": Preset(RESNET20_PRESET, "cifar10"),
}
INPUT_SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


class SpecError(ValueError):
    """A spec file or list that cannot be read at all (not JSON, not a list of layers)."""


@dataclass(frozen=True)
class Problem:
    index: int        # the layer that causes it (-1: the spec as a whole)
    message: str


def check(spec: list[dict], input_shape: tuple[int, int, int], budget: Limits | None = None) -> list[Problem]:
    """Every problem of `spec` for inputs of shape (C, H, W), in plain words; nothing is built."""
    budget = budget or limits()
    problems: list[Problem] = []
    if len(spec) > budget.layers:
        return [Problem(-1, f"the net has {len(spec)} layers; this classroom allows up to {budget.layers}")]
    shape: tuple = tuple(input_shape)
    parameters, activations = 0, 0
    for index, layer in enumerate(spec):
        kind = layer.get("type") if isinstance(layer, dict) else None
        if not isinstance(kind, str) or kind not in TYPES:
            shown = kind if isinstance(kind, str) and len(kind) <= 20 else "this"
            problems.append(Problem(index, f"unknown layer type “{shown}”; use one of {', '.join(TYPES)}"))
            continue
        try:
            _check_settings(layer, budget)
            parameters += parameters_of(layer, shape)
            shape = _output_shape(layer, shape)
        except (ConvSettingError, ValueError, KeyError, TypeError, OverflowError) as error:
            problems.append(Problem(index, _explain(kind, error)))
            return problems   # later shapes are unknown
        activations += _stored_features(layer, shape)
        if parameters > budget.parameters:
            return problems + [Problem(index, f"the net reaches {parameters:,} parameters here; this classroom "
                                              f"allows up to {budget.parameters:,}")]
        if activations * 4 / 2**20 > budget.activation_mb:
            return problems + [Problem(index, f"the feature maps reach {activations * 4 / 2**20:,.0f} MB per image "
                                              f"here; this classroom allows up to {budget.activation_mb:,.0f} MB")]
    if not spec:
        problems.append(Problem(-1, "the net has no layers"))
    elif len(shape) != 1:
        problems.append(Problem(len(spec) - 1, "the net ends in a feature map: finish with a global average "
                                               "pooling (gap) or a fully connected layer (fc)"))
    elif shape[0] > MAX_CLASSES:
        problems.append(Problem(len(spec) - 1, f"the net ends with {shape[0]} outputs; there are only "
                                               f"{MAX_CLASSES} classes"))
    elif shape[0] < MAX_CLASSES:
        problems.append(Problem(len(spec) - 1, f"the net ends with {shape[0]} outputs but there are "
                                               f"{MAX_CLASSES} classes"))
    return problems


def training_memory_mb(spec: list[dict], input_shape: tuple[int, int, int], batch_size: int) -> float:
    """About what one training step of a valid `spec` holds: every layer's float32 output and its
    gradient, for the whole batch. Measured peaks (bench/lab_memory.py) are 0.5-1.4x this."""
    shape, features = tuple(input_shape), 0
    for layer in spec:
        shape = _output_shape(layer, shape)
        features += _stored_features(layer, shape)
    return 2 * features * batch_size * 4 / 2**20


def training_problem(spec: list[dict], input_shape: tuple[int, int, int], batch_size: int,
                     budget: Limits | None = None) -> str | None:
    """Why a valid `spec` cannot be trained at `batch_size` in this classroom, or None."""
    budget = budget or limits()
    needed = training_memory_mb(spec, input_shape, batch_size)
    if needed <= budget.training_mb:
        return None
    return (f"a training step of this net at batch size {batch_size} needs about {needed:,.0f} MB; this classroom "
            f"allows up to {budget.training_mb:,.0f} MB. Choose a smaller batch or narrower layers")


def _stored_features(layer: dict, shape: tuple) -> int:
    """The outputs a layer keeps for the backward pass (a residual block: its two convs and the sum)."""
    return _features(shape) * (3 if layer["type"] == "residual" else 1)


def _check_settings(layer: dict, budget: Limits) -> None:
    """Settings are plain numbers (bias: true/false) within the budget; unknown keys are refused."""
    allowed = SETTINGS.get(layer["type"], ())
    for key, value in layer.items():
        if key == "type":
            continue
        if key not in allowed:
            raise ValueError(f"a {layer['type']} layer has no setting “{key if len(str(key)) <= 20 else '…'}”")
        if key == "bias":
            if not isinstance(value, bool):
                raise ValueError("bias must be true or false")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ValueError(f"{key} must be a number")
        if key != "p" and value != int(value):
            raise ValueError(f"{key} must be a whole number")
    maxima = {"out": budget.channels, "kernel": budget.kernel, "stride": budget.stride,
              "dilation": budget.dilation, "padding": budget.padding}
    for key, most in maxima.items():
        if key in layer and int(layer[key]) > most:
            raise ValueError(f"{key} is {int(layer[key]):,}; this classroom allows up to {most:,}")
    if int(layer.get("padding", 0)) < 0:
        raise ValueError("padding must be 0 or more")


def _output_shape(layer: dict, shape: tuple) -> tuple:
    kind = layer["type"]
    if kind in ("bn", "relu", "dropout"):
        if kind == "bn" and len(shape) != 3:
            raise ValueError("batch norm here expects a feature map")
        if kind == "dropout" and not 0 <= float(layer.get("p", 0.05)) < 1:
            raise ValueError("dropout p must be at least 0 and below 1")
        return shape
    if kind == "fc":
        out = _positive(layer, "out")
        return (out,)
    if len(shape) != 3:
        raise ValueError("this layer needs a feature map, but the layers before it already flattened it")
    channels, h, w = shape
    if kind == "gap":
        return (channels,)
    if kind == "maxpool":
        k = _positive(layer, "kernel", 2)
        stride = _positive(layer, "stride", k)
        return (channels, output_size(h, k, stride), output_size(w, k, stride))
    if kind == "conv":
        out, k = _positive(layer, "out"), _positive(layer, "kernel", 3)
        stride, dilation = _positive(layer, "stride", 1), _positive(layer, "dilation", 1)
        padding = int(layer.get("padding", 0))
        return (out, output_size(h, k, stride, padding, dilation), output_size(w, k, stride, padding, dilation))
    # residual: a BasicBlock, 3x3 convs with padding 1
    out, stride = _positive(layer, "out"), _positive(layer, "stride", 1)
    return (out, output_size(h, 3, stride, 1), output_size(w, 3, stride, 1))


def _positive(layer: dict, key: str, default: int | None = None) -> int:
    value = layer.get(key, default)
    if value is None:
        raise KeyError(key)
    value = int(value)
    if value < 1:
        raise ValueError(f"{key} must be at least 1")
    return value


def _explain(kind: str, error: Exception) -> str:
    if isinstance(error, ConvSettingError):
        return f"{kind}: the feature map has shrunk below the kernel — {error}"
    if isinstance(error, KeyError):
        return f"{kind}: missing setting {error.args[0]!r}"
    return f"{kind}: {error}"


def build(spec: list[dict], input_shape: tuple[int, int, int]) -> nn.Sequential:
    """The nn.Module of a valid spec (raise SpecError listing the problems otherwise)."""
    problems = check(spec, input_shape)
    if problems:
        raise SpecError("; ".join(f"layer {p.index + 1}: {p.message}" for p in problems))
    modules: dict[str, nn.Module] = {}   # named "<layer number>-<type>", so tables can point back to the spec
    shape: tuple = tuple(input_shape)
    for index, layer in enumerate(spec):
        kind = layer["type"]
        name = f"{index + 1}-{kind}"
        if kind == "conv":
            modules[name] = nn.Conv2d(shape[0], int(layer["out"]), int(layer.get("kernel", 3)),
                                      stride=int(layer.get("stride", 1)), padding=int(layer.get("padding", 0)),
                                      dilation=int(layer.get("dilation", 1)), bias=bool(layer.get("bias", True)))
        elif kind == "bn":
            modules[name] = nn.BatchNorm2d(shape[0])
        elif kind == "relu":
            modules[name] = nn.ReLU()
        elif kind == "dropout":
            modules[name] = Dropout(float(layer.get("p", 0.05)))
        elif kind == "maxpool":
            k = int(layer.get("kernel", 2))
            modules[name] = nn.MaxPool2d(k, int(layer.get("stride", k)))
        elif kind == "gap":
            modules[name] = nn.AdaptiveAvgPool2d(1)
            modules[f"{name}-flatten"] = nn.Flatten()
        elif kind == "fc":
            if len(shape) == 3:
                modules[f"{name}-flatten"] = nn.Flatten()
            modules[name] = nn.Linear(_features(shape), int(layer["out"]))
        elif kind == "residual":
            modules[name] = BasicBlock(shape[0], int(layer["out"]), int(layer.get("stride", 1)))
        shape = _output_shape(layer, shape)
    return nn.Sequential(OrderedDict(modules))


def _features(shape: tuple) -> int:
    total = 1
    for n in shape:
        total *= n
    return total


def parameters_of(layer: dict, shape: tuple) -> int:
    """Parameters the layer adds, from its settings and its input shape, before it is built (the
    budget check); `describe` counts the built modules, and a test holds the two equal."""
    kind = layer["type"]
    if kind == "conv":
        k, out = int(layer.get("kernel", 3)), int(layer["out"])
        return shape[0] * out * k * k + (out if layer.get("bias", True) else 0)
    if kind == "bn":
        return 2 * shape[0]
    if kind == "fc":
        return _features(shape) * int(layer["out"]) + int(layer["out"])
    if kind == "residual":
        out = int(layer["out"])
        return 9 * shape[0] * out + 9 * out * out + 4 * out   # two 3x3 convs (no bias) and two BNs
    return 0


def describe(spec: list[dict], input_shape: tuple[int, int, int]) -> list[dict]:
    """Per layer of a valid spec: output shape, parameters (counted on the built modules),
    receptive field and jump (from models.receptive_field on the built net)."""
    with torch.device("meta"):   # sized, never run: no memory for weights or feature maps
        net = build(spec, input_shape)
    fields = {}
    for layer_field in receptive_fields(net, tuple(input_shape)):
        number = layer_field.name.split("-", 1)[0].split(".", 1)[0]
        if number.isdigit():
            fields[int(number)] = layer_field.field   # the last node of each spec layer wins
    counted: dict[int, int] = {}
    for name, parameter in net.named_parameters():
        number = int(name.split("-", 1)[0])
        counted[number] = counted.get(number, 0) + parameter.numel()
    rows, shape = [], tuple(input_shape)
    for index, layer in enumerate(spec):
        shape = _output_shape(layer, shape)
        field = fields.get(index + 1)
        rows.append({"layer": index + 1, "type": layer["type"], "output": "×".join(map(str, shape)),
                     "parameters": counted.get(index + 1, 0),
                     "receptive field": None if field is None or field.size == float("inf") else int(field.size),
                     "jump": None if field is None else int(field.jump)})
    return rows


def to_json(spec: list[dict], compact: bool = False) -> str:
    """The spec as a file (`compact`: on one line, as links carry it)."""
    document = {"format": "cnn-lab-spec/1", "layers": spec}
    return json.dumps(document, separators=(",", ":")) if compact else json.dumps(document, indent=1)


def from_json(text: str | bytes) -> list[dict]:
    """A spec file's layers; SpecError with the reason for anything else."""
    try:
        document = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SpecError(f"this file is not JSON ({error})") from None
    except RecursionError:
        raise SpecError("this file nests its JSON deeper than a net spec ever does") from None
    if not isinstance(document, dict) or document.get("format") != "cnn-lab-spec/1":
        raise SpecError("this JSON is not a CNN Lab net spec (no 'cnn-lab-spec/1' format marker)")
    layers = document.get("layers")
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        raise SpecError("'layers' must be a list of layer objects")
    for number, layer in enumerate(layers, 1):
        for name, value in layer.items():
            if not isinstance(value, (str, int, float, bool, type(None))):
                raise SpecError(f"layer {number}'s {str(name)[:40]!r} must be a word or a number")
    return layers


def blocks(spec: list[dict], rows: list[dict]) -> list[dict]:
    """`describe`'s rows grouped the way a diagram draws a net: each conv, residual, pooling or fc
    layer starts a block, and the bn / relu / dropout after it join that block."""
    grouped: list[dict] = []
    for layer, row in zip(spec, rows):
        joins = layer["type"] in ("bn", "relu", "dropout") and grouped
        if not joins:
            grouped.append({"layers": [], "first": row["layer"], "parameters": 0})
        block = grouped[-1]
        block["layers"].append(layer["type"] if layer["type"] != "conv" else f"conv {layer.get('kernel', 3)}×"
                               f"{layer.get('kernel', 3)}")
        block.update(last=row["layer"], output=row["output"], field=row["receptive field"])
        block["parameters"] += row["parameters"]
    return grouped
