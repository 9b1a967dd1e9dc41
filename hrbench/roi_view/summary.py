"""``summary.txt``: the numbers behind the two figures, one ``key value`` line each."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.recording import Recording
from ..traces.traces import Traces
from .frames import lost_runs
from .signals import Pulse, Reference


@dataclass(frozen=True)
class InspectResult:
    """Paths written and the numbers in the summary (NaN where unavailable)."""

    out_dir: Path
    frames_png: Path
    signals_png: Path
    summary: Path
    recording_id: str
    fps: float
    n_frames: int
    span: tuple[float, float]
    lost_fraction: float
    hr_pulse: float
    hr_ref: float
    shown_frames: list[int] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [self.frames_png, self.signals_png, self.summary]


@dataclass(frozen=True)
class Inspected:
    """What was inspected and how: the recording, its traces and span, the method, landmarker and signals."""

    rec: Recording
    tr: Traces
    lo: int
    hi: int
    method: str
    pulse: Pulse
    ref: Reference
    landmarker: str
    landmarker_version: str
    trace_path: Path
    points: dict[int, np.ndarray | None]


def _fmt_hr(x: float) -> str:
    return f"{x:.2f} bpm" if np.isfinite(x) else "n/a"


def _recording_lines(res: InspectResult, x: Inspected) -> list[str]:
    rec, tr = x.rec, x.tr
    t0, t1 = res.span
    lost = ~tr.valid[x.lo:x.hi]
    roi = f"{rec.roi}; traces from {x.landmarker}@{x.landmarker_version}" if rec.roi == "face" else rec.roi
    lines = [
        f"hrbench inspect: {rec.dataset} / {rec.id}",
        f"recording     {rec.id} (subject {rec.subject}, session {rec.session or '-'})",
        f"source        {rec.frames.path}",
        f"fps           {tr.fps:.3f}",
        f"frames        {tr.n_frames} ({tr.n_frames / tr.fps:.2f} s)",
        f"span          {t0:.2f}-{t1:.2f} s ({x.hi - x.lo} frames)",
        f"roi           {roi}",
        f"trace cache   {x.trace_path}",
        f"face lost     {100.0 * res.lost_fraction:.1f} % of the span ({int(lost.sum())} frames; "
        f"{100.0 * (1.0 - tr.valid.mean()):.1f} % of the recording)",
    ]
    gaps = lost_runs(lost)
    if gaps:
        s, e = max(gaps, key=lambda g: g[1] - g[0])
        lines.append(f"longest gap   {(e - s) / tr.fps:.2f} s from {tr.times[x.lo + s]:.2f} s")
    return lines


def write_summary(res: InspectResult, x: Inspected) -> Path:
    """Write ``summary.txt`` next to the figures and return its path."""
    lines = _recording_lines(res, x)
    lines += [
        f"method        {x.method}",
        f"pulse HR      {_fmt_hr(x.pulse.hr)}" + (f"  ({x.pulse.note})" if x.pulse.note else ""),
        f"reference HR  {_fmt_hr(x.ref.hr)}  ({x.ref.kind})" + (f"  ({x.ref.note})" if x.ref.note else ""),
    ]
    if np.isfinite(res.hr_pulse) and np.isfinite(res.hr_ref):
        lines.append(f"error         {res.hr_pulse - res.hr_ref:+.2f} bpm")
    lines.append(f"shown frames  {', '.join(str(i) for i in res.shown_frames)}")
    not_found = [i for i, p in x.points.items() if p is None and x.tr.valid[i] and x.rec.roi == "face"]
    if not_found:
        lines.append(f"              not re-detected on their own: {', '.join(map(str, not_found))}")
    lines += [
        "files",
        f"  frames.png  {res.frames_png}",
        f"  signals.png {res.signals_png}",
        f"  summary.txt {res.summary}",
        "",
    ]
    res.summary.write_text("\n".join(lines))
    return res.summary
