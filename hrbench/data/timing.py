"""Repairing the timing glitches real recordings carry, and refusing the faults they must not.

Why a module of its own: the same quirk shows up in several datasets' time
files, and the field's loaders cope with it by not reading the time row at
all.  Real UBFC-rPPG ``ground_truth.txt`` time rows repeat one value once on
a third of the subjects (67.716 s at samples 2023 and 2024, the PPG still
one sample per frame); rejecting such a recording loses it to one duplicated
millisecond, while ignoring the time row entirely would hide a clock that is
really broken.  The rule here sits between the two:

* **Isolated glitch -- repaired, with a warning.**  A sample whose time
  repeats the previous one or goes back (and whose neighbours are in order)
  gets the time midway between its two neighbours.  Of the two samples
  around a bad step, the one whose repair leaves the most regular steps
  (closest to the median step) is moved; the other is kept.  Values
  (the PPG, the frames) are never moved or dropped -- only one time.
* **Systematic fault -- an error.**  Two bad samples within
  :data:`MIN_GAP` samples of each other (a run, not a glitch), more than
  :data:`MAX_REPAIR_FRACTION` of the samples needing repair (at least one
  is always allowed), or times that do not increase overall.  A bad first
  or last sample is set one median step from its only neighbour.

Messages name samples by their 1-based number and give their times in
seconds, so "sample 2024 (t = 67.716 s)" is never mistaken for a time value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Two bad samples closer than this many samples make a run: an error, not two glitches.
MIN_GAP = 3
#: At most this fraction of the samples may be repaired (at least one always may).
MAX_REPAIR_FRACTION = 0.01


class TimingFault(ValueError):
    """A time series with a systematic fault; the message is one line, without the file name."""


@dataclass(frozen=True)
class Repaired:
    """Times after repair, and one note per repaired sample (empty when nothing was wrong)."""

    times: np.ndarray
    repaired: tuple[int, ...]  # 0-based indices of the samples whose time was set
    notes: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.repaired)


def _describe(t: np.ndarray, i: int, noun: str) -> str:
    """What is wrong with sample ``i`` (0-based) relative to the previous one."""
    if t[i] == t[i - 1]:
        return f"{noun} {i + 1} (t = {t[i]:.3f} s) repeats the previous time"
    return f"{noun} {i + 1} (t = {t[i]:.3f} s) is earlier than {noun} {i} (t = {t[i - 1]:.3f} s)"


def _plural(noun: str) -> str:
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


def first_fault(times: np.ndarray, *, noun: str = "sample") -> str | None:
    """What is wrong with the first sample that does not come after the previous one (None: all do)."""
    t = np.asarray(times, dtype=np.float64)
    bad = np.flatnonzero(np.diff(t) <= 0)
    return _describe(t, int(bad[0]) + 1, noun) if len(bad) else None


def _irregularity(t: np.ndarray, j: int, value: float, step: float) -> float:
    """Largest |step - median step| around sample ``j`` if its time were ``value``; inf if out of order."""
    lo, hi = max(j - 2, 0), min(j + 3, len(t))
    seg = t[lo:hi].copy()
    seg[j - lo] = value
    d = np.diff(seg)
    if np.any(d <= 0):
        return np.inf
    return float(np.max(np.abs(d - step)))


def _replacement(t: np.ndarray, j: int, step: float) -> float:
    """The repaired time of sample ``j``: midway between its neighbours, one step from the only one at an end."""
    if j == 0:
        return float(t[1] - step)
    if j == len(t) - 1:
        return float(t[-2] + step)
    return float(0.5 * (t[j - 1] + t[j + 1]))


def repair_times(times: np.ndarray, *, noun: str = "sample") -> Repaired:
    """``times`` (s) made strictly increasing by repairing isolated glitches; TimingFault otherwise.

    ``noun`` names a sample in messages (``"line"`` for one-time-per-line files).
    """
    t = np.asarray(times, dtype=np.float64)
    n = len(t)
    if n < 2:
        return Repaired(t, (), ())
    if not t[-1] > t[0]:
        raise TimingFault(
            f"times do not increase overall ({noun} 1 at {t[0]:.3f} s, {noun} {n} at {t[-1]:.3f} s)"
        )
    bad = np.flatnonzero(np.diff(t) <= 0) + 1  # sample i is not after sample i - 1
    if len(bad) == 0:
        return Repaired(t, (), ())
    close = np.flatnonzero(np.diff(bad) < MIN_GAP)
    if len(close):
        a, b = int(bad[close[0]]), int(bad[close[0] + 1])
        raise TimingFault(
            f"{_plural(noun)} {a + 1}-{b + 1} (t = {t[a]:.3f}-{t[b]:.3f} s) repeat or go back in time more "
            "than once in a row: a faulty stretch, not an isolated glitch"
        )
    allowed = max(1, int(MAX_REPAIR_FRACTION * n))
    if len(bad) > allowed:
        raise TimingFault(
            f"{len(bad)} of {n} {_plural(noun)} repeat or go back in time (first: {_describe(t, int(bad[0]), noun)}): "
            f"a faulty clock, not an isolated glitch (at most {allowed} can be repaired)"
        )
    step = float(np.median(np.diff(t)))
    out = t.copy()
    best_value = 0.0
    fixed: list[int] = []
    notes: list[str] = []
    for i in (int(k) for k in bad):
        what = _describe(t, i, noun)
        best, best_cost = -1, np.inf
        for j in (i, i - 1):  # the later sample first: a repeat is most often the later one's
            value = _replacement(out, j, step)
            cost = _irregularity(out, j, value, step)
            if cost < best_cost:
                best, best_cost, best_value = j, cost, value
        if best < 0 or not np.isfinite(best_cost):
            raise TimingFault(f"{what}, and its neighbours are out of order too: it cannot be repaired")
        old = out[best]
        out[best] = best_value
        fixed.append(best)
        how = "midway between its neighbours" if 0 < best < n - 1 else "one median step from its neighbour"
        whose = "its time" if best == i else f"{noun} {best + 1}'s time {old:.3f} s"
        notes.append(f"{what}: {whose} set to {best_value:.3f} s, {how} (an isolated glitch, repaired)")
    if np.any(np.diff(out) <= 0):  # pragma: no cover - each repair is checked above
        raise TimingFault("times still do not increase after repairing isolated glitches")
    return Repaired(out, tuple(fixed), tuple(notes))
