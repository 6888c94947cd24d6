"""The architecture lab's Train button, timed: the course's GAP preset with the page's default
settings (batch 128, peak lr 0.05, SGD; models.lab.default_epochs: 15 epochs on a GPU, 2 on a CPU),
run as the page runs it — the job of models/lab.py on the training worker, followed by polling
once a second like the page's fragment. Targets: >= 99.4 % within 15 epochs and <= 10 s wall time on one H100 (issue 9); on
2 CPU cores, >= 98 % within 30 s (issue 18). Seconds to each accuracy are training seconds, test
evaluation included.

    CNN_LAB_DATA=../shared/data python bench/lab_speed.py [--epochs N] [--precision auto float32]

Prints the wall time from the click (job submitted) to the poll that sees it finished, the
training seconds, the epoch that first reached 99.4 % and the final test accuracy.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import data  # noqa: E402
from models.jobs import FINISHED, worker  # noqa: E402
from models.lab import default_epochs, lab_config, training_job  # noqa: E402
from models.spec import GAP_PRESET, describe  # noqa: E402
from models.train import PRECISIONS, default_device, device_name  # noqa: E402

TARGET = 0.994


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=default_epochs(), help="default: the page's on this device")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--limit", type=int, help="train on the first N images (quick checks only)")
    parser.add_argument("--clicks", type=int, choices=(1, 2), default=2, help="clicks per precision (1: the first only)")
    parser.add_argument("--precision", nargs="+", choices=PRECISIONS, default=["auto"],
                        help="the page uses auto; name several (e.g. auto float32) to compare them in one run")
    args = parser.parse_args()
    device = default_device()
    name = device_name(device)
    parameters = sum(row["parameters"] for row in describe(GAP_PRESET, (1, 28, 28)))
    print(f"lab GAP preset ({parameters:,} parameters) on {name}, torch {torch.__version__}")
    data.load("mnist", True), data.load("mnist", False)   # the app has them cached after the first page

    precisions = [precision for precision in args.precision for _ in range(args.clicks)]
    for click, precision in enumerate(precisions, 1):
        attempt = f"click {click}, precision {precision}" + (" (cold: kernels load)" if click == 1 else "")
        config = replace(lab_config(args.epochs, args.batch_size, args.lr), precision=precision)
        clicked = time.perf_counter()
        job = worker().submit("lab bench", "bench", training_job(GAP_PRESET, "mnist", (1, 28, 28), config, args.limit))
        while True:
            if job.status in FINISHED:
                break
            time.sleep(1.0)   # the page's fragment polls once a second
        seen = time.perf_counter() - clicked
        if job.error:
            raise SystemExit(f"the job failed: {job.error}")
        result = job.result["result"]

        def first(target: float) -> str:
            row = next((r for r in result.history if r["test_accuracy"] >= target), None)
            return f"{target:.1%} at epoch {row['epoch']} ({row['seconds']:.1f} s)" if row else f"{target:.1%} never"

        print(f"{attempt}: finished in the page after {seen:.1f} s (training {result.seconds:.1f} s, "
              f"{result.precision}); test accuracy {result.test_accuracy:.2%} after {len(result.history)} epochs; "
              f"first reached: {first(0.98)}, {first(0.99)}, {first(TARGET)}")


if __name__ == "__main__":
    main()
