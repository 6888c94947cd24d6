"""Starting long work on the process's one worker (models.jobs) and following it from a page:
queue position, a progress bar and a Stop button while it runs, the result when it is done.
The page polls with a fragment; each poll tells the worker the page is still there."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from models.jobs import DONE, FAILED, QUEUED, RUNNING, JobContext, worker
from ui import teacher


def start(key: str, name: str, function: Callable[[JobContext], Any]) -> bool:
    """Queue `function` under `name` if this session may train; the page finds the job again
    by session-state `key`. False (with a message on the page) when it may not."""
    if not teacher.allowed("Starting a training run"):
        return False
    st.session_state[key] = worker().submit(name, owner_label(), function).id
    return True


def owner_label() -> str:
    """Who this session is, as the worker's queue shows it: "teacher" or "student", and a short
    tag that tells sessions apart without showing their ids."""
    context = get_script_run_ctx()
    tag = hashlib.sha256((context.session_id if context else "?").encode()).hexdigest()[:4]
    role = "teacher" if teacher.configured_key() and teacher.is_teacher() else "student"
    return f"{role} #{tag}"


def follow(key: str, show_result: Callable[[Any], None], progress_text: Callable[[dict], str],
           show_progress: Callable[[dict], None] | None = None) -> None:
    """Show the job started under `key`: waiting, running (polled every second, with
    `show_progress(progress)` drawing live charts if given) or finished."""
    job = worker().get(st.session_state.get(key, -1))
    if job is None:
        return
    active = job.status in (QUEUED, RUNNING)

    @st.fragment(run_every=1.0 if active else None)
    def panel() -> None:
        job.heartbeat()
        status = job.status
        if active and status not in (QUEUED, RUNNING):
            st.rerun(scope="app")   # finished since the last poll: draw the result once, stop polling
        if status == QUEUED:
            running = worker().running
            busy = f"with “{running.name}”" if running else ""
            st.info(f"The worker is busy {busy}: your run is number {worker().queue_position(job.id)} in the queue.")
        elif status == RUNNING:
            snapshot = job.snapshot()
            fraction = snapshot["progress"].get("fraction", 0.0)
            remaining = f", about {snapshot['seconds'] / fraction * (1 - fraction):.0f} s to go" if fraction > 0 else ""
            st.progress(min(1.0, fraction),
                        text=f"{progress_text(snapshot['progress'])} · {snapshot['seconds']:.0f} s{remaining}")
            if show_progress is not None:
                show_progress(snapshot["progress"])
        if status in (QUEUED, RUNNING) and teacher.is_teacher():
            if st.button("Stop", key=f"{key}_stop", icon=":material/stop:"):
                worker().stop(job.id)
        elif status == DONE:
            show_result(job.result)
        elif status == FAILED:
            st.error(f"The run failed: {job.error}")
        else:
            st.warning("The run was stopped before it finished.")

    panel()
