"""What every page runs inside: links applied before it, the sidebar, the presenter's bar,
and the page's state mirrored into the link after it; and a gate that lets only as many page
runs compute at once as there are cores."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import streamlit as st

from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from ui import jobs, lessons, links, projector
from ui.catalogue import sidebar, sidebar_device_line
from ui.inputs import limit_uploads
from ui.join import sidebar_join
from ui.teacher import sidebar_unlock


# A class's sessions all rerun at once. Interleaving thirty page runs on two cores makes each
# wait for all the others (and costs extra switching); letting them through a few at a time
# finishes most sooner. 30 students at once on 2 cores, p95: 5.0-5.7 s ungated, 3.2-3.5 s gated
# at 2 (bench/ws_load.py). Fragment reruns (a job's progress) do not pass through here.
_computing = threading.BoundedSemaphore(max(2, os.cpu_count() or 1))


def frame(url_path: str, run_page: Callable[[], object]) -> None:
    with _computing:
        _frame(url_path, run_page)


def _frame(url_path: str, run_page: Callable[[], object]) -> None:
    st.session_state["_page_url_path"] = url_path
    jobs.note_session()
    limit_uploads()
    links.keep_controls()
    links.open_link(url_path)   # before any widget: a link sets the widgets' values
    sidebar()
    sidebar_join()
    sidebar_unlock()
    link_slot = lessons.scene_panel(url_path)
    lessons.presenter_bar(url_path)
    links.show_link_problems()
    jobs.own_jobs_line()
    try:
        run_page()
    except StopException:   # the page stopped early (st.stop): its link still says what it shows
        _after_the_page(url_path, link_slot)
        raise
    except Exception as error:   # a value from a link or a lesson that the page cannot take
        if not links.drop_refused_values(error):
            raise
        st.rerun()
    _after_the_page(url_path, link_slot)


def _after_the_page(url_path: str, link_slot) -> None:
    links.page_got_through()
    projector.hide_chosen_controls(url_path)
    links.mirror_in_link(url_path, link_slot)   # the link, built once per run
    sidebar_device_line()   # last: it imports torch, which the first page a student sees may not need
