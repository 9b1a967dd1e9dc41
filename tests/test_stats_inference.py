"""Subject-level inference: the unit of independence is the subject, and many tests get Holm-corrected."""

import itertools
import math

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from hrbench.boards.inference import (
    EXACT_MAX_SUBJECTS,
    POWER,
    _t_effect,
    detectable_difference,
    holm,
    min_p_value,
    subject_errors,
    subject_permutation_test,
    subject_wilcoxon,
)
from hrbench.boards.stats import wilcoxon_pair


def _per_subject(n_subj: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    a = np.abs(rng.normal(3, 2, n_subj))
    b = np.abs(rng.normal(5, 2, n_subj))
    return a, b, [f"s{i:02d}" for i in range(n_subj)]


def test_copies_of_a_video_add_no_evidence():
    """Four identical videos per subject give exactly the p-value of one video per subject."""
    a, b, subj = _per_subject(8, 0)
    one = subject_permutation_test(a, b, subj)
    four = subject_permutation_test(np.repeat(a, 4), np.repeat(b, 4), list(np.repeat(subj, 4)))
    assert one.exact and four.exact
    assert one.n_subjects == four.n_subjects == 8 and four.n_videos == 32
    assert four.p_value == pytest.approx(one.p_value, abs=1e-12)
    assert four.mean_diff == pytest.approx(one.mean_diff)
    # ...whereas a per-video test is fooled into more confidence by the copies.
    assert wilcoxon_pair("a", np.repeat(a, 4), "b", np.repeat(b, 4)).p_value < wilcoxon_pair("a", a, "b", b).p_value
    assert subject_wilcoxon(np.repeat(a, 4), np.repeat(b, 4), list(np.repeat(subj, 4))).p_value == pytest.approx(
        subject_wilcoxon(a, b, subj).p_value)


def test_exact_p_value_matches_enumerating_every_sign_pattern():
    a, b, subj = _per_subject(7, 4)
    d = a - b
    obs = abs(d.mean())
    null = [abs(np.mean(d * np.array(signs))) for signs in itertools.product([-1, 1], repeat=len(d))]
    expected = np.mean(np.array(null) >= obs - 1e-12)
    assert subject_permutation_test(a, b, subj).p_value == pytest.approx(expected)


def test_videos_are_averaged_within_subject_before_testing():
    """Errors in a different order, or signed, give the same answer: only |error| per subject matters."""
    rng = np.random.default_rng(5)
    subj = [f"s{i}" for i in range(6) for _ in range(3)]
    ea, eb = rng.normal(0, 4, 18), rng.normal(0, 6, 18)
    order = rng.permutation(18)
    t1 = subject_permutation_test(ea, eb, subj)
    t2 = subject_permutation_test(np.abs(ea[order]), -np.abs(eb[order]), [subj[i] for i in order])
    assert t1.p_value == pytest.approx(t2.p_value) and t1.mean_diff == pytest.approx(t2.mean_diff)
    per = subject_errors(np.abs(ea), subj)
    assert list(per.index) == sorted(set(subj)) and per["s0"] == pytest.approx(np.abs(ea[:3]).mean())


def test_correlated_videos_do_not_make_a_difference_significant():
    """Each subject favours one method or the other across all its videos: no real difference overall."""
    rng = np.random.default_rng(1)
    subj = [f"s{i}" for i in range(10) for _ in range(12)]
    favour = {f"s{i}": (1 if i % 2 else -1) * rng.uniform(1, 3) for i in range(10)}
    a = np.abs(5 + np.array([favour[s] for s in subj]) + rng.normal(0, 0.3, len(subj)))
    b = np.abs(5 + rng.normal(0, 0.3, len(subj)))
    a[:24] += 4  # the first two subjects (both sides of the coin) are much worse for a
    assert wilcoxon_pair("a", a, "b", b).p_value < 0.05  # the per-video test claims a difference
    assert subject_permutation_test(a, b, subj).p_value > 0.2  # ten subjects do not support it


def test_monte_carlo_above_the_exact_limit_is_seeded_and_finds_real_effects():
    a, b, subj = _per_subject(EXACT_MAX_SUBJECTS + 8, 2)
    t1 = subject_permutation_test(a, b, subj, seed=3)
    assert not t1.exact and t1.p_value < 0.01
    assert subject_permutation_test(a, b, subj, seed=3).p_value == t1.p_value
    same = subject_permutation_test(a, a, subj)
    assert same.p_value == 1.0


def test_exact_up_to_the_limit_matches_brute_force_beyond_what_scipy_enumerated():
    """18 subjects (2^18 patterns, above the old limit of 16): the meet-in-the-middle count is every pattern's."""
    a, b, subj = _per_subject(18, 6)
    d = a - b
    signs = 1 - 2 * ((np.arange(2**18)[:, None] >> np.arange(18)) & 1)
    expected = np.mean(np.abs(signs @ d) >= abs(d.sum()) - 1e-9)
    t = subject_permutation_test(a, b, subj)
    assert t.exact and t.p_value == pytest.approx(expected, abs=1e-12)
    assert t.sd_diff == pytest.approx(np.std(d, ddof=1))


def test_monte_carlo_agrees_with_the_exact_count():
    a, b, subj = _per_subject(22, 8)
    exact = subject_permutation_test(a, b, subj).p_value
    mc = subject_permutation_test(a, b, subj, exact_max=10, n_resamples=200_000).p_value
    assert 0.01 < exact < 0.99 and abs(mc - exact) < 4 * np.sqrt(exact * (1 - exact) / 200_000)


@pytest.mark.parametrize("n", [10, 20, EXACT_MAX_SUBJECTS, EXACT_MAX_SUBJECTS + 1, 60])
def test_every_subject_agreeing_reaches_the_smallest_p_the_test_can_give(n):
    """Exact: 2 / 2^S; Monte Carlo: 1 / (resamples + 1) = 1e-6 -- small enough for Holm over dozens of comparisons."""
    rng = np.random.default_rng(n)
    a = rng.uniform(1, 3, n)
    t = subject_permutation_test(a, a + rng.uniform(0.5, 2, n), [f"s{i:02d}" for i in range(n)])
    assert t.p_value == pytest.approx(min_p_value(n), rel=1e-12)
    assert min_p_value(n) == (2.0 / 2**n if n <= EXACT_MAX_SUBJECTS else 1e-6)


def _signflip_power(n: int, effect: float, alpha: float, sims: int = 1000, seed: int = 11) -> float:
    rng = np.random.default_rng(seed)
    subj = [f"s{i:02d}" for i in range(n)]
    hits = 0
    for _ in range(sims):
        d = rng.normal(effect, 1.0, n)
        hits += subject_permutation_test(d + 20.0, np.full(n, 20.0), subj).p_value < alpha
    return hits / sims


@pytest.mark.parametrize("n, m", [(10, 19), (24, 27)])
def test_detectable_difference_gives_the_sign_flip_test_80_percent_power(n, m):
    """Checked by simulating the board's own test at the returned effect (independent draws)."""
    alpha = 0.05 / m
    mde = detectable_difference(n, 1.0, alpha)
    assert 0.75 < _signflip_power(n, mde, alpha) < 0.86
    assert detectable_difference(n, 2.5, alpha) == pytest.approx(2.5 * mde)  # scale-free: the SD sets the unit
    if n == 10:  # where only "all ten agree" rejects, the t-test's answer would overstate the power
        assert _signflip_power(n, _t_effect(n, alpha, POWER), alpha) < 0.7


def test_a_test_that_cannot_reach_alpha_detects_nothing():
    assert detectable_difference(5, 1.0, 0.05) == math.inf  # 2 / 2^5 = 0.0625
    assert detectable_difference(10, 1.0, 2 / 1024) == math.inf  # p < alpha needed; 2/1024 is the floor
    assert np.isfinite(detectable_difference(10, 1.0, 0.0025))


def test_no_common_subjects_is_not_a_p_value():
    t = subject_permutation_test(np.array([]), np.array([]), [])
    assert t.n_subjects == 0 and np.isnan(t.p_value)


def test_holm_matches_statsmodels_and_never_lowers_a_p_value():
    p = [0.01, 0.04, 0.03, 0.2, 0.005]
    adj = holm(p)
    assert np.allclose(adj, multipletests(p, method="holm")[1])
    assert np.all(adj >= np.array(p))
    with_nan = holm([0.01, float("nan"), 0.04])
    assert np.isnan(with_nan[1]) and np.allclose(with_nan[[0, 2]], multipletests([0.01, 0.04], method="holm")[1])


def test_a_p_value_is_never_printed_on_the_level_it_is_judged_against():
    from hrbench.boards.inference import ALPHA, format_p

    assert format_p(0.0456) == "0.046" and format_p(0.0504) == "0.0504" and format_p(0.04999) == "0.04999"
    assert format_p(ALPHA) == "0.05"  # exactly the level: nothing to keep apart
    # Elsewhere the precision is as before.
    cases = (0.5, 0.034, 0.0042, 2.7e-05, float("nan"))
    assert [format_p(x) for x in cases] == ["0.50", "0.03", "0.004", "2.7e-05", "–"]
