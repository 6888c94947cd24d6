"""Feature maps, ReLU statistics and receptive fields as plotly figures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from viz.style import frame, layout_of

DIVERGING = "RdBu_r"    # signed values: blue negative, white zero, red positive
SEQUENTIAL = "Viridis"  # non-negative values: dark is zero


def map_grid(
    maps: np.ndarray,
    channels: Sequence[int],
    title: str,
    signed: bool,
    columns: int = 4,
    limit: float | None = None,
) -> go.Figure:
    """Channels of a (C, H, W) array side by side with one shared colour scale: diverging
    and centred on zero when `signed`, sequential from zero otherwise.

    Built as one plain figure dict (one heatmap and one pair of axes per channel): plotly's
    subplot helpers validate every property one update at a time, which made this chart
    about ten times slower, and it is drawn on every rerun of the feature-map page."""
    chosen = np.asarray(maps, dtype=float)[list(channels)]
    top = limit if limit is not None else max(float(np.abs(chosen).max()), 1e-6)
    count = len(channels)
    cols, rows = min(columns, count), -(-count // columns)
    gap_x, gap_y = 0.02, 0.06
    width, height = (1 - gap_x * (cols - 1)) / cols, (1 - gap_y * (rows - 1)) / rows
    layout = {
        "annotations": [],
        "coloraxis": {"colorscale": DIVERGING if signed else SEQUENTIAL, "cmin": -top if signed else 0,
                      "cmax": top, "colorbar": {"thickness": 12}},
    }
    data = []
    for i, channel in enumerate(channels):
        row, col = divmod(i, cols)
        left, top_edge = col * (width + gap_x), 1 - row * (height + gap_y)
        n = "" if i == 0 else str(i + 1)
        layout[f"xaxis{n}"] = {"domain": [left, left + width], "anchor": f"y{n}", "visible": False,
                               "constrain": "domain"}
        layout[f"yaxis{n}"] = {"domain": [top_edge - height, top_edge], "anchor": f"x{n}", "visible": False,
                               "autorange": "reversed", "scaleanchor": f"x{n}", "constrain": "domain",
                               "constraintoward": "top"}   # under its "ch" title, however wide the page
        data.append({"type": "heatmap", "z": chosen[i], "coloraxis": "coloraxis", "xaxis": f"x{n}",
                     "yaxis": f"y{n}", "hovertemplate": "row %{y}, col %{x}: %{z:.3f}<extra></extra>"})
        layout["annotations"].append({"text": f"ch {channel}", "x": left + width / 2, "y": top_edge,
                                      "xref": "paper", "yref": "paper", "yanchor": "bottom",
                                      "showarrow": False})
    layout.update(layout_of(title, 90 + 150 * rows, edge=True, top=60))
    return go.Figure({"data": data, "layout": layout})


def zero_share_chart(layer_names: Sequence[str], shares: Sequence[float], highlight: int | None = None) -> go.Figure:
    colours = ["#d62728" if i == highlight else "#1f77b4" for i in range(len(shares))]
    fig = go.Figure(go.Bar(x=list(layer_names), y=list(shares), marker_color=colours,
                           text=[f"{s:.0%}" for s in shares], textposition="outside", cliponaxis=False,
                           hovertemplate="%{x}: %{y:.1%} set to zero<extra></extra>"))
    frame(fig, "Share of values ReLU sets to zero, by depth", 280, yaxis=dict(range=[0, 1.1], tickformat=".0%"))
    fig.update_xaxes(type="category")
    return fig


def image_with_patch(image: np.ndarray, patch: tuple[float, float, float, float], title: str,
                     height: int = 320) -> go.Figure:
    """The input image with a unit's receptive-field patch (top, left, bottom, right, in
    pixels, inclusive; may reach outside the image) drawn as a box."""
    image = np.asarray(image)
    if image.ndim == 2:
        fig = go.Figure(go.Heatmap(z=image, colorscale="gray", zmin=0, zmax=255, showscale=False,
                                   hovertemplate="row %{y}, col %{x}: %{z}<extra></extra>"))
    else:
        fig = go.Figure(go.Image(z=image))
    top, left, bottom, right = patch
    fig.add_shape(type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
                  line=dict(color="#ff3b30", width=3), fillcolor="rgba(255,59,48,0.12)")
    h, w = image.shape[:2]
    pad = max(0.0, -top, -left, bottom - (h - 1), right - (w - 1)) + 1
    fig.update_xaxes(range=[-0.5 - pad, w - 0.5 + pad], visible=False, constrain="domain")
    fig.update_yaxes(range=[h - 0.5 + pad, -0.5 - pad], visible=False, scaleanchor="x")
    return frame(fig, title, height, edge=True, top=40, plot_bgcolor="#eeeeee")


def gradient_map(values: np.ndarray, title: str, height: int = 320, signed: bool = False) -> go.Figure:
    """One 2-D map (a gradient, a spectrum, a net's output): sequential from zero, or
    diverging around zero when `signed`."""
    values = np.asarray(values, dtype=float)
    top = max(float(np.abs(values).max()), 1e-12)
    scale = dict(colorscale=DIVERGING, zmin=-top, zmax=top) if signed else dict(colorscale=SEQUENTIAL, zmin=0)
    fig = go.Figure(go.Heatmap(z=values, colorbar=dict(thickness=12), **scale,
                               hovertemplate="row %{y}, col %{x}: %{z:.2e}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False, constrain="domain")
    return frame(fig, title, height, edge=True, top=40)
