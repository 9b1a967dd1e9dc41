"""How sure is a number, and do two methods really differ?

* :func:`bootstrap_ci` -- 95 % percentile intervals for every metric,
  resampling *subjects* with replacement (all videos of a drawn subject come
  along), because videos of one person are correlated: resampling videos
  would pretend we had more independent evidence than we do.
  :func:`bootstrap_distribution` and :func:`pooled_intervals` expose the
  resamples so rows averaged over training seeds can pool them.
* :func:`wilcoxon_pair` -- paired Wilcoxon signed-rank test on absolute
  errors of two methods over the same units (scipy).  Leaderboards call it
  on per-*subject* errors (see :mod:`hrbench.boards.inference`), never on videos
  of one person as if they were independent.
* :func:`friedman_nemenyi` -- Friedman test over many methods and the
  Nemenyi post-hoc matrix (scikit-posthocs), with mean ranks for a
  critical-difference diagram; rows of its table are the independent units
  (subjects, on leaderboards).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from .metrics import Metrics, compute_metrics

METRIC_FIELDS = ("hr_me", "hr_sd", "hr_rmse", "hr_mer", "mae", "r")


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def bootstrap_distribution(pred: np.ndarray, ref: np.ndarray, subjects: list[str], n_boot: int = 1000,
                           seed: int = 0) -> dict[str, np.ndarray]:
    """Each metric over ``n_boot`` subject-level resamples (all videos of a drawn subject come along).

    Returned raw, not as an interval, so that runs repeated with several
    training seeds can pool their distributions: the pooled interval then
    carries seed-to-seed variance as well as subject sampling variance.

    Vectorised: a resample is a vector of how often each subject was drawn,
    so every metric follows from per-subject sums (one matrix product for all
    resamples) -- the same numbers as :func:`compute_metrics` on the
    concatenated videos, to rounding, at a fraction of the cost.  Sums of
    squares are taken about the overall means so they do not lose precision.
    """
    pred, ref = np.asarray(pred, float), np.asarray(ref, float)
    nan = {f: np.full(n_boot, np.nan) for f in METRIC_FIELDS}
    if len(pred) == 0:
        return nan
    uniq, inv = np.unique(np.asarray(subjects), return_inverse=True)
    e = pred - ref
    pc, rc = pred - pred.mean(), ref - ref.mean()
    feats = np.stack([np.ones_like(e), e, e**2, np.abs(e), np.abs(e) / ref, pc, rc, pc**2, rc**2, pc * rc], axis=1)
    per_subject = np.zeros((len(uniq), feats.shape[1]))
    np.add.at(per_subject, inv, feats)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(uniq), size=(n_boot, len(uniq)))
    counts = np.zeros((n_boot, len(uniq)))
    np.add.at(counts, (np.arange(n_boot)[:, None], picks), 1.0)
    n, se, se2, sae, saer, sp, sr, sp2, sr2, spr = (counts @ per_subject).T
    me = se / n
    mp, mr = sp / n, sr / n
    vp, vr = sp2 / n - mp**2, sr2 / n - mr**2
    cov = spr / n - mp * mr
    tiny = 1e-12 * (1.0 + sp2 / n + sr2 / n)  # a constant column has no correlation (compute_metrics says NaN)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.sqrt(np.clip(vp, 0, None) * np.clip(vr, 0, None))
        r = np.where((vp > tiny) & (vr > tiny) & (n > 1), cov / scale, np.nan)
    return {
        "hr_me": me,
        "hr_sd": np.sqrt(np.clip(se2 / n - me**2, 0.0, None)),
        "hr_rmse": np.sqrt(se2 / n),
        "hr_mer": saer / n * 100.0,
        "mae": sae / n,
        "r": np.clip(r, -1.0, 1.0),
    }


def pooled_intervals(distributions: list[dict[str, np.ndarray]], level: float = 0.95) -> dict[str, Interval]:
    """Percentile intervals of one or more bootstrap distributions pooled together."""
    a = (1 - level) / 2
    out = {}
    for f in METRIC_FIELDS:
        v = np.concatenate([d[f] for d in distributions]) if distributions else np.array([])
        v = v[np.isfinite(v)]
        out[f] = (Interval(float(np.quantile(v, a)), float(np.quantile(v, 1 - a))) if len(v)
                  else Interval(np.nan, np.nan))
    return out


def bootstrap_ci(
    pred: np.ndarray, ref: np.ndarray, subjects: list[str], n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, Interval]:
    """Subject-level bootstrap percentile intervals for each metric field."""
    return pooled_intervals([bootstrap_distribution(pred, ref, subjects, n_boot, seed)], level)


@dataclass(frozen=True)
class PairTest:
    a: str
    b: str
    n: int
    median_diff: float  # median of |err_a| - |err_b|
    statistic: float
    p_value: float


def wilcoxon_pair(a: str, err_a: np.ndarray, b: str, err_b: np.ndarray) -> PairTest:
    """Wilcoxon signed-rank on paired absolute errors (same recordings, same order)."""
    ea, eb = np.abs(np.asarray(err_a, float)), np.abs(np.asarray(err_b, float))
    d = ea - eb
    if len(d) < 2 or np.allclose(d, 0):
        return PairTest(a, b, len(d), float(np.median(d)) if len(d) else np.nan, np.nan, 1.0)
    res = sps.wilcoxon(ea, eb, zero_method="wilcox")
    return PairTest(a, b, len(d), float(np.median(d)), float(res.statistic), float(res.pvalue))


@dataclass(frozen=True)
class ManyTest:
    methods: list[str]
    n: int
    friedman_stat: float
    friedman_p: float
    mean_ranks: pd.Series
    nemenyi: pd.DataFrame


def friedman_nemenyi(abs_errors: pd.DataFrame) -> ManyTest | None:
    """Friedman + Nemenyi on a (units x methods) table of absolute errors; None below 3 x 3."""
    import scikit_posthocs as sp

    data = abs_errors.dropna()
    if data.shape[1] < 3 or data.shape[0] < 3:
        return None
    stat, p = sps.friedmanchisquare(*[data[c].to_numpy() for c in data.columns])
    ranks = data.rank(axis=1).mean(axis=0).sort_values()
    nem = sp.posthoc_nemenyi_friedman(data.to_numpy())
    nem.index = nem.columns = list(data.columns)
    return ManyTest(list(data.columns), len(data), float(stat), float(p), ranks, nem)


def metrics_with_ci(pred: np.ndarray, ref: np.ndarray, subjects: list[str],
                    seed: int = 0) -> tuple[Metrics, dict[str, Interval]]:
    """Point metrics and their subject-bootstrap intervals in one call."""
    return compute_metrics(pred, ref), bootstrap_ci(pred, ref, subjects, seed=seed)
