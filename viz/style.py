"""The one layout the app's charts share: the title at the top left, a tight frame, the legend in a
row above the plot.

It is set on each figure here rather than registered as a plotly template because Streamlit's
theme rewrites a figure's template in the browser."""

from __future__ import annotations

import plotly.graph_objects as go

TITLE_SIZE = 15
PANEL_TITLE_SIZE = 14      # the title of a small picture that sits beside others
LEGEND_RIGHT = dict(orientation="h", y=1.12, x=1, xanchor="right")                # in the title's band
LEGEND_ABOVE = dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right")   # a band of its own


def frame(fig: go.Figure, title: str, height: int, *, panel: bool = False, edge: bool = False,
          top: int | None = None, **layout) -> go.Figure:
    """Title, height and margins. `panel`: the smaller title of a picture among others. `edge`: a
    picture or grid that runs to the sides and bottom (no margin there). `top`: the pixels above
    the plot, when the title shares them with a legend or subplot titles."""
    side = 0 if edge else 10
    if top is None:
        top = (36 if panel else 40) if title else side
    fig.update_layout(title=dict(text=title, x=0, font=dict(size=PANEL_TITLE_SIZE if panel else TITLE_SIZE)),
                      height=height, margin=dict(l=side, r=side, t=top, b=side), **layout)
    return fig
