"""SynRhythm spatial-temporal maps, ResNet-18 regressor, training, caching and the three plugins."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from hrbench.api import fill_missing_frames
from hrbench.errors import ConfigError, HrbenchError
from hrbench.plugin.clips import Clips
from hrbench.plugin.method import RunContext
from hrbench_plugins.methods import stmap as plugin
from hrbench_plugins.methods.deep.ensemble import member_seed
from hrbench_plugins.methods.deep.resnet import HRRegressor, imagenet_weights_path, load_imagenet
from hrbench_plugins.methods.deep.selection import select_training
from hrbench_plugins.methods.deep.stmap import SERIES_FILL, MapSpec, maps_from_traces
from hrbench_plugins.methods.deep.synrhythm import SynRhythmSettings, rhythm_maps
from hrbench_plugins.methods.deep.train import predict_maps, seeded, train_regressor


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on shared cores 2 OpenMP threads can be 10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def cheek_clips(n: int, clip_len: int = 64, fps: float = 30.0, seed: int = 0) -> Clips:
    """Face-like cheek_grid clips: skin colour + a pulse strongest in green + sensor noise."""
    rng = np.random.default_rng(seed)
    hr = rng.uniform(60, 120, n)
    t = np.arange(clip_len) / fps
    pulse = np.sin(2 * np.pi * hr[:, None] / 60 * t)[:, None, :, None]  # (n, 1, T, 1)
    base = np.array([160.0, 110.0, 90.0]) + rng.normal(0, 5, (1, 200, 1, 3))
    traces = base + pulse * np.array([0.3, 0.8, 0.15]) + rng.normal(0, 0.2, (n, 200, clip_len, 3))
    return Clips(
        traces=traces.astype(np.float32), fps=fps,
        recording_ids=np.array([f"v{i % 4}" for i in range(n)]), subjects=np.array([f"s{i % 4}" for i in range(n)]),
        hr=hr,
    )


# -- maps ---------------------------------------------------------------------

def test_maps_pool_blocks_and_frames_then_scale_each_row() -> None:
    rng = np.random.default_rng(0)
    traces = rng.normal(100, 3, (2, 200, 300, 3)).astype(np.float32)
    maps = maps_from_traces(traces, MapSpec(pool_h=2, pool_w=4, time_pool=2))
    assert maps.shape == (2, 3, 25, 150) and maps.dtype == np.float16
    assert np.allclose(maps.min(axis=-1), 0) and np.allclose(maps.max(axis=-1), 255)
    # Map row 6 = grid block-row 1 (rows 2-3), block-column 1 (columns 4-7); frames averaged in pairs.
    grid = traces[0].reshape(10, 20, 300, 3)
    ref = grid[2:4, 4:8].mean(axis=(0, 1))[:, 1].reshape(150, 2).mean(axis=1)
    ref = (ref - ref.min()) / (ref.max() - ref.min()) * 255
    assert np.allclose(maps[0, 1, 6], ref, atol=0.3)
    full = maps_from_traces(traces[:1, :, :40], MapSpec())
    assert full.shape == (1, 3, 200, 40)


def test_lost_frames_are_interpolated_and_dead_rows_are_zero() -> None:
    x = np.tile(np.arange(10, dtype=np.float32)[None, None, :, None], (1, 2, 1, 3))
    x[0, 0, 3:6, 1] = np.nan
    x[0, 1, :, 2] = np.nan
    filled = fill_missing_frames(x, **SERIES_FILL)[0]
    assert np.allclose(filled[0, 0, :, 1], np.arange(10))
    assert np.all(filled[0, 1, :, 2] == 0)
    maps = maps_from_traces(np.repeat(x, 100, axis=1)[:, :200], MapSpec())
    assert np.all(np.isfinite(maps.astype(np.float32)))


def test_pooling_must_fit_the_grid() -> None:
    with pytest.raises(HrbenchError):
        maps_from_traces(np.zeros((1, 25, 60, 3), np.float32), MapSpec(pool_h=2, pool_w=4))
    with pytest.raises(ConfigError):
        plugin.StmapScratch(pool_h=3)


def test_training_selection_spreads_over_videos() -> None:
    rid = np.repeat(np.array(["a", "b", "c"]), [30, 5, 10])
    labels = np.ones(len(rid))
    labels[0] = np.nan
    idx = select_training(rid, labels, max_maps=12, seed=1)
    assert len(idx) == 12 and 0 not in idx
    assert {k: int((rid[idx] == k).sum()) for k in "abc"} == {"a": 4, "b": 4, "c": 4}
    six = select_training(rid, labels, max_maps=6, seed=1)
    assert len(six) == 6 and {k: int((rid[six] == k).sum()) for k in "abc"} == {"a": 2, "b": 2, "c": 2}
    assert len(select_training(rid, labels, 0, 1)) == 44


# -- model and training ---------------------------------------------------------

def test_resnet_width_and_output_in_bpm() -> None:
    with seeded(0):
        m = HRRegressor(8, (42.0, 240.0))
    out = predict_maps(m, np.zeros((3, 3, 25, 150), np.float16))
    assert out.shape == (3,) and np.allclose(out, 141.0)  # zero-initialised head -> band centre
    assert m.backbone.layer4[1].conv2.out_channels == 64


def test_short_fit_regresses_held_out_synthetic_maps() -> None:
    clean = SynRhythmSettings(hr_bpm=(60.0, 120.0), noise_max=0.0, step_p=0.0)
    x, y = rhythm_maps(800, 2, 100, 10.0, np.random.default_rng(1), clean)
    vx, vy = rhythm_maps(200, 2, 100, 10.0, np.random.default_rng(2), clean)
    with seeded(0):
        model = HRRegressor(8, (60.0, 120.0))
        losses = train_regressor(model, lambda _e: (x, y), epochs=8, seed=0)
    mae = np.abs(predict_maps(model, vx) - vy).mean()
    baseline = np.abs(vy - y.mean()).mean()  # ~15 bpm: predicting the training mean
    assert losses[-1] < 0.5 * losses[0]
    assert mae < 6.0 and mae < 0.4 * baseline, (mae, baseline)


def test_training_is_reproducible_on_cpu() -> None:
    x, y = rhythm_maps(64, 2, 60, 10.0, np.random.default_rng(1))

    def run() -> np.ndarray:
        with seeded(3):
            m = HRRegressor(4)
            train_regressor(m, lambda _e: (x, y), epochs=2, seed=3, batch_size=16)
        return predict_maps(m, x[:8])

    assert np.array_equal(run(), run())


def test_validation_restores_the_best_epoch() -> None:
    x, y = rhythm_maps(96, 2, 60, 10.0, np.random.default_rng(1))
    vx, vy = rhythm_maps(32, 2, 60, 10.0, np.random.default_rng(2))
    history: list[float] = []
    with seeded(0):
        m = HRRegressor(4)
        train_regressor(m, lambda _e: (x, y), epochs=4, batch_size=16, validation=(vx, vy), val_history=history)
    assert len(history) == 4
    assert np.isclose(np.abs(predict_maps(m, vx) - vy).mean(), min(history), atol=1e-4)


def test_training_can_resume_after_prediction() -> None:
    x, y = rhythm_maps(16, 2, 60, 10.0, np.random.default_rng(1))
    with seeded(0):
        m = HRRegressor(4)
        train_regressor(m, lambda _e: (x, y), epochs=1, batch_size=8)
        before = predict_maps(m, x)
        train_regressor(m, lambda _e: (x, y), epochs=1, batch_size=8)  # e.g. fine-tuning a pretrained model
    assert not np.array_equal(before, predict_maps(m, x))


# -- ImageNet initialisation -----------------------------------------------------

def test_missing_imagenet_weights_stop_stage_two_and_mark_stage_three(tmp_path, monkeypatch) -> None:
    """Stage II without ImageNet weights would be stage I again: it is not run; stage III says so once."""
    from hrbench.errors import PrerequisiteMissing

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(plugin, "_SAID_MISSING", set())
    said: list[str] = []
    ctx = RunContext(seed=0, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(ctx, "say", said.append)
    clips = cheek_clips(8)
    with pytest.raises(PrerequisiteMissing, match="resnet18-f37072fd.pth"):
        plugin.StmapImagenet(ctx, width=8, epochs=1).fit(clips)
    assert said == []
    for _ in range(2):  # two folds
        m = plugin.StmapTransfer(ctx, width=8, epochs=1, synth_maps=16, synth_epochs=1).fit(clips)
        assert m.run_notes["init"] == "random"
    missing = [m for m in said if "no ImageNet" in m]
    assert len(missing) == 1 and str(imagenet_weights_path()) in missing[0] and "\n" not in missing[0]
    assert plugin.StmapScratch(ctx, width=8, epochs=1).fit(clips).run_notes["init"] == "random"


def test_imagenet_weights_are_loaded_from_the_hub_cache(tmp_path, monkeypatch) -> None:
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path = imagenet_weights_path()
    assert str(path).startswith(str(tmp_path)) and path.name == "resnet18-f37072fd.pth"
    path.parent.mkdir(parents=True)
    with seeded(1):
        src = torchvision.models.resnet18().state_dict()  # stands in for the real file
    torch.save(src, path)
    full, narrow = HRRegressor(64), HRRegressor(16)
    assert load_imagenet(full, path) == "imagenet"
    assert load_imagenet(narrow, path) == "imagenet-sliced"
    assert torch.equal(full.backbone.layer3[0].conv1.weight, src["layer3.0.conv1.weight"])
    assert torch.equal(narrow.backbone.layer2[1].conv2.weight, src["layer2.1.conv2.weight"][:32, :32])
    assert torch.equal(narrow.backbone.bn1.running_var, src["bn1.running_var"][:16])
    m = plugin.StmapImagenet(RunContext(cache_dir=tmp_path / "c"), width=8, epochs=1).fit(cheek_clips(8))
    assert m.run_notes["init"] == "imagenet-sliced"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(HrbenchError, match="resnet18-f37072fd.pth"):
        load_imagenet(full, path)


# -- stage III: cached synthetic pretraining ----------------------------------------

def test_synthetic_checkpoint_is_cached_and_reused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    ctx = RunContext(seed=4, cache_dir=tmp_path / "cache", console=RunContext().console)
    monkeypatch.setattr(ctx, "say", lambda _m: None)
    ticks: list[str] = []
    ctx.progress = lambda desc, total: (lambda n=1: ticks.append(desc))
    small = dict(width=8, epochs=2, synth_maps=64, synth_epochs=2, batch_size=16, holdout=0.0, members=1)
    clips, test = cheek_clips(12, seed=1), cheek_clips(6, seed=2).without_labels()

    first = plugin.StmapTransfer(ctx, **small).fit(clips)
    ckpts = list((tmp_path / "cache" / "checkpoints").glob("synrhythm-*.pt"))
    assert first.run_notes["synthetic_pretrain"] == "trained" and len(ckpts) == 1
    assert sum("pretraining" in d for d in ticks) == 2 and sum("training on 12 maps" in d for d in ticks) == 2
    mtime = ckpts[0].stat().st_mtime_ns

    second = plugin.StmapTransfer(ctx, **small).fit(clips)
    assert second.run_notes["synthetic_pretrain"] == "cached"
    assert ckpts[0].stat().st_mtime_ns == mtime
    assert sum("pretraining" in d for d in ticks) == 2  # no second pretraining
    # Reusing the cache changes nothing: same seed, same predictions.
    p1, p2 = first.predict(test), second.predict(test)
    assert p1.shape == (6,) and np.array_equal(p1, p2)
    assert np.all((p1 >= 42) & (p1 <= 240))

    other = plugin.StmapTransfer(ctx, **{**small, "synth_noise": 0.1}).fit(clips)
    assert other.run_notes["synthetic_pretrain"] == "trained"  # generator settings are in the key
    assert len(list((tmp_path / "cache" / "checkpoints").glob("synrhythm-*.pt"))) == 2


# -- parameters ------------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs",
    [{"width": 7}, {"pool_w": 3}, {"time_pool": 0}, {"max_train_maps": 1.5},
     {"epochs": "many"}, {"max_train_maps": -1}, {"no_such_param": 1}],
)
def test_bad_parameters_are_config_errors(kwargs) -> None:
    with pytest.raises(ConfigError):
        plugin.StmapScratch(**kwargs)


def test_profiles_and_registration() -> None:
    paper = plugin.StmapTransfer(profile="paper").get_params()
    assert (paper["width"], paper["pool_h"], paper["pool_w"], paper["time_pool"], paper["epochs"],
            paper["max_train_maps"]) == (64, 1, 1, 1, 30, 0)
    assert "synth_maps" not in plugin.StmapScratch().get_params()
    with pytest.raises(ConfigError):
        plugin.StmapScratch(profile="fast")
    names: list[str] = []
    plugin.register_methods(lambda cls: names.append(cls.name))
    assert names == ["stmap_scratch", "stmap_imagenet", "stmap_transfer"]
    assert all(plugin.StmapScratch.roi_scheme == "cheek_grid" and c.supervised
               for c in (plugin.StmapScratch, plugin.StmapTransfer))
    with pytest.raises(HrbenchError):
        plugin.StmapScratch().predict(cheek_clips(2))
    with pytest.raises(ConfigError):
        plugin.StmapScratch().fit(cheek_clips(2).without_labels())


def test_detrended_maps_keep_the_pulse_and_drop_the_drift() -> None:
    """A drift 20x the pulse sets a raw row's min-max range; after the high-pass the pulse spans it."""
    fps, T = 30.0, 300
    t = np.arange(T) / fps
    pulse = np.sin(2 * np.pi * 1.2 * t)
    drift = 20.0 * t / t[-1]
    traces = (100.0 + drift + pulse)[None, None, :, None].repeat(200, axis=1).repeat(3, axis=3).astype(np.float32)
    raw = maps_from_traces(traces, MapSpec(2, 4, 2)).astype(np.float32)[0, 1, 0]
    flat = maps_from_traces(traces, MapSpec(2, 4, 2, highpass_hz=0.5), fps=fps).astype(np.float32)[0, 1, 0]

    def pulse_share(row: np.ndarray) -> float:
        spec = np.abs(np.fft.rfft(row - row.mean())) ** 2
        f = np.fft.rfftfreq(len(row), 2 / fps)
        return float(spec[np.abs(f - 1.2) < 0.15].sum() / spec.sum())

    assert pulse_share(raw) < 0.2 and pulse_share(flat) > 0.9
    with pytest.raises(HrbenchError):
        maps_from_traces(traces, MapSpec(2, 4, 2, highpass_hz=0.5))  # no frame rate given
    syn, _ = rhythm_maps(4, 25, 300, fps, np.random.default_rng(0), time_pool=2, highpass_hz=0.5)
    assert syn.shape == (4, 3, 25, 150) and np.isfinite(syn.astype(np.float32)).all()


def test_detrending_is_part_of_the_pretraining_cache_key() -> None:
    from hrbench_plugins.methods.deep.pretrain import MapGeometry, PretrainConfig, checkpoint_key

    with seeded(0):
        m = HRRegressor(8, (42.0, 240.0))
    keys = [checkpoint_key(m, "random", MapGeometry(25, 300, 30.0, 2, hp),
                           PretrainConfig(10, 1), 0) for hp in (0.0, 0.5)]
    assert keys[0] != keys[1]


def test_train_fraction_shrinks_the_cap_too() -> None:
    """--train-fraction must reduce what a capped method trains on, even when the cap binds (Fig. 6)."""
    rid = np.repeat(np.array([f"v{i}" for i in range(10)]), 100)
    labels = np.ones(len(rid))
    full = select_training(rid, labels, max_maps=600, seed=1)
    quarter = select_training(rid[::4], labels[::4], max_maps=600, seed=1, fraction=0.25)
    assert len(full) == 600 and len(quarter) == 150
    assert len(set(rid[::4][quarter])) == 10  # every video still represented


def test_int_parameters_reject_fractions_of_any_float_type() -> None:
    for bad in (1.5, np.float32(1.5), np.float64(2.25)):
        with pytest.raises(ConfigError):
            plugin.StmapScratch(max_train_maps=bad)
    m = plugin.StmapScratch(max_train_maps=np.float64(100.0))
    assert m.max_train_maps == 100 and isinstance(m.max_train_maps, int)
    with pytest.raises(ConfigError):
        plugin.StmapScratch(detrend_hz=1.0)  # above the 0.7 Hz band edge: it would remove pulses


def test_ensemble_members_have_own_seeds_and_average(tmp_path) -> None:
    """``members`` nets: member 0 is the plain method; the prediction is the members' mean, notes the first's."""
    clips = cheek_clips(16)
    ctx = RunContext(seed=3, cache_dir=tmp_path)
    one = plugin.StmapScratch(ctx, width=8, epochs=1, members=1).fit(clips)
    three = plugin.StmapScratch(ctx, width=8, epochs=1, members=3).fit(clips)
    assert len(three._models) == 3 and three.context is ctx and three.context.seed == 3
    assert three.run_notes == one.run_notes  # the first member's notes, which are the plain method's
    assert np.array_equal(plugin.StmapScratch(ctx, width=8, epochs=1, members=1).fit(clips).predict(clips),
                          one.predict(clips))
    assert plugin.StmapScratch().members == 3 and plugin.StmapScratch(profile="paper").members == 1
    members = []
    for m in three._models:
        solo = plugin.StmapScratch(ctx, width=8, epochs=1, members=1)
        solo._models = [m]
        members.append(solo.predict(clips))
    assert np.allclose(members[0], one.predict(clips))
    assert not np.allclose(members[1], members[0])  # another seed, another net
    assert np.allclose(three.predict(clips), np.mean(members, axis=0))
    assert len({member_seed(3, m) for m in range(3)} | {member_seed(4, 1)}) == 4


def test_ensemble_zero_shot_is_the_pretrained_members_mean(tmp_path, monkeypatch) -> None:
    """Stage III's zero-shot note measures what the ensemble would predict before fine-tuning."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    clips = cheek_clips(12)
    ctx = RunContext(seed=1, cache_dir=tmp_path / "cache")
    kw = {"width": 8, "epochs": 1, "synth_maps": 16, "synth_epochs": 1, "holdout": 0.3}
    solo = [plugin.StmapTransfer(replace(ctx, seed=member_seed(1, m)), members=1, **kw) for m in range(2)]
    for s in solo:
        s.fit(clips)
    pair = plugin.StmapTransfer(ctx, members=2, **kw).fit(clips)
    assert pair.run_notes["best_epoch"] == solo[0].run_notes["best_epoch"]
    assert pair.run_notes["zero_shot_mae_bpm"] != solo[0].run_notes["zero_shot_mae_bpm"]
    # the MAE of the members' mean, which by convexity is at most the mean of the members' MAEs
    assert pair.run_notes["zero_shot_mae_bpm"] <= np.mean([s.run_notes["zero_shot_mae_bpm"] for s in solo]) + 1e-3
    assert np.allclose(pair.predict(clips), np.clip((solo[0].predict(clips) + solo[1].predict(clips)) / 2, 42, 240))


def test_synth_mix_adds_fresh_synthetic_maps_to_each_fine_tuning_epoch(tmp_path) -> None:
    """``synth_mix``: the face maps of an epoch unchanged, plus that share of fresh band-wide synthetic rhythms."""
    clips = cheek_clips(12)
    ctx = RunContext(seed=2, cache_dir=tmp_path)
    plain = plugin.StmapTransfer(ctx, width=8, members=1)
    mixed = plugin.StmapTransfer(ctx, width=8, members=1, synth_mix=0.5)
    _, face_only = plain._training_data(clips, clips.fps)
    _, both = mixed._training_data(clips, clips.fps)
    face_maps, face_hr = face_only(0)
    maps, hr = both(0)
    n = len(face_maps)
    assert len(maps) == n + round(0.5 * n) and maps.shape[1:] == face_maps.shape[1:] and maps.dtype == face_maps.dtype
    assert np.array_equal(maps[:n], face_maps) and np.array_equal(hr[:n], face_hr)
    lo, hi = clips.hr_settings.band_bpm
    assert np.all((hr[n:] >= lo) & (hr[n:] <= hi)) and np.ptp(hr[n:]) > 20
    assert not np.array_equal(both(1)[0][n:], maps[n:])  # fresh draws every epoch
    assert np.array_equal(both(0)[0], maps)  # and reproducible
    assert plugin.StmapTransfer(profile="paper").synth_mix == 0.0
    assert "synth_mix" not in plugin.StmapScratch.params  # stage I sees no synthetic rhythm
    with pytest.raises(ConfigError):
        plugin.StmapTransfer(synth_mix=-0.1)


def test_fit_members_restores_the_context_and_notes_when_a_member_fails() -> None:
    from hrbench_plugins.methods.deep.ensemble import fit_members

    class _Method:
        context, run_notes = RunContext(seed=5), {"first": 1}

    m = _Method()
    base, notes, seen = m.context, m.run_notes, []

    def fit_one(i: int) -> int:
        seen.append(m.context.seed)
        if i == 1:
            raise HrbenchError("member 1 failed")
        return i

    with pytest.raises(HrbenchError):
        fit_members(m, 3, fit_one)
    assert seen == [5, member_seed(5, 1)] and m.context is base and m.run_notes is notes


def test_synth_mix_fit_and_predict_end_to_end(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    clips = cheek_clips(12)
    m = plugin.StmapTransfer(RunContext(seed=0, cache_dir=tmp_path / "cache"), width=8, epochs=1, synth_maps=16,
                             synth_epochs=1, members=1, synth_mix=0.5).fit(clips)
    pred = m.predict(clips)
    assert pred.shape == (12,) and np.all(np.isfinite(pred)) and 0 < m.run_notes["train_maps"] < 12


def test_fine_tuning_lr_leaves_the_pretrained_checkpoint_alone(tmp_path, monkeypatch) -> None:
    """``lr`` is fine-tuning's, ``synth_lr`` pretraining's: only the latter picks another checkpoint."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    clips = cheek_clips(8)
    ctx = RunContext(seed=0, cache_dir=tmp_path / "cache")
    kw = {"width": 8, "epochs": 1, "synth_maps": 16, "synth_epochs": 1, "members": 1}
    fitted = {name: plugin.StmapTransfer(ctx, **kw, **extra).fit(clips)
              for name, extra in (("base", {}), ("slow", {"lr": 1e-4}), ("other", {"synth_lr": 5e-4}))}
    base, slow, other = (fitted[k].run_notes for k in ("base", "slow", "other"))
    assert base["synthetic_pretrain"] == "trained" and slow["synthetic_pretrain"] == "cached"
    assert slow["synthetic_checkpoint"] == base["synthetic_checkpoint"] != other["synthetic_checkpoint"]
    # the fine-tuning did take the other rate: same start, other weights after one step
    assert not np.allclose(fitted["slow"].predict(clips), fitted["base"].predict(clips))
    assert plugin.StmapTransfer(profile="paper").synth_lr == 1e-3


def test_freeze_keeps_the_first_pretrained_stages_fixed_while_fine_tuning(tmp_path, monkeypatch) -> None:
    """``freeze``: the stem and first stages keep their pretrained weights; later stages and the head move."""
    from hrbench_plugins.methods.deep.resnet import STAGES, freeze_stages
    from hrbench_plugins.methods.deep.train import load_checkpoint

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    clips = cheek_clips(8)
    ctx = RunContext(seed=0, cache_dir=tmp_path / "cache")
    kw = {"width": 8, "epochs": 2, "synth_maps": 16, "synth_epochs": 1, "members": 1, "holdout": 0.0}
    m = plugin.StmapTransfer(ctx, freeze=2, **kw).fit(clips)
    pretrained, _ = load_checkpoint(ctx.cache_dir / "checkpoints" / m.run_notes["synthetic_checkpoint"])
    tuned = m._models[0].state_dict()
    for name, value in pretrained.items():
        if not name.endswith((".weight", ".bias")):
            continue  # batch-norm statistics follow the face maps
        stage = name.split(".")[1]
        fixed = any(stage in names for names in STAGES[:2])
        assert torch.equal(value, tuned[name]) == fixed, name
    assert plugin.StmapTransfer().freeze == 0 and plugin.StmapTransfer(profile="paper").freeze == 0
    with pytest.raises(ConfigError):
        plugin.StmapTransfer(freeze=6)
    with pytest.raises(ValueError):
        freeze_stages(m._models[0].backbone, 6)
