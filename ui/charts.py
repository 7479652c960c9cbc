"""Plotly figures for the pages."""
from __future__ import annotations

import plotly.graph_objects as go

TEAL, SAND = "#0f766e", "#d6a45a"


def candidates_figure(rows: list[dict], diversity: float) -> go.Figure:
    """The model's top next words: its own probabilities beside those after the diversity."""
    words = ["(end)" if r["token"] == "<eos>" else r["token"] for r in rows]
    fig = go.Figure([
        go.Bar(name="model", x=words, y=[r["model"] for r in rows], marker_color=SAND),
        go.Bar(name=f"after diversity {diversity:g}", x=words, y=[r["sampled"] for r in rows], marker_color=TEAL),
    ])
    fig.update_layout(barmode="group", height=300, margin=dict(l=10, r=10, t=10, b=10),
                      yaxis=dict(title="probability", tickformat=".0%"),
                      legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
    return fig


def accuracy_figure(rows: list[dict]) -> go.Figure:
    """Share of answers that found the human text, per diversity, with 95% intervals and chance."""
    fig = go.Figure(go.Scatter(
        x=[r["diversity"] for r in rows], y=[r["rate"] for r in rows], mode="markers+lines",
        marker=dict(size=[6 + min(r["answers"], 60) / 4 for r in rows], color=TEAL), line=dict(color=TEAL),
        error_y=dict(type="data", symmetric=False, array=[r["high"] - r["rate"] for r in rows],
                     arrayminus=[r["rate"] - r["low"] for r in rows], color=TEAL),
        customdata=[[r["answers"]] for r in rows], name="players",
        hovertemplate="diversity %{x}<br>found the human: %{y:.0%}<br>%{customdata[0]} answers<extra></extra>"))
    fig.add_hline(y=1 / 3, line_dash="dash", line_color=SAND, annotation_text="chance (1 in 3)")
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), showlegend=False,
                      xaxis=dict(title="diversity of the machine's text"),
                      yaxis=dict(title="found the human text", tickformat=".0%", range=[0, 1]))
    return fig
