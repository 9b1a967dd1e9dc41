"""Plausibility checks of ground truth, shared by every dataset adapter.

Why a module of its own: the faults these checks catch are not specific to one
dataset's file format, and each of them once produced a *number* instead of an
error --

* a ground-truth file copied from a neighbouring recording parses fine but
  spans another video's length, so every clip gets a reference HR read from
  someone else's pulse (:func:`coverage_problems`);
* a flat or constant signal (sensor unplugged, a column of zeros) still has a
  spectral peak: a constant BVP reads as 54.6 bpm (:func:`flatness_problems`);
* an HR channel that sits outside the plausible band most of the time is a
  dead or mis-scaled channel (:func:`hr_band_problems`);
* a dataset's own HR read-out (an oximeter's number) that disagrees with the
  HR of its waveform says one of the two is unreliable -- UBFC-rPPG's HR row
  drops to single digits for hundreds of samples on several subjects
  (:func:`disagreement_problems`).

Every function returns :class:`~hrbench.data.dataset.Problem` objects naming the
file; ``severity="error"`` makes the recording unusable, ``"warning"`` is
reported by ``hrbench datasets check`` but does not block a run.  Reference
HRs are computed with :func:`hrbench.pulse.hr.signal_hr`, the estimator the run
itself uses, over windows as long as the default protocol's clips (10 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import signal as sps

from ..data.dataset import Problem, Severity
from ..data.recording import Signal
from ..errors import RecordingError
from .hr import HRSettings, signal_hr

#: Ground truth must cover at least / at most this fraction of the video.
COVERAGE_RANGE = (0.9, 1.1)
#: Window length and hop (s) of the per-window checks: the default protocol's clip length.
WINDOW_S = 10.0
HOP_S = 5.0
#: A stretch of exactly repeated samples this long (s) is reported as a flat stretch.
FLAT_RUN_S = 2.0
#: Median |channel HR - waveform HR| (bpm) over the windows above which the two disagree.
DISAGREE_BPM = 5.0
#: An HR channel out of band longer than this (s) is reported.
OUT_OF_BAND_RUN_S = 5.0
#: The default protocol's HR settings (band 42-240 bpm), as the run uses them.
DEFAULT_SETTINGS = HRSettings()


def _where(path: str | Path | None) -> str:
    return "" if path is None else str(path)


def _problem(
    path: str | Path | None, message: str, recording_id: str | None, severity: Severity = "error"
) -> list[Problem]:
    """The one-problem list every check returns: the file named, the message, the severity."""
    return [Problem(_where(path), message, recording_id, severity)]


def signal_span(sig: Signal) -> tuple[float, float]:
    """(first, end) time in s of a signal on the video clock; ``end`` includes the last sample's period."""
    t = sig.sample_times()
    if len(t) < 2:
        return (float(t[0]) if len(t) else 0.0), (float(t[0]) if len(t) else 0.0)
    step = float(np.median(np.diff(t)))
    return float(t[0]), float(t[-1] + step)


def coverage_problems(
    sig: Signal,
    video_s: float,
    path: str | Path | None,
    recording_id: str | None,
    what: str = "ground truth",
    *,
    start_s: float = 0.0,
    longer_ok: bool = False,
) -> list[Problem]:
    """An error when the signal does not span the video (< 90 % of it, or > 110 % long).

    Why both sides: a truncated file leaves clips without a reference, and a
    file far longer than the video is most often another recording's.  The
    video is ``[start_s, video_s)`` s (a recording's ``window``: the part a
    run reads).  ``longer_ok`` keeps only the first rule, for signals that
    may run before and after the video (MAHNOB-HCI's ECG).
    """
    length_s = video_s - start_s
    if length_s <= 0:
        return []
    start, end = signal_span(sig)
    overlap = min(end, video_s) - max(start, start_s)
    length = end - start
    lo, hi = COVERAGE_RANGE
    of = f"the video's {length_s:.1f} s" if start_s == 0 else f"the video's {start_s:.1f}-{video_s:.1f} s"
    if overlap < lo * length_s:
        return _problem(
            path,
            f"{what} covers {max(overlap, 0.0):.1f} s of {of} "
            f"({100 * max(overlap, 0.0) / length_s:.0f} %, at least {100 * lo:.0f} % needed): "
            "truncated, or from another recording?",
            recording_id,
        )
    if length > hi * length_s and not longer_ok:
        return _problem(
            path,
            f"{what} lasts {length:.1f} s but the video {length_s:.1f} s "
            f"({100 * length / length_s:.0f} %, at most {100 * hi:.0f} % allowed): "
            "from another recording?",
            recording_id,
        )
    return []


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs of a boolean array."""
    if not mask.any():
        return []
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def flat_reason(sig: Signal) -> str | None:
    """Why a pulse or ECG signal carries no pulse at all (None if it varies).

    Used by the adapters' ground-truth loaders, so a run stops on such a
    signal instead of reading a heart rate from its numerical noise.
    """
    if sig.kind == "hr":
        return None
    x = np.asarray(sig.values, dtype=np.float64)
    if len(x) < 2:
        return None
    spread = float(np.std(x))
    if spread == 0.0 or len(np.unique(x[: min(len(x), 100_000)])) < 3:
        return "signal is constant: it carries no pulse"
    if spread <= 1e-9 * max(1.0, float(np.abs(x).max())):
        return "signal is constant up to rounding noise: it carries no pulse"
    return None


def flatness_problems(
    sig: Signal, path: str | Path | None, recording_id: str | None
) -> list[Problem]:
    """Errors for a constant signal or one flat most of the time; a warning for flat stretches."""
    why = flat_reason(sig)
    if why:
        return _problem(path, why, recording_id)
    x = np.asarray(sig.values, dtype=np.float64)
    t = sig.sample_times()
    if len(x) < 3:
        return []
    same = np.r_[False, np.diff(x) == 0]
    runs = [(a, b) for a, b in _runs(same) if t[b - 1] - t[max(a - 1, 0)] >= FLAT_RUN_S]
    if not runs:
        return []
    flat_s = sum(float(t[b - 1] - t[max(a - 1, 0)]) for a, b in runs)
    total = float(t[-1] - t[0]) or 1.0
    a, b = max(runs, key=lambda r: t[r[1] - 1] - t[max(r[0] - 1, 0)])
    where = f"longest {t[max(a - 1, 0)]:.1f}-{t[b - 1]:.1f} s"
    if sig.kind == "hr":
        msg = f"HR track is constant over {flat_s:.1f} s ({100 * flat_s / total:.0f} %; {where})"
        return _problem(path, msg, recording_id, "warning")
    severity: Severity = "error" if flat_s > 0.5 * total else "warning"
    msg = f"signal is flat over {flat_s:.1f} s of {total:.1f} s ({where}): sensor off?"
    return _problem(path, msg, recording_id, severity)


def hr_band_problems(
    times: np.ndarray,
    hr: np.ndarray,
    path: str | Path | None,
    recording_id: str | None,
    *,
    what: str = "HR track",
    settings: HRSettings = DEFAULT_SETTINGS,
    most_severity: Severity = "error",
) -> list[Problem]:
    """HR values outside the protocol band: ``most_severity`` if most of the time, else a warning.

    A warning is raised for an out-of-band stretch longer than
    :data:`OUT_OF_BAND_RUN_S` or covering over 10 % of the samples.
    """
    hr = np.asarray(hr, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if len(hr) == 0:
        return []
    lo, hi = settings.band_bpm
    out = (hr < lo) | (hr > hi)
    if not out.any():
        return []
    frac = float(out.mean())
    runs = _runs(out)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    a, b = max(runs, key=lambda r: times[r[1] - 1] - times[r[0]])
    longest = float(times[b - 1] - times[a]) + step
    seg = hr[a:b]
    desc = (
        f"{what} is outside {lo:g}-{hi:g} bpm for {100 * frac:.0f} % of its samples "
        f"(longest stretch {longest:.1f} s from {times[a]:.1f} s, values {seg.min():.0f}-{seg.max():.0f} bpm)"
    )
    if frac > 0.5:
        return _problem(path, desc, recording_id, most_severity)
    if longest >= OUT_OF_BAND_RUN_S or frac > 0.1:
        return _problem(path, desc, recording_id, "warning")
    return []


def windows(duration_s: float) -> list[tuple[float, float]]:
    """The (start, end) windows of the per-window checks over ``[0, duration_s)``."""
    if duration_s <= 0:
        return []
    if duration_s <= WINDOW_S:
        return [(0.0, float(duration_s))]
    starts = np.arange(0.0, duration_s - WINDOW_S + 1e-9, HOP_S)
    return [(float(s), float(s + WINDOW_S)) for s in starts]


def window_hrs(
    sig: Signal, duration_s: float, settings: HRSettings = DEFAULT_SETTINGS
) -> tuple[list[tuple[float, float]], np.ndarray, list[str]]:
    """Reference HR of each window (NaN where the estimator fails) and the failures' messages."""
    wins = windows(duration_s)
    out = np.full(len(wins), np.nan)
    errors: list[str] = []
    for i, (a, b) in enumerate(wins):
        try:
            out[i] = signal_hr(sig, a, b, settings)
        except (ValueError, RecordingError) as exc:
            errors.append(f"{a:.1f}-{b:.1f} s: {exc}")
    return wins, out, errors


def waveform_band_problems(
    sig: Signal,
    duration_s: float,
    path: str | Path | None,
    recording_id: str | None,
    settings: HRSettings = DEFAULT_SETTINGS,
) -> list[Problem]:
    """A warning when a pulse wave's strongest rhythm lies outside the HR band in most windows.

    The spectral estimator only looks inside the band, so it always returns an
    in-band HR; this looks at the whole spectrum (0.3 Hz up) to tell a pulse
    wave from, say, a respiration trace or a signal at the wrong sample rate.
    """
    if sig.kind != "bvp":
        return []
    t = sig.sample_times()
    x = np.asarray(sig.values, dtype=np.float64)
    fs = sig.fs if sig.times is None else (len(t) - 1) / max(t[-1] - t[0], 1e-9)
    lo, hi = settings.band_hz
    outside = checked = 0
    for a, b in windows(duration_s):
        seg = x[(t >= a) & (t < b)]
        if len(seg) < 16:
            continue
        f, p = sps.periodogram(sps.detrend(seg), fs, window="hann", nfft=max(len(seg), 2048))
        sel = (f >= 0.3) & (f <= min(fs / 2, 8.0))
        if not sel.any():
            continue
        peak = f[sel][np.argmax(p[sel])]
        checked += 1
        outside += not (lo <= peak <= hi)
    if checked and outside > 0.5 * checked:
        return _problem(
            path,
            f"the waveform's strongest rhythm lies outside {settings.band_bpm[0]:g}-"
            f"{settings.band_bpm[1]:g} bpm in {outside} of {checked} {WINDOW_S:g}-s windows: "
            "not a pulse wave, or a wrong sample rate?",
            recording_id,
            "warning",
        )
    return []


def disagreement_problems(
    sig: Signal,
    hr_times: np.ndarray,
    hr_values: np.ndarray,
    duration_s: float,
    path: str | Path | None,
    recording_id: str | None,
    *,
    what: str = "the dataset's HR channel",
    window_hr: np.ndarray | None = None,
    settings: HRSettings = DEFAULT_SETTINGS,
) -> list[Problem]:
    """A warning when the dataset's own HR read-out disagrees with the HR of its waveform.

    Compared over the same windows as the clips: median |difference| above
    :data:`DISAGREE_BPM` bpm.  Which one is right cannot be decided here; the
    reference stays the waveform (read by the run's own estimator).
    """
    hr_times = np.asarray(hr_times, dtype=np.float64)
    hr_values = np.asarray(hr_values, dtype=np.float64)
    wins = windows(duration_s)
    if window_hr is None:
        _, window_hr, _ = window_hrs(sig, duration_s, settings)
    diffs, where = [], []
    for (a, b), ref in zip(wins, window_hr, strict=True):
        sel = (hr_times >= a) & (hr_times < b)
        if not np.isfinite(ref) or not sel.any():
            continue
        diffs.append(abs(float(np.median(hr_values[sel])) - float(ref)))
        where.append((a, b))
    if not diffs:
        return []
    med = float(np.median(diffs))
    if med <= DISAGREE_BPM:
        return []
    k = int(np.argmax(diffs))
    return _problem(
        path,
        f"{what} differs from the HR of the waveform by a median {med:.1f} bpm over "
        f"{len(diffs)} {WINDOW_S:g}-s windows (worst {diffs[k]:.1f} bpm at "
        f"{where[k][0]:.0f}-{where[k][1]:.0f} s); the reference is read from the waveform",
        recording_id,
        "warning",
    )


def signal_problems(
    sig: Signal,
    duration_s: float,
    path: str | Path | None,
    recording_id: str | None,
    *,
    aligned: bool = True,
    settings: HRSettings = DEFAULT_SETTINGS,
) -> tuple[np.ndarray | None, list[Problem]]:
    """Every check of one reference signal against a video of ``duration_s`` seconds.

    ``aligned``: the signal is meant to start with the first frame and end
    with the last (all datasets but MAHNOB-HCI, whose ECG runs before and
    after the video and is checked against its Status channel instead).
    Returns the per-window reference HRs (None when a fatal problem stopped
    the checks) and the problems.
    """
    problems = flatness_problems(sig, path, recording_id)
    if any(p.severity == "error" for p in problems):
        return None, problems
    if aligned:
        problems += coverage_problems(sig, duration_s, path, recording_id)
        if any(p.severity == "error" for p in problems):
            return None, problems
    if sig.kind == "hr":
        problems += hr_band_problems(
            sig.sample_times(), sig.values, path, recording_id, settings=settings
        )
    _, hrs, errors = window_hrs(sig, duration_s, settings)
    if errors:
        # The run's estimator would fail on some window: an error, and the band check is moot.
        more = f" (and {len(errors) - 1} more window(s))" if len(errors) > 1 else ""
        msg = f"ground truth unusable over {errors[0]}{more}"
        return hrs, problems + _problem(path, msg, recording_id)
    return hrs, problems + waveform_band_problems(sig, duration_s, path, recording_id, settings)
