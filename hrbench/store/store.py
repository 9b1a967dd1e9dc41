"""The results store: every per-clip and per-video prediction, with provenance.

SQLite, one file (``--store``, ``$HRBENCH_STORE``, default
``$XDG_DATA_HOME/hrbench/results.sqlite``, i.e. ``~/.local/share/hrbench/``:
outside any checkout, so a first run never dirties one; the committed
``results/hrbench.sqlite`` behind the shipped leaderboards is written only by
``benchmarks/run_leaderboards.sh``).  Readers (leaderboards, compare) open
it read-only and never migrate it.  A *run* is identified by a key hashed from
everything that determines its numbers -- method, effective parameters,
profile, protocol hash, dataset fingerprint(s), seed, training fraction and
hrbench version -- so re-running the same command finds its folds already
stored and computes nothing twice (no duplicate rows), while changing any
ingredient starts a new run.  The dataset fingerprint hashes the content of
every recording's inputs (:mod:`hrbench.run.provenance`); the per-recording
hashes are kept once per fingerprint in ``inputs``, and each run keeps its
``base_key`` (its key without the data), so a run on changed data finds the
stored one and says what changed.  Folds are written in one transaction
each: a run interrupted mid-way resumes at the first missing fold.  A write
SQLite refuses (a full disk, a locked file) ends in one line; the
transaction is rolled back, so every run stored before stays intact.

Leaderboards are a pure function of this file.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HrbenchError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_key TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    profile TEXT NOT NULL,
    params_json TEXT NOT NULL,
    protocol TEXT NOT NULL,
    protocol_path TEXT NOT NULL,
    protocol_sha256 TEXT NOT NULL,
    protocol_desc TEXT NOT NULL,
    dataset TEXT NOT NULL,
    train_dataset TEXT NOT NULL,
    dataset_fingerprint TEXT NOT NULL,
    seed INTEGER NOT NULL,
    train_fraction REAL NOT NULL,
    versions_json TEXT NOT NULL,
    notes_json TEXT NOT NULL DEFAULT '{}',
    skipped_json TEXT NOT NULL DEFAULT '[]',
    n_folds INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    command TEXT NOT NULL DEFAULT '',
    dataset_label TEXT NOT NULL DEFAULT '',
    threads INTEGER NOT NULL DEFAULT 0,
    base_key TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS inputs (
    fingerprint TEXT PRIMARY KEY,
    inputs_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS folds (
    run_key TEXT NOT NULL REFERENCES runs(run_key),
    fold INTEGER NOT NULL,
    n_train_videos INTEGER NOT NULL,
    n_train_clips INTEGER NOT NULL,
    n_test_videos INTEGER NOT NULL,
    train_hr_json TEXT NOT NULL,
    fit_seconds REAL NOT NULL,
    predict_seconds REAL NOT NULL,
    notes_json TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_key, fold)
);
CREATE TABLE IF NOT EXISTS clip_predictions (
    run_key TEXT NOT NULL,
    fold INTEGER NOT NULL,
    recording_id TEXT NOT NULL,
    clip_index INTEGER NOT NULL,
    start_s REAL NOT NULL,
    hr_pred REAL,
    hr_ref REAL NOT NULL,
    PRIMARY KEY (run_key, recording_id, clip_index)
);
CREATE TABLE IF NOT EXISTS video_predictions (
    run_key TEXT NOT NULL,
    fold INTEGER NOT NULL,
    recording_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    hr_pred REAL NOT NULL,
    hr_ref REAL NOT NULL,
    meta_json TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_key, recording_id)
);
"""


def default_store_path() -> Path:
    """``$HRBENCH_STORE``, else ``results.sqlite`` in the user's data directory."""
    env = os.environ.get("HRBENCH_STORE")
    if env:
        return Path(env)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "hrbench" / "results.sqlite"


@dataclass(frozen=True)
class FoldResult:
    fold: int
    n_train_videos: int
    n_train_clips: int
    train_hr: list[float]
    fit_seconds: float
    predict_seconds: float
    clips: list[tuple[str, int, float, float | None, float]]  # recording, unit index, start, pred, ref
    videos: list[tuple[str, str, float, float, dict[str, Any]]]  # recording, subject, pred, ref, meta
    notes: dict[str, Any] = field(default_factory=dict)  # what the method recorded in this fold


#: Columns added after the first release: (name, SQL definition). Older stores gain them on open.
MIGRATIONS = (
    ("runs", "dataset_label", "TEXT NOT NULL DEFAULT ''"),
    ("runs", "threads", "INTEGER NOT NULL DEFAULT 0"),
    ("folds", "notes_json", "TEXT NOT NULL DEFAULT '{}'"),
    ("runs", "base_key", "TEXT NOT NULL DEFAULT ''"),
)


def write_error(path: Path, exc: sqlite3.Error) -> HrbenchError:
    """One line for a write SQLite refused; the transaction was rolled back, earlier runs are intact."""
    return HrbenchError(
        f"cannot write to the results store (SQLite: {exc}); nothing of this step was stored and earlier runs are "
        "intact: free space (or close the program holding the file) and run the same command again to resume",
        path,
    )


def _cannot_write(exc: sqlite3.Error) -> bool:
    """SQLite errors that say the file cannot be written now, as opposed to a file that is not a store."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and any(
        w in text for w in ("full", "disk i/o", "locked", "readonly", "read-only", "unable to open"))


class Store:
    """One SQLite results file; opening it checks it is usable before any heavy work starts."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if readonly:
            if not self.path.is_file():
                raise HrbenchError("results store not found; run `hrbench run` first or pass --store", self.path)
            try:
                self.db = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True)
                self.db.execute("SELECT COUNT(*) FROM runs").fetchone()
            except sqlite3.DatabaseError as exc:
                raise HrbenchError(f"not a usable hrbench results store (SQLite: {exc})", self.path) from None
            return
        if self.path.is_dir():
            raise HrbenchError("results store path is a directory; give a file such as results.sqlite", self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HrbenchError(f"cannot create the results store's folder ({exc.strerror})", self.path.parent) from None
        writable = os.access(self.path, os.W_OK) if self.path.exists() else os.access(self.path.parent, os.W_OK)
        if not writable:
            raise HrbenchError("results store is not writable (read-only file or folder)", self.path)
        try:
            self.db = sqlite3.connect(self.path)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
            with self.db:
                for table, name, sql in MIGRATIONS:
                    if name not in {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql}")
        except sqlite3.DatabaseError as exc:
            if _cannot_write(exc):
                raise write_error(self.path, exc) from None
            raise HrbenchError(f"not a usable hrbench results store (SQLite: {exc})", self.path) from None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction; a write SQLite refuses is rolled back and becomes :func:`write_error`."""
        try:
            with self.db:
                yield self.db
        except sqlite3.OperationalError as exc:
            if not _cannot_write(exc):  # a bug (bad SQL, missing column) must not read as a full disk
                raise
            raise write_error(self.path, exc) from None

    def record_inputs(self, fingerprint: str, inputs: dict[str, dict[str, str]]) -> None:
        """Keep the per-recording input hashes behind ``fingerprint`` (once; later runs share them)."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO inputs (fingerprint, inputs_json) VALUES (?, ?)",
                       (fingerprint, json.dumps(inputs, sort_keys=True)))

    def previous_inputs(self, base_key: str, run_key: str) -> dict[str, dict[str, str]] | None:
        """Inputs of the newest other stored run with this ``base_key`` (the same run on other data), if any."""
        row = self.db.execute(
            "SELECT i.inputs_json FROM runs r JOIN inputs i ON i.fingerprint = r.dataset_fingerprint"
            " WHERE r.base_key = ? AND r.run_key != ? ORDER BY r.created_at DESC, r.run_key DESC LIMIT 1",
            (base_key, run_key),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def ensure_run(self, run_key: str, row: dict[str, Any]) -> None:
        cols = ["run_key", *row]
        with self._tx() as db:
            db.execute(
                f"INSERT OR IGNORE INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [run_key, *row.values()],
            )

    def update_run(self, run_key: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as db:
            db.execute(f"UPDATE runs SET {sets} WHERE run_key = ?", [*fields.values(), run_key])

    def done_folds(self, run_key: str) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT fold FROM folds WHERE run_key = ?", (run_key,))}

    def write_fold(self, run_key: str, res: FoldResult) -> None:
        """All rows of one fold in one transaction (all or nothing)."""
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO clip_predictions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_key, res.fold, *c) for c in res.clips],
            )
            db.executemany(
                "INSERT OR REPLACE INTO video_predictions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_key, res.fold, rid, subj, p, r, json.dumps(meta, sort_keys=True))
                 for rid, subj, p, r, meta in res.videos],
            )
            db.execute(
                "INSERT OR REPLACE INTO folds (run_key, fold, n_train_videos, n_train_clips, n_test_videos,"
                " train_hr_json, fit_seconds, predict_seconds, notes_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_key,
                    res.fold,
                    res.n_train_videos,
                    res.n_train_clips,
                    len(res.videos),
                    json.dumps(res.train_hr),
                    res.fit_seconds,
                    res.predict_seconds,
                    json.dumps(res.notes, sort_keys=True, default=str),
                ),
            )

    def has_column(self, table: str, column: str) -> bool:
        return column in {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}

    def fold_notes(self, run_key: str) -> list[dict[str, Any]]:
        """Each stored fold's notes, in fold order."""
        rows = self.db.execute("SELECT notes_json FROM folds WHERE run_key = ? ORDER BY fold", (run_key,))
        return [json.loads(r[0]) for r in rows]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        try:
            return list(self.db.execute(sql, params))
        finally:
            self.db.row_factory = None
