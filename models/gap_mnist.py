"""The course's GAP MNIST net: 3x3 conv blocks, a 1x1 transition after max-pooling, and a
1x1 conv + global average pooling head instead of a fully connected layer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from models.dropout import Dropout


# The non-linearities a block can use (None: none at all). Each builds the module for a
# layer of `channels` channels (PReLU learns one slope per channel, starting at 0.25).
ACTIVATIONS: dict[str, Callable[[int], nn.Module]] = {
    "relu": lambda channels: nn.ReLU(),
    "leaky_relu": lambda channels: nn.LeakyReLU(0.01),
    "prelu": lambda channels: nn.PReLU(channels),
    "elu": lambda channels: nn.ELU(),
    "swish": lambda channels: nn.SiLU(),
    "sigmoid": lambda channels: nn.Sigmoid(),
    "tanh": lambda channels: nn.Tanh(),
    "none": lambda channels: nn.Identity(),
}


class ConvBlock(nn.Sequential):
    """conv (3x3 by default, no bias when BN follows) -> BatchNorm -> ReLU (or another
    activation from ACTIVATIONS) -> Dropout."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        padding: int = 0,
        batch_norm: bool = True,
        dropout: float = 0.0,
        activation: str = "relu",
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=not batch_norm)
        ]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(ACTIVATIONS[activation](out_channels))
        if dropout > 0:
            layers.append(Dropout(dropout))
        super().__init__(*layers)


class Transition(nn.Sequential):
    """2x2 max-pooling (or average pooling, which is linear), then a 1x1 conv that squeezes the
    channels."""

    def __init__(self, in_channels: int, out_channels: int, pool: str = "max") -> None:
        if pool not in ("max", "avg"):
            raise ValueError(f"pool must be 'max' or 'avg', not {pool!r}")
        super().__init__(
            nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2),
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
        )


class GapMnistNet(nn.Module):
    """28x28 grey digit -> log-probabilities of the 10 classes.

    Shapes with the default widths (8, 16, 8, 16):
    conv1 26x26x8 -> conv2 24x24x16 -> pool+1x1 12x12x8 -> conv3 10x10x16 -> conv4 8x8x16
    -> conv5 6x6x16 -> conv6 (padded) 6x6x16 -> 1x1 conv 6x6x10 -> GAP 10.
    Receptive field of one output of conv6: 22x22 pixels (models.receptive_field computes it).

    `activation` swaps ReLU for another function of ACTIVATIONS in every block; with
    activation="none" and pool="avg" nothing in the net is non-linear, and in eval mode it is
    one affine map of the input (models.knobs.linear_equivalent extracts it).
    """

    def __init__(
        self,
        widths: Sequence[int] = (8, 16, 8, 16),
        batch_norm: bool = True,
        dropout: float = 0.05,
        num_classes: int = 10,
        activation: str = "relu",
        pool: str = "max",
    ) -> None:
        super().__init__()
        c1, c2, c_transition, c3 = widths

        def block(cin: int, cout: int, padding: int = 0) -> ConvBlock:
            return ConvBlock(cin, cout, padding=padding, batch_norm=batch_norm, dropout=dropout,
                             activation=activation)

        self.conv1 = block(1, c1)
        self.conv2 = block(c1, c2)
        self.transition = Transition(c2, c_transition, pool)
        self.conv3 = block(c_transition, c3)
        self.conv4 = block(c3, c3)
        self.conv5 = block(c3, c3)
        self.conv6 = block(c3, c3, padding=1)
        self.classifier = nn.Conv2d(c3, num_classes, kernel_size=1)
        self.gap = nn.AdaptiveAvgPool2d(1)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores before the log-softmax."""
        x = self.conv1(x)
        x = self.conv2(x)
        x = self.transition(x)
        x = self.conv3(x)
        x = self.conv4(x)
        x = self.conv5(x)
        x = self.conv6(x)
        return torch.flatten(self.gap(self.classifier(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.logits(x), dim=1)


def gap_mnist(**kwargs) -> GapMnistNet:
    return GapMnistNet(**kwargs)
