"""HR-balancing data augmentation (Niu et al., FG 2019 poster, "Data augmentation (DA)").

Face-video databases are imbalanced in heart rate: VIPL-HR (the poster's
histogram), like hrbench's synthetic population, has most recordings at
60-100 bpm and a thin tail above.  A regressor trained on that learns to
predict the crowded range.  The poster's remedy: *resample a training video
in time* so that its pulse moves to an under-represented HR.  Playing ``W``
frames back as ``T`` frames at the same frame rate multiplies every frequency
by ``f = W / T``; the label becomes ``HR * f``.

Which factors: the poster's HR-balancing rule (:func:`balancing_factors`,
below) is what the rhythm DA variants use, in both profiles; the ``default``
profiles of the ``stmap_*`` methods draw log-uniform factors
(:func:`uniform_factors`) for every training map.  Both were chosen on
``synthetic-dev``: on unshifted clips the balancing draw (which moves labels
towards the empty bins, mostly upwards) lost in both families; judged on
heart rates the training set did not hold (study 12, the HR-shift probe),
it won for the rhythm DA variants, and resampling every map won for
``stmap_*``.

Here the resampling acts on ROI traces, not pixels (block means of a
resampled video are the resampled block means -- both operations are linear
and act on different axes).  The runner gives the rhythm methods training
clips ``train_clip_factor = 1.5`` times the protocol length (450 frames for
300), so a window of ``~T * f`` frames with ``f`` up to 1.5 fits; the plain
variants get the same long clips and take a ``T``-frame crop of each, so the
ablation's variants train on the same clips.

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
* **Replace, not add, within an epoch** (:func:`plan_epoch`, ``p_resample``):
  the poster *adds* the augmented videos to the training set.  Adding them
  to every epoch doubles the maps per epoch, so a DA run then takes twice
  the optimiser steps of a plain run per epoch -- or, at an equal budget,
  half the epochs -- and an ablation cannot tell "DA hurts" from "DA got a
  different budget".  Here every epoch holds exactly one map per training
  clip: its plain crop, or, with probability ``p_resample``, its resampled
  copy instead (an independent draw per clip and epoch).  The rhythm DA
  variants' 0.5 keeps the poster's intent: the maps of an epoch are drawn, in
  expectation, from exactly the poster's augmented set -- the originals plus
  one resampled copy of each, half and half -- and over the epochs every
  clip is seen both ways equally often.  It is also the mixture the
  water-filling rule levels (one copy per original, counted on top of the
  originals); a larger share would over-represent the copies (at 1 the
  originals vanish), a smaller one would leave the crowded peak nearly
  untouched.
* **Plain crops shared with the plain variants**: the un-augmented crop
  offsets come from their own generator (:func:`random_crops`), not the
  augmentation's, so a plain variant and a DA variant with one seed crop
  every clip at the same offsets; the clips a DA epoch does not resample
  give the very same maps as in the plain variant.
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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hrbench.api import HrbenchError

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


def uniform_factors(n: int, factor_range: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """``n`` factors log-uniform over ``factor_range``: every HR moves up or down alike, the label mean stays put.

    The alternative to :func:`balancing_factors` when the aim is not a flatter
    histogram but a net that cannot key its answer on the person: each clip
    is seen at many heart rates, symmetric in log-frequency around its own.
    """
    f_lo, f_hi = factor_range
    if not 0 < f_lo <= 1 <= f_hi:
        raise HrbenchError(f"factor range must contain 1, got {factor_range}")
    return np.exp(rng.uniform(np.log(f_lo), np.log(f_hi), n))


def random_starts(clip_len: int, length: int, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniform random window starts (fractional frames) so that each resampled window fits."""
    span = (length - 1) * np.asarray(factors, dtype=np.float64)
    room = np.maximum(clip_len - 1 - span, 0.0)
    return rng.uniform(0.0, 1.0, len(span)) * room


def random_crops(n: int, clip_len: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform integer offsets of ``length``-frame crops in clips of ``clip_len`` frames.

    One generator for the plain crops of every variant (see the module
    docstring): drawn before, and independently of, any augmentation.
    """
    if clip_len < length:
        raise HrbenchError(f"training clips of {clip_len} frames are shorter than the {length}-frame maps")
    return rng.integers(0, clip_len - length + 1, n)


@dataclass(frozen=True)
class EpochPlan:
    """One epoch of training maps for ``n`` long clips: exactly one map per clip.

    Map ``i`` is the plain ``length``-frame crop of clip ``i`` at
    ``crop_starts[i]`` (int frames), or, where ``resampled[i]``, its copy
    resampled by ``factors[i]`` from ``starts[i]`` (fractional frames),
    labelled ``label * factors[i]``.  ``factors`` and ``starts`` are drawn for
    every clip, so the plan also describes the copies an epoch did not use.
    """

    crop_starts: np.ndarray
    factors: np.ndarray
    starts: np.ndarray
    resampled: np.ndarray

    @classmethod
    def plain(cls, crop_starts: np.ndarray) -> EpochPlan:
        """An epoch without augmentation: every map is its clip's plain crop."""
        n = len(crop_starts)
        return cls(np.asarray(crop_starts, dtype=np.int64), np.ones(n), np.zeros(n), np.zeros(n, dtype=bool))

    def __len__(self) -> int:
        return len(self.crop_starts)

    @property
    def resampled_share(self) -> float:
        """Fraction of this epoch's maps that are resampled copies."""
        return float(np.mean(self.resampled)) if len(self) else 0.0

    def labels(self, labels: np.ndarray) -> np.ndarray:
        """The label of each map: the clip's HR, times its factor where the map is the resampled copy."""
        labels = np.asarray(labels, dtype=np.float64)
        if labels.shape != (len(self),):
            raise HrbenchError(f"{len(labels)} labels for an epoch of {len(self)} clips")
        return np.where(self.resampled, labels * self.factors, labels)


def plan_epoch(
    labels: np.ndarray,
    crop_starts: np.ndarray,
    clip_len: int,
    length: int,
    edges: np.ndarray | None,
    *,
    factor_range: tuple[float, float] = DEFAULT_FACTORS,
    p_resample: float = 0.5,
    rng: np.random.Generator,
) -> EpochPlan:
    """Draw one DA epoch for clips of ``clip_len`` frames whose plain crops start at ``crop_starts``.

    Every clip gets an HR-balancing factor and a window position
    (:func:`balancing_factors` against the originals' histogram, as for one
    copy per original; with ``edges`` None a log-uniform factor,
    :func:`uniform_factors`); each clip's map is then its resampled copy with
    probability ``p_resample``, else its plain crop (see the module
    docstring for why half).  The factor range is capped by what fits: at
    most ``(clip_len - 1) / (length - 1)`` (1.5 for 450-frame clips and
    300-frame maps).
    """
    if clip_len < length:
        raise HrbenchError(f"training clips of {clip_len} frames are shorter than the {length}-frame maps")
    if not 0.0 <= p_resample <= 1.0:
        raise HrbenchError(f"resampling probability must be in [0, 1], got {p_resample}")
    crop_starts = np.asarray(crop_starts, dtype=np.int64)
    outside = len(crop_starts) and (crop_starts.min() < 0 or crop_starts.max() > clip_len - length)
    if crop_starts.shape != (len(labels),) or outside:
        raise HrbenchError(f"need one crop start in 0..{clip_len - length} per clip ({len(labels)})")
    f_lo, f_hi = factor_range
    f_hi = max(1.0, min(f_hi, max_factor(clip_len, length)))
    if edges is None:  # no target histogram: log-uniform factors
        factors = uniform_factors(len(labels), (f_lo, f_hi), rng)
    else:
        factors = balancing_factors(labels, edges, factor_range=(f_lo, f_hi), rng=rng)
    starts = random_starts(clip_len, length, factors, rng)
    resampled = rng.random(len(factors)) < p_resample
    return EpochPlan(crop_starts, factors, starts, resampled)


def crop_windows(traces: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Integer crops ``traces[i, :, starts[i] : starts[i] + length]`` -> ``(n, rois, length, C)``."""
    idx = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(length)[None, :]
    return np.take_along_axis(traces, idx[:, None, :, None], axis=2)


#: Salts of the two per-epoch generators: crop offsets (shared by every variant) and augmentation draws.
CROP_SALT, DA_SALT = 0xC209, 0xDA


def epoch_maps(
    traces: np.ndarray,
    labels: np.ndarray,
    length: int,
    to_maps: Callable[[np.ndarray], np.ndarray],
    *,
    seed: int,
    epoch: int,
    edges: np.ndarray | None = None,
    factor_range: tuple[float, float] = DEFAULT_FACTORS,
    p_resample: float = 0.5,
    augment: bool = False,
    chunk: int = 128,
) -> tuple[np.ndarray, np.ndarray, EpochPlan]:
    """One epoch of training maps from long clips ``(n, rows, clip_len, C)``: one map per clip.

    Each clip gives its plain ``length``-frame crop or, with ``augment``, with
    probability ``p_resample`` its resampled copy (:func:`plan_epoch`:
    balancing factors against ``edges``, log-uniform ones without).
    The crop offsets come from their own generator seeded by (seed, epoch)
    alone, so variants with and without augmentation crop alike.  Windows are
    turned into maps by ``to_maps`` in chunks of ``chunk`` clips, so memory
    stays bounded.  Returns ``(maps float16, labels float32, plan)``.
    """
    n, clip_len = len(traces), traces.shape[2]
    crops = random_crops(n, clip_len, length, np.random.default_rng([seed, epoch, CROP_SALT]))
    if not augment:
        plan = EpochPlan.plain(crops)
    else:
        plan = plan_epoch(labels, crops, clip_len, length, edges, factor_range=factor_range, p_resample=p_resample,
                          rng=np.random.default_rng([seed, epoch, DA_SALT]))
    maps: np.ndarray | None = None
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        windows = crop_windows(traces[a:b], plan.crop_starts[a:b], length)
        r = np.flatnonzero(plan.resampled[a:b])
        if len(r):
            windows[r] = resample_windows(traces[a:b][r], plan.starts[a:b][r], plan.factors[a:b][r], length)
        part = to_maps(windows)
        if maps is None:
            maps = np.empty((n, *part.shape[1:]), dtype=np.float16)
        maps[a:b] = part
    if maps is None:
        raise HrbenchError("no training clips")
    return maps, plan.labels(labels).astype(np.float32), plan
