"""Charts for the famous architectures: parameters by kind of layer, where a net's parameters
and operations sit stage by stage, and accuracy against cost. Numbers in, plotly out."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from viz.charts import BASE, HIGHLIGHT, MUTED
from viz.style import frame

KIND_COLOURS = {"convolution": BASE, "fully connected": HIGHLIGHT, "normalisation": "#2ca02c", "other": MUTED}
SECOND = "#ff7f0e"


def si(value: float, unit: str = "") -> str:
    """12_345_678 -> '12.3M'; small numbers as they are."""
    for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            shown = value / size
            return f"{shown:.3g}{suffix}{unit}" if shown < 100 else f"{shown:.0f}{suffix}{unit}"
    return f"{value:.0f}{unit}" if float(value).is_integer() else f"{value:.3g}{unit}"


def _title(fig: go.Figure, title: str, height: int) -> go.Figure:
    """Title at the top left, the legend in a row of its own under it."""
    frame(fig, title, height, legend_row=True, top=78, legend=dict(y=1.0, x=0, xanchor="left"))
    return fig


def parameter_kinds(nets: Sequence[str], counts: Sequence[dict], height: int | None = None) -> go.Figure:
    """One bar per net, its parameters split by the kind of layer that holds them, as shares
    (nets of 10 thousand and 138 million parameters side by side); counts on hover."""
    totals = [sum(c.values()) for c in counts]
    labels = [f"{net} · {si(total)}" for net, total in zip(nets, totals)]
    fig = go.Figure()
    for kind, colour in KIND_COLOURS.items():
        values = [c.get(kind, 0) for c in counts]
        if not any(values):
            continue
        shares = [v / t for v, t in zip(values, totals)]
        fig.add_trace(go.Bar(
            y=labels, x=shares, name=kind, orientation="h", marker_color=colour,
            text=[f"{s:.0%}" if s >= 0.12 else "" for s in shares], textposition="inside", textangle=0,
            insidetextanchor="middle", customdata=np.array([[si(v)] for v in values], dtype=object),
            hovertemplate=f"%{{y}}<br>{kind}: %{{customdata[0]}} (%{{x:.1%}})<extra></extra>",
        ))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickformat=".0%", range=[0, 1.04], tickvals=[0, 0.25, 0.5, 0.75, 1], title="share of parameters")
    fig.update_yaxes(autorange="reversed")
    return _title(fig, "Parameters by kind of layer", height or 130 + 40 * len(nets))


def gap_head(nets: Sequence[str], built: Sequence[int], with_gap: Sequence[int], height: int = 330) -> go.Figure:
    """Parameters as built against the same net with a GAP head, on a log axis."""
    fig = go.Figure([
        go.Bar(x=list(nets), y=list(built), name="as built", marker_color=BASE,
               hovertemplate="%{x}, as built: %{y:,}<extra></extra>"),
        go.Bar(x=list(nets), y=list(with_gap), name="with a GAP head (GAP + one linear layer)",
               marker_color=SECOND, hovertemplate="%{x}, GAP head: %{y:,}<extra></extra>"),
    ])
    top = max(max(built), max(with_gap))
    fig.update_yaxes(type="log", title="parameters (log scale)", range=[3, math.log10(top) + 0.3])
    fig.update_layout(barmode="group", bargap=0.25)
    return _title(fig, "What the fully connected head costs", height)


def stage_shares(labels: Sequence[str], params: Sequence[int], macs: Sequence[int], title: str,
                 height: int | None = None) -> go.Figure:
    """Each stage's share of the net's parameters and of its multiply-accumulates, one row per
    stage from the input down."""
    total_p, total_m = max(sum(params), 1), max(sum(macs), 1)
    p_share, m_share = [p / total_p for p in params], [m / total_m for m in macs]
    fig = go.Figure([
        go.Bar(y=list(labels), x=p_share, name="share of parameters", marker_color=BASE, orientation="h",
               text=[f"{v:.0%}" for v in p_share], textposition="outside", cliponaxis=False,
               customdata=[si(p) for p in params], hovertemplate="%{y}: %{customdata} parameters (%{x:.1%})<extra></extra>"),
        go.Bar(y=list(labels), x=m_share, name="share of multiply-accumulates", marker_color=SECOND, orientation="h",
               text=[f"{v:.0%}" for v in m_share], textposition="outside", cliponaxis=False,
               customdata=[si(m) for m in macs], hovertemplate="%{y}: %{customdata} MACs (%{x:.1%})<extra></extra>"),
    ])
    fig.update_xaxes(tickformat=".0%", range=[0, 1.12])
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_layout(barmode="group", bargap=0.2)
    return _title(fig, title, height or 110 + 44 * len(labels))


def accuracy_against_cost(nets: Sequence[str], macs: Sequence[float], params: Sequence[int],
                          top1: Sequence[float], top5: Sequence[float], human_top5: float,
                          height: int = 460) -> go.Figure:
    """Published top-1 accuracy against measured multiply-accumulates, bubble area ~ parameters;
    top-5 as open marks above each bubble; the human top-5 figure as a dashed line."""
    params = np.asarray(params, dtype=float)
    sizes = 12 + 48 * np.sqrt(params / params.max())
    giga = [m / 1e9 for m in macs]
    # Names under their bubbles, except where two bubbles nearly touch: then one to each side.
    places = ["bottom center"] * len(giga)
    order = sorted(range(len(giga)), key=lambda i: giga[i])
    for a, b in zip(order, order[1:]):
        if math.log10(giga[b] / giga[a]) < 0.2 and abs(top1[a] - top1[b]) < 4:
            places[a], places[b] = "middle left", "middle right"
    fig = go.Figure()
    for x, low, high in zip(giga, top1, top5):
        fig.add_trace(go.Scatter(x=[x, x], y=[low, high], mode="lines", line=dict(color=MUTED, width=1),
                                 hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(
        x=giga, y=list(top1), mode="markers+text", name="top-1 (bubble area ~ parameters)",
        marker=dict(size=sizes, color=BASE, opacity=0.55, line=dict(color=BASE, width=1)),
        text=list(nets), textposition=places, cliponaxis=False,
        customdata=np.array([[si(p)] for p in params], dtype=object),
        hovertemplate="%{text}<br>top-1 %{y:.2f} %<br>%{x:.3g} G multiply-accumulates<br>"
                      "%{customdata[0]} parameters<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=giga, y=list(top5), mode="markers", name="top-5",
        marker=dict(size=10, symbol="diamond-open", color=SECOND, line=dict(width=2)),
        text=list(nets), hovertemplate="%{text}<br>top-5 %{y:.2f} %<extra></extra>",
    ))
    fig.add_hline(y=human_top5, line=dict(color=HIGHLIGHT, dash="dash"),
                  annotation_text=f"a trained human, top-5: {human_top5:.1f} % (Russakovsky et al. 2015)",
                  annotation_position="top left", annotation_font_color=HIGHLIGHT)
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if min(giga) / 2 <= t <= max(giga) * 2]
    fig.update_xaxes(type="log", title="multiply-accumulates per 224×224 image (G, log scale, measured)",
                     tickvals=ticks, ticktext=[f"{t:g} G" for t in ticks],
                     range=[math.log10(min(giga)) - 0.25, math.log10(max(giga)) + 0.25])
    low = min(top1)
    fig.update_yaxes(title="ImageNet accuracy, % (published)", range=[math.floor(low / 5) * 5 - 5, 100])
    return _title(fig, "Accuracy against cost", height)
