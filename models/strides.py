"""Strides and the checkerboard (Odena et al., "Deconvolution and Checkerboard Artifacts",
2016): how often a strided convolution uses each input pixel, how unevenly a transposed
convolution paints its output, and how to find the stride's period in a picture.

Counts are measured by running the real layers: the gradient of the sum of a convolution's
outputs with all-ones weights, with respect to its input, is the number of windows that
contain each input pixel."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from models.convolution import output_size


def coverage(size: int, layers: list[tuple[int, int, int]]) -> np.ndarray:
    """(size, size) counts of how many times each input pixel is used by a stack of
    convolutions given as (kernel, stride, padding), measured with autograd. Through a stack,
    a pixel's count is the number of paths from it to the outputs."""
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = x
    for kernel, stride, padding in layers:
        output_size(y.shape[-1], kernel, stride, padding)   # raises a clear error when nothing fits
        y = F.conv2d(y, torch.ones(1, 1, kernel, kernel, dtype=torch.float64), stride=stride, padding=padding)
    (gradient,) = torch.autograd.grad(y.sum(), x)
    return gradient[0, 0].round().numpy().astype(int)


def coverage_1d_closed_form(size: int, kernel: int, stride: int, padding: int = 0) -> np.ndarray:
    """For each input position i: the number of windows j*stride - padding ... + kernel - 1
    (j = 0 .. outputs - 1) that contain it."""
    outputs = output_size(size, kernel, stride, padding)
    i = np.arange(size) + padding                           # position in the padded input
    first = np.maximum(0, -(-(i - kernel + 1) // stride))   # ceil((i - k + 1) / s), at least 0
    last = np.minimum(outputs - 1, i // stride)
    return np.maximum(0, last - first + 1)


def coverage_closed_form(size: int, kernel: int, stride: int, padding: int = 0) -> np.ndarray:
    """2-D counts of one layer: the product of the row and column counts."""
    line = coverage_1d_closed_form(size, kernel, stride, padding)
    return np.outer(line, line)


def transposed_overlap(size: int, kernel: int, stride: int) -> np.ndarray:
    """The output of a transposed convolution with all-ones weights on an all-ones (size x
    size) input: how many kernel copies land on each output pixel. Uneven unless kernel is a
    multiple of stride."""
    layer = nn.ConvTranspose2d(1, 1, kernel, stride=stride, bias=False)
    nn.init.ones_(layer.weight)
    with torch.no_grad():
        return layer(torch.ones(1, 1, size, size))[0, 0].round().numpy().astype(int)


def spectrum(image: np.ndarray) -> np.ndarray:
    """Centred magnitude of the 2-D FFT of an image whose mean was removed (log scale is for
    the viewer to choose)."""
    image = np.asarray(image, dtype=float)
    return np.abs(np.fft.fftshift(np.fft.fft2(image - image.mean())))


# A grid "stands out" when its frequencies are this many times the spectrum around them. A smooth
# image gives about 1; white noise, by chance, more: over 500 32x32 draws the larger of the period-2
# and period-4 strengths had median 1.8 and 99th percentile 3.6 (tests/test_strides.py).
CLEAR_PEAK = 5.0


def grid_verdict(strengths: dict[int, float]) -> str:
    """What a page says of peak strengths by period: which grids stand out, or that none does."""
    clear = [f"period {period}" for period, value in strengths.items() if value >= CLEAR_PEAK]
    if clear:
        return f"a grid stands out at {' and '.join(clear)}"
    return f"no grid stands out (1 means nothing there; a clear grid is above {CLEAR_PEAK:g})"


def stride_peak_strength(image: np.ndarray, stride: int) -> float:
    """How far the image's spectrum stands out at the frequencies of a period-`stride` grid
    (k/stride of the sampling rate, for k = 1 .. stride - 1 that share no factor with the stride,
    along either axis or both), against the spectrum just around them: about 1 for a smooth
    image, large for a checkerboard. (k = 2 of period 4 is period 2's frequency: not counted.)"""
    magnitude = np.abs(np.fft.fft2(np.asarray(image, dtype=float) - np.mean(image)))
    h, w = magnitude.shape
    if stride < 2 or h % stride or w % stride:
        raise ValueError(f"the image side must be a multiple of the stride ({stride}), and the stride at least 2")
    floor = 1e-3 * float(magnitude.max()) + 1e-12
    offsets = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if (dy, dx) != (0, 0)]
    strongest = 0.0
    for k in (k for k in range(1, stride) if math.gcd(k, stride) == 1):
        for fy, fx in ((k * h // stride, 0), (0, k * w // stride), (k * h // stride, k * w // stride)):
            around = np.mean([magnitude[(fy + dy) % h, (fx + dx) % w] for dy, dx in offsets])
            strongest = max(strongest, magnitude[fy, fx] / (around + floor))
    return float(strongest)


def coverage_1d_stack_closed_form(size: int, layers: list[tuple[int, int, int]]) -> np.ndarray:
    """Counts along one axis for a stack, by matrix algebra instead of autograd: each layer is
    an (outputs x inputs) 0/1 matrix of which inputs each window holds; a pixel's count is
    the number of paths from it to any output, 1^T A_L ... A_1."""
    total = None
    for kernel, stride, padding in layers:
        outputs = output_size(size, kernel, stride, padding)
        windows = np.zeros((outputs, size), dtype=np.int64)
        for j in range(outputs):
            start = j * stride - padding
            windows[j, max(0, start) : max(0, start + kernel)] = 1
        total = windows if total is None else windows @ total
        size = outputs
    paths = np.ones(total.shape[0], dtype=np.int64) @ total
    return paths
