"""Listing and deleting stored runs (``hrbench runs list`` / ``hrbench runs rm``).

Why a module of its own: the SQL schema is owned by :mod:`hrbench.store.store`;
this module only reads ``runs`` and deletes by ``run_key`` through
:meth:`Store.query` and :attr:`Store.db`, so it cannot drift from the schema.
Deletion finds every table with a ``run_key`` column (folds, clip and video
predictions, and whatever a later version adds) and removes the run from all
of them in one transaction: a store never holds predictions of a run it no
longer lists, even if the deletion is interrupted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import ConfigError
from .store import Store


@dataclass(frozen=True)
class RunRow:
    """One stored run, as ``hrbench runs list`` shows it."""

    key: str
    method: str
    dataset: str
    protocol: str
    seed: int
    complete: bool
    created: str
    failed: str = ""  # why the method failed, when it did (the same command retries it)


def _failure(notes_json: str) -> str:
    try:
        notes = json.loads(notes_json or "{}")
    except ValueError:
        return ""
    return str(notes.get("failed", "")) if isinstance(notes, dict) else ""


def list_runs(store: Store) -> list[RunRow]:
    """Every run in the store, oldest first."""
    has_label = store.has_column("runs", "dataset_label")
    label = "CASE WHEN dataset_label != '' THEN dataset_label ELSE dataset END" if has_label else "dataset"
    rows = store.query(
        f"SELECT run_key, method, {label} AS label, protocol, seed, complete, created_at, notes_json FROM runs "
        "ORDER BY created_at, run_key"
    )
    return [RunRow(r["run_key"], r["method"], r["label"], r["protocol"], int(r["seed"]), bool(r["complete"]),
                   r["created_at"], "" if r["complete"] else _failure(r["notes_json"])) for r in rows]


def resolve_keys(store: Store, keys: list[str]) -> list[str]:
    """Full run keys for ``keys`` (each a full key or a unique prefix); ConfigError naming any that is not."""
    all_keys = [r["run_key"] for r in store.query("SELECT run_key FROM runs")]
    out: list[str] = []
    problems: list[str] = []
    for k in keys:
        if k in all_keys:
            out.append(k)
            continue
        matches = [a for a in all_keys if a.startswith(k)] if k else []
        if len(matches) == 1:
            out.append(matches[0])
        elif matches:
            problems.append(f"{k!r} matches {len(matches)} runs")
        else:
            problems.append(f"no run {k!r}")
    if problems:
        raise ConfigError(f"{'; '.join(problems)} in {store.path} (see `hrbench runs list`); nothing deleted")
    return list(dict.fromkeys(out))


def _run_tables(store: Store) -> list[str]:
    """Tables holding a ``run_key`` column, children first and ``runs`` last."""
    names = [r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    with_key = [n for n in names if store.has_column(n, "run_key")]
    return [n for n in with_key if n != "runs"] + (["runs"] if "runs" in with_key else [])


def remove_runs(store: Store, keys: list[str]) -> dict[str, int]:
    """Delete the runs ``keys`` (full keys or unique prefixes) and all their rows, in one transaction.

    Returns rows deleted per table.  Unknown or ambiguous keys delete nothing.
    """
    full = resolve_keys(store, keys)
    counts: dict[str, int] = {}
    marks = ", ".join("?" * len(full))
    with store.db:  # one transaction: all of it, or (on any error) none of it
        for table in _run_tables(store):
            cur = store.db.execute(f'DELETE FROM "{table}" WHERE run_key IN ({marks})', full)
            counts[table] = cur.rowcount
    return counts
