"""MMSE-HR adapter on a miniature copy of the real layout (tests/miniature.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _helpers import registered_datasets
from miniature import read_mini_truth, write_mini_mmse

from hrbench.errors import HrbenchError, RecordingError
from hrbench.pulse.hr import signal_hr
from hrbench_plugins.datasets.mmse_hr import MMSEHRAdapter

FIRST_FRAMES = "first 10 subjects 2D"
FIRST_PHYS = "first 10 subjects Phydata released/Phydata"


@pytest.fixture(scope="module")
def mmse(tmp_path_factory) -> Path:
    return write_mini_mmse(tmp_path_factory.mktemp("mmse") / "MMSE-HR")


@pytest.fixture
def small(tmp_path) -> Path:
    return write_mini_mmse(tmp_path / "MMSE-HR", n_subjects=1, tasks_per_subject=2, duration_s=3.0)


def test_scan_pairs_frame_folders_with_physiology(mmse):
    truth = read_mini_truth(mmse)
    recs = MMSEHRAdapter().scan(mmse)
    assert {r.id for r in recs} == set(truth)
    parts = {r.meta["part"] for r in recs}
    assert parts == {FIRST_FRAMES, "T10_T11_30Subjects"}  # both parts, names with spaces
    for r in recs:
        t = truth[r.id]
        assert r.subject == t["subject"] and r.id == f"{r.subject}_{r.session}"
        assert r.fps == 25.0 and r.timestamps is None
        assert r.frames.kind == "images" and r.frames.path.parent.name == r.subject
        files = r.frames.image_files()
        assert len(files) == t["n_frames"]
        assert [f.name for f in files[:3]] == ["000.jpg", "001.jpg", "002.jpg"]
        assert r.gt_path.name == "Pulse Rate_BPM.txt"
        assert r.gt_path.parent.parent.name == r.subject


def test_reference_hr_from_pulse_rate_track(mmse):
    truth = read_mini_truth(mmse)
    for r in MMSEHRAdapter().scan(mmse):
        sig = r.load_ground_truth()
        assert sig.kind == "hr" and sig.fs == 1000.0
        dur = truth[r.id]["n_frames"] / 25.0
        assert abs(signal_hr(sig, 0.0, dur) - truth[r.id]["hr"]) < 1.0, r.id


def test_check_is_clean_on_a_good_copy(mmse):
    recs, problems = MMSEHRAdapter().check(mmse)
    assert problems == [] and len(recs) == len(read_mini_truth(mmse))


def _task_dirs(root: Path) -> tuple[Path, Path]:
    return root / FIRST_FRAMES / "F013" / "T1", root / FIRST_PHYS / "F013" / "T1"


def _garble(gt: Path) -> Path:
    lines = gt.read_text().splitlines()
    lines[10] = "72.1,72.3"
    gt.write_text("\n".join(lines) + "\n")
    return gt


def _truncate(gt: Path) -> Path:
    lines = gt.read_text().splitlines()
    gt.write_text("\n".join(lines[:1000]) + "\n")  # 1 s of a 3 s recording
    return gt


def _empty(gt: Path) -> Path:
    gt.write_text("")
    return gt


BROKEN = {
    "missing Pulse Rate_BPM.txt": (
        lambda f, p: (p / "Pulse Rate_BPM.txt").unlink() or p / "Pulse Rate_BPM.txt",
        "missing",
    ),
    "empty Pulse Rate_BPM.txt": (lambda f, p: _empty(p / "Pulse Rate_BPM.txt"), "empty"),
    "garbled line": (
        lambda f, p: _garble(p / "Pulse Rate_BPM.txt"),
        "line 11: '72.1,72.3' is not a number",
    ),
    "ground truth shorter than frames": (
        lambda f, p: _truncate(p / "Pulse Rate_BPM.txt"),
        "ground truth covers 1.0 s",
    ),
    "no physiology folder": (lambda f, p: shutil.rmtree(p) or f, "no physiology folder F013/T1"),
    "no frame folder": (lambda f, p: shutil.rmtree(f) or p, "physiology without a frame folder"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_recording_is_reported_with_its_file(small, case):
    brk, message = BROKEN[case]
    bad = brk(*_task_dirs(small))
    adapter = MMSEHRAdapter()
    recs, problems = adapter.scan_with_problems(small)
    assert [r.id for r in recs] == ["F013_T8"]
    assert len(problems) == 1
    assert Path(problems[0].path) == bad and message in problems[0].message
    assert problems[0].recording_id == "F013_T1"
    with pytest.raises(RecordingError, match=message) as e:
        adapter.scan(small)
    assert Path(e.value.path) == bad


def test_frames_past_999_keep_numeric_order_and_bad_jpegs_are_found(small):
    frames, _ = _task_dirs(small)
    # Past frame 999 the %03d names widen: "1000.jpg" must still follow "999.jpg".
    files = sorted(frames.glob("*.jpg"), key=lambda f: int(f.stem))
    for j, f in enumerate(files):
        f.rename(frames / f"{950 + j:03d}.jpg")  # 950.jpg .. 999.jpg, 1000.jpg .. 1024.jpg
    recs, problems = MMSEHRAdapter().check(small)
    rec = next(r for r in recs if r.frames.path == frames)
    names = [f.name for f in rec.frames.image_files()]
    assert names[49:51] == ["999.jpg", "1000.jpg"] and not problems
    (frames / "1024.jpg").unlink()
    last = sorted(frames.glob("*.jpg"), key=lambda f: int(f.stem))[-1]
    last.write_bytes(last.read_bytes()[:200])  # a copy cut short: the header is intact
    recs, problems = MMSEHRAdapter().check(small)
    assert Path(problems[0].path) == last and "truncated JPEG" in problems[0].message
    last.write_bytes(b"\xff\xd8\xff garbage that ends like a JPEG \xff\xd9")
    recs, problems = MMSEHRAdapter().check(small)
    assert Path(problems[0].path) == last and "cannot decode" in problems[0].message
    assert "F013_T1" not in {r.id for r in recs}


def test_wrong_roots_are_one_line_errors(tmp_path):
    with pytest.raises(HrbenchError, match="does not exist"):
        MMSEHRAdapter().scan(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HrbenchError, match="not an MMSE-HR copy") as e:
        MMSEHRAdapter().scan(tmp_path / "empty")
    assert e.value.path == str(tmp_path / "empty")


def test_registered_through_entry_points():
    """The declared entry point loads this module, whose hook registers the adapter under its name."""
    assert registered_datasets("mmse_hr") == [MMSEHRAdapter] and MMSEHRAdapter.name == "mmse_hr"
