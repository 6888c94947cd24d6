"""Grad-CAM pictures: heatmaps, overlays on the input, and rows of them to compare."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from matplotlib import colormaps
from plotly.subplots import make_subplots

from viz.feature_maps import SEQUENTIAL

# Grad-CAM is non-negative: the app's sequential scale, by its matplotlib name for the overlays.
HEAT = SEQUENTIAL.lower()


def as_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W) grey or (H, W, 3) uint8 -> (H, W, 3) uint8."""
    image = np.asarray(image)
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


def overlay(image: np.ndarray, heatmap: np.ndarray, opacity: float) -> np.ndarray:
    """The heatmap (values in [0, 1], the input's size) coloured and blended over the image."""
    coloured = colormaps[HEAT](np.clip(heatmap, 0, 1))[..., :3] * 255
    blended = (1 - opacity) * as_rgb(image).astype(float) + opacity * coloured
    return blended.clip(0, 255).astype(np.uint8)


def picture_row(pictures: Sequence[np.ndarray], titles: Sequence[str], height: int = 260) -> go.Figure:
    """Images side by side: RGB arrays as pictures, 2-D arrays in [0, 1] as heatmaps."""
    fig = make_subplots(rows=1, cols=len(pictures), subplot_titles=list(titles), horizontal_spacing=0.02)
    for column, picture in enumerate(pictures, start=1):
        picture = np.asarray(picture)
        if picture.ndim == 3:
            fig.add_trace(go.Image(z=picture, hovertemplate="row %{y}, col %{x}<extra></extra>"), 1, column)
        else:
            fig.add_trace(go.Heatmap(z=picture, colorscale=SEQUENTIAL, zmin=0, zmax=1, showscale=False,
                                     hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>"), 1, column)
            fig.update_yaxes(autorange="reversed", row=1, col=column)
        fig.update_yaxes(scaleanchor=f"x{column}" if column > 1 else "x", visible=False, row=1, col=column)
        fig.update_xaxes(visible=False, constrain="domain", row=1, col=column)
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=40, b=0))
    fig.update_annotations(font_size=13)
    return fig
