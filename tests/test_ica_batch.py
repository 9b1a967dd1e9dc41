"""ICA unmixes all clips at once (``_fastica.fastica_batch``): accuracy, batch independence, failures."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import FastICA
from test_classic_methods import CLEAN_HRS, FPS, NOISY_HRS, as_clips, make_traces, realistic_motion

from hrbench.plugin.method import RunContext
from hrbench_plugins.methods import ica
from hrbench_plugins.methods._fastica import FastICAResult, fastica_batch


@pytest.fixture(scope="module")
def noisy_rgb() -> np.ndarray:
    """Motion and noise: FastICA converges on some clips and stops at max_iter on others."""
    return make_traces(NOISY_HRS * 2, seed=7, noise=0.05, intensity=realistic_motion)


def unmixing_input(rgb: np.ndarray, method: ica.IcaMethod) -> np.ndarray:
    """The ``(n, 3, T)`` detrended, z-scored channels ICA hands to fastica_batch."""
    return ica.unmixing_input(rgb, FPS, method.detrend_hz)[0]


def test_batched_ica_recovers_clean_pulse():
    hrs = CLEAN_HRS * 3
    method = ica.IcaMethod(RunContext(seed=0))
    pred = method.predict(as_clips(make_traces(hrs, seed=11)))
    np.testing.assert_array_less(np.abs(pred - hrs), 1.0)


def test_a_clip_does_not_depend_on_its_batch(noisy_rgb, monkeypatch):
    method = ica.IcaMethod(RunContext(seed=1))
    whole = method.sources(noisy_rgb, FPS)
    # The batch mixes converged and unconverged clips: frozen and still-iterating problems.
    assert method.run_notes.get("ica_not_converged", 0) >= 1
    assert np.isfinite(whole).all()
    for i in range(len(noisy_rgb)):
        assert np.array_equal(method.sources(noisy_rgb[i : i + 1], FPS)[0], whole[i]), f"clip {i}"
    order = np.random.default_rng(0).permutation(len(noisy_rgb))
    assert np.array_equal(method.sources(noisy_rgb[order], FPS), whole[order])
    monkeypatch.setattr(ica, "CHUNK_FRAMES", 2 * noisy_rgb.shape[1])  # chunks of two clips
    assert np.array_equal(method.sources(noisy_rgb, FPS), whole)
    pulse = method.pulse(noisy_rgb, FPS)
    monkeypatch.undo()
    assert np.array_equal(pulse, method.pulse(noisy_rgb, FPS))


def test_degenerate_clips_are_nan():
    rgb = make_traces([70.0, 80.0, 90.0, 100.0], seed=2)
    rgb[0, :, 2] = 100.0  # a constant channel
    rgb[1, :, 1] = 2 * rgb[1, :, 0] + 5  # two channels carry the same trace: rank 2
    method = ica.IcaMethod(RunContext(seed=0))
    src = method.sources(rgb, FPS)
    assert np.isnan(src[:2]).all() and np.isfinite(src[2:]).all()
    pred = method.predict(as_clips(rgb))
    assert np.isnan(pred[:2]).all()
    np.testing.assert_array_less(np.abs(pred[2:] - [90.0, 100.0]), 1.0)
    assert "ica_not_converged" not in method.run_notes


def test_fastica_batch_flags_degenerate_and_unconverged_problems(noisy_rgb):
    z = unmixing_input(noisy_rgb, ica.IcaMethod())
    z = np.concatenate([z[:3], z[:1], z[:1]])
    z[3, 1, 17] = np.nan  # a non-finite problem...
    z[4, 2] = z[4, 0]  # ...and a rank-deficient one must not spoil the others
    res = fastica_batch(z, seed=1, max_iter=50, return_info=True, like_sklearn=True)
    assert isinstance(res, FastICAResult)
    assert res.degenerate.tolist() == [False, False, False, True, True]
    assert not res.converged[3:].any() and (res.n_iter[3:] == 0).all()
    assert np.isfinite(res.sources).all()
    np.testing.assert_array_equal(res.converged, ~res.degenerate & (res.n_iter < 50))
    alone = fastica_batch(z[:3], seed=1, max_iter=50, like_sklearn=True)  # plain call: the sources only
    assert np.array_equal(alone, res.sources[:3])


def test_like_sklearn_follows_scikit_learn(noisy_rgb):
    z = unmixing_input(noisy_rgb[:4], ica.IcaMethod())
    res = fastica_batch(z, seed=0, return_info=True, like_sklearn=True)
    for zi, s, n_iter, converged in zip(z, res.sources, res.n_iter, res.converged, strict=True):
        est = FastICA(3, whiten="unit-variance", random_state=0)
        ref = est.fit_transform(zi.T).T
        assert est.n_iter_ == n_iter
        if converged:  # an unconverged run wanders: rounding decides where it stops
            np.testing.assert_allclose(s, ref, atol=1e-8)


def test_not_converged_clips_are_counted(noisy_rgb):
    method = ica.IcaMethod(RunContext(seed=1), max_iter=10)
    method.sources(noisy_rgb, FPS)
    res = fastica_batch(unmixing_input(noisy_rgb, method), seed=1, max_iter=10, return_info=True, like_sklearn=True)
    assert method.run_notes["ica_not_converged"] == int((~res.converged).sum()) > 0


def test_svr_still_imports_the_batched_fastica():
    from hrbench_plugins.methods import _fastica, svr

    assert svr.fastica_batch is _fastica.fastica_batch
