"""Bad input: a one-line error naming the file, or a recorded skip when asked."""

import json
import sqlite3

import pytest

from hrbench.cli import main


@pytest.fixture
def tiny(thirdparty_site, tmp_path):
    import thirdparty_hr

    hrs = {f"r{i}": 60 + 7 * i for i in range(6)}
    return thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", hrs, seconds=11)


def run(tiny, tmp_path, *extra):
    return main(["run", "--method", "tp_green", "--dataset", "tiny", "--data-root", str(tiny), "--protocol", "random",
                 "--store", str(tmp_path / "s.sqlite"), "--workers", "1", *extra])


def last_error(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines, "no error printed"
    return lines[-1]


def test_missing_video_names_the_file(tiny, tmp_path, capsys):
    (tiny / "r2.avi").unlink()
    assert run(tiny, tmp_path) == 2
    err = last_error(capsys)
    assert "r2.avi" in err and "not found" in err and "--skip-invalid" in err


def test_corrupt_video_names_the_file(tiny, tmp_path, capsys):
    (tiny / "r3.avi").write_bytes(b"this is not a video")
    assert run(tiny, tmp_path) == 2
    err = last_error(capsys)
    assert "r3.avi" in err and "Traceback" not in err


def test_ground_truth_of_wrong_length_names_the_file(tiny, tmp_path, capsys):
    gt = tiny / "r1.csv"
    gt.write_text("\n".join(gt.read_text().splitlines()[:40]) + "\n")  # ~1.3 s of a 11 s video
    assert run(tiny, tmp_path) == 2
    err = last_error(capsys)
    assert "r1.csv" in err and "ground truth" in err


def test_skip_invalid_records_the_skip(tiny, tmp_path, capsys):
    (tiny / "r3.avi").write_bytes(b"garbage")
    assert run(tiny, tmp_path, "--skip-invalid") == 0
    con = sqlite3.connect(tmp_path / "s.sqlite")
    skipped = json.loads(con.execute("SELECT skipped_json FROM runs").fetchone()[0])
    assert [s[0] for s in skipped] == ["r3"]
    n = con.execute("SELECT COUNT(*) FROM video_predictions").fetchone()[0]
    assert n == 5
    assert "skipped 1 recording" in capsys.readouterr().err


def test_missing_store_for_leaderboard(tmp_path, capsys):
    assert main(["leaderboard", "--store", str(tmp_path / "none.sqlite")]) == 2
    assert "none.sqlite" in last_error(capsys)
