"""The learned methods' default recipe: chrominance maps, synthetic rhythms that look like them, held-out curves."""

from __future__ import annotations

import numpy as np
import pytest

from hrbench.clips import Clips
from hrbench.method import RunContext
from hrbench_plugins.methods import rhythm as rhythm_plugin
from hrbench_plugins.methods import stmap as plugin
from hrbench_plugins.methods.deep.curves import heldout_split
from hrbench_plugins.methods.deep.facemaps import face_maps
from hrbench_plugins.methods.deep.resnet import HRRegressor
from hrbench_plugins.methods.deep.stmap import MapSpec, chrominance, maps_from_traces
from hrbench_plugins.methods.deep.synrhythm import SynRhythmSettings, rhythm_maps
from hrbench_plugins.methods.deep.train import predict_maps, seeded, train_regressor

FPS = 15.0


def _peak_bpm(rows: np.ndarray, fps: float) -> float:
    """Spectral peak (42-240 bpm) of the mean power spectrum of ``rows`` (r, T)."""
    x = rows - rows.mean(axis=-1, keepdims=True)
    power = (np.abs(np.fft.rfft(x, n=4096, axis=-1)) ** 2).mean(axis=0)
    f = np.fft.rfftfreq(4096, 1 / fps) * 60
    band = (f > 42) & (f < 240)
    return float(f[band][np.argmax(power[band])])


def face_like_clips(n: int, rows: int = 25, frames: int = 150, seed: int = 0, common: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Colour means of skin blocks: a pulse along skin's pulse signature, buried in a stronger intensity change.

    The intensity change (a 0.9-1.1 Hz sway plus a step) is the same relative
    change in R, G and B -- what motion and illumination do to a face -- and
    ``common`` times the pulse's size.
    """
    rng = np.random.default_rng(seed)
    hr = rng.uniform(75, 120, n)  # clear of the sway's 54-66 bpm
    t = np.arange(frames) / FPS
    pulse = 0.003 * np.sin(2 * np.pi * hr[:, None] / 60 * t + rng.uniform(0, 6, (n, 1)))
    sway = 0.003 * common * np.sin(2 * np.pi * rng.uniform(0.9, 1.1, (n, 1)) * t) + 0.004 * (t > frames / FPS / 2)
    skin = np.array([170.0, 120.0, 100.0]) * rng.uniform(0.9, 1.1, (n, rows, 1, 3))
    rel = 1 + sway[:, None, :, None] + pulse[:, None, :, None] * np.array([0.33, 0.77, 0.53])
    traces = skin * rel + rng.normal(0, 0.02, (n, rows, frames, 3))
    return traces.astype(np.float32), hr


def test_chrominance_cancels_intensity_changes_common_to_rgb() -> None:
    traces, hr = face_like_clips(4, common=5.0)
    rgb = maps_from_traces(traces, MapSpec(), fps=FPS).astype(np.float32)
    pos = maps_from_traces(traces, MapSpec(highpass_hz=0.5, colour="pos"), fps=FPS).astype(np.float32)
    for i in range(4):
        assert abs(_peak_bpm(pos[i, 0], FPS) - hr[i]) < 2.0  # h channel: the pulse
        assert abs(_peak_bpm(rgb[i, 1], FPS) - hr[i]) > 5.0  # green channel: the sway wins
    # The projection is blind to a pure intensity change and to the skin colour.
    flat = np.full((1, 2, 40, 3), 100.0, np.float32) * (1 + 0.1 * np.sin(np.arange(40) / 3))[None, None, :, None]
    assert np.allclose(chrominance(flat * np.array([1.7, 1.2, 1.0], np.float32)), 0, atol=1e-6)


def test_face_grid_maps_take_the_same_chrominance_channels() -> None:
    traces, hr = face_like_clips(2, common=5.0)
    maps = face_maps(traces, "pos", 1, fps=FPS, highpass_hz=0.5).astype(np.float32)
    assert maps.shape == (2, 3, 25, 150)
    assert abs(_peak_bpm(maps[0, 0], FPS) - hr[0]) < 2.0


def test_synthetic_pos_maps_teach_a_net_to_read_face_like_maps_zero_shot() -> None:
    """General to specific: trained only on synthetic rhythms, the net reads chrominance maps of 'faces'."""
    settings = SynRhythmSettings(hr_bpm=(60.0, 120.0), noise_max=0.3, step_p=0.3, pulse_rgb=(0.33, 0.77, 0.53))
    x, y = rhythm_maps(1200, 4, 150, FPS, np.random.default_rng(1), settings, highpass_hz=0.5, colour="pos")
    with seeded(0):
        model = HRRegressor(8, (60.0, 120.0))
        train_regressor(model, lambda _e: (x, y), epochs=6, seed=0)
    traces, hr = face_like_clips(64, rows=4, seed=3)
    face = maps_from_traces(traces, MapSpec(highpass_hz=0.5, colour="pos"), fps=FPS)
    mae = np.abs(predict_maps(model, face) - hr).mean()
    baseline = np.abs(hr - hr.mean()).mean()  # ~11 bpm: what a net that cannot read a pulse would achieve at best
    assert mae < 0.4 * baseline, (mae, baseline)


def test_heldout_split_keeps_whole_subjects_apart() -> None:
    subjects = np.repeat([f"s{i}" for i in range(10)], 5)
    fit, held = heldout_split(subjects, 0.2, seed=3)
    assert len(set(subjects[fit]) & set(subjects[held])) == 0
    assert len(set(subjects[held])) == 2 and len(fit) + len(held) == 50
    assert np.array_equal(held, heldout_split(subjects, 0.2, seed=3)[1])  # from the seed
    assert len(heldout_split(subjects, 0.0, 3)[1]) == 0
    assert len(heldout_split(subjects[:10], 0.5, 3)[1]) == 0  # two subjects: nothing to spare
    assert len(set(subjects[heldout_split(subjects[:15], 0.5, 3)[0]])) == 2  # at least two remain


def _labelled(n: int, seed: int) -> Clips:
    rng = np.random.default_rng(seed)
    traces = 100 + rng.normal(0, 1, (n, 200, 64, 3)).astype(np.float32)
    subjects = np.array([f"s{i % 5}" for i in range(n)])
    return Clips(traces=traces, fps=30.0, recording_ids=subjects.copy(), subjects=subjects, hr=rng.uniform(60, 100, n))


@pytest.mark.parametrize("cls", [plugin.StmapScratch, rhythm_plugin.RhythmResNet])
def test_fit_stores_a_learning_curve_with_held_out_subjects(tmp_path, cls) -> None:
    ctx = RunContext(seed=1, cache_dir=tmp_path / "cache", console=RunContext().console)
    clips = _labelled(20, 0) if cls is plugin.StmapScratch else _face_grid(20)
    m = cls(ctx, width=8, epochs=3, batch_size=8, holdout=0.2).fit(clips)
    curve = m.run_notes["learning_curve"]
    assert curve["epoch"] == [1, 2, 3] and len(curve["train_l1"]) == 3 and len(curve["heldout_l1"]) == 3
    assert m.run_notes["best_epoch"] == int(np.argmin(curve["heldout_l1"])) + 1
    assert m.run_notes["heldout_maps"] == 4 and m.run_notes["train_maps"] == 16
    plain = cls(ctx, width=8, epochs=2, batch_size=8, holdout=0.0).fit(clips)
    assert "heldout_l1" not in plain.run_notes["learning_curve"] and "best_epoch" not in plain.run_notes


def _face_grid(n: int) -> Clips:
    clips = _labelled(n, 0)
    return Clips(traces=clips.traces[:, :25], fps=30.0, recording_ids=clips.recording_ids, subjects=clips.subjects, hr=clips.hr)


def test_transfer_reports_its_zero_shot_error_on_face_maps(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    ctx = RunContext(seed=2, cache_dir=tmp_path / "cache", console=RunContext().console)
    monkeypatch.setattr(ctx, "say", lambda _m: None)
    m = plugin.StmapTransfer(ctx, width=8, epochs=1, synth_maps=32, synth_epochs=1, batch_size=16).fit(_labelled(10, 1))
    assert m.run_notes["zero_shot_mae_bpm"] > 0


def test_paper_profiles_keep_the_papers_maps() -> None:
    assert plugin.StmapTransfer(profile="paper").get_params()["colour"] == "rgb"
    assert plugin.StmapTransfer(profile="paper").get_params()["holdout"] == 0.0
    assert rhythm_plugin.RhythmAttentionDA(profile="paper").get_params()["colour"] == "rgb+yuv"
