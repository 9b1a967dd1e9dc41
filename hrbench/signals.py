"""Signal helpers every method needs, public so plugins stop copying them.

Why in the core: third-party methods copied ``fill_missing_frames`` out of
the first-party ``_classic`` plugin module (a private module of another
distribution, free to change under them).  The core must not import a
plugin, so the function lives here, ``hrbench_plugins.methods._classic``
imports it from here, and :mod:`hrbench.api` re-exports it.

The NaN contract (see ``docs/methods.md``): a frame whose R, G or B is not
finite is *missing* (face lost, frame dropped).  Methods tolerate missing
frames -- typically by filling them with this function -- and return ``NaN``
for a clip they cannot estimate (e.g. mostly missing), never a made-up number.
"""

from __future__ import annotations

import numpy as np


def fill_missing_frames(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate non-finite frames along time, vectorised over clips.

    ``rgb`` is ``(n, T, 3)``.  A frame is missing if any channel is non-finite.
    Returns the filled float64 array and the ``(n,)`` fraction of valid frames
    (a clip with no valid frame is returned as zeros).
    """
    x = np.asarray(rgb, dtype=np.float64)
    valid = np.isfinite(x).all(axis=-1)  # (n, T)
    frac = valid.mean(axis=-1)
    if valid.all():
        return x.copy(), frac
    n, T, _ = x.shape
    t = np.arange(T)
    # Index of the previous / next valid frame for every frame (-1 / T if none).
    prev = np.maximum.accumulate(np.where(valid, t, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(valid, t, T)[:, ::-1], axis=1)[:, ::-1]
    # At the clip ends only one neighbour exists: hold it.
    prev_ok, next_ok = prev >= 0, nxt < T
    lo = np.where(prev_ok, prev, nxt).clip(0, T - 1)
    hi = np.where(next_ok, nxt, prev).clip(0, T - 1)
    span = (hi - lo).astype(np.float64)
    w = np.divide(t - lo, span, out=np.zeros_like(span), where=span > 0)
    safe = np.where(valid[..., None], x, 0.0)
    x_lo = np.take_along_axis(safe, lo[..., None], axis=1)
    x_hi = np.take_along_axis(safe, hi[..., None], axis=1)
    filled = np.where(valid[..., None], x, x_lo + (x_hi - x_lo) * w[..., None])
    filled[frac == 0] = 0.0
    return filled, frac


def without_frames(traces: np.ndarray) -> np.ndarray:
    """``(n,)`` True for clips of ``(n, n_rois, T, 3)`` traces with no valid frame in any ROI.

    Learned methods fill missing frames before building their features and
    would otherwise predict a number for a clip that holds no video at all;
    they return NaN for these instead (the NaN contract).
    """
    x = np.asarray(traces)
    return ~np.isfinite(x).all(axis=-1).any(axis=(1, 2))
