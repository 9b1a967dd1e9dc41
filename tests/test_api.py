"""hrbench.api: the one import a plugin needs, re-exporting (never copying) the core's objects."""

from __future__ import annotations

import numpy as np
import pytest

import hrbench.api as api


def test_every_public_name_is_the_core_object_itself():
    from hrbench import (
        clips,
        dataset,
        errors,
        frames,
        hookspecs,
        hr,
        landmarks,
        method,
        plugins,
        recording,
        roi,
        signals,
        textio,
    )

    origin = {
        "hookimpl": hookspecs, "Method": method, "Param": method, "RunContext": method, "Clips": clips,
        "DatasetAdapter": dataset, "Problem": dataset, "Recording": recording, "FrameSource": recording,
        "Signal": recording, "Landmarker": landmarks, "N_LANDMARKS": landmarks, "RoiScheme": roi, "get_scheme": plugins,
        "spectral_hr": hr, "estimate_hr": hr, "hr_spectrum": hr, "bandpass": hr, "HRSettings": hr,
        "HrbenchError": errors, "RecordingError": errors, "ConfigError": errors, "PrerequisiteMissing": errors,
        "fill_missing_frames": signals, "read_column": textio, "read_text": textio, "OPTIONAL_HEADER": textio,
        "read_results": frames, "ResultFrames": frames,
    }
    assert set(api.__all__) == set(origin)
    for name, module in origin.items():
        assert getattr(api, name) is getattr(module, name), name


def test_moved_helpers_stay_importable_from_their_old_homes():
    from hrbench_plugins.datasets import _common
    from hrbench_plugins.methods import _classic

    assert _classic.fill_missing_frames is api.fill_missing_frames
    assert _common.read_column is api.read_column and _common.OPTIONAL_HEADER is api.OPTIONAL_HEADER


def test_fill_missing_frames_fills_and_counts():
    rgb = np.tile(np.arange(6.0)[None, :, None], (2, 1, 3))
    rgb[0, [0, 3]] = np.nan
    rgb[1] = np.inf
    filled, frac = api.fill_missing_frames(rgb)
    np.testing.assert_allclose(filled[0, :, 0], [1, 1, 2, 3, 4, 5])
    np.testing.assert_allclose(frac, [4 / 6, 0.0])
    assert np.isnan(rgb[0, 0, 0])  # input untouched


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
    from hrbench.store import FoldResult, Store

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
