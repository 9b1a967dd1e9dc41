"""Commands that read the results store: ``leaderboard``, ``compare``, ``site``, ``export``, ``runs``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import HrbenchError
from .common import read_store, store_path


def cmd_leaderboard(args: argparse.Namespace) -> int:
    """``hrbench leaderboard``: the boards as markdown (and, with ``--by KEY``, their breakdowns)."""
    from ..boards.board_files import default_out_dir, write_boards

    store = read_store(args)

    def removed(p: Path) -> None:
        print(f"removed {p} (its runs are no longer in the store)", file=sys.stderr)

    try:
        out = Path(args.out) if args.out else default_out_dir()
        written = write_boards(store, out, args.dataset, args.protocol, args.by, on_remove=removed)
    finally:
        store.close()
    if not any(p.name != "README.md" for p in written):
        raise HrbenchError("no complete runs in the store match", store_path(args))
    for p in written:
        print(p)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``hrbench compare A B``: subject-level paired test of two methods on one board."""
    from ..boards.compare import compare

    store = read_store(args)
    try:
        # An unpairable request (unknown method, different protocol hash or fingerprint,
        # no common recordings) is a one-line ConfigError, exit status 2.
        print(compare(store, args.methods[0], args.methods[1], args.dataset, args.protocol))
    finally:
        store.close()
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    """``hrbench site``: the store as a static, offline website (boards, plots, one page per run)."""
    from ..site import build_site

    store = read_store(args)
    try:
        written = build_site(store, Path(args.out))
    finally:
        store.close()
    print(f"{Path(args.out) / 'index.html'} ({len(written)} files)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``hrbench export``: runs, per-video and per-window predictions as CSV or Parquet tables."""
    from ..boards.frames import export_frames, read_results

    store = read_store(args)
    try:
        frames = read_results(store)
    finally:
        store.close()
    for p in export_frames(frames, Path(args.out), args.format):
        print(p)
    return 0


def _remove_runs(args: argparse.Namespace) -> int:
    from ..store.runs import remove_runs
    from ..store.store import Store

    if not args.keys:
        raise HrbenchError("usage: hrbench runs rm KEY [KEY ...] --store PATH (see `hrbench runs list`)")
    if not args.store:
        raise HrbenchError("hrbench runs rm needs --store PATH (deleting is never done on an implied store)")
    path = store_path(args)
    if not path.is_file():
        raise HrbenchError("results store not found", path)
    store = Store(path)
    try:
        counts = remove_runs(store, args.keys)
    finally:
        store.close()
    rest = ", ".join(f"{n} {t}" for t, n in counts.items() if t != "runs")
    print(f"deleted {counts.get('runs', 0)} run(s) ({rest}) from {path}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """List stored runs, or delete some (with their folds and predictions) in one transaction."""
    from ..store.runs import list_runs

    if args.action == "rm":
        return _remove_runs(args)
    store = read_store(args)
    try:
        rows = list_runs(store)
    finally:
        store.close()
    t = Table(title=f"runs in {store_path(args)}")
    for col in ("Key", "Method", "Dataset", "Protocol", "Seed", "Complete", "Created"):
        t.add_column(col)
    for r in rows:
        done = "yes" if r.complete else f"[red]failed[/]: {escape(r.failed)}" if r.failed else "[yellow]no[/]"
        t.add_row(r.key, escape(r.method), escape(r.dataset), escape(r.protocol), str(r.seed), done, r.created)
    Console(width=200, emoji=False).print(t)
    return 0
