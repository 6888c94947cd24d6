"""The one layout the app's charts share: the title at the top left, a tight frame, the legend in a
row above the plot.

It is set on each figure here rather than registered as a plotly template because Streamlit's
theme rewrites a figure's template in the browser."""

from __future__ import annotations

import plotly.graph_objects as go

TITLE_SIZE = 15
PANEL_TITLE_SIZE = 14      # the title of a small picture that sits beside others
LEGEND_ROW = dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right")   # a band under the title
# A log axis labelled at the powers of ten only, written out (0.01, 0.1, 1): plotly's default also
# labels 2 and 5 of every decade and writes 0.0001 as "100μ".
LOG_AXIS = dict(type="log", dtick=1, exponentformat="none")


def frame(fig: go.Figure, title: str, height: int, **options) -> go.Figure:
    """Title, height and margins set on `fig` (the options are layout_of's)."""
    fig.update_layout(**layout_of(title, height, **options))
    return fig


def layout_of(title: str, height: int, *, panel: bool = False, edge: bool = False, legend_row: bool = False,
              top: int | None = None, **layout) -> dict:
    """The shared layout as a plain dict, for figures built from dicts (validated once, when
    built: a second pass through update_layout costs a few ms on every rerun). `panel`: the
    smaller title of a picture among others. `edge`: a picture or grid that runs to the sides
    and bottom (no margin there). `legend_row`: the legend in a row of its own between the title
    and the plot, so a long title never runs under it. `top`: the pixels above the plot, when
    subplot titles need more."""
    side = 0 if edge else 10
    if legend_row:
        layout["legend"] = {**LEGEND_ROW, **layout.get("legend", {})}
    if top is None:
        top = 64 if legend_row else (36 if panel else 40) if title else side
    title_layout = dict(text=title, x=0, font=dict(size=PANEL_TITLE_SIZE if panel else TITLE_SIZE))
    if legend_row:   # the title at the very top, so the legend's row fits under it
        title_layout.update(y=1, yref="container", yanchor="top", pad=dict(t=8))
    return dict(title=title_layout, height=height, margin=dict(l=side, r=side, t=top, b=side), **layout)
