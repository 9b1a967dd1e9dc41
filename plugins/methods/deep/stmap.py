"""Spatial-temporal maps (SynRhythm, section III-A) from ROI-trace clips.

The paper turns each face clip into an ``n x T x 3`` image: one row per cheek
block ROI, one column per frame, each row's R, G, B series min-max scaled to
[0, 255] independently.  Here the input is a :class:`hrbench.plugin.clips.Clips`
traces array ``(n, n_rois, clip_len, 3)`` of the ``cheek_grid`` scheme (10 x 20
blocks, row-major) and the output is ``(n, 3, rows, frames)`` -- the channel-first
layout a CNN takes -- still in the paper's 0..255 units.

Choices where the paper is silent or where a CPU budget forces a change
(all of them are parameters, and the ``paper`` profile of the methods undoes
the reductions):

* **Block pooling** (``pool_h x pool_w``): neighbouring blocks of the 10 x 20
  grid are averaged *before* normalisation -- exactly what a coarser grid of
  bigger blocks would measure, so it stays within III-A (equation 1 is an
  average over a block) while shrinking the map, e.g. 2 x 4 -> 5 x 5 = 25 rows.
* **Temporal pooling** (``time_pool``): averaging k consecutive frames
  (300 frames at 30 fps -> 150 at 15 fps for k = 2).  The HR band ends at
  4 Hz, well below the 7.5 Hz Nyquist limit at 15 fps; averaging two frames
  attenuates a 4 Hz pulse by only cos(pi*4/30) = 0.91.
* **Lost face** (NaN frames): the runner interpolates before cutting clips,
  but a map must never carry NaN into a network, so each series is linearly
  interpolated over its NaN frames (edges held); a series with no finite
  value, or a constant one, becomes a row of zeros.
* **Detrending** (``highpass_hz``, 0 = off, the paper's raw maps): a
  zero-phase 2nd-order Butterworth high-pass on every pooled series before
  the min-max scaling.  Why: min-max scaling sets a row's range by its
  largest excursion, and on a face that is usually a slow drift (head sway,
  auto exposure, breathing), which squeezes the pulse into a few grey levels
  of the map.  Synthetic rhythm maps go through the same filter, so the
  pretraining sees what fine-tuning sees.
* **Colour** (``colour``): ``"rgb"`` is the paper's map -- each row's R, G
  and B series min-max scaled apart.  ``"pos"`` is a *chrominance* map: each
  row's series is divided by its temporal mean, projected onto the plane
  orthogonal to the skin-tone direction (Wang et al.'s POS:
  ``S1 = G - B``, ``S2 = G + B - 2R``), detrended, and the three channels
  are ``(h, S1, S2)`` with ``h = S1 + (sd S1 / sd S2) S2``, POS's alpha-tuned
  pulse over the clip.  Why: on face video most of a block's colour variation
  is common to R, G and B (intensity: motion, illumination, auto exposure),
  and independent per-channel min-max scaling gives that common part a
  different gain in every channel, so no learned linear combination of the
  scaled channels can cancel it again.  The projection cancels it *before*
  scaling, the way the classic chrominance methods do, and what is left in
  each row looks like the synthetic rhythms of stage III.  The measurements
  that led here are in ``leaderboards/studies/learned-methods.md``.
* **Storage**: maps are kept as float16 in 0..255 (a 200 x 300 x 3 map is
  360 kB instead of 720 kB) and converted per batch; float16 resolves 0.125
  units near 255, far finer than a pulse's share of a min-max-scaled row.
* **Network input**: :class:`.resnet.HRRegressor` divides by 255 and applies
  the ImageNet mean/std per channel -- the input statistics an
  ImageNet-initialised ResNet-18 expects, and harmless for a randomly
  initialised one -- so maps stay in the paper's units until the network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal as sps

from hrbench.api import HrbenchError, fill_missing_frames

#: Map colour layouts: the paper's per-channel RGB, or the POS chrominance channels (h, S1, S2).
COLOURS = ("rgb", "pos")
#: The ``cheek_grid`` ROI scheme: 10 block rows x 20 block columns, row-major.
GRID = (10, 20)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class MapSpec:
    """How clips become maps: block pooling, temporal pooling, optional detrending."""

    pool_h: int = 1
    pool_w: int = 1
    time_pool: int = 1
    highpass_hz: float = 0.0
    colour: str = "rgb"

    def __post_init__(self) -> None:
        if self.colour not in COLOURS:
            raise HrbenchError(f"unknown map colour {self.colour!r}; choose one of {list(COLOURS)}")
        gh, gw = GRID
        if gh % self.pool_h or gw % self.pool_w:
            raise HrbenchError(
                f"block pooling {self.pool_h}x{self.pool_w} must divide the {gh}x{gw} cheek grid"
            )
        if self.time_pool < 1:
            raise HrbenchError(f"time_pool must be >= 1, got {self.time_pool}")
        if self.highpass_hz < 0:
            raise HrbenchError(f"highpass_hz must be >= 0, got {self.highpass_hz}")

    @property
    def pooled_blocks(self) -> bool:
        return self.pool_h > 1 or self.pool_w > 1

    def n_rows(self, n_rois: int) -> int:
        if not self.pooled_blocks:
            return n_rois
        return (GRID[0] // self.pool_h) * (GRID[1] // self.pool_w)

    def n_frames(self, clip_len: int) -> int:
        return clip_len // self.time_pool

    def key(self) -> dict[str, float]:
        key: dict[str, float | str] = {"pool_h": self.pool_h, "pool_w": self.pool_w, "time_pool": self.time_pool,
                                       "highpass_hz": self.highpass_hz}
        if self.colour != "rgb":  # keys of rgb maps stay what they were
            key["colour"] = self.colour
        return key


#: How a map's series are gap-filled (:func:`hrbench.api.fill_missing_frames`): each channel of each ROI on
#: its own, as :func:`numpy.interp` computes, float32; the traces themselves when nothing is missing.  A
#: series without a finite value becomes zeros.
SERIES_FILL = {"per_channel": True, "dtype": np.float32, "copy": False, "arithmetic": "interp"}


def pool_blocks(traces: np.ndarray, pool_h: int, pool_w: int) -> np.ndarray:
    """Average ``pool_h x pool_w`` neighbouring blocks of the cheek grid.

    ``(n, 200, T, 3)`` -> ``(n, (10/pool_h)*(20/pool_w), T, 3)``, row-major.
    """
    if pool_h == 1 and pool_w == 1:
        return traces
    n, n_rois, T, C = traces.shape
    gh, gw = GRID
    if n_rois != gh * gw:
        raise HrbenchError(
            f"block pooling needs the {gh}x{gw} cheek_grid ({gh * gw} ROIs); the clips have {n_rois}"
        )
    x = traces.reshape(n, gh // pool_h, pool_h, gw // pool_w, pool_w, T, C)
    return x.mean(axis=(2, 4), dtype=np.float64).reshape(n, -1, T, C).astype(np.float32)


def pool_time(traces: np.ndarray, k: int) -> np.ndarray:
    """Average ``k`` consecutive frames along axis -2; a ragged tail is dropped."""
    if k == 1:
        return traces
    T = (traces.shape[-2] // k) * k
    out = np.array(traces[..., 0:T:k, :], dtype=np.float32)
    for j in range(1, k):
        out += traces[..., j:T:k, :]
    out *= np.float32(1.0 / k)
    return out


def highpass(traces: np.ndarray, fps: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth high-pass of series ``(..., T, C)`` along time (axis -2).

    A cut-off of 0 returns ``traces`` unchanged (no detrending); otherwise
    ``fps`` must be the series' frame rate.
    """
    if cutoff_hz <= 0:
        return traces
    if fps <= 0:
        raise HrbenchError("detrended maps need the clips' frame rate")
    if cutoff_hz >= 0.5 * fps:
        raise HrbenchError(f"high-pass cut-off {cutoff_hz} Hz must lie below half the map frame rate ({fps:g} fps)")
    sos = sps.butter(2, cutoff_hz / (0.5 * fps), btype="highpass", output="sos")
    T = traces.shape[-2]
    return sps.sosfiltfilt(sos, traces, axis=-2, padlen=min(T - 1, 15)).astype(np.float32)


def minmax_rows(traces: np.ndarray, axis: int = -2) -> np.ndarray:
    """Scale every series (along ``axis``, time) to [0, 255]; constant series -> 0."""
    lo = traces.min(axis=axis, keepdims=True)
    span = traces.max(axis=axis, keepdims=True) - lo
    scale = np.divide(np.float32(255.0), span, out=np.zeros_like(span, dtype=np.float32), where=span > 0)
    return ((traces - lo) * scale).astype(np.float32, copy=False)


def chrominance(series: np.ndarray) -> np.ndarray:
    """Colour series ``(..., T, 3)`` (R, G, B, positive) -> temporally normalised POS projections ``(..., T, 2)``.

    Each channel is divided by its mean over the clip (so a change of light
    intensity is the same relative change in R, G and B) and projected onto
    ``S1 = G - B`` and ``S2 = G + B - 2R``, which cancel that common part.  A
    series with a non-positive mean (a dead block) gives zeros.
    """
    mean = series.mean(axis=-2, keepdims=True, dtype=np.float64)
    norm = np.divide(series, mean, out=np.ones(np.broadcast_shapes(series.shape, mean.shape)), where=mean > 0)
    r, g, b = norm[..., 0], norm[..., 1], norm[..., 2]
    return np.stack([g - b, g + b - 2.0 * r], axis=-1).astype(np.float32)


def pos_channels(projections: np.ndarray) -> np.ndarray:
    """``(..., T, 2)`` projections ``(S1, S2)`` -> ``(..., T, 3)`` channels ``(h, S1, S2)``.

    ``h = S1 + (sd S1 / sd S2) S2`` is POS's alpha tuning over the whole clip;
    a flat S2 gives ``h = S1``.
    """
    s1, s2 = projections[..., 0], projections[..., 1]
    sd1, sd2 = s1.std(axis=-1, keepdims=True), s2.std(axis=-1, keepdims=True)
    alpha = np.divide(sd1, sd2, out=np.zeros_like(sd1), where=sd2 > 0)
    return np.stack([s1 + alpha * s2, s1, s2], axis=-1).astype(np.float32)


def series_to_maps(series: np.ndarray, spec: MapSpec, fps: float) -> np.ndarray:
    """Pooled colour series ``(n, rows, T, 3)`` at ``fps`` -> scaled maps ``(n, 3, rows, T)`` (float32).

    The one place face clips and synthetic rhythms become network input, so
    the two kinds of map are made alike.
    """
    if spec.colour == "pos":
        return to_maps(pos_channels(highpass(chrominance(series), fps, spec.highpass_hz)))
    return to_maps(highpass(series, fps, spec.highpass_hz))


def to_maps(traces: np.ndarray) -> np.ndarray:
    """Pooled series ``(n, rows, T, 3)`` -> min-max scaled maps ``(n, 3, rows, T)``."""
    return minmax_rows(np.ascontiguousarray(np.transpose(traces, (0, 3, 1, 2))), axis=-1)


def pooled_series(traces: np.ndarray, spec: MapSpec) -> np.ndarray:
    """Clip traces ``(n, n_rois, T, 3)`` -> NaN-free block-pooled series ``(n, rows, T, 3)`` float32.

    The spatial half of :func:`maps_from_traces`: crops or resamplings in time
    (training augmentation) may come between it and :func:`maps_from_series`.
    """
    if traces.ndim != 4 or traces.shape[-1] != 3:
        raise HrbenchError(f"expected clip traces (n, n_rois, T, 3), got shape {traces.shape}")
    filled, _ = fill_missing_frames(np.asarray(traces, dtype=np.float32), **SERIES_FILL)
    return pool_blocks(filled, spec.pool_h, spec.pool_w)


def maps_from_series(series: np.ndarray, spec: MapSpec, *, fps: float = 0.0) -> np.ndarray:
    """Pooled series ``(n, rows, T, 3)`` at ``fps`` -> maps ``(n, 3, rows, T / time_pool)`` float16 in [0, 255]."""
    return series_to_maps(pool_time(series, spec.time_pool), spec, fps / spec.time_pool).astype(np.float16)


def maps_from_traces(traces: np.ndarray, spec: MapSpec, *, fps: float = 0.0, chunk: int = 256) -> np.ndarray:
    """Clip traces ``(n, n_rois, T, 3)`` at ``fps`` -> maps ``(n, 3, rows, frames)`` float16 in [0, 255].

    ``fps`` is needed only when ``spec.highpass_hz`` > 0.  Works in chunks so
    that the float64 intermediates of pooling stay small.
    """
    if traces.ndim != 4 or traces.shape[-1] != 3:
        raise HrbenchError(f"expected clip traces (n, n_rois, T, 3), got shape {traces.shape}")
    n, n_rois, T, _ = traces.shape
    rows, frames = spec.n_rows(n_rois), spec.n_frames(T)
    if frames < 8:
        raise HrbenchError(f"clips of {T} frames leave only {frames} after time pooling {spec.time_pool}")
    out = np.empty((n, 3, rows, frames), dtype=np.float16)
    for a in range(0, n, chunk):
        out[a : a + chunk] = maps_from_series(pooled_series(traces[a : a + chunk], spec), spec, fps=fps)
    return out
