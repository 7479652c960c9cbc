"""Plotly figures for the pages."""
from __future__ import annotations

import zlib

import plotly.graph_objects as go

TEAL, SAND = "#0f766e", "#d6a45a"
PALETTE = [TEAL, SAND, "#7c3aed", "#dc2626", "#2563eb", "#65a30d"]  # one colour per model


def run_colour(name: str) -> str:
    """A run's colour, from its name alone: the same in every chart, whichever other runs are shown or added."""
    return PALETTE[zlib.crc32(name.encode()) % len(PALETTE)]


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
    fig.update_traces(cliponaxis=False)  # a point at 100% is drawn whole
    fig.add_hline(y=1 / 3, line_dash="dash", line_color=SAND)
    fig.add_annotation(text="chance<br>(1 in 3)", xref="paper", x=1, xanchor="left", y=1 / 3, showarrow=False,
                       font=dict(color=SAND))  # in the right margin, clear of every bar
    fig.update_layout(height=320, margin=dict(l=10, r=70, t=16, b=10), showlegend=False,
                      xaxis=dict(title="diversity of the machine's text"),
                      yaxis=dict(title="found the human text", tickformat=".0%", range=[0, 1.04]))
    return fig


def history_figure(histories: dict[str, list[dict]]) -> go.Figure:
    """Loss and accuracy per epoch for several runs: training solid, validation dashed."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss (cross-entropy)", "next-word accuracy"))
    for name, rows in histories.items():
        color = run_colour(name)
        epochs = [r["epoch"] for r in rows]
        for col, metric in ((1, "loss"), (2, "accuracy")):
            for prefix, dash in (("", "solid"), ("val_", "dash")):
                fig.add_trace(go.Scatter(
                    x=epochs, y=[r.get(prefix + metric) for r in rows], mode="lines+markers",
                    line=dict(color=color, dash=dash), marker=dict(size=5), legendgroup=name,
                    name=f"{name} ({'validation' if prefix else 'training'})", showlegend=col == 1), row=1, col=col)
    # hung below the axis titles by its top: anchored by its bottom (plotly's default there), a legend
    # that wraps to three rows on a phone grows up over the "epoch" titles
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=-0.28, yanchor="top"))
    longest = max((len(rows) for rows in histories.values()), default=1)
    fig.update_xaxes(title_text="epoch", dtick=max(1, -(-longest // 10)))
    fig.update_yaxes(tickformat=".1%", row=1, col=2)
    return fig


def readable_labels(xy, keep: int = 45, box: tuple[float, float] = (0.09, 0.045)) -> list[bool]:
    """Which points get a label: in the given order (most frequent first), a point is labelled when its
    label box (a share of the plot's width and height) overlaps no label already placed, up to
    ``keep`` labels. The others show their word on hover."""
    import numpy as np

    xy = np.asarray(xy, dtype=float)
    span = np.maximum(xy.max(axis=0) - xy.min(axis=0), 1e-9) if len(xy) else np.ones(2)
    unit, shown = xy / span, []
    for i, point in enumerate(unit):
        if len(shown) < keep and all((np.abs(point - unit[j]) >= box).any() for j in shown):
            shown.append(i)
    chosen = set(shown)
    return [i in chosen for i in range(len(xy))]


def embedding_figure(words: list[str], xy, highlight: str = "") -> go.Figure:
    """The embedding map: every word a point, a readable subset labelled, the searched word in red."""
    hit = [w == highlight.lower() for w in words]
    labelled = readable_labels(xy)
    fig = go.Figure(go.Scatter(
        x=xy[:, 0], y=xy[:, 1], mode="markers+text", textposition="top center", customdata=words,
        text=[w if (show or h) else "" for w, show, h in zip(words, labelled, hit)],
        textfont=dict(size=[16 if h else 11 for h in hit], color=["#dc2626" if h else "#44403c" for h in hit]),
        marker=dict(size=[12 if h else 5 for h in hit], color=["#dc2626" if h else TEAL for h in hit], opacity=0.6),
        hovertemplate="%{customdata}<extra></extra>"))
    fig.update_layout(height=560, margin=dict(l=10, r=10, t=10, b=10), xaxis=dict(title="PC 1"),
                      yaxis=dict(title="PC 2"), dragmode="zoom")
    return fig


def boundary_figure(rows: list[dict]) -> go.Figure:
    """Sentences late before players said "machine" (0: at the first machine sentence), per model
    and diversity, with 95% intervals; each point labelled with how many noticed out of all answers."""
    fig = go.Figure()
    bundles = list(dict.fromkeys(r["bundle"] for r in rows))
    for n, bundle in enumerate(bundles):
        mine = [r for r in rows if r["bundle"] == bundle]
        shift = (n - (len(bundles) - 1) / 2) * 0.03  # models side by side within a diversity bin
        fig.add_trace(go.Scatter(
            x=[r["diversity"] + shift for r in mine], y=[r["mean_late"] for r in mine], mode="markers+lines+text",
            name=bundle, line=dict(color=run_colour(bundle)), textposition="top center",
            text=[f"{r['noticed']}/{r['answers']}" for r in mine],
            error_y=dict(type="data", symmetric=False, array=[r["half_width"] for r in mine],  # never below 0
                         arrayminus=[min(r["half_width"], r["mean_late"]) if r["half_width"] else None for r in mine]),
            customdata=[[r["diversity"], r["answers"], r["noticed"], r["too_early"], r["missed"]] for r in mine],
            hovertemplate="diversity %{customdata[0]}<br>sentences late: %{y:.1f}<br>%{customdata[1]} answers: "
                          "%{customdata[2]} noticed, %{customdata[3]} too early, %{customdata[4]} missed"
                          "<extra>%{fullData.name}</extra>"))
    fig.update_traces(cliponaxis=False)
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=16, b=10),
                      legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"),
                      xaxis=dict(title="diversity of the machine's text"),
                      yaxis=dict(title="sentences late (0 = exact)", rangemode="tozero"))
    return fig
