"""Figures for the training-knob pages (learning rate, batch size, overfitting, inputs and
initialisation, activations, the batch-norm formula). Pure functions: numbers in, plotly out."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.charts import epoch_line
from viz.feature_maps import DIVERGING, SEQUENTIAL
from viz.style import LOG_AXIS, frame

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
GAP_FILL = "rgba(214,39,40,0.18)"
PERCENT_TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1.0]   # bars of accuracy keep headroom above 100 % for their labels


def _layout(fig: go.Figure, title: str, height: int, **extra) -> go.Figure:
    return frame(fig, title, height, legend_row=True, **extra)


def diverged_label(run: dict) -> str:
    """What a chart or table writes for a run that blew up ("" for one that did not)."""
    if run.get("why") == "NaN":
        return "NaN: too high"
    if run.get("why") == "exploded":
        return f"loss reached {run['peak_loss']:.2g}: too high"
    return ""


def loss_curves(runs: Sequence[dict], title: str, height: int = 360) -> go.Figure:
    """Training loss against step, one line per run (log scale). The axis stops a little above the
    highest loss of the runs that did not blow up; a run that did (NaN, or a loss that exploded)
    runs off the top, ends in a cross there with the reason written beside it, and its true
    values show on hover."""
    calm = [v for run in runs if not diverged_label(run) for _, v in run["step_losses"] if v is not None and v > 0]
    top = max(calm) * 3 if calm else 30.0
    bottom = min(calm) / 1.5 if calm else 0.01
    fig = go.Figure()
    for index, run in enumerate(runs):
        points = [(s, v) for s, v in run["step_losses"] if v is not None and math.isfinite(v)]
        colour = PALETTE[index % len(PALETTE)]
        steps, losses = [p[0] for p in points], [p[1] for p in points]
        fig.add_trace(go.Scatter(x=steps, y=[min(v, top) for v in losses], customdata=losses, name=run["label"],
                                 mode="lines", line=dict(color=colour),
                                 hovertemplate=run["label"] + ": step %{x}, loss %{customdata:.4g}<extra></extra>"))
        label = diverged_label(run)
        if label:
            step = run.get("diverged_by_step") or (steps[-1] if steps else 0)
            clipped = run.get("why") == "NaN" or (losses and losses[-1] >= top)
            y = top / 1.4 if clipped or not losses else losses[-1]
            peak = max(losses) if losses else None
            if peak is not None and peak > top:
                label += f" (loss up to {peak:.1g}, off this scale)"
            fig.add_trace(go.Scatter(x=[step], y=[y], mode="markers+text", name=run["label"], showlegend=not steps,
                                     marker=dict(symbol="x", size=14, color=colour), text=[label],
                                     textposition="bottom right", textfont=dict(color=colour), hoverinfo="skip"))
    fig.update_yaxes(**LOG_AXIS, title_text="training loss (log scale)", range=[math.log10(bottom), math.log10(top)])
    fig.update_xaxes(title_text="step")
    return _layout(fig, title, height)


def range_test(result: dict, height: int = 340) -> go.Figure:
    """Loss against a rising learning rate (log x): each step's loss, its moving average, and the
    suggested rate (a tenth of the rate at the lowest smoothed loss) marked."""
    lrs = result["lrs"]
    fig = go.Figure([
        go.Scatter(x=lrs, y=result["losses"], name="loss of each step", mode="markers",
                   marker=dict(color="#9aa5b1", size=5), hovertemplate="lr %{x:.2g}: loss %{y:.3f}<extra></extra>"),
        go.Scatter(x=lrs, y=result["smoothed"], name="smoothed", mode="lines", line=dict(color=PALETTE[0], width=3),
                   hovertemplate="lr %{x:.2g}: smoothed loss %{y:.3f}<extra></extra>"),
    ])
    # On a log axis, shapes take data values and annotations their log10.
    if result.get("chosen_lr"):
        fig.add_vline(x=result["chosen_lr"], line=dict(color=PALETTE[2], width=2, dash="dash"))
        fig.add_annotation(x=math.log10(result["chosen_lr"]), y=1, yref="paper", showarrow=False, xanchor="right",
                           text=f"chosen: {result['chosen_lr']:.2g} ", font=dict(color=PALETTE[2]))
    if result.get("best_lr"):
        fig.add_vline(x=result["best_lr"], line=dict(color="#7f7f7f", width=1, dash="dot"))
        fig.add_annotation(x=math.log10(result["best_lr"]), y=0.92, yref="paper", showarrow=False, xanchor="right",
                           text=f"lowest loss at {result['best_lr']:.2g} ", font=dict(color="#7f7f7f"))
    if result.get("diverged_at"):
        fig.add_vrect(x0=result["diverged_at"], x1=max(lrs[-1], result["diverged_at"]) * 2, fillcolor=GAP_FILL,
                      line_width=0)
        fig.add_annotation(x=math.log10(result["diverged_at"]), y=0.8, yref="paper", showarrow=False, xanchor="right",
                           text="diverges → ", font=dict(color="#d62728"))
    finite = [v for v in result["smoothed"] if v is not None]
    if finite:
        fig.update_yaxes(range=[0, min(max(finite) * 1.1, 4 * min(finite) + 1)])
    fig.update_xaxes(**LOG_AXIS, title_text="learning rate (log scale), raised every step")
    fig.update_yaxes(title_text="training loss")
    return _layout(fig, "Learning-rate range test: one sweep, the learning rate rising", height)


def schedule(curve: dict, height: int = 300) -> go.Figure:
    """The one-cycle learning rate (left axis) and momentum (right axis) over the steps."""
    per_epoch = curve["steps_per_epoch"]
    epochs = [s / per_epoch for s in curve["steps"]]
    fig = go.Figure([
        go.Scatter(x=epochs, y=curve["lr"], name="learning rate", line=dict(color=PALETTE[0], width=3),
                   hovertemplate="epoch %{x:.2f}: lr %{y:.4f}<extra></extra>"),
        go.Scatter(x=epochs, y=curve["momentum"], name="momentum", yaxis="y2", line=dict(color=PALETTE[1], dash="dash"),
                   hovertemplate="epoch %{x:.2f}: momentum %{y:.3f}<extra></extra>"),
    ])
    fig.update_layout(xaxis_title="epoch", yaxis=dict(title="learning rate"),
                      yaxis2=dict(title="momentum", overlaying="y", side="right", showgrid=False))
    return _layout(fig, f"The one-cycle schedule of the shipped GAP net: peak {curve['peak_lr']:g} at "
                        f"{curve['warmup_fraction']:.0%} of {curve['epochs']} epochs", height)


def batch_bars(runs: Sequence[dict], title: str, height: int = 320) -> go.Figure:
    """Test accuracy per batch size, each bar labelled with its steps and seconds."""
    labels = [str(run["batch_size"]) for run in runs]
    accuracy = [run["test_accuracy"] if run["test_accuracy"] is not None else 0 for run in runs]
    text = [f"{a:.1%}<br>{run['total_steps']:,} steps · {run['seconds']:.1f} s"
            for a, run in zip(accuracy, runs)]
    fig = go.Figure(go.Bar(x=labels, y=accuracy, text=text, textposition="outside", cliponaxis=False,
                           marker_color=[PALETTE[i % len(PALETTE)] for i in range(len(runs))],
                           hovertemplate="batch %{x}: %{y:.2%}<extra></extra>"))
    fig.update_xaxes(type="category", title_text="batch size")
    fig.update_yaxes(range=[0, 1.2], tickvals=PERCENT_TICKS, tickformat=".0%", title_text="test accuracy")
    return _layout(fig, title, height, showlegend=False)


def gap_panels(runs: Sequence[dict], title: str, columns: int = 3, height_per_row: int = 260) -> go.Figure:
    """One panel per run: accuracy on the training images and on the validation images after each
    epoch, the gap between them shaded; the dotted line is where early stopping would stop, the
    dashed one the epoch whose weights it keeps."""
    rows = -(-len(runs) // columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[run["label"] for run in runs],
                        horizontal_spacing=0.06, vertical_spacing=0.16 if rows > 1 else 0.1, shared_yaxes=True)
    for index, run in enumerate(runs):
        row, col = index // columns + 1, index % columns + 1
        epochs = [r["epoch"] for r in run["history"]]
        fit = [r["fit_accuracy"] for r in run["history"]]
        val = [r["val_accuracy"] for r in run["history"]]
        first = index == 0
        fig.add_trace(epoch_line("validation images", epochs, val, PALETTE[0], percent=True, mode="lines",
                                 legendgroup="val", showlegend=first), row, col)
        fig.add_trace(epoch_line("training images", epochs, fit, PALETTE[3], percent=True, mode="lines",
                                 fill="tonexty", fillcolor=GAP_FILL, legendgroup="fit", showlegend=first), row, col)
        stop = run.get("early_stop") or {}
        if stop.get("best_epoch"):
            fig.add_vline(x=stop["best_epoch"], line=dict(color="#2ca02c", dash="dash", width=1.5), row=row, col=col)
        if stop.get("stop_epoch"):
            fig.add_vline(x=stop["stop_epoch"], line=dict(color="#555555", dash="dot", width=1.5), row=row, col=col)
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(title_text="epoch", row=rows)
    plot_height = rows * height_per_row
    # The legend sits between the title and the first row's panel titles.
    return frame(fig, title, plot_height + 110, legend_row=True, top=100, legend={"y": 1 + 32 / plot_height})


def gap_lines(runs: Sequence[dict], title: str, height: int = 320) -> go.Figure:
    """The gap itself — training minus validation accuracy, in points — per epoch, one line per run."""
    fig = go.Figure()
    for index, run in enumerate(runs):
        epochs = [r["epoch"] for r in run["history"]]
        gap = [100 * (r["fit_accuracy"] - r["val_accuracy"]) for r in run["history"]]
        fig.add_trace(epoch_line(run["label"], epochs, gap, PALETTE[index % len(PALETTE)], mode="lines",
                                 line=dict(width=2.5)))
    fig.add_hline(y=0, line=dict(color="#999999", width=1))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="training − validation accuracy (points)")
    return _layout(fig, title, height)


def value_cells(values: np.ndarray, title: str, signed: bool = False, dropped: np.ndarray | None = None,
                decimals: int = 2, height: int = 300) -> go.Figure:
    """A small grid of numbers, coloured (sequential from 0, or diverging around 0 when `signed`);
    cells where `dropped` is true are greyed out and crossed."""
    values = np.asarray(values, dtype=float)
    top = max(float(np.abs(values).max()), 1e-9)
    scale = dict(colorscale=DIVERGING, zmin=-top, zmax=top) if signed else dict(colorscale=SEQUENTIAL, zmin=0, zmax=top)
    z = values.copy()
    text = np.vectorize(lambda v: f"{v:.{decimals}f}")(values).astype(object)
    if dropped is not None:
        dropped = np.asarray(dropped, dtype=bool)
        z = np.where(dropped, np.nan, z)
        text[dropped] = "✕"
    fig = go.Figure(go.Heatmap(z=z, text=text, texttemplate="%{text}", textfont=dict(size=11), xgap=2, ygap=2,
                               showscale=False, hovertemplate="row %{y}, col %{x}: %{z:.4f}<extra></extra>", **scale))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False, constrain="domain")
    return frame(fig, title, height, panel=True, edge=True, top=36, plot_bgcolor="#d9d9d9")


def image_row(images: np.ndarray, title: str, titles: Sequence[str] | None = None, height: int = 170) -> go.Figure:
    """Images side by side at their pixel grid: (n, h, w) grey in 0..255 or (n, h, w, 3) colour."""
    images = np.asarray(images)
    count = len(images)
    fig = make_subplots(rows=1, cols=count, subplot_titles=list(titles) if titles else None, horizontal_spacing=0.01)
    for index, image in enumerate(images):
        if image.ndim == 3:
            trace = go.Image(z=image.clip(0, 255).astype(np.uint8), hoverinfo="skip")
        else:
            trace = go.Heatmap(z=image, colorscale="gray", zmin=0, zmax=255, showscale=False,
                               hovertemplate="%{z:.0f}<extra></extra>")
        fig.add_trace(trace, 1, index + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    for axis in fig.layout:
        if axis.startswith("yaxis"):
            fig.layout[axis].scaleanchor = axis.replace("yaxis", "x")
    frame(fig, title, height, panel=True, edge=True, top=50)
    if titles:
        fig.update_annotations(font_size=10)
    return fig


def pixel_histograms(before: np.ndarray, after: np.ndarray, height: int = 280) -> go.Figure:
    """Pixel values as the dataset stores them (0..255) and as the net receives them."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["stored pixels (0 to 255)", "what the net receives"])
    fig.add_trace(go.Histogram(x=np.asarray(before).ravel(), nbinsx=52, marker_color=PALETTE[0],
                               histnorm="probability", name="stored"), 1, 1)
    fig.add_trace(go.Histogram(x=np.asarray(after).ravel(), nbinsx=52, marker_color=PALETTE[1],
                               histnorm="probability", name="normalised"), 1, 2)
    fig.update_yaxes(**LOG_AXIS, title_text="share of pixels (log)", row=1, col=1)
    fig.update_yaxes(**LOG_AXIS, row=1, col=2)
    return _layout(fig, "Pixel values before and after normalisation", height, showlegend=False)


def spread_lines(spreads: dict[str, dict], height: int = 360) -> go.Figure:
    """The standard deviation of each layer's output at initialisation, one line per scheme (log
    scale). A scheme whose outputs are all exactly zero cannot be drawn on a log scale: the
    legend says so."""
    fig = go.Figure()
    for index, (scheme, spread) in enumerate(spreads.items()):
        layers = [row["layer"] for row in spread["layers"]]
        stds = [row["std"] for row in spread["layers"]]
        if all(s == 0 for s in stds):
            fig.add_trace(go.Scatter(x=[layers[0]], y=[None], name=f"{scheme}: every output exactly 0 (off this log scale)",
                                     mode="lines", line=dict(color=PALETTE[index % len(PALETTE)])))
            continue
        fig.add_trace(go.Scatter(x=layers, y=[s if s > 0 else None for s in stds], name=scheme, mode="lines+markers",
                                 line=dict(color=PALETTE[index % len(PALETTE)], width=3),
                                 hovertemplate=scheme + "<br>%{x}: std %{y:.3g}<extra></extra>"))
    fig.update_yaxes(type="log", title_text="std of the layer's output (log)", exponentformat="power")
    fig.update_xaxes(title_text="layer (input on the left)", type="category")
    return _layout(fig, "How far the activations spread at initialisation, layer by layer", height)


def function_panels(x: np.ndarray, curves: dict[str, tuple[np.ndarray, np.ndarray]], columns: int = 4,
                    height_per_row: int = 220) -> go.Figure:
    """One panel per activation: the function (solid) and its derivative (dashed)."""
    names = list(curves)
    rows = -(-len(names) // columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=names, horizontal_spacing=0.05, vertical_spacing=0.14,
                        shared_yaxes=True)
    for index, name in enumerate(names):
        row, col = index // columns + 1, index % columns + 1
        f, df = curves[name]
        first = index == 0
        fig.add_trace(go.Scatter(x=x, y=f, name="f(x)", line=dict(color=PALETTE[0], width=3), legendgroup="f",
                                 showlegend=first, hovertemplate="x %{x:.2f}: f %{y:.3f}<extra></extra>"), row, col)
        fig.add_trace(go.Scatter(x=x, y=df, name="f′(x)", line=dict(color=PALETTE[1], dash="dash"), legendgroup="df",
                                 showlegend=first, hovertemplate="x %{x:.2f}: f′ %{y:.3f}<extra></extra>"), row, col)
    values = np.concatenate([np.concatenate(pair) for pair in curves.values()])
    fig.update_yaxes(range=[min(-1.6, float(values.min()) - 0.2), max(4.2, float(values.max()) + 0.2)], zeroline=True)
    fig.update_xaxes(zeroline=True)
    # The legend shares the title's line: a row of its own would run into the subplot titles.
    return _layout(fig, "Each activation f and its derivative f′ (what back-propagation multiplies by)",
                   80 + rows * height_per_row, legend=dict(y=0.995, yref="container", yanchor="top"))


def accuracy_bars(labels: Sequence[str], values: Sequence[float | None], title: str, highlight: Sequence[str] = (),
                  notes: Sequence[str] | None = None, height: int = 320) -> go.Figure:
    shown = [v if v is not None else 0 for v in values]
    text = [(f"{v:.1%}" if v is not None else "n/a") + (f"<br>{n}" if notes and n else "")
            for v, n in zip(values, notes or [""] * len(values))]
    colours = [PALETTE[3] if label in highlight else PALETTE[0] for label in labels]
    fig = go.Figure(go.Bar(x=list(labels), y=shown, text=text, textposition="outside", cliponaxis=False,
                           marker_color=colours, hovertemplate="%{x}: %{y:.2%}<extra></extra>"))
    fig.update_yaxes(range=[0, 1.2], tickvals=PERCENT_TICKS, tickformat=".0%", title_text="test accuracy")
    fig.update_xaxes(type="category")
    return _layout(fig, title, height, showlegend=False)


def bn_histograms(values: np.ndarray, x_hat: np.ndarray, y: np.ndarray, height: int = 280) -> go.Figure:
    """The channel's values as they arrive (x), normalised (x̂) and scaled and shifted (y)."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=["x: what arrives", "x̂ = (x − μ) / √(σ² + ε)",
                                                         "y = γ·x̂ + β: what leaves"])
    for col, (data, colour) in enumerate([(values, PALETTE[0]), (x_hat, PALETTE[4]), (y, PALETTE[1])], start=1):
        fig.add_trace(go.Histogram(x=np.asarray(data).ravel(), nbinsx=40, marker_color=colour, histnorm="probability"),
                      1, col)
    fig.update_yaxes(**LOG_AXIS)
    fig.update_yaxes(title_text="share of values (log)", row=1, col=1)
    return _layout(fig, "One channel of one batch, step by step", height, showlegend=False)
