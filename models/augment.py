"""Batch augmentation on whatever device the batch is on (the GPU when training there).

The functions take float images in pixel units (N, C, H, W) and a torch.Generator on the
same device, so a seed fixes every random choice."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def random_crop_flip(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """CIFAR-10's standard augmentation: zero-pad by `padding`, crop back at a random offset,
    and mirror half of the images left-right."""
    n, _, h, w = images.shape
    device = images.device
    padded = F.pad(images, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n, 1), device=device, generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n, 1), device=device, generator=generator)
    rows = dy + torch.arange(h, device=device)
    cols = dx + torch.arange(w, device=device)
    flip = torch.rand(n, 1, device=device, generator=generator) < 0.5
    cols = torch.where(flip, cols.flip(1), cols)
    batch = torch.arange(n, device=device)[:, None, None]
    # Advanced indices on dims 0, 2, 3 around a slice put the index dims first: (N, H, W, C).
    cropped = padded[batch, :, rows[:, :, None], cols[:, None, :]]
    return cropped.permute(0, 3, 1, 2)


def random_affine(
    images: torch.Tensor, max_degrees: float, max_shift: float, generator: torch.Generator
) -> torch.Tensor:
    """MNIST's augmentation: rotate by up to +-max_degrees and shift by up to +-max_shift
    pixels, filling with black (0)."""
    n, _, h, w = images.shape
    device = images.device
    angle = (torch.rand(n, device=device, generator=generator) * 2 - 1) * math.radians(max_degrees)
    shift = (torch.rand(n, 2, device=device, generator=generator) * 2 - 1) * max_shift
    shift = shift * torch.tensor([2 / w, 2 / h], device=device)  # pixels -> [-1, 1] coordinates
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def cutout(images: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Cutout (DeVries & Taylor, 2017): blacken (0) one size x size square per image, centred on
    a random pixel, so the square may hang over the border and cover less."""
    n, _, h, w = images.shape
    device = images.device
    cy = torch.randint(0, h, (n, 1, 1), device=device, generator=generator)
    cx = torch.randint(0, w, (n, 1, 1), device=device, generator=generator)
    rows = torch.arange(h, device=device)[None, :, None]
    cols = torch.arange(w, device=device)[None, None, :]
    low = size // 2
    inside = (rows >= cy - low) & (rows < cy - low + size) & (cols >= cx - low) & (cols < cx - low + size)
    return images.masked_fill(inside[:, None], 0)


def augment(dataset: str, images: torch.Tensor, generator: torch.Generator, cutout_size: int = 0) -> torch.Tensor:
    """The dataset's training augmentation; with `cutout_size`, Cutout after it."""
    if dataset == "cifar10":
        images = random_crop_flip(images, padding=4, generator=generator)
    elif dataset == "mnist":
        images = random_affine(images, max_degrees=10, max_shift=2, generator=generator)
    else:
        raise ValueError(f"no augmentation defined for {dataset!r}")
    return cutout(images, cutout_size, generator) if cutout_size > 0 else images
