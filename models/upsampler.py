"""Two tiny upsamplers for the checkerboard experiment (Odena et al. 2016): 14x14 -> 28x28
MNIST reconstruction with a stride-2 transposed convolution, or with nearest-neighbour
resizing followed by a convolution."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from models import seeded
from models.data import ImageSet
from models.train import StopSignal

UPSAMPLERS = ("transposed conv", "resize + conv")


class Upsampler(nn.Module):
    def __init__(self, mode: str, width: int = 16, kernel: int = 3) -> None:
        super().__init__()
        if mode not in UPSAMPLERS:
            raise ValueError(f"mode must be one of {UPSAMPLERS}")
        self.encode = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU())
        if mode == "transposed conv":
            padding = (kernel - 1) // 2
            self.up = nn.ConvTranspose2d(width, width, kernel, stride=2, padding=padding,
                                         output_padding=2 + 2 * padding - kernel)
        else:
            self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                    nn.Conv2d(width, width, kernel, padding=kernel // 2))
        self.decode = nn.Sequential(nn.ReLU(), nn.Conv2d(width, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.up(self.encode(x)))


def halve(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> float (N, 1, 14, 14) in [0, 1]: the upsampler's input."""
    return F.avg_pool2d(images.float() / 255, 2)


def train_upsampler(mode: str, data: ImageSet, steps: int, seed: int = 0, batch_size: int = 64,
                    kernel: int = 3, device: torch.device | str = "cpu",
                    on_step: Callable[[int], None] | None = None,
                    stop: StopSignal | None = None) -> tuple[Upsampler, list[float]]:
    """A few hundred Adam steps of mean-squared reconstruction on `device`; returns the model
    (eval mode, on the CPU) and the loss per step. The batches depend only on the seed.
    `on_step(step)` is called after each step; `stop.is_set()` ends the run early."""
    generator = torch.Generator().manual_seed(seed)
    model = seeded(lambda: Upsampler(mode, kernel=kernel), seed).to(device)
    images = data.images.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in range(steps):
        if stop is not None and stop.is_set():
            break
        batch = torch.randint(0, len(data), (batch_size,), generator=generator).to(device)
        loss = F.mse_loss(model(halve(images[batch])), images[batch].float() / 255)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        if on_step is not None:
            on_step(step + 1)
    return model.cpu().eval(), [float(loss) for loss in losses]


def checkerboard_experiment(train_set: ImageSet, test_set: ImageSet, steps: int,
                            device: torch.device | str = "cpu", report: Callable[..., None] | None = None,
                            stop: StopSignal | None = None) -> dict:
    """Train both upsamplers with the same batches; for each, the loss curve, four rebuilt
    test digits, and what it paints on a blank input before and after training, with the
    period-2 peak strength of that picture. Stopped early, the runs keep the steps done."""
    from models.strides import stride_peak_strength

    results = {}
    blank_input = torch.zeros(1, 1, 14, 14)
    for index, mode in enumerate(UPSAMPLERS):
        def on_step(step: int, index: int = index, mode: str = mode) -> None:
            if report is not None:
                report(mode=mode, step=step, fraction=(index * steps + step) / (len(UPSAMPLERS) * steps))

        untrained, _ = train_upsampler(mode, train_set, 0)
        net, losses = train_upsampler(mode, train_set, steps, device=device, on_step=on_step,
                                      stop=stop)
        with torch.no_grad():
            blank = net(blank_input)[0, 0].numpy()
            blank_untrained = untrained(blank_input)[0, 0].numpy()
            digits = net(halve(test_set.images[:4]))[:, 0].numpy()
        results[mode] = {"losses": losses, "digits": digits, "blank": blank, "blank_untrained": blank_untrained,
                         "peak": stride_peak_strength(blank, 2),
                         "peak_untrained": stride_peak_strength(blank_untrained, 2)}
    return results
