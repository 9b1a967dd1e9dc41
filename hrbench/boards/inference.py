"""Significance tests at the unit of independence: the subject.

Each subject contributes several videos, and their errors are correlated
(the same face, skin, habits, often the same session).  Testing per-video
errors as if they were independent overstates the evidence: four copies of
one video would look like four confirmations.  Every paired test here
therefore first reduces a method's per-video absolute errors to one number
per subject (the mean absolute error of that subject's videos) and tests
the per-subject differences:

* :func:`subject_permutation_test` -- a sign-flip permutation test of the
  mean per-subject difference: exact for up to 32 subjects (all 2^S sign
  patterns, counted by meet-in-the-middle so 2^32 patterns cost two sorted
  arrays of 2^16 sums), seeded Monte Carlo with 999 999 resamples above.  The
  smallest p a test can give is 2 / 2^S exact and 1 / 10^6 by Monte Carlo:
  a Holm family of dozens of comparisons can reach p_holm ≤ 0.001 only when
  single tests can reach far below it, which a few thousand resamples could
  not (:func:`min_p_value`).  It is the boards' test because it tests the
  very quantity the boards rank by (MAE), needs no distributional
  assumption and copes with ties and zeros.
* :func:`board_power` -- what a board *could* call: its smallest attainable
  p_holm and the smallest paired MAE difference it would detect with 80 %
  power (see its docstring for the method).
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
from functools import lru_cache
from typing import Protocol

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.optimize import brentq
from statsmodels.stats.multitest import multipletests

from ..store.results import VideoSet
from .stats import ManyTest, PairTest, friedman_nemenyi


class Row(Protocol):
    """What the tests read of a board row (:class:`hrbench.boards.boards.Row`): its label and per-video errors.

    A protocol rather than the boards' class: boards build on these tests, so
    the tests must not import the boards back.
    """

    @property
    def label(self) -> str: ...

    @property
    def videos(self) -> VideoSet | None: ...


class Board(Protocol):
    """What :func:`verdicts` reads of a board (:class:`hrbench.boards.boards.Board`): its tests."""

    @property
    def tests(self) -> BoardTests | None: ...

ALPHA = 0.05
POWER = 0.8
EXACT_MAX_SUBJECTS = 32
MC_RESAMPLES = 999_999
MC_CHUNK = 100_000
POWER_SIMS = 2000
POWER_SEED = 0
SIM_MAX_SUBJECTS = 16
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
        raise ValueError("paired errors must be 1-D of equal length with one subject each, "
                         f"got {ea.shape}, {eb.shape}, {len(subjects)}")
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
    sd_diff: float = math.nan  # SD (ddof 1) of the per-subject differences: what a board's power rests on


def _sign_sums(d: np.ndarray) -> np.ndarray:
    """Σ ±d_i over all 2^len(d) sign patterns (doubling: 2^k sums cost 2^k additions)."""
    sums = np.zeros(1)
    for x in d:
        sums = np.concatenate([sums + x, sums - x])
    return sums


def _exact_p(d: np.ndarray) -> float:
    """Two-sided exact sign-flip p: the share of the 2^S patterns whose |Σ ±d| reaches the observed |Σ d|.

    Meet in the middle: every pattern is a pattern of the first half plus one
    of the second, so for each first-half sum ``a`` the second-half sums ``b``
    with ``a + b ≥ T`` or ``a + b ≤ −T`` are counted by binary search in the
    sorted second half -- exact, with 2 × 2^(S/2) sums instead of 2^S.  The
    tolerance absorbs rounding of sums that are equal in exact arithmetic.
    """
    t = abs(float(d.sum()))
    gamma = 1e-12 * float(np.abs(d).sum())
    half = len(d) // 2
    a, b = _sign_sums(d[:half]), np.sort(_sign_sums(d[half:]))
    above = (len(b) - np.searchsorted(b, t - gamma - a, side="left")).sum()
    hits = above + np.searchsorted(b, -t + gamma - a, side="right").sum()
    return min(1.0, float(hits) / 2.0 ** len(d))


def _monte_carlo_p(d: np.ndarray, n_resamples: int, seed: int) -> float:
    """Two-sided Monte Carlo sign-flip p, (1 + hits) / (1 + resamples), from ``seed``.

    A resample is a random byte per 8 subjects; each byte indexes a table of
    that group's 256 signed sums, so a million resamples cost a few table
    look-ups each rather than a (resamples x subjects) matrix.
    """
    t = abs(float(d.sum()))
    gamma = 1e-12 * float(np.abs(d).sum())
    groups = np.pad(d, (0, -len(d) % 8)).reshape(-1, 8)
    bits = (np.arange(256)[:, None] >> np.arange(8)) & 1  # (256, 8): bit j of each byte value
    tables = (2 * bits - 1) @ groups.T  # (256, groups): byte value -> that group's signed sum
    rng = np.random.default_rng(seed)
    hits, left = 0, n_resamples
    while left:
        n = min(left, MC_CHUNK)
        draws = rng.integers(0, 256, size=(n, len(groups)), dtype=np.uint8)
        sums = sum(tables[draws[:, g], g] for g in range(len(groups)))
        hits += int((np.abs(sums) >= t - gamma).sum())
        left -= n
    return min(1.0, (hits + 1) / (n_resamples + 1))


def min_p_value(n_subjects: int, n_resamples: int = MC_RESAMPLES, exact_max: int = EXACT_MAX_SUBJECTS) -> float:
    """The smallest p :func:`subject_permutation_test` can return for this many subjects, whatever the data.

    Exact: only the observed pattern and its mirror image reach the observed
    statistic, so 2 / 2^S.  Monte Carlo: 1 / (resamples + 1).
    """
    if n_subjects < 1:
        return math.nan
    return min(1.0, 2.0 / 2.0**n_subjects) if n_subjects <= exact_max else 1.0 / (n_resamples + 1)


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
    sign.  With S ≤ ``exact_max`` subjects all 2^S sign patterns are counted
    (exact p, no randomness); above, ``n_resamples`` random patterns drawn
    from ``seed`` (reproducible).  Two-sided.  Errors may be signed: their
    absolute values are compared.
    """
    d = subject_differences(np.abs(np.asarray(err_a, float)), np.abs(np.asarray(err_b, float)), subjects).to_numpy()
    n_videos = len(np.asarray(err_a))
    s = len(d)
    if s == 0:
        return SubjectTest(0, n_videos, math.nan, math.nan, True, "sign-flip permutation")
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if s > 1 else math.nan
    if np.allclose(d, 0.0):
        return SubjectTest(s, n_videos, mean, 1.0, True, "sign-flip permutation", sd)
    exact = s <= exact_max
    p = _exact_p(d) if exact else _monte_carlo_p(d, n_resamples, seed)
    return SubjectTest(s, n_videos, mean, p, exact, "sign-flip permutation", sd)


def subject_wilcoxon(err_a: np.ndarray, err_b: np.ndarray, subjects: Sequence[str], a: str = "a",
                     b: str = "b") -> PairTest:
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


@dataclass(frozen=True)
class Power:
    """What a board could call, whatever its data: see :func:`board_power`."""

    n_subjects: int
    n_comparisons: int
    min_p_holm: float  # the smallest p_holm any data could give
    alpha_first: float  # Holm's first step: ALPHA / comparisons
    paired_sd: float  # median over the board's comparisons of the SD of per-subject differences (bpm)
    mde: float  # smallest mean per-subject MAE difference detected with POWER at alpha_first (bpm); inf: none

    @property
    def can_call(self) -> bool:
        return bool(np.isfinite(self.min_p_holm) and self.min_p_holm < ALPHA)


def _t_effect(n_subjects: int, alpha: float, power: float) -> float:
    """Standardised effect (mean / SD of the differences) the two-sided paired t-test detects with ``power``."""
    df = n_subjects - 1
    crit = float(sps.t.ppf(1 - alpha / 2, df))

    def shortfall(nc: float) -> float:  # the far tail is negligible (and NaN in scipy for large nc)
        return float(np.nan_to_num(sps.nct.sf(crit, df, nc)) + np.nan_to_num(sps.nct.cdf(-crit, df, nc))) - power

    hi = crit + 10.0
    while shortfall(hi) < 0:
        hi *= 2
    return float(brentq(shortfall, 0.0, hi, xtol=1e-10)) / math.sqrt(n_subjects)


@lru_cache(maxsize=64)
def _signflip_effect(n_subjects: int, alpha: float, power: float) -> float:
    """Standardised effect the exact sign-flip test detects with ``power``, by seeded simulation.

    :data:`POWER_SIMS` samples of S normal differences (common random numbers
    for every effect tried, so power grows with the effect), each tested with
    the exact test; bisection to 0.1 % of the effect.  The p-value does not
    depend on the differences' scale, so one standardised answer serves every
    SD.
    """
    z = np.random.default_rng(POWER_SEED).standard_normal((POWER_SIMS, n_subjects))

    def reaches(effect: float) -> bool:
        return float(np.mean([_exact_p(row) < alpha for row in z + effect])) >= power

    lo = hi = _t_effect(n_subjects, alpha, power)  # the t-test's answer; the discrete test needs at least about as much
    while reaches(lo) and lo > 1e-6:
        lo /= 2
    while not reaches(hi):
        hi *= 1.5
    while hi - lo > 1e-3 * hi:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if reaches(mid) else (mid, hi)
    return hi


def detectable_difference(n_subjects: int, sd: float, alpha: float, power: float = POWER) -> float:
    """Smallest mean paired difference the board's two-sided test at ``alpha`` detects with ``power``.

    Per-subject differences are taken as normal with standard deviation
    ``sd``.  Up to :data:`SIM_MAX_SUBJECTS` subjects the power is that of the
    exact sign-flip test itself, simulated (:func:`_signflip_effect`): there
    its discreteness matters -- with 10 subjects and α = 0.05 / 19 only "all
    ten subjects agree" rejects, and the t-test's answer would promise 80 %
    power where the sign-flip test has 60 %.  Above, the paired t-test's exact
    power (noncentral t, S − 1 degrees of freedom), to which the sign-flip
    test converges.  Where the test cannot reach below ``alpha`` at all
    (:func:`min_p_value`) no effect is detectable: infinity.
    """
    if n_subjects < 2 or not np.isfinite(sd) or min_p_value(n_subjects) >= alpha:
        return math.inf
    if sd <= 0:
        return 0.0
    small = n_subjects <= SIM_MAX_SUBJECTS
    effect = _signflip_effect(n_subjects, alpha, power) if small else _t_effect(n_subjects, alpha, power)
    return float(effect * sd)


def board_power(tests: BoardTests) -> Power | None:
    """A board's power: the smallest attainable p_holm and the smallest difference it detects at 80 % power.

    * Smallest attainable p_holm: Holm multiplies the smallest raw p by the
      number of comparisons m, and no raw p can be below :func:`min_p_value`
      of its subject count, so m × min_p(S) -- above 0.05, the board cannot
      call anything, however clear the data.
    * Smallest detectable difference: :func:`detectable_difference` at
      Holm's first-step level 0.05 / m (the level the board's clearest
      comparison must pass), with S the most subjects a comparison pairs and
      the paired SD the median, over the board's comparisons, of the SD of
      per-subject MAE differences observed on this board.

    None when the board makes no comparison.
    """
    comps = [c for c in tests.comparisons if np.isfinite(c.test.p_value)]
    if not comps:
        return None
    m = len(comps)
    n = max(c.test.n_subjects for c in comps)
    min_p_holm = min(1.0, m * min(min_p_value(c.test.n_subjects) for c in comps))
    sds = [c.test.sd_diff for c in comps if np.isfinite(c.test.sd_diff)]
    sd = float(np.median(sds)) if sds else math.nan
    alpha = ALPHA / m
    return Power(n, m, min_p_holm, alpha, sd, detectable_difference(n, sd, alpha))


def format_p(x: float) -> str:
    """A p-value with the precision it deserves (two significant digits, three decimals near 0.01).

    Never rounded onto the level it is judged against: 0.046 and 0.0504
    would both print "0.05" beside opposite verdicts, so such a value gets
    the digits that keep it on its own side of :data:`ALPHA`.
    """
    if not np.isfinite(x):
        return "–"
    text = f"{x:.2g}" if x < 0.001 else f"{x:.3f}" if x < 0.01 else f"{x:.2f}"
    for decimals in (3, 4, 5, 6):
        if float(text) != ALPHA or x == ALPHA:
            break
        text = f"{x:.{decimals}f}"
    return text


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
        lines.append(f"Friedman over {len(f.methods)} methods × {f.n} subjects: the methods {word} "
                     f"(p = {format_p(f.friedman_p)})")
    return lines
