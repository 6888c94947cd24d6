"""Kernel galleries and patch grids."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.feature_maps import DIVERGING
from viz.style import frame

FRAME_COLOUR = "#8a8f98"


def tile_grid(tiles: np.ndarray, title: str, columns: int = 8, titles: Sequence[str] | None = None,
              signed: bool = True, tile_px: int = 70, scale_title: str = "weight") -> go.Figure:
    """Small pictures in a grid, each framed so light tiles do not melt into the page: (n, h, w, 3)
    arrays in [0, 1] as colour images, (n, h, w) as heatmaps on one shared scale (diverging around
    0 when `signed`, grey from 0 otherwise), shown once as a colour bar."""
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
            trace = go.Heatmap(z=tile, showscale=index == 0, hovertemplate="%{z:.3f}<extra></extra>",
                               colorbar=dict(title=dict(text=scale_title, side="right"), thickness=12, len=0.9),
                               **scale)
        fig.add_trace(trace, row + 1, col + 1)
        # The frame is a rectangle on the tile's own pixel edges, in data coordinates, so it moves
        # and scales with the picture (axis lines sit on the axis domain, which may be wider).
        height, width = tile.shape[:2]
        fig.add_shape(type="rect", x0=-0.5, x1=width - 0.5, y0=-0.5, y1=height - 0.5,
                      line=dict(color=FRAME_COLOUR, width=1), row=row + 1, col=col + 1)
        fig.update_xaxes(range=[-0.5, width - 0.5], row=row + 1, col=col + 1)
        fig.update_yaxes(range=[height - 0.5, -0.5], row=row + 1, col=col + 1)   # row 0 at the top
    bare = dict(visible=False, constrain="domain")
    fig.update_xaxes(**bare)
    fig.update_yaxes(**bare)
    for axis in fig.layout:
        if axis.startswith("yaxis"):
            fig.layout[axis].scaleanchor = axis.replace("yaxis", "x")
    frame(fig, title, 60 + rows * (tile_px + (18 if titles else 6)), edge=True, top=50)
    if titles:
        fig.update_annotations(font_size=10)
    return fig
