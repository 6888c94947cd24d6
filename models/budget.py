"""How much one live experiment (a page's button) may train: checked before anything is built."""

from __future__ import annotations

# The most work one live experiment may ask for: training images x epochs, summed over its runs
# (about 15 s of the GAP net on 2 CPU cores; on a GPU, a second or two).
LIVE_BUDGET = 40_000


class BudgetError(ValueError):
    """A live experiment asks for more work than LIVE_BUDGET allows."""


def check_budget(work: int, what: str, budget: int | None = LIVE_BUDGET) -> None:
    if budget is not None and work > budget:
        raise BudgetError(f"{what} would train {work:,} image-steps; a live run may take at most {budget:,}")
