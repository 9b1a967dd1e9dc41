"""Results as tidy pandas DataFrames: runs, per-video and per-window predictions, with references and ``meta``.

Why: without them, getting numbers into a notebook means writing SQL against
the store's schema, and re-deriving which runs form a board.  These frames are
read through :class:`hrbench.store.results.Results` -- the read API the boards are
built from -- so a ``groupby`` over :func:`read_results` gives the numbers
the boards print (a board row's MAE is the mean over its seeds' runs of
``abs_error``).  One row per observation, one value per cell:

* ``runs``: one row per run, with its ``board`` (the board name its
  protocol hash and dataset fingerprint put it on), provenance columns and
  the JSON columns of the store (``params_json``, ``versions_json``,
  ``notes_json``) as text;
* ``videos``: one row per (run, recording): ``hr_pred``, ``hr_ref``,
  ``error`` (pred − ref), ``abs_error``, and one ``meta.<key>`` column per
  metadata key any recording has (missing: NA; a nested value as JSON text);
* ``windows``: one row per scored unit (a clip under the ``clips`` rule, an
  evaluation window under ``whole``/``windowed``), ``hr_pred`` NaN where
  the method declined it, with the run's columns and its recording's meta.

Every frame is sorted (runs by creation time then key, as boards order
them; predictions in that order of their runs, then by recording and unit),
so two reads of one store are equal and an export of it is byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import HrbenchError
from ..store.results import Results, dataset_label, not_run_reason
from ..store.store import Store, default_store_path
from .boards import board_group, board_names

#: Run columns repeated on every prediction row, so one frame answers "which method, on which board, which seed".
KEYS = ("run_key", "board", "method", "profile", "dataset_label", "protocol", "seed", "train_fraction")
RUN_COLUMNS = (
    *KEYS, "dataset", "train_dataset", "protocol_path", "protocol_sha256", "protocol_desc", "dataset_fingerprint",
    "n_folds", "complete", "threads", "hrbench_version", "not_run", "n_skipped", "command", "created_at",
    "params_json", "versions_json", "notes_json",
)
VIDEO_COLUMNS = (*KEYS, "fold", "recording_id", "subject", "hr_pred", "hr_ref", "error", "abs_error")
WINDOW_COLUMNS = (*KEYS, "fold", "recording_id", "subject", "window", "start_s", "hr_pred", "hr_ref", "error",
                  "abs_error")
FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class ResultFrames:
    """The three tidy tables of one results store (see the module docstring for their columns)."""

    runs: pd.DataFrame
    videos: pd.DataFrame
    windows: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Name -> frame, in the order :func:`export_frames` writes them."""
        return {"runs": self.runs, "videos": self.videos, "windows": self.windows}


def _cell(value: Any) -> Any:
    """A meta value as one cell: scalars as they are, nested values as JSON text."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def _meta_columns(metas: Iterable[dict[str, Any]]) -> list[str]:
    return sorted({k for m in metas for k in m})


def runs_frame(results: Results, complete: bool = True) -> pd.DataFrame:
    """One row per run (complete runs only, unless ``complete=False``), oldest first."""
    runs = results.runs(complete=complete)
    names = board_names(results.runs())  # the boards' own naming, decided over every complete run
    rows = []
    for r in runs:
        versions = json.loads(r.get("versions_json") or "{}")
        rows.append({
            **{k: r[k] for k in ("run_key", "method", "profile", "protocol", "seed", "train_fraction")},
            "board": names.get(board_group(r), ""),
            "dataset_label": dataset_label(r),
            **{k: r[k] for k in ("dataset", "train_dataset", "protocol_path", "protocol_sha256", "protocol_desc",
                                 "dataset_fingerprint", "n_folds", "threads", "command", "created_at",
                                 "params_json", "versions_json", "notes_json")},
            "complete": bool(r["complete"]),
            "hrbench_version": str(versions.get("hrbench", "")),
            "not_run": not_run_reason(r),
            "n_skipped": len(json.loads(r.get("skipped_json") or "[]")),
        })
    frame = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    return frame.astype({"seed": "int64", "n_folds": "int64", "threads": "int64", "train_fraction": "float64",
                         "complete": "bool"})


def _with_meta(base: dict[str, list[Any]], columns: tuple[str, ...], metas: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(base, columns=list(columns))
    for key in _meta_columns(metas):
        frame[f"meta.{key}"] = pd.Series([_cell(m[key]) if key in m else None for m in metas], index=frame.index)
    return frame


def _errors(pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    err = np.asarray(pred, dtype=float) - np.asarray(ref, dtype=float)
    return err, np.abs(err)


def videos_frame(results: Results, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, recording) of the runs in ``runs``: prediction, reference, error and meta."""
    base: dict[str, list[Any]] = {c: [] for c in VIDEO_COLUMNS}
    metas: list[dict[str, Any]] = []
    for run in runs[list(KEYS)].to_dict("records"):
        v = results.videos(run["run_key"])
        err, abs_err = _errors(v.pred, v.ref)
        n = len(v.ids)
        for k in KEYS:
            base[k] += [run[k]] * n
        base["fold"] += list(v.folds)
        base["recording_id"] += list(v.ids)
        base["subject"] += list(v.subjects)
        base["hr_pred"] += v.pred.tolist()
        base["hr_ref"] += v.ref.tolist()
        base["error"] += err.tolist()
        base["abs_error"] += abs_err.tolist()
        metas += v.meta
    return _with_meta(base, VIDEO_COLUMNS, metas).astype({"fold": "int64", "seed": "int64"})


def windows_frame(results: Results, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per scored unit (clip or evaluation window) of the runs in ``runs``; declined units have NaN ``hr_pred``.

    The same rows :meth:`hrbench.store.results.Results.units` reads (the windowed
    boards' window-level metrics), with each unit's start time and its
    recording's subject and meta.
    """
    base: dict[str, list[Any]] = {c: [] for c in WINDOW_COLUMNS}
    metas: list[dict[str, Any]] = []
    for run in runs[list(KEYS)].to_dict("records"):
        rows = results.store.query(
            "SELECT c.recording_id, c.clip_index, c.start_s, c.hr_pred, c.hr_ref, c.fold, v.subject, v.meta_json"
            " FROM clip_predictions c"
            " LEFT JOIN video_predictions v ON v.run_key = c.run_key AND v.recording_id = c.recording_id"
            " WHERE c.run_key = ? ORDER BY c.recording_id, c.clip_index",
            (run["run_key"],),
        )
        pred = np.array([np.nan if r["hr_pred"] is None else r["hr_pred"] for r in rows], dtype=float)
        ref = np.array([r["hr_ref"] for r in rows], dtype=float)
        err, abs_err = _errors(pred, ref)
        for k in KEYS:
            base[k] += [run[k]] * len(rows)
        base["fold"] += [r["fold"] for r in rows]
        base["recording_id"] += [r["recording_id"] for r in rows]
        base["subject"] += [r["subject"] or "" for r in rows]
        base["window"] += [r["clip_index"] for r in rows]
        base["start_s"] += [float(r["start_s"]) for r in rows]
        base["hr_pred"] += pred.tolist()
        base["hr_ref"] += ref.tolist()
        base["error"] += err.tolist()
        base["abs_error"] += abs_err.tolist()
        metas += [json.loads(r["meta_json"] or "{}") for r in rows]
    return _with_meta(base, WINDOW_COLUMNS, metas).astype({"fold": "int64", "seed": "int64", "window": "int64"})


def open_store(store: Store | str | Path | None) -> tuple[Store, bool]:
    """A read-only store from a path (``None``: the default store), or the store given; and whether we opened it."""
    if isinstance(store, Store):
        return store, False
    path = Path(store) if store is not None else default_store_path()
    return Store(path, readonly=True), True


def read_results(store: Store | str | Path | None = None, *, complete: bool = True) -> ResultFrames:
    """Runs, per-video and per-window predictions of a results store as tidy DataFrames.

    ``store`` is an open :class:`~hrbench.store.store.Store`, a path to one, or
    ``None`` for the default store (``$HRBENCH_STORE``, else the user's data
    directory); a path is opened read-only.  Only complete runs are read
    unless ``complete=False``.  A board row's MAE is
    ``videos[(videos.board == name) & (videos.method == m)].groupby("run_key").abs_error.mean().mean()``
    over the run keys the board shows (its seeds).
    """
    st, opened = open_store(store)
    try:
        res = Results(st)
        runs = runs_frame(res, complete=complete)
        return ResultFrames(runs, videos_frame(res, runs), windows_frame(res, runs))
    finally:
        if opened:
            st.close()


def export_frames(frames: ResultFrames, out_dir: Path, fmt: str = "csv") -> list[Path]:
    """Write ``runs``, ``videos`` and ``windows`` as ``<name>.csv`` or ``<name>.parquet`` into ``out_dir``."""
    if fmt not in FORMATS:
        raise HrbenchError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HrbenchError(f"cannot create the export folder ({exc.strerror or exc})", out_dir) from None
    written = []
    for name, frame in frames.tables().items():
        path = out_dir / f"{name}.{fmt}"
        try:
            if fmt == "csv":
                frame.to_csv(path, index=False, lineterminator="\n")
            else:
                frame.to_parquet(path, index=False, engine="pyarrow")
        except ImportError:
            raise HrbenchError("parquet export needs pyarrow (pip install pyarrow), or use --format csv") from None
        except OSError as exc:
            raise HrbenchError(f"cannot write the export ({exc.strerror or exc})", path) from None
        written.append(path)
    return written
