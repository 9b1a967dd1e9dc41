"""``hrbench inspect``: one recording's regions, signals and heart rates, drawn."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from .common import err_console


def cmd_inspect(args: argparse.Namespace) -> int:
    """Write the ROI / signal / HR pictures of one recording and print their paths.

    The quickest way to tell whether a bad number comes from the face (lost,
    mis-framed), the signal (no pulse in the trace) or the estimator (wrong
    peak): see :mod:`hrbench.roi_view`.
    """
    from ..roi_view import inspect_recording

    res = inspect_recording(
        args.dataset,
        args.recording,
        data_root=Path(args.data_root) if args.data_root else None,
        out=Path(args.out) if args.out else None,
        method=args.method,
        n_frames=args.frames,
        landmarker=args.landmarker,
        seconds=args.seconds,
        protocol=args.protocol,
        cache_root=Path(args.cache) if args.cache else None,
    )
    if math.isfinite(res.hr_pulse) and math.isfinite(res.hr_ref):
        line = (f"[dim]{res.recording_id}: pulse HR {res.hr_pulse:.1f} bpm, reference {res.hr_ref:.1f} bpm, "
                f"face lost in {100 * res.lost_fraction:.1f} % of {res.span[0]:.1f}-{res.span[1]:.1f} s[/]")
    else:
        line = f"[dim]{res.recording_id}: see {res.summary}[/]"
    err_console().print(line, highlight=False, soft_wrap=True)
    for p in res.paths:
        print(p)
    return 0
