"""Cross-database end to end on miniature copies: train on VIPL-HR, test on MMSE-HR; train on one dataset, score
whole real videos."""

import json
import sqlite3

import pytest
from miniature import (
    read_mini_truth,
    use_faces,
    write_mini_folder,
    write_mini_mmse,
    write_mini_vipl,
)

from hrbench.cli import main

PROTOCOL = """
name = "cross_mini"
scope = "cross"
split = "subject"
k = 1
seed = 0
[clips]
length = 120
per_video = 3
fps = 30
"""


@pytest.fixture
def mini(tmp_path):
    """Miniature VIPL-HR and MMSE-HR copies and a 1-fold cross-database protocol file."""
    with use_faces():
        vipl = write_mini_vipl(tmp_path / "VIPL-HR", n_subjects=3, sources=("source1",),
                               extra_task=None, duration_s=5.0)
        mmse = write_mini_mmse(tmp_path / "MMSE-HR", n_subjects=2, tasks_per_subject=1, duration_s=5.0)
    proto = tmp_path / "cross_mini.toml"
    proto.write_text(PROTOCOL)
    return vipl, mmse, proto


def test_train_on_vipl_test_on_mmse(thirdparty_site, mini, tmp_path, capsys):
    vipl, mmse, proto = mini
    store = tmp_path / "s.sqlite"
    rc = main(["run", "--protocol", str(proto), "--train-on", "vipl_hr", "--train-root", str(vipl),
               "--dataset", "mmse_hr", "--data-root", str(mmse), "--method", "chrom,tp_mean",
               "--store", str(store), "--workers", "1"])
    assert rc == 0, capsys.readouterr().err
    con = sqlite3.connect(store)
    rows = con.execute(
        "SELECT r.method, r.train_dataset, v.recording_id, v.hr_pred, v.hr_ref FROM video_predictions v JOIN runs r "
        "USING (run_key)"
    ).fetchall()
    truth = read_mini_truth(mmse)
    vipl_truth = read_mini_truth(vipl)
    train_hr = json.loads(con.execute("SELECT train_hr_json FROM folds").fetchone()[0])
    assert abs(sum(train_hr) / len(train_hr) - sum(t["hr"] for t in vipl_truth.values()) / len(vipl_truth)) < 2.0
    train_mean = sum(train_hr) / len(train_hr)
    assert {r[2] for r in rows} == set(truth)  # every MMSE recording tested, nothing from VIPL
    for method, train_ds, rid, pred, ref in rows:
        assert train_ds == "vipl_hr"
        assert abs(ref - truth[rid]["hr"]) < 2.5  # MMSE pulse-rate track, read back
        if method == "chrom":
            assert abs(pred - truth[rid]["hr"]) < 3.0  # a face found, its pulse recovered
        else:
            assert abs(pred - train_mean) < 1e-6  # the supervised method learned from VIPL's labels only
    assert main(["leaderboard", "--store", str(store), "--out", str(tmp_path / "lb")]) == 0
    assert (tmp_path / "lb" / "mmse_hr-cross_mini-from-vipl_hr.md").exists()


def test_rhythm_attention_da_across_databases(thirdparty_site, mini, tmp_path, capsys):
    """The issue's command, `--train-on vipl_hr --dataset mmse_hr --method rhythm_attention_da`, end to end."""
    vipl, mmse, proto = mini
    store = tmp_path / "s.sqlite"
    rc = main(["run", "--protocol", str(proto), "--train-on", "vipl_hr", "--train-root", str(vipl),
               "--dataset", "mmse_hr", "--data-root", str(mmse), "--method", "rhythm_attention_da",
               "--param", "epochs=1", "--param", "width=8", "--param", "time_pool=3", "--param", "synth_maps=16",
               "--param", "synth_epochs=1", "--store", str(store), "--workers", "1"])
    assert rc == 0, capsys.readouterr().err
    con = sqlite3.connect(store)
    rows = con.execute("SELECT r.train_dataset, v.recording_id, v.hr_pred FROM video_predictions v JOIN runs r USING "
                       "(run_key)").fetchall()
    notes = json.loads(con.execute("SELECT notes_json FROM runs").fetchone()[0])
    assert {r[1] for r in rows} == set(read_mini_truth(mmse))
    assert all(train_ds == "vipl_hr" and 42.0 <= pred <= 240.0 for train_ds, _, pred in rows)
    # 5-s videos hold no 1.5x-long training clip: DA ran on what fits and says so.
    assert notes["map_frames"] == 120


def test_cross_database_whole_trains_on_one_dataset_and_scores_whole_real_videos(thirdparty_site, tmp_path, capsys):
    """The shipped `cross_database_whole`: "train on X, test on my videos" is one command, scored once per whole
    video."""
    import thirdparty_hr

    train_hr = {f"r{i}": hr for i, hr in enumerate([58.0, 66.0, 74.0, 82.0])}
    tiny = thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", train_hr, seconds=12.0)
    with use_faces():
        mine = write_mini_folder(tmp_path / "mine", duration_s=12.0)
    store = tmp_path / "s.sqlite"
    rc = main(["run", "--protocol", "cross_database_whole", "--train-on", "tiny", "--train-root", str(tiny),
               "--dataset", "folder", "--data-root", str(mine), "--method", "pos,tp_mean", "--store",
               str(store), "--workers", "1"])
    assert rc == 0, capsys.readouterr().err
    con = sqlite3.connect(store)
    truth = read_mini_truth(mine)
    runs = con.execute("SELECT method, protocol, train_dataset, protocol_desc FROM runs").fetchall()
    assert {r[0] for r in runs} == {"pos", "tp_mean"}
    assert all(p == "cross_database_whole" and t == "tiny" and "evaluation rule: whole" in d for _, p, t, d in runs)
    # One fold, trained on the tiny dataset's labels only: its training HRs are the tiny references.
    (train_json,) = con.execute("SELECT DISTINCT train_hr_json FROM folds").fetchone()
    assert sorted(json.loads(train_json)) == pytest.approx(sorted(train_hr.values()), abs=2.0)
    train_mean = sum(json.loads(train_json)) / len(json.loads(train_json))
    # Whole-video rule: exactly one scored unit per test video, starting at 0 (no clips, no windows).
    units = con.execute("SELECT r.method, c.recording_id, c.clip_index, c.start_s FROM clip_predictions c JOIN runs r "
                        "USING (run_key)").fetchall()
    assert sorted((m, rid) for m, rid, *_ in units) == sorted((m, rid) for m in ("pos", "tp_mean") for rid in truth)
    assert all(idx == 0 and start == 0.0 for *_, idx, start in units)
    rows = con.execute("SELECT r.method, v.recording_id, v.hr_pred, v.hr_ref FROM video_predictions v JOIN runs r "
                       "USING (run_key)").fetchall()
    for method, rid, pred, ref in rows:
        assert abs(ref - truth[rid]["hr"]) < 2.5
        if method == "pos":
            assert abs(pred - truth[rid]["hr"]) < 3.0  # a pulse read from the whole test video
        else:
            # the mean of the tiny dataset's clip labels: nothing from folder
            assert pred == pytest.approx(train_mean, abs=0.1)
    out = tmp_path / "lb"
    assert main(["leaderboard", "--store", str(store), "--out", str(out)]) == 0
    (board,) = out.glob("folder*-cross_database_whole-from-tiny.md")  # the folder adapter's label may name the folder
    header = board.read_text().split("\n\n| Method")[0]
    assert " · cross_database_whole · trained on tiny\n" in header
    assert ("**Cross-database**: every method was trained on every recording of `tiny` and tested on every recording "
            "of `folder") in header
    assert "one HR per whole test recording" in header
