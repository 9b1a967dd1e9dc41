"""stmap's face-clip augmentation: long training clips, protocol-length maps, labels scaled with time."""

from __future__ import annotations

import numpy as np

from hrbench.plugin.clips import Clips
from hrbench.plugin.method import RunContext
from hrbench_plugins.methods import stmap as plugin
from hrbench_plugins.methods.deep.augment import epoch_maps, histogram_edges
from hrbench_plugins.methods.deep.stmap import (
    MapSpec,
    maps_from_series,
    maps_from_traces,
    pooled_series,
)

FPS = 30.0


def _pulse_series(hr: np.ndarray, frames: int, rows: int = 4) -> np.ndarray:
    """Rows of a clean pulse along skin's colour signature: ``(n, rows, frames, 3)``."""
    t = np.arange(frames) / FPS
    pulse = np.sin(2 * np.pi * hr[:, None] / 60 * t)[:, None, :, None]
    return (100 * (1 + 0.01 * pulse * np.array([0.33, 0.77, 0.53]))).repeat(rows, axis=1).astype(np.float32)


def _peak_bpm(rows: np.ndarray, fps: float) -> float:
    x = rows - rows.mean(axis=-1, keepdims=True)
    power = (np.abs(np.fft.rfft(x, n=8192, axis=-1)) ** 2).mean(axis=0)
    f = np.fft.rfftfreq(8192, 1 / fps) * 60
    band = (f > 40) & (f < 240)
    return float(f[band][np.argmax(power[band])])


def test_resampled_maps_carry_the_scaled_heart_rate() -> None:
    hr = np.array([60.0, 70.0, 80.0, 90.0, 100.0, 110.0])
    series = _pulse_series(hr, 450)
    spec = MapSpec(highpass_hz=0.5, colour="pos")
    edges = histogram_edges((45.0, 150.0), 10.0)
    maps, labels, plan = epoch_maps(series, hr, 300, lambda w: maps_from_series(w, spec, fps=FPS), seed=3, epoch=0,
                                    edges=edges, p_resample=1.0, augment=True)
    assert maps.shape == (6, 3, 4, 300) and plan.resampled.all()
    assert not np.allclose(labels, hr)  # the balancing moved labels away from the crowded middle
    for i in range(6):  # each map's pulse sits at its (scaled) label, within the spectrum's resolution
        assert abs(_peak_bpm(maps[i, 0].astype(np.float64), FPS) - labels[i]) < 1.5


def test_without_augmentation_every_map_is_a_plain_crop_with_its_label() -> None:
    hr = np.array([65.0, 95.0])
    series = _pulse_series(hr, 450)
    spec = MapSpec(highpass_hz=0.5, colour="pos")
    maps, labels, plan = epoch_maps(series, hr, 300, lambda w: maps_from_series(w, spec, fps=FPS), seed=0, epoch=1)
    np.testing.assert_array_equal(labels, hr.astype(np.float32))
    for i, start in enumerate(plan.crop_starts):
        crop = maps_from_series(series[i : i + 1, :, start : start + 300], spec, fps=FPS)
        np.testing.assert_array_equal(maps[i : i + 1], crop)


def test_maps_from_traces_is_its_two_halves() -> None:
    rng = np.random.default_rng(0)
    traces = (100 + rng.normal(0, 1, (3, 200, 60, 3))).astype(np.float32)
    traces[0, 5, 10:20] = np.nan
    spec = MapSpec(pool_h=2, pool_w=4, time_pool=2, highpass_hz=0.5, colour="pos")
    np.testing.assert_array_equal(maps_from_traces(traces, spec, fps=FPS),
                                  maps_from_series(pooled_series(traces, spec), spec, fps=FPS))


def test_transfer_pretrains_on_maps_of_the_protocol_length_not_the_long_training_clips(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    ctx = RunContext(seed=0, cache_dir=tmp_path / "cache", console=RunContext().console, clip_len=64)
    monkeypatch.setattr(ctx, "say", lambda _m: None)
    rng = np.random.default_rng(1)
    n = 10
    subjects = np.array([f"s{i % 5}" for i in range(n)])
    clips = Clips(traces=(100 + rng.normal(0, 1, (n, 200, 96, 3))).astype(np.float32), fps=FPS,
                  recording_ids=subjects.copy(), subjects=subjects, hr=rng.uniform(60, 100, n))
    m = plugin.StmapTransfer(ctx, width=8, epochs=1, synth_maps=16, synth_epochs=1,
                             batch_size=8, da_prob=0.5).fit(clips)
    from hrbench_plugins.methods.deep.train import load_checkpoint

    _state, meta = load_checkpoint(ctx.cache_dir / "checkpoints" / m.run_notes["synthetic_checkpoint"])
    assert meta["key"]["map"]["clip_len"] == 64
    assert m.predict(Clips(traces=clips.traces[:, :, :64], fps=FPS, recording_ids=clips.recording_ids,
                           subjects=clips.subjects)).shape == (n,)


def test_uniform_factors_move_heart_rates_both_ways_alike() -> None:
    from hrbench_plugins.methods.deep.augment import uniform_factors

    f = uniform_factors(20000, (2 / 3, 1.5), np.random.default_rng(0))
    assert f.min() >= 2 / 3 and f.max() <= 1.5
    assert abs(np.mean(np.log(f))) < 0.01  # symmetric in log-frequency: the labels' centre stays put
    assert abs(np.mean(f < 1) - 0.5) < 0.02


def test_uniform_resampling_keeps_the_label_mean_where_balancing_moves_it() -> None:
    hr = np.random.default_rng(1).uniform(60.0, 100.0, 400)  # a crowd in the middle, empty bins mostly above
    series = _pulse_series(hr, 450, rows=1)
    spec = MapSpec(colour="pos")
    kw = {"seed": 0, "epoch": 0, "p_resample": 1.0}
    _, uniform, _ = epoch_maps(series, hr, 300, lambda w: maps_from_series(w, spec, fps=FPS), augment=True, **kw)
    _, balanced, _ = epoch_maps(series, hr, 300, lambda w: maps_from_series(w, spec, fps=FPS),
                                edges=histogram_edges((45.0, 150.0), 10.0), augment=True, **kw)
    assert abs(np.mean(uniform) - np.mean(hr)) < 3.0
    assert np.mean(balanced) - np.mean(hr) > 6.0
