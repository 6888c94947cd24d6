"""Pictures for the step-by-step convolution page: small grids of numbers, and an output map
that fills in as the window moves."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from viz.feature_maps import DIVERGING
from viz.style import frame


def number_grid(values: np.ndarray, title: str, decimals: int = 3, height: int = 230) -> go.Figure:
    """A small 2-D array as coloured cells with its numbers written in (diverging around 0):
    whole numbers as they are, others to `decimals` places, so that the grids of one window
    (pixels × kernel = products) can be multiplied by eye."""
    values = np.asarray(values, dtype=float) + 0.0   # + 0.0: a product of 0 and −1 is −0, written "-0"
    top = float(np.abs(values).max()) or 1.0
    places = 0 if np.array_equal(values, np.round(values)) else decimals
    fig = go.Figure(go.Heatmap(
        z=values, colorscale=DIVERGING, zmin=-top, zmax=top, showscale=False,
        text=[[f"{v:.{places}f}" for v in row] for row in values], texttemplate="%{text}", textfont=dict(size=12),
        hovertemplate="row %{y}, col %{x}: %{z:.4f}<extra></extra>", xgap=2, ygap=2,
    ))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False, constrain="domain")
    return frame(fig, title, height, panel=True, edge=True, top=36)


def filling_output(output: np.ndarray, done: int, title: str, height: int = 300) -> go.Figure:
    """The output map with only its first `done` positions (row by row) filled in, the last
    one outlined: the picture of a convolution in progress."""
    output = np.asarray(output, dtype=float)
    h, w = output.shape
    shown = np.full(h * w, np.nan)
    shown[:done] = output.reshape(-1)[:done]
    top = float(np.abs(output).max()) or 1.0   # an all-zero map: a scale of ±1, not ±1 n
    fig = go.Figure(go.Heatmap(z=shown.reshape(h, w), colorscale=DIVERGING, zmin=-top, zmax=top,
                               colorbar=dict(thickness=10),
                               hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>"))
    if done > 0:
        row, col = divmod(done - 1, w)
        fig.add_shape(type="rect", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5,
                      line=dict(color="#111111", width=3))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False, constrain="domain")
    return frame(fig, title, height, panel=True, edge=True, top=36, plot_bgcolor="#f2f2f2")
