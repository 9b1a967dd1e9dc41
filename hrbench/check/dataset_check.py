"""``hrbench datasets check NAME ROOT [--protocol P]``: one answer for the copy and the protocol.

Why a module of its own: the answer combines four sources -- the adapter's
``check`` (is the copy intact, by the adapter's own rules), the core's
per-recording checks (:mod:`hrbench.check.recording_check`: what every run needs
of a recording -- frames, frame times, ground truth covering the video --
run after the adapter's own, so an adapter's check that only parses files
cannot hide them), :mod:`hrbench.check.protocol_check` (can the protocol score
each recording and fill its folds), and the adapter's ``left_out`` (what it
skips by design, with the reason) -- and must read the same way for every
adapter.  "no problems found" means a run of that
protocol will score every recording listed, face detection aside; anything
else is a one-line error naming the file, a warning (a repaired glitch, a
shortened window), or a recording left out with its reason.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..clips.protocol import Protocol
from ..data.dataset import DatasetAdapter, LeftOut, Problem, errors_only
from ..data.recording import Recording
from .protocol_check import protocol_problems
from .recording_check import check_recording

#: Recording ids shown per left-out reason before "and N more".
SHOW_LEFT_OUT = 5


@dataclass
class CheckReport:
    """What ``datasets check`` found; ``scored`` are the recordings the protocol will score."""

    protocol: Protocol
    scored: list[Recording]
    errors: list[Problem] = field(default_factory=list)  # the copy: a run stops on these
    protocol_errors: list[Problem] = field(default_factory=list)  # the protocol cannot score these
    warnings: list[Problem] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.errors or self.protocol_errors)


def core_checks(recordings: list[Recording], seen: list[Problem], deep: bool) -> tuple[list[Recording], list[Problem]]:
    """The core's checks of each recording: those without an error, and the problems not already in ``seen``.

    A first-party adapter's check already makes some of these checks, with
    the same functions; a problem it reported is not reported twice.
    """
    known = set(seen)
    usable: list[Recording] = []
    problems: list[Problem] = []
    for rec in recordings:
        found = [p for p in check_recording(rec, deep) if p not in known]
        problems += found
        known.update(found)
        if not errors_only(found):
            usable.append(rec)
    return usable, problems


def check_dataset(adapter: DatasetAdapter, root: Path, protocol: Protocol, deep: bool = False) -> CheckReport:
    """Run the adapter's check, the core's, then the protocol's, and list what the adapter leaves out."""
    if "deep" in inspect.signature(adapter.check).parameters:
        recs, problems = adapter.check(root, deep=deep)
    else:  # an adapter written against the older signature: check(root)
        recs, problems = adapter.check(root)
    recs, core = core_checks(recs, problems, deep)
    problems = [*problems, *core]
    scored, proto = protocol_problems(adapter, root, recs, protocol)
    return CheckReport(
        protocol,
        scored,
        errors=errors_only(problems),
        protocol_errors=proto,
        warnings=[p for p in problems if not p.is_error],
        left_out=list(adapter.left_out(root)),
    )


def _left_out_lines(left: list[LeftOut]) -> list[str]:
    by_reason: dict[str, list[LeftOut]] = defaultdict(list)
    for x in left:
        by_reason[x.reason].append(x)
    lines = []
    for reason, items in by_reason.items():
        ids = [x.recording_id or x.path for x in items]
        more = f" and {len(ids) - SHOW_LEFT_OUT} more" if len(ids) > SHOW_LEFT_OUT else ""
        lines.append(f"  left out ({len(ids)}): {reason}: {', '.join(ids[:SHOW_LEFT_OUT])}{more}")
    return lines


def print_report(report: CheckReport, name: str, root: Path, out: Console, *, default_protocol: bool) -> int:
    """Print the report; the exit status (1 when a recording would stop a run or go unscored)."""
    by_subject: dict[str, int] = defaultdict(int)
    for r in report.scored:
        by_subject[r.subject] += 1
    p = report.protocol
    out.print(
        f"[bold]{escape(name)}[/] at {escape(str(root))}: {len(report.scored)} recordings that protocol "
        f"{escape(p.name)} will score, {len(by_subject)} subjects",
        highlight=False,
        soft_wrap=True,
    )
    if default_protocol:
        out.print(f"(protocol {escape(p.name)} is `hrbench run`'s default; --protocol checks another)", highlight=False)
    t = Table()
    t.add_column("Subject")
    t.add_column("Recordings", justify="right")
    for s in sorted(by_subject):
        t.add_row(escape(s), str(by_subject[s]))
    out.print(t)

    def lines(items: list[Problem], tag: str) -> None:
        for q in items:
            out.print(f"  {tag}: {q.path}: {q.message}", highlight=False, soft_wrap=True, markup=False)

    if report.left_out:
        out.print(f"{len(report.left_out)} recording(s) left out by the adapter, by design (not errors):")
        for line in _left_out_lines(report.left_out):
            out.print(line, highlight=False, soft_wrap=True, markup=False)
    if report.warnings:
        out.print(f"[yellow]{len(report.warnings)} warning(s) (the recordings stay usable):[/]")
        lines(report.warnings, "warning")
    if report.errors:
        out.print(f"[red]{len(report.errors)} error(s) (these recordings are unusable):[/]")
        lines(report.errors, "error")
    if report.protocol_errors:
        out.print(
            f"[red]{len(report.protocol_errors)} error(s) under protocol {escape(p.name)} (a run stops on them; "
            "--skip-invalid leaves those recordings out and records why):[/]"
        )
        lines(report.protocol_errors, "error")
    if not report.ok:
        return 1
    out.print("[green]no errors found[/]" if report.warnings else "[green]no problems found[/]")
    return 0
