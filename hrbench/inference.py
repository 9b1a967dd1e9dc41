"""Significance tests at the unit of independence: the subject.

Each subject contributes several videos, and their errors are correlated
(the same face, skin, habits, often the same session).  Testing per-video
errors as if they were independent overstates the evidence: four copies of
one video would look like four confirmations.  Every paired test here
therefore first reduces a method's per-video absolute errors to one number
per subject (the mean absolute error of that subject's videos) and tests
the per-subject differences:

* :func:`subject_permutation_test` -- a sign-flip permutation test of the
  mean per-subject difference (scipy's ``permutation_test``): exact for up to
  16 subjects (all 2^S sign patterns), seeded Monte Carlo above.  It is the
  boards' test because it tests the very quantity the boards rank by (MAE),
  needs no distributional assumption and copes with ties and zeros.
* :func:`subject_wilcoxon` -- Wilcoxon signed-rank on the same per-subject
  differences, reported alongside by ``hrbench compare``.
* :func:`holm` -- Holm's step-down correction (statsmodels) over all the
  comparisons one board makes, so a board of twelve methods does not find
  "significant" differences by having tried many times.
* :func:`board_tests` -- what a board tests: every method against the best
  one, every method against the training-mean baseline (one Holm family),
  and Friedman + Nemenyi over the (subjects x methods) table.
* :func:`verdicts` -- the board's claims as sentences, written from the tests,
  so prose (boards, README headline) never says more than the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from .stats import ManyTest, PairTest, friedman_nemenyi

if TYPE_CHECKING:
    from .boards import Board, Row

ALPHA = 0.05
EXACT_MAX_SUBJECTS = 16
MC_RESAMPLES = 9999
PERM_SEED = 0
BASELINE = "baseline"


def subject_errors(abs_err: np.ndarray, subjects: Sequence[str]) -> pd.Series:
    """Mean absolute error per subject (index sorted, so results never depend on input order)."""
    s = pd.Series(np.abs(np.asarray(abs_err, dtype=float)), index=pd.Index(list(subjects), name="subject"))
    return s.groupby(level=0, sort=True).mean()


def subject_differences(err_a: np.ndarray, err_b: np.ndarray, subjects: Sequence[str]) -> pd.Series:
    """Per subject: MAE of method a minus MAE of method b, over the videos both predicted (paired input)."""
    ea, eb = np.asarray(err_a, dtype=float), np.asarray(err_b, dtype=float)
    if ea.shape != eb.shape or ea.ndim != 1 or len(ea) != len(subjects):
        raise ValueError(f"paired errors must be 1-D of equal length with one subject each, got {ea.shape}, {eb.shape}, {len(subjects)}")
    return subject_errors(ea, subjects) - subject_errors(eb, subjects)


@dataclass(frozen=True)
class SubjectTest:
    """A paired test on per-subject differences of mean absolute error (a − b; negative: a is better)."""

    n_subjects: int
    n_videos: int
    mean_diff: float
    p_value: float
    exact: bool
    method: str


def subject_permutation_test(
    err_a: np.ndarray,
    err_b: np.ndarray,
    subjects: Sequence[str],
    n_resamples: int = MC_RESAMPLES,
    seed: int = PERM_SEED,
    exact_max: int = EXACT_MAX_SUBJECTS,
) -> SubjectTest:
    """Cluster (subject) sign-flip permutation test of the mean per-subject difference in |error|.

    Under the null hypothesis the two methods are exchangeable within each
    subject, so each subject's difference is equally likely to have either
    sign.  With S ≤ ``exact_max`` subjects all 2^S sign patterns are
    enumerated (exact p); above, ``n_resamples`` random patterns drawn from
    ``seed`` (reproducible).  Two-sided.  Errors may be signed: their absolute
    values are compared.
    """
    d = subject_differences(np.abs(np.asarray(err_a, float)), np.abs(np.asarray(err_b, float)), subjects).to_numpy()
    n_videos = len(np.asarray(err_a))
    s = len(d)
    if s == 0:
        return SubjectTest(0, n_videos, math.nan, math.nan, True, "sign-flip permutation")
    mean = float(d.mean())
    if np.allclose(d, 0.0):
        return SubjectTest(s, n_videos, mean, 1.0, True, "sign-flip permutation")
    exact = s <= exact_max
    res = sps.permutation_test(
        (d,),
        lambda x, axis: np.mean(x, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=2**s if exact else n_resamples,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return SubjectTest(s, n_videos, mean, float(min(1.0, res.pvalue)), exact, "sign-flip permutation")


def subject_wilcoxon(err_a: np.ndarray, err_b: np.ndarray, subjects: Sequence[str], a: str = "a", b: str = "b") -> PairTest:
    """Wilcoxon signed-rank on per-subject mean absolute errors (scipy; exact for small samples)."""
    sa = subject_errors(np.asarray(err_a, float), subjects)
    sb = subject_errors(np.asarray(err_b, float), subjects)
    d = (sa - sb).to_numpy()
    if len(d) < 2 or np.allclose(d, 0):
        return PairTest(a, b, len(d), float(np.median(d)) if len(d) else math.nan, math.nan, 1.0)
    res = sps.wilcoxon(sa.to_numpy(), sb.to_numpy(), zero_method="wilcox")
    return PairTest(a, b, len(d), float(np.median(d)), float(res.statistic), float(res.pvalue))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels); NaNs (comparisons that could not be made) stay NaN and do not count."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


# --------------------------------------------------------------------------- boards


@dataclass(frozen=True)
class Comparison:
    """One paired comparison a board makes (a against b), with its Holm-adjusted p-value."""

    a: str
    b: str
    kind: str  # "best" (b is the best method) or "baseline" (b is the training-mean baseline)
    mae_a: float  # mean over subjects of per-subject MAE, on the paired recordings
    mae_b: float
    test: SubjectTest
    p_holm: float

    @property
    def significant(self) -> bool:
        return bool(np.isfinite(self.p_holm) and self.p_holm < ALPHA)

    @property
    def a_better(self) -> bool:
        return self.significant and self.test.mean_diff < 0


@dataclass(frozen=True)
class BoardTests:
    comparisons: list[Comparison]
    friedman: ManyTest | None
    n_subjects: int  # subjects every method (and the baseline) predicted

    def against_baseline(self, label: str) -> Comparison | None:
        return next((c for c in self.comparisons if c.kind == "baseline" and c.a == label), None)


def paired_abs_errors(ra: Row, rb: Row) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Absolute errors (mean over seeds) of two rows on the recordings both predicted, with their subjects."""
    ea = pd.Series(ra.videos.abs_err, index=ra.videos.ids)
    eb = pd.Series(rb.videos.abs_err, index=rb.videos.ids)
    both = pd.DataFrame({"a": ea, "b": eb}).dropna().sort_index()
    subj = ra.videos.subject_of()
    return both["a"].to_numpy(), both["b"].to_numpy(), [subj[i] for i in both.index]


def _compare(ra: Row, rb: Row, kind: str) -> tuple[str, str, str, float, float, SubjectTest]:
    ea, eb, subjects = paired_abs_errors(ra, rb)
    t = subject_permutation_test(ea, eb, subjects)
    mae_a = float(subject_errors(ea, subjects).mean()) if len(ea) else math.nan
    mae_b = float(subject_errors(eb, subjects).mean()) if len(eb) else math.nan
    return ra.label, rb.label, kind, mae_a, mae_b, t


def board_tests(rows: list[Row], baseline: Row | None) -> BoardTests:
    """Every method against the best (lowest MAE) and against the baseline; one Holm family; Friedman on subjects.

    ``rows`` are the ranked method rows, best first.
    """
    raw = []
    if rows:
        best = rows[0]
        raw += [_compare(r, best, "best") for r in rows[1:]]
        if baseline is not None:
            raw += [_compare(r, baseline, BASELINE) for r in rows]
    adj = holm([t.p_value for *_, t in raw])
    comps = [Comparison(a, b, kind, ma, mb, t, float(p)) for (a, b, kind, ma, mb, t), p in zip(raw, adj, strict=True)]
    table = subject_table(rows)
    many = friedman_nemenyi(table) if table.shape[1] >= 3 else None
    everyone = subject_table(rows + ([baseline] if baseline is not None else []))
    return BoardTests(comps, many, len(everyone))


def subject_table(rows: list[Row]) -> pd.DataFrame:
    """(subjects x rows) per-subject MAE, on the recordings every row predicted."""
    if not rows:
        return pd.DataFrame()
    errs = pd.DataFrame({r.label: pd.Series(r.videos.abs_err, index=r.videos.ids) for r in rows}).dropna().sort_index()
    subj = rows[0].videos.subject_of()
    return errs.groupby([subj[i] for i in errs.index], sort=True).mean()


def format_p(x: float) -> str:
    """A p-value with the precision it deserves (two significant digits, three decimals near 0.01)."""
    return "–" if not np.isfinite(x) else f"{x:.2g}" if x < 0.001 else f"{x:.3f}" if x < 0.01 else f"{x:.2f}"


def baseline_cell(c: Comparison | None) -> str:
    """The table's "beats baseline" cell: yes / no, with the Holm-adjusted p-value."""
    if c is None or not np.isfinite(c.p_holm):
        return "–"
    if c.a_better:
        return f"yes (p_holm = {format_p(c.p_holm)})"
    if c.significant:
        return f"**no: worse** (p_holm = {format_p(c.p_holm)})"
    return f"**no** (p_holm = {format_p(c.p_holm)})"


def verdict(c: Comparison) -> str:
    """One comparison as a sentence that claims exactly what the test supports (names without the † of notes)."""
    c = replace(c, a=c.a.removesuffix(" †"), b=c.b.removesuffix(" †"))
    n = f"{c.test.n_subjects} subjects"
    if not np.isfinite(c.p_holm):
        return f"{c.a} vs {c.b}: not testable (no common recordings)"
    p = f"p_holm = {format_p(c.p_holm)}, {n}"
    if c.kind == BASELINE:
        if c.a_better:
            return f"{c.a}: better than the training-mean baseline (MAE {c.mae_a:.2f} vs {c.mae_b:.2f} bpm, {p})"
        if c.significant:
            return f"{c.a}: worse than the training-mean baseline (MAE {c.mae_a:.2f} vs {c.mae_b:.2f} bpm, {p})"
        return f"{c.a}: not distinguishable from the training-mean baseline ({p})"
    if not c.significant:
        return f"{c.b} vs {c.a}: not distinguishable ({p})"
    better, worse = (c.a, c.b) if c.test.mean_diff < 0 else (c.b, c.a)
    return f"{better} better than {worse} (MAE {min(c.mae_a, c.mae_b):.2f} vs {max(c.mae_a, c.mae_b):.2f} bpm, {p})"


def verdicts(board: Board) -> list[str]:
    """The board's claims, from its tests: best against each method, then each method against the baseline.

    Reusable for any prose that summarises a board (e.g. the README headline).
    """
    tests = board.tests
    if tests is None:
        return []
    lines = [verdict(c) for c in tests.comparisons if c.kind == "best"]
    lines += [verdict(c) for c in tests.comparisons if c.kind == BASELINE]
    if tests.friedman is not None:
        f = tests.friedman
        word = "differ" if f.friedman_p < ALPHA else "are not distinguishable as a group"
        lines.append(f"Friedman over {len(f.methods)} methods × {f.n} subjects: the methods {word} (p = {format_p(f.friedman_p)})")
    return lines
