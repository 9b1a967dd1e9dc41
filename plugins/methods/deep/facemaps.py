"""Face-grid spatial-temporal maps (Niu et al., FG 2019 poster; RhythmNet, TIP 2020).

The poster builds its map from the aligned face cut into 5 x 5 = 25 blocks:
each block's mean colour per frame is one row, each row's series is min-max
scaled to [0, 255] independently, and the colour channels are stacked.  Here
the input is a :class:`hrbench.plugin.clips.Clips` traces array
``(n, n_rois, clip_len, 3)`` of the ``face_grid`` ROI scheme (25 blocks,
row-major, raw mean RGB) and the output is ``(n, channels, rows, frames)`` --
the channel-first layout a CNN takes -- in the paper's 0..255 units.

Choices (the poster shows the pipeline as a figure only; where it is silent
we follow RhythmNet by the same authors):

* **Colour** (``colour``): ``"rgb+yuv"`` (default) stacks the R, G, B and the
  Y, U, V series of every block -- a ``25 x T x 6`` map, the poster's
  "RGB and YUV" map.  ``"yuv"`` is RhythmNet's ``25 x T x 3`` map (RhythmNet
  argues YUV separates the pulse-carrying chrominance from luminance better
  than RGB); ``"rgb"`` is the SynRhythm-style colour map; ``"pos"`` is the
  chrominance map of :mod:`.stmap` (POS pulse, S1, S2 per row), which cancels
  the intensity changes common to R, G and B before scaling.  YUV comes from
  :func:`hrbench.plugin.roi.rgb_to_yuv` applied to the *block means*: the BT.601
  conversion is linear per pixel, so the YUV mean of a block equals the same
  linear map of its RGB mean -- exactly what converting the frame first and
  averaging afterwards would give, and one trace cache serves both.
* **Clip length and stride.**  RhythmNet cuts each video into 300-frame
  windows every 0.5 s.  In hrbench the *protocol* decides the clips: it draws
  ``per_video`` windows of ``length`` frames (300 in the shipped protocols, as
  in the paper) at random starts among the usable windows, identical for every
  method.  A 30-s video with a 0.5-s stride gives 41 heavily overlapping
  windows; 20 random starts from the same set of windows cover the same span
  with about half as many near-duplicates, so the map geometry (25 x 300) is
  the paper's and only the number of clips per video differs.
* **Temporal pooling** (``time_pool``, a CPU-budget reduction shared with the
  SynRhythm maps): averaging k consecutive frames; k = 2 gives 150 columns at
  15 fps (Nyquist 7.5 Hz, well above the 4 Hz band edge).  The ``paper``
  profile uses k = 1.
* **Lost face** (NaN frames) is linearly interpolated per series before
  scaling (:data:`.stmap.SERIES_FILL`); a series with no finite value or a flat
  one becomes a row of zeros.
* **Detrending** (``highpass_hz``; off in the ``paper`` profile): as for the
  SynRhythm maps (:mod:`.stmap`), a zero-phase high-pass per series before
  scaling, so a slow drift does not set a row's range.
* **Order**: colour conversion, then pooling, then min-max scaling.  The first
  two are linear and commute; scaling must come last so every row spans
  exactly [0, 255].
* **Storage**: float16 in 0..255, as the SynRhythm maps.
"""

from __future__ import annotations

import numpy as np

from hrbench.api import HrbenchError, fill_missing_frames, rgb_to_yuv

from .stmap import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    SERIES_FILL,
    MapSpec,
    highpass,
    minmax_rows,
    pool_time,
    series_to_maps,
)

#: Colour layouts of a map and the channels they stack, in order.
COLOURS: dict[str, tuple[str, ...]] = {
    "rgb+yuv": ("R", "G", "B", "Y", "U", "V"),
    "yuv": ("Y", "U", "V"),
    "rgb": ("R", "G", "B"),
    "pos": ("H", "S1", "S2"),
}


def n_channels(colour: str) -> int:
    try:
        return len(COLOURS[colour])
    except KeyError:
        raise HrbenchError(f"unknown map colour {colour!r}; choose one of {list(COLOURS)}") from None


def channel_stats(colour: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel input mean/std in [0, 1] units for the network.

    Every group of three channels gets the ImageNet RGB statistics: the first
    convolution's filters for each group start from the ImageNet RGB filters
    (see :mod:`.attention`), so each group is normalised as those filters
    expect.  Min-max scaled rows have roughly the same spread in every
    channel, so the choice is harmless for a random start too.
    """
    c = n_channels(colour)
    return tuple(IMAGENET_MEAN[i % 3] for i in range(c)), tuple(IMAGENET_STD[i % 3] for i in range(c))


def colour_series(traces: np.ndarray, colour: str) -> np.ndarray:
    """Raw mean-RGB traces ``(..., T, 3)`` -> the colour series ``(..., T, C)`` of ``colour``."""
    n_channels(colour)
    if colour in ("rgb", "pos"):  # pos is projected after pooling, in series_to_maps
        return traces
    yuv = rgb_to_yuv(traces).astype(np.float32, copy=False)
    if colour == "yuv":
        return yuv
    return np.concatenate([traces, yuv], axis=-1)


def face_maps(
    traces: np.ndarray, colour: str = "rgb+yuv", time_pool: int = 1, *, fps: float = 0.0, highpass_hz: float = 0.0,
    chunk: int = 256,
) -> np.ndarray:
    """Clip traces ``(n, n_rois, T, 3)`` -> maps ``(n, C, n_rois, T // time_pool)`` float16 in [0, 255].

    ``highpass_hz`` > 0 detrends every series before scaling, as
    :func:`.stmap.maps_from_traces` does (``fps`` is then required).
    """
    if traces.ndim != 4 or traces.shape[-1] != 3:
        raise HrbenchError(f"expected clip traces (n, n_rois, T, 3), got shape {traces.shape}")
    if time_pool < 1:
        raise HrbenchError(f"time_pool must be >= 1, got {time_pool}")
    n, n_rois, T, _ = traces.shape
    frames = T // time_pool
    if frames < 8:
        raise HrbenchError(f"clips of {T} frames leave only {frames} after time pooling {time_pool}")
    out = np.empty((n, n_channels(colour), n_rois, frames), dtype=np.float16)
    for a in range(0, n, chunk):
        x = fill_missing_frames(np.asarray(traces[a : a + chunk], dtype=np.float32), **SERIES_FILL)[0]
        if colour == "pos":
            spec = MapSpec(time_pool=time_pool, highpass_hz=highpass_hz, colour="pos")
            out[a : a + chunk] = series_to_maps(pool_time(x, time_pool), spec, fps / time_pool)
            continue
        x = highpass(pool_time(colour_series(x, colour), time_pool), fps / time_pool, highpass_hz)
        out[a : a + chunk] = np.transpose(minmax_rows(x), (0, 3, 1, 2))
    return out
