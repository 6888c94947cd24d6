"""Dropout with a mask that is cheap to draw on a CPU.

torch's dropout draws one Mersenne-Twister number per value (`bernoulli_`), and on a 2-core CPU
that was 37 % of a GAP-net training step. Here one 64-bit random number gives the coin flips of
four values, 16 bits each, so p is rounded to a multiple of 1/65,536 (0.05 becomes 0.0500031)
and the survivors are scaled by 1/(1 - that p): the expected output still equals the input.
The rule is torch's (`bench/train_speed.py gap-mnist --dropout` times the two side by side);
evaluation, p of 0 or 1 and other devices (CUDA's dropout is fused and fast) use nn.Dropout itself.
"""

from __future__ import annotations

import torch
from torch import nn

LEVELS = 1 << 16    # the coin flips' resolution: 16 random bits per value


def rounded_p(p: float) -> float:
    """The drop probability the CPU mask actually uses for `p`."""
    return round(p * LEVELS) / LEVELS


class Dropout(nn.Dropout):
    """nn.Dropout (same arguments, same rule) whose training-mode mask is drawn four values per
    64-bit random number on a CPU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        threshold = round(self.p * LEVELS)   # a value whose 16 random bits fall below this is dropped
        if not self.training or self.inplace or x.device.type != "cpu" or not 0 < threshold < LEVELS:
            return super().forward(x)
        words = torch.empty((x.numel() + 3) // 4, dtype=torch.int64, device=x.device).random_(-2**63, None)
        draws = torch.empty_like(x, dtype=torch.int16)   # x's memory layout (channels_last), so the product streams
        draws.as_strided((x.numel(),), (1,)).copy_(words.view(torch.int16)[: x.numel()])   # uniform on [-32768, 32767]
        keep = (draws >= threshold - LEVELS // 2).to(x.dtype)
        return x * keep.mul_(LEVELS / (LEVELS - threshold))
