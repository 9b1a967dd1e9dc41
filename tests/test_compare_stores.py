"""benchmarks/compare_stores.py: identical stores pass, any changed stored number fails, execution details do not."""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from mini_store import write_mini_store

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load():
    spec = importlib.util.spec_from_file_location("compare_stores", BENCH / "compare_stores.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["compare_stores"] = mod
    spec.loader.exec_module(mod)
    return mod


compare_stores = _load()


@pytest.fixture
def pair(tmp_path):
    a = write_mini_store(tmp_path / "a.sqlite")
    b = tmp_path / "b.sqlite"
    shutil.copy(a, b)
    return a, b


def _edit(path: Path, sql: str) -> None:
    con = sqlite3.connect(path)
    with con:
        con.execute(sql)
    con.close()


def test_identical_stores_pass(pair, capsys):
    assert compare_stores.main([str(p) for p in pair]) == 0
    assert "identical:" in capsys.readouterr().out


@pytest.mark.parametrize("sql, where", [
    ("UPDATE clip_predictions SET hr_pred = hr_pred + 1e-9 WHERE run_key = 'se-zeta-0' AND recording_id = 's03v1'"
     " AND clip_index = 1", "clip_predictions[se-zeta-0, s03v1, 1].hr_pred"),
    ("UPDATE video_predictions SET hr_pred = 80 WHERE run_key = 'win-alpha-0' AND recording_id = 's00v0'",
     "video_predictions[win-alpha-0, s00v0].hr_pred"),
    ("UPDATE clip_predictions SET hr_pred = NULL WHERE run_key = 'win-zeta-0' AND recording_id = 's00v0'"
     " AND clip_index = 0", "clip_predictions[win-zeta-0, s00v0, 0].hr_pred"),
    ("DELETE FROM video_predictions WHERE run_key = 'se-mid-0' AND recording_id = 's01v0'",
     "video_predictions[se-mid-0, s01v0]: only in A"),
    ("UPDATE runs SET params_json = '{\"window_s\": 6.5}' WHERE run_key = 'se-mid-0'", "runs[se-mid-0].params_json"),
    ("UPDATE runs SET run_key = 'se-mid-X' WHERE run_key = 'se-mid-0'", "runs[se-mid-X]: only in B"),
    ("UPDATE folds SET notes_json = '{\"fold_note\": 2}' WHERE run_key = 'se-zeta-0' AND fold = 1",
     "folds[se-zeta-0, 1].notes_json"),
    ("UPDATE folds SET n_train_clips = 41 WHERE run_key = 'se-zeta-0' AND fold = 1",
     "folds[se-zeta-0, 1].n_train_clips: A=40 B=41"),
    ("UPDATE runs SET versions_json = '{}' WHERE run_key = 'se-zeta-0'", "runs[se-zeta-0].versions_json"),
    ("CREATE TABLE extra (x INTEGER)", "table extra: only in B"),
])
def test_a_changed_row_is_found_and_named(pair, capsys, sql, where):
    _edit(pair[1], sql)
    assert compare_stores.main([str(p) for p in pair]) == 1
    out = capsys.readouterr()
    assert where in out.out and "difference(s)" in out.err


@pytest.mark.parametrize("sql", [
    "UPDATE runs SET created_at = '2030-01-01T00:00:00+00:00', command = 'hrbench run --store b.sqlite'",
    "UPDATE runs SET protocol_path = '/elsewhere/protocols/subject_exclusive.toml'",
    "UPDATE folds SET fit_seconds = fit_seconds * 3, predict_seconds = 0.001",
    "UPDATE runs SET notes_json = '{\"init\": \"random\", \"train_maps\": [8, 8], \"synthetic_pretrain\": \"cached\"}'"
    " WHERE run_key = 'se-alpha-0'",
])
def test_what_differs_between_two_executions_is_ignored(pair, sql):
    _edit(pair[1], sql)
    assert compare_stores.main([str(p) for p in pair]) == 0


def test_two_executions_of_a_run_compare_identical(thirdparty_site, tmp_path, capsys):
    import thirdparty_hr

    from hrbench.cli import main

    tiny = thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", {f"r{i}": 60 + 7 * i for i in range(6)})
    stores = [tmp_path / "one.sqlite", tmp_path / "two.sqlite"]
    for s in stores:
        assert main(["run", "--dataset", "tiny", "--data-root", str(tiny), "--store", str(s), "--workers", "1",
                     "--method", "tp_green,tp_mean", "--protocol", "subject_exclusive"]) == 0
    capsys.readouterr()
    assert compare_stores.main([str(s) for s in stores]) == 0
    _edit(stores[1], "UPDATE video_predictions SET hr_pred = hr_pred * 1.0000001 WHERE rowid = 1")
    assert compare_stores.main([str(s) for s in stores]) == 1


def test_a_file_that_is_not_a_store_is_one_line(tmp_path, pair):
    bad = tmp_path / "x.sqlite"
    bad.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(SystemExit, match="not an hrbench results store"):
        compare_stores.main([str(pair[0]), str(bad)])
    with pytest.raises(SystemExit, match="no such file"):
        compare_stores.main([str(pair[0]), str(tmp_path / "missing.sqlite")])
