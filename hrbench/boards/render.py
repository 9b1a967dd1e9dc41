"""Markdown (and figures) for boards: a pure function of the results store.

Nothing time-dependent is written (no dates, no timings, figures without
metadata, permutation tests and bootstraps from fixed seeds), so
regenerating from the same store is byte-identical.  Every claim in a
board's prose comes from :func:`hrbench.boards.inference.verdicts`, i.e. from a
computed, Holm-corrected test at the subject level.  This module writes the
head of a board (what it is, its table, its notes) and its run list; the
sections between them are :mod:`hrbench.boards.render_sections`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .. import __version__
from ..store.results import Results
from ..store.store import Store
from .board_text import HEADER, fmt, metric_cell
from .boards import BOOT_N, BOOT_SEED, Board, Row
from .inference import baseline_cell, board_power, verdicts
from .render_sections import (
    agreement,
    cross_line,
    learning_curves,
    power_line,
    reduced_data,
    significance,
    window_metrics,
)

TABLE_HEAD = [
    "| Method | Profile | HRme (bpm) | HRsd (bpm) | HRrmse (bpm) | HRmer | MAE (bpm) | r | n | Seeds (± SD of MAE) "
    "| Beats baseline (p_holm) |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
]
TABLE_LEGEND = (
    "HRme: mean error (estimate − reference); HRsd: its standard deviation; HRrmse: root mean squared error; "
    "HRmer: mean |error| / reference (SynRhythm; Li et al. 2014). Seeds: training seeds averaged into the row, "
    "with the SD of MAE across them. Beats baseline: a subject-level paired test against the training-mean "
    "baseline, Holm-corrected with the board's other comparisons; **no** = not shown to be better. "
    "† marks rows whose run recorded notes, e.g. `init=random` when ImageNet weights were absent."
)


def _seeds_cell(row: Row) -> str:
    if row.is_baseline:
        return "–"
    if row.mae_sd is None:
        return "1"
    return f"{len(row.seeds)} (± {fmt(row.mae_sd)})"


def _scoring(desc: str) -> str:
    """The protocol's description; one stored before it said how a video is scored meant the mean of its clips."""
    if re.search(r"video'?s? HR|whole[- ]video|window", desc, re.IGNORECASE):
        return desc
    return f"{desc}; per-video HR = mean of its clip predictions"


def _skipped(board: Board) -> list[tuple[str, ...]]:
    return sorted({tuple(s) for r in board.runs for s in json.loads(r["skipped_json"])})


def _head(board: Board) -> list[str]:
    """Title and the facts every reader needs first: protocol, dataset, versions, how to regenerate, power."""
    ranked, run0 = board.ranked, board.runs[0]
    n_rec = ranked[0].metrics.n if ranked else 0
    n_subj = len(set(ranked[0].videos.subjects)) if ranked else 0
    title = f"# {board.label} · {board.protocol}"
    if board.cross:
        title += f" · trained on {board.train_dataset}"
    dataset = f"`{board.label}` (adapter `{board.dataset}`)" if board.label != board.dataset else f"`{board.dataset}`"
    lines = [
        HEADER,
        "",
        title,
        "",
        f"- **Protocol**: `{run0['protocol_path']}` (sha256 `{board.protocol_sha256[:12]}`): "
        f"{_scoring(run0['protocol_desc'])}",
        f"- **Dataset**: {dataset} (fingerprint `{board.fingerprint}`): {n_rec} test recordings of {n_subj} subjects; "
        f"{len(_skipped(board))} skipped",
        f"- **hrbench** {__version__}; metrics over videos (rows with several training seeds: mean over seeds); "
        f"95 % intervals: bootstrap over subjects ({BOOT_N} resamples per seed, seed {BOOT_SEED}, "
        "pooled over training seeds)",
        f"- **Regenerate**: `hrbench leaderboard --dataset {board.label} --protocol {board.protocol}`",
    ]
    if board.cross:
        lines.append(cross_line(board))
    power = board_power(board.tests) if board.tests is not None else None
    if power is not None:
        lines.append(power_line(power))
    return lines + [""]


def _table(board: Board) -> list[str]:
    """The ranked table and its legend (nothing when no method produced a row)."""
    if not board.ranked:
        return []
    lines = list(TABLE_HEAD)
    for row in board.rows:
        m, ci = row.metrics, row.ci
        vs = "–" if row.is_baseline else baseline_cell(board.tests.against_baseline(row.label) if board.tests else None)
        lines.append(
            f"| {row.label} | {row.profile} | {metric_cell(m, ci, 'hr_me')} | {metric_cell(m, ci, 'hr_sd')} | "
            f"{metric_cell(m, ci, 'hr_rmse')} | {metric_cell(m, ci, 'hr_mer', pct=True)} | "
            f"{metric_cell(m, ci, 'mae')} | "
            f"{metric_cell(m, ci, 'r', 3)} | {m.n} | {_seeds_cell(row)} | {vs} |"
        )
    return lines + ["", TABLE_LEGEND]


def _notes(board: Board) -> list[str]:
    """Stages that did not run, and what runs recorded about themselves (the † rows)."""
    lines = [f"- not run: {nr.method} ({nr.profile}): {nr.reason}" for nr in board.not_run]
    for r in [r for r in board.rows if r.notes or r.structured_notes]:
        said = [", ".join(f"`{k}={v}`" for k, v in sorted(r.notes.items()))] if r.notes else []
        if r.structured_notes:
            said.append("tables kept in the store, not shown: " + ", ".join(f"`{k}`" for k in r.structured_notes))
        lines.append(f"† {r.label.rstrip(' †')}, as recorded with the run: " + "; ".join(said) + ".")
    return lines + [""]


def _runs(board: Board) -> list[str]:
    """Every run on the board, with what it was run with; then the recordings the runs skipped."""
    lines = [
        "## Runs",
        "",
        "| Method | Run key | Profile | Parameters | Seed | Threads | Status | Versions |",
        "|---|---|---|---|---|---:|---|---|",
    ]
    for run in board.runs:
        v = json.loads(run["versions_json"])
        vtxt = ", ".join(f"{k} {v[k]}" for k in ("hrbench", "numpy", "torch") if k in v)
        reason = json.loads(run["notes_json"] or "{}").get("not_run")
        status = "ran" if reason is None else "not run"
        threads = run.get("threads") or "–"
        lines.append(f"| {run['method']} | `{run['run_key']}` | {run['profile']} | `{run['params_json']}` | "
                     f"{run['seed']} | {threads} | {status} | {vtxt} |")
    skipped = _skipped(board)
    if skipped:
        lines += ["", "Skipped recordings:", ""] + [f"- `{rid}`: {path}: {msg}" for rid, path, msg in skipped]
    return lines


def render(board: Board, out_dir: Path, store: Store) -> str:
    """One board's markdown; writes its figures under ``out_dir/<board name>/``."""
    res = Results(store)
    fig_dir, rel, ranked = out_dir / board.name, board.name, board.ranked
    lines = _head(board) + _table(board) + _notes(board)
    claims = verdicts(board)
    if claims:
        lines += ["## What the tests say", ""] + [f"- {c}" for c in claims] + [""]
    lines += significance(board, fig_dir, rel)
    if board.rule == "windowed" and ranked:
        lines += window_metrics(board)
    if ranked:
        lines += agreement(board, res, fig_dir, rel)
    if board.fraction_runs:
        lines += reduced_data(board, res, fig_dir, rel)
    if any(r.curves or r.bad_curves for r in ranked):
        lines += learning_curves(board, fig_dir, rel)
    return "\n".join(lines + _runs(board)) + "\n"
