"""Figures for the batch-norm page: accuracy curves, percentile bands over training,
histograms at one moment, and which cells a normalisation pools."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from viz.style import frame

COLOURS = {"with BN": "#1f77b4", "without BN": "#d62728"}
GROUP_COLOURS = qualitative.Dark24   # 24 colours apart: one per InstanceNorm group of a 4 × 6 batch


def accuracy_curves(steps: Sequence[int], accuracies: dict[str, Sequence[float]]) -> go.Figure:
    fig = go.Figure([go.Scatter(x=list(steps), y=list(values), name=name, mode="lines+markers",
                                line=dict(color=COLOURS.get(name)))
                     for name, values in accuracies.items()])
    return frame(fig, "Test accuracy during training", 300, xaxis_title="step", yaxis=dict(tickformat=".0%"),
                 legend_row=True)


def percentile_bands(steps: Sequence[int], bands: dict[str, np.ndarray], title: str) -> go.Figure:
    """One panel per net, on one y axis: the 15th-85th percentile band and the median over steps."""
    fig = make_subplots(rows=1, cols=len(bands), subplot_titles=list(bands), horizontal_spacing=0.06,
                        shared_yaxes=True)   # one scale: a band that moves is seen to move against the other
    for column, (name, rows) in enumerate(bands.items(), start=1):
        rows = np.asarray(rows)
        colour = COLOURS.get(name, "#555555")
        fig.add_trace(go.Scatter(x=list(steps), y=rows[:, 2], mode="lines", line=dict(width=0), showlegend=False,
                                 hoverinfo="skip"), 1, column)
        fig.add_trace(go.Scatter(x=list(steps), y=rows[:, 0], mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor="rgba(120,120,120,0.25)", showlegend=False, hoverinfo="skip"), 1, column)
        fig.add_trace(go.Scatter(x=list(steps), y=rows[:, 1], mode="lines", line=dict(color=colour, width=2),
                                 showlegend=False, customdata=rows,
                                 hovertemplate="step %{x}<br>15%: %{customdata[0]:.3f}<br>50%: %{customdata[1]:.3f}"
                                               "<br>85%: %{customdata[2]:.3f}<extra></extra>"), 1, column)
        fig.update_xaxes(title_text="step", row=1, col=column)
    return frame(fig, title, 320, top=60)


def histograms(samples: dict[str, np.ndarray], title: str, bins: int = 40) -> go.Figure:
    fig = go.Figure([go.Histogram(x=np.asarray(values), name=name, nbinsx=bins, opacity=0.6,
                                  marker_color=COLOURS.get(name), histnorm="probability density")
                     for name, values in samples.items()])
    return frame(fig, title, 300, barmode="overlay", legend_row=True, xaxis_title="value entering the nonlinearity")


def group_map(ids: np.ndarray, title: str) -> go.Figure:
    """A (batch x channels) grid coloured by normalisation group: same colour, same statistics."""
    ids = np.asarray(ids)
    groups = int(ids.max()) + 1
    colours = [GROUP_COLOURS[group % len(GROUP_COLOURS)] for group in range(groups)]
    # One flat band of the scale per group: neighbouring groups get unrelated colours, not near-equal shades.
    scale = [[edge / groups, colour] for group, colour in enumerate(colours) for edge in (group, group + 1)]
    fig = go.Figure(go.Heatmap(z=ids, colorscale=scale, zmin=-0.5, zmax=groups - 0.5, showscale=False, xgap=2,
                               ygap=2, hovertemplate="sample %{y}, channel %{x}: group %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title_text="sample (N)", scaleanchor="x")
    fig.update_xaxes(title_text="channel (C)", constrain="domain")
    return frame(fig, title, 230, panel=True)
