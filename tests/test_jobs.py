import threading
import time

from models.jobs import DONE, FAILED, QUEUED, RUNNING, STOPPED, Worker


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _steps(n, pause=0.01):
    def run(ctx):
        for step in range(n):
            if ctx.stop.is_set():
                return step
            ctx.report(step=step + 1)
            time.sleep(pause)
        return n
    return run


def test_a_job_runs_reports_and_keeps_its_result():
    worker = Worker()
    job = worker.submit("count", "teacher", _steps(5))
    _wait(lambda: job.status == DONE)
    assert job.result == 5 and job.snapshot()["progress"] == {"step": 5}
    assert job.snapshot()["seconds"] > 0


def test_jobs_queue_and_never_overlap():
    worker = Worker()
    release = threading.Event()
    first = worker.submit("first", "a", lambda ctx: release.wait(5))
    second = worker.submit("second", "b", _steps(3))
    _wait(lambda: first.status == RUNNING)
    assert second.status == QUEUED and worker.queue_position(second.id) == 1
    release.set()
    _wait(lambda: second.status == DONE)
    (id1, start1, end1), (id2, start2, end2) = worker.log
    assert (id1, id2) == (first.id, second.id) and end1 <= start2


def test_stopping_the_running_job_starts_the_next():
    worker = Worker()
    first = worker.submit("long", "a", _steps(10_000))
    second = worker.submit("short", "b", _steps(2))
    _wait(lambda: first.status == RUNNING and first.progress.get("step", 0) > 2)
    worker.stop(first.id)
    _wait(lambda: second.status == DONE)
    assert first.status == STOPPED and first.result < 10_000


def test_a_queued_job_can_be_taken_off_the_queue():
    worker = Worker()
    release = threading.Event()
    blocker = worker.submit("blocker", "a", lambda ctx: release.wait(5))
    _wait(lambda: blocker.status == RUNNING)
    queued = worker.submit("never", "b", _steps(1))
    worker.stop(queued.id)
    assert queued.status == STOPPED and worker.queue_position(queued.id) is None
    release.set()


def test_a_job_lives_while_its_owner_is_connected_and_stops_after_the_grace_period():
    worker = Worker()
    connected = threading.Event()
    connected.set()
    job = worker.submit("mine", "a", _steps(10_000), owner_connected=connected.is_set, grace=0.5)
    _wait(lambda: job.status == RUNNING)
    time.sleep(1.5)               # longer than the grace period, but the owner is still there
    assert job.status == RUNNING
    connected.clear()             # every session of the owner closed...
    time.sleep(0.3)
    assert job.status == RUNNING  # ...within the grace period it goes on
    _wait(lambda: job.status == STOPPED, timeout=5)
    assert job.result < 10_000


def test_a_new_run_in_a_slot_replaces_the_owners_earlier_one():
    worker = Worker()
    first = worker.submit("first", "a", _steps(10_000), slot="lab")
    _wait(lambda: first.status == RUNNING)
    other = worker.submit("other's", "b", _steps(1), slot="lab")
    second = worker.submit("second", "a", _steps(1), slot="lab")
    _wait(lambda: second.status == DONE)
    assert first.status == STOPPED and other.status == DONE
    assert worker.find("a", "lab") is second and worker.find("b", "lab") is other
    third = worker.submit("third", "a", _steps(1), slot="lab")
    _wait(lambda: third.status == DONE)
    assert worker.get(second.id) is None           # a finished result is let go when replaced
    assert [j.id for j in worker.jobs_of("a")] == [third.id]


def test_a_failing_job_is_reported_and_the_worker_goes_on():
    worker = Worker()

    def boom(ctx):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")

    failed = worker.submit("boom", "a", boom)
    after = worker.submit("after", "a", _steps(1))
    _wait(lambda: after.status == DONE)
    assert failed.status == FAILED and "ran out of memory" in failed.error


def test_a_queued_job_can_move_up():
    worker = Worker()
    release = threading.Event()
    blocker = worker.submit("blocker", "a", lambda ctx: release.wait(5))
    _wait(lambda: blocker.status == RUNNING)
    first = worker.submit("first", "b", _steps(1))
    second = worker.submit("second", "c", _steps(1))
    worker.move_up(second.id)
    assert [j.id for j in worker.queued()] == [second.id, first.id]
    release.set()
    _wait(lambda: len(worker.log) == 3)
    ran = [job_id for job_id, _, _ in worker.log]
    assert ran[1:] == [second.id, first.id]


def test_jobs_compute_with_the_training_threads_and_page_threads_keep_theirs(monkeypatch):
    import torch

    def threads_of_a_new_thread():
        seen = []
        thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        return seen[0]

    before = threads_of_a_new_thread()
    wanted = before + 1
    monkeypatch.setenv("CNN_LAB_TRAIN_THREADS", str(wanted))
    worker = Worker()
    job = worker.submit("threads", "teacher", lambda ctx: (torch.get_num_threads(), torch.ones(64, 64).sum().item(),
                                                           torch.get_num_threads()))
    _wait(lambda: job.status == DONE)
    assert job.result[0] == job.result[2] == wanted     # the job trains with the cores it was given
    assert threads_of_a_new_thread() == before          # a page run started now still gets its own count


def test_the_device_line_gives_the_thread_counts_the_settings_give(monkeypatch):
    import torch

    from ui.catalogue import page_threads, training_device

    monkeypatch.setenv("CNN_LAB_TRAIN_THREADS", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    if not torch.cuda.is_available():
        assert training_device() == "CPU (3 threads)"
    assert page_threads() == 1


def test_results_whose_owner_has_long_gone_are_let_go(monkeypatch):
    import models.jobs as jobs_module

    monkeypatch.setattr(jobs_module, "KEEP_RESULTS_SECONDS", 0.5)
    monkeypatch.setattr(jobs_module, "_LIVENESS_EVERY", 0.0)
    worker = Worker()
    here = threading.Event()
    here.set()
    gone = worker.submit("gone", "a", _steps(1), slot="lab", owner_connected=lambda: False)
    stays = worker.submit("stays", "b", _steps(1), slot="lab", owner_connected=here.is_set)
    _wait(lambda: gone.status == DONE and stays.status == DONE)
    assert gone.away_for() > 0 and stays.away_for() == 0
    time.sleep(0.6)
    worker.submit("next", "c", _steps(1))
    assert worker.get(gone.id) is None            # nobody is left to look at it
    assert worker.get(stays.id) is stays          # its owner is still here


def test_the_record_of_runs_keeps_the_latest(monkeypatch):
    import models.jobs as jobs_module

    monkeypatch.setattr(jobs_module, "LOG_ENTRIES", 3)
    worker = Worker()
    last = [worker.submit(f"run {i}", "a", _steps(1)) for i in range(5)][-1]
    _wait(lambda: last.status == DONE)
    _wait(lambda: len(worker.log) == 3 and worker.log[-1][0] == last.id)
