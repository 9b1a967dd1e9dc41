"""End to end through the CLI with a third-party plugin found via entry-point metadata."""

import sqlite3

import pytest

from hrbench.cli import main

HRS = {f"r{i}": hr for i, hr in enumerate([58, 66, 72, 80, 88, 96, 104, 115, 128])}


@pytest.fixture
def tiny(thirdparty_site, tmp_path):
    import thirdparty_hr

    return thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", HRS)


def run(tiny, tmp_path, *extra):
    return main(
        ["run", "--method", "tp_green,tp_mean", "--dataset", "tiny", "--data-root", str(tiny),
         "--protocol", "subject_exclusive", "--store", str(tmp_path / "s.sqlite"), "--workers", "1", *extra]
    )


def counts(db):
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("runs", "folds", "clip_predictions", "video_predictions")}
    finally:
        con.close()


def test_thirdparty_method_runs_through_cli_and_recovers_known_hr(tiny, tmp_path, capsys):
    assert run(tiny, tmp_path) == 0
    con = sqlite3.connect(tmp_path / "s.sqlite")
    rows = con.execute(
        "SELECT v.recording_id, v.hr_pred, v.hr_ref FROM video_predictions v JOIN runs r USING (run_key) WHERE "
        "r.method = 'tp_green'"
    ).fetchall()
    assert len(rows) == len(HRS)
    for rid, pred, ref in rows:
        assert abs(ref - HRS[rid]) < 0.5  # ground truth read back from the BVP file
        assert abs(pred - HRS[rid]) < 1.0  # the plugin's method recovered it from the video
    out = capsys.readouterr().out
    assert "tp_green" in out and "HRrmse" in out


def test_rerun_reuses_everything_and_writes_no_duplicates(tiny, tmp_path, capsys):
    assert run(tiny, tmp_path) == 0
    first = counts(tmp_path / "s.sqlite")
    assert run(tiny, tmp_path) == 0
    assert counts(tmp_path / "s.sqlite") == first
    assert "already in the store" in capsys.readouterr().err


def test_leaderboard_regenerates_byte_identical(tiny, tmp_path):
    assert run(tiny, tmp_path) == 0
    out1, out2 = tmp_path / "lb1", tmp_path / "lb2"
    assert main(["leaderboard", "--store", str(tmp_path / "s.sqlite"), "--out", str(out1)]) == 0
    assert main(["leaderboard", "--store", str(tmp_path / "s.sqlite"), "--out", str(out2)]) == 0
    files = sorted(p.relative_to(out1) for p in out1.rglob("*") if p.is_file())
    assert {str(f) for f in files} >= {"README.md", "tiny-subject_exclusive.md",
                                       "tiny-subject_exclusive/hr_distribution.png",
                                      "tiny-subject_exclusive/bland_altman-tp_green.png"}
    for f in files:  # markdown and figures alike
        assert (out1 / f).read_bytes() == (out2 / f).read_bytes(), f
    text = (out1 / "tiny-subject_exclusive.md").read_text()
    assert "| tp_green |" in text and "baseline: training-set mean HR" in text
    assert "protocols/subject_exclusive.toml" in text
    assert "sign-flip permutation" in text and "limits of agreement" in text


def test_compare_and_breakdown(tiny, tmp_path, capsys):
    assert run(tiny, tmp_path) == 0
    store = str(tmp_path / "s.sqlite")
    assert main(["compare", "tp_green", "tp_mean", "--dataset", "tiny",
                 "--protocol", "subject_exclusive", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "Wilcoxon" in out and "9 paired recordings" in out
    assert main(["leaderboard", "--store", store, "--out", str(tmp_path / "lb"), "--by", "subject"]) == 0
    text = (tmp_path / "lb" / "tiny-subject_exclusive-by-subject.md").read_text()
    assert "| p0 |" in text and "| p4 |" in text
    assert main(["compare", "tp_green", "nope", "--dataset", "tiny",
                 "--protocol", "subject_exclusive", "--store", store]) == 2


def test_plugins_lists_thirdparty_distribution(thirdparty_site, capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "thirdparty-hr" in out and "1.2.3" in out and "tp_green" in out


def test_broken_plugin_is_reported_and_others_still_load(thirdparty_site, capsys):
    dist = thirdparty_site / "broken_hr-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-hr\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hrbench]\nbroken = broken_hr_missing_module\n")
    from hrbench.plugin.host import get_registry

    reg = get_registry(refresh=True)
    info = {p.name: p for p in reg.plugins}
    assert "broken_hr_missing_module" in info["broken"].error
    assert "tp_green" in reg.methods and "chrom" in reg.methods
    assert main(["plugins"]) == 1  # listed, and the exit status says a plugin failed
    assert "failed" in capsys.readouterr().out


def test_env_var_selects_plugins(thirdparty_site, monkeypatch):
    from hrbench.plugin.host import get_registry

    monkeypatch.setenv("HRBENCH_PLUGINS", "thirdparty")
    reg = get_registry(refresh=True)
    assert [p.name for p in reg.plugins] == ["thirdparty"]
    assert set(reg.methods) == {"tp_green", "tp_mean", "tp_first_off", "tp_nan", "tp_hz", "tp_needs_weights"}
    monkeypatch.setenv("HRBENCH_PLUGINS", "thirdparty,nope")
    from hrbench.errors import ConfigError

    with pytest.raises(ConfigError, match="nope"):
        get_registry(refresh=True)
    monkeypatch.delenv("HRBENCH_PLUGINS")


def test_bad_parameter_fails_before_any_work(tiny, tmp_path, capsys):
    rc = main(["run", "--method", "tp_green", "--dataset", "tiny", "--data-root", str(tiny),
               "--param", "channel=7", "--store", str(tmp_path / "s.sqlite")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("hrbench: error:") and "channel" in err[-1]
    assert not (tmp_path / "s.sqlite").exists()


def test_unknown_method_is_one_line(tmp_path, capsys):
    assert main(["run", "--method", "nope", "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown method 'nope'" in err[0]


def test_reduced_training_section_lists_only_methods_run_on_less_data(tiny, tmp_path):
    """SynRhythm Fig. 6: a table and plot of error against training fraction, one row per method that has the curve."""
    assert run(tiny, tmp_path) == 0
    assert main(["run", "--method", "tp_mean", "--dataset", "tiny", "--data-root", str(tiny),
                 "--protocol", "subject_exclusive", "--store", str(tmp_path / "s.sqlite"), "--workers", "1",
                 "--train-fraction", "0.5"]) == 0
    out = tmp_path / "lb"
    assert main(["leaderboard", "--store", str(tmp_path / "s.sqlite"), "--out", str(out)]) == 0
    text = (out / "tiny-subject_exclusive.md").read_text()
    section = text.split("## Reduced training data")[1].split("\n## ")[0]
    assert "| Method | seeds | 1 | 0.5 |" in section and "| tp_mean |" in section
    assert "tp_green" not in section  # run on all the data only: no curve to show
    assert (out / "tiny-subject_exclusive" / "train_fraction.png").stat().st_size > 1000


def test_spread_subset_keeps_every_recording():
    import numpy as np

    from hrbench.clips.subsets import spread_subset

    ids = np.repeat(np.array(["a", "b", "c", "d"]), [40, 20, 20, 4])
    idx = spread_subset(ids, 0.25, seed=3)
    assert len(idx) == 21 and len(set(idx)) == 21 and np.all(np.diff(idx) > 0)
    counts = {k: int((ids[idx] == k).sum()) for k in "abcd"}
    assert min(counts.values()) >= 4 and max(counts.values()) - min(counts.values()) <= 2
    assert np.array_equal(idx, spread_subset(ids, 0.25, seed=3))  # seeded


@pytest.mark.parametrize("aggregate, expected", [("mean", (19 * 60 + 240) / 20), ("median", 60.0)])
def test_protocol_chooses_how_clips_make_a_video_hr(tiny, tmp_path, aggregate, expected):
    proto = tmp_path / f"agg_{aggregate}.toml"
    proto.write_text(f'name = "agg_{aggregate}"\nscope = "within"\nsplit = "subject"\nk = 3\n'
                     f'[clips]\nlength = 120\nper_video = 20\nfps = 30\naggregate = "{aggregate}"\n')
    store = tmp_path / "s.sqlite"
    assert main(["run", "--method", "tp_first_off", "--dataset", "tiny", "--data-root", str(tiny),
                 "--protocol", str(proto), "--store", str(store), "--workers", "1"]) == 0
    con = sqlite3.connect(store)
    try:
        preds = [r[0] for r in con.execute("SELECT hr_pred FROM video_predictions")]
    finally:
        con.close()
    assert len(preds) == len(HRS) and all(abs(p - expected) < 1e-9 for p in preds)
    out = tmp_path / "lb"
    assert main(["leaderboard", "--store", str(store), "--out", str(out)]) == 0
    assert f"per-video HR = {aggregate} of its clip predictions" in (out / f"tiny-agg_{aggregate}.md").read_text()


def test_unknown_aggregate_is_a_one_line_error(tiny, tmp_path, capsys):
    proto = tmp_path / "bad.toml"
    proto.write_text('name = "bad"\nscope = "within"\nsplit = "subject"\nk = 3\n[clips]\naggregate = "mode"\n')
    assert main(["run", "--method", "tp_green", "--dataset", "tiny", "--data-root", str(tiny), "--protocol", str(proto),
                 "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "aggregate" in err and "Traceback" not in err
