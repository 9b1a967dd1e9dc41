"""Synthetic rhythm generator (SynRhythm III-B): labels, formula terms, maps."""

from __future__ import annotations

import numpy as np
import pytest

from hrbench.pulse.hr import spectral_hr
from hrbench_plugins.methods.deep.synrhythm import SynRhythmSettings, rhythm_maps, rhythm_signals

CLEAN = SynRhythmSettings(noise_max=0.0, step_p=0.0)


@pytest.mark.parametrize("time_pool", [1, 2])
def test_label_is_the_frequency_of_the_generating_sine(time_pool: int) -> None:
    fps, frames = 30.0, 300
    maps, hr = rhythm_maps(40, 6, frames, fps, np.random.default_rng(3), CLEAN, time_pool=time_pool)
    assert maps.shape == (40, 3, 6, frames // time_pool)
    est = spectral_hr(maps.astype(np.float64), fps / time_pool)  # (40, 3, 6): every row, every channel
    err = np.abs(est - hr[:, None, None])
    assert np.all(err < 1.0), f"worst row error {err.max():.2f} bpm"


def test_labels_span_the_band_and_rows_share_one_heart() -> None:
    sig, hr = rhythm_signals(400, 4, 300, 30.0, np.random.default_rng(0), CLEAN)
    assert hr.min() >= 42 and hr.max() <= 240
    assert hr.min() < 60 and hr.max() > 220  # uniform over the whole band, not a corner of it
    # Noise-free channels are identical; rows differ (own amplitudes) but pulse in phase.
    assert np.array_equal(sig[..., 0], sig[..., 2])
    assert not np.allclose(sig[:, 0], sig[:, 1])
    est = spectral_hr(sig[..., 1].mean(axis=1), 30.0)
    assert np.median(np.abs(est - hr)) < 0.5


def test_steps_and_noise_follow_the_settings() -> None:
    rng = np.random.default_rng(5)
    only_steps = SynRhythmSettings(noise_max=0.0, step_p=1.0)
    sig, _ = rhythm_signals(50, 3, 300, 30.0, rng, only_steps)
    # Same draws without the steps: the difference is P1 Step(t - t1) + P2 Step(t - t2)
    # with P1 = P2 = 1 -- a staircase 0 -> 1 -> 2 at uniformly drawn times.
    no_steps, _ = rhythm_signals(50, 3, 300, 30.0, np.random.default_rng(5), CLEAN)
    steps = np.round(sig - no_steps, 4)[..., 0]
    assert set(np.unique(steps)) <= {0.0, 1.0, 2.0}
    assert np.all(np.diff(steps, axis=-1) >= 0)
    assert (steps[..., -1] == 2).mean() > 0.9 and (steps[..., 0] == 0).mean() > 0.9
    noisy, _ = rhythm_signals(200, 2, 300, 30.0, np.random.default_rng(6), SynRhythmSettings(noise_max=0.5, step_p=0.0))
    ch_diff = noisy[..., 0] - noisy[..., 1]  # the rhythm cancels, independent noise remains
    sigma = ch_diff.std(axis=(1, 2)) / np.sqrt(2)
    assert sigma.min() < 0.05 and sigma.max() <= 0.55 and 0.2 < sigma.mean() < 0.3  # U[0, 0.5]


def test_colour_model_common_noise_and_channel_gains() -> None:
    quiet = SynRhythmSettings(noise_max=0.0, step_p=0.0, pulse_gain_min=0.2)
    sig, _ = rhythm_signals(100, 2, 300, 30.0, np.random.default_rng(7), quiet)
    amp = sig.std(axis=2)  # (maps, rows, channels): pulse + breathing only
    assert (amp.max(axis=-1) / amp.min(axis=-1)).max() > 1.5  # channels carry the pulse unequally

    def channel_corr(common: float) -> float:
        s = SynRhythmSettings(noise_max=1.0, step_p=0.0, noise_common=common)
        a, _ = rhythm_signals(60, 3, 300, 30.0, np.random.default_rng(8), s)
        b, _ = rhythm_signals(60, 3, 300, 30.0, np.random.default_rng(8), SynRhythmSettings(noise_max=0.0, step_p=0.0))
        n = (a - b)[..., 0:2].reshape(-1, 2)  # the noise of R and G
        return float(np.corrcoef(n.T)[0, 1])

    assert abs(channel_corr(0.0)) < 0.05
    assert abs(channel_corr(0.8) - 0.8) < 0.05


def test_maps_are_scaled_rows_and_reproducible() -> None:
    a, ya = rhythm_maps(20, 5, 300, 30.0, np.random.default_rng(9), time_pool=2)
    b, yb = rhythm_maps(20, 5, 300, 30.0, np.random.default_rng(9), time_pool=2)
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    assert a.dtype == np.float16
    assert np.allclose(a.min(axis=-1), 0) and np.allclose(a.max(axis=-1), 255)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        SynRhythmSettings(hr_bpm=(120.0, 60.0))
    with pytest.raises(ValueError):
        SynRhythmSettings(step_p=1.5)
    with pytest.raises(ValueError):
        SynRhythmSettings(noise_common=2.0)
