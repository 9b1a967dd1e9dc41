"""SVR baseline (Hsu 2014): spectral features of RGB + ICA components, learned HR."""

from __future__ import annotations

import numpy as np
import pytest

from hrbench.errors import ConfigError, HrbenchError
from hrbench.plugin.clips import Clips
from hrbench.plugin.method import RunContext
from hrbench_plugins.methods import svr as plugin


def skin_clips(n: int, seed: int, clip_len: int = 300, fps: float = 30.0) -> Clips:
    """face_skin traces: skin colour, a pulse mixed into R, G, B, shared illumination drift, noise."""
    rng = np.random.default_rng(seed)
    hr = rng.uniform(50, 150, n)
    t = np.arange(clip_len) / fps
    pulse = np.sin(2 * np.pi * hr[:, None] / 60 * t + rng.uniform(0, 6.3, (n, 1)))
    drift = np.cumsum(rng.normal(0, 0.05, (n, clip_len)), axis=1)  # illumination random walk
    skin = np.array([170.0, 120.0, 95.0])
    rgb = skin * (1 + 0.004 * drift[..., None]) + pulse[..., None] * np.array([0.15, 0.4, 0.08])
    rgb += rng.normal(0, 0.15, rgb.shape)
    return Clips(
        traces=rgb[:, None].astype(np.float32), fps=fps,
        recording_ids=np.array([f"v{i // 5}" for i in range(n)]), subjects=np.array([f"s{i // 10}" for i in range(n)]),
        hr=hr,
    )


def test_features_have_a_fixed_layout() -> None:
    clips = skin_clips(6, seed=0)
    f = plugin.clip_features(clips.traces, clips.fps, clips.hr_settings, n_bins=16, n_peaks=1, seed=0)
    assert f.shape == (6, 6 * (16 + 2)) and np.all(np.isfinite(f))
    per_signal = f.reshape(6, 6, 18)
    assert np.allclose(per_signal[..., :16].sum(axis=-1), 1.0)  # binned spectra are distributions
    # The green channel's spectral peak is the pulse, and so is the first (most periodic) ICA component's.
    assert np.all(np.abs(per_signal[:, 1, 16] - clips.hr) < 1.0)
    assert np.all(np.abs(per_signal[:, 3, 16] - clips.hr) < 1.0)
    assert plugin.n_features(16, 1) == f.shape[1]
    again = plugin.clip_features(clips.traces, clips.fps, clips.hr_settings, n_bins=16, n_peaks=1, seed=0)
    assert np.array_equal(f, again)


def test_batched_fastica_unmixes_like_scikit_learn() -> None:
    from sklearn.decomposition import FastICA

    rng = np.random.default_rng(0)
    t = np.arange(300) / 30
    sources = np.stack([np.sin(2 * np.pi * 1.3 * t), np.sign(np.sin(2 * np.pi * 0.37 * t)), rng.laplace(size=300)])
    mixed = rng.normal(size=(4, 3, 3)) @ sources
    comps = plugin.fastica_batch(mixed, seed=0)
    assert comps.shape == (4, 3, 300) and np.allclose(comps.std(axis=-1), 1.0)
    for clip, comp in zip(mixed, comps, strict=True):
        corr = np.abs(np.corrcoef(comp, sources)[:3, 3:])
        assert np.all(corr.max(axis=1) > 0.99)  # each component is one source (up to sign/order)
        ref = FastICA(3, whiten="unit-variance", random_state=0).fit_transform(clip.T).T
        assert np.all(np.abs(np.corrcoef(comp, ref)[:3, 3:]).max(axis=1) > 0.999)


def test_svr_learns_hr_on_held_out_clips() -> None:
    train, test = skin_clips(200, seed=1), skin_clips(60, seed=2)
    m = plugin.SVRMethod(RunContext(seed=0)).fit(train)
    pred = m.predict(test.without_labels())
    mae = np.abs(pred - test.hr).mean()
    baseline = np.abs(test.hr - train.hr.mean()).mean()  # ~25 bpm
    assert pred.shape == (60,)
    assert mae < 7.0 and mae < 0.3 * baseline, (mae, baseline)
    assert m.run_notes["train_clips"] == 200


def test_lost_frames_and_flat_traces_do_not_break_features() -> None:
    clips = skin_clips(3, seed=3)
    traces = clips.traces.copy()
    traces[0, 0, 100:120, :] = np.nan
    traces[1] = 100.0  # a constant (lost) trace
    f = plugin.clip_features(traces, clips.fps, clips.hr_settings, n_bins=8)
    assert np.all(np.isfinite(f))
    with pytest.raises(HrbenchError):
        plugin.clip_features(np.zeros((2, 4, 300, 3), np.float32), 30.0, clips.hr_settings, n_bins=8)
    assert plugin.fastica_batch(np.ones((1, 3, 50))).shape == (1, 3, 50)


def test_cap_spreads_training_clips_over_videos() -> None:
    m = plugin.SVRMethod(RunContext(seed=0), max_train_clips=20).fit(skin_clips(100, seed=4))
    assert m.run_notes["train_clips"] == 20


@pytest.mark.parametrize("kwargs", [{"gamma": "wide"}, {"gamma": "-1"}, {"C": -1}, {"n_bins": -1},
                                    {"n_bins": 0, "n_peaks": 0}, {"kernel": "rbf"}])
def test_bad_parameters_are_config_errors(kwargs) -> None:
    with pytest.raises(ConfigError):
        plugin.SVRMethod(**kwargs)


def test_contract() -> None:
    assert plugin.SVRMethod.roi_scheme == "face_skin" and plugin.SVRMethod.supervised
    names: list[str] = []
    plugin.register_methods(lambda cls: names.append(cls.name))
    assert names == ["svr"]
    assert plugin.SVRMethod(gamma="0.01").get_params()["gamma"] == "0.01"
    with pytest.raises(HrbenchError):
        plugin.SVRMethod().predict(skin_clips(2, seed=0))
    with pytest.raises(ConfigError):
        plugin.SVRMethod().fit(skin_clips(4, seed=0).without_labels())
