"""Long work (training) outside Streamlit's script threads: one worker per server process
runs one job at a time from a queue, so the GPU is never shared by two trainings and a
page's rerun never starts a second copy of its run.

A job is a function of a JobContext. It reports progress with `ctx.report(...)` and checks
`ctx.should_stop()` between steps; that turns true when someone stops the job or when the
page that started it stopped polling (it calls `job.heartbeat()` on every poll). The worker
never calls streamlit; pages read `job.snapshot()`."""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

QUEUED, RUNNING, DONE, STOPPED, FAILED = "queued", "running", "done", "stopped", "failed"
FINISHED = (DONE, STOPPED, FAILED)


@dataclass
class Job:
    id: int
    name: str
    owner: str
    function: Callable[["JobContext"], Any]
    heartbeat_timeout: float
    status: str = QUEUED
    progress: dict = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    last_heartbeat: float = field(default_factory=time.monotonic)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def heartbeat(self) -> None:
        """The page that follows this job is still there."""
        self.last_heartbeat = time.monotonic()

    def abandoned(self) -> bool:
        return time.monotonic() - self.last_heartbeat > self.heartbeat_timeout

    def snapshot(self) -> dict:
        """A copy that a page can show without racing the worker."""
        return {"id": self.id, "name": self.name, "owner": self.owner, "status": self.status,
                "progress": dict(self.progress), "error": self.error,
                "seconds": (self.finished_at or time.monotonic()) - self.started_at if self.started_at else 0.0}


class JobContext:
    def __init__(self, job: Job) -> None:
        self._job = job

    def report(self, **progress) -> None:
        self._job.progress = {**self._job.progress, **progress}

    def should_stop(self) -> bool:
        return self._job.stop_event.is_set() or self._job.abandoned()

    @property
    def stop_event(self) -> threading.Event:
        """For code that wants an Event-like stop signal (models.train.train): set when the job
        is stopped or abandoned, checked with is_set()."""
        return _StopSignal(self)


class _StopSignal:
    def __init__(self, context: JobContext) -> None:
        self._context = context

    def is_set(self) -> bool:
        return self._context.should_stop()


class Worker:
    def __init__(self) -> None:
        self._queue: deque[Job] = deque()
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self.running: Job | None = None
        self.log: list[tuple[int, float, float]] = []   # (job id, started, finished): the record of who ran when
        self._thread = threading.Thread(target=self._loop, name="cnn-lab-worker", daemon=True)
        self._thread.start()

    def submit(self, name: str, owner: str, function: Callable[[JobContext], Any],
               heartbeat_timeout: float = 15.0) -> Job:
        with self._lock:
            job = Job(next(self._ids), name, owner, function, heartbeat_timeout)
            self._jobs[job.id] = job
            self._queue.append(job)
            self._lock.notify()
            return job

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def stop(self, job_id: int) -> None:
        """Stop a running job (at its next step) or take a queued one off the queue."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status in FINISHED:
                return
            job.stop_event.set()
            if job.status == QUEUED:
                self._queue.remove(job)
                job.status, job.finished_at = STOPPED, time.monotonic()

    def move_up(self, job_id: int) -> None:
        """Let a queued job run one place earlier."""
        with self._lock:
            for position, job in enumerate(self._queue):
                if job.id == job_id and position > 0:
                    self._queue[position - 1], self._queue[position] = job, self._queue[position - 1]
                    return

    def queue_position(self, job_id: int) -> int | None:
        """1 for the next job to run; None when the job is not waiting."""
        with self._lock:
            for position, job in enumerate(self._queue, start=1):
                if job.id == job_id:
                    return position
        return None

    def queued(self) -> list[Job]:
        with self._lock:
            return list(self._queue)

    def _loop(self) -> None:
        _compute_with_threads(training_threads())
        while True:
            with self._lock:
                while not self._queue:
                    self._lock.wait()
                job = self._queue.popleft()
                job.status, job.started_at = RUNNING, time.monotonic()
                self.running = job
            try:
                if job.abandoned():
                    raise _Abandoned
                job.result = job.function(JobContext(job))
                job.status = STOPPED if job.stop_event.is_set() or job.abandoned() else DONE
            except _Abandoned:
                job.status = STOPPED
            except Exception as error:   # a failed job must not take the worker down
                job.status = FAILED
                job.error = _describe(error)
                traceback.print_exc()
            finally:
                job.finished_at = time.monotonic()
                with self._lock:
                    self.running = None
                    self.log.append((job.id, job.started_at, job.finished_at))
                _release_gpu_memory()


class _Abandoned(Exception):
    pass


def _describe(error: Exception) -> str:
    if "out of memory" in str(error).lower():
        return "the GPU ran out of memory: try a smaller batch or a smaller net"
    return f"{type(error).__name__}: {error}"


def _release_gpu_memory() -> None:
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def training_threads() -> int:
    """CPU threads the worker's jobs compute with: CNN_LAB_TRAIN_THREADS, by default every core.
    Page runs keep one thread each (app.py); training gets the cores they leave idle."""
    import os

    try:
        return max(1, int(os.environ.get("CNN_LAB_TRAIN_THREADS", "")))
    except ValueError:
        return os.cpu_count() or 1


def _compute_with_threads(threads: int) -> None:
    """Give the calling thread `threads` torch threads without changing what other threads get.
    torch.set_num_threads also sets the count that every thread started later copies on its
    first torch call (Streamlit starts one per page run), so a helper thread sets that back."""
    import torch

    def threads_of_a_new_thread(out: list) -> None:
        out.append(torch.get_num_threads())

    seen: list[int] = []
    probe = threading.Thread(target=threads_of_a_new_thread, args=(seen,))
    probe.start()
    probe.join()
    torch.get_num_threads()   # torch sets up a thread's count on its first call: let that happen first
    torch.set_num_threads(threads)
    restore = threading.Thread(target=torch.set_num_threads, args=(seen[0],))
    restore.start()
    restore.join()


_worker: Worker | None = None
_worker_lock = threading.Lock()


def worker() -> Worker:
    """The one worker of this process."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = Worker()
        return _worker
