"""Interactive board figures (plotly), as HTML fragments that need only the site's bundled plotly.js.

Why plotly: it exports a figure as a standalone ``<div>`` + ``Plotly.newPlot``
call (:func:`plotly.io.to_html`), hover shows each point's recording or
subject, and the legend toggles methods -- what the markdown boards' PNGs
cannot.  The figures mirror the PNGs of :mod:`hrbench.boards.plots` and the
breakdown tables of :mod:`hrbench.boards.render` (same groupings, same clique rule
for the critical-difference diagram), computed from the same board rows.

Deterministic: every ``div`` id is given (plotly would draw a random one),
values are rounded to 4 decimals and every series is sorted, so a figure's
HTML is a pure function of the board.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from ..boards.boards import Board, Row
from ..boards.breakdowns import BUILT_IN_KEYS, group_label, group_order, meta_keys
from ..boards.inference import subject_errors
from ..boards.plots import mean_curve, nemenyi_cliques

CONFIG = {"displaylogo": False, "responsive": True}
MAX_CATEGORIES = 8  # a meta key with more distinct numeric values is drawn as a scatter, not as groups


def _r(values: Sequence[float] | np.ndarray) -> list[float | None]:
    """Plain rounded floats (None for NaN): small, stable JSON."""
    return [None if not math.isfinite(float(v)) else round(float(v), 4) for v in values]


def label(row: Row) -> str:
    """A row's name in figures: its board label without the notes mark."""
    return row.label.rstrip(" †").strip("*")


def to_html(fig: go.Figure, div_id: str, height: int = 420) -> str:
    """The figure as a ``<div>`` and its ``Plotly.newPlot`` call (plotly.js itself is loaded once per page)."""
    fig.update_layout(
        template="none",
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
        font={"size": 12},
        legend={"orientation": "v"},
        hoverlabel={"namelength": -1},
    )
    return pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config=CONFIG,
        default_width="100%",
        default_height=f"{height}px",
    )


def _visible(i: int) -> bool | str:
    """The best rows drawn, the rest one legend click away (a dozen overlaid clouds read as none)."""
    return True if i < 3 else "legendonly"


def per_subject_errors(board: Board) -> go.Figure:
    """Each subject's MAE (mean |error| of its videos, seeds averaged) per method: the unit the tests compare."""
    fig = go.Figure()
    for i, row in enumerate(r for r in board.rows if r.videos is not None):
        s = subject_errors(row.videos.abs_err, row.videos.subjects)
        fig.add_trace(
            go.Scatter(
                x=list(s.index),
                y=_r(s.to_numpy()),
                mode="markers+lines",
                name=label(row),
                visible=_visible(i) if not row.is_baseline else True,
                line={"width": 1},
                hovertemplate="%{x}: %{y:.2f} bpm",
            )
        )
    fig.update_layout(
        title="Per-subject MAE (mean |error| of each subject's videos)",
        xaxis={"title": {"text": "subject"}, "type": "category"},
        yaxis={"title": {"text": "MAE (bpm)"}},
    )
    return fig


def bland_altman(board: Board) -> go.Figure:
    """Difference against mean per video, with each method's mean difference and 95 % limits of agreement."""
    fig = go.Figure()
    for i, row in enumerate(board.ranked):
        v = row.videos
        mean, diff = (v.pred + v.ref) / 2, v.pred - v.ref
        md = float(diff.mean())
        sd = float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
        lo, hi = md - 1.96 * sd, md + 1.96 * sd
        vis = _visible(i)
        fig.add_trace(
            go.Scatter(
                x=_r(mean),
                y=_r(diff),
                mode="markers",
                name=label(row),
                legendgroup=label(row),
                visible=vis,
                text=list(v.ids),
                hovertemplate="%{text}: mean %{x:.1f}, difference %{y:.2f} bpm",
            )
        )
        x0, x1 = float(np.min(mean)), float(np.max(mean))
        fig.add_trace(
            go.Scatter(
                x=[x0, x1, None, x0, x1, None, x0, x1],
                y=_r([md, md, math.nan, lo, lo, math.nan, hi, hi]),
                mode="lines",
                line={"dash": "dash", "width": 1},
                name=f"{label(row)}: mean {md:.2f}, LoA [{lo:.2f}, {hi:.2f}]",
                legendgroup=label(row),
                showlegend=False,
                visible=vis,
                hoverinfo="name",
            )
        )
    fig.update_layout(
        title="Bland-Altman: estimate − reference against their mean (dashed: mean and 95 % limits)",
        xaxis={"title": {"text": "(HR_est + HR_gt) / 2 (bpm)"}},
        yaxis={"title": {"text": "HR_est − HR_gt (bpm)"}},
    )
    return fig


def hr_distributions(train: dict[int, list[float]], test: dict[int, list[float]]) -> go.Figure:
    """Reference HR of each fold's training and test videos (train/test shift is what a learned method must survive)."""
    folds = sorted(train)
    fig = make_subplots(rows=1, cols=len(folds), subplot_titles=[f"fold {f + 1}" for f in folds], shared_yaxes=True)
    bins = {"start": 40, "end": 180, "size": 5}
    for c, f in enumerate(folds, start=1):
        for name, values, colour in (("train", train[f], "#1f77b4"), ("test", test.get(f, []), "#ff7f0e")):
            fig.add_trace(
                go.Histogram(
                    x=_r(sorted(values)),
                    xbins=bins,
                    histnorm="probability density",
                    name=name,
                    marker={"color": colour},
                    opacity=0.6,
                    legendgroup=name,
                    showlegend=c == 1,
                ),
                row=1,
                col=c,
            )
        fig.update_xaxes(title_text="HR (bpm)", row=1, col=c)
    fig.update_layout(title="Reference HR: train vs test, per fold", barmode="overlay")
    return fig


def cd_diagram(board: Board) -> go.Figure | None:
    """Mean rank of per-subject MAE (Friedman), bars joining methods Nemenyi cannot tell apart (p ≥ 0.05)."""
    many = board.tests.friedman if board.tests is not None else None
    if many is None:
        return None
    order = list(many.mean_ranks.sort_values(kind="mergesort").index)
    ranks = [float(many.mean_ranks[m]) for m in order]
    fig = go.Figure(
        go.Scatter(
            x=_r(ranks),
            y=order,
            mode="markers+text",
            text=[f"{r:.2f}" for r in ranks],
            textposition="top center",
            marker={"size": 10},
            name="mean rank",
            hovertemplate="%{y}: mean rank %{x:.2f}",
        )
    )
    right = max(ranks) + 0.2
    for level, (a, b) in enumerate(nemenyi_cliques(order, many.nemenyi)):
        x = right + 0.15 * level
        fig.add_trace(
            go.Scatter(
                x=[x, x],
                y=[order[a], order[b]],
                mode="lines",
                line={"width": 6, "color": "black"},
                name=f"not different: {order[a]} … {order[b]}",
                hoverinfo="name",
                showlegend=False,
            )
        )
    fig.update_layout(
        title=f"Critical difference: mean rank over {many.n} subjects (bars: Nemenyi p ≥ 0.05)",
        xaxis={"title": {"text": "mean rank (lower is better)"}},
        yaxis={"autorange": "reversed", "type": "category"},
        showlegend=False,
    )
    return fig


def breakdown_keys(board: Board) -> list[str]:
    """The site's breakdown figures: ``hr_range``, then every meta key any shown video has, sorted.

    (Not ``subject``: the per-subject errors have a figure of their own.)
    """
    return ["hr_range", *(k for k in meta_keys(board) if k not in BUILT_IN_KEYS)]


def _categorical(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    return all(isinstance(v, str | bool) for v in present) or len(set(map(str, present))) <= MAX_CATEGORIES


def _grouped_bars(fig: go.Figure, rows: list[Row], key: str) -> None:
    """MAE per group of a categorical key, one bar series per method (the groups of the markdown breakdowns)."""
    for row in rows:
        v = row.videos
        groups: dict[str, list[float]] = defaultdict(list)
        for i in range(len(v.ids)):
            groups[group_label(key, v.subjects[i], float(v.ref[i]), v.meta[i])].append(float(v.abs_err[i]))
        names = sorted(groups, key=lambda g: group_order(key, g))
        fig.add_trace(
            go.Bar(
                x=names,
                y=_r([np.mean(groups[g]) for g in names]),
                name=label(row),
                customdata=[len(groups[g]) for g in names],
                hovertemplate="%{x}: %{y:.2f} bpm over %{customdata} videos",
            )
        )
    fig.update_layout(barmode="group", xaxis={"type": "category", "title": {"text": key}})


def _scatter(fig: go.Figure, rows: list[Row], key: str) -> None:
    """|error| against a numeric key's value, one (toggleable) series per method."""
    for i, row in enumerate(rows):
        v = row.videos
        pts = sorted(
            (float(m[key]), float(e), rid)
            for m, e, rid in zip(v.meta, v.abs_err, v.ids, strict=True)
            if isinstance(m.get(key), int | float) and not isinstance(m.get(key), bool)
        )
        fig.add_trace(
            go.Scatter(
                x=_r([p[0] for p in pts]),
                y=_r([p[1] for p in pts]),
                text=[p[2] for p in pts],
                mode="markers",
                name=label(row),
                visible=_visible(i),
                hovertemplate="%{text}: " + key + " %{x}, |error| %{y:.2f} bpm",
            )
        )
    fig.update_layout(xaxis={"title": {"text": key}})


def breakdown(board: Board, key: str) -> go.Figure:
    """MAE by ``key``: grouped bars for a categorical key (as the markdown breakdowns), else |error| against value."""
    rows = [r for r in board.rows if r.videos is not None]
    raw = [m.get(key) for r in rows for m in r.videos.meta]
    fig = go.Figure()
    if key == "hr_range" or _categorical(raw):
        _grouped_bars(fig, rows, key)
    else:
        _scatter(fig, rows, key)
    fig.update_layout(title=f"MAE by {key}", yaxis={"title": {"text": "|error| (bpm)"}})
    return fig


def learning_curves(board: Board) -> go.Figure | None:
    """Training (solid) and held-out (dashed) L1 per epoch, mean over the folds and seeds that recorded them."""
    rows = [r for r in board.ranked if r.curves]
    if not rows:
        return None
    fig = go.Figure()
    for row in rows:
        for key, dash, what in (("train_l1", "solid", "train"), ("heldout_l1", "dash", "held-out")):
            x, y = mean_curve(list(row.curves), key)
            if len(x):
                fig.add_trace(
                    go.Scatter(
                        x=_r(x),
                        y=_r(y),
                        mode="lines+markers",
                        line={"dash": dash},
                        name=f"{label(row)} ({what})",
                        legendgroup=label(row),
                    )
                )
    fig.update_layout(
        title="Learning curves (L1 per epoch)",
        xaxis={"title": {"text": "epoch"}},
        yaxis={"title": {"text": "L1 (bpm)"}},
    )
    return fig
