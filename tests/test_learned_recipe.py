"""The learned methods' default recipe: chrominance maps, synthetic rhythms that look like them, held-out curves."""

from __future__ import annotations

import numpy as np
import pytest

from hrbench.plugin.clips import Clips
from hrbench.plugin.method import RunContext
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


def face_like_clips(n: int, rows: int = 25, frames: int = 150,
                    seed: int = 0, common: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
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
    kw = {"synth_epochs": 0} if cls is rhythm_plugin.RhythmResNet else {}  # fine-tuning's curve, not pretraining
    m = cls(ctx, width=8, epochs=3, batch_size=8, holdout=0.2, **kw).fit(clips)
    curve = m.run_notes["learning_curve"]
    assert curve["epoch"] == [1, 2, 3] and len(curve["train_l1"]) == 3 and len(curve["heldout_l1"]) == 3
    best = m.run_notes["best_epoch"]
    # the kept epoch is the lowest held-out loss
    assert curve["heldout_l1"][best - 1] <= min(curve["heldout_l1"]) + 1e-3
    assert m.run_notes["heldout_maps"] == 4 and m.run_notes["train_maps"] == 16
    plain = cls(ctx, width=8, epochs=2, batch_size=8, holdout=0.0, **kw).fit(clips)
    assert "heldout_l1" not in plain.run_notes["learning_curve"] and "best_epoch" not in plain.run_notes


def _face_grid(n: int) -> Clips:
    clips = _labelled(n, 0)
    return Clips(traces=clips.traces[:, :25], fps=30.0, recording_ids=clips.recording_ids,
                 subjects=clips.subjects, hr=clips.hr)


def test_transfer_reports_its_zero_shot_error_on_face_maps(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    ctx = RunContext(seed=2, cache_dir=tmp_path / "cache", console=RunContext().console)
    monkeypatch.setattr(ctx, "say", lambda _m: None)
    clips = _labelled(10, 1)
    m = plugin.StmapTransfer(ctx, width=8, epochs=1, synth_maps=32, synth_epochs=1, batch_size=16, members=1).fit(clips)
    # The note is the pretrained checkpoint's error on these training maps, before any fine-tuning.
    from hrbench_plugins.methods.deep.train import load_checkpoint

    state, _meta = load_checkpoint(ctx.cache_dir / "checkpoints" / m.run_notes["synthetic_checkpoint"])
    pretrained = HRRegressor(8, (42.0, 240.0), head="bins")
    pretrained.load_state_dict(state)
    maps = maps_from_traces(clips.traces, m.spec, fps=clips.fps)
    expected = np.mean(np.abs(predict_maps(pretrained, maps) - clips.hr))
    assert m.run_notes["zero_shot_mae_bpm"] == pytest.approx(expected, abs=1e-3)
    assert abs(np.mean(np.abs(m.predict(clips) - clips.hr)) - expected) > 1e-3  # fine-tuning moved it


def test_paper_profiles_keep_the_papers_maps() -> None:
    assert plugin.StmapTransfer(profile="paper").get_params()["colour"] == "rgb"
    assert plugin.StmapTransfer(profile="paper").get_params()["holdout"] == 0.0
    assert rhythm_plugin.RhythmAttentionDA(profile="paper").get_params()["colour"] == "rgb+yuv"


# -- the distribution head ---------------------------------------------------------

def test_bins_head_reads_the_mean_of_its_distribution_and_learns_towards_the_label() -> None:
    import torch

    from hrbench_plugins.methods.deep.attention import AttentionResNet
    from hrbench_plugins.methods.deep.resnet import bin_centres, soft_label_loss

    centres = bin_centres((42.0, 180.0))
    assert centres[0] == 42 and centres[-1] == 180 and len(centres) == 139
    with seeded(0):
        model = HRRegressor(8, (42.0, 180.0), head="bins")
    logits = torch.full((1, 139), -30.0)
    logits[0, 75 - 42] = 30.0  # all mass on 75 bpm
    assert float(model.to_bpm(logits)) == pytest.approx(75.0, abs=1e-3)
    with torch.no_grad():
        assert float(model(torch.zeros(2, 3, 4, 30)).mean()) == pytest.approx(111.0, abs=1e-3)  # zero head: band centre
    labels = torch.tensor([75.0])
    near = logits.clone()
    far = torch.full((1, 139), -30.0)
    far[0, 120 - 42] = 30.0
    assert soft_label_loss(near, labels, centres) < soft_label_loss(far, labels, centres)
    # The attention variants take the same head, and it survives a state-dict round trip.
    with seeded(1):
        att = AttentionResNet(8, (42.0, 180.0), in_channels=3, head="bins")
        twin = AttentionResNet(8, (42.0, 180.0), in_channels=3, head="bins")
    twin.load_state_dict(att.state_dict())
    x = torch.rand(2, 3, 25, 40) * 255
    att.eval()
    twin.eval()
    assert torch.equal(att(x), twin(x)) and att(x).shape == (2,)
    with pytest.raises(ValueError):
        HRRegressor(8, head="softmax")


def test_peak_readout_answers_with_the_ranked_first_mode_where_the_mean_is_pulled_to_the_band_centre() -> None:
    """Two modes (the pulse, and a harmonic or noise peak) plus a flat floor: the mean lands between them."""
    import torch

    with seeded(0):
        mean = HRRegressor(8, (42.0, 240.0), head="bins")
        peak = HRRegressor(8, (42.0, 240.0), head="bins", readout="peak")
    peak.load_state_dict(mean.state_dict())  # the readout is no weight: one checkpoint serves both
    centres = torch.arange(42, 241, dtype=torch.float32)
    logits = (-0.5 * ((centres - 70.0) / 3.0) ** 2).log_softmax(-1) + np.log(0.5)
    logits = torch.logaddexp(logits, (-0.5 * ((centres - 140.0) / 3.0) ** 2).log_softmax(-1) + np.log(0.3))
    logits = torch.logaddexp(logits, torch.full_like(centres, np.log(0.2 / len(centres))))[None]
    assert float(peak.to_bpm(logits)) == pytest.approx(70.0, abs=0.2)
    assert float(mean.to_bpm(logits)) > 95.0
    # A single narrow mode reads the same either way, also at the band's edge (no bin counted twice).
    one = torch.full((2, 199), -30.0)
    one[0, 75 - 42] = 30.0
    one[1, -1], one[1, -2] = 30.0, 29.0
    assert torch.allclose(peak.to_bpm(one), mean.to_bpm(one), atol=1e-3)
    # Training does not read the prediction: the loss is the same.
    labels = torch.tensor([72.0])
    assert torch.equal(peak.training_loss(logits, labels)[0], mean.training_loss(logits, labels)[0])
    with pytest.raises(ValueError, match="readout"):
        HRRegressor(8, head="bins", readout="median")


@pytest.mark.parametrize("cls", [plugin.StmapScratch, rhythm_plugin.RhythmResNet])
def test_the_readout_parameter_reaches_the_net(tmp_path, cls) -> None:
    ctx = RunContext(seed=1, cache_dir=tmp_path / "cache", console=RunContext().console)
    clips = _labelled(4, 0) if cls is plugin.StmapScratch else _face_grid(4)
    kw = {"synth_epochs": 0} if cls is rhythm_plugin.RhythmResNet else {}
    m = cls(ctx, width=8, readout="peak", head="bins", **kw)
    model = m._initial_model(clips) if cls is plugin.StmapScratch else m._new_model(clips.hr_settings.band_bpm)
    assert model.readout == "peak"
    with pytest.raises(Exception, match="readout"):
        cls(ctx, readout="median")


def test_bins_head_learns_clean_synthetic_maps() -> None:
    clean = SynRhythmSettings(hr_bpm=(60.0, 120.0), noise_max=0.0, step_p=0.0)
    x, y = rhythm_maps(800, 2, 100, 10.0, np.random.default_rng(1), clean)
    vx, vy = rhythm_maps(200, 2, 100, 10.0, np.random.default_rng(2), clean)
    with seeded(0):
        model = HRRegressor(8, (60.0, 120.0), head="bins")
        losses = train_regressor(model, lambda _e: (x, y), epochs=8, seed=0)
    mae = np.abs(predict_maps(model, vx) - vy).mean()
    assert losses[-1] < 0.5 * losses[0]  # the returned losses are L1 in bpm for either head
    assert mae < 0.4 * np.abs(vy - y.mean()).mean(), mae


def test_face_grid_rhythms_teach_the_fg2019_net_to_read_face_grid_maps_zero_shot() -> None:
    """The FG 2019 variants' pretraining: synthetic rhythms through the face-grid map code, then unseen 'faces'."""
    from hrbench_plugins.methods.deep.attention import AttentionResNet
    from hrbench_plugins.methods.deep.facemaps import channel_stats
    from hrbench_plugins.methods.deep.synrhythm import face_grid_rhythm_maps

    settings = SynRhythmSettings(hr_bpm=(60.0, 120.0), noise_max=0.3, step_p=0.3, pulse_rgb=(0.33, 0.77, 0.53))
    x, y = face_grid_rhythm_maps(1200, 25, 150, FPS, np.random.default_rng(1), settings, time_pool=2,
                                 highpass_hz=0.5, colour="pos")
    mean, std = channel_stats("pos")
    with seeded(0):
        model = AttentionResNet(8, (60.0, 120.0), in_channels=3, channel_mean=mean, channel_std=std, attention=False)
        train_regressor(model, lambda _e: (x, y), epochs=6, seed=0)
    traces, hr = face_like_clips(64, rows=25, seed=3)
    face = face_maps(traces, "pos", 2, fps=FPS, highpass_hz=0.5)
    mae = np.abs(predict_maps(model, face) - hr).mean()
    baseline = np.abs(hr - hr.mean()).mean()
    assert mae < 0.4 * baseline, (mae, baseline)
