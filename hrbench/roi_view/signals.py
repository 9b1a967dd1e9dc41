"""The two signals ``inspect`` draws beside the raw trace: a method's pulse and the ground truth, with their HRs.

The pulse comes through the public method contract, so any method a plugin
registers is shown as the benchmark uses it: ``produces_pulse`` methods are
given the span's traces of *their own* ROI scheme as one clip (NaN where the
face was lost -- the NaN contract) and :meth:`~hrbench.plugin.method.Method.predict_pulse`
returns the waveform; its HR is :func:`hrbench.pulse.hr.spectral_hr`, the
estimator a run applies to it.  The reference is read by
:func:`hrbench.pulse.hr.signal_hr` exactly as the runner reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.recording import Recording, Signal
from ..errors import HrbenchError
from ..plugin.clips import Clips
from ..plugin.method import Method, RunContext
from ..pulse.hr import HRSettings, signal_hr, spectral_hr


@dataclass
class Pulse:
    """A method's pulse over the span (None when there is none), its HR, and why not when it is missing."""

    values: np.ndarray | None
    hr: float
    note: str
    prefiltered: bool = False


@dataclass
class Reference:
    """The ground truth over the span, its sample rate and kind, and the runner's reading of its HR."""

    times: np.ndarray
    values: np.ndarray
    fs: float
    kind: str
    hr: float
    note: str


def why_no_pulse(method_cls: type[Method]) -> str | None:
    """Why ``method_cls`` gives no waveform to show without a run (None: it does)."""
    name = getattr(method_cls, "name", "?")
    if not method_cls.produces_pulse:
        return (f"method {name} has no pulse (produces_pulse is False): it outputs heart rates only "
                "(e.g. a trained network), so there is no waveform to show")
    if method_cls.supervised:
        return f"method {name} is supervised: its pulse needs a trained model, which inspect does not train"
    return None


def method_pulse(method_cls: type[Method], traces: np.ndarray, fps: float, settings: HRSettings) -> Pulse:
    """The method's pulse over the span, from ``(n_rois, T, 3)`` traces of its ROI scheme, and its HR."""
    name = getattr(method_cls, "name", "?")
    why = why_no_pulse(method_cls)
    if why:
        return Pulse(None, float("nan"), why)
    if not np.isfinite(traces).all(axis=-1).any():
        return Pulse(None, float("nan"), "the face was lost in every frame of the span")
    clips = Clips(traces[None].astype(np.float32), float(fps), np.array(["inspect"]), np.array(["inspect"]), settings)
    prefiltered = bool(method_cls.pulse_prefiltered)
    try:
        m = method_cls(RunContext(clip_len=clips.clip_len))
        x = np.asarray(m.predict_pulse(clips), dtype=np.float64)[0]
    except HrbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - a plugin's failure is shown, not fatal to the picture
        return Pulse(None, float("nan"), f"method {name}: predict_pulse failed ({type(exc).__name__}: {exc})")
    if not np.isfinite(x).all():
        return Pulse(x, float("nan"), f"method {name}: pulse is not finite (too few valid frames?)", prefiltered)
    hr = float(np.asarray(spectral_hr(x, fps, settings, filtered=prefiltered)))
    return Pulse(x, hr, "", prefiltered)


def reference(rec: Recording, t0: float, t1: float, settings: HRSettings) -> Reference:
    """The ground truth over the span and the runner's reading of its HR (or why it failed)."""
    sig: Signal = rec.load_ground_truth()
    t = sig.sample_times()
    sel = (t >= t0) & (t < t1)
    fs = sig.fs if sig.times is None else (len(t) - 1) / max(t[-1] - t[0], 1e-9)
    try:
        hr, note = signal_hr(sig, t0, t1, settings), ""
    except ValueError as exc:
        hr, note = float("nan"), f"reference HR unavailable: {exc}"
    return Reference(t[sel], np.asarray(sig.values, dtype=np.float64)[sel], float(fs), sig.kind, float(hr), note)
