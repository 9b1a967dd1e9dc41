"""The sections of a board's markdown below its table: tests, agreement, reduced data, windows, curves.

Each function returns the section's lines (and draws its figures into the
board's figure folder); :func:`hrbench.boards.render.render` puts them in order.
Every claim comes from a computed test (:mod:`hrbench.boards.inference`), every
number through :func:`hrbench.boards.board_text.fmt`, so regeneration is
byte-identical.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ..store.results import Results
from .board_text import fmt
from .boards import BOOT_N, BOOT_SEED, WITHIN_BPM, Board
from .breakdowns import breakdown_table
from .inference import (
    ALPHA,
    EXACT_MAX_SUBJECTS,
    MC_RESAMPLES,
    POWER,
    SIM_MAX_SUBJECTS,
    Power,
    format_p,
)
from .metrics import compute_metrics
from .stats import bootstrap_distribution, pooled_intervals


def _friedman_lines(board: Board, fig_dir: Path, rel: str) -> list[str]:
    many = board.tests.friedman if board.tests is not None else None
    if many is None:
        return []
    from .plots import cd_diagram

    cd_diagram(many.mean_ranks, many.nemenyi, f"{board.name}: mean rank of per-subject MAE",
               fig_dir / "critical_difference.png")
    lines = [
        "",
        f"Friedman test over {len(many.methods)} methods × {many.n} subjects (per-subject MAE): "
        f"χ² = {many.friedman_stat:.2f}, p = {many.friedman_p:.3g}. "
        "Mean ranks (lower is better) and Nemenyi post-hoc p-values:",
        "",
        "| Method | mean rank | " + " | ".join(many.nemenyi.columns) + " |",
        "|---|---:|" + "---:|" * len(many.nemenyi.columns),
    ]
    for m in many.mean_ranks.index:
        ps = " | ".join(f"{many.nemenyi.loc[m, c]:.3g}" for c in many.nemenyi.columns)
        lines.append(f"| {m} | {many.mean_ranks[m]:.2f} | " + ps + " |")
    return lines + ["", f"![critical difference diagram]({rel}/critical_difference.png)"]


def significance(board: Board, fig_dir: Path, rel: str) -> list[str]:
    """Subject-level paired tests (Holm-corrected), and Friedman/Nemenyi with its diagram."""
    tests = board.tests
    if tests is None or not tests.comparisons:
        return []
    best = board.ranked[0].label
    lines = [
        "## Do the methods really differ?",
        "",
        f"Paired tests on **subjects**, the unit of independence (a subject's videos share a face, skin and session): "
        f"for each method, the mean absolute error of each subject's videos (mean over seeds where a row has several), "
        f"then a sign-flip permutation test of the mean per-subject difference (exact: all 2^S sign patterns for "
        f"≤ {EXACT_MAX_SUBJECTS} subjects; else {MC_RESAMPLES:,} seeded resamples). "
        f"Every method is tested against the best by MAE (**{best}**) and against "
        f"the training-mean baseline; p_holm is Holm-corrected over all {len(tests.comparisons)} comparisons "
        "of this board.",
        "",
        "| Method | against | subjects | mean per-subject difference in MAE (bpm) | p | p_holm |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for c in tests.comparisons:
        against = "baseline" if c.kind == "baseline" else c.b
        lines.append(f"| {c.a} | {against} | {c.test.n_subjects} | {fmt(c.test.mean_diff)} | "
                     f"{format_p(c.test.p_value)} | {format_p(c.p_holm)} |")
    return lines + _friedman_lines(board, fig_dir, rel) + [""]


def agreement(board: Board, res: Results, fig_dir: Path, rel: str) -> list[str]:
    """Bland-Altman per method, MAE by reference-HR range, and the train/test HR distributions per fold."""
    from .plots import bland_altman, hr_distributions

    ranked = board.ranked
    lines = ["## Agreement (Bland-Altman)", "",
             "| Method | mean difference (bpm) | 95 % limits of agreement (bpm) | plot |", "|---|---:|---|---|"]
    for row in ranked:
        name = f"bland_altman-{row.file_stem}.png"
        what = row.label if len(row.seeds) < 2 else f"{row.label} (mean of {len(row.seeds)} seeds)"
        md, lo, hi = bland_altman(row.videos.pred, row.videos.ref, f"{what} on {board.label} ({board.protocol})",
                                  fig_dir / name)
        lines.append(f"| {row.label} | {fmt(md)} | [{fmt(lo)}, {fmt(hi)}] | [png]({rel}/{name}) |")
    lines += ["", "## Error by reference-HR range (MAE, bpm)", ""]
    lines += breakdown_table(board, "hr_range")
    train = res.fold_train_hr(ranked[0].run_key)
    v0 = ranked[0].videos
    per_fold = [(train[f], [float(r) for r, ff in zip(v0.ref, v0.folds, strict=True) if ff == f])
                for f in sorted(train)]
    hr_distributions(per_fold, f"{board.label} · {board.protocol}: reference HR, train vs test",
                     fig_dir / "hr_distribution.png")
    return lines + ["", f"Train vs test HR distributions per fold: ![HR distributions]({rel}/hr_distribution.png)", ""]


def _fraction_cells(res: Results, by_fraction: dict[float, dict[int, dict[str, Any]]], fracs: list[float],
                    common: list[int]) -> tuple[list[str], list[tuple[float, ...]]]:
    """One row of the reduced-data table: a cell per fraction, from the seeds run at every fraction."""
    cells, pts = [], []
    for f in fracs:
        if f not in by_fraction or not common:
            cells.append("–")
            continue
        sets = [res.videos(by_fraction[f][seed]["run_key"]) for seed in common]
        value = float(np.mean([compute_metrics(v.pred, v.ref).hr_rmse for v in sets]))
        dists = [bootstrap_distribution(v.pred, v.ref, v.subjects, BOOT_N, BOOT_SEED) for v in sets]
        iv = pooled_intervals(dists)["hr_rmse"]
        cells.append(f"{fmt(value)} [{fmt(iv.low)}, {fmt(iv.high)}]")
        pts.append((f, value, iv.low, iv.high))
    return cells, pts


def reduced_data(board: Board, res: Results, fig_dir: Path, rel: str) -> list[str]:
    """SynRhythm Fig. 6: HRrmse per training fraction, every cell of a row from the same training seeds.

    A row's seeds are those run at every fraction it has, so a column never
    averages more (or other) seeds than its neighbours; each cell's interval
    pools those seeds' subject-bootstrap distributions.
    """
    from .plots import fraction_curve

    by: dict[str, dict[float, dict[int, dict[str, Any]]]] = defaultdict(lambda: defaultdict(dict))
    for run in board.fraction_runs:
        label = run["method"] if run["profile"] == "default" else f"{run['method']} ({run['profile']})"
        by[label][run["train_fraction"]][int(run["seed"])] = run
    # Only methods that were run on reduced data: a lone full-data point is not a curve.
    by = {m: fr for m, fr in by.items() if any(f < 1 for f in fr)}
    fracs = sorted({f for fr in by.values() for f in fr}, reverse=True)
    series: dict[str, list[tuple[float, ...]]] = {}
    lines = [
        "## Reduced training data (SynRhythm Fig. 6): HRrmse (bpm)",
        "",
        "Each row uses the same training seeds in every column: the seeds run at all of its fractions (runs with other "
        f"seeds are left out here). 95 % intervals: bootstrap over subjects ({BOOT_N} resamples per seed, "
        "pooled over the seeds).",
        "",
        "| Method | seeds | " + " | ".join(f"{f:g}" for f in fracs) + " |",
        "|---|---|" + "---:|" * len(fracs),
    ]
    for m in sorted(by):
        common = sorted(set.intersection(*(set(seeds) for seeds in by[m].values())))
        cells, pts = _fraction_cells(res, by[m], fracs, common)
        seeds = ", ".join(str(x) for x in common) if common else "none run at every fraction"
        lines.append(f"| {m} | {seeds} | " + " | ".join(cells) + " |")
        if pts:
            series[m] = pts
    fraction_curve(series, f"{board.label} · {board.protocol}", fig_dir / "train_fraction.png")
    return lines + ["", f"![HRrmse against training fraction]({rel}/train_fraction.png)", ""]


def cross_line(board: Board) -> str:
    """What a cross-database board means, stated under its header."""
    scoring = {"whole": "one HR per whole test recording (the field's cross-database rule)",
               "windowed": "HR per evaluation window",
               "clips": "HR per clip (SynRhythm's clip rule)"}.get(board.rule, board.rule)
    return (f"- **Cross-database**: every method was trained on every recording of `{board.train_dataset}` "
            f"and tested on every recording of `{board.label}` (one fold; no training data from `{board.label}`); "
            f"scoring: {scoring}")


def power_line(power: Power) -> str:
    """The board's power in one line: the smallest p_holm it could give, and what it could detect."""
    head = (f"- **Power**: {power.n_subjects} subjects, {power.n_comparisons} comparisons in one Holm family: "
            f"the smallest p_holm any data could give is {power.min_p_holm:.2g}")
    if not power.can_call:
        return head + f", not below {ALPHA:g}: this board cannot call any difference, however large"
    sd = f"{fmt(power.paired_sd)} bpm" if np.isfinite(power.paired_sd) else "–"
    mde = f"{fmt(power.mde)} bpm" if np.isfinite(power.mde) else "–"
    how = "the exact sign-flip test, simulated" if power.n_subjects <= SIM_MAX_SUBJECTS else "paired t-test power"
    return (head + f"; with {POWER * 100:.0f} % power it detects a mean per-subject MAE difference of {mde} ({how} at "
            f"Holm's first-step α = {ALPHA:g}/{power.n_comparisons}, normal differences with SD {sd}: the median SD of "
            "per-subject differences over this board's comparisons)")


def window_metrics(board: Board) -> list[str]:
    """Window-level scores: each evaluation window on its own, before the median makes one HR per video."""
    lines = [
        "## Window-level metrics",
        "",
        "Each evaluation window scored on its own (the table above scores a video by the median of its windows): "
        "per-window MAE over the windows a method predicted, and the share of all windows "
        f"within {WITHIN_BPM:g} bpm of "
        "that window's reference (a declined window is not within). Rows with several seeds: mean over seeds.",
        "",
        f"| Method | windows | per-window MAE (bpm) | within {WITHIN_BPM:g} bpm | declined |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in board.rows:
        w = row.windows
        if w is not None:
            lines.append(f"| {row.label} | {w.n_windows} | {fmt(w.mae)} | {w.within:.1%} | {w.declined:.1%} |")
    return lines + [""]


def learning_curves(board: Board, fig_dir: Path, rel: str) -> list[str]:
    """The learned rows' learning curves (the figure), with each row's last recorded epoch in a table."""
    from .plots import learning_curves as draw_curves
    from .plots import mean_curve

    rows = [r for r in board.ranked if r.curves]
    lines = [
        "## Learning curves",
        "",
        "Training and held-out L1 per epoch as each learned method recorded them (`learning_curve` in its fold notes), "
        "mean over folds and seeds at each epoch; the table gives the last epoch.",
        "",
        "| Method | curves | last epoch | train L1 (bpm) | held-out L1 (bpm) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        ex, train = mean_curve(list(r.curves), "train_l1")
        hx, held = mean_curve(list(r.curves), "heldout_l1")
        last = ex[-1] if len(ex) else math.nan
        held_last = held[-1] if len(hx) and hx[-1] == last else math.nan
        lines.append(f"| {r.label} | {len(r.curves)} | {fmt(last, 0)} | "
                     f"{fmt(train[-1] if len(train) else math.nan)} | {fmt(held_last)} |")
    bad = sum(r.bad_curves for r in board.ranked)
    if bad:
        lines += ["", f"{bad} `learning_curve` notes were not curves (lists `epoch`, `train_l1` of equal length) "
                      "and are not drawn."]
    if not rows:
        return lines + [""]
    draw_curves({r.label.rstrip(" †"): list(r.curves) for r in rows},
                f"{board.label} · {board.protocol}: learning curves", fig_dir / "learning_curves.png")
    return lines + ["", f"![learning curves]({rel}/learning_curves.png)", ""]
