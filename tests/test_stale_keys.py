"""Keys that cover every input: a changed input is recomputed (with a note), an unchanged one reused.

Each silently-stale case of issue #22 on a miniature copy: a run on the
wrong data, the data corrected, a rerun on the same cache and store -- which
must say what changed and give exactly the answer of a fresh cache and
store -- then a rerun with nothing changed, which must compute nothing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from miniature import read_mini_truth, use_faces, write_avi, write_mini_mmse, write_mini_vipl

from hrbench import fsutil
from hrbench.cli import main
from hrbench.store.store import Store
from hrbench.traces import traces

PROTOCOL = """
name = "stale_mini"
scope = "within"
split = "subject"
k = 2
seed = 0
[clips]
length = 90
per_video = 2
fps = 30
"""


@pytest.fixture
def proto(tmp_path: Path) -> Path:
    p = tmp_path / "stale_mini.toml"
    p.write_text(PROTOCOL)
    return p


@pytest.fixture
def extracted(monkeypatch) -> list[str]:
    """Ids of the recordings whose traces are extracted (decoded and measured) from now on."""
    calls: list[str] = []
    real = traces.extract
    monkeypatch.setattr(traces, "extract", lambda rec, *a, **k: calls.append(rec.id) or real(rec, *a, **k))
    return calls


def run(dataset: str, root: Path, proto: Path, home: Path, capsys, *, rc: int = 0) -> str:
    """One `hrbench run` with its own cache and store under ``home``; its stderr."""
    code = main(["run", "--method", "pos", "--dataset", dataset, "--data-root", str(root), "--protocol", str(proto),
                 "--store", str(home / "s.sqlite"), "--cache", str(home / "cache"), "--workers", "1"])
    err = capsys.readouterr().err
    assert code == rc, err
    return err


def newest_rows(home: Path) -> dict[str, tuple[float, float]]:
    """recording id -> (prediction, reference) of the run stored last."""
    con = sqlite3.connect(home / "s.sqlite")
    try:
        key = con.execute("SELECT run_key FROM runs ORDER BY rowid DESC LIMIT 1").fetchone()[0]
        rows = con.execute("SELECT recording_id, hr_pred, hr_ref FROM video_predictions WHERE run_key = ?", (key,))
        return {rid: (pred, ref) for rid, pred, ref in rows}
    finally:
        con.close()


def assert_reused(dataset: str, root: Path, proto: Path, home: Path, capsys, extracted: list[str]) -> None:
    """An unchanged rerun: every fold from the store, no extraction, no re-timing, no note of a change."""
    extracted.clear()
    err = run(dataset, root, proto, home, capsys)
    assert "2/2 folds already in the store, reusing them" in err
    assert "frame times changed" not in err and "afresh" not in err
    assert extracted == []


def fresh(dataset: str, root: Path, proto: Path, tmp_path: Path, capsys) -> dict[str, tuple[float, float]]:
    """The answer of an empty cache and store on the data as it is now."""
    home = tmp_path / "fresh"
    run(dataset, root, proto, home, capsys)
    return newest_rows(home)


def test_folder_manifest_fps_corrected(tmp_path, proto, capsys, extracted):
    """Videos really at 25 fps, listed at 20: after the correction the pulse is read at the right rate."""
    root = tmp_path / "data"
    hrs = {"anna": 72.0, "ben": 90.0}
    for subject, hr in hrs.items():
        write_avi(root / f"{subject}.avi", 200, 25.0, hr)
    manifest = root / "manifest.csv"

    def write_manifest(fps: float) -> None:
        manifest.write_text("path,subject,hr,fps,roi\n"
                            + "".join(f"{s}.avi,{s},{hr:g},{fps:g},full-frame\n" for s, hr in hrs.items()))

    home = tmp_path / "home"
    write_manifest(20)
    run("folder", root, proto, home, capsys)
    stale = newest_rows(home)
    assert all(abs(stale[s][0] - hr) > 8 for s, hr in hrs.items())  # the pulse read too slow

    write_manifest(25)
    extracted.clear()
    err = run("folder", root, proto, home, capsys)
    assert extracted == []  # re-timed, not decoded again
    for s in hrs:
        assert f"frame times changed (fps 20 -> 25): re-timing the cached traces of folder/{s}" in err
    note = next(line for line in err.splitlines() if line.startswith("pos (seed 0): "))
    # The constant-HR ground truth spans the video, whose duration changed with the fps.
    assert note.endswith("frame times and ground truth of folder/anna (and 1 more) changed since its stored run: "
                         "computing its 2 folds afresh")
    fixed = newest_rows(home)
    assert all(abs(fixed[s][0] - hr) < 3 for s, hr in hrs.items())
    assert fixed == fresh("folder", root, proto, tmp_path, capsys)
    assert_reused("folder", root, proto, home, capsys, extracted)


@pytest.fixture
def vipl(tmp_path: Path) -> Path:
    with use_faces():
        return write_mini_vipl(tmp_path / "VIPL-HR", n_subjects=2, sources=("source1",), extra_task=None,
                               duration_s=5.0, n_folds=2)


def test_vipl_time_txt_fixed(vipl, tmp_path, proto, capsys, extracted):
    """A time.txt with a spurious 0.12-s gap, then the camera's real one: re-timed, folds recomputed."""
    time_txt = vipl / "data" / "p1" / "v1" / "source1" / "time.txt"
    good = time_txt.read_bytes()
    ms = np.array([float(v) for v in good.split()])
    ms[len(ms) // 2:] += 120.0  # small enough for the wave still to cover the video
    time_txt.write_bytes(("\r\n".join(f"{v:.0f}" for v in ms) + "\r\n").encode())
    home = tmp_path / "home"
    run("vipl_hr", vipl, proto, home, capsys)
    stale = newest_rows(home)

    time_txt.write_bytes(good)
    extracted.clear()
    err = run("vipl_hr", vipl, proto, home, capsys)
    assert extracted == []
    assert "frame times changed (fps " in err and "re-timing the cached traces of vipl_hr/p1_v1_source1" in err
    assert "vipl_hr/p2_v1_source1" not in err  # the other recording is untouched
    # VIPL's wave is spread over the video's duration, which time.txt gives: both changed.
    assert ("pos (seed 0): frame times and ground truth of vipl_hr/p1_v1_source1 changed since its stored run: "
            "computing its 2 folds afresh") in err
    fixed = newest_rows(home)
    assert fixed == fresh("vipl_hr", vipl, proto, tmp_path, capsys)
    assert fixed["p1_v1_source1"] != stale["p1_v1_source1"]
    assert_reused("vipl_hr", vipl, proto, home, capsys, extracted)


def test_vipl_time_txt_cut_short_on_a_warm_cache_is_a_named_error(vipl, tmp_path, proto, capsys):
    """Fewer timestamps than frames is the cold run's error on a warm cache too, never a silent score.

    Three lines short: too few for the scan's wave-versus-duration check to
    notice, still three frames without a time.
    """
    home = tmp_path / "home"
    run("vipl_hr", vipl, proto, home, capsys)
    time_txt = vipl / "data" / "p2" / "v1" / "source1" / "time.txt"
    lines = time_txt.read_bytes().rstrip(b"\r\n").split(b"\r\n")
    time_txt.write_bytes(b"\r\n".join(lines[:-3]) + b"\r\n")
    err = run("vipl_hr", vipl, proto, home, capsys, rc=2)
    last = err.strip().splitlines()[-1]
    assert f"{len(lines) - 3} timestamps for {len(lines)} decoded frames" in last and "Traceback" not in err
    assert "p2_v1_source1" in last or "source1/video.avi" in last


def test_mmse_ground_truth_edited_at_the_same_size(tmp_path, proto, capsys, extracted):
    """Pulse Rate_BPM.txt rewritten 30 bpm higher, byte count unchanged: the folds are recomputed."""
    with use_faces():
        root = write_mini_mmse(tmp_path / "MMSE-HR", n_subjects=2, tasks_per_subject=1, duration_s=5.0)
    truth = read_mini_truth(root)
    home = tmp_path / "home"
    run("mmse_hr", root, proto, home, capsys)
    before = newest_rows(home)
    assert all(abs(before[rid][1] - t["hr"]) < 2.5 for rid, t in truth.items())

    rid = sorted(truth)[0]
    gt = next(root.rglob(f"{truth[rid]['subject']}/T1/Pulse Rate_BPM.txt"))
    text = gt.read_text()
    edited = "".join(f"{float(v) + 30:.4f}\n" for v in text.split())
    assert len(edited) == len(text)
    gt.write_text(edited)
    extracted.clear()
    err = run("mmse_hr", root, proto, home, capsys)
    assert extracted == [] and "frame times changed" not in err
    assert (f"pos (seed 0): ground truth of mmse_hr/{rid} changed since its stored run: computing its 2 folds "
            "afresh") in err
    after = newest_rows(home)
    assert abs(after[rid][1] - (truth[rid]["hr"] + 30)) < 2.5
    assert after == fresh("mmse_hr", root, proto, tmp_path, capsys)
    assert_reused("mmse_hr", root, proto, home, capsys, extracted)


def test_video_fingerprint_is_remembered_until_the_file_changes(tmp_path, monkeypatch):
    video = write_avi(tmp_path / "v.avi", 20, 25.0, 70.0)
    calls = []
    real = fsutil.file_fingerprint
    monkeypatch.setattr(fsutil, "file_fingerprint", lambda p: calls.append(p) or real(p))
    first = fsutil.memo_file_fingerprint(video, tmp_path / "memo")
    assert fsutil.memo_file_fingerprint(video, tmp_path / "memo") == first and len(calls) == 1
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size; a new mtime/ctime
    stamp = fsutil.file_stamp(video)
    video.write_bytes(bytes(data))
    if fsutil.file_stamp(video) == stamp:  # pragma: no cover - a filesystem with coarse timestamps
        pytest.skip("the filesystem's timestamps did not change")
    assert fsutil.memo_file_fingerprint(video, tmp_path / "memo") != first and len(calls) == 2
    for memo in (tmp_path / "memo").rglob("*.json"):  # a damaged memo is recomputed, not trusted
        memo.write_text("{not json")
    assert fsutil.memo_file_fingerprint(video, tmp_path / "memo") == real(video)


class FullDisk:
    """A connection that refuses writes of predictions the way SQLite does on a full disk."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def __getattr__(self, name: str):
        return getattr(self._con, name)

    def __enter__(self):
        self._con.__enter__()
        return self

    def __exit__(self, *exc):
        return self._con.__exit__(*exc)

    def executemany(self, sql: str, rows):
        if "clip_predictions" in sql:
            self._con.executemany(sql, rows)  # a part written, then the disk is full: all of it rolls back
            raise sqlite3.OperationalError("database or disk is full")
        return self._con.executemany(sql, rows)


def test_full_disk_is_one_line_and_earlier_runs_stay(tmp_path, proto, capsys, monkeypatch):
    root = tmp_path / "data"
    for subject, hr in {"anna": 72.0, "ben": 90.0}.items():
        write_avi(root / f"{subject}.avi", 120, 30.0, hr)
    (root / "manifest.csv").write_text("path,subject,hr,roi\nanna.avi,anna,72,full-frame\nben.avi,ben,90,full-frame\n")
    home = tmp_path / "home"
    run("folder", root, proto, home, capsys)
    before = newest_rows(home)

    real_init = Store.__init__

    def full_disk_init(self, *a, **k):
        real_init(self, *a, **k)
        if not self.readonly:
            self.db = FullDisk(self.db)

    monkeypatch.setattr(Store, "__init__", full_disk_init)
    code = main(["run", "--method", "chrom", "--dataset", "folder", "--data-root", str(root), "--protocol", str(proto),
                 "--store", str(home / "s.sqlite"), "--cache", str(home / "cache"), "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2  # hrbench errors exit with 2
    assert "Traceback" not in err and "OperationalError" not in err
    last = err.strip().splitlines()[-1]
    assert "s.sqlite: cannot write to the results store (SQLite: database or disk is full)" in last
    assert "earlier runs are intact" in last
    con = sqlite3.connect(home / "s.sqlite")
    try:
        assert con.execute("SELECT COUNT(*) FROM folds f JOIN runs r USING (run_key) "
                           "WHERE r.method = 'chrom'").fetchone()[0] == 0
        assert con.execute("SELECT COUNT(*) FROM clip_predictions c JOIN runs r USING (run_key) "
                           "WHERE r.method = 'chrom'").fetchone()[0] == 0
    finally:
        con.close()
    con = sqlite3.connect(home / "s.sqlite")  # the earlier run, as it was
    try:
        key = con.execute("SELECT run_key FROM runs WHERE method = 'pos'").fetchone()[0]
        rows = con.execute("SELECT recording_id, hr_pred, hr_ref FROM video_predictions WHERE run_key = ?", (key,))
        assert {rid: (p, r) for rid, p, r in rows} == before
    finally:
        con.close()
