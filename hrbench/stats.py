"""How sure is a number, and do two methods really differ?

* :func:`bootstrap_ci` -- 95 % percentile intervals for every metric,
  resampling *subjects* with replacement (all videos of a drawn subject come
  along), because videos of one person are correlated: resampling videos
  would pretend we had more independent evidence than we do.
* :func:`wilcoxon_pair` -- paired Wilcoxon signed-rank test on per-video
  absolute errors of two methods over the same recordings (scipy).
* :func:`friedman_nemenyi` -- Friedman test over many methods and the
  Nemenyi post-hoc matrix (scikit-posthocs), with mean ranks for a
  critical-difference diagram.
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


def bootstrap_ci(
    pred: np.ndarray, ref: np.ndarray, subjects: list[str], n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, Interval]:
    """Subject-level bootstrap percentile intervals for each metric field."""
    pred, ref = np.asarray(pred, float), np.asarray(ref, float)
    subj = np.asarray(subjects)
    uniq = np.unique(subj)
    groups = [np.flatnonzero(subj == s) for s in uniq]
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {f: [] for f in METRIC_FIELDS}
    for _ in range(n_boot):
        pick = rng.integers(0, len(groups), len(groups))
        idx = np.concatenate([groups[i] for i in pick])
        m = compute_metrics(pred[idx], ref[idx])
        for f in METRIC_FIELDS:
            samples[f].append(getattr(m, f))
    a = (1 - level) / 2
    out = {}
    for f, vals in samples.items():
        v = np.asarray(vals)
        v = v[np.isfinite(v)]
        out[f] = Interval(float(np.quantile(v, a)), float(np.quantile(v, 1 - a))) if len(v) else Interval(np.nan, np.nan)
    return out


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
    """Friedman + Nemenyi on a (recordings x methods) table of absolute errors."""
    import scikit_posthocs as sp

    data = abs_errors.dropna()
    if data.shape[1] < 3 or data.shape[0] < 3:
        return None
    stat, p = sps.friedmanchisquare(*[data[c].to_numpy() for c in data.columns])
    ranks = data.rank(axis=1).mean(axis=0).sort_values()
    nem = sp.posthoc_nemenyi_friedman(data.to_numpy())
    nem.index = nem.columns = list(data.columns)
    return ManyTest(list(data.columns), len(data), float(stat), float(p), ranks, nem)


def metrics_with_ci(pred: np.ndarray, ref: np.ndarray, subjects: list[str], seed: int = 0) -> tuple[Metrics, dict[str, Interval]]:
    return compute_metrics(pred, ref), bootstrap_ci(pred, ref, subjects, seed=seed)
