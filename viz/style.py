"""The one layout the app's charts share: the title at the top left, a tight frame, the legend in a
row above the plot.

It is set on each figure here rather than registered as a plotly template because Streamlit's
theme rewrites a figure's template in the browser."""

from __future__ import annotations

import plotly.graph_objects as go

TITLE_SIZE = 15
PANEL_TITLE_SIZE = 14      # the title of a small picture that sits beside others
LEGEND_ROW = dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right")   # a band under the title


def frame(fig: go.Figure, title: str, height: int, *, panel: bool = False, edge: bool = False,
          legend_row: bool = False, top: int | None = None, **layout) -> go.Figure:
    """Title, height and margins. `panel`: the smaller title of a picture among others. `edge`: a
    picture or grid that runs to the sides and bottom (no margin there). `legend_row`: the legend
    in a row of its own between the title and the plot, so a long title never runs under it.
    `top`: the pixels above the plot, when subplot titles need more."""
    side = 0 if edge else 10
    if legend_row:
        layout["legend"] = {**LEGEND_ROW, **layout.get("legend", {})}
    if top is None:
        top = 64 if legend_row else (36 if panel else 40) if title else side
    fig.update_layout(title=dict(text=title, x=0, y=1, yref="container", yanchor="top", pad=dict(t=8),
                                 font=dict(size=PANEL_TITLE_SIZE if panel else TITLE_SIZE)),
                      height=height, margin=dict(l=side, r=side, t=top, b=side), **layout)
    return fig
