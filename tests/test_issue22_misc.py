"""Issue 22, item 6: a non-finite --param, the leaderboard output folder, a dead worker, Ray's temp dir and SIGTERM,
--name.

Stores for the leaderboard tests are written row by row (no videos, see
``test_leaderboard``); the executor tests run tasks that kill their own
worker process; the Ray test starts a local Ray in a subprocess and
terminates it.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from miniature import write_mini_folder
from test_leaderboard import GOOD, add_run, errs

from hrbench.boards.board_files import default_out_dir, is_generated
from hrbench.cli import main
from hrbench.errors import ConfigError
from hrbench.plugin.method import Param
from hrbench.run.executor import LocalExecutor, WorkerDied
from hrbench.store.store import Store

HAS_RAY = importlib.util.find_spec("ray") is not None


# -- 1. a parameter that is not a number -------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_a_non_finite_parameter_is_refused_before_any_work(value, tmp_path, capsys):
    data = write_mini_folder(tmp_path / "data")
    store = tmp_path / "s.sqlite"
    rc = main(["run", "--method", "pos", "--dataset", "folder", "--data-root", str(data), "--protocol", "whole_video",
               "--param", f"pos.window_s={value}", "--store", str(store), "--workers", "1"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("hrbench: error: ") and "window_s" in err[0] and "must be a finite number" in err[0]
    assert not store.exists()  # refused before the store, the scan or any extraction


def test_param_validation_rejects_nan_and_inf_whatever_the_bounds():
    bounded, open_ended, whole = Param(1.0, "x", low=0.0, high=10.0), Param(1.0, "x"), Param(1, "n", type=int, low=1)
    for p in (bounded, open_ended):
        for v in ("nan", "inf", float("nan"), float("-inf")):
            with pytest.raises(ConfigError, match="must be a finite number"):
                p.validate("x", v)
        assert p.validate("x", "2.5") == 2.5
    for v in ("nan", float("inf")):
        with pytest.raises(ConfigError):
            whole.validate("n", v)
    assert whole.validate("n", 3.0) == 3


# -- 2. the leaderboard output folder ----------------------------------------------------


def _store(path: Path, *protocols: str) -> Path:
    s = Store(path)
    try:
        for proto in protocols:
            add_run(s, f"good-{proto}", "good", GOOD, protocol=proto)
            add_run(s, f"mid-{proto}", "mid", errs(lambda i, rid: 3.0), protocol=proto)
    finally:
        s.close()
    return path


def test_leaderboard_writes_to_the_user_data_dir_by_default(tmp_path, monkeypatch, capsys):
    db = _store(tmp_path / "s.sqlite", "subject_exclusive")
    checkout = tmp_path / "checkout"
    (checkout / "leaderboards").mkdir(parents=True)
    committed = checkout / "leaderboards" / "ds-subject_exclusive.md"
    committed.write_text("committed board\n")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(checkout)
    assert main(["leaderboard", "--store", str(db)]) == 0
    out = tmp_path / "xdg" / "hrbench" / "leaderboards"
    assert default_out_dir() == out
    assert (out / "ds-subject_exclusive.md").is_file() and (out / "README.md").is_file()
    assert str(out / "ds-subject_exclusive.md") in capsys.readouterr().out
    assert committed.read_text() == "committed board\n"  # the checkout is not written
    assert sorted(p.name for p in (checkout / "leaderboards").iterdir()) == ["ds-subject_exclusive.md"]


def test_leaderboard_never_overwrites_a_file_it_did_not_write(tmp_path, capsys):
    db = _store(tmp_path / "s.sqlite", "subject_exclusive")
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("# my project\n")
    assert main(["leaderboard", "--store", str(db), "--out", str(project)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(project / "README.md") in err[0]
    assert "was not written by `hrbench leaderboard`" in err[0]
    assert (project / "README.md").read_text() == "# my project\n"
    assert sorted(p.name for p in project.iterdir()) == ["README.md"]  # refused before writing anything

    # A hand-written file with a board's name, and a folder of the user's with a board's figure-folder name.
    other = tmp_path / "other"
    other.mkdir()
    (other / "ds-subject_exclusive.md").write_text("my notes\n")
    assert main(["leaderboard", "--store", str(db), "--out", str(other)]) == 2
    assert "ds-subject_exclusive.md: exists and was not written" in capsys.readouterr().err
    (other / "ds-subject_exclusive.md").unlink()
    (other / "ds-subject_exclusive").mkdir()
    (other / "ds-subject_exclusive" / "data.csv").write_text("1,2\n")
    assert main(["leaderboard", "--store", str(db), "--out", str(other)]) == 2
    assert "ds-subject_exclusive: folder exists and was not written" in capsys.readouterr().err
    assert (other / "ds-subject_exclusive" / "data.csv").read_text() == "1,2\n"

    # Its own files it regenerates, byte-identically.
    fresh = tmp_path / "fresh"
    assert main(["leaderboard", "--store", str(db), "--out", str(fresh)]) == 0
    before = {p: p.read_bytes() for p in fresh.rglob("*") if p.is_file()}
    assert all(is_generated(p) for p in before if p.suffix == ".md")
    assert main(["leaderboard", "--store", str(db), "--out", str(fresh)]) == 0
    assert {p: p.read_bytes() for p in fresh.rglob("*") if p.is_file()} == before


def test_boards_whose_runs_are_gone_are_removed_with_their_index_entry(tmp_path, capsys):
    db = _store(tmp_path / "s.sqlite", "subject_exclusive", "random")
    out = tmp_path / "lb"
    out.mkdir()
    (out / "notes.md").write_text("# my notes\n")  # not generated: neither indexed nor removed
    assert main(["leaderboard", "--store", str(db), "--out", str(out), "--by", "subject"]) == 0
    assert (out / "ds-random.md").is_file() and (out / "ds-random-by-subject.md").is_file()
    assert list((out / "ds-random").glob("*.png"))
    index = (out / "README.md").read_text()
    assert "[ds-random](ds-random.md)" in index and "notes" not in index
    # A figure of a row no longer on a board does not linger either.
    stale_fig = out / "ds-subject_exclusive" / "bland_altman-gone.png"
    stale_fig.write_bytes(b"\x89PNG")
    capsys.readouterr()

    assert main(["runs", "rm", "good-random", "mid-random", "--store", str(db)]) == 0
    assert main(["leaderboard", "--store", str(db), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"removed {out / 'ds-random.md'} (its runs are no longer in the store)" in captured.err
    assert not (out / "ds-random.md").exists() and not (out / "ds-random-by-subject.md").exists()
    assert not (out / "ds-random").exists()
    assert not stale_fig.exists() and list((out / "ds-subject_exclusive").glob("bland_altman-*.png"))
    assert (out / "ds-subject_exclusive-by-subject.md").is_file()  # its board is still in the store
    index = (out / "README.md").read_text()
    assert "ds-random" not in index and "[ds-subject_exclusive](ds-subject_exclusive.md)" in index
    assert (out / "notes.md").read_text() == "# my notes\n"

    # A filtered write touches only its own boards: nothing is pruned, the index is left alone.
    (out / "ds-old.md").write_text((out / "ds-subject_exclusive.md").read_text())
    assert main(["leaderboard", "--store", str(db), "--out", str(out), "--protocol", "subject_exclusive"]) == 0
    assert (out / "ds-old.md").exists()
    # With every run gone, the boards and their entries go; the command says nothing matched.
    assert main(["runs", "rm", "good-subject_exclusive", "mid-subject_exclusive", "--store", str(db)]) == 0
    assert main(["leaderboard", "--store", str(db), "--out", str(out)]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "notes.md"]
    assert "[ds-" not in (out / "README.md").read_text()


def test_rebuild_script_is_the_only_writer_of_the_committed_boards():
    root = Path(__file__).resolve().parent.parent
    script = (root / "benchmarks" / "run_leaderboards.sh").read_text()
    calls = [line for line in script.splitlines() if line.startswith("$HB leaderboard")]
    assert calls and all("--out leaderboards" in line for line in calls)


# -- 4. a dead worker is not blamed on a healthy task ------------------------------------


def kill_own_worker(i: int, bad: int, once: str) -> int:
    """Task body: item ``bad`` kills its worker every time; with ``once``, item 1 kills it the first time only."""
    time.sleep(0.2)
    if i == bad:
        os.kill(os.getpid(), signal.SIGKILL)
    if once and i == 1 and not Path(once).exists():
        Path(once).write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return 10 * i


def test_a_killed_worker_is_recomputed_not_blamed(tmp_path, capsys):
    once = tmp_path / "killed"
    out = sorted(LocalExecutor(2).imap(kill_own_worker, [(i, -1, str(once)) for i in range(5)]), key=lambda r: r[0])
    assert once.exists()  # a worker did die
    assert out == [(i, 10 * i, None) for i in range(5)]  # every task ran again; none was blamed
    notes = capsys.readouterr().err.strip().splitlines()
    assert len(notes) == 1 and "a worker process was killed by SIGKILL" in notes[0] and "again" in notes[0]


def test_a_task_that_kills_its_worker_is_the_one_named(capsys):
    out = sorted(LocalExecutor(2).imap(kill_own_worker, [(i, 3, "") for i in range(5)]), key=lambda r: r[0])
    assert [(i, res) for i, res, err in out if err is None] == [(0, 0), (1, 10), (2, 20), (4, 40)]
    (i, res, err), = [r for r in out if r[2] is not None]
    assert i == 3 and res is None and isinstance(err, WorkerDied)
    assert "killed by SIGKILL while running this task, also when it ran alone" in str(err)


# -- 3 and 5. Ray: session files under the cache, SIGTERM as the local executor ------------


def test_ray_temp_dir_too_long_for_its_sockets_is_one_line(monkeypatch):
    from hrbench.run.ray_executor import MAX_TEMP_DIR_CHARS, local_temp_dir

    monkeypatch.delenv("RAY_TMPDIR", raising=False)
    monkeypatch.setenv("HRBENCH_CACHE", "/tmp/" + "x" * MAX_TEMP_DIR_CHARS)
    with pytest.raises(ConfigError, match="pass a shorter --cache, or set RAY_TMPDIR"):
        local_temp_dir()
    monkeypatch.setenv("RAY_TMPDIR", "/tmp/elsewhere")
    assert local_temp_dir() is None  # the user's own choice for Ray, which Ray applies


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install 'hrbench[ray]')")
def test_ray_keeps_its_files_in_the_cache_and_sigterm_ends_in_one_line(tmp_path):
    from test_ray import write_folder_dataset

    data = write_folder_dataset(tmp_path / "data", subjects=3, per_subject=1)
    short = Path(tempfile.mkdtemp(prefix="hb", dir="/tmp"))  # Ray's socket paths must stay short
    systmp = tmp_path / "systmp"
    systmp.mkdir()
    env = {**os.environ, "TMPDIR": str(systmp)}
    env.pop("RAY_TMPDIR", None)
    env.pop("RAY_ADDRESS", None)
    err_path = tmp_path / "err.txt"
    proc = None
    try:
        with open(err_path, "w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hrbench", "run", "--method", "pos,svr", "--dataset", "folder", "--data-root",
                 str(data), "--protocol", "subject_exclusive", "--executor", "ray", "--cache", str(short / "cache"),
                 "--store", str(tmp_path / "s.sqlite")],
                stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=tmp_path)
            deadline = time.monotonic() + 240
            while "ROI traces" not in err_path.read_text() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
            assert proc.poll() is None, err_path.read_text()
            assert list((short / "cache" / "ray").glob("session_*")), "Ray's session is not under --cache"
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(120)
        text = err_path.read_text()
        assert rc == 128 + signal.SIGTERM, text
        assert text.strip().splitlines()[-1] == ("hrbench: interrupted; run the same command again to resume (finished "
                                                 "work is kept)")
        assert "SIGTERM received" not in text and "Traceback" not in text and "PC: @" not in text
        assert list(systmp.iterdir()) == []  # nothing in the system temp folder (Ray's default is $TMPDIR/ray)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        subprocess.run(["rm", "-rf", str(short)], check=False)


# -- 6. --name: the folder adapter's label carries the folder's name ----------------------


def test_folder_datasets_are_labelled_by_their_folder(tmp_path, capsys):
    import sqlite3

    from test_ray import write_folder_dataset

    from hrbench.plugin.host import get_registry
    from hrbench.run.prepare import dataset_label, make_adapter

    data = write_folder_dataset(tmp_path / "Clinic A", subjects=3, per_subject=1)
    base = ["run", "--method", "pos", "--dataset", "folder", "--data-root", str(data), "--protocol",
            "whole_video", "--workers", "1"]
    assert main([*base, "--store", str(tmp_path / "a.sqlite")]) == 0
    assert main([*base, "--store", str(tmp_path / "b.sqlite"), "--name", "mine"]) == 0
    for db, label in (("a.sqlite", "folder-Clinic_A"), ("b.sqlite", "mine")):
        con = sqlite3.connect(tmp_path / db)
        assert con.execute("SELECT DISTINCT dataset, dataset_label FROM runs").fetchall() == [("folder", label)]
        con.close()
    synthetic = make_adapter(get_registry(), "synthetic")
    assert dataset_label(synthetic, "synthetic", tmp_path / "x", None) == "synthetic"  # named datasets keep their name
    capsys.readouterr()
    assert main(["run", "--help"]) == 0
    assert "the folder adapter adds the data folder's name" in " ".join(capsys.readouterr().out.split())


class _ReapedElsewhere:
    """A dead worker that another thread (the pool's manager) reaps first: ``join`` returns at once, and the
    exit code shows up only a few reads later, once that thread has recorded it."""

    def __init__(self, code: int, reads_before: int) -> None:
        self.code, self.reads_left = code, reads_before

    def join(self, timeout: float | None = None) -> None:
        return None

    @property
    def exitcode(self) -> int | None:
        if self.reads_left:
            self.reads_left -= 1
            return None
        return self.code


def test_death_cause_waits_for_an_exit_code_another_thread_reaped():
    from hrbench.run.executor import _death_cause

    survivor = _ReapedElsewhere(-signal.SIGTERM, 0)
    assert _death_cause([survivor, _ReapedElsewhere(-signal.SIGKILL, 3)]) == "a worker process was killed by SIGKILL"
    assert _death_cause([_ReapedElsewhere(-signal.SIGTERM, 2)]) == "a worker process died"  # only stopped survivors
