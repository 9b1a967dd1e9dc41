"""Breakdowns: a board's errors grouped by a property of the recordings.

A breakdown key is ``subject``, ``hr_range`` (the reference HR in
:data:`HR_RANGES`), or any key of the recordings' ``meta`` that their adapter
provides (``scenario``, ``skin_tone``, ``country``, ...): hrbench keeps no
list of them, so a new adapter's keys work without a change here.  One
place says how a video falls into a group (:func:`group_label`), for the
markdown breakdowns and the site's figures alike.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ..errors import ConfigError
from .board_text import HEADER, fmt
from .boards import Board

HR_RANGES = [(0, 60), (60, 80), (80, 100), (100, 120), (120, 1000)]
#: The keys every board has, whatever its adapter: they come from the results, not the recordings' meta.
BUILT_IN_KEYS = ("subject", "hr_range")


def hr_range_label(lo: int, hi: int) -> str:
    return f"{lo}–{hi} bpm" if hi < 1000 else f"≥{lo} bpm"


HR_RANGE_LABELS = [hr_range_label(lo, hi) for lo, hi in HR_RANGES]


def group_label(by: str, subject: str, ref: float, meta: dict[str, Any]) -> str:
    """The group a video falls in under breakdown key ``by`` ("n/a" when its meta lacks the key)."""
    if by == "subject":
        return subject
    if by == "hr_range":
        for lo, hi in HR_RANGES:
            if lo <= ref < hi:
                return hr_range_label(lo, hi)
        return "?"
    return str(meta.get(by, "n/a"))


def group_order(by: str, label: str) -> tuple[int, str]:
    """Sort key of a group: HR ranges from slow to fast, anything else by name."""
    if by == "hr_range":
        return (HR_RANGE_LABELS.index(label) if label in HR_RANGE_LABELS else 99, label)
    return (0, label)


def meta_keys(board: Board) -> list[str]:
    """Every meta key any shown video of ``board`` carries, sorted."""
    return sorted({k for r in board.rows if r.videos is not None for m in r.videos.meta for k in m})


def breakdown_keys(board: Board) -> list[str]:
    """The keys ``board`` can be broken down by: :data:`BUILT_IN_KEYS`, then its videos' meta keys."""
    return [*BUILT_IN_KEYS, *(k for k in meta_keys(board) if k not in BUILT_IN_KEYS)]


def boards_with_key(boards: list[Board], by: str) -> list[Board]:
    """The ranked boards whose videos carry key ``by``; a one-line ConfigError naming the keys if none does.

    Boards without a ranked row have nothing to break down and are never an error.
    """
    ranked = [b for b in boards if b.ranked]
    having = [b for b in ranked if by in breakdown_keys(b)]
    if ranked and not having:
        keys = sorted({k for b in ranked for k in breakdown_keys(b)})
        raise ConfigError(f"--by {by}: no recording on the selected boards has that key; available: {', '.join(keys)}")
    return having


def breakdown_table(board: Board, by: str) -> list[str]:
    """MAE (bpm) per group and method (mean over seeds of each video's |error|), plus the group's video count."""
    method_rows = [r for r in board.rows if r.videos is not None]
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    counts: dict[str, int] = defaultdict(int)
    for row in method_rows:
        v = row.videos
        for i in range(len(v.ids)):
            key = group_label(by, v.subjects[i], v.ref[i], v.meta[i])
            groups[key][row.label].append(float(v.abs_err[i]))
            if row is method_rows[0]:
                counts[key] += 1
    labels = [r.label for r in method_rows]
    lines = [f"| {by} | n | " + " | ".join(labels) + " |", "|---|---:|" + "---:|" * len(labels)]
    for key in sorted(groups, key=lambda k: group_order(by, k)):
        cells = [fmt(float(np.mean(groups[key][lab]))) if groups[key][lab] else "–" for lab in labels]
        lines.append(f"| {key} | {counts[key]} | " + " | ".join(cells) + " |")
    return lines


def render_breakdown(board: Board, by: str) -> str:
    """The markdown file of one board's breakdown by ``by``."""
    lines = [HEADER, "", f"# {board.label} · {board.protocol}: MAE (bpm) by {by}", ""]
    lines += breakdown_table(board, by)
    lines += ["", f"Regenerate: `hrbench leaderboard --dataset {board.label} --protocol {board.protocol} --by {by}`"]
    return "\n".join(lines) + "\n"
