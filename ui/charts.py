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
