"""Kernel galleries and patch grids."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.feature_maps import DIVERGING


def tile_grid(tiles: np.ndarray, title: str, columns: int = 8, titles: Sequence[str] | None = None,
              signed: bool = True, tile_px: int = 70) -> go.Figure:
    """Small pictures in a grid: (n, h, w, 3) arrays in [0, 1] as colour images, (n, h, w) as
    heatmaps on one shared scale (diverging around 0 when `signed`, grey from 0 otherwise)."""
    tiles = np.asarray(tiles)
    count = len(tiles)
    rows = -(-count // columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=list(titles) if titles else None,
                        horizontal_spacing=0.01, vertical_spacing=0.06 if titles else 0.02)
    top = max(float(np.abs(tiles).max()), 1e-12)
    for index, tile in enumerate(tiles):
        row, col = divmod(index, columns)
        if tile.ndim == 3:
            trace = go.Image(z=(tile * 255).clip(0, 255).astype(np.uint8), hoverinfo="skip")
        else:
            scale = dict(colorscale=DIVERGING, zmin=-top, zmax=top) if signed else \
                dict(colorscale="gray", zmin=0, zmax=top)
            trace = go.Heatmap(z=tile, showscale=False, hovertemplate="%{z:.3f}<extra></extra>", **scale)
        fig.add_trace(trace, row + 1, col + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    for axis in fig.layout:
        if axis.startswith("yaxis"):
            fig.layout[axis].scaleanchor = axis.replace("yaxis", "x")
    fig.update_layout(title=dict(text=title, x=0, font=dict(size=15)), height=60 + rows * (tile_px + (18 if titles else 6)),
                      margin=dict(l=0, r=0, t=50, b=0))
    if titles:
        fig.update_annotations(font_size=10)
    return fig
