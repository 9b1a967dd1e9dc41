"""Subject-level inference: the unit of independence is the subject, and many tests get Holm-corrected."""

import itertools

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from hrbench.inference import holm, subject_errors, subject_permutation_test, subject_wilcoxon
from hrbench.stats import wilcoxon_pair


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


def test_monte_carlo_above_sixteen_subjects_is_seeded_and_finds_real_effects():
    a, b, subj = _per_subject(30, 2)
    t1 = subject_permutation_test(a, b, subj, seed=3)
    assert not t1.exact and t1.p_value < 0.01
    assert subject_permutation_test(a, b, subj, seed=3).p_value == t1.p_value
    same = subject_permutation_test(a, a, subj)
    assert same.p_value == 1.0


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
