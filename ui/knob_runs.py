"""What the training-knob pages share: their shipped sweeps (checkpoints/knobs/*.json) and the
one place where a page's live experiment is started on the worker and followed."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from models import budget, knobs
from models.knobs_shipped import load_shipped
from models.train import accuracy_tie
from ui import jobs


@st.cache_data(show_spinner=False)
def shipped(name: str) -> dict | None:
    """A shipped sweep, or None (the page then offers only the live run)."""
    return load_shipped(name)


def best_and_worst(runs: list[dict], name: Callable[[dict], str], images: int) -> str:
    """Which of `runs` (with test accuracies measured on `images` test images) did best and worst,
    naming beside the best the runs too close to it to call apart: within the test set's sampling
    noise (models.train.accuracy_tie). "" for fewer than two runs."""
    done = sorted((run for run in runs if run["test_accuracy"] is not None), key=lambda run: -run["test_accuracy"])
    if len(done) < 2:
        return ""
    best, worst = done[0], done[-1]
    noise = accuracy_tie(best["test_accuracy"], images)
    level = [run for run in done if best["test_accuracy"] - run["test_accuracy"] <= noise]
    noise_words = f"the test set's sampling noise on {images:,} images"
    if len(level) == len(done):
        return (f"all {len(done)} runs ended within {100 * noise:.1f} points of each other ({worst['test_accuracy']:.1%} "
                f"to {best['test_accuracy']:.1%}), inside {noise_words}: these runs cannot tell them apart")
    text = f"**{name(best)}** did best ({best['test_accuracy']:.1%})"
    if len(level) > 1:
        text += (f", with {_and(f'**{name(run)}**' for run in level[1:])} within {100 * noise:.1f} points of it "
                 f"({noise_words}: too close to rank)")
    return text + f"; **{name(worst)}** did worst ({worst['test_accuracy']:.1%})"


def _and(words) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


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
