"""Windowed projection with overlap-add: how CHROM, LGI, PBV and OMIT cover a long clip.

The toolboxes apply these methods to one short window at a time and stitch
the window pulses together; a single projection over a ten-minute recording
would be a different method.  One module owns the window grid, the taper and
the stitching so all four share exactly the same, tested arithmetic: windows
of an even length ``L`` at hop ``L / 2`` whose periodic Hann tapers sum to
exactly one (a ripple there would put a spurious peak into every spectrum).

:class:`WindowedProjection` is the method class LGI, PBV and OMIT share: each
of their modules holds only its per-window projection and its metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
from scipy.signal.windows import hann

from hrbench.hr import HRSettings
from hrbench.method import Param

from ._classic import DEFAULT_HR, ClassicMethod, window_frames

#: Fewest frames per window: a colour direction needs a few samples.
PROJECTION_MIN_WINDOW_FRAMES = 8

#: pyVHR's analysis window (``Pipeline.run_on_video``: 6 s, 1 s stride).
PYVHR_WINDOW_S = 6.0


def window_param(method: str) -> Param:
    """The ``window_s`` parameter shared by LGI, PBV and OMIT (pyVHR's 6 s window)."""
    return Param(
        PYVHR_WINDOW_S,
        f"{method} window length in seconds (default: pyVHR's 6 s analysis window; "
        ">= clip length: one projection per clip, as rPPG-Toolbox)",
        float,
        low=0.5,
        high=600.0,
    )


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


def windowed_pulse(
    rgb: np.ndarray, L: int, project: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Apply a per-window projection to ``(n, T, 3)`` traces and stitch the windows together.

    Shared by the methods that the reference toolboxes apply to one short
    window at a time (LGI, PBV, OMIT).  ``project`` maps window segments
    ``(n, W, L, 3)`` to window pulses ``(n, W, L)``, with non-finite values
    marking a window it cannot handle (e.g. a singular matrix).  Each window
    pulse loses its mean -- the projections keep a DC offset that differs from
    window to window and would otherwise step at the window joins -- and the
    windows are stitched by :func:`overlap_add`.  A failed window contributes
    nothing; a clip whose windows all failed gets a row of ``NaN``, which
    :meth:`ClassicMethod.predict` turns into a ``NaN`` heart rate.
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


class WindowedProjection(ClassicMethod):
    """A method that projects each ``window_s`` window of a clip and stitches the windows.

    Why a base class: LGI, PBV and OMIT differ only in the projection of one
    window; the window length (from ``window_s``, at least
    :data:`PROJECTION_MIN_WINDOW_FRAMES`), the zero-mean windows and the
    overlap-add are the same, and sharing :meth:`pulse` keeps them so.  A
    subclass sets ``project`` (``staticmethod(f)``, ``f`` mapping window
    segments ``(..., L, 3)`` to window pulses ``(..., L)``) and declares
    ``params = {"window_s": window_param(...)}``.
    """

    project: ClassVar[Callable[[np.ndarray], np.ndarray]]

    def pulse(self, rgb: np.ndarray, fps: float, settings: HRSettings = DEFAULT_HR) -> np.ndarray:
        L = window_frames(self.window_s, fps, rgb.shape[1], minimum=PROJECTION_MIN_WINDOW_FRAMES)
        return windowed_pulse(rgb, L, self.project)
