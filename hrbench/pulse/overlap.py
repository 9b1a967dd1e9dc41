"""Windowed processing with overlap-add: how a short-window pulse method covers a long clip.

Why in the core: many pulse methods (CHROM, LGI, PBV, OMIT and most of the
literature since) compute their pulse over one short window at a time and
stitch the window pulses together -- a single projection over a ten-minute
recording would be a different method.  One module owns the window grid,
the taper and the stitching, so every method that uses them, first-party or
not, shares exactly the same, tested arithmetic: windows of an even length
``L`` at hop ``L / 2`` whose periodic Hann tapers sum to exactly one (a
ripple there would put a spurious peak into every spectrum).

:func:`windowed_pulse` is the whole recipe for a method whose window pulse
is a projection of the window's colours; methods with their own per-window
step (CHROM band-passes each window) use the pieces: :func:`window_frames`,
:func:`even_window`, :func:`ola_starts` and :func:`overlap_add`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.signal.windows import hann


def window_frames(seconds: float, fps: float, T: int, minimum: int = 2) -> int:
    """A window length in frames for ``seconds`` at ``fps``, within ``[minimum, T]``."""
    return int(min(T, max(minimum, round(seconds * fps))))


def even_window(L: int, T: int) -> int:
    """``L`` rounded down to an even number of frames, or ``T`` when one window covers the clip.

    An even length makes the half-window hop an integer, which the taper
    needs to sum to exactly one.
    """
    if L >= T:
        return T
    return max(2, L - L % 2)


def ola_starts(T: int, L: int) -> np.ndarray:
    """Start frames of windows of ``L`` frames at hop ``L // 2``, plus one ending at frame ``T``.

    The grid starts at frame 0; if its last window does not end exactly at
    ``T``, one more window ``[T - L, T)`` is added so no tail frame is lost.
    """
    if L >= T:
        return np.zeros(1, dtype=np.int64)
    hop = L // 2
    starts = np.arange(0, T - L + 1, hop, dtype=np.int64)
    if starts[-1] + L < T:
        starts = np.append(starts, T - L)
    return starts


def ola_taper(L: int) -> np.ndarray:
    """Periodic Hann window of ``L`` frames: copies ``L / 2`` apart sum to exactly one."""
    return hann(L, sym=False)


def ola_weight_sum(T: int, starts: np.ndarray, L: int) -> np.ndarray:
    """``(T,)`` sum of the tapers of all windows covering each frame."""
    taper, wsum = ola_taper(L), np.zeros(T)
    for s0 in starts:
        wsum[s0 : s0 + L] += taper
    return wsum


def overlap_add(seg: np.ndarray, starts: np.ndarray, T: int) -> np.ndarray:
    """Stitch window signals ``(n, W, L)`` starting at ``starts`` into ``(n, T)`` signals.

    Each window is tapered with :func:`ola_taper` and summed into place.
    Where two grid windows overlap the tapers sum to exactly one, so this is
    the plain overlap-add; where the extra tail window adds more weight the
    sum is divided out (a weighted average of the windows); the clip's first
    and last half window, covered once, keep the taper's fade.
    """
    n, W, L = seg.shape
    tapered = seg * ola_taper(L)
    out = np.zeros((n, T))
    for w, s0 in enumerate(starts):  # O(n L) per window, vectorised over clips
        out[:, s0 : s0 + L] += tapered[:, w]
    return out / np.maximum(ola_weight_sum(T, starts, L), 1.0)


def windowed_pulse(rgb: np.ndarray, L: int, project: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply a per-window projection to ``(n, T, 3)`` traces and stitch the windows together.

    ``project`` maps window segments ``(n, W, L, 3)`` to window pulses
    ``(n, W, L)``, with non-finite values marking a window it cannot handle
    (e.g. a singular matrix).  Each window pulse loses its mean -- a
    projection keeps a DC offset that differs from window to window and would
    otherwise step at the window joins -- and the windows are stitched by
    :func:`overlap_add`.  A failed window contributes nothing; a clip whose
    windows all failed gets a row of ``NaN`` (no pulse: a ``NaN`` heart rate).
    """
    n, T, _ = rgb.shape
    L = even_window(L, T)
    starts = ola_starts(T, L)
    seg = rgb[:, starts[:, None] + np.arange(L), :]  # (n, W, L, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = project(seg)
    y = y - y.mean(axis=-1, keepdims=True)
    ok = np.isfinite(y).all(axis=-1)  # (n, W)
    out = overlap_add(np.where(ok[..., None], y, 0.0), starts, T)
    out[~ok.any(axis=1)] = np.nan
    return out
