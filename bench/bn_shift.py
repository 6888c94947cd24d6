"""Speed of the batch-norm page's twin runs: steps per second for both twins (GAP net and
sigmoid MLP), and what recording the activation distributions costs (recording on vs off,
same run otherwise). Target: recording adds < 25 % to the step time.

    CNN_LAB_DATA=../shared/data python bench/bn_shift.py [--steps 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import data  # noqa: E402
from models.bn_shift import TWINS, train_twins  # noqa: E402
from models.train import default_device, device_name  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--record-every", type=int, default=20)
    args = parser.parse_args()
    device = default_device()
    name = device_name(device)
    print(f"{name}, torch {torch.__version__}, {args.steps} steps, a snapshot every {args.record_every}")
    train_set, test_set = data.load("mnist", True), data.load("mnist", False)
    for kind in TWINS:
        seconds = {}
        for record in (False, True, False, True):   # alternate, keep the better of two
            start = time.perf_counter()
            train_twins(kind, train_set, test_set, args.steps, record_every=args.record_every, device=device,
                        record=record)
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds[record] = min(seconds.get(record, float("inf")), time.perf_counter() - start)
        print(f"{kind:32s} {args.steps / seconds[True]:7.1f} twin steps/s with recording, "
              f"{args.steps / seconds[False]:7.1f} without: recording costs "
              f"{(seconds[True] / seconds[False] - 1):+.0%} (target < +25%)")


if __name__ == "__main__":
    main()
