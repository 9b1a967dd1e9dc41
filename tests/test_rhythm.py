"""Spatial-temporal attention ablation (Niu et al., FG 2019): maps, attention, learning, explain, params."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hrbench.errors import ConfigError, HrbenchError
from hrbench.plugin.clips import Clips
from hrbench.plugin.roi import rgb_to_yuv
from hrbench.pulse.hr import HRSettings, spectral_hr
from hrbench_plugins.methods.deep.attention import (
    CBAM,
    AttentionResNet,
    ChannelAttention,
    SpatialAttention,
)
from hrbench_plugins.methods.deep.facemaps import face_maps
from hrbench_plugins.methods.rhythm import (
    RhythmAttention,
    RhythmAttentionDA,
    RhythmDA,
    RhythmResNet,
)

FPS = 30.0
# Tiny, fast settings: an 8-channel ResNet-18 on 25 x 100 maps, no pretraining (the test of pretraining asks
# for it); every clip trains, so the counts below are exact.
TINY = {"width": 8, "time_pool": 3, "batch_size": 16, "holdout": 0.0, "synth_epochs": 0}


@pytest.fixture(autouse=True)
def _one_thread():
    """Two threads on a busy shared 2-core machine are many times slower than one."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def grid_clips(n: int, frames: int, seed: int, hr_range=(60.0, 120.0), labels: bool = True) -> Clips:
    """Face-grid clips (25 blocks) whose blocks pulse in step at a known HR, unequal strengths."""
    rng = np.random.default_rng(seed)
    hr = rng.uniform(*hr_range, n)
    t = np.arange(frames) / FPS
    phase = 2 * np.pi * hr[:, None] / 60.0 * t + rng.uniform(0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.5, 1.0, (n, 25, 1, 1))
    skin = np.array([150.0, 110.0, 90.0])
    x = skin + amp * np.sin(phase)[:, None, :, None] * np.array([0.3, 1.0, 0.5])
    rid = np.array([f"s{i // 8}/v{i // 4}" for i in range(n)])
    return Clips(x.astype(np.float32), FPS, rid, rid, HRSettings(), hr if labels else None, np.zeros(n))


# -- attention modules ------------------------------------------------------
def test_attention_weights_in_unit_interval_with_right_shapes():
    torch.manual_seed(0)
    x = torch.randn(3, 16, 7, 38) * 5
    with torch.no_grad():
        ca = ChannelAttention(16)(x)
        sa = SpatialAttention()(x)
        y, s = CBAM(16)(x)
    assert ca.shape == (3, 16, 1, 1) and sa.shape == (3, 1, 7, 38)
    for w in (ca, sa):
        assert float(w.min()) >= 0.0 and float(w.max()) <= 1.0
        assert float(w.std()) > 0  # not a constant
    assert y.shape == x.shape and s.shape == (3, 1, 7, 38)
    # The output is the input re-weighted: never larger in magnitude.
    assert bool(torch.all(y.abs() <= x.abs() + 1e-6))


def test_model_output_and_attention_maps():
    model = AttentionResNet(8, (42.0, 240.0), in_channels=6, attention=True).eval()
    maps = torch.rand(2, 6, 25, 100) * 255
    with torch.no_grad():
        hr = model(maps)
        hr2, spatial = model(maps, return_attention=True)
    assert hr.shape == (2,) and torch.allclose(hr, hr2)
    assert torch.allclose(hr, torch.full((2,), 141.0))  # zero-initialised head: the band centre
    assert [tuple(s.shape) for s in spatial] == [(2, 1, 7, 25), (2, 1, 4, 13), (2, 1, 2, 7), (2, 1, 1, 4)]
    assert all(float(s.min()) >= 0 and float(s.max()) <= 1 for s in spatial)
    plain = AttentionResNet(8, in_channels=6, attention=False).eval()
    with torch.no_grad():
        assert plain(maps, return_attention=True)[1] == []
    assert not plain.has_attention and model.has_attention


def test_inflated_stem_keeps_the_rgb_response():
    rgb = torch.nn.Conv2d(3, 8, 7, 2, 3, bias=False)
    six = AttentionResNet._inflate(rgb, 6, pretrained=True)
    x = torch.rand(1, 3, 25, 40)
    with torch.no_grad():
        torch.testing.assert_close(six(torch.cat([x, x], 1)), rgb(x))


# -- maps ---------------------------------------------------------------------
def test_face_maps_rgb_yuv_rows_scaled():
    clips = grid_clips(2, 300, 0)
    traces = clips.traces.copy()
    traces[0, 3, 10] = np.nan  # one lost frame in one block
    maps = face_maps(traces, "rgb+yuv", 2)
    assert maps.shape == (2, 6, 25, 150) and maps.dtype == np.float16
    assert np.isfinite(maps).all()
    m = maps.astype(np.float32)
    np.testing.assert_allclose(m.min(axis=-1), 0, atol=0.5)
    np.testing.assert_allclose(m.max(axis=-1), 255, atol=0.5)
    # YUV rows: min-max of the BT.601 conversion of the (pooled) block means.
    yuv = rgb_to_yuv(clips.traces[1]).reshape(25, 150, 2, 3).mean(axis=2)
    ref = (yuv - yuv.min(axis=1, keepdims=True)) / np.ptp(yuv, axis=1, keepdims=True) * 255
    np.testing.assert_allclose(m[1, 3:], np.transpose(ref, (2, 0, 1)), atol=0.6)
    # Every row still pulses at the clip's HR.
    hr = spectral_hr(m[1, 1].astype(np.float64), FPS / 2, HRSettings())
    np.testing.assert_allclose(hr, clips.hr[1], atol=1.0)
    assert face_maps(clips.traces, "yuv").shape == (2, 3, 25, 300)
    with pytest.raises(HrbenchError):
        face_maps(clips.traces[..., :2])


# -- learning -----------------------------------------------------------------
def test_fit_reduces_loss_and_regresses_held_out_hr():
    train, test = grid_clips(160, 300, 0), grid_clips(32, 300, 1)
    method = RhythmAttention(epochs=12, **TINY).fit(train)
    losses = method.train_losses_
    assert losses[-1] < losses[0] / 3
    pred = method.predict(test.without_labels())
    mae = np.abs(pred - test.hr).mean()
    constant = np.abs(train.hr.mean() - test.hr).mean()
    assert mae < 6.0 and mae < constant / 2.5, (mae, constant)  # learned: well below the training mean's error
    assert method.run_notes["init"] in {"random", "imagenet-sliced"}
    assert method.run_notes["map_frames"] == 300


def test_da_fit_uses_long_clips_and_flattens_labels():
    long = grid_clips(24, 450, 2, hr_range=(70.0, 85.0))
    method = RhythmAttentionDA(epochs=1, **TINY).fit(long)
    notes = method.run_notes
    assert notes["map_frames"] == 300 and notes["train_maps"] == 24
    before, after = (np.array(notes["da_hist_epoch0"][k]) for k in ("before", "after"))
    assert after.sum() == before.sum() == 24  # one map per clip: a plain crop or its resampled copy
    assert np.count_nonzero(after) > np.count_nonzero(before) + 3
    pred = method.predict(grid_clips(4, 300, 3, labels=False))
    assert pred.shape == (4,) and np.all((pred >= 42) & (pred <= 240))


ALL = (RhythmResNet, RhythmAttention, RhythmDA, RhythmAttentionDA)
ALL_NAMES = tuple(cls.name for cls in ALL)


def _fit_counting_steps(cls, clips, **params):
    """Fit, counting optimiser steps with a hook of the test's own (not the method's note)."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    steps = []
    hook = register_optimizer_step_post_hook(lambda opt, *_: steps.append(id(opt)))
    try:
        method = cls(**{**TINY, **params}).fit(clips)
    finally:
        hook.remove()
    return method, len(steps)


def test_variants_are_matched_on_steps_epochs_and_clips():
    """Same seed, same clips: every variant takes the same optimiser steps over maps of the same clips."""
    clips = grid_clips(40, 450, 4)
    clips = dataclasses.replace(clips, starts=np.arange(40) % 4 * 5.0)  # 4 clips per recording, 5 s apart
    params = {"epochs": 2, "max_train_maps": 26, "batch_size": 8}  # 26 maps: 4 batches/epoch, the last of 2
    fitted = {cls.name: _fit_counting_steps(cls, clips, **params) for cls in ALL}
    steps = {name: n for name, (_, n) in fitted.items()}
    assert set(steps.values()) == {2 * 4}, steps
    for name, (m, n) in fitted.items():
        assert m.run_notes["train_steps"] == n and m.run_notes["train_maps"] == 26, name
        assert len(m.train_losses_) == 2 and m.run_notes["train_l1_bpm"] == round(m.train_losses_[-1], 3)
    plain = fitted["rhythm_resnet"][0]
    ids = plain.train_clip_ids_
    assert len(ids) == 26 and len(set(ids)) == 26  # a true selection out of 40 clips
    for name, (m, _) in fitted.items():
        assert m.train_clip_ids_ == ids, name  # the same selected clips, in the same order
        assert [len(p) for p in m.epoch_plans_] == [26, 26], name  # each epoch: one map per selected clip
        for p, q in zip(m.epoch_plans_, plain.epoch_plans_, strict=True):
            np.testing.assert_array_equal(p.crop_starts, q.crop_starts)  # and the same plain crops
    assert len(np.unique(plain.epoch_plans_[0].crop_starts)) > 10  # random offsets in the long clips
    assert not np.array_equal(plain.epoch_plans_[0].crop_starts, plain.epoch_plans_[1].crop_starts)
    for name in ("rhythm_da", "rhythm_attention_da"):
        assert 0 < fitted[name][0].run_notes["da_resampled_share"] < 1
    # With no resampling the DA variant is its plain twin, bit for bit: DA is the only difference.
    twin, _ = _fit_counting_steps(RhythmDA, clips, **params, da_prob=0.0)
    assert twin.train_losses_ == plain.train_losses_
    assert fitted["rhythm_da"][0].train_losses_ != plain.train_losses_


def test_da_resamples_about_half_of_the_maps():
    clips = grid_clips(96, 450, 6, hr_range=(60.0, 100.0))
    method = RhythmDA(epochs=3, **TINY).fit(clips)
    plans = method.epoch_plans_
    share = np.mean([p.resampled for p in plans])  # 288 draws: 0.5 +- 0.03 (1 SD)
    assert abs(share - 0.5) < 0.1 and method.run_notes["da_resampled_share"] == round(share, 3)
    assert all(0.3 < p.resampled_share < 0.7 for p in plans)
    for p in plans:  # the resampled maps carry their new labels
        r = p.resampled
        np.testing.assert_allclose(p.labels(clips.hr)[r], clips.hr[r] * p.factors[r])
        assert np.mean(p.factors[r] != 1.0) > 0.9
    assert RhythmDA(epochs=1, da_prob=1.0, **TINY).fit(clips).run_notes["da_resampled_share"] == 1.0


# -- explain -----------------------------------------------------------------
def test_explain_writes_deterministic_pngs(tmp_path):
    import matplotlib.image

    method = RhythmAttention(epochs=1, **TINY).fit(grid_clips(16, 300, 0))
    clips = grid_clips(2, 300, 5)
    paths = method.explain(clips, tmp_path / "a")
    assert len(paths) == 2 and all(p.suffix == ".png" and p.parent == tmp_path / "a" for p in paths)
    img = matplotlib.image.imread(paths[0])
    assert img.ndim == 3 and img.shape[0] > 400 and img.std() > 0.05
    again = method.explain(clips, tmp_path / "b")
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
    assert RhythmAttention.explains and RhythmAttentionDA.explains  # declared: `hrbench explain` reads it
    assert not RhythmResNet.explains and not RhythmDA.explains


# -- contract -----------------------------------------------------------------
def test_plugin_contract():
    for cls in (RhythmResNet, RhythmAttention, RhythmDA, RhythmAttentionDA):
        assert cls.supervised and cls.roi_scheme == "face_grid" and "paper" in cls.profiles
        assert cls.train_clip_factor == 1.5  # every variant trains on the same long clips
        assert cls().get_params()["epochs"] == 10 and cls(profile="paper").get_params()["epochs"] == 50
    from hrbench.plugin.host import get_registry

    reg = get_registry(refresh=True)
    for name in ("rhythm_resnet", "rhythm_attention", "rhythm_da", "rhythm_attention_da"):
        assert reg.method(name).name == name
    assert RhythmAttentionDA(profile="paper").get_params()["width"] == 64


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (RhythmResNet, {"width": 12}),
        (RhythmResNet, {"colour": "hsv"}),
        (RhythmResNet, {"epochs": 0}),
        (RhythmResNet, {"reduction": 8}),  # no attention, no such parameter
        (RhythmAttention, {"da_low_bpm": 50}),  # no DA, no such parameter
        (RhythmDA, {"da_low_bpm": 120, "da_high_bpm": 60}),
        (RhythmDA, {"da_factor_max": 2.0}),
        (RhythmDA, {"da_factor_min": 1.2}),
        (RhythmDA, {"da_prob": 1.5}),
        (RhythmResNet, {"da_prob": 0.5}),  # no DA, no such parameter
        (RhythmDA, {"da_bin_bpm": 80, "da_low_bpm": 60, "da_high_bpm": 100}),
        (RhythmAttentionDA, {"reduction": 5}),
    ],
)
def test_bad_parameters_raise_config_error(cls, params):
    with pytest.raises(ConfigError):
        cls(**params)


def test_predict_before_fit_and_unlabelled_fit():
    with pytest.raises(HrbenchError, match="before fit"):
        RhythmResNet().predict(grid_clips(2, 300, 0, labels=False))
    with pytest.raises(ConfigError, match="labelled"):
        RhythmResNet().fit(grid_clips(2, 300, 0, labels=False))


# -- through the runner and the ablation study --------------------------------
def _ablation_script():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "rhythm_ablation.py"
    spec = importlib.util.spec_from_file_location("rhythm_ablation", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["rhythm_ablation"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_ablation_script_refuses_a_store_without_rhythm_runs(tmp_path, capsys):
    from hrbench.store.store import Store

    ablation = _ablation_script()
    Store(tmp_path / "empty.sqlite").close()
    for name, why in (("empty.sqlite", "no rhythm_* runs"), ("missing.sqlite", "not found")):
        with pytest.raises(SystemExit) as exc:
            ablation.main(["--store", str(tmp_path / name), "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.count("\n") == 1 and err.startswith("rhythm_ablation: error:"), err
        assert why in err, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "missing.sqlite").exists()


def test_ablation_runs_matched_variants_with_seeds_and_explains(thirdparty_site, tmp_path, capsys):
    """End to end on 16-s full-frame videos: four variants x 2 seeds on 450-frame clips, the study, explain."""
    import json
    import sqlite3

    import thirdparty_hr

    from hrbench.cli import main

    hrs = {f"r{i}": hr for i, hr in enumerate([58, 66, 72, 80, 88, 96])}
    root = thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", hrs, seconds=16.0)
    common = ["--dataset", "tiny", "--data-root", str(root), "--protocol", "subject_exclusive", "--workers", "1"]
    params = ["--param", "epochs=1", "--param", "width=8", "--param", "time_pool=3", "--param", "max_train_maps=24",
              "--param", "batch_size=8", "--param", "synth_epochs=1", "--param", "synth_maps=16"]
    store, out = tmp_path / "s.sqlite", tmp_path / "study"
    _ablation_script().main(["--run", "--seeds", "2", "--store", str(store), "--out", str(out), *common, *params])
    con = sqlite3.connect(store)
    try:
        runs = con.execute("SELECT method, seed, run_key FROM runs ORDER BY method, seed").fetchall()
        n_pred = con.execute("SELECT COUNT(*) FROM clip_predictions").fetchone()[0]
        folds = {key: [json.loads(n) for (n,) in con.execute("SELECT notes_json FROM folds WHERE run_key = ? ORDER BY "
                                                             "fold", (key,))]
                 for _, _, key in runs}
    finally:
        con.close()
    assert sorted({(m, s) for m, s, _ in runs}) == [(m, s) for m in sorted(ALL_NAMES) for s in (0, 1)]
    assert n_pred == 8 * 6 * 20
    for key, notes in folds.items():
        assert [n["map_frames"] for n in notes] == [300] * 3 and [n["train_maps"] for n in notes] == [24] * 3
        assert [n["train_steps"] for n in notes] == [3] * 3, key  # 24 maps in batches of 8, one epoch
        assert all(np.isfinite(n["train_l1_bpm"]) for n in notes)
    md = (out / "tiny-subject_exclusive-rhythm-ablation.md").read_text()
    assert "each row pools 2 seed(s)" in md and "Training budgets: **matched**" in md
    assert "final training L1 (bpm)" in md and "sign-flip permutation" in md.lower()
    lines = md.splitlines()
    per_seed = [ln for ln in lines if ln.startswith("| `rhythm_") and ln.count("|") == 6]  # variant, seed, 3 folds
    assert len(per_seed) == 8
    effects = [ln for ln in lines if ln.lstrip().startswith("- ")]
    assert len(effects) == 6 and all("p_holm = " in ln for ln in effects)
    assert effects[0].startswith("- attention: ") and effects[1].startswith("- DA: ")
    assert (out / "tiny-subject_exclusive-rhythm-ablation-da-histogram.png").stat().st_size > 1000
    explain = tmp_path / "explain"
    assert main(["explain", "--method", "rhythm_attention", "--n-clips", "2", "--out",
                 str(explain), *common, *params]) == 0
    assert len(list(explain.glob("rhythm_attention_*.png"))) == 2


def test_da_factors_balance_moves_labels_up_uniform_keeps_their_centre():
    """``da_factors``: the poster's balancing draw (both profiles, since study 12) fills the empty high bins; the
    log-uniform draw moves every HR up or down alike."""
    clips = grid_clips(96, 450, 7, hr_range=(60.0, 72.0))
    assert RhythmDA(profile="paper").da_factors == "balance" and RhythmDA().da_factors == "balance"
    assert RhythmAttentionDA(profile="paper").da_factors == "balance"
    draws = {}
    for how in ("balance", "uniform"):
        plans = RhythmDA(epochs=2, da_factors=how, **TINY).fit(clips).epoch_plans_
        draws[how] = np.concatenate([p.factors[p.resampled] for p in plans])
    assert np.mean(draws["balance"]) > 1.15  # towards the empty bins above 72 bpm
    assert abs(np.median(np.log(draws["uniform"]))) < 0.1 and draws["uniform"].min() < 0.8


def test_face_grid_rhythm_maps_are_the_face_grid_maps_of_the_rhythms():
    """Synthetic pretraining maps go through the face-grid map code: for POS they equal stage III's maps."""
    from hrbench_plugins.methods.deep.synrhythm import face_grid_rhythm_maps, face_like, rhythm_maps

    settings = face_like((42.0, 180.0), "pos")
    kw = {"time_pool": 2, "highpass_hz": 0.5, "colour": "pos"}
    grid, hr = face_grid_rhythm_maps(6, 25, 120, FPS, np.random.default_rng(3), settings, **kw)
    cheek, hr2 = rhythm_maps(6, 25, 120, FPS, np.random.default_rng(3), settings, **kw)
    np.testing.assert_array_equal(hr, hr2)
    np.testing.assert_allclose(grid.astype(np.float32), cheek.astype(np.float32), atol=0.5)
    six, _ = face_grid_rhythm_maps(4, 25, 120, FPS, np.random.default_rng(3), face_like((42.0, 180.0), "rgb+yuv"),
                                   time_pool=2, colour="rgb+yuv")
    assert six.shape == (4, 6, 25, 60) and six.dtype == np.float16
    assert np.allclose(six.max(axis=-1), 255.0) and np.allclose(six.min(axis=-1), 0.0)  # every row min-max scaled


def test_rhythm_pretraining_is_cached_per_topology_and_adds_no_fine_tuning_steps(tmp_path, monkeypatch):
    """Plain and DA twins start from one checkpoint, attention nets from their own; the ablation stays matched."""
    from hrbench.plugin.method import RunContext
    from hrbench_plugins.methods.deep.pretrain import MapGeometry, PretrainConfig, checkpoint_key
    from hrbench_plugins.methods.deep.resnet import HRRegressor

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    ctx = RunContext(seed=0, cache_dir=tmp_path / "cache")
    clips = grid_clips(16, 450, 5)
    pre = {"epochs": 1, "synth_epochs": 1, "synth_maps": 16}  # overrides TINY's synth_epochs 0
    from torch.optim.optimizer import register_optimizer_step_post_hook

    seen: list[int] = []
    hook = register_optimizer_step_post_hook(lambda opt, *_: seen.append(id(opt)))
    try:
        plain = RhythmResNet(ctx, **{**TINY, **pre}).fit(clips)
    finally:
        hook.remove()
    twin = RhythmDA(ctx, **{**TINY, **pre}).fit(clips)
    attn = RhythmAttention(ctx, **{**TINY, **pre}).fit(clips)
    bare = RhythmResNet(ctx, **{**TINY, "epochs": 1}).fit(clips)
    notes = plain.run_notes
    assert notes["synthetic_pretrain"] == "trained" and np.isfinite(notes["zero_shot_mae_bpm"])
    assert twin.run_notes["synthetic_pretrain"] == "cached"
    assert twin.run_notes["synthetic_checkpoint"] == notes["synthetic_checkpoint"]
    assert attn.run_notes["synthetic_pretrain"] == "trained"
    assert attn.run_notes["synthetic_checkpoint"] != notes["synthetic_checkpoint"]
    assert "synthetic_pretrain" not in bare.run_notes and "zero_shot_mae_bpm" not in bare.run_notes
    assert notes["train_steps"] == bare.run_notes["train_steps"]  # pretraining steps are not fine-tuning steps
    assert len(seen) > notes["train_steps"]  # ... though they are real optimiser steps
    assert not np.array_equal(plain.predict(clips), bare.predict(clips))
    assert RhythmResNet().synth_epochs == 12 and RhythmResNet().head == "bins"
    paper = RhythmAttentionDA(profile="paper")
    assert paper.synth_epochs == 0 and paper.head == "regression"
    # SynRhythm's checkpoints keep the keys they had before face-grid pretraining existed.
    key = checkpoint_key(HRRegressor(8), "random", MapGeometry(10, 300, 30.0, 2), PretrainConfig(10, 1), 0)
    assert key["model"]["arch"] == "resnet18" and "maker" not in key["map"]
    with pytest.raises(ValueError):
        MapGeometry(10, 300, 30.0, 2, maker="faces")
