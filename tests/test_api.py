"""hrbench.api: the one import a plugin needs, re-exporting (never copying) the core's objects."""

from __future__ import annotations

import numpy as np
import pytest

import hrbench.api as api

ORIGIN = {
    "plugin.hookspecs": "hookimpl",
    "errors": "HrbenchError RecordingError ConfigError PrerequisiteMissing",
    "plugin.method": "Method Param RunContext",
    "plugin.pulse_method": "PulseMethod window_param",
    "pulse.overlap": "window_frames even_window ola_starts overlap_add windowed_pulse",
    "plugin.clips": "Clips",
    "pulse.hr": "spectral_hr estimate_hr hr_spectrum bandpass HRSettings signal_hr",
    "pulse.signals": "fill_missing_frames without_frames",
    "clips.subsets": "training_clips select_training",
    "data.dataset": "DatasetAdapter Problem LeftOut errors_only",
    "plugin.recorded": "RecordedAdapter recording_checks require_dir problem_of checked_signal coverage_error",
    "data.recording": "Recording FrameSource Signal",
    "pulse.gt_checks": "flatness_problems",
    "data.video": "verify_frames",
    "data.textio": "read_column read_text OPTIONAL_HEADER",
    "data.timing": "repair_times Repaired TimingFault",
    "plugin.landmarks": "Landmarker N_LANDMARKS",
    "plugin.roi": "RoiScheme rgb_to_yuv",
    "plugin.host": "get_scheme",
    "run.progress": "phase quiet_native_stderr",
    "fsutil": "cache_dir stable_hash atomic_write_bytes notice",
    "run.executor": "handle_termination worker_initializer stop_pool deferred_termination as_completed",
    "boards.frames": "read_results ResultFrames",
}


def test_every_public_name_is_the_core_object_itself():
    import importlib

    origin = {name: module for module, names in ORIGIN.items() for name in names.split()}
    assert set(api.__all__) == set(origin)
    for name, module in origin.items():
        assert getattr(api, name) is getattr(importlib.import_module(f"hrbench.{module}"), name), name


def test_api_names_each_of_its_exports_in_its_docstring():
    missing = [n for n in api.__all__ if n not in api.__doc__]
    assert not missing, f"hrbench.api's docstring does not document {missing}"


def test_pulse_method_predicts_the_heart_rate_of_its_pulse():
    fs, t = 30.0, np.arange(300) / 30.0

    class Sine(api.PulseMethod):
        name = "sine"

        def predict_pulse(self, clips):
            out = np.tile(np.sin(2 * np.pi * 1.25 * t), (len(clips), 1))
            out[1] = np.nan  # a clip without a pulse
            return out

    clips = api.Clips(np.zeros((3, 1, 300, 3), np.float32), fs, np.array(["a", "b", "c"]), np.array(["s"] * 3))
    m = Sine()
    hr = m.predict(clips)
    assert m.produces_pulse and np.isnan(hr[1]) and np.allclose(hr[[0, 2]], 75.0, atol=0.5)
    assert m.run_notes == {"nan_clips": 1}


def test_window_param_declares_seconds_and_the_pyvhr_default():
    p = api.window_param("projection")
    assert (p.default, p.type, p.low, p.high) == (6.0, float, 0.5, 600.0) and p.help.startswith("projection window")
    assert api.window_param("x", 1.6, low=0.2, note="n").help == "x window length in seconds (n)"


def test_declared_capabilities_have_defaults_on_the_bases(tmp_path):
    class Plain(api.DatasetAdapter):
        name = "plain"

        def scan(self, root):
            return []

    a = Plain()
    assert a.official_folds(tmp_path) is None and not a.label_from_root and not a.reads_manifest
    assert not api.Method.explains and api.Landmarker.version == "1" and not api.Landmarker.reads_bgr


def test_frame_source_knows_a_videos_length_without_decoding(tmp_path):
    for i in range(4):
        (tmp_path / f"{i:03d}.png").write_bytes(b"x")
    images = api.FrameSource(tmp_path, "images", "*.png")
    assert images.frame_count() == 4 and images.frame_rate() == 0.0
    assert images.duration() == 0.0 and images.duration(2.0) == 2.0
    assert api.FrameSource(tmp_path / "missing.avi").frame_count() == 0


def test_fill_missing_frames_fills_and_counts():
    rgb = np.tile(np.arange(6.0)[None, :, None], (2, 1, 3))
    rgb[0, [0, 3]] = np.nan
    rgb[1] = np.inf
    filled, frac = api.fill_missing_frames(rgb)
    np.testing.assert_allclose(filled[0, :, 0], [1, 1, 2, 3, 4, 5])
    np.testing.assert_allclose(frac, [4 / 6, 0.0])
    assert np.isnan(rgb[0, 0, 0])  # input untouched


def test_fill_missing_frames_options_cover_every_gap_filler():
    rng = np.random.default_rng(3)
    x = rng.normal(100, 20, (2, 4, 50, 3)).astype(np.float32)
    x[0, 1, 5:9, 1] = np.nan  # one channel only
    x[1, 2, :3] = np.nan  # a clip start
    x[1, 3, :, 0] = np.nan  # a channel with no valid frame
    out, frac = api.fill_missing_frames(x, per_channel=True, dtype=np.float32, copy=False, arithmetic="interp")
    assert out.dtype == np.float32 and frac.shape == (2, 4, 3) and frac[1, 3, 0] == 0.0
    t = np.arange(50)
    y = x[0, 1, :, 1]
    ok = np.isfinite(y)
    assert np.array_equal(out[0, 1, :, 1], np.interp(t, t[ok], y[ok]).astype(np.float32))  # numpy.interp, bit for bit
    assert np.array_equal(out[0, 1, :, 0], x[0, 1, :, 0]) and np.all(out[1, 3, :, 0] == 0.0)
    joint, frac = api.fill_missing_frames(x[0, 1])  # one (T, 3) series; the frame is missing in every channel
    assert frac == 46 / 50 and not np.array_equal(joint[5:9, 0], x[0, 1, 5:9, 0])
    clean = x[0, 0]
    assert api.fill_missing_frames(clean, copy=False)[0] is clean and api.fill_missing_frames(clean)[0] is not clean
    valid = np.ones(50, bool)
    valid[10] = False  # a frame without a face: missing although finite
    filled, _ = api.fill_missing_frames(clean, valid=valid)
    assert np.allclose(filled[10], (clean[9].astype(float) + clean[11]) / 2)


def test_read_column_is_strict_and_names_the_line(tmp_path):
    p = tmp_path / "bvp.csv"
    p.write_bytes(b"\xef\xbb\xbfbvp\r\n1.5\r\n2\r\n")
    np.testing.assert_array_equal(api.read_column(p, header="bvp"), [1.5, 2.0])
    np.testing.assert_array_equal(api.read_column(p, header=api.OPTIONAL_HEADER), [1.5, 2.0])
    p.write_text("bvp\n1\nx\n3\n")
    with pytest.raises(api.RecordingError, match="line 3: 'x' is not a number"):
        api.read_column(p, header="bvp", recording_id="r1")
    with pytest.raises(api.RecordingError, match="line 3: value is not a number"):
        api.read_column(p, header="bvp", quote=False)


def test_estimator_aliases_recover_a_sine():
    fs = 30.0
    t = np.arange(300) / fs
    x = np.sin(2 * np.pi * 1.2 * t)
    assert api.estimate_hr is api.spectral_hr
    assert abs(float(api.spectral_hr(x, fs, api.HRSettings())) - 72.0) < 0.5


# -- `hrbench runs` and `hrbench methods` ------------------------------------------------------


def _store_with_runs(path):
    from hrbench.store.store import FoldResult, Store

    store = Store(path)
    row = dict(method="green", profile="default", params_json="{}", protocol="random", protocol_path="p",
               protocol_sha256="x", protocol_desc="d", dataset="tiny", train_dataset="tiny", dataset_fingerprint="f",
               seed=3, train_fraction=1.0, versions_json="{}", n_folds=1, created_at="2026-01-01T00:00:00")
    for key, method in (("aaa111", "green"), ("aab222", "pos"), ("bbb333", "chrom")):
        store.ensure_run(key, {**row, "method": method})
        store.write_fold(key, FoldResult(0, 2, 4, [70.0], 0.1, 0.1, [("r1", 0, 0.0, 71.0, 70.0)],
                                         [("r1", "s1", 71.0, 70.0, {})]))
    store.update_run("bbb333", complete=1)
    store.close()
    return path


def test_runs_list_and_rm_delete_everything_of_a_run_in_one_go(tmp_path, capsys):
    import sqlite3

    from hrbench.cli import main

    db = _store_with_runs(tmp_path / "s.sqlite")
    assert main(["runs", "list", "--store", str(db)]) == 0
    out = capsys.readouterr().out
    assert all(k in out for k in ("aaa111", "aab222", "bbb333", "chrom", "random", "tiny"))
    assert main(["runs", "rm", "aa", "--store", str(db)]) == 2  # ambiguous prefix: nothing deleted
    assert "matches 2 runs" in capsys.readouterr().err
    assert main(["runs", "rm", "aab222", "nope", "--store", str(db)]) == 2  # one unknown key: nothing deleted
    assert main(["runs", "rm", "aab"]) == 2  # never on an implied store
    assert main(["runs", "rm", "aab", "bbb333", "--store", str(db)]) == 0
    assert "deleted 2 run(s)" in capsys.readouterr().out
    con = sqlite3.connect(db)
    try:
        for table in ("runs", "folds", "clip_predictions", "video_predictions"):
            assert [r[0] for r in con.execute(f"SELECT DISTINCT run_key FROM {table}")] == ["aaa111"], table
    finally:
        con.close()


def test_methods_command_describes_one_method(capsys):
    from hrbench.cli import main

    assert main(["methods", "stmap_transfer"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for text in ("SynRhythm", "supervised: yes", "produces_pulse: no", "cheek_grid", "synth_epochs",
                 "one of 8, 16, 32, 64", "profile paper", "Niu"):
        assert text in out, text
    assert main(["methods"]) == 0 and "pos" in capsys.readouterr().out
    assert main(["methods", "nope"]) == 2
