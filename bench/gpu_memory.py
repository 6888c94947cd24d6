"""GPU memory held before and after training jobs that end badly (issue 11): a run that is
stopped, a run that fails because the GPU ran out of memory, and a run whose owner went away
(no session of theirs connected for the grace period). Each goes through the training worker (models/jobs.py) the way the app's
jobs do; `torch.cuda.memory_allocated` / `memory_reserved` are read before the job, at its
peak, and after the worker finished it.

    CNN_LAB_DATA=../shared/data python bench/gpu_memory.py

Needs CUDA for the figures; on the CPU it runs the stopped and abandoned jobs (checking the
code path) and says that memory cannot be measured there.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.jobs import FINISHED, worker  # noqa: E402
from models.lab import training_job  # noqa: E402
from models.spec import GAP_PRESET  # noqa: E402
from models.train import TrainConfig  # noqa: E402

MIB = 2**20
# A net far too wide for its batch: every 512-channel 32x32 activation of 50,000 images is 50 GB.
TOO_BIG = [{"type": "conv", "out": 512, "kernel": 3, "padding": 1}, {"type": "bn"}, {"type": "relu"},
           {"type": "conv", "out": 512, "kernel": 3, "padding": 1}, {"type": "bn"}, {"type": "relu"},
           {"type": "conv", "out": 10, "kernel": 1}, {"type": "gap"}]


def memory() -> tuple[float, float]:
    if not torch.cuda.is_available():
        return float("nan"), float("nan")
    return torch.cuda.memory_allocated() / MIB, torch.cuda.memory_reserved() / MIB


def run(label: str, job_function, *, stop_after: float | None = None, owner_leaves: bool = False) -> None:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    before = memory()
    # An owner who leaves: no session of theirs is connected, and the grace period is 3 s.
    leaving = dict(owner_connected=lambda: False, grace=3.0) if owner_leaves else {}
    job = worker().submit(label, "bench", job_function, **leaving)
    started = time.perf_counter()
    while job.status not in FINISHED:
        if stop_after is not None and job.status == "running" and time.perf_counter() - started > stop_after:
            worker().stop(job.id)
        time.sleep(0.2)
    while worker().running is not None:   # the worker empties the cache right after the job
        time.sleep(0.05)
    time.sleep(0.2)
    peak = torch.cuda.max_memory_allocated() / MIB if torch.cuda.is_available() else float("nan")
    after = memory()
    job.result = None   # what a page drops when it forgets a finished run
    print(f"{label:<44} {job.status:<8} allocated {before[0]:8.1f} -> peak {peak:9.1f} -> after {after[0]:8.1f} MiB; "
          f"reserved {before[1]:8.1f} -> {after[1]:8.1f} MiB; {time.perf_counter() - started:5.1f} s"
          + (f"; says: {job.error}" if job.error else ""))


def main() -> None:
    cuda = torch.cuda.is_available()
    print(f"{torch.cuda.get_device_name(0) if cuda else 'CPU (no CUDA: memory figures are nan)'}, torch {torch.__version__}")
    if cuda:
        torch.zeros(1, device="cuda")   # CUDA context first, so it is not counted as the job's
    config = TrainConfig(epochs=30, batch_size=128, lr=0.05, weight_decay=1e-4)
    run("GAP preset, stopped after 3 s", training_job(GAP_PRESET, "mnist", (1, 28, 28), config), stop_after=3.0)
    run("GAP preset, owner gone (grace 3 s)", training_job(GAP_PRESET, "mnist", (1, 28, 28), config),
        owner_leaves=True)
    if cuda:
        huge = TrainConfig(epochs=1, batch_size=50_000, lr=0.05)
        run("512-channel net, batch 50,000: out of memory", training_job(TOO_BIG, "cifar10", (3, 32, 32), huge))
        run("GAP preset after the failure, stopped after 3 s",
            training_job(GAP_PRESET, "mnist", (1, 28, 28), config), stop_after=3.0)
    else:
        print("out-of-memory run skipped: it needs a GPU")


if __name__ == "__main__":
    main()
