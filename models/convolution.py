"""One convolution, spelled out: output sizes, the window at each output position, its
products and sum, and parameter counts. The page computes every number it shows here, and
the tests hold it to `torch.nn.functional.conv2d`."""

from __future__ import annotations

from dataclasses import dataclass

import torch


class ConvSettingError(ValueError):
    """A kernel/stride/padding/dilation setting that cannot work; the message says why."""


def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """(N + 2P - D(F - 1) - 1) // S + 1, the output side for an input side N; with D = 1 this is
    the course's (N + 2P - F) / S + 1 rounded down."""
    if min(size, kernel, stride, dilation) < 1 or padding < 0:
        raise ConvSettingError("sizes, kernel, stride and dilation must be at least 1, padding at least 0")
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * padding:
        raise ConvSettingError(
            f"the kernel spans {span} pixels (kernel {kernel}, dilation {dilation}) but the padded "
            f"input is only {size} + 2×{padding} = {size + 2 * padding} wide: no position fits"
        )
    return (size + 2 * padding - span) // stride + 1


@dataclass(frozen=True)
class Window:
    """One output position: the input patch the kernel covers, the products, their sum."""

    row: int
    col: int
    patch: torch.Tensor      # (C_in, k, k): input values under the kernel (0 where padding)
    products: torch.Tensor   # (C_in, k, k): patch * kernel, element by element
    channel_sums: torch.Tensor   # (C_in,): the sum per input channel
    bias: float
    total: float             # sum of everything plus the bias: the output value


def window(
    x: torch.Tensor, kernel: torch.Tensor, bias: float, row: int, col: int,
    stride: int = 1, padding: int = 0, dilation: int = 1,
) -> Window:
    """The arithmetic of output position (row, col) for one output channel: x is (C_in, H, W),
    kernel is (C_in, k, k)."""
    k = kernel.shape[-1]
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    top, left = row * stride, col * stride
    rows = torch.arange(k) * dilation + top
    cols = torch.arange(k) * dilation + left
    patch = padded[:, rows[:, None], cols[None, :]]
    products = patch * kernel
    channel_sums = products.sum((1, 2))
    return Window(row, col, patch, products, channel_sums, float(bias), float(channel_sums.sum() + bias))


def convolve(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
    stride: int = 1, padding: int = 0, dilation: int = 1,
) -> torch.Tensor:
    """Convolution the slow way, window by window: x (C_in, H, W), weight (C_out, C_in, k, k)
    -> (C_out, H_out, W_out). What the page shows step by step."""
    k = weight.shape[-1]
    h_out = output_size(x.shape[1], k, stride, padding, dilation)
    w_out = output_size(x.shape[2], k, stride, padding, dilation)
    out = torch.zeros(weight.shape[0], h_out, w_out, dtype=x.dtype)
    for o in range(weight.shape[0]):
        b = float(bias[o]) if bias is not None else 0.0
        for row in range(h_out):
            for col in range(w_out):
                out[o, row, col] = window(x, weight[o], b, row, col, stride, padding, dilation).total
    return out


def conv_parameters(in_channels: int, out_channels: int, kernel: int, bias: bool = True) -> tuple[int, int]:
    """(weights, biases) of a conv layer: F×F×C_in weights per filter, one bias per filter."""
    return kernel * kernel * in_channels * out_channels, out_channels if bias else 0


def fc_parameters(in_features: int, out_features: int, bias: bool = True) -> tuple[int, int]:
    """(weights, biases) of a fully connected layer joining every input to every output."""
    return in_features * out_features, out_features if bias else 0


KERNEL_PRESETS = {
    "vertical edges (Sobel)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "horizontal edges (Sobel)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "blur (box)": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
}


def unseen_positions(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> list[int]:
    """The input positions along one side (0..size-1) that no window position ever reads. A
    pixel is never seen when its row or its column is one of them (windows cover rows and
    columns alike)."""
    out = output_size(size, kernel, stride, padding, dilation)
    seen = {p * stride - padding + dilation * i for p in range(out) for i in range(kernel)}
    return [x for x in range(size) if x not in seen]


def unseen_pixels(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """How many of the size×size input pixels no window position ever reads."""
    seen_per_side = size - len(unseen_positions(size, kernel, stride, padding, dilation))
    return size * size - seen_per_side * seen_per_side
