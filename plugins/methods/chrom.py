"""CHROM: chrominance-based rPPG (de Haan & Jeanne, 2013).

Why it works: under a skin-reflection model the camera sees
``C(t) = I(t) * (skin colour + pulse(t) * blood direction) + specular(t)``.
Dividing each channel by its temporal mean removes the skin colour, and two
chrominance signals

    Xs = 3 Rn - 2 Gn,        Ys = 1.5 Rn + Gn - 1.5 Bn

are chosen (for a standardised skin tone) so that intensity and specular
changes appear with equal weight in both while the pulse does not.  After
band-passing, ``S = Xf - alpha * Yf`` with ``alpha = std(Xf) / std(Yf)``
cancels the distortion common to both and keeps the pulse.

Windowing: the paper computes ``alpha`` over short intervals (so it tracks
changing conditions) and stitches the interval signals with Hann windows and
50 % overlap-add.  Implemented here, vectorised over clips and windows:

1. windows of ``window_s`` seconds (default 1.6 s, the interval used by the
   widely used reference implementations, e.g. iPhys and rPPG-Toolbox, and
   by Wang et al. 2017 when comparing against CHROM; the paper only asks for
   an interval covering at least one pulse period), rounded to an even
   number of frames ``L``, start every ``L / 2`` frames from frame 0; when
   that grid does not end exactly at the clip's last frame one more window
   ends there (reference code that steps by half a window leaves the tail
   of a clip uncovered);
2. in each window RGB is divided by the window's mean colour, ``Xs, Ys`` are
   formed and band-passed with the protocol's HR band (zero-phase Butterworth,
   :func:`hrbench.api.bandpass`, the same filter the HR estimator uses; the
   paper's own filter is not specified closely enough to copy), applied as
   one precomputed ``L x L`` matrix to all windows of all clips at once
   (long windows are filtered directly, so memory stays ``O(n T)``);
3. ``S_w = Xf - alpha Yf`` is tapered and overlap-added (:func:`overlap_add`).

Why the exact half-window hop: periodic Hann windows sum to exactly one at
hop ``L / 2``, so inside the clip the stitched signal is the plain
overlap-add the paper describes.  Spreading the windows evenly instead (hop
slightly under ``L / 2``) makes the summed taper ripple at the hop rate --
for 10 s clips at 30 fps a 23-frame hop, an amplitude modulation near
78 bpm, inside the HR band.  Around the extra tail window the tapers sum to
more than one, and there the sum is divided out, so each frame is a weighted
average of the windows covering it; the first and last half window, covered
by one window only, fade in and out as in the paper's overlap-add.

A ``window_s`` at least as long as the clip gives the single-window variant
(one ``alpha`` per clip, one Hann taper).  Short windows track changing light but estimate
``alpha`` from barely one pulse period at slow heart rates, so on noisy clips
they misread slow heart rates more often than longer windows do (POS, whose
windows are as short, is less affected).  The paper-like 1.6 s stays the
default; ``--param window_s=...`` trades adaptivity for that.

The stitched pulse is already band-limited, so the HR estimator is told not
to band-pass it again (``pulse_prefiltered``): a second pass squares the filter's
roll-off at the band edges, and on synthetic clips at 45 bpm (2nd harmonic at
0.4 of the fundamental) that was enough for the harmonic to win.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hrbench.api import (
    HRSettings,
    bandpass,
    even_window,
    hookimpl,
    ola_starts,
    overlap_add,
    window_frames,
    window_param,
)

from ._classic import DEFAULT_HR, EPS, ClassicMethod

#: Fewest frames per window: below this the in-window band-pass is meaningless.
MIN_WINDOW_FRAMES = 8

#: Longest window band-passed through a precomputed ``L x L`` matrix; longer
#: windows (e.g. one window over a whole recording) are filtered directly so
#: that memory stays linear in the clip length.
MAX_MATRIX_FRAMES = 512


@lru_cache(maxsize=32)
def window_bandpass_matrix(L: int, fps: float, band_hz: tuple[float, float], order: int) -> np.ndarray:
    """``(L, L)`` matrix ``M`` with ``x @ M == hrbench.pulse.hr.bandpass(x, ...)`` for windows of ``L``.

    Zero-phase filtering with odd-extension padding is linear in the window,
    so it is one matrix: the filtered unit impulses.  Filtering thousands of
    short windows becomes a single matrix product instead of thousands of
    tiny ``sosfiltfilt`` runs.
    """
    m = bandpass(np.eye(L), fps, band_hz, order)
    m.flags.writeable = False
    return m


def window_bandpass(x: np.ndarray, fps: float, band_hz: tuple[float, float], order: int) -> np.ndarray:
    """:func:`hrbench.api.bandpass` along the last axis of ``x``, via the cached matrix for short windows."""
    L = x.shape[-1]
    if L <= MAX_MATRIX_FRAMES:
        return x @ window_bandpass_matrix(L, fps, band_hz, order)
    return bandpass(x, fps, band_hz, order)


class ChromMethod(ClassicMethod):
    name = "chrom"
    description = "Chrominance projection with windowed alpha tuning and overlap-add (de Haan 2013)"
    citation = (
        "G. de Haan, V. Jeanne. Robust pulse rate from chrominance-based rPPG. "
        "IEEE Transactions on Biomedical Engineering 60(10):2878-2886, 2013."
    )
    pulse_prefiltered = True
    params = {"window_s": window_param("overlap-add", 1.6, note=">= clip length: single window per clip")}

    def pulse(self, rgb: np.ndarray, fps: float, settings: HRSettings = DEFAULT_HR) -> np.ndarray:
        n, T, _ = rgb.shape
        L = even_window(window_frames(self.window_s, fps, T, minimum=MIN_WINDOW_FRAMES), T)
        starts = ola_starts(T, L)
        seg = rgb[:, starts[:, None] + np.arange(L), :]  # (n, W, L, 3)
        cn = seg / np.maximum(seg.mean(axis=2, keepdims=True), EPS)
        r, g, b = cn[..., 0], cn[..., 1], cn[..., 2]
        xy = np.stack([3.0 * r - 2.0 * g, 1.5 * r + g - 1.5 * b])  # (2, n, W, L)
        xf, yf = window_bandpass(xy, fps, settings.band_hz, settings.filter_order)
        alpha = xf.std(axis=-1, keepdims=True) / np.maximum(yf.std(axis=-1, keepdims=True), EPS)
        return overlap_add(xf - alpha * yf, starts, T)


@hookimpl
def register_methods(register):
    register(ChromMethod)
