"""The ImageNet years, measured: AlexNet, VGG-16, GoogLeNet, ResNet-18/50 as torchvision builds
them (no weights needed), beside the course's GAP MNIST net and CIFAR ResNet-20.

Every number here is computed from the nets themselves, once per process (`report`, `reports`):
- parameters by the kind of layer that owns them, the fully connected share, and what the net
  would have with a GAP head (global average pooling + one linear layer) instead of its own;
- multiply-accumulates (MACs) per image at the net's input size: FLOPs / 2, counted with the
  per-operation formulas of `torch.utils.flop_counter` (convolutions and matrix products only;
  pooling, normalisation, ReLU and additions are not counted). The tests check the totals equal
  `FlopCounterMode`'s. (`FlopCounterMode` itself installs global module hooks while it counts,
  which other sessions' nets would run into; the meter below only hooks its own private net.)
- activation memory: the bytes of every new floating-point tensor one forward pass at batch 1
  writes in float32 (every layer's output, concatenations included; views and in-place
  operations such as an in-place ReLU write none; the input image is not counted);
- stage by stage: output size, channels and receptive field (models.receptive_field).

The big nets are built on the meta device: shapes without memory, so ResNet-50 costs nothing
to build and VGG-16's 138M parameters take no 550 MB. No streamlit here.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache

import torch
import torchvision
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry
from torchvision.models import (
    AlexNet_Weights,
    GoogLeNet_Weights,
    ResNet18_Weights,
    ResNet50_Weights,
    VGG16_Weights,
)
from torchvision.models.googlenet import BasicConv2d

import models
from models.receptive_field import receptive_fields, stage_fields

KINDS = ("convolution", "fully connected", "normalisation", "other")
IMAGENET_INPUT = (3, 224, 224)
# Russakovsky et al. 2015 (IJCV), section 6.4: a trained annotator's top-5 error on 1,500
# ImageNet validation images. The only typed figure here besides the papers' names.
HUMAN_TOP5_ERROR = 0.051
ACCURACY_SOURCE = "torchvision model zoo documentation, `{weights}`"
ACCURACY_TERMS = ("ImageNet-1K validation set, one 224×224 centre crop; torchvision's own training of "
                  "each architecture, read from the weights' metadata that torchvision's table is made from")


@dataclass(frozen=True)
class NetInfo:
    key: str
    label: str
    year: int
    paper: str
    dataset: str
    input_shape: tuple[int, int, int]
    stages: tuple[tuple[str, str], ...]   # (module name, label): the output of each stage
    weights: object = None                # torchvision's ImageNet weights enum (published accuracy)
    note: str = ""                        # where torchvision's build differs from the paper


NETS: dict[str, NetInfo] = {net.key: net for net in (
    NetInfo("alexnet", "AlexNet", 2012,
            "Krizhevsky, Sutskever & Hinton 2012, ImageNet Classification with Deep Convolutional "
            "Neural Networks (NeurIPS); torchvision builds Krizhevsky 2014's one-GPU variant "
            "(One weird trick for parallelizing convolutional neural networks)",
            "ImageNet", IMAGENET_INPUT,
            (("features.2", "conv1 + pool1"), ("features.5", "conv2 + pool2"), ("features.7", "conv3"),
             ("features.9", "conv4"), ("features.12", "conv5 + pool5")),
            AlexNet_Weights.IMAGENET1K_V1,
            "torchvision's AlexNet is the one-GPU variant: 64 first-layer kernels (the paper: 96 on "
            "two GPUs), no local response normalisation."),
    NetInfo("vgg16", "VGG-16", 2014,
            "Simonyan & Zisserman 2015, Very Deep Convolutional Networks for Large-Scale Image "
            "Recognition (ICLR)",
            "ImageNet", IMAGENET_INPUT,
            tuple((f"features.{end}", f"block {i + 1}") for i, end in enumerate((4, 9, 16, 23, 30))),
            VGG16_Weights.IMAGENET1K_V1),
    NetInfo("googlenet", "GoogLeNet (Inception v1)", 2014,
            "Szegedy et al. 2015, Going Deeper with Convolutions (CVPR)",
            "ImageNet", IMAGENET_INPUT,
            (("maxpool1", "stem: 7×7/2 conv + pool"), ("maxpool2", "1×1 + 3×3 convs + pool"),
             ("inception3b", "inception 3a–3b"), ("inception4e", "pool + inception 4a–4e"),
             ("inception5b", "pool + inception 5a–5b")),
            GoogLeNet_Weights.IMAGENET1K_V1,
            "torchvision's GoogLeNet adds batch norm after every convolution, uses a 3×3 kernel in "
            "the branch the paper draws as 5×5 (pytorch/vision#906), and is counted here without "
            "the two auxiliary classifiers, which only training uses."),
    NetInfo("resnet18", "ResNet-18", 2015,
            "He, Zhang, Ren & Sun 2016, Deep Residual Learning for Image Recognition (CVPR)",
            "ImageNet", IMAGENET_INPUT,
            (("maxpool", "stem: 7×7/2 conv + pool"), ("layer1", "block 1"), ("layer2", "block 2"),
             ("layer3", "block 3"), ("layer4", "block 4")),
            ResNet18_Weights.IMAGENET1K_V1),
    NetInfo("resnet50", "ResNet-50", 2015,
            "He, Zhang, Ren & Sun 2016, Deep Residual Learning for Image Recognition (CVPR)",
            "ImageNet", IMAGENET_INPUT,
            (("maxpool", "stem: 7×7/2 conv + pool"), ("layer1", "block 1"), ("layer2", "block 2"),
             ("layer3", "block 3"), ("layer4", "block 4")),
            ResNet50_Weights.IMAGENET1K_V1,
            "torchvision's ResNet-50 is “v1.5”: a block that halves the grid does so in its 3×3 "
            "convolution, not in the first 1×1 as in the paper."),
    NetInfo("gap-mnist", "GAP MNIST net (this course)", 2024, "the course assignment", "MNIST", (1, 28, 28),
            (("conv2", "two 3×3 blocks"), ("transition", "pool + 1×1 transition"), ("conv6", "four 3×3 blocks"),
             ("classifier", "1×1 conv to 10 classes"))),
    NetInfo("cifar-resnet-20", "CIFAR ResNet-20 (this course)", 2015,
            "He, Zhang, Ren & Sun 2016, section 4.2 (the CIFAR-10 ResNets)", "CIFAR-10", (3, 32, 32),
            (("relu", "stem: 3×3 conv"), ("layer1", "block 1"), ("layer2", "block 2"), ("layer3", "block 3"))),
)}
IMAGENET_NETS = tuple(key for key, net in NETS.items() if net.weights is not None)


def build(key: str, device: str | torch.device = "meta") -> nn.Module:
    """The net in eval mode, untrained (torchvision `weights=None`); on the meta device by
    default (shapes only, no memory)."""
    if key not in NETS:
        raise ValueError(f"unknown net {key!r}; known: {', '.join(NETS)}")
    with torch.device(device):
        if key == "gap-mnist":
            net = models.build("gap-mnist")
        elif key == "cifar-resnet-20":
            net = models.build("cifar-resnet", depth=20)
        elif key == "googlenet":
            net = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True)
        else:
            net = getattr(torchvision.models, key)(weights=None)
    return net.eval()


def kind_of(module: nn.Module) -> str:
    if isinstance(module, nn.modules.conv._ConvNd):
        return "convolution"
    if isinstance(module, nn.Linear):
        return "fully connected"
    if isinstance(module, (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)):
        return "normalisation"
    return "other"


def parameters_by_kind(net: nn.Module) -> dict[str, int]:
    """Each parameter counted once, under the kind of the module that owns it."""
    counts = dict.fromkeys(KINDS, 0)
    for module in net.modules():
        counts[kind_of(module)] += sum(p.numel() for p in module.parameters(recurse=False))
    return counts


# --- Counting a forward pass -------------------------------------------------------------------

class _Meter(TorchDispatchMode):
    """FLOPs per leaf layer (torch.utils.flop_counter's formulas, decomposing what they lack as
    FlopCounterMode does) and the bytes of every new floating-point tensor. Dispatch modes are
    per thread, and the layer is known from hooks on the meter's own net only."""

    def __init__(self) -> None:
        super().__init__()
        self.flops: dict[str | None, int] = defaultdict(int)
        self.bytes = 0
        self.layer: str | None = None

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func._overloadpacket
        if packet not in flop_registry and func is not torch.ops.prim.device.default:
            with self:
                result = func.decompose(*args, **kwargs)
            if result is not NotImplemented:
                return result
        out = func(*args, **kwargs)
        if packet in flop_registry:
            self.flops[self.layer] += flop_registry[packet](*args, **kwargs, out_val=out)
        if all(r.alias_info is None for r in func._schema.returns):   # not a view, not in place
            for tensor in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
                    self.bytes += tensor.numel() * tensor.element_size()
        return out


def measure_forward(net: nn.Module, input_shape: tuple[int, ...]) -> tuple[dict[str | None, int], int]:
    """(FLOPs by leaf module name — None for work outside any module, activation bytes) of one
    forward pass at batch 1 on the net's own device (meta: nothing computed)."""
    device = next(net.parameters()).device
    meter = _Meter()
    handles = []
    for name, module in net.named_modules():
        if next(module.children(), None) is None:
            handles.append(module.register_forward_pre_hook(lambda m, a, name=name: setattr(meter, "layer", name)))
            handles.append(module.register_forward_hook(lambda m, a, o: setattr(meter, "layer", None)))
    x = torch.zeros(1, *input_shape, device=device)
    try:
        with torch.no_grad(), meter:
            net(x)
    finally:
        for handle in handles:
            handle.remove()
    return dict(meter.flops), meter.bytes


# --- Reports -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    name: str                 # the module whose output ends the stage ("head" for the rest)
    label: str
    layers: str               # what it is made of, counted: "3×3 conv ×2, max-pool"
    out_shape: tuple          # (C, H, W), or (classes,) for the head
    field: float | None       # receptive field of one output unit, input pixels (None: the head)
    jump: float | None        # input pixels between neighbouring output units
    params: int
    macs: int
    spatial_widths: tuple[int, ...]   # output channels of its k×k (k > 1) convolutions
    spatial_side: int | None = None   # the grid side its last k×k convolution works at (None: it has none)


@dataclass(frozen=True)
class FirstConv:
    kernel: int
    stride: int
    kernels: int
    params: int
    out_side: int
    field: float
    jump: float


@dataclass(frozen=True)
class NetReport:
    key: str
    label: str
    year: int
    dataset: str
    input_shape: tuple[int, int, int]
    params: dict              # kind -> count
    total_params: int
    fc_layers: int
    fc_share: float
    head_channels: int        # channels that reach the classifier
    classes: int
    gap_head_params: int      # the same net with GAP + one linear layer as its head
    macs: int
    fc_macs: int
    activation_bytes: int
    stages: tuple[Stage, ...]
    first_conv: FirstConv
    top1: float | None        # percent, published (torchvision's weights); None for the course nets
    top5: float | None
    accuracy_source: str
    paper: str
    note: str


def _layers_text(modules: list[nn.Module]) -> str:
    parts: Counter = Counter()
    for module in modules:
        if isinstance(module, nn.Conv2d):
            k, s = module.kernel_size[0], module.stride[0]
            parts[f"{k}×{k}{f'/{s}' if s > 1 else ''} conv"] += 1
        elif isinstance(module, nn.MaxPool2d):
            parts["max-pool"] += 1
        elif isinstance(module, nn.AvgPool2d):
            parts["avg-pool"] += 1
        elif isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            parts["adaptive pool"] += 1
        elif isinstance(module, nn.Linear):
            parts["fully connected"] += 1
    return ", ".join(f"{name} ×{count}" if count > 1 else name for name, count in parts.items())


def _inside(name: str, scope: str) -> bool:
    return name == scope or name.startswith(scope + ".")


def _report(key: str) -> NetReport:
    info = NETS[key]
    net = build(key)
    params = parameters_by_kind(net)
    total = sum(params.values())
    fields = receptive_fields(net, info.input_shape)
    ends = stage_fields(net, info.input_shape, [name for name, _ in info.stages])
    flops, activation_bytes = measure_forward(net, info.input_shape)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    first_linear = next((i for i, f in enumerate(fields) if f.kind == "Linear"), len(fields))
    head_channels = next(f.out_shape[0] for f in reversed(fields[:first_linear]) if len(f.out_shape) == 3)
    classes = fields[-1].out_shape[0]
    gap_head = total - params["fully connected"] + (head_channels * classes + classes if linears else 0)

    # Leaves in registration order (forward order for these nets), cut into the stages.
    leaves = [(name, m) for name, m in net.named_modules() if next(m.children(), None) is None]
    side_of = {f.name: f.out_shape[1] for f in fields if len(f.out_shape) == 3}
    stages, start = [], 0
    for (name, label), end_field in zip(info.stages + (("head", "head: pooling + classifier"),),
                                        list(ends.values()) + [None]):
        stop = len(leaves) if name == "head" else \
            max(i for i, (leaf, _) in enumerate(leaves) if _inside(leaf, name)) + 1
        group = leaves[start:stop]
        start = stop
        modules_ = [m for _, m in group]
        stages.append(Stage(
            name=name, label=label, layers=_layers_text(modules_),
            out_shape=tuple(end_field.out_shape) if end_field else tuple(fields[-1].out_shape),
            field=end_field.field.size if end_field else None,
            jump=end_field.field.jump if end_field else None,
            params=sum(p.numel() for m in modules_ for p in m.parameters(recurse=False)),
            macs=sum(flops.get(leaf, 0) for leaf, _ in group) // 2,
            spatial_widths=tuple(dict.fromkeys(m.out_channels for m in modules_
                                               if isinstance(m, nn.Conv2d) and m.kernel_size[0] > 1)),
            spatial_side=next((side_of.get(leaf) for leaf, m in reversed(group)
                               if isinstance(m, nn.Conv2d) and m.kernel_size[0] > 1), None),
        ))
    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    conv_field = next(f for f in fields if f.kind == "Conv2d")
    weights = info.weights
    metrics = weights.meta["_metrics"]["ImageNet-1K"] if weights is not None else {}
    return NetReport(
        key=key, label=info.label, year=info.year, dataset=info.dataset, input_shape=info.input_shape,
        params=params, total_params=total, fc_layers=len(linears),
        fc_share=params["fully connected"] / total, head_channels=head_channels, classes=classes,
        gap_head_params=gap_head, macs=sum(flops.values()) // 2,
        fc_macs=sum(flops.get(name, 0) for name, m in leaves if isinstance(m, nn.Linear)) // 2,
        activation_bytes=activation_bytes, stages=tuple(stages),
        first_conv=FirstConv(conv.kernel_size[0], conv.stride[0], conv.out_channels,
                             sum(p.numel() for p in conv.parameters()), conv_field.out_shape[1],
                             conv_field.field.size, conv_field.field.jump),
        top1=metrics.get("acc@1"), top5=metrics.get("acc@5"),
        accuracy_source=ACCURACY_SOURCE.format(weights=f"{type(weights).__name__}.{weights.name}") if weights else "",
        paper=info.paper, note=info.note,
    )


_COMPUTING = threading.Lock()


@lru_cache(maxsize=None)
def _cached_report(key: str) -> NetReport:
    return _report(key)


def report(key: str) -> NetReport:
    """One net's report, computed once per process (a class opening the page at the same
    moment waits for one computation, not thirty)."""
    with _COMPUTING:
        return _cached_report(key)


def reports() -> tuple[NetReport, ...]:
    return tuple(report(key) for key in NETS)


def grid_channels(net: NetReport, sides=(56, 28, 14, 7)) -> dict[int, Stage | None]:
    """The last stage whose k×k convolutions work at each grid side: where "four blocks from
    56×56" shows. (A stage that ends in a pooling hands on a smaller grid than it works at.)"""
    found: dict[int, Stage | None] = dict.fromkeys(sides)
    for stage in net.stages:
        if stage.spatial_side in found:
            found[stage.spatial_side] = stage
    return found


# --- Stacked 3×3s against one big kernel (VGG's argument) ---------------------------------------

@dataclass(frozen=True)
class KernelStack:
    layers: int
    kernel: int
    field: float
    params: int
    macs: int
    nonlinearities: int


def _stack_cost(layers: int, kernel: int, channels: int, side: int) -> KernelStack:
    with torch.device("meta"):
        stack = nn.Sequential(*[m for _ in range(layers) for m in
                                (nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False), nn.ReLU())])
    shape = (channels, side, side)
    flops, _ = measure_forward(stack, shape)
    return KernelStack(layers, kernel, receptive_fields(stack, shape)[-1].field.size,
                       sum(p.numel() for p in stack.parameters()), sum(flops.values()) // 2, layers)


@lru_cache(maxsize=None)
def stacked_versus_single(channels: int, side: int, depths=(2, 3)) -> tuple[tuple[KernelStack, KernelStack], ...]:
    """For each depth n: n stacked 3×3 convolutions (C -> C, no bias) against the one
    (2n+1)×(2n+1) convolution with the same receptive field, on a side×side map."""
    return tuple((_stack_cost(n, 3, channels, side), _stack_cost(1, 2 * n + 1, channels, side)) for n in depths)


# --- Inception's 1×1 bottleneck -------------------------------------------------------------------

@dataclass(frozen=True)
class BlockCost:
    variant: str
    big_kernel: int           # the kernel of the branch the paper draws as 5×5
    reductions: bool
    params: int
    macs: int
    out_channels: int
    branches: tuple[str, ...]


class _Block(nn.Module):
    def __init__(self, branches: list[nn.Module]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], 1)


def _steps(branch: nn.Module) -> list[nn.Module]:
    return [m for m in branch.modules() if isinstance(m, (BasicConv2d, nn.MaxPool2d))] if not \
        isinstance(branch, BasicConv2d) else [branch]


def _rebuild(block: nn.Module, big_kernel: int, reductions: bool) -> tuple[_Block, int, tuple[str, ...]]:
    """torchvision's Inception block rebuilt from its own layer shapes: with its 1×1
    reductions (before the 3×3 and 5×5, after the pool) or without them (the paper's naive
    version, Figure 2a); the third branch's kernel set to `big_kernel`."""
    in_channels = block.branch1.conv.in_channels
    branches, out_channels, described = [], 0, []
    for index, branch in enumerate((block.branch1, block.branch2, block.branch3, block.branch4)):
        steps = _steps(branch)
        if not reductions and len(steps) > 1:
            steps = [s for s in steps if not (isinstance(s, BasicConv2d) and s.conv.kernel_size[0] == 1)]
        layers, channels, words = [], in_channels, []
        for step in steps:
            if isinstance(step, nn.MaxPool2d):
                layers.append(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True))
                words.append("3×3 max-pool")
                continue
            k = step.conv.kernel_size[0]
            if index == 2 and k > 1:
                k = big_kernel
            layers.append(BasicConv2d(channels, step.conv.out_channels, kernel_size=k, padding=k // 2))
            words.append(f"{k}×{k} conv {channels}→{step.conv.out_channels}")
            channels = step.conv.out_channels
        branches.append(nn.Sequential(*layers))
        described.append(" then ".join(words) + f" ({channels} out)")
        out_channels += channels
    return _Block(branches), out_channels, tuple(described)


def _inception_block(name: str) -> tuple[nn.Module, tuple[int, int, int]]:
    net = build("googlenet")
    shape = stage_fields(net, IMAGENET_INPUT, [name])[name]
    block = getattr(net, name)
    return block, (block.branch1.conv.in_channels, shape.out_shape[1], shape.out_shape[2])


@lru_cache(maxsize=None)
def inception_input(name: str = "inception3a") -> tuple[int, int, int]:
    """The (C, H, W) that reaches torchvision GoogLeNet's block `name` from a 224×224 image."""
    return _inception_block(name)[1]


@lru_cache(maxsize=None)
def inception_costs(name: str = "inception3a") -> tuple[BlockCost, ...]:
    """One Inception block's parameters and MACs with and without its 1×1 reductions, for the
    kernel torchvision builds (3×3) and the paper's 5×5 in the third branch."""
    block, shape = _inception_block(name)
    built_kernel = block.branch3[1].conv.kernel_size[0]
    rows = []
    for big_kernel, variant in ((built_kernel, "as torchvision builds it"), (5, "as the paper draws it")):
        for reductions in (True, False):
            with torch.device("meta"):
                rebuilt, channels, described = _rebuild(block, big_kernel, reductions)
            flops, _ = measure_forward(rebuilt.eval(), shape)
            rows.append(BlockCost(variant, big_kernel, reductions, sum(p.numel() for p in rebuilt.parameters()),
                                  sum(flops.values()) // 2, channels, described))
    return tuple(rows)


def human_top5() -> float:
    """Percent: Russakovsky et al. 2015's human top-5 accuracy."""
    return 100 * (1 - HUMAN_TOP5_ERROR)
