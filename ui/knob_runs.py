"""What the training-knob pages share: their shipped sweeps (checkpoints/knobs/*.json) and the
one place where a page's live experiment is started on the worker and followed."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from models import budget, knobs
from models.knobs_shipped import load_shipped
from ui import jobs


@st.cache_data(show_spinner=False)
def shipped(name: str) -> dict | None:
    """A shipped sweep, or None (the page then offers only the live run)."""
    return load_shipped(name)


def shipped_caption(stored: dict, what: str) -> str:
    return (f"{what} Computed with `{stored['command']}` on {stored['machine']} in {stored['seconds']:.0f} s "
            "(checkpoints/knobs/).")


def live(slot: str, label: str, name: str, experiment: str, settings: dict, show_result: Callable[[dict], None],
         show_progress: Callable[[dict], None] | None = None) -> None:
    """A button that runs `experiment` (models.knobs.run_live) with `settings` on the worker, and
    the panel that follows it: live progress, then `show_result(result)`."""
    try:
        budget.check_budget(knobs.live_work(experiment, **settings), name)
    except budget.BudgetError as error:
        st.error(f"This run is larger than a live run may be: {error}.")
        return

    def make_work():
        def work(ctx):
            return knobs.run_live(experiment, on_progress=lambda progress: ctx.report(**progress), stop=ctx.stop,
                                  **settings)
        return work

    jobs.train_button(slot, label, name, make_work, needs=["mnist"])
    jobs.follow(slot, show_result, lambda p: f"{p.get('run', 'starting')}", show_progress)
