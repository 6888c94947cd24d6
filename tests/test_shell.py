import threading
import time

from ui import shell


def test_the_gate_lets_a_few_page_runs_compute_at_once_and_frees_a_slot_on_errors(monkeypatch):
    slots = shell._computing._initial_value
    running, most, lock = [0], [0], threading.Lock()

    def page_run(url_path, run_page):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        run_page()

    def failing_page():
        raise RuntimeError("a page that fails (or st.stop / st.rerun, which raise too)")

    monkeypatch.setattr(shell, "_frame", page_run)
    errors = []

    def student(index):
        try:
            shell.frame("", failing_page if index % 3 == 0 else (lambda: None))
        except RuntimeError as error:
            errors.append(error)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(4 * slots)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert most[0] == slots                     # the gate was full, never over-full
    assert len(errors) == len(range(0, 4 * slots, 3))
    assert shell._computing.acquire(blocking=False)   # every slot came back, failures included
    shell._computing.release()
