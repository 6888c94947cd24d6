"""The architecture lab's pictures: the net as a row of blocks, and a run's training curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from viz.charts import BASE, HIGHLIGHT, PAIR, epoch_line
from viz.style import frame

KIND_COLOURS = {"conv": "#4c78a8", "residual": "#72b7b2", "maxpool": "#f58518", "gap": "#54a24b",
                "fc": "#e45756", "bn": "#9d755d", "relu": "#b279a2", "dropout": "#bab0ac"}


def net_diagram(blocks: Sequence[dict], height: int = 400) -> go.Figure:
    """One box per block (models.spec.blocks), left to right: its height follows the feature map's
    side, its width the number of channels; below it the layers, output, parameters and receptive
    field."""
    fig = go.Figure()
    x = 0.0
    sides = [int(b["output"].split("×")[1]) if b["output"].count("×") == 2 else 1 for b in blocks]
    tallest = max(sides + [1])
    for block, side in zip(blocks, sides):
        channels = int(block["output"].split("×")[0])
        width = 0.35 + 0.25 * np.log2(max(channels, 1))
        box_height = 0.25 + 0.75 * side / tallest
        kind = block["layers"][0].split()[0]
        fig.add_shape(type="rect", x0=x, x1=x + width, y0=-box_height / 2, y1=box_height / 2,
                      fillcolor=KIND_COLOURS.get(kind, BASE), opacity=0.85, line=dict(color="white", width=1))
        field = f"RF {block['field']}" if block["field"] else ""
        label = "<br>".join([*block["layers"], f"<b>{block['output']}</b>", f"{block['parameters']:,} p", field])   # a line each: no overlap
        layers = f"layer {block['first']}" + (f"–{block['last']}" if block["last"] != block["first"] else "")
        fig.add_trace(go.Scatter(
            x=[x + width / 2], y=[-0.62], mode="text", text=[label], textposition="bottom center",
            textfont=dict(size=10), hovertext=[f"{layers}: {' + '.join(block['layers'])}<br>output {block['output']}"
                                               f"<br>{block['parameters']:,} parameters<br>{field}"],
            hoverinfo="text", showlegend=False))
        x += width + 0.35
    fig.update_xaxes(visible=False, range=[-0.3, x])
    fig.update_yaxes(visible=False, range=[-2.3, 0.6])
    return frame(fig, "The net, block by block (box height: feature-map side; width: channels)", height,
                 panel=True, edge=True, top=30, plot_bgcolor="rgba(0,0,0,0)")


def training_curves(step_losses: Sequence[tuple[int, float]], history: Sequence[dict], steps_per_epoch: float,
                    total_epochs: int, title: str = "Training", height: int = 300) -> go.Figure:
    """Training loss (left axis) at every report and test accuracy (right axis, 0-100 %) after
    each epoch, against epochs; the x axis spans the whole run from the first report."""
    fig = go.Figure()
    if step_losses:
        fig.add_trace(go.Scatter(x=[step / steps_per_epoch for step, _ in step_losses],
                                 y=[loss for _, loss in step_losses], name="training loss", mode="lines",
                                 line=dict(color=PAIR[0]), hovertemplate="epoch %{x:.2f}: loss %{y:.3f}<extra></extra>"))
    accuracies = [(row["epoch"], row["test_accuracy"]) for row in history if row.get("test_accuracy") is not None]
    if accuracies:
        line = epoch_line("test accuracy", [e for e, _ in accuracies], [a for _, a in accuracies], HIGHLIGHT,
                          percent=True, yaxis="y2")
        line.cliponaxis = False   # a marker at 99 % stays whole at the top edge
        fig.add_trace(line)
    losses = [loss for _, loss in step_losses] or [1.0]
    return frame(
        fig, title, height,
        xaxis=dict(title="epoch", range=[0, max(total_epochs, 1)], dtick=1 if total_epochs <= 20 else None),
        yaxis=dict(title="training loss", range=[0, max(losses) * 1.1], rangemode="tozero"),
        yaxis2=dict(title="test accuracy", overlaying="y", side="right", range=[0, 1], tickformat=".0%",
                    tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0], showgrid=False),
        legend_row=True)
