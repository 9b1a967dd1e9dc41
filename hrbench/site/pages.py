"""What each page of the site shows, as plain values for the templates (no HTML is written here).

Why a module of its own: the templates (``templates/*.html``) decide layout;
this module decides content -- which numbers, in which order, formatted how
-- from the same objects the markdown boards are rendered from
(:class:`hrbench.boards.boards.Board`, its tests and power), and from the tidy
frames of :mod:`hrbench.boards.frames`.  Sentences shared with the markdown boards
(verdicts, the power line) are taken from :mod:`hrbench.boards.inference` and
:mod:`hrbench.boards.render` and their inline markdown turned into HTML, so the
site never words a claim differently from the boards.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
from markdown_it import MarkdownIt
from markupsafe import Markup

from ..boards.boards import BOOT_N, BOOT_SEED, WITHIN_BPM, Board, Row, safe_name
from ..boards.inference import baseline_cell, board_power, format_p, verdicts
from ..boards.metrics import Metrics
from ..boards.render_sections import power_line
from ..boards.stats import Interval
from ..store.results import Results, display_notes, is_structured
from .figures import (
    bland_altman,
    breakdown,
    breakdown_keys,
    cd_diagram,
    hr_distributions,
    learning_curves,
    per_subject_errors,
    to_html,
)

_MD = MarkdownIt("commonmark", {"html": False})
#: The board table's metric columns: (field, header, digits, percent), in the markdown boards' order.
METRICS = (
    ("hr_me", "HRme (bpm)", 2, False),
    ("hr_sd", "HRsd (bpm)", 2, False),
    ("hr_rmse", "HRrmse (bpm)", 2, False),
    ("hr_mer", "HRmer", 2, True),
    ("mae", "MAE (bpm)", 2, False),
    ("r", "r", 3, False),
)
NAN_ORDER = "1e308"  # sorts missing values after every number (DataTables reads data-order)


def md(text: str) -> Markup:
    """Inline markdown (bold, code) of a board sentence as safe HTML; any HTML in the text is escaped."""
    return Markup(_MD.renderInline(text))


def num(x: Any, digits: int = 2) -> str:
    """A number as the markdown boards print it: fixed digits, no negative zero, '–' when missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    x = float(x) + 0.0
    return f"{0.0 if round(x, digits) == 0 else x:.{digits}f}"


def order(x: Any) -> str:
    """The sort key DataTables reads from ``data-order``: the number itself, missing values last."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return NAN_ORDER
    return repr(v) if math.isfinite(v) else NAN_ORDER


def board_href(name: str) -> str:
    return f"boards/{safe_name(name)}.html"


def run_href(run_key: str) -> str:
    return f"runs/{safe_name(run_key)}.html"


def row_name(row: Row) -> str:
    """A row's name on the site: the board's label, the baseline's without its markdown emphasis."""
    return row.label.strip("*") if row.is_baseline else row.label


def _metric_cell(m: Metrics, ci: dict[str, Interval], field: str, digits: int, pct: bool) -> dict[str, str]:
    v = getattr(m, field)
    iv = ci.get(field)
    unit = "%" if pct else ""
    interval = "" if iv is None or not math.isfinite(iv.low) else f"[{num(iv.low, digits)}, {num(iv.high, digits)}]"
    return {"text": num(v, digits) + unit, "ci": interval, "order": order(v)}


def _notes_text(row: Row) -> str:
    said = [", ".join(f"{k}={v}" for k, v in sorted(row.notes.items()))] if row.notes else []
    if row.structured_notes:
        said.append("tables kept in the store: " + ", ".join(row.structured_notes))
    return "; ".join(said)


def _seeds(row: Row) -> dict[str, str]:
    if row.is_baseline:
        return {"text": "–", "order": NAN_ORDER}
    sd = "" if row.mae_sd is None else f" (± {num(row.mae_sd)})"
    return {"text": f"{len(row.seeds)}{sd}", "order": str(len(row.seeds))}


def _board_row(board: Board, row: Row) -> dict[str, Any]:
    vs = "–" if row.is_baseline else baseline_cell(board.tests.against_baseline(row.label) if board.tests else None)
    return {
        "label": row_name(row),
        "profile": row.profile,
        "baseline": row.is_baseline,
        "metrics": [_metric_cell(row.metrics, row.ci, f, d, p) for f, _, d, p in METRICS],
        "n": row.metrics.n,
        "seeds": _seeds(row),
        "beats_baseline": md(vs),
        "notes": _notes_text(row),
        "runs": [{"href": run_href(k), "seed": s} for k, s in zip(row.run_keys, row.seeds, strict=True)],
    }


def _video_table(board: Board) -> dict[str, Any]:
    """Every video shown on the board: subject, reference, categorical meta, and each row's |error| (seeds averaged)."""
    rows = [r for r in board.rows if r.videos is not None]
    info: dict[str, dict[str, Any]] = {}
    errors: dict[str, dict[str, float]] = {}
    for row in rows:
        v = row.videos
        for i, rid in enumerate(v.ids):
            info.setdefault(rid, {"subject": v.subjects[i], "ref": float(v.ref[i]), "meta": v.meta[i]})
            errors.setdefault(rid, {})[row.label] = float(v.abs_err[i])
    keys = sorted({k for d in info.values() for k, val in d["meta"].items() if isinstance(val, str)})
    body = []
    for rid in sorted(info):
        d = info[rid]
        body.append(
            {
                "id": rid,
                "subject": d["subject"],
                "ref": {"text": num(d["ref"], 1), "order": order(d["ref"])},
                "meta": [str(d["meta"].get(k, "")) for k in keys],
                "errors": [
                    {"text": num(errors[rid].get(r.label)), "order": order(errors[rid].get(r.label))} for r in rows
                ],
            }
        )
    return {"meta_keys": keys, "methods": [row_name(r) for r in rows], "rows": body}


def _comparisons(board: Board) -> list[dict[str, Any]]:
    if board.tests is None:
        return []
    return [
        {
            "a": c.a,
            "against": "baseline" if c.kind == "baseline" else c.b,
            "subjects": c.test.n_subjects,
            "diff": {"text": num(c.test.mean_diff), "order": order(c.test.mean_diff)},
            "p": {"text": format_p(c.test.p_value), "order": order(c.test.p_value)},
            "p_holm": {"text": format_p(c.p_holm), "order": order(c.p_holm)},
        }
        for c in board.tests.comparisons
    ]


def _windows(board: Board) -> list[dict[str, Any]]:
    return [
        {
            "label": row_name(r),
            "n": r.windows.n_windows,
            "mae": num(r.windows.mae),
            "within": f"{r.windows.within:.1%}",
            "declined": f"{r.windows.declined:.1%}",
        }
        for r in board.rows
        if r.windows is not None
    ]


def power_html(board: Board) -> Markup | None:
    """The board's power line (as the markdown board states it), without its list marker."""
    power = board_power(board.tests) if board.tests is not None else None
    return md(power_line(power).removeprefix("- ")) if power is not None else None


def _figures(board: Board, res: Results) -> list[dict[str, Any]]:
    """(id, title, HTML) of every figure the board has data for, in page order."""
    out = []

    def add(fid: str, title: str, fig: Any, height: int = 420) -> None:
        if fig is not None:
            out.append({"id": fid, "title": title, "html": Markup(to_html(fig, f"fig-{fid}", height))})

    ranked = board.ranked
    if not ranked:
        return out
    add("subjects", "Per-subject errors", per_subject_errors(board))
    add("bland-altman", "Agreement (Bland-Altman)", bland_altman(board))
    train = res.fold_train_hr(ranked[0].run_key)
    v0 = ranked[0].videos
    test: dict[int, list[float]] = {}
    for ref, fold in zip(v0.ref, v0.folds, strict=True):
        test.setdefault(fold, []).append(float(ref))
    add("hr-distribution", "HR distributions", hr_distributions(train, test), 340)
    add("critical-difference", "Critical-difference diagram", cd_diagram(board), 120 + 34 * len(ranked))
    add("learning-curves", "Learning curves", learning_curves(board))
    for key in breakdown_keys(board):
        add(f"by-{safe_name(key)}", f"By {key}", breakdown(board, key), 380)
    return out


def board_context(board: Board, res: Results) -> dict[str, Any]:
    """Everything ``board.html`` shows for one board."""
    ranked = board.ranked
    run0 = board.runs[0]
    skipped = sorted({tuple(s) for r in board.runs for s in json.loads(r["skipped_json"])})
    fraction = [r for r in board.fraction_runs if r["train_fraction"] < 1]
    return {
        "board": board,
        "title": f"{board.label} · {board.protocol}" + (f" · trained on {board.train_dataset}" if board.cross else ""),
        "protocol_path": run0["protocol_path"],
        "protocol_desc": run0["protocol_desc"],
        "n_recordings": ranked[0].metrics.n if ranked else 0,
        "n_subjects": len(set(ranked[0].videos.subjects)) if ranked else 0,
        "skipped": skipped,
        "boot": f"bootstrap over subjects ({BOOT_N} resamples per seed, seed {BOOT_SEED}, pooled over training seeds)",
        "power": power_html(board),
        "verdicts": [md(v) for v in verdicts(board)],
        "headers": [h for _, h, _, _ in METRICS],
        "rows": [_board_row(board, r) for r in board.rows],
        "not_run": [
            {"method": n.method, "profile": n.profile, "reason": n.reason, "href": run_href(n.run_key)}
            for n in board.not_run
        ],
        "comparisons": _comparisons(board),
        "friedman": board.tests.friedman if board.tests is not None else None,
        "windows": _windows(board),
        "within_bpm": f"{WITHIN_BPM:g}",
        "videos": _video_table(board),
        "figures": _figures(board, res),
        "runs": [_run_summary(r, board.name) for r in [*board.runs, *fraction]],
    }


def _run_summary(run: dict[str, Any], board: str) -> dict[str, Any]:
    versions = json.loads(run.get("versions_json") or "{}")
    reason = json.loads(run.get("notes_json") or "{}").get("not_run")
    return {
        "href": run_href(run["run_key"]),
        "key": run["run_key"],
        "board": board,
        "board_href": board_href(board) if board else "",
        "method": run["method"],
        "profile": run["profile"],
        "seed": run["seed"],
        "fraction": f"{run['train_fraction']:g}",
        "params": run["params_json"],
        "threads": run.get("threads") or "–",
        "status": "ran" if reason is None else "not run",
        "version": versions.get("hrbench", ""),
        "created": run["created_at"],
    }


def index_context(boards: list[Board], runs: pd.DataFrame, results: Results) -> dict[str, Any]:
    """Every board (with its power line and verdicts) and every stored run."""
    items = []
    for b in boards:
        best = b.ranked[0] if b.ranked else None
        items.append(
            {
                "board": b,
                "href": board_href(b.name),
                "power": power_html(b),
                "verdicts": [md(v) for v in verdicts(b)],
                "n_methods": len(b.ranked),
                "n_subjects": len(set(best.videos.subjects)) if best else 0,
                "n_recordings": best.metrics.n if best else 0,
                "best": f"{best.label.rstrip(' †')} ({num(best.metrics.mae)} bpm)" if best else "–",
            }
        )
    by_key = {r["run_key"]: r for r in results.runs()}
    all_runs = [_run_summary(by_key[k], b) for k, b in zip(runs["run_key"], runs["board"], strict=True)]
    return {"boards": items, "runs": all_runs, "title": "hrbench leaderboards"}


def _fold_rows(res: Results, run_key: str) -> list[dict[str, Any]]:
    rows = res.store.query(
        "SELECT fold, n_train_videos, n_train_clips, n_test_videos, fit_seconds, predict_seconds FROM folds"
        " WHERE run_key = ? ORDER BY fold",
        (run_key,),
    )
    notes = res.fold_notes(run_key)
    out = []
    for r, n in zip(rows, notes, strict=True):
        shown = display_notes(n)
        out.append(
            {
                "fold": r["fold"] + 1,
                "n_train_videos": r["n_train_videos"],
                "n_train_clips": r["n_train_clips"],
                "n_test_videos": r["n_test_videos"],
                "fit": num(r["fit_seconds"], 1),
                "predict": num(r["predict_seconds"], 1),
                "notes": "; ".join(
                    f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in sorted(shown.items())
                ),
                "tables": ", ".join(sorted(k for k, v in n.items() if is_structured(v))),
            }
        )
    return out


def _predictions(videos: pd.DataFrame, meta_cols: list[str]) -> list[dict[str, Any]]:
    """One row per video of a run page's prediction table: id, subject, fold, HRs, error, meta."""
    preds = []
    for rec in videos.to_dict("records"):
        preds.append(
            {
                "id": rec["recording_id"],
                "subject": rec["subject"],
                "fold": int(rec["fold"]) + 1,
                "cells": [
                    {"text": num(rec[c], 1 if c != "error" else 2), "order": order(rec[c])}
                    for c in ("hr_pred", "hr_ref")
                ]
                + [
                    {"text": num(rec["error"]), "order": order(rec["error"])},
                    {"text": num(rec["abs_error"]), "order": order(rec["abs_error"])},
                ],
                "meta": ["" if pd.isna(rec[c]) else str(rec[c]) for c in meta_cols],
            }
        )
    return preds


def run_context(run: dict[str, Any], board: str, res: Results, videos: pd.DataFrame) -> dict[str, Any]:
    """Everything ``run.html`` shows: provenance, versions, thread plan, folds and per-video predictions."""
    versions = json.loads(run.get("versions_json") or "{}")
    plan = versions.pop("thread_plan", None)
    notes = json.loads(run.get("notes_json") or "{}")
    meta_cols = [c for c in videos.columns if c.startswith("meta.") and videos[c].notna().any()]
    facts = [
        ("Run key", run["run_key"]),
        ("Method", run["method"]),
        ("Profile", run["profile"]),
        ("Parameters", run["params_json"]),
        ("Command", run.get("command") or "–"),
        ("Protocol", f"{run['protocol']} ({run['protocol_path']})"),
        ("Protocol sha256", run["protocol_sha256"]),
        ("Protocol description", run["protocol_desc"]),
        ("Dataset", run.get("dataset_label") or run["dataset"]),
        ("Adapter", run["dataset"]),
        ("Dataset fingerprint", run["dataset_fingerprint"]),
        ("Trained on", run["train_dataset"]),
        ("Seed", str(run["seed"])),
        ("Training fraction", f"{run['train_fraction']:g}"),
        ("Folds", str(run["n_folds"])),
        ("Complete", "yes" if run["complete"] else "no"),
        ("Threads", str(run.get("threads") or "–")),
        ("Stored", run["created_at"]),
    ]
    skipped = [{"id": s[0], "path": s[1], "why": s[2]} for s in json.loads(run.get("skipped_json") or "[]")]
    return {
        "title": f"{run['method']} · {run.get('dataset_label') or run['dataset']} · {run['protocol']} "
        f"· seed {run['seed']}",
        "run": run,
        "board": board,
        "board_href": board_href(board) if board else "",
        "facts": facts,
        "not_run": notes.get("not_run"),
        "notes": [
            (k, v if isinstance(v, str) else json.dumps(v))
            for k, v in sorted(display_notes(notes).items())
            if k != "not_run"
        ],
        "tables": sorted(k for k, v in notes.items() if is_structured(v)),
        "versions": sorted((k, str(v)) for k, v in versions.items()),
        "plan": sorted((k, json.dumps(v) if not isinstance(v, str) else v) for k, v in plan.items())
        if isinstance(plan, dict)
        else [],
        "folds": _fold_rows(res, run["run_key"]),
        "meta_cols": [c.removeprefix("meta.") for c in meta_cols],
        "preds": _predictions(videos, meta_cols),
        "skipped": skipped,
    }
