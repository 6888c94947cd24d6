"""What units respond to: kernels as pictures, the input patches that excite a unit most,
and activation maximisation; and the course's receptive-field table for a stack of convs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from models.probes import private_copy
from models.receptive_field import receptive_fields


def kernel_tiles(weight: torch.Tensor, colour: bool) -> np.ndarray:
    """A conv weight (out, in, k, k) -> one tile per output kernel: (out, k, k, 3) in [0, 1]
    for colour first layers (RGB as the image's channels), else (out, k, k) channel means,
    signed. One scale for the whole layer, so tiles compare."""
    w = weight.detach().float()
    if colour:
        if w.shape[1] != 3:
            raise ValueError("colour tiles need 3 input channels")
        top = w.abs().max().clamp(min=1e-12)
        return ((w / top + 1) / 2).permute(0, 2, 3, 1).numpy()
    return w.mean(1).numpy()


def unit_activations(model: nn.Module, layer: str, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The activation maps (N, C, h, w) that ReLU `layer` outputs for normalised `images`."""
    outputs = []
    with private_copy(model) as probe:
        module = dict(probe.named_modules())[layer]
        handle = module.register_forward_hook(lambda m, i, o: outputs.append(o.detach()))
        try:
            with torch.no_grad():
                for start in range(0, len(images), batch_size):
                    probe(images[start : start + batch_size])
        finally:
            handle.remove()
    return torch.cat(outputs)


def top_patches(activations: torch.Tensor, channel: int, k: int) -> list[tuple[float, int, int, int]]:
    """The k highest activations of `channel` over all images and positions, as
    (value, image, row, col), highest first; at most one per image."""
    maps = activations[:, channel]
    best_per_image, where = maps.flatten(1).max(1)
    order = torch.argsort(best_per_image, descending=True)[:k]
    width = maps.shape[-1]
    return [(float(best_per_image[i]), int(i), int(where[i]) // width, int(where[i]) % width) for i in order]


def crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The part of an (H, W[, C]) image inside an inclusive (top, left, bottom, right) box,
    zero where the box leaves the image."""
    top, left, bottom, right = (int(round(v)) for v in box)
    out = np.zeros((bottom - top + 1, right - left + 1) + image.shape[2:], dtype=image.dtype)
    h, w = image.shape[:2]
    t, l, b, r = max(top, 0), max(left, 0), min(bottom, h - 1), min(right, w - 1)
    if t <= b and l <= r:
        out[t - top : b - top + 1, l - left : r - left + 1] = image[t : b + 1, l : r + 1]
    return out


def maximise_activation(model: nn.Module, layer: str, channel: int, input_shape: Sequence[int],
                        steps: int = 200, lr: float = 0.05, weight_decay: float = 1e-3,
                        seed: int = 0) -> tuple[torch.Tensor, float]:
    """Gradient ascent from seeded noise on the input, to raise the mean activation of
    `channel` at `layer` (with L2 decay and a small blur each step as regularisation).
    Returns (the normalised input (C, H, W), the activation it reaches)."""
    with private_copy(model) as probe:
        module = dict(probe.named_modules())[layer]
        captured = {}
        handle = module.register_forward_hook(lambda m, i, o: captured.__setitem__("out", o))
        generator = torch.Generator().manual_seed(seed)
        x = (torch.randn(1, *input_shape, generator=generator) * 0.1).requires_grad_(True)
        optimizer = torch.optim.Adam([x], lr=lr, weight_decay=weight_decay)
        blur = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16
        blur = blur.expand(input_shape[0], 1, 3, 3)
        try:
            for _ in range(steps):
                probe(x)
                loss = -captured["out"][0, channel].mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    x.copy_(0.9 * x + 0.1 * torch.nn.functional.conv2d(x, blur, padding=1, groups=input_shape[0]))
            with torch.no_grad():
                probe(x)
                reached = float(captured["out"][0, channel].mean())
        finally:
            handle.remove()
    return x.detach()[0], reached


def teaching_net(widths: Sequence[int] = (32, 64, 128, 256, 512), pool_after: Sequence[int] = (5,),
                 transition: int = 32) -> nn.Sequential:
    """The course's expand-then-squeeze stack, for sizing only: 3x3 convs (no padding) with
    the given widths, and after each position in `pool_after` (1-based) a 2x2 max-pooling
    followed by a 1x1 conv back to `transition` channels."""
    layers: list[nn.Module] = []
    channels = 3
    for index, width in enumerate(widths, start=1):
        layers += [nn.Conv2d(channels, width, 3), nn.ReLU()]
        channels = width
        if index in pool_after:
            layers += [nn.MaxPool2d(2), nn.Conv2d(channels, transition, 1), nn.ReLU()]
            channels = transition
    return nn.Sequential(*layers)


def size_table(model: nn.Module, input_shape: tuple[int, int, int]) -> list[dict]:
    """Output size, receptive field and jump after every conv and pooling layer, from the
    same receptive-field code the app uses for real nets. A net built on the meta device
    (`with torch.device("meta"): teaching_net(...)`) is sized without computing anything."""
    rows = []
    for layer in receptive_fields(model, input_shape):
        if layer.kind in ("Conv2d", "MaxPool2d", "AvgPool2d"):
            c, h, w = layer.out_shape
            rows.append({"layer": layer.name, "kind": layer.kind, "output": f"{h}×{w}×{c}",
                         "receptive field": int(layer.field.size), "jump": int(layer.field.jump)})
    return rows


def course_table(widths: Sequence[int], pool_after: Sequence[int], side: int, transition: int = 32) -> list[dict]:
    """The rows `size_table(teaching_net(widths, pool_after, transition), (3, side, side))` gives,
    worked out by the receptive-field arithmetic alone (no net is built, nothing is run), with
    the course notes' rule beside it: there a 3x3 conv always adds 2 pixels and a 2x2 pooling
    doubles the field. Raises ValueError when the map shrinks to nothing."""
    from models.convolution import output_size
    from models.receptive_field import INPUT

    field, notes, size, rows, index = INPUT, 1, side, [], 0

    def add(kind: str, channels: int, kernel: int, stride: int) -> None:
        nonlocal field, size
        size = output_size(size, kernel, stride)
        field = field.through(kernel, stride, 0)
        rows.append({"layer": str(index), "kind": kind, "output": f"{size}×{size}×{channels}",
                     "receptive field": int(field.size), "jump": int(field.jump), "course notes' rule": notes})

    for position, width in enumerate(widths, start=1):
        notes += 2
        add("Conv2d", width, 3, 1)
        index += 2                        # the conv and its ReLU
        if position in pool_after:
            notes *= 2
            add("MaxPool2d", width, 2, 2)
            index += 1
            add("Conv2d", transition, 1, 1)
            index += 2
    return rows
