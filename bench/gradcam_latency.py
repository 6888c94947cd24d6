"""Latency of one Grad-CAM (captum LayerGradCam on a private copy of the model, upsampled to
the input) for one 32x32 CIFAR-10 image with the shipped ResNet-20, on the CPU (target:
<= 50 ms median on 2 cores); and, where the CIFAR-10 test set is present, how much of the
heatmap lies in the central quarter of correctly classified test images (0.25 = uniform).

    CNN_LAB_DATA=../shared/data python bench/gradcam_latency.py
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

from models import checkpoints, data  # noqa: E402
from models.gradcam import centre_share, gradcam  # noqa: E402
from models.inference import predict  # noqa: E402
from models.inputs import net_input  # noqa: E402


def main(repeats: int = 100) -> None:
    model, metadata = checkpoints.load(ROOT / "checkpoints" / "resnet20_cifar10.pt")
    rng = np.random.default_rng(0)
    images = [torch.from_numpy(rng.normal(size=(1, 3, 32, 32)).astype(np.float32)) for _ in range(10)]
    for x in images[:3]:
        gradcam(model, x, "layer3.2.relu2", 0)
    timings = []
    for i in range(repeats):
        start = time.perf_counter()
        gradcam(model, images[i % len(images)], "layer3.2.relu2", i % 10)
        timings.append((time.perf_counter() - start) * 1000)
    print(f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"Grad-CAM, ResNet-20, one 32x32 image, last stage: median {statistics.median(timings):.1f} ms, "
          f"p95 {np.percentile(timings, 95):.1f} ms over {repeats} calls (target <= 50 ms median)")
    try:
        test_set = data.load("cifar10", train=False)
    except data.DataError:
        return
    shares = []
    for index in range(len(test_set)):
        image, label = test_set.images[index].permute(1, 2, 0).numpy(), int(test_set.labels[index])
        x = net_input(image, metadata)
        if predict(model, x).top == label:
            shares.append(centre_share(gradcam(model, x, "layer3.2.relu2", label).heatmap))
        if len(shares) == 1000:
            break
    print(f"Grad-CAM mass in the central quarter, {len(shares)} correctly classified test images: "
          f"mean {np.mean(shares):.3f} (uniform: 0.250)")


if __name__ == "__main__":
    main()
