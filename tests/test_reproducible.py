"""Same seed, same thread count, empty caches: byte-identical rows (the main job's promise)."""

from __future__ import annotations

import sqlite3

import pytest

from hrbench.cli import main

HRS = {f"r{i}": hr for i, hr in enumerate([58, 72, 88, 104, 66, 95])}
FAST = ["--param", "width=8", "--param", "epochs=2", "--param", "synth_maps=64", "--param", "synth_epochs=1",
        "--param", "batch_size=16"]


@pytest.fixture
def tiny(thirdparty_site, tmp_path):
    import thirdparty_hr

    return thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", HRS)


def _rows(db):
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT r.method, r.seed, v.recording_id, v.hr_pred, v.hr_ref FROM video_predictions v JOIN runs r USING "
            "(run_key) "
            "ORDER BY r.method, r.seed, v.recording_id").fetchall()
    finally:
        con.close()


def test_main_job_twice_from_empty_caches_gives_identical_rows(tiny, tmp_path):
    rows = []
    for k in range(2):
        args = ["run", "--method", "stmap_transfer", "--dataset", "tiny", "--data-root", str(tiny),
                "--protocol", "subject_exclusive", "--store", str(tmp_path / f"s{k}.sqlite"),
                "--cache", str(tmp_path / f"cache{k}"), "--workers", "1", "--threads", "1", "--seed", "3", *FAST]
        assert main(args) == 0
        rows.append(_rows(tmp_path / f"s{k}.sqlite"))
    assert rows[0] == rows[1] and len(rows[0]) == len(HRS)
