"""A read API over the results store: runs, their videos and their folds.

Leaderboards, ``hrbench compare`` and the study scripts need the same few
questions answered (which complete runs exist, what each predicted per video,
which training HRs each fold saw).  Answering them here, once, keeps SQL out
of the reporting code and gives one place that papers over schema versions:
stores written before a column existed (``dataset_label``, ``threads``) read
back with that column's default, so old stores keep producing boards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .store import Store

# Columns added after the first stores were written, with the value an old row means.
RUN_DEFAULTS: dict[str, Any] = {"dataset_label": "", "threads": 0, "notes_json": "{}", "skipped_json": "[]",
                                "command": ""}


@dataclass(frozen=True)
class VideoSet:
    """One run's (or one seed-averaged row's) per-video predictions, ordered by recording id.

    ``abs_err`` is kept separately from ``pred - ref`` because a row averaged
    over seeds must be judged by its seeds' mean *absolute* error: the absolute
    value of the mean signed error would reward a method whose seeds err in
    opposite directions.
    """

    ids: list[str]
    subjects: list[str]
    pred: np.ndarray
    ref: np.ndarray
    folds: list[int]
    meta: list[dict[str, Any]]
    abs_err: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.abs_err is None:
            object.__setattr__(self, "abs_err", np.abs(np.asarray(self.pred, float) - np.asarray(self.ref, float)))

    def subject_of(self) -> dict[str, str]:
        return dict(zip(self.ids, self.subjects, strict=True))


def dataset_label(run: dict[str, Any]) -> str:
    """The name a run's test data goes by on boards: its label, else the adapter name."""
    return run.get("dataset_label") or run["dataset"]


def run_notes(run: dict[str, Any]) -> dict[str, Any]:
    return json.loads(run.get("notes_json") or "{}")


#: The fold note in which learned methods record ``{"epoch": [...], "train_l1": [...], "heldout_l1": [...]}``.
LEARNING_CURVE = "learning_curve"


def is_structured(value: Any) -> bool:
    """A note that is a table rather than a value (a dict, or a list holding dicts or lists).

    Such notes (learning curves, histograms) would swamp a table cell; boards
    draw the ones they know (learning curves) and name the others.
    """
    return isinstance(value, dict) or isinstance(value, list) and any(isinstance(v, dict | list) for v in value)


def display_notes(notes: dict[str, Any]) -> dict[str, Any]:
    """The notes that fit in a table cell: every note but the structured ones."""
    return {k: v for k, v in notes.items() if not is_structured(v)}


def learning_curve(note: Any) -> dict[str, np.ndarray] | None:
    """A fold's ``learning_curve`` note as arrays, or None if it is not one (wrong type, lengths or values).

    ``heldout_l1`` is optional; a missing or null entry of it is NaN.
    """
    if not isinstance(note, dict) or not all(isinstance(note.get(k), list) for k in ("epoch", "train_l1")):
        return None
    n = len(note["epoch"])
    keys = [k for k in ("train_l1", "heldout_l1") if note.get(k) is not None]
    if n == 0 or any(not isinstance(note[k], list) or len(note[k]) != n for k in keys):
        return None
    try:
        out = {"epoch": np.array(note["epoch"], dtype=float)}
        for k in keys:
            out[k] = np.array([np.nan if v is None else v for v in note[k]], dtype=float)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out["epoch"]).all() else None


def not_run_reason(run: dict[str, Any]) -> str | None:
    """Why a stage was recorded without running (e.g. ImageNet weights absent), or None if it ran.

    A run recorded as failed (an exception in fit or predict; the run's other
    methods went on) is one that did not run either: its reason says so and
    that the same command retries it.
    """
    notes = run_notes(run)
    if notes.get("not_run") is not None:
        return str(notes["not_run"])
    if not run.get("complete", 1) and notes.get("failed"):
        return f"failed ({notes['failed']}); the same command retries it"
    return None


class Results:
    """Read-only questions about one store; every answer is ordered deterministically."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def runs(self, complete: bool = True) -> list[dict[str, Any]]:
        """Runs as plain dicts (oldest first), missing newer columns filled with their defaults."""
        where = "WHERE complete = 1 " if complete else ""
        rows = self.store.query(f"SELECT * FROM runs {where}ORDER BY created_at, run_key")
        return [{**RUN_DEFAULTS, **dict(r)} for r in rows]

    def run(self, run_key: str) -> dict[str, Any]:
        rows = self.store.query("SELECT * FROM runs WHERE run_key = ?", (run_key,))
        if not rows:
            raise KeyError(run_key)
        return {**RUN_DEFAULTS, **dict(rows[0])}

    def videos(self, run_key: str) -> VideoSet:
        rows = self.store.query(
            "SELECT recording_id, subject, hr_pred, hr_ref, fold, meta_json FROM video_predictions"
            " WHERE run_key = ? ORDER BY recording_id",
            (run_key,),
        )
        return VideoSet(
            [r["recording_id"] for r in rows],
            [r["subject"] for r in rows],
            np.array([r["hr_pred"] for r in rows], dtype=float),
            np.array([r["hr_ref"] for r in rows], dtype=float),
            [r["fold"] for r in rows],
            [json.loads(r["meta_json"]) for r in rows],
        )

    def units(self, run_key: str) -> VideoSet:
        """Per scored unit (a clip under ``clips``, an evaluation window under ``whole``/``windowed``).

        ``ids`` are ``<recording>#<unit index>``, ``subjects`` the recording's
        subject ("" for a recording the method declined entirely) and ``pred``
        NaN where the method declined the unit.
        """
        rows = self.store.query(
            "SELECT c.recording_id, c.clip_index, c.hr_pred, c.hr_ref, c.fold, v.subject FROM clip_predictions c"
            " LEFT JOIN video_predictions v ON v.run_key = c.run_key AND v.recording_id = c.recording_id"
            " WHERE c.run_key = ? ORDER BY c.recording_id, c.clip_index",
            (run_key,),
        )
        return VideoSet(
            [f"{r['recording_id']}#{r['clip_index']}" for r in rows],
            [r["subject"] or "" for r in rows],
            np.array([np.nan if r["hr_pred"] is None else r["hr_pred"] for r in rows], dtype=float),
            np.array([r["hr_ref"] for r in rows], dtype=float),
            [r["fold"] for r in rows],
            [{} for _ in rows],
        )

    def fold_notes(self, run_key: str) -> list[dict[str, Any]]:
        """Each fold's notes in fold order (empty dicts in stores from before folds kept notes)."""
        if not self.store.has_column("folds", "notes_json"):
            return [{} for _ in self.store.query("SELECT fold FROM folds WHERE run_key = ?", (run_key,))]
        rows = self.store.query("SELECT notes_json FROM folds WHERE run_key = ? ORDER BY fold", (run_key,))
        return [json.loads(r["notes_json"] or "{}") for r in rows]

    def fold_train_hr(self, run_key: str) -> dict[int, list[float]]:
        """Per fold, the reference HR of every training video (what the baseline and HR histograms need)."""
        rows = self.store.query("SELECT fold, train_hr_json FROM folds WHERE run_key = ? ORDER BY fold", (run_key,))
        return {r["fold"]: json.loads(r["train_hr_json"]) for r in rows}

    def baseline(self, run_key: str) -> VideoSet:
        """Predict, for each test video of a run, the mean reference HR of its fold's training videos."""
        v = self.videos(run_key)
        train = self.fold_train_hr(run_key)
        pred = np.array([float(np.mean(train[f])) for f in v.folds], dtype=float)
        return VideoSet(v.ids, v.subjects, pred, v.ref, v.folds, v.meta)
