"""Shared plumbing of the classic unsupervised methods (green, ICA, CHROM, POS, LGI, PBV, OMIT).

Why one base class: every classic method is "RGB trace -> pulse waveform ->
spectral peak".  Only the middle step differs, so each plugin implements
:meth:`ClassicMethod.pulse` and inherits the rest:

* input: ``clips.traces[:, 0]`` -- the single ``face_skin`` ROI, ``(n, T, 3)``
  raw mean RGB.  Any other ROI layout is refused rather than silently reading
  ROI 0 of, say, a 200-block cheek grid.
* missing frames: a frame whose R, G or B is NaN/inf (face lost, dropped
  frame) is filled by linear interpolation in time from its valid neighbours
  (nearest valid value at the clip ends), vectorised over clips
  (:func:`hrbench.api.fill_missing_frames`).  A clip with fewer than
  :data:`MIN_VALID_FRACTION` valid frames, or whose mean colour is not
  positive in every channel (no skin: black or broken frames), gets ``NaN``
  instead of a made-up heart rate.
* output: :class:`hrbench.api.PulseMethod` reads the heart rate of the pulse
  with the core's estimator -- the one that reads the ground truth, so no
  method carries its own peak picker (a method whose pulse is already
  band-passed, CHROM, sets ``pulse_prefiltered`` so it is not filtered
  twice) -- and counts the ``NaN`` clips in ``run_notes``.  A pulse row that
  is not finite (e.g. ICA failed on a degenerate clip) also yields ``NaN``.

The helpers below are small numerical pieces shared by several methods
(the smoothness-priors cut-off); window lengths and windowed overlap-add are
the core's (:func:`hrbench.api.window_frames`, :mod:`hrbench.pulse.overlap`).  A
pulse that is exactly flat (e.g. grey R = G = B input to a projection that
cancels it) has no heart rate: it is NaN, not the band edge a spectral peak
picker would return.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np

from hrbench.api import Clips, ConfigError, HRSettings, PulseMethod, fill_missing_frames

#: Below this fraction of valid frames a clip is mostly invented by
#: interpolation; its heart rate is reported as NaN rather than guessed.
MIN_VALID_FRACTION = 0.5

#: HR settings assumed when :meth:`ClassicMethod.pulse` is called directly.
DEFAULT_HR = HRSettings()

#: Guards divisions by a channel mean or standard deviation.
EPS = 1e-12


def lambda_for_cutoff(cutoff_hz: float, fps: float) -> float:
    """Smoothness-priors ``lambda`` whose trend filter has half power at ``cutoff_hz``.

    The trend estimate has frequency response ``1 / (1 + lam^2 (2 - 2 cos w)^2)``
    (``w`` in rad/sample), which is 1/2 where ``lam (2 - 2 cos w) = 1``.
    """
    w = 2 * np.pi * min(cutoff_hz, 0.49 * fps) / fps
    return float(1.0 / (2.0 - 2.0 * np.cos(w)))


class ClassicMethod(PulseMethod):
    """Unsupervised ``face_skin`` method: RGB -> pulse -> spectral heart rate."""

    roi_scheme: ClassVar[str] = "face_skin"
    supervised: ClassVar[bool] = False

    @abstractmethod
    def pulse(self, rgb: np.ndarray, fps: float, settings: HRSettings = DEFAULT_HR) -> np.ndarray:
        """Pulse waveforms ``(n, T)`` from clean, finite RGB traces ``(n, T, 3)`` (float64).

        ``settings`` is the protocol's HR band, for methods that band-pass
        internally (CHROM); the final peak picking is done by :meth:`predict`.
        """

    def predict_pulse(self, clips: Clips) -> np.ndarray:
        """Pulse ``(n, T)`` of each clip; all-NaN rows for clips without enough valid skin frames."""
        if clips.n_rois != 1:
            raise ConfigError(
                f"method {self.name}: expects {self.roi_scheme} traces with 1 ROI, "
                f"got clips with {clips.n_rois} ROIs"
            )
        rgb, frac = fill_missing_frames(clips.traces[:, 0])
        usable = (frac >= MIN_VALID_FRACTION) & (rgb.mean(axis=1) > 0).all(axis=-1)
        out = np.full(rgb.shape[:2], np.nan)
        if usable.any():
            out[usable] = np.asarray(self.pulse(rgb[usable], float(clips.fps), clips.hr_settings), dtype=np.float64)
        finite = np.isfinite(out).all(axis=-1)
        flat = finite.copy()
        flat[finite] = ~(out[finite].std(axis=-1) > 1e-12 * (np.abs(out[finite]).max(axis=-1) + 1e-300))
        out[flat] = np.nan
        return out
