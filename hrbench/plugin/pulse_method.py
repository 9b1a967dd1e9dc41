"""A method that computes a pulse waveform and reads its heart rate with the core's estimator.

Why a base class: most rPPG methods are "traces -> pulse waveform -> spectral
peak", and their ``predict`` was the same dozen lines in every plugin (and
in the docs): take the pulse, give a clip without a finite pulse ``NaN``,
hand the rest to :func:`hrbench.pulse.hr.spectral_hr` -- the estimator that reads
the ground truth, so no method carries its own peak picker.
:class:`PulseMethod` writes that once; a subclass implements only
:meth:`~hrbench.plugin.method.Method.predict_pulse`.  Methods that compute their
pulse over short windows stitch them with :mod:`hrbench.pulse.overlap` and declare
their window length with :func:`window_param`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np

from ..pulse.hr import spectral_hr
from .clips import Clips
from .method import Method, Param

#: pyVHR's analysis window (``Pipeline.run_on_video``: 6 s, 1 s stride): the default of :func:`window_param`.
PYVHR_WINDOW_S = 6.0

_PYVHR_NOTE = "default: pyVHR's 6 s analysis window; >= clip length: one projection per clip, as rPPG-Toolbox"


def window_param(what: str, default: float = PYVHR_WINDOW_S, *, low: float = 0.5, note: str = _PYVHR_NOTE) -> Param:
    """The ``window_s`` parameter of a windowed pulse method: seconds per window, 600 s at most.

    Why one declaration: every windowed method states its window the same
    way (float seconds, a window at least as long as the clip meaning one
    window per clip), so they read alike in ``hrbench methods``.  ``what``
    names the window (help: "<what> window length in seconds (<note>)").
    """
    return Param(default, f"{what} window length in seconds ({note})", float, low=low, high=600.0)


class PulseMethod(Method):
    """Base of a method whose heart rate is the spectral peak of its pulse waveform.

    A subclass implements :meth:`predict_pulse` (``(n, T)`` pulses, an
    all-``NaN`` row for a clip it cannot estimate, the NaN contract); its
    ``predict`` follows.  Set ``pulse_prefiltered = True`` when the pulse is
    already band-passed to the protocol's HR band, so the estimator does not
    filter it twice.  ``run_notes["nan_clips"]`` counts the clips that got
    ``NaN``.
    """

    produces_pulse: ClassVar[bool] = True

    @abstractmethod
    def predict_pulse(self, clips: Clips) -> np.ndarray:
        """Pulse waveforms ``(len(clips), T)``; an all-``NaN`` row for a clip without a usable pulse."""

    def predict(self, clips: Clips) -> np.ndarray:
        """Heart rate (bpm) of each clip: the core estimator on its pulse, ``NaN`` where the pulse is not finite."""
        pulse = self.predict_pulse(clips)
        finite = np.isfinite(pulse).all(axis=-1)
        out = np.full(len(clips), np.nan)
        if finite.any():
            out[finite] = spectral_hr(pulse[finite], clips.fps, clips.hr_settings, filtered=self.pulse_prefiltered)
        n_bad = int(np.isnan(out).sum())
        if n_bad:
            self.run_notes["nan_clips"] = self.run_notes.get("nan_clips", 0) + n_bad
        return out
