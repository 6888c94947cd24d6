"""What one lab training step holds in memory against models.spec.training_memory_mb, the
estimate the lab checks before it queues a run: the peak resident memory a training step adds
(fresh process per net and batch, float32 on the CPU) and its ratio to the estimate.

    python bench/lab_memory.py
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.spec import GAP_PRESET, INPUT_SHAPES, RESNET20_PRESET  # noqa: E402

WIDE = [{"type": "conv", "out": 512, "kernel": 1}] + [{"type": "relu"}] * 20 + [{"type": "conv", "out": 10, "kernel": 1},
                                                                               {"type": "gap"}]
NETS = {"GAP preset (MNIST)": (GAP_PRESET, "mnist"), "ResNet-20 preset (CIFAR-10)": (RESNET20_PRESET, "cifar10"),
        "512 channels, 20 ReLUs (MNIST)": (WIDE, "mnist")}
RUNS = [("GAP preset (MNIST)", 128), ("GAP preset (MNIST)", 512), ("ResNet-20 preset (CIFAR-10)", 128),
        ("ResNet-20 preset (CIFAR-10)", 512), ("512 channels, 20 ReLUs (MNIST)", 32),
        ("512 channels, 20 ReLUs (MNIST)", 128)]


def one_step(name: str, batch: int) -> None:
    """Two SGD steps at `batch`; prints the peak resident memory they added, in MB."""
    import torch

    from models import build

    spec, dataset = NETS[name]
    shape = INPUT_SHAPES[dataset]
    torch.manual_seed(0)
    net = build("spec", layers=spec, input_shape=list(shape))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    images, labels = torch.randn(batch, *shape), torch.randint(0, 10, (batch,))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for _ in range(2):
        loss = torch.nn.functional.cross_entropy(net(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before)


def main() -> None:
    from models.spec import training_memory_mb

    print(f"{'net':32} {'batch':>5} {'estimate MB':>11} {'measured MB':>11} {'ratio':>6}")
    for name, batch in RUNS:
        spec, dataset = NETS[name]
        estimate = training_memory_mb(spec, INPUT_SHAPES[dataset], batch)
        measured = float(subprocess.run([sys.executable, __file__, "--one", name, str(batch)], check=True,
                                        capture_output=True, text=True,
                                        env={**os.environ, "OMP_NUM_THREADS": "1"}).stdout)
        print(f"{name:32} {batch:5} {estimate:11,.0f} {measured:11,.0f} {measured / estimate:6.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one_step(sys.argv[2], int(sys.argv[3]))
    else:
        main()
