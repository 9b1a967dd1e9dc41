"""The runner's rules: scoped --param, seeds, output guards, not-run stages, cross-database overlap."""

from __future__ import annotations

import sqlite3

import pytest

from hrbench.cli import main
from hrbench.errors import ConfigError
from hrbench.run.folds import aggregate_notes
from hrbench.run.runner import scoped_params

HRS = {f"r{i}": hr for i, hr in enumerate([58, 72, 88, 104, 66, 95])}


@pytest.fixture
def tiny(thirdparty_site, tmp_path):
    import thirdparty_hr

    return thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", HRS)


def _run(tiny, tmp_path, *args, store="s.sqlite"):
    return main(["run", "--dataset", "tiny", "--data-root", str(tiny), "--store", str(tmp_path / store),
                 "--workers", "1", *args])


def test_params_must_land_on_exactly_one_method(thirdparty_site):
    from hrbench.plugin.host import get_registry

    reg = get_registry()
    both = {"pos": reg.method("pos"), "chrom": reg.method("chrom")}
    assert scoped_params({"pos.window_s": "3"}, both) == {"pos": {"window_s": "3"}, "chrom": {}}
    with pytest.raises(ConfigError, match="ambiguous: pos, chrom all have it; write e.g. pos.window_s=3"):
        scoped_params({"window_s": "3"}, both)
    with pytest.raises(ConfigError, match="no selected method has this parameter"):
        scoped_params({"window_sz": "3"}, both)
    with pytest.raises(ConfigError, match="'green' is not a selected method"):
        scoped_params({"green.window_s": "3"}, both)
    assert scoped_params({"window_s": "3"}, {"pos": both["pos"]}) == {"pos": {"window_s": "3"}}


def test_param_typo_fails_before_any_work(tiny, tmp_path, capsys):
    assert _run(tiny, tmp_path, "--method", "tp_green,tp_mean", "--param", "chanel=0") == 2
    err = capsys.readouterr().err
    assert "--param chanel" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert (not (tmp_path / "s.sqlite").exists()
            or sqlite3.connect(tmp_path / "s.sqlite").execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0)


@pytest.mark.parametrize("method, words", [("tp_nan", "no finite prediction"), ("tp_hz", "Hz instead of bpm")])
def test_a_method_without_usable_predictions_fails_in_one_line_and_leaves_the_store_usable(tiny, tmp_path, capsys,
                                                                                           method, words):
    assert _run(tiny, tmp_path, "--method", "tp_green", "--protocol", "subject_exclusive") == 0
    capsys.readouterr()
    assert _run(tiny, tmp_path, "--method", method) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert words in err[-1] and method in err[-1]
    con = sqlite3.connect(tmp_path / "s.sqlite")
    assert con.execute("SELECT COUNT(*) FROM video_predictions v JOIN runs r USING (run_key) WHERE r.method = ?",
                       (method,)).fetchone()[0] == 0
    out = tmp_path / "boards"
    assert main(["leaderboard", "--store", str(tmp_path / "s.sqlite"), "--out", str(out)]) == 0


def test_seeds_make_one_run_per_seed_for_supervised_methods_only(tiny, tmp_path):
    assert _run(tiny, tmp_path, "--method", "tp_green,tp_mean", "--seeds", "3", "--seed", "5") == 0
    con = sqlite3.connect(tmp_path / "s.sqlite")
    seeds = dict(con.execute("SELECT method, GROUP_CONCAT(seed) FROM (SELECT method, seed FROM runs ORDER BY seed) "
                             "GROUP BY method").fetchall())
    assert seeds == {"tp_green": "5", "tp_mean": "5,6,7"}


def test_a_stage_without_its_prerequisite_is_recorded_as_not_run(tiny, tmp_path, capsys):
    assert _run(tiny, tmp_path, "--method", "tp_needs_weights,tp_green") == 0
    con = sqlite3.connect(tmp_path / "s.sqlite")
    notes, complete = con.execute("SELECT notes_json, complete FROM runs WHERE method = 'tp_needs_weights'").fetchone()
    assert "not_run" in notes and "weights.pth" in notes and complete == 1
    assert con.execute("SELECT COUNT(*) FROM folds f JOIN runs r USING (run_key) "
                       "WHERE r.method = 'tp_needs_weights'").fetchone()[0] == 0
    assert "not run" in capsys.readouterr().err


def test_cross_database_refuses_overlapping_subjects_and_videos(tiny, tmp_path, capsys):
    args = ["--method", "tp_green", "--protocol", "cross_database", "--train-on", "tiny", "--train-root", str(tiny)]
    assert _run(tiny, tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert "share" in err and "subject" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, words",
    [
        (["--seed", "-5", "--method", "tp_mean"], "--seed must be an integer in 0..2147483647"),
        (["--seed", "1e20"], "--seed takes a whole number"),
        (["--seeds", "0"], "--seeds must be in 1..100"),
        (["--device", "cuda:7", "--method", "tp_mean"], "--device cuda:7"),
        (["--name", "../x"], "--name '../x'"),
    ],
)
def test_bad_options_end_in_one_line(tiny, tmp_path, capsys, args, words):
    assert _run(tiny, tmp_path, *args) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["dir", "garbage", "readonly"])
def test_unusable_store_fails_before_extraction(tiny, tmp_path, capsys, kind):
    import os

    store = tmp_path / "bad"
    if kind == "dir":
        store.mkdir()
    elif kind == "garbage":
        store.write_bytes(os.urandom(4096))
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        store = ro / "s.sqlite"
        ro.chmod(0o500)
    try:
        rc = main(["run", "--dataset", "tiny", "--data-root", str(tiny), "--store", str(store), "--method",
                   "tp_green", "--workers", "1"])
    finally:
        if kind == "readonly":
            store.parent.chmod(0o700)
    err = capsys.readouterr().err
    if kind == "readonly" and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    assert rc == 2 and str(store) in err and "ROI traces" not in err


def test_notes_are_aggregated_over_folds():
    notes = aggregate_notes([{"nan_clips": 2, "init": "random", "train_l1_bpm": 4.5,
                              "synthetic_pretrain": "trained", "map_frames": 300},
                             {"nan_clips": 3, "init": "random", "train_l1_bpm": 5.0,
                              "synthetic_pretrain": "cached", "map_frames": 300}])
    assert notes == {"nan_clips": 5, "init": "random", "train_l1_bpm": [4.5, 5.0],
                     "synthetic_pretrain": ["trained", "cached"], "map_frames": 300}


def test_unwritable_leaderboard_output_is_one_line(tiny, tmp_path, capsys):
    assert _run(tiny, tmp_path, "--method", "tp_green") == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    capsys.readouterr()
    assert main(["leaderboard", "--store", str(tmp_path / "s.sqlite"), "--out", str(blocker / "boards")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write leaderboards here" in err[0]


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_workers_must_be_positive(tiny, tmp_path, capsys, workers):
    rc = main(["run", "--dataset", "tiny", "--data-root", str(tiny), "--store", str(tmp_path / "s.sqlite"), "--method",
               "tp_green", "--workers", workers])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--workers" in err[0]
