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


def test_copies_are_the_default_and_the_paper_profile_has_none() -> None:
    from hrbench.run.plan import identity_params

    assert plugin.SVRMethod().da_copies == 3
    assert plugin.SVRMethod(profile="paper").da_copies == 0
    # No copies is the code before the parameter: such runs keep the store keys of the runs made then.
    assert "da_copies" not in identity_params(plugin.SVRMethod, plugin.SVRMethod(da_copies=0).get_params())
    assert identity_params(plugin.SVRMethod, plugin.SVRMethod().get_params())["da_copies"] == 3


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


def narrow_clips(n: int, seed: int, lo: float, hi: float) -> Clips:
    """skin_clips with the heart rates drawn from [lo, hi] instead of 50-150."""
    clips = skin_clips(n, seed)
    rng = np.random.default_rng(seed + 100)
    hr = rng.uniform(lo, hi, n)
    t = np.arange(clips.traces.shape[2]) / clips.fps
    pulse = np.sin(2 * np.pi * hr[:, None] / 60 * t + rng.uniform(0, 6.3, (n, 1)))
    rgb = np.array([170.0, 120.0, 95.0]) + pulse[..., None] * np.array([0.15, 0.4, 0.08])
    rgb += rng.normal(0, 0.15, rgb.shape)
    return Clips(traces=rgb[:, None].astype(np.float32), fps=clips.fps, recording_ids=clips.recording_ids,
                 subjects=clips.subjects, hr=hr)


def test_time_scaled_copies_let_svr_follow_heart_rates_it_was_not_trained_on() -> None:
    train, test = narrow_clips(120, seed=5, lo=60, hi=80), narrow_clips(40, seed=6, lo=85, hi=100)
    plain = plugin.SVRMethod(RunContext(seed=0), da_copies=0).fit(train)
    copies = plugin.SVRMethod(RunContext(seed=0), da_copies=2).fit(train)
    err_plain = np.abs(plain.predict(test.without_labels()) - test.hr).mean()
    err_copies = np.abs(copies.predict(test.without_labels()) - test.hr).mean()
    # Without copies the RBF model stays near the training HRs (~70): ~19 bpm off; with them ~5.
    assert err_plain > 15.0 and err_copies < 8.0 and err_copies < 0.4 * err_plain, (err_plain, err_copies)
    assert copies.run_notes["train_clips"] == 120  # the originals: copies are the augmentation's, not the data's
    again = plugin.SVRMethod(RunContext(seed=0), da_copies=2).fit(train)
    assert np.array_equal(again.predict(test.without_labels()), copies.predict(test.without_labels()))


def test_time_scaled_copies_stay_in_the_hr_band() -> None:
    train = narrow_clips(30, seed=7, lo=150, hi=170)  # x1.5 would leave whole_video's 42-180 bpm band
    train = Clips(traces=train.traces, fps=train.fps, recording_ids=train.recording_ids, subjects=train.subjects,
                  hr=train.hr, hr_settings=plugin.HRSettings(band_bpm=(42.0, 180.0)))
    m = plugin.SVRMethod(RunContext(seed=0), da_copies=3)
    feats, labels = m._with_copies(train, m._features(train), train.hr)
    assert feats.shape == (120, plugin.n_features(0, 1)) and labels.shape == (120,)
    # No copy goes up past 180 / 1.1 (those already above it keep their own HR), nor down past x2/3.
    assert np.all(labels[30:] <= np.maximum(np.tile(train.hr, 3), 180.0 / 1.1) + 1e-9)
    assert labels[30:].max() > 160 and labels.min() >= 150 * 2 / 3 - 1e-9
    # Each copy's strongest green peak moved with its label.
    assert np.all(np.abs(feats[30:, 2] - labels[30:]) < 2.0)


@pytest.mark.xfail(strict=True, reason="known defect: a copy's FFT length follows fps * f, so above f ~ 1.14 its "
                                       "peak power share is about half a real clip's (fix with a new study)")
def test_a_time_scaled_copy_has_the_features_of_a_clip_filmed_at_that_heart_rate() -> None:
    base = narrow_clips(20, seed=8, lo=70, hi=72)
    settings = base.hr_settings
    f = 1.3
    copy = plugin.clip_features(base.traces, base.fps * f, settings, n_bins=0, n_peaks=1, seed=0)
    real = plugin.clip_features(base.traces, base.fps, settings, n_bins=0, n_peaks=1, seed=0)
    # The same frames read f times faster: the peak moves to HR * f, its share of the band's power does not.
    assert np.allclose(copy[:, 2], real[:, 2] * f, atol=1.0)
    assert np.allclose(copy[:, 3], real[:, 3], rtol=0.2)
