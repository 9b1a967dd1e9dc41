"""Write the README's headline from the committed store: tables and claims come from the boards' tests.

Replaces the text between ``<!-- headline:start -->`` and
``<!-- headline:end -->`` in README.md with, for each headline board, a
compact table (MAE, HRme, r with subject-bootstrap intervals, seeds, the
baseline test), the board's power (the smallest p_holm it could give, the
difference it could detect) and the board's verdicts (:func:`hrbench.boards.inference.verdicts`),
so no sentence in the README claims more than a computed test supports.
``--check`` exits 1 if the README is not what the store gives (CI-able).

    python benchmarks/readme_headline.py [--store results/hrbench.sqlite] [--check]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from hrbench.boards.boards import build_boards
from hrbench.boards.inference import baseline_cell, board_power, verdicts
from hrbench.boards.render import power_line
from hrbench.errors import HrbenchError
from hrbench.store.store import Store

BOARDS = (
    ("synthetic", "whole_video", "the field's rule: one HR per video from each method's pulse"),
    ("synthetic", "subject_exclusive", "SynRhythm's rule: mean of 20 random 10-s clip predictions per video"),
)
START, END = "<!-- headline:start -->", "<!-- headline:end -->"


def _cell(row, field: str, digits: int = 2) -> str:  # noqa: ANN001 - a boards.Row
    v, iv = getattr(row.metrics, field), row.ci.get(field)
    return f"{v:.{digits}f} [{iv.low:.{digits}f}, {iv.high:.{digits}f}]" if iv is not None else f"{v:.{digits}f}"


def headline(store: Store) -> str:
    out: list[str] = []
    for dataset, protocol, what in BOARDS:
        boards = build_boards(store, dataset, protocol)
        if not boards:
            raise HrbenchError(f"no {dataset} · {protocol} board in the store", store.path)
        b = boards[0]
        out += [
            f"### {dataset} · {protocol} ({what})",
            "",
            f"From [`leaderboards/{b.filename}`](leaderboards/{b.filename}); 95 % subject-bootstrap intervals, "
            "learned methods averaged over their training seeds:",
            "",
            "| Method | MAE (bpm) | HRme (bpm) | r | seeds | beats training-mean baseline |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for row in b.rows:
            vs = "–" if row.is_baseline else baseline_cell(b.tests.against_baseline(row.label) if b.tests else None)
            seeds = str(len(row.seeds)) if row.seeds else "–"
            out.append(f"| {row.label} | {_cell(row, 'mae')} | {_cell(row, 'hr_me')} | {_cell(row, 'r', 3)} | {seeds} "
                       f"| {vs} |")
        for nr in b.not_run:
            out.append(f"| {nr.method} | not run: {nr.reason} | | | | |")
        power = board_power(b.tests) if b.tests is not None else None
        if power is not None:
            out += ["", power_line(power).removeprefix("- ") + "."]
        out += ["", "What the tests say (subject-level sign-flip permutation tests, Holm-corrected over the board):",
                ""]
        out += [f"- {v}" for v in verdicts(b)] + [""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=Path("results/hrbench.sqlite"))
    ap.add_argument("--readme", type=Path, default=Path("README.md"))
    ap.add_argument("--check", action="store_true", help="exit 1 if the README headline differs from the store's")
    args = ap.parse_args(argv)
    try:
        store = Store(args.store, readonly=True)
        try:
            text = headline(store)
        finally:
            store.close()
    except HrbenchError as exc:
        print(f"readme_headline: error: {exc}", file=sys.stderr)
        return 2
    readme = args.readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(readme):
        print(f"readme_headline: error: {args.readme}: no {START} ... {END} markers", file=sys.stderr)
        return 2
    new = pattern.sub(lambda _m: f"{START}\n{text}\n{END}", readme)
    if args.check:
        return 0 if new == readme else 1
    args.readme.write_text(new, encoding="utf-8")
    print(args.readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
