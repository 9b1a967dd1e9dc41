"""The leaderboard folder on disk: what ``hrbench leaderboard`` may write, replace and remove there.

Why a module of its own: the output folder is the user's (by default a
folder in their data directory, next to the default store; ``--out`` may
name any folder, the checkout's ``leaderboards/`` or ``.`` included), so
it can hold files hrbench did not write -- a hand-written ``README.md``, a
committed board.  The rules:

* **A file hrbench wrote says so.**  Every generated markdown file (board,
  breakdown, index) starts with :data:`~hrbench.boards.board_text.HEADER`; that first
  line is how a later run tells its own files from anyone else's.  A
  target that exists without it is never overwritten: the run refuses,
  before writing anything, with a one-line error.
* **A board's figures live in its folder** ``<out>/<board name>/``, which
  holds PNG files only.  That folder belongs to the board: its PNGs are
  cleared before the board is rendered again (a figure of a method no
  longer on the board does not linger) and removed with the board.  A
  folder of that name holding anything else, with no generated board file
  beside it, is someone else's and the run refuses.
* **Boards are a function of the store.**  Writing every board (no
  ``--dataset``/``--protocol`` filter) removes the generated boards whose
  runs are gone from the store (``hrbench runs rm``) -- the board file,
  its breakdowns and its figures -- and the index lists only generated
  boards.  A filtered write touches only the boards it writes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from ..errors import HrbenchError
from ..store.store import Store
from .board_text import HEADER
from .boards import build_boards, safe_name
from .breakdowns import boards_with_key, render_breakdown
from .render import render

INDEX = "README.md"
BY = "-by-"


def default_out_dir() -> Path:
    """Where boards go without ``--out``: ``leaderboards`` in the user's data directory.

    The same directory as the default store (``$XDG_DATA_HOME`` or
    ``~/.local/share``, then ``hrbench``), so that running the README's
    commands in a checkout never rewrites the committed boards: those are
    written only by ``benchmarks/run_leaderboards.sh`` (``--out leaderboards``).
    """
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "hrbench" / "leaderboards"


def is_generated(path: Path) -> bool:
    """Whether ``path`` is a markdown file ``hrbench leaderboard`` wrote (its first line is HEADER)."""
    marker = HEADER.encode("utf-8")
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(marker) + 2)
    except OSError:  # a folder, unreadable, gone
        return False
    return head.startswith(marker) and head[len(marker):len(marker) + 1] in (b"", b"\n", b"\r")


def breakdown_stem(board: str, key: str) -> str:
    """The file stem of ``board``'s breakdown by ``key`` (any meta key: sanitised like board names)."""
    return f"{board}{BY}{safe_name(key)}"


def board_of_breakdown(stem: str, boards: set[str]) -> str | None:
    """The board in ``boards`` that ``stem`` is a breakdown of (``<board>-by-<key>``), or None.

    Why not a pattern of known keys: a breakdown may be by any meta key an
    adapter provides, and a board's own name may contain ``-by-``; a stem is
    a breakdown exactly when what precedes one of its ``-by-`` is a board.
    """
    at = stem.find(BY)
    while at > 0:
        if stem[:at] in boards:
            return stem[:at]
        at = stem.find(BY, at + 1)
    return None


def _inside(out_dir: Path, name: str) -> Path:
    """``out_dir/name``, refusing anything that would land elsewhere (names are sanitised; this is the guard)."""
    path = out_dir / name
    if path.resolve().parent != out_dir.resolve():
        raise HrbenchError(f"board name {name!r} would be written outside the output directory", out_dir)
    return path


def _refuse_foreign_file(path: Path) -> None:
    if (path.exists() or path.is_symlink()) and not is_generated(path):
        raise HrbenchError(
            "exists and was not written by `hrbench leaderboard`; refusing to overwrite it "
            "(move it, or pass another --out)",
            path,
        )


def _refuse_foreign_folder(fig_dir: Path, board_file: Path) -> None:
    if not (fig_dir.exists() or fig_dir.is_symlink()):
        return
    if not fig_dir.is_dir() or fig_dir.is_symlink():
        raise HrbenchError("the board's figure folder would go here, but this is not a folder "
                           "(move it, or pass another --out)", fig_dir)
    if is_generated(board_file):
        return
    if any(not _is_figure(p) for p in fig_dir.iterdir()):
        raise HrbenchError(
            "folder exists and was not written by `hrbench leaderboard`; refusing to write figures into it "
            "(move it, or pass another --out)",
            fig_dir,
        )


def _is_figure(path: Path) -> bool:
    return path.suffix.lower() == ".png" and path.is_file() and not path.is_symlink()


def _clear_figures(fig_dir: Path) -> None:
    """Remove the PNGs of a board's figure folder, and the folder once empty (anything else stays)."""
    if not fig_dir.is_dir() or fig_dir.is_symlink():
        return
    for p in fig_dir.iterdir():
        if _is_figure(p):
            p.unlink()
    with contextlib.suppress(OSError):  # something that is not ours is left in it
        fig_dir.rmdir()


def _ensure_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".hrbench-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise HrbenchError(f"cannot write leaderboards here ({exc.strerror or exc})", out_dir) from None


def prune_boards(out_dir: Path, keep: set[str]) -> list[Path]:
    """Remove the generated boards of ``out_dir`` not named in ``keep``, with their breakdowns and figures.

    Only files :func:`is_generated` recognises are removed; the index is
    left to :func:`write_index`.  Returns the removed board files.
    """
    removed = []
    for path in sorted(out_dir.glob("*.md")):
        if path.name == INDEX or path.stem in keep or not is_generated(path):
            continue
        if board_of_breakdown(path.stem, keep) is not None:
            continue  # a breakdown of a board still in the store
        path.unlink()
        _clear_figures(out_dir / path.stem)
        removed.append(path)
    return removed


def write_boards(store: Store, out_dir: Path, dataset: str | None = None, protocol: str | None = None,
                 by: str | None = None, on_remove: Callable[[Path], None] | None = None) -> list[Path]:
    """Write every matching board (and, with ``by``, its breakdown); when writing all of them, prune and index.

    Refuses (one line, before writing anything) to replace a file or a
    folder hrbench did not write; see the module docstring.  ``on_remove``
    is told of each board file removed because its runs left the store.
    """
    boards = build_boards(store, dataset, protocol)
    broken_down = {b.name for b in boards_with_key(boards, by)} if by else set()
    _ensure_writable(out_dir)
    everything = dataset is None and protocol is None
    plan = []
    for board in boards:
        path = _inside(out_dir, board.filename)
        fig_dir = _inside(out_dir, board.name)
        breakdown = _inside(out_dir, breakdown_stem(board.name, by) + ".md") if board.name in broken_down else None
        for target in (path, breakdown):
            if target is not None:
                _refuse_foreign_file(target)
        _refuse_foreign_folder(fig_dir, path)
        plan.append((board, path, fig_dir, breakdown))
    index = out_dir / INDEX
    if everything:
        _refuse_foreign_file(index)
    written = []
    for board, path, fig_dir, breakdown in plan:
        _clear_figures(fig_dir)  # render writes the current ones; a figure of a removed row must not linger
        path.write_text(render(board, out_dir, store), encoding="utf-8")
        written.append(path)
        if breakdown is not None:
            breakdown.write_text(render_breakdown(board, by or ""), encoding="utf-8")
            written.append(breakdown)
    if everything:
        removed = prune_boards(out_dir, {b.name for b in boards})
        for p in removed:
            if on_remove is not None:
                on_remove(p)
        if boards or removed or index.exists():
            written.append(write_index(out_dir))
    return written


def write_index(out_dir: Path) -> Path:
    """``<out>/README.md``: every generated board in the directory, by name (and the studies beside them)."""
    generated = {p.stem: p for p in out_dir.glob("*.md") if p.name != INDEX and is_generated(p)}
    boards = sorted(p for stem, p in generated.items() if board_of_breakdown(stem, set(generated) - {stem}) is None)
    lines = [
        HEADER,
        "",
        "# hrbench leaderboards",
        "",
        "Regenerate all of them from the results store with `hrbench leaderboard --all`.",
        "",
    ] + [f"- [{p.stem}]({p.name})" for p in boards]
    studies = sorted((out_dir / "studies").glob("*.md"))
    if studies:
        lines += [
            "",
            "## Studies",
            "",
            "Written by the scripts in `benchmarks/` (`bash benchmarks/run_leaderboards.sh` runs them) "
            "from the same store.",
            "",
        ] + [f"- [{p.stem}](studies/{p.name})" for p in studies]
    path = out_dir / INDEX
    _refuse_foreign_file(path)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
