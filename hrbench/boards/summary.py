"""The table ``hrbench run`` prints when it finishes: this run's methods only.

It reads the rows the run just wrote (not a whole board, which may hold
other runs), so what the user sees is exactly what was computed.  Methods
run with several seeds show the mean over seeds and the spread of MAE.
The board, with intervals and tests, is ``hrbench leaderboard``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from rich.markup import escape
from rich.table import Table

from ..store.results import display_notes
from ..store.store import Store
from .metrics import compute_metrics


def _method_metrics(store: Store, keys: list[str]) -> tuple[dict[str, float], float, int, dict[str, Any]]:
    per_seed = []
    notes: dict[str, Any] = {}
    for key in keys:
        rows = store.query("SELECT hr_pred, hr_ref FROM video_predictions WHERE run_key = ?", (key,))
        run = store.query("SELECT notes_json FROM runs WHERE run_key = ?", (key,))
        notes.update(json.loads(run[0]["notes_json"]) if run else {})
        if rows:
            pred, ref = np.array([r["hr_pred"] for r in rows]), np.array([r["hr_ref"] for r in rows])
            per_seed.append(compute_metrics(pred, ref))
    if not per_seed:
        return {}, float("nan"), 0, notes
    fields = ("hr_me", "hr_sd", "hr_rmse", "hr_mer", "mae", "r")
    mean = {f: float(np.mean([getattr(m, f) for m in per_seed])) for f in fields}
    spread = float(np.std([m.mae for m in per_seed], ddof=1)) if len(per_seed) > 1 else float("nan")
    return mean, spread, per_seed[0].n, notes


def _notes_cell(notes: dict[str, Any]) -> str:
    """Scalar notes as ``k=v``; structured ones (learning curves, histograms) by name only (the board shows them)."""
    shown = display_notes(notes)
    tables = sorted(set(notes) - set(shown))
    cells = [f"{k}={v}" for k, v in sorted(shown.items())]
    return ", ".join(cells + ([f"tables: {', '.join(tables)}"] if tables else []))


def run_table(store_path: Path, summary: Any) -> Table:
    """A rich table of the methods of one finished run (``summary``: :class:`hrbench.run.runner.RunSummary`)."""
    t = Table(title=f"{summary.label} · {summary.protocol.name}: this run (the board: hrbench leaderboard)")
    for col in ("Method", "Seeds", "HRme", "HRsd", "HRrmse", "HRmer %", "MAE", "r", "n", "Notes"):
        t.add_column(col, justify="left" if col in ("Method", "Notes") else "right")
    store = Store(store_path)
    try:
        for name, keys in summary.run_keys.items():
            if name in summary.not_run:
                t.add_row(escape(name), "–", *["–"] * 7, f"not run: {escape(summary.not_run[name])}")
                continue
            m, spread, n, notes = _method_metrics(store, keys)
            if not m:
                continue
            mae = f"{m['mae']:.2f}" + (f" ± {spread:.2f}" if np.isfinite(spread) else "")
            t.add_row(
                escape(name), str(len(keys)), f"{m['hr_me']:.2f}", f"{m['hr_sd']:.2f}", f"{m['hr_rmse']:.2f}",
                f"{m['hr_mer']:.2f}", mae, f"{m['r']:.3f}", str(n), escape(_notes_cell(notes)),
            )
    finally:
        store.close()
    return t
