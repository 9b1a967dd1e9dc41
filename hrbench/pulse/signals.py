"""Signal helpers every method needs, public so plugins stop copying them.

Why in the core: third-party methods copied a missing-frame interpolator out
of the first-party ``_classic`` plugin module (a private module of another
distribution, free to change under them), and the core, the deep methods and
``hrbench inspect`` each grew their own.  :func:`fill_missing_frames` is the
one gap filler; its options cover what the callers need differently (frames
missing as a whole or per channel, dtype, copying) without changing any
caller's numbers.

The NaN contract (see ``docs/methods.md``): a frame whose R, G or B is not
finite is *missing* (face lost, frame dropped).  Methods tolerate missing
frames -- typically by filling them with this function -- and return ``NaN``
for a clip they cannot estimate (e.g. mostly missing), never a made-up number.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import DTypeLike


def fill_missing_frames(
    rgb: np.ndarray,
    *,
    valid: np.ndarray | None = None,
    per_channel: bool = False,
    dtype: DTypeLike = np.float64,
    copy: bool = True,
    arithmetic: Literal["lerp", "interp"] = "lerp",
) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate missing frames along time (axis -2), vectorised over everything else.

    ``rgb`` is ``(..., T, C)`` -- e.g. ``(n, T, 3)`` clips or ``(n, n_rois, T, 3)``
    traces.  A missing frame is filled from the nearest valid frames before
    and after it; at a series' ends the nearest valid value is held; a
    series with no valid frame at all becomes zeros.

    Args:
        rgb: the traces; never modified.
        valid: optional ``(..., T)`` mask; a frame where it is False is missing
            even when its values are finite (e.g. a frame without a face).
        per_channel: False (default): a frame is missing when any of its
            channels is not finite, and all its channels are filled together.
            True: each channel is a series of its own.
        dtype: dtype of the returned array (float64 by default).
        copy: True (default): the result is always a new array.  False:
            ``rgb`` itself, unconverted, when nothing is missing -- saves a
            copy of large trace arrays that the caller only reads.
        arithmetic: ``"lerp"`` (default) computes ``a + (b - a) * w``;
            ``"interp"`` computes exactly as :func:`numpy.interp` does
            (``slope * dt + a``).  The two differ only in the last bit; each
            caller keeps the one its stored results were computed with.

    Returns:
        The filled array and the fraction of valid frames of each series:
        shape ``(...)``, or ``(..., C)`` with ``per_channel``.
    """
    raw = np.asarray(rgb)
    if raw.ndim == 2:  # one series (T, C): as a batch of one
        batch, one = raw[None], None if valid is None else np.asarray(valid)[None]
        filled, frac = fill_missing_frames(batch, valid=one, per_channel=per_channel, dtype=dtype, copy=copy,
                                           arithmetic=arithmetic)
        return (rgb if filled is batch else filled[0]), frac[0]
    ok = np.isfinite(raw) if per_channel else np.isfinite(raw).all(axis=-1, keepdims=True)
    if valid is not None:
        ok = ok & np.asarray(valid, dtype=bool)[..., None]
    frac = ok.mean(axis=-2) if per_channel else ok.mean(axis=-2)[..., 0]
    if ok.all():
        if not copy:
            return rgb, frac
        return np.array(raw, dtype=dtype), frac
    x = np.array(raw, dtype=dtype)
    # Series as rows of (T, c) values with a (T,) mask; only the rows with a gap are touched.
    data = np.moveaxis(x, -1, -2)[..., None] if per_channel else x
    mask = np.moveaxis(ok, -1, -2) if per_channel else ok[..., 0]
    gaps = np.nonzero(~mask.all(axis=-1))
    data[gaps] = _filled_rows(data[gaps], mask[gaps], arithmetic)
    return x, frac


def _filled_rows(rows: np.ndarray, ok: np.ndarray, arithmetic: str) -> np.ndarray:
    """``(k, T, c)`` rows with their invalid frames (``ok`` False) interpolated; computed in float64."""
    k, T, _ = rows.shape
    t = np.arange(T)
    # Index of the previous / next valid frame for every frame (-1 / T if none).
    prev = np.maximum.accumulate(np.where(ok, t, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(ok, t, T)[:, ::-1], axis=1)[:, ::-1]
    # At a row's ends only one neighbour exists: hold it.
    lo = np.where(prev >= 0, prev, nxt).clip(0, T - 1)
    hi = np.where(nxt < T, nxt, prev).clip(0, T - 1)
    span = (hi - lo).astype(np.float64)
    safe = np.where(ok[..., None], rows, 0.0).astype(np.float64, copy=False)
    x_lo = np.take_along_axis(safe, lo[..., None], axis=1)
    x_hi = np.take_along_axis(safe, hi[..., None], axis=1)
    if arithmetic == "lerp":
        w = np.divide(t - lo, span, out=np.zeros_like(span), where=span > 0)
        between = x_lo + (x_hi - x_lo) * w[..., None]
    elif arithmetic == "interp":
        slope = np.divide(x_hi - x_lo, span[..., None], out=np.zeros_like(x_lo), where=span[..., None] > 0)
        between = np.where(span[..., None] > 0, slope * (t - lo).astype(np.float64)[..., None] + x_lo, x_lo)
    else:
        raise ValueError(f"arithmetic must be 'lerp' or 'interp', got {arithmetic!r}")
    out = np.where(ok[..., None], rows, between)
    out[~ok.any(axis=1)] = 0.0
    return out


def without_frames(traces: np.ndarray) -> np.ndarray:
    """``(n,)`` True for clips of ``(n, n_rois, T, 3)`` traces with no valid frame in any ROI.

    Learned methods fill missing frames before building their features and
    would otherwise predict a number for a clip that holds no video at all;
    they return NaN for these instead (the NaN contract).
    """
    x = np.asarray(traces)
    return ~np.isfinite(x).all(axis=-1).any(axis=(1, 2))
