"""Grad-CAM pictures: heatmaps, overlays on the input, and rows of them to compare."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from matplotlib import colormaps

from viz.feature_maps import SEQUENTIAL
from viz.style import layout_of

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
    """Images side by side: RGB arrays as pictures, 2-D arrays in [0, 1] as heatmaps.
    Built as one plain figure dict, like viz.feature_maps.map_grid, for speed."""
    count, gap = len(pictures), 0.02
    width = (1 - gap * (count - 1)) / count
    layout = {**layout_of("", height, edge=True, top=40), "annotations": []}
    data = []
    for i, (picture, title) in enumerate(zip(pictures, titles)):
        picture, n, left = np.asarray(picture), "" if i == 0 else str(i + 1), i * (width + gap)
        if picture.ndim == 3:
            data.append({"type": "image", "z": picture, "hovertemplate": "row %{y}, col %{x}<extra></extra>"})
        else:
            data.append({"type": "heatmap", "z": picture, "colorscale": SEQUENTIAL, "zmin": 0, "zmax": 1,
                         "showscale": False, "hovertemplate": "row %{y}, col %{x}: %{z:.2f}<extra></extra>"})
        data[-1].update(xaxis=f"x{n}", yaxis=f"y{n}")
        layout[f"xaxis{n}"] = {"domain": [left, left + width], "anchor": f"y{n}", "visible": False,
                               "constrain": "domain"}
        layout[f"yaxis{n}"] = {"domain": [0, 1], "anchor": f"x{n}", "visible": False, "autorange": "reversed",
                               "scaleanchor": f"x{n}"}
        layout["annotations"].append({"text": title, "x": left + width / 2, "y": 1, "xref": "paper",
                                      "yref": "paper", "yanchor": "bottom", "showarrow": False,
                                      "font": {"size": 13}})
    return go.Figure({"data": data, "layout": layout})
