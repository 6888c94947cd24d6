"""Long work (training) outside Streamlit's script threads: one worker per server process
runs one job at a time from a queue, so the GPU is never shared by two trainings and a
page's rerun never starts a second copy of its run.

A job is a function of a JobContext. It reports progress with `ctx.report(...)` and checks
`ctx.stop.is_set()` between steps (the one stop protocol: models.train.train and every other
experiment take that signal). The signal turns on when someone stops the job, or when none of
its owner's browser sessions has been connected for `grace` seconds (the page that started it
may be left for others: a job belongs to a person, not to a page). A finished job keeps its
result for its owner. The worker never calls streamlit; pages read `job.snapshot()`."""

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
GRACE_SECONDS = 180.0    # how long a job outlives the last connected session of its owner
KEEP_RESULTS_SECONDS = 3600.0   # how long a finished job's result waits for an owner who has gone
LOG_ENTRIES = 1000       # the worker's record keeps the latest runs
_LIVENESS_EVERY = 1.0    # seconds between two looks at whether the owner is still connected


@dataclass
class Job:
    id: int
    name: str
    owner: str                                   # who started it: a key that is the same for all their sessions
    function: Callable[["JobContext"], Any]
    owner_label: str = ""                        # how the queue shows the owner ("student #3fa1")
    slot: str = ""                               # the page's name for its run ("lab"): one live result per owner and slot
    page: str = ""                               # the URL path of the page that started it
    owner_connected: Callable[[], bool] | None = None   # None: the owner never goes away (scripts, benches)
    grace: float = GRACE_SECONDS
    status: str = QUEUED
    progress: dict = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    seen: bool = False                           # its owner has been shown how it ended
    _away_since: float | None = None
    _looked_at: float = 0.0

    def abandoned(self) -> bool:
        """True once no session of the owner has been connected for `grace` seconds."""
        return self.away_for() > self.grace

    def away_for(self) -> float:
        """Seconds since the owner's last session went away (0 while one is connected)."""
        if self.owner_connected is None:
            return 0.0
        now = time.monotonic()
        if now - self._looked_at >= _LIVENESS_EVERY:
            self._looked_at = now
            if self.owner_connected():
                self._away_since = None
            elif self._away_since is None:
                self._away_since = now
        return 0.0 if self._away_since is None else now - self._away_since

    def snapshot(self) -> dict:
        """A copy that a page can show without racing the worker."""
        return {"id": self.id, "name": self.name, "owner": self.owner_label or self.owner, "status": self.status,
                "progress": dict(self.progress), "error": self.error, "page": self.page,
                "seconds": (self.finished_at or time.monotonic()) - self.started_at if self.started_at else 0.0}


class JobContext:
    def __init__(self, job: Job) -> None:
        self._job = job
        self.stop = _StopSignal(job)

    def report(self, **progress) -> None:
        self._job.progress = {**self._job.progress, **progress}


class _StopSignal:
    """Set when the job is stopped or abandoned; checked with is_set(), like a threading.Event."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def is_set(self) -> bool:
        return self._job.stop_event.is_set() or self._job.abandoned()


class Worker:
    def __init__(self) -> None:
        self._queue: deque[Job] = deque()
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self.running: Job | None = None
        # (job id, started, finished): the record of who ran when
        self.log: deque[tuple[int, float, float]] = deque(maxlen=LOG_ENTRIES)
        self._thread = threading.Thread(target=self._loop, name="cnn-lab-worker", daemon=True)
        self._thread.start()

    def submit(self, name: str, owner: str, function: Callable[[JobContext], Any], *, owner_label: str = "",
               slot: str = "", page: str = "", owner_connected: Callable[[], bool] | None = None,
               grace: float = GRACE_SECONDS) -> Job:
        """Queue `function`. A new job in a slot replaces the owner's finished one there (its result
        is let go); a running or queued one there is stopped first."""
        with self._lock:
            self._let_go_of_left_results_locked()
            if slot:
                for earlier in [j for j in self._jobs.values() if j.owner == owner and j.slot == slot]:
                    self._stop_locked(earlier)
                    if earlier.status in FINISHED:
                        del self._jobs[earlier.id]
            job = Job(next(self._ids), name, owner, function, owner_label=owner_label, slot=slot, page=page,
                      owner_connected=owner_connected, grace=grace)
            self._jobs[job.id] = job
            self._queue.append(job)
            self._lock.notify()
            return job

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def find(self, owner: str, slot: str) -> Job | None:
        """The owner's latest job in `slot`, whichever session or page asks."""
        with self._lock:
            mine = [j for j in self._jobs.values() if j.owner == owner and j.slot == slot]
        return max(mine, key=lambda j: j.id, default=None)

    def jobs_of(self, owner: str) -> list[Job]:
        with self._lock:
            return sorted((j for j in self._jobs.values() if j.owner == owner), key=lambda j: j.id)

    def stop(self, job_id: int) -> None:
        """Stop a running job (at its next step) or take a queued one off the queue."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._stop_locked(job)

    def _let_go_of_left_results_locked(self) -> None:
        """Finished jobs whose owner has been gone for KEEP_RESULTS_SECONDS: nobody will look at them."""
        for job in [j for j in self._jobs.values() if j.status in FINISHED and j.away_for() > KEEP_RESULTS_SECONDS]:
            del self._jobs[job.id]

    def _stop_locked(self, job: Job) -> None:
        if job.status in FINISHED:
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
    """CPU threads the worker's jobs compute with: CNN_LAB_TRAIN_THREADS, by default all cores but
    one. Page runs keep one thread each (app.py). A thread team that shares its cores with page
    runs waits at every barrier for a thread the system parked: on 2 busy cores, the knob pages'
    runs took 12-82 s with 2 threads and 3-14 s with 1 (bench/knobs_speed.py)."""
    import os

    try:
        return max(1, int(os.environ.get("CNN_LAB_TRAIN_THREADS", "")))
    except ValueError:
        return max(1, (os.cpu_count() or 1) - 1)


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
