"""HR-balancing augmentation: flatter label histograms, labels that match the resampled pulse."""

from __future__ import annotations

import numpy as np
import pytest

from hrbench.errors import HrbenchError
from hrbench.pulse.hr import HRSettings, spectral_hr
from hrbench_plugins.methods.deep.augment import (
    EpochPlan,
    balancing_factors,
    crop_windows,
    histogram_edges,
    label_histogram,
    plan_epoch,
    random_crops,
    resample_windows,
)

FPS = 30.0


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def _pulse_traces(hr: np.ndarray, frames: int, seed: int = 0) -> np.ndarray:
    """(n, 2 rois, frames, 3) traces: a pulse with a 2nd harmonic, breathing and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / FPS
    phase = 2 * np.pi * hr[:, None] / 60.0 * t + rng.uniform(0, 2 * np.pi, (len(hr), 1))
    pulse = np.sin(phase) + 0.3 * np.sin(2 * phase) + 0.5 * np.sin(2 * np.pi * 0.25 * t)
    x = 120.0 + pulse[:, None, :, None] * np.array([0.3, 1.0, 0.5]) + rng.normal(0, 0.05, (len(hr), 2, frames, 3))
    return x.astype(np.float32)


@pytest.fixture
def imbalanced() -> np.ndarray:
    """Labels like a face database: crowded around 75 bpm, a thin tail."""
    rng = np.random.default_rng(3)
    return np.concatenate([rng.normal(75, 7, 380), rng.uniform(100, 130, 20)])


def test_histogram_gets_flatter(imbalanced):
    edges = histogram_edges((45, 150), 10)
    before = label_histogram(imbalanced, edges)
    f = balancing_factors(imbalanced, edges, factor_range=(2 / 3, 1.5), rng=np.random.default_rng(0))
    after = label_histogram(np.concatenate([imbalanced, imbalanced * f]), edges)
    assert np.all((f >= 2 / 3 - 1e-12) & (f <= 1.5 + 1e-12))
    assert _entropy(after) > _entropy(before) + 0.3
    augmented = np.concatenate([imbalanced, imbalanced * f])
    assert augmented.std() > 1.5 * imbalanced.std()
    # The least populated bins gained the most: the emptiest reachable bins are filled first.
    gained = after - before
    assert gained[0] > 0 and gained[-1] > 0  # 45-55 and 145-155 bpm
    assert gained[np.argmax(before)] < gained.mean()


def test_factors_respect_reach_and_given_counts():
    labels = np.full(50, 80.0)
    edges = histogram_edges((40, 200), 10)
    counts = label_histogram(labels, edges)
    counts[edges[:-1] == 110] = 1000  # pretend 110-120 is crowded elsewhere
    f = balancing_factors(labels, edges, counts, factor_range=(0.9, 1.5), rng=np.random.default_rng(1))
    hr = labels * f
    assert hr.min() >= 72 - 1e-9 and hr.max() <= 120 + 1e-9
    assert not np.any((hr >= 110) & (hr < 120))
    # Unreachable or unlabelled samples keep factor 1.
    g = balancing_factors(np.array([np.nan, 400.0]), edges, factor_range=(0.9, 1.1), rng=np.random.default_rng(0))
    assert np.array_equal(g, [1.0, 1.0])


def test_factors_are_seeded(imbalanced):
    edges = histogram_edges((45, 150), 10)
    a = balancing_factors(imbalanced, edges, rng=np.random.default_rng(5))
    b = balancing_factors(imbalanced, edges, rng=np.random.default_rng(5))
    c = balancing_factors(imbalanced, edges, rng=np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("factor", [0.67, 0.8, 1.0, 1.25, 1.5])
def test_resampled_pulse_has_scaled_hr(factor):
    hr = np.array([66.0, 78.0, 95.0])  # HR * 0.67 stays inside the 42-240 bpm band
    long = _pulse_traces(hr, 450)
    starts = np.zeros(len(hr)) + (449 - 299 * factor) / 2
    out = resample_windows(long, starts, np.full(len(hr), factor), 300)
    assert out.shape == (3, 2, 300, 3)
    measured = spectral_hr(out[:, 0, :, 1], FPS, HRSettings())
    np.testing.assert_allclose(measured, hr * factor, atol=1.0)


def test_resample_identity_and_bounds():
    x = _pulse_traces(np.array([70.0, 80.0]), 450)
    same = resample_windows(x, np.array([10.0, 120.0]), np.ones(2), 300)
    np.testing.assert_allclose(same, crop_windows(x, np.array([10, 120]), 300), atol=1e-4)
    with pytest.raises(HrbenchError, match="exceeds"):
        resample_windows(x, np.array([0.0, 0.0]), np.array([1.0, 1.6]), 300)


def test_plan_caps_factors_by_clip_length(imbalanced):
    edges = histogram_edges((45, 150), 10)
    crops = random_crops(len(imbalanced), 360, 300, np.random.default_rng(1))
    plan = plan_epoch(imbalanced, crops, 360, 300, edges, factor_range=(2 / 3, 1.5), rng=np.random.default_rng(0))
    assert plan.factors.max() <= 359 / 299 + 1e-9
    assert plan.factors.max() > 1.05  # still uses the room there is
    assert np.all(plan.starts + 299 * plan.factors <= 359 + 1e-6)
    assert np.all((plan.crop_starts >= 0) & (plan.crop_starts <= 60)) and len(np.unique(plan.crop_starts)) > 30
    with pytest.raises(HrbenchError, match="shorter"):
        plan_epoch(imbalanced, np.zeros(400, int), 250, 300, edges, rng=np.random.default_rng(0))
    with pytest.raises(HrbenchError, match="shorter"):
        random_crops(3, 250, 300, np.random.default_rng(0))


def test_plan_replaces_half_the_crops_by_resampled_copies(imbalanced):
    """One map per clip: the plain crop, or with probability 0.5 the resampled copy (and its label)."""
    labels = np.tile(imbalanced, 10)  # 4000 clips: the share is measured to about +-0.02
    edges = histogram_edges((45, 150), 10)
    crops = random_crops(len(labels), 450, 300, np.random.default_rng(1))
    plan = plan_epoch(labels, crops, 450, 300, edges, rng=np.random.default_rng(0))
    assert len(plan) == len(labels) and np.array_equal(plan.crop_starts, crops)  # the shared plain crops, untouched
    assert abs(plan.resampled_share - 0.5) < 0.03
    out = plan.labels(labels)
    assert out.shape == labels.shape
    np.testing.assert_array_equal(out[~plan.resampled], labels[~plan.resampled])
    np.testing.assert_allclose(out[plan.resampled], labels[plan.resampled] * plan.factors[plan.resampled])
    assert np.mean(plan.factors[plan.resampled] != 1.0) > 0.9  # the copies really are resampled
    # An epoch's labels are flatter than the originals: half of them moved to sparse bins.
    assert _entropy(label_histogram(out, edges)) > _entropy(label_histogram(labels, edges)) + 0.3
    # Same draws for the same generator seed; the extremes of the probability.
    again = plan_epoch(labels, crops, 450, 300, edges, rng=np.random.default_rng(0))
    assert np.array_equal(again.resampled, plan.resampled) and np.array_equal(again.factors, plan.factors)
    none = plan_epoch(labels, crops, 450, 300, edges, p_resample=0.0, rng=np.random.default_rng(0))
    every = plan_epoch(labels, crops, 450, 300, edges, p_resample=1.0, rng=np.random.default_rng(0))
    assert none.resampled_share == 0.0 and np.array_equal(none.labels(labels), labels)
    assert every.resampled_share == 1.0
    with pytest.raises(HrbenchError, match="probability"):
        plan_epoch(labels, crops, 450, 300, edges, p_resample=1.5, rng=np.random.default_rng(0))
    with pytest.raises(HrbenchError, match="crop start"):
        plan_epoch(labels, crops + 151, 450, 300, edges, rng=np.random.default_rng(0))


def test_plain_plan_is_the_crops():
    crops = np.array([0, 5, 150])
    plan = EpochPlan.plain(crops)
    assert len(plan) == 3 and plan.resampled_share == 0.0
    np.testing.assert_array_equal(plan.labels(np.array([60.0, 70.0, 80.0])), [60.0, 70.0, 80.0])
    with pytest.raises(HrbenchError, match="labels"):
        plan.labels(np.array([60.0]))


def test_histogram_edges():
    np.testing.assert_allclose(histogram_edges((45, 150), 10), 45 + 10 * np.arange(12))
    with pytest.raises(HrbenchError):
        histogram_edges((150, 45), 10)
