"""Latency of "Draw a digit": from the canvas's RGBA image to the prediction (preprocess +
forward of the shipped GAP MNIST net) on the CPU. (Whole-page reruns: bench/page_reruns.py.)

    CNN_LAB_DATA=../shared/data python bench/draw_latency.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import checkpoints  # noqa: E402
from models.inference import predict  # noqa: E402
from models.inputs import ink_from_canvas, mnist_digit, net_input  # noqa: E402


def fake_canvas(rng: np.random.Generator) -> np.ndarray:
    """A 280x280 RGBA canvas with a thick random stroke, as the drawing canvas returns it."""
    canvas = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas[..., 3] = 255
    points = rng.integers(40, 240, (6, 2))
    for (ya, xa), (yb, xb) in zip(points, points[1:]):
        for t in np.linspace(0, 1, 60):
            y, x = int(ya + (yb - ya) * t), int(xa + (xb - xa) * t)
            canvas[max(0, y - 10) : y + 10, max(0, x - 10) : x + 10, :3] = 255
    return canvas


def canvas_to_prediction(repeats: int = 200) -> list[float]:
    model, metadata = checkpoints.load(ROOT / "checkpoints" / "gap_mnist.pt")
    rng = np.random.default_rng(0)
    canvases = [fake_canvas(rng) for _ in range(20)]
    for canvas in canvases[:5]:   # warm-up
        predict(model, net_input(mnist_digit(ink_from_canvas(canvas)), metadata))
    timings = []
    for i in range(repeats):
        canvas = canvases[i % len(canvases)]
        start = time.perf_counter()
        predict(model, net_input(mnist_digit(ink_from_canvas(canvas)), metadata))
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def main() -> None:
    print(f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}")
    latency = canvas_to_prediction()
    print(f"canvas -> prediction: median {statistics.median(latency):.1f} ms, "
          f"p95 {np.percentile(latency, 95):.1f} ms over {len(latency)} drawings (target <= 20 ms median)")


if __name__ == "__main__":
    main()
