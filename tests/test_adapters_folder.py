"""Folder adapter (manifest.csv) on a miniature folder (tests/miniature.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _helpers import registered_datasets
from miniature import read_mini_truth, write_mini_folder

from hrbench.data.video import iter_frames
from hrbench.errors import HrbenchError, RecordingError
from hrbench.pulse.hr import signal_hr, spectral_hr
from hrbench_plugins.datasets.folder import FolderAdapter

HEADER = "path,subject,hr,signal_path,signal_kind,signal_fs,session,fps,roi"


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_mini_folder(tmp_path / "mine")


def test_scan_reads_the_manifest(folder):
    truth = read_mini_truth(folder)
    recs = {r.id: r for r in FolderAdapter().scan(folder)}
    assert set(recs) == set(truth)
    for rid, r in recs.items():
        assert r.subject == truth[rid]["subject"] and r.roi == truth[rid]["roi"]
        assert r.fps == pytest.approx(truth[rid]["fps"])
        assert r.dataset == "folder"
    assert recs["videos/anna_rest"].fps == 30.0  # no fps column: read from the container
    ben = recs["frames/ben run"]
    assert ben.frames.kind == "images" and ben.frames.pattern == "*.png"
    assert len(ben.frames.image_files()) == truth["frames/ben run"]["n_frames"]
    assert ben.session == "exercise"
    # The manifest file itself may be given as the root.
    assert {r.id for r in FolderAdapter().scan(folder / "manifest.csv")} == set(truth)


def test_reference_hr_for_each_kind_of_ground_truth(folder):
    truth = read_mini_truth(folder)
    kinds = {}
    for r in FolderAdapter().scan(folder):
        sig = r.load_ground_truth()
        kinds[r.id] = sig.kind
        dur = truth[r.id]["n_frames"] / truth[r.id]["fps"]
        assert abs(signal_hr(sig, 0.0, dur) - truth[r.id]["hr"]) < 1.0, r.id
        assert abs(signal_hr(sig, 2.0, 5.0) - truth[r.id]["hr"]) < 1.5, (
            r.id
        )  # any window inside the video
    assert kinds == {"videos/anna_rest": "hr", "frames/ben run": "bvp", "skin/patch_01": "ecg"}


def test_full_frame_video_carries_the_pulse(folder):
    """The miniature's frames pulse at the truth HR, so an end-to-end run has something to find."""
    rec = {r.id: r for r in FolderAdapter().scan(folder)}["skin/patch_01"]
    green = np.array([f[..., 1].mean() for f in iter_frames(rec.frames, rec.id)])
    assert abs(float(spectral_hr(green, rec.fps)) - read_mini_truth(folder)[rec.id]["hr"]) < 1.0


def test_check_is_clean_on_a_good_folder(folder):
    recs, problems = FolderAdapter().check(folder)
    assert problems == [] and len(recs) == 3


def _manifest(folder: Path, *rows: str) -> Path:
    (folder / "manifest.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    return folder / "manifest.csv"


GOOD = "videos/anna_rest.avi,anna,71,,,,rest,,face"
BROKEN_ROWS = {
    "missing video": (
        "videos/gone.avi,zoe,70,,,,,,",
        "videos/gone.avi",
        "video or frame folder not found",
    ),
    "hr not a number": (
        "videos/anna_rest.avi,anna2,abc,,,,,,",
        "manifest.csv",
        "line 3: hr is not a number",
    ),
    "hr and signal": (
        "videos/anna_rest.avi,anna2,70,signals/ben_run_ppg.csv,bvp,64,,,",
        "manifest.csv",
        "either hr or signal_path",
    ),
    "no ground truth": (
        "videos/anna_rest.avi,anna2,,,,,,,",
        "manifest.csv",
        "line 3: no ground truth",
    ),
    "bad signal kind": (
        "frames/ben run,ben,,signals/ben_run_ppg.csv,ppg,64,,30,",
        "manifest.csv",
        "line 3: signal_kind is not one of bvp, hr, ecg",
    ),
    "frames without fps": (
        "frames/ben run,ben,,signals/ben_run_ppg.csv,bvp,64,,,",
        "manifest.csv",
        "fps is required",
    ),
    "missing signal": (
        "frames/ben run,ben,,signals/none.csv,bvp,64,,30,",
        "signals/none.csv",
        "signal file not found",
    ),
    "bad roi": (
        "skin/patch_01.avi,carl,90,,,,,,skin",
        "manifest.csv",
        "line 3: roi is not one of face, full-frame",
    ),
    "no subject": ("skin/patch_01.avi,,90,,,,,,", "manifest.csv", "subject is empty"),
    "duplicate id": ("videos/anna_rest.avi,anna,72,,,,,,", "manifest.csv", "repeats line 2"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_ROWS))
def test_broken_row_is_reported_with_its_file(folder, case):
    row, bad, message = BROKEN_ROWS[case]
    _manifest(folder, GOOD, row)
    adapter = FolderAdapter()
    recs, problems = adapter.scan_with_problems(folder)
    assert [r.id for r in recs] == ["videos/anna_rest"]
    assert len(problems) == 1
    assert Path(problems[0].path) == folder / bad and message in problems[0].message
    with pytest.raises(RecordingError, match=message) as e:
        adapter.scan(folder)
    assert Path(e.value.path) == folder / bad


def test_check_reads_signals(folder):
    sig = folder / "signals" / "ben_run_ppg.csv"
    lines = sig.read_text().splitlines()
    sig.write_text("\n".join(lines[:129]) + "\n")  # header + 2 s of an 8 s video
    _, problems = FolderAdapter().check(folder)
    assert [
        (Path(p.path), "ground truth covers 2.0 s of the video's 8.0 s (25 %" in p.message)
        for p in problems
    ] == [(sig, True)]
    lines[5] = "0.1;0.2"
    sig.write_text("\n".join(lines) + "\n")
    _, problems = FolderAdapter().check(folder)
    assert Path(problems[0].path) == sig and "line 6: value is not a number" in problems[0].message
    assert "0.1" not in problems[0].message  # signal files are never quoted


def test_manifest_errors_are_one_line(tmp_path, folder):
    with pytest.raises(HrbenchError, match="no manifest.csv") as e:
        FolderAdapter().scan(tmp_path)
    assert e.value.path == str(tmp_path / "manifest.csv")
    (folder / "manifest.csv").write_text("file,person\nvideos/anna_rest.avi,anna\n")
    with pytest.raises(HrbenchError, match="lacks column"):
        FolderAdapter().scan(folder)
    with pytest.raises(HrbenchError, match="does not exist"):
        FolderAdapter().scan(tmp_path / "nowhere")


def test_registered_through_entry_points():
    """The declared entry point loads this module, whose hook registers the adapter under its name."""
    assert registered_datasets("folder") == [FolderAdapter] and FolderAdapter.name == "folder"


ESCAPES = {
    "relative path up": ("../outside/clip.avi,eve,70,,,,,,", "line 3: path leads outside"),
    "absolute signal": (
        "frames/ben run,ben2,,{secret},bvp,64,,30,",
        "line 3: signal_path leads outside",
    ),
    "symlink out": ("link/clip.avi,eve,70,,,,,,", "line 3: path leads outside"),
}


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_manifest_paths_stay_under_its_folder(folder, tmp_path, case):
    """A manifest is often someone else's file: it must not make hrbench read (or echo) files elsewhere."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (outside / "clip.avi").write_bytes((folder / "videos" / "anna_rest.avi").read_bytes())
    (folder / "link").symlink_to(outside, target_is_directory=True)
    row, message = ESCAPES[case]
    _manifest(folder, GOOD, row.format(secret=secret))
    recs, problems = FolderAdapter().scan_with_problems(folder)
    assert [r.id for r in recs] == ["videos/anna_rest"]
    assert [(Path(p.path), message in p.message) for p in problems] == [
        (folder / "manifest.csv", True)
    ]
    # Allowed explicitly, the row is read (and a signal that is not numbers is named, never quoted).
    recs, problems = FolderAdapter(allow_outside=True).check(folder)
    assert len(recs) + len({p.recording_id for p in problems if p.is_error}) == 2
    for p in problems:
        assert "root:" not in p.message and "/bin/bash" not in p.message


def test_errors_never_quote_a_file_read_through_the_manifest(folder, tmp_path):
    secret = folder / "signals" / "notes.csv"
    secret.write_text("ppg\nhunter2 is the password\n1\n2\n")
    _manifest(folder, GOOD, "frames/ben run,ben,,signals/notes.csv,bvp,64,,30,")
    _, problems = FolderAdapter().check(folder)
    assert [Path(p.path) for p in problems] == [secret]
    assert "line 2" in problems[0].message and "hunter2" not in problems[0].message
    (folder / "manifest.csv").write_text("root:x:0:0:root,/root:/bin/bash\n")
    with pytest.raises(HrbenchError, match="lacks column") as e:
        FolderAdapter().scan(folder)
    assert "root:x" not in str(e.value) and "line 1" in str(e.value)


def test_signal_at_the_wrong_rate_stops_a_run_when_loaded(folder):
    """A signal that does not span the video at its stated signal_fs is an error where a run loads it, not only in
    check."""
    manifest = folder / "manifest.csv"
    text = manifest.read_text()
    # The 64 Hz PPG declared at 40 Hz would last 12.8 s for an 8-s video (160 %).
    manifest.write_text(text.replace("signals/ben_run_ppg.csv,bvp,64,", "signals/ben_run_ppg.csv,bvp,40,"))
    rec = {r.id: r for r in FolderAdapter().scan(folder)}["frames/ben run"]
    with pytest.raises(RecordingError, match=r"lasts 12\.8 s but the video 8\.0 s") as e:
        rec.load_ground_truth()
    assert Path(e.value.path) == folder / "signals" / "ben_run_ppg.csv"
    recs, problems = FolderAdapter().check(folder)
    assert "frames/ben run" not in {r.id for r in recs}
    assert [p.severity for p in problems] == ["error"]
