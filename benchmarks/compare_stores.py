"""Are two results stores the same results?  Every stored row compared, exit 1 on any difference.

Usage: ``python benchmarks/compare_stores.py A.sqlite B.sqlite [--show N]``

Why: a refactor must leave every number a run stores unchanged -- the run
keys (the hash of everything that changes a run's numbers), the per-clip /
per-window and per-video predictions, the folds' sizes, training references
and notes, and each run's record.  Run the same commands before and after
(``benchmarks/identity_runs.sh``) into two stores and compare them here.

Rows are matched by each table's primary key (``runs`` by ``run_key``,
``clip_predictions`` by run, recording and clip index, ...); a row in one
store only is a difference, and so is any value that is not exactly equal
(floats too: the same code on the same machine gives the same bits).
Tables are read from the files themselves, so a table added to the schema
later is compared without changing this script.

Ignored, because they legitimately differ between two executions of the
same commands and change no result (:data:`IGNORED`, :data:`IGNORED_NOTES`):

* ``runs.created_at`` -- the wall-clock time the run was opened;
* ``runs.command`` -- the command line as typed (``--store`` names another
  file); what ran is in the compared columns (method, params, protocol,
  dataset, seed, ...) and in the run key;
* ``runs.protocol_path`` -- where the protocol file was found, relative to
  the working directory or checkout (another checkout, another path); its
  content is pinned by ``protocol_sha256``, which is compared;
* ``folds.fit_seconds``, ``folds.predict_seconds`` -- timings;
* the note ``synthetic_pretrain`` (in ``runs.notes_json`` and
  ``folds.notes_json``) -- whether a SynRhythm method's synthetic checkpoint
  was trained in this execution or found in the cache; the checkpoint is
  the same either way (``synthetic_checkpoint``, named by its content, is
  compared).

Everything else is compared, ``versions_json`` included (library versions,
thread plan, CPU kernels): two stores from one machine and environment must
agree on it, and a difference there explains any other.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: (table, column) pairs never compared; see the module docstring for why each may differ.
IGNORED = {
    ("runs", "created_at"),
    ("runs", "command"),
    ("runs", "protocol_path"),
    ("folds", "fit_seconds"),
    ("folds", "predict_seconds"),
}
#: Keys of a JSON ``notes_json`` column left out of the comparison (see the module docstring).
IGNORED_NOTES = {"synthetic_pretrain"}


def open_store(path: Path) -> sqlite3.Connection:
    """A read-only connection; a missing file or one that is not a store is a one-line error."""
    if not path.is_file():
        raise SystemExit(f"compare_stores: {path}: no such file")
    db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    try:
        db.execute("SELECT COUNT(*) FROM runs").fetchone()
    except sqlite3.DatabaseError as exc:
        raise SystemExit(f"compare_stores: {path}: not an hrbench results store ({exc})") from None
    return db


def tables(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


def columns(db: sqlite3.Connection, table: str) -> tuple[list[str], list[str]]:
    """A table's columns, and its primary-key columns in key order (all columns when it has no key)."""
    info = list(db.execute(f'PRAGMA table_info("{table}")'))
    names = [r[1] for r in info]
    key = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    return names, key or names


def comparable(table: str, column: str, value: Any) -> Any:
    """The value as compared: notes without :data:`IGNORED_NOTES` (canonical JSON), anything else as stored."""
    if column == "notes_json" and isinstance(value, str):
        try:
            notes = json.loads(value)
        except ValueError:
            return value
        if isinstance(notes, dict):
            return json.dumps({k: v for k, v in notes.items() if k not in IGNORED_NOTES}, sort_keys=True)
    return value


def rows(db: sqlite3.Connection, table: str, names: list[str], key: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Every row of ``table`` by its key, with only the compared columns."""
    kept = [c for c in names if (table, c) not in IGNORED]
    cols = ", ".join(f'"{c}"' for c in names)
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in db.execute(f'SELECT {cols} FROM "{table}"'):
        row = dict(zip(names, r, strict=True))
        k = tuple(row[c] for c in key)
        out[k] = {c: comparable(table, c, row[c]) for c in kept}
    return out


def same(a: Any, b: Any) -> bool:
    """Exactly equal, with the same SQLite type (1 and 1.0 differ: a column changed type)."""
    return type(a) is type(b) and a == b


def differences(a: sqlite3.Connection, b: sqlite3.Connection) -> Iterator[str]:
    """One line per difference: a table present in one store only, a row in one only, a value that differs."""
    ta, tb = tables(a), tables(b)
    for t in sorted(set(ta) ^ set(tb)):
        yield f"table {t}: only in {'A' if t in ta else 'B'}"
    for t in sorted(set(ta) & set(tb)):
        names_a, key = columns(a, t)
        names_b, key_b = columns(b, t)
        if names_a != names_b or key != key_b:
            yield f"table {t}: columns differ: A {names_a}, B {names_b}"
            continue
        ra, rb = rows(a, t, names_a, key), rows(b, t, names_b, key)
        for k in sorted(set(ra) | set(rb), key=repr):
            where = f"{t}[{', '.join(map(str, k))}]"
            if k not in rb or k not in ra:
                yield f"{where}: only in {'A' if k in ra else 'B'}"
                continue
            for c, va in ra[k].items():
                if not same(va, rb[k][c]):
                    yield f"{where}.{c}: A={va!r} B={rb[k][c]!r}"


def counts(db: sqlite3.Connection) -> str:
    """"3 runs, 9 folds, ..." -- what was compared."""
    sizes = {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables(db)}
    return ", ".join(f"{n} {t}" for t, n in sizes.items())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", type=Path, help="first store (e.g. before a change)")
    ap.add_argument("b", type=Path, help="second store (e.g. after it)")
    ap.add_argument("--show", type=int, default=40, help="print at most this many differences (default 40)")
    args = ap.parse_args(argv)
    a, b = open_store(args.a), open_store(args.b)
    n = 0
    for line in differences(a, b):
        n += 1
        if n <= args.show:
            print(line)
    ignored = ", ".join(sorted(f"{t}.{c}" for t, c in IGNORED)) + ", notes " + ", ".join(sorted(IGNORED_NOTES))
    if n:
        more = f" ({n - args.show} not shown)" if n > args.show else ""
        print(f"{n} difference(s){more} between {args.a} and {args.b} (ignoring {ignored})", file=sys.stderr)
        return 1
    print(f"identical: {counts(a)} (ignoring {ignored})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
