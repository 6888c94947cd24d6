"""Grad-CAM (Selvaraju et al. 2017) and Guided Grad-CAM (with captum), on a private copy of the
model per call, so sessions sharing a cached model never see each other's hooks.

Grad-CAM is computed here for many layers and classes from one forward pass and one backward
pass per class; the tests check it against captum's LayerGradCam, which needs a forward and a
backward pass per layer and class."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torchvision
from captum.attr import GuidedGradCam, LayerAttribution
from torch import nn

from models.inference import class_scores
from models.probes import private_copy, relu_layers


@dataclass(frozen=True)
class GradCam:
    layer: str
    target: int
    coarse: torch.Tensor      # (h, w) at the layer's resolution, >= 0
    heatmap: torch.Tensor     # (H, W) upsampled to the input, scaled to [0, 1] (all 0 if no evidence)


def gradcam_layers(model: nn.Module) -> list[str]:
    """Layers Grad-CAM can look at, first to last (the last, the default, is the most semantic
    and the coarsest): the output of every ReLU of our nets; the four stages of torchvision's
    ResNets, whose blocks use one ReLU module twice."""
    if isinstance(model, torchvision.models.ResNet):
        return ["layer1", "layer2", "layer3", "layer4"]
    return relu_layers(model)


def map_layers(model: nn.Module, input_shape: tuple[int, int, int]) -> list[str]:
    """The layers of `gradcam_layers` whose output is a feature map for inputs of `input_shape`
    (after a fully connected layer there is no "where" left to show)."""
    from models.receptive_field import receptive_fields

    shapes = {layer.name: layer.out_shape for layer in receptive_fields(model, input_shape)}
    return [name for name in gradcam_layers(model) if len(shapes.get(name, (0, 0, 0))) == 3]


def _layer(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules:
        raise KeyError(f"no layer named {name!r}")
    return modules[name]


def gradcams(model: nn.Module, x: torch.Tensor, layers: list[str], targets: list[int]) -> dict[tuple[str, int], GradCam]:
    """Grad-CAM of every class in `targets` at every layer in `layers`, for one image x of shape
    (1, C, H, W), keyed by (layer, target)."""
    layers, targets = list(dict.fromkeys(layers)), list(dict.fromkeys(targets))
    outputs: dict[str, torch.Tensor] = {}
    x = x.detach().clone().requires_grad_(True)
    with private_copy(model) as probe:
        modules = [_layer(probe, name) for name in layers]
        handles = [module.register_forward_hook(lambda m, i, o, name=name: outputs.__setitem__(name, o))
                   for name, module in zip(layers, modules)]
        try:
            with torch.enable_grad():
                scores = class_scores(probe, x)[0]
        finally:
            for handle in handles:
                handle.remove()
        activations = [outputs[name] for name in layers]
        result = {}
        for index, target in enumerate(targets):
            gradients = torch.autograd.grad(scores[target], activations, retain_graph=index < len(targets) - 1)
            for name, activation, gradient in zip(layers, activations, gradients):
                weights = gradient.mean(dim=(2, 3), keepdim=True)   # one weight per channel
                coarse = (weights * activation).sum(1, keepdim=True).clamp(min=0).detach()
                result[(name, target)] = GradCam(name, target, coarse[0, 0], _upsampled(coarse, x.shape[-2:]))
    return result


def gradcam(model: nn.Module, x: torch.Tensor, layer: str, target: int) -> GradCam:
    """Grad-CAM of class `target` at `layer` for one image x of shape (1, C, H, W)."""
    return gradcams(model, x, [layer], [target])[(layer, target)]


def _upsampled(coarse: torch.Tensor, size) -> torch.Tensor:
    """(1, 1, h, w) -> (H, W) bilinear, scaled to [0, 1] (all 0 when there is no evidence)."""
    heatmap = LayerAttribution.interpolate(coarse, tuple(size), "bilinear")[0, 0].clamp(min=0)
    top = heatmap.max()
    return heatmap / top if top > 0 else torch.zeros_like(heatmap)


def guided_gradcam(model: nn.Module, x: torch.Tensor, layer: str, target: int) -> torch.Tensor:
    """Grad-CAM times guided backpropagation: (H, W), summed |attribution| over channels,
    scaled to [0, 1]."""
    with private_copy(model) as probe:
        wrapped = _ScoresOf(probe)
        attribution = GuidedGradCam(wrapped, _layer(wrapped.net, layer))
        result = attribution.attribute(x.clone().requires_grad_(True), target=target)[0].abs().sum(0)
    top = result.max()
    return (result / top if top > 0 else result).detach()


def randomized_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """The model-randomisation test (Adebayo et al. 2018): same architecture, every layer
    re-initialised. A saliency method that explains the net should change completely."""
    twin = copy.deepcopy(model)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for module in twin.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
    finally:
        torch.random.set_rng_state(generator_state)
    return twin.eval()


class _ScoresOf(nn.Module):
    """GuidedGradCam needs an nn.Module: this one returns the net's class scores (logits)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return class_scores(self.net, x)


def centre_share(heatmap: torch.Tensor) -> float:
    """Share of a heatmap's mass in the central half (by side) of the image: a quarter of the
    area, so 0.25 means no preference for the centre over the border."""
    h, w = heatmap.shape
    total = heatmap.sum()
    if total <= 0:
        return 0.25
    centre = heatmap[h // 4 : h - h // 4, w // 4 : w - w // 4].sum()
    return float(centre / total)


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two maps of the same shape (ties get their average rank):
    1 when one map orders the pixels exactly as the other, about 0 when the orders are unrelated."""
    ranks = [_average_ranks(m.flatten().double()) for m in (a, b)]
    x, y = (r - r.mean() for r in ranks)
    denominator = (x.norm() * y.norm()).item()
    return float((x @ y).item() / denominator) if denominator > 0 else 0.0


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    unique, inverse, counts = torch.unique(values, return_inverse=True, return_counts=True)
    first = torch.cumsum(counts, 0) - counts          # rank (0-based) of the first of each tie
    return (first + (counts - 1) / 2).double()[inverse]
