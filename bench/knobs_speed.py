"""The training-knob pages' live experiments, timed as the pages run them: each one a job on
the training worker (models.knobs.run_live with the page's default settings), polled once a
second like the page's fragment. Target (issue 24): each <= 30 s on a 2-core CPU.

    CNN_LAB_DATA=../shared/data python bench/knobs_speed.py [--threads N] [experiment ...]

Prints, per experiment: seconds from the click (job submitted) to the poll that sees it done, the
CPU seconds this process spent meanwhile, and the load average around it (other processes on the
machine slow every figure down: compare them with the load).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The page's default settings of each live experiment.
EXPERIMENTS = {
    "lr_sweep": {"lrs": [0.001, 0.05, 5.0, 1000.0]},
    "lr_range_test": {},
    "batch_sweep": {"scale_lr": False},
    "regularisation": {"variants": ["none", "augmentation"], "epochs": 10},
    "normalisation": {"batch_norm": True},
    "symmetry": {},
    "activations": {"epochs": 1},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("experiments", nargs="*", default=list(EXPERIMENTS))
    parser.add_argument("--threads", type=int, help="the worker's torch threads (CNN_LAB_TRAIN_THREADS; default: every core)")
    args = parser.parse_args()
    if args.threads:
        os.environ["CNN_LAB_TRAIN_THREADS"] = str(args.threads)

    from models import budget, data, knobs
    from models.jobs import FINISHED, training_threads, worker
    from models.train import default_device

    data.load("mnist", True), data.load("mnist", False)   # the app has them decoded after the first run
    print(f"{os.cpu_count()} cores, worker threads {training_threads()}, device {default_device()}, "
          f"live budget {budget.LIVE_BUDGET:,} image-steps")
    for name in args.experiments:
        settings = EXPERIMENTS[name]
        load_before = os.getloadavg()[0]
        cpu = time.process_time()
        clicked = time.perf_counter()

        def work(ctx, name=name, settings=settings):
            return knobs.run_live(name, on_progress=lambda p: ctx.report(**p), stop=ctx.stop, **settings)

        job = worker().submit(f"bench {name}", "bench", work)
        while job.status not in FINISHED:
            time.sleep(1.0)   # the page's fragment polls once a second
        seen = time.perf_counter() - clicked
        if job.error:
            raise SystemExit(f"{name} failed: {job.error}")
        result = job.result
        runs = result.get("runs")
        summary = (", ".join(f"{run['label']}: {run['test_accuracy']:.1%}" if run.get("test_accuracy") is not None
                             else f"{run['label']}: {run.get('why') or 'n/a'}" for run in runs)
                   if runs else f"chosen lr {result.get('chosen_lr'):.2g} after {result.get('steps')} steps")
        print(f"{name:15s} {seen:6.1f} s in the page · {time.process_time() - cpu:6.1f} CPU s · "
              f"{knobs.live_work(name, **settings):,} image-steps · load {load_before:.1f} → {os.getloadavg()[0]:.1f} · "
              f"{summary}", flush=True)


if __name__ == "__main__":
    main()
