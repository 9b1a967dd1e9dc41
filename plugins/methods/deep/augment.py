"""HR-balancing data augmentation (Niu et al., FG 2019 poster, "Data augmentation (DA)").

Face-video databases are imbalanced in heart rate: VIPL-HR (the poster's
histogram), like hrbench's synthetic population, has most recordings at
60-100 bpm and a thin tail above.  A regressor trained on that learns to
predict the crowded range.  The poster's remedy: *resample a training video
in time* so that its pulse moves to an under-represented HR.  Playing ``W``
frames back as ``T`` frames at the same frame rate multiplies every frequency
by ``f = W / T``; the label becomes ``HR * f``.

Here the resampling acts on ROI traces, not pixels (block means of a
resampled video are the resampled block means -- both operations are linear
and act on different axes).  The runner gives a DA method training clips
``train_clip_factor = 1.5`` times the protocol length (450 frames for 300),
so a window of ``~T * f`` frames with ``f`` up to 1.5 fits.

Choices where the poster is silent (RhythmNet, TIP 2020, by the same
authors, describes the same idea: videos with common HRs are down- or
up-sampled to populate the rare low and high ranges):

* **Factor range** ``[0.67, 1.5]`` (``factor_range``): a factor of 1.5 is
  what 1.5x-long training clips allow, and 0.67 = 1 / 1.5 is its mirror;
  any factor in between is allowed so the augmented labels fill the
  histogram continuously rather than as two copies of the crowded peak
  scaled by the two extremes.
* **Which factor for which sample** -- :func:`balancing_factors`, a
  water-filling rule: the training labels' histogram (bins of ``bin_bpm``
  over a target HR range) starts as the counts of the originals; samples are
  visited in random order and each gets one augmented copy whose HR lands in
  the *least populated bin it can reach* (``HR * f`` with ``f`` in the
  range), at a uniformly random position inside the reachable part of that
  bin; the bin's count is then increased.  The combined histogram (originals
  + copies) is thereby levelled from the bottom up: flatter, i.e. higher
  entropy and wider spread, with every copy a physically plausible HR.  A
  sample that can reach no target bin keeps ``f = 1`` (its copy is just
  another crop).
* **Target range** (``target_bpm``), default 45-150 bpm: the HRs of seated
  and mildly active adults that face databases contain; the lower bound stays
  above the 42 bpm band edge so augmented labels are always measurable.
* **Fresh draws per epoch**: factors, positions and crop offsets are redrawn
  every epoch from a generator seeded by (run seed, epoch), so over the
  epochs a network sees many resampled versions of each clip.
* **Interpolation**: linear between frames.  For ``f > 1`` (decimation) no
  anti-alias filter is applied: at 30 fps and f <= 1.5 the pulse band
  (<= 4 Hz -> <= 6 Hz) stays far below Nyquist; only sensor noise above
  10 Hz folds back, which min-max scaled maps tolerate.
* **Label of a crop**: the reference HR the runner gives a (long) training
  clip is its mean over the whole long window; a crop inside it is labelled
  with that mean (times ``f``).  Within 15 s the HR of a resting subject
  varies by a few bpm at most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrbench.errors import HrbenchError

#: Default range of resampling factors (HR * f).
DEFAULT_FACTORS: tuple[float, float] = (2.0 / 3.0, 1.5)


def histogram_edges(target_bpm: tuple[float, float], bin_bpm: float) -> np.ndarray:
    """Bin edges of ``bin_bpm`` covering ``target_bpm`` (the last bin may overhang)."""
    lo, hi = target_bpm
    if not 0 < lo < hi or bin_bpm <= 0:
        raise HrbenchError(f"bad HR histogram: range {target_bpm}, bin {bin_bpm}")
    n = int(np.ceil((hi - lo) / bin_bpm - 1e-9))
    return lo + bin_bpm * np.arange(n + 1)


def label_histogram(labels: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of finite labels per bin (labels outside the edges are not counted)."""
    labels = np.asarray(labels, dtype=np.float64)
    return np.histogram(labels[np.isfinite(labels)], bins=edges)[0].astype(np.int64)


def balancing_factors(
    labels: np.ndarray,
    edges: np.ndarray,
    counts: np.ndarray | None = None,
    *,
    factor_range: tuple[float, float] = DEFAULT_FACTORS,
    rng: np.random.Generator,
) -> np.ndarray:
    """One resampling factor per label so that the labels' histogram becomes flatter.

    ``counts`` is the histogram of ``labels`` over ``edges`` (computed when
    omitted; pass another to balance against a different population).  Each
    sample's augmented label ``labels * factor`` lands in the least populated
    bin it can reach with a factor in ``factor_range``; see the module
    docstring.  Non-finite labels and samples that reach no bin get 1.
    """
    labels = np.asarray(labels, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    f_lo, f_hi = factor_range
    if not 0 < f_lo <= 1 <= f_hi:
        raise HrbenchError(f"factor range must contain 1, got {factor_range}")
    counts = label_histogram(labels, edges) if counts is None else np.array(counts, dtype=np.int64)
    if counts.shape != (len(edges) - 1,):
        raise HrbenchError(f"{len(counts)} histogram counts for {len(edges) - 1} bins")
    factors = np.ones(len(labels))
    lo_e, hi_e = edges[:-1], edges[1:]
    for i in rng.permutation(len(labels)):
        h = labels[i]
        if not np.isfinite(h) or h <= 0:
            continue
        # The part of each bin reachable from h: [max(edge_lo, h f_lo), min(edge_hi, h f_hi)].
        a = np.maximum(lo_e, h * f_lo)
        b = np.minimum(hi_e, h * f_hi)
        ok = np.flatnonzero(b > a)
        if len(ok) == 0:
            continue
        least = ok[counts[ok] == counts[ok].min()]
        k = least[rng.integers(len(least))]
        factors[i] = np.clip(rng.uniform(a[k], b[k]) / h, f_lo, f_hi)
        counts[k] += 1
    return factors


def resample_windows(traces: np.ndarray, starts: np.ndarray, factors: np.ndarray, length: int) -> np.ndarray:
    """Resample windows of ``traces`` in time: ``(n, rois, L, C)`` -> ``(n, rois, length, C)``.

    Output frame ``k`` of clip ``i`` is the linear interpolation of the input
    at frame ``starts[i] + k * factors[i]``: a pulse at HR ``h`` becomes one at
    ``h * factors[i]``.  The windows must fit: ``starts + (length - 1) *
    factors <= L - 1``.
    """
    n, _, L, _ = traces.shape
    starts = np.asarray(starts, dtype=np.float64)
    factors = np.asarray(factors, dtype=np.float64)
    if starts.shape != (n,) or factors.shape != (n,):
        raise HrbenchError(f"need one start and one factor per clip ({n})")
    if n == 0:
        return np.empty((0, traces.shape[1], length, traces.shape[3]), dtype=np.float32)
    pos = starts[:, None] + np.arange(length)[None, :] * factors[:, None]  # (n, length)
    if pos.min() < -1e-9 or pos.max() > L - 1 + 1e-6:
        raise HrbenchError(f"resampling window exceeds the {L}-frame clips")
    pos = np.clip(pos, 0, L - 1)
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, max(L - 2, 0))
    i1 = np.minimum(i0 + 1, L - 1)
    w = (pos - i0).astype(np.float32)[:, :, None, None]
    x = np.moveaxis(np.asarray(traces, dtype=np.float32), 2, 1)  # (n, L, rois, C) view
    rows = np.arange(n)[:, None]
    a, b = x[rows, i0], x[rows, i1]  # (n, length, rois, C)
    return np.ascontiguousarray(np.moveaxis(a + (b - a) * w, 1, 2))


def max_factor(clip_len: int, length: int) -> float:
    """Largest factor whose window of ``length`` output frames fits in ``clip_len`` frames."""
    return (clip_len - 1) / max(length - 1, 1)


def random_starts(clip_len: int, length: int, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniform random window starts (fractional frames) so that each resampled window fits."""
    span = (length - 1) * np.asarray(factors, dtype=np.float64)
    room = np.maximum(clip_len - 1 - span, 0.0)
    return rng.uniform(0.0, 1.0, len(span)) * room


@dataclass(frozen=True)
class EpochPlan:
    """One epoch of DA for ``n`` long clips: a plain crop and a resampled copy of each.

    ``crop_starts`` (int frames) place the un-augmented ``length``-frame crops;
    ``factors`` and ``starts`` (fractional frames) place the resampled copies,
    labelled ``labels * factors``.
    """

    crop_starts: np.ndarray
    factors: np.ndarray
    starts: np.ndarray

    def labels(self, labels: np.ndarray) -> np.ndarray:
        """Labels of the plain crops followed by those of the copies."""
        labels = np.asarray(labels, dtype=np.float64)
        return np.concatenate([labels, labels * self.factors])


def plan_epoch(
    labels: np.ndarray,
    clip_len: int,
    length: int,
    edges: np.ndarray,
    *,
    factor_range: tuple[float, float] = DEFAULT_FACTORS,
    rng: np.random.Generator,
) -> EpochPlan:
    """Draw one epoch's crops and HR-balancing factors for clips of ``clip_len`` frames.

    The factor range is capped by what fits: at most ``(clip_len - 1) /
    (length - 1)`` (1.5 for 450-frame clips and 300-frame maps).
    """
    if clip_len < length:
        raise HrbenchError(f"training clips of {clip_len} frames are shorter than the {length}-frame maps")
    f_lo, f_hi = factor_range
    f_hi = max(1.0, min(f_hi, max_factor(clip_len, length)))
    factors = balancing_factors(labels, edges, factor_range=(f_lo, f_hi), rng=rng)
    crop_starts = rng.integers(0, clip_len - length + 1, len(factors))
    return EpochPlan(crop_starts, factors, random_starts(clip_len, length, factors, rng))


def crop_windows(traces: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Integer crops ``traces[i, :, starts[i] : starts[i] + length]`` -> ``(n, rois, length, C)``."""
    idx = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(length)[None, :]
    return np.take_along_axis(traces, idx[:, None, :, None], axis=2)
