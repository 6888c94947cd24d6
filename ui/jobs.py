"""The one way a page runs long work: a Train button that checks what the run needs and queues
it on the process's worker (models.jobs), and a panel that follows it — queue position, a
progress bar and a Stop button while it runs, the result when it is done.

A job belongs to the browser that started it, not to a page or a tab: its owner may look at
other pages (each shows a "running" line linking back) or reload, and the run goes on; it is
stopped by its owner or the teacher, or once none of the owner's sessions has been connected
for models.jobs.GRACE_SECONDS. Pages find their run by a slot name ("lab"); no job id is kept in
session state or travels in a link, and a session sees only its owner's jobs."""

from __future__ import annotations

import threading
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from models import data
from models.jobs import DONE, FAILED, FINISHED, QUEUED, RUNNING, GRACE_SECONDS, Job, JobContext, worker
from ui import teacher
from ui.browser import me, session_id

Work = Callable[[JobContext], Any]
ROOT = Path(__file__).resolve().parents[1]

_sessions_lock = threading.Lock()
_sessions_of: dict[str, set[str]] = {}      # owner -> the session ids seen for that browser


def owner_label() -> str:
    """How the worker's queue shows this browser: "teacher" or "student", and a short tag that
    tells people apart without showing any id."""
    role = "teacher" if teacher.configured_key() and teacher.is_teacher() else "student"
    return f"{role} #{me()[:4]}"


def note_session() -> None:
    """Called on every page run (ui.shell): this session is one of its owner's."""
    with _sessions_lock:
        _sessions_of.setdefault(me(), set()).add(session_id())
    st.session_state["_downloads_offered"] = set()   # a page offers each missing dataset once per run


def session_connected(session_id: str) -> bool:
    from streamlit.runtime import Runtime

    return Runtime.exists() and Runtime.instance().is_active_session(session_id)


def _owner_connected(owner: str) -> Callable[[], bool]:
    def connected() -> bool:
        with _sessions_lock:
            sessions = list(_sessions_of.get(owner, ()))
        return any(session_connected(session) for session in sessions)
    return connected


def current_page() -> str:
    return st.session_state.get("_page_url_path", "")


def start(slot: str, name: str, work: Work) -> bool:
    """Queue `work` under `name` for this browser if it may train (a message on the page
    otherwise). Its earlier run in `slot` is stopped, and its result let go."""
    if not teacher.allowed("Starting a training run"):
        return False
    owner = me()
    worker().submit(name, owner, work, owner_label=owner_label(), slot=slot, page=current_page(),
                    owner_connected=_owner_connected(owner), grace=GRACE_SECONDS)
    return True


def find(slot: str) -> Job | None:
    return worker().find(me(), slot)


def train_button(slot: str, label: str, name: str, make_work: Callable[[], Work],
                 needs: Sequence[str] = (), help: str | None = None) -> None:
    """The page's button that starts a run. `needs`: the datasets the run trains on; where one is
    missing, the page says how to add it (and offers the download) instead of a button that
    cannot work. `make_work` is called only on a click."""
    missing = [dataset for dataset in needs if not data.full_data_present(dataset)]
    if missing:
        offered = st.session_state.setdefault("_downloads_offered", set())
        for dataset in missing:
            if dataset in offered:
                st.caption(f"This run also needs the full {data.TITLES[dataset]}: see above for how to add it.")
            else:
                offered.add(dataset)
                offer_download(dataset)
        return
    if st.button(label, key=f"{slot}_train", icon=":material/play_arrow:", help=help):
        start(slot, name, make_work())


def offer_download(dataset: str) -> None:
    """Where a full dataset is missing: what to do, and a button that fetches it on the worker."""
    from models.download import download, download_size

    title = data.TITLES[dataset]
    st.warning(data.missing_data_message(dataset))
    slot = f"download_{dataset}"
    if st.button(f"Download {title} here ({download_size(dataset)})", key=f"{slot}_train",
                 icon=":material/download:", help="Needs internet; fails at once without it."):
        start(slot, f"download {title}", lambda ctx: download(dataset, data.data_root(), ctx.report, ctx.stop))
    follow(slot, lambda folder: st.success(f"{title} is now in {folder}. Reload the page to train."),
           lambda p: f"downloading {p.get('file', title)}")


def follow(slot: str, show_result: Callable[[Any], None], progress_text: Callable[[dict], str],
           show_progress: Callable[[dict], None] | None = None) -> None:
    """Show this browser's run in `slot`: waiting, running (polled every second, with
    `show_progress(progress)` drawing live charts if given) or finished."""
    job = find(slot)
    if job is None:
        return
    active = job.status in (QUEUED, RUNNING)

    @st.fragment(run_every=1.0 if active else None)
    def panel() -> None:
        status = job.status
        if active and status not in (QUEUED, RUNNING):
            st.rerun(scope="app")   # finished since the last poll: draw the result once, stop polling
        if status == QUEUED:
            running = worker().running
            busy = f"with “{running.name}”" if running else ""
            st.info(f"The worker is busy {busy}: your run is number {worker().queue_position(job.id)} in the queue.")
        elif status == RUNNING:
            snapshot = job.snapshot()
            progress = snapshot["progress"]
            if "phase" in progress and "fraction" not in progress:
                st.info(f"{progress['phase']} · {snapshot['seconds']:.0f} s")
            else:
                fraction = progress.get("fraction", 0.0)
                remaining = (f", about {snapshot['seconds'] / fraction * (1 - fraction):.0f} s to go"
                             if fraction > 0 else "")
                st.progress(min(1.0, fraction),
                            text=f"{progress_text(progress)} · {snapshot['seconds']:.0f} s{remaining}")
                if show_progress is not None:
                    show_progress(progress)
        if status in (QUEUED, RUNNING):
            if st.button("Stop", key=f"{slot}_stop", icon=":material/stop:"):
                worker().stop(job.id)
        elif status == DONE:
            job.seen = True
            show_result(job.result)
        elif status == FAILED:
            job.seen = True
            st.error(f"The run failed: {job.error}")
        else:
            job.seen = True
            st.warning(job.progress.get("stopped_because", "The run was stopped before it finished."))

    panel()


def own_jobs_line() -> None:
    """On every page: a line for each of this browser's runs that another page started and whose
    result it has not shown yet, with a link to that page."""
    from ui.navigation import BY_PATH

    here = current_page()
    for job in worker().jobs_of(me()):
        if job.page == here or job.page not in BY_PATH or (job.status in FINISHED and getattr(job, "seen", False)):
            continue
        fraction = job.progress.get("fraction")
        state = {QUEUED: "waiting", RUNNING: "running" + (f", {fraction:.0%}" if fraction else ""),
                 DONE: "finished", FAILED: "failed"}.get(job.status, "stopped")
        page = BY_PATH[job.page]
        st.page_link(str(ROOT / page.file), label=f"{job.name}: {state}. Open {page.title} to see it.",
                     icon=":material/model_training:")
