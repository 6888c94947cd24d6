"""Bar charts and curves for class scores and probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from viz.style import LOG_AXIS, frame

HIGHLIGHT = "#d62728"
BASE = "#1f77b4"
MUTED = "#9aa5b1"
PAIR = (BASE, "#ff7f0e")   # two lines that must not be confused


def _bars_layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    frame(fig, title, height, showlegend=False, bargap=0.25)
    fig.update_xaxes(type="category")
    return fig


def class_bars(
    values: Sequence[float],
    classes: Sequence[str],
    title: str,
    highlight: int | None = None,
    as_percent: bool = False,
    height: int = 300,
) -> go.Figure:
    """One bar per class; the highlighted class in red. Percent axis for probabilities."""
    values = np.asarray(values, dtype=float)
    colours = [HIGHLIGHT if i == highlight else BASE for i in range(len(values))]
    shown = np.where(np.isfinite(values), values, np.nan)
    text = ["n/a" if not np.isfinite(v) else _percent(v) if as_percent else f"{v:.2f}" for v in values]
    fig = go.Figure(go.Bar(
        x=list(classes), y=shown, marker_color=colours, text=text, textposition="outside",
        cliponaxis=False,
        hovertemplate="class %{x}: %{y:" + (".2%" if as_percent else ".4f") + "}<extra></extra>",
    ))
    _bars_layout(fig, title, height)
    fig.update_layout(uniformtext=dict(minsize=10, mode="show"))   # the tallest bar's label stays readable
    if as_percent:
        fig.update_yaxes(range=[0, 1.2], tickformat=".0%")
    return fig


def _percent(share: float) -> str:
    """A share to one decimal, never rounded up to 100 % or down to 0 % when it is neither."""
    if 0.9995 <= share < 1:
        return ">99.9%"
    if 0 < share < 0.0005:
        return "<0.1%"
    return f"{share:.1%}"


def nll_curve(p: float, nll: float, height: int = 300) -> go.Figure:
    """-log(p) over p in (0, 1], with the current p and its loss `nll` marked. (`nll` comes
    from the log-softmax, exact even where p underflows to 0.)"""
    grid = np.linspace(0.005, 1.0, 400)
    fig = go.Figure(go.Scatter(x=grid, y=-np.log(grid), mode="lines", line=dict(color=BASE),
                               hovertemplate="p = %{x:.3f}<br>-log p = %{y:.3f}<extra></extra>"))
    p_shown = float(np.clip(p, 0.005, 1.0))
    fig.add_trace(go.Scatter(x=[p_shown], y=[-np.log(p_shown)], mode="markers", marker=dict(size=12, color=HIGHLIGHT),
                             hoverinfo="skip"))
    fig.add_annotation(x=p_shown, y=-np.log(p_shown), text=f"p = {p:.4f}, NLL = {nll:.4f}", showarrow=True,
                       arrowcolor=HIGHLIGHT, ax=70 if p < 0.5 else -70, ay=-45, font=dict(color=HIGHLIGHT))
    frame(fig, "Negative log-likelihood: −log p(target)", height, showlegend=False,
          xaxis_title="probability given to the target class", yaxis_title="NLL (loss)")
    fig.update_yaxes(range=[0, 5.5])
    return fig


def grey_image(image: np.ndarray, title: str = "", height: int = 280) -> go.Figure:
    """A small grey image at its true pixel grid, with pixel values on hover."""
    fig = go.Figure(go.Heatmap(
        z=np.asarray(image), colorscale="gray", zmin=0, zmax=255,
        showscale=False, hovertemplate="row %{y}, col %{x}: %{z}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False, constrain="domain")
    return frame(fig, title, height, edge=True)


def coverage_strip(measured, closed_form, title: str, height: int = 260) -> go.Figure:
    """Per-position counts along one row: measured by autograd vs the closed form."""
    positions = list(range(len(measured)))
    fig = go.Figure([
        go.Bar(x=positions, y=list(measured), name="measured (autograd)", marker_color=BASE),
        go.Scatter(x=positions, y=list(closed_form), name="closed form", mode="markers",
                   marker=dict(color=HIGHLIGHT, size=9, symbol="x")),
    ])
    return frame(fig, title, height, showlegend=True, legend_row=True,
                 xaxis_title="input position", yaxis_title="times used")


def loss_curves(curves: dict[str, Sequence[float]], title: str, height: int = 260) -> go.Figure:
    fig = go.Figure([go.Scatter(y=list(values), name=name, mode="lines") for name, values in curves.items()])
    return frame(fig, title, height, xaxis_title="step", yaxis=dict(title="loss", **LOG_AXIS), legend_row=True)


def epoch_line(name: str, epochs: Sequence[float], values: Sequence[float], colour: str, *,
               percent: bool = False, dashed: bool = False, mode: str = "lines+markers", **more) -> go.Scatter:
    """One series after each epoch: every chart against epochs draws its lines with this."""
    shown = "%{y:.2%}" if percent else "%{y:.4g}"
    return go.Scatter(x=list(epochs), y=list(values), name=name, mode=mode,
                      line=dict(color=colour, dash="dash" if dashed else "solid", **more.pop("line", {})),
                      hovertemplate="%{fullData.name}: epoch %{x}, " + shown + "<extra></extra>", **more)


def epoch_curves(series: dict[str, tuple[Sequence[float], Sequence[float]]], title: str, y_title: str,
                 percent: bool = False, dashed: Sequence[str] = (), height: int = 320) -> go.Figure:
    """One line per named (epochs, values) series; names in `dashed` are drawn dashed."""
    fig = go.Figure([epoch_line(name, x, y, PAIR[i % 2], percent=percent, dashed=name in dashed)
                     for i, (name, (x, y)) in enumerate(series.items())])
    frame(fig, title, height, xaxis_title="epoch", yaxis_title=y_title, legend_row=True)
    if percent:
        fig.update_yaxes(tickformat=".0%", range=[0, 1])
    return fig


def accuracy_against_bar(series: dict[str, tuple[Sequence[float], Sequence[float]]], bar: float, bar_name: str,
                         title: str, height: int = 340) -> go.Figure:
    """Test accuracy after each epoch, one line per named (epochs, accuracies) series, with a dashed
    line at `bar`. The axis starts a little below the lowest accuracy, but no lower than 25 points
    under the bar: the early epochs matter less here than where the curves end against it."""
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf")
    fig = go.Figure([epoch_line(name, x, y, colours[i % len(colours)], percent=True, mode="lines")
                     for i, (name, (x, y)) in enumerate(series.items())])
    fig.add_hline(y=bar, line=dict(color=HIGHLIGHT, dash="dash"), annotation_text=bar_name,
                  annotation_position="top left")
    frame(fig, title, height, xaxis_title="epoch", yaxis_title="test accuracy", legend_row=True)
    lowest = min([min(y) for _, y in series.values() if len(y)] + [bar])
    fig.update_yaxes(tickformat=".0%", range=[max(0.0, lowest - 0.02, bar - 0.25), 1.0])
    return fig


def layer_norms(series: dict[str, Sequence[float]], title: str, height: int = 320) -> go.Figure:
    """Per-layer gradient norms (log scale), layer 1 = the one nearest the input."""
    fig = go.Figure([go.Scatter(x=list(range(1, len(values) + 1)), y=list(values), name=name, mode="lines+markers",
                                line=dict(color=PAIR[i % 2]))
                     for i, (name, values) in enumerate(series.items())])
    return frame(fig, title, height, xaxis_title="layer (1 = nearest the input)",
                 yaxis=dict(title="‖∂loss/∂weights‖", type="log", dtick=1, exponentformat="power"),
                 legend_row=True)
