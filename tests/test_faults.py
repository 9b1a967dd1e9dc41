"""Fault injection: broken copies of every miniature layout, one known fault per recording.

Each test builds a miniature dataset (tests/miniature.py), damages some
recordings the way real copies get damaged -- a truncated video, a frame
missing from the middle of a numbered folder, a corrupt frame image, ground
truth copied from a neighbour of another length, a flat ground truth, a
VIPL-HR ``time.txt`` shorter than the video, a UBFC-rPPG HR row dropping to
single digits -- and leaves the others as healthy controls.  ``check`` must
name every fault with its file and the right severity, keep the controls (and
recordings with warnings only) usable, and the run's own frame reader must
refuse the damage rather than shorten the recording.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyedflib
import pytest
from miniature import (
    write_bdf,
    write_mini_folder,
    write_mini_mahnob,
    write_mini_mmse,
    write_mini_pure,
    write_mini_ubfc,
    write_mini_vipl,
)

from hrbench.data.video import iter_frames
from hrbench.errors import RecordingError
from hrbench_plugins.datasets.folder import FolderAdapter
from hrbench_plugins.datasets.mahnob_hci import MahnobHCIAdapter
from hrbench_plugins.datasets.mmse_hr import MMSEHRAdapter
from hrbench_plugins.datasets.pure import PUREAdapter
from hrbench_plugins.datasets.ubfc_rppg import UBFCrPPGAdapter
from hrbench_plugins.datasets.vipl_hr import VIPLHRAdapter


# -- faults -------------------------------------------------------------------
def truncate_video(video: Path, keep: float = 0.55) -> Path:
    """Cut a container short: its header still lists every frame."""
    data = video.read_bytes()
    video.write_bytes(data[: int(len(data) * keep)])
    return video


def drop_middle_frame(folder: Path, pattern: str) -> Path:
    files = sorted(folder.glob(pattern), key=lambda f: int(f.stem) if f.stem.isdigit() else f.name)
    gone = files[len(files) // 2]
    gone.unlink()
    return gone


def corrupt_image(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[: max(40, path.stat().st_size // 2)])
    return path


def replace_ubfc_row(gt: Path, k: int, edit) -> list[str]:
    """Rewrite row ``k`` of a DATASET_2 ``ground_truth.txt`` as ``edit(values)``; the rows as written."""
    rows = gt.read_text().splitlines()
    rows[k] = " ".join(edit(rows[k].split()))
    gt.write_text("\n".join(rows) + "\n")
    return rows


def _by_id(problems) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = {}
    for p in problems:
        out.setdefault(p.recording_id, []).append((p.severity, p.path, p.message))
    return out


def assert_faults(adapter, root: Path, expected: dict[str, tuple[str, Path, str]], controls: set[str]):
    """Every fault named once, with its severity and file; controls and warning-only recordings usable."""
    recs, problems = adapter.check(root)
    found = _by_id(problems)
    assert set(found) == set(expected), found
    for rid, (severity, path, text) in expected.items():
        named = [(sev, Path(where)) for sev, where, msg in found[rid] if text in msg]
        assert named == [(severity, path)], found[rid]
        if severity == "warning":  # nothing worse hides behind it
            assert {sev for sev, _, _ in found[rid]} == {"warning"}, found[rid]
    usable = {r.id for r in recs}
    assert controls <= usable
    for rid, (severity, _, _) in expected.items():
        assert (rid in usable) == (severity == "warning"), rid
    # A run stops on errors only; warnings never reach it.
    _, scan_problems = adapter.scan_with_problems(root)
    assert all(p.severity == "error" for p in scan_problems)
    return recs


# -- MAHNOB-HCI ---------------------------------------------------------------
def test_mahnob_faults(tmp_path):
    root = write_mini_mahnob(tmp_path / "MAHNOB-HCI", extras=False)
    s = root / "Sessions"
    video = truncate_video(next((s / "302").glob("*C1 trigger*.avi")))
    bdf = next((s / "304").glob("*.bdf"))
    with pyedflib.EdfReader(str(bdf)) as r:
        labels, fs = r.getSignalLabels(), r.getSampleFrequency(0)
        data = {lab: r.readSignal(i) for i, lab in enumerate(labels)}
    data["EXG3"] = np.zeros_like(data["EXG3"])  # electrode off: a flat ECG
    bdf.unlink()
    write_bdf(bdf, data, fs)
    assert_faults(
        MahnobHCIAdapter(),
        root,
        {
            "302": ("error", video, "video truncated: its header lists 2196 frames but only"),
            "304": ("error", bdf, "constant"),
        },
        {"502", "504"},
    )
    rec = {r.id: r for r in MahnobHCIAdapter().scan(root)}["302"]
    with pytest.raises(RecordingError, match="video truncated"):
        for _ in iter_frames(rec.frames, rec.id):
            pass


# -- MMSE-HR ------------------------------------------------------------------
def test_mmse_faults(tmp_path):
    root = write_mini_mmse(tmp_path / "MMSE-HR", n_subjects=2, tasks_per_subject=2, duration_s=4.0)
    frames = root / "first 10 subjects 2D" / "F013"
    gone = drop_middle_frame(frames / "T1", "*.jpg")
    bad = corrupt_image(sorted((frames / "T8").glob("*.jpg"))[40])
    # A neighbour's file from a longer recording (6 s of 1000 Hz track for 4 s of frames).
    phys = root / "T10_T11_30PhyBPHRData" / "M014"
    neighbour = (phys / "T11" / "Pulse Rate_BPM.txt").read_text().splitlines()
    gt = phys / "T10" / "Pulse Rate_BPM.txt"
    gt.write_text("\n".join(neighbour + neighbour[:2000]) + "\n")
    recs = assert_faults(
        MMSEHRAdapter(),
        root,
        {
            "F013_T1": ("error", gone, "frame missing from the numbered sequence"),
            "F013_T8": ("error", bad, "truncated JPEG"),
            "M014_T10": ("error", gt, "from another recording?"),
        },
        {"M014_T11"},
    )
    assert [r.id for r in recs] == ["M014_T11"]
    rec = {r.id: r for r in MMSEHRAdapter().scan_with_problems(root)[0]}["F013_T1"]
    with pytest.raises(RecordingError, match="frame missing") as e:
        next(iter_frames(rec.frames, rec.id))
    assert Path(e.value.path) == gone


# -- VIPL-HR ------------------------------------------------------------------
def test_vipl_faults(tmp_path):
    root = write_mini_vipl(
        tmp_path / "VIPL-HR",
        n_subjects=1,
        sources=("source1", "source2", "source3"),
        extra_task=None,
        n_folds=1,
        duration_s=11.0,
    )
    d = root / "data" / "p1" / "v1"
    time_txt = d / "source1" / "time.txt"
    lines = time_txt.read_bytes().split(b"\r\n")
    time_txt.write_bytes(b"\r\n".join(lines[:-40]) + b"\r\n")  # 39 frames without a time
    wave = d / "source3" / "wave.csv"
    n = len(wave.read_bytes().split(b"\r\n")) - 2
    wave.write_bytes(b"\r\n".join([b"Wave"] + [b"50"] * n) + b"\r\n")
    assert_faults(
        VIPLHRAdapter(),
        root,
        {
            "p1_v1_source1": ("error", time_txt, "fewer than the frames"),
            "p1_v1_source3": ("error", wave, "constant"),
        },
        {"p1_v1_source2"},
    )


# -- UBFC-rPPG ----------------------------------------------------------------
def test_ubfc_faults(tmp_path):
    root = write_mini_ubfc(tmp_path / "UBFC", n_subjects=3, n_dataset1=1, duration_s=20.0)
    d2 = root / "DATASET_2"
    # subject1: the oximeter's HR row drops to single digits for 300 samples (10 s).
    gt1 = d2 / "subject1" / "ground_truth.txt"
    rows = replace_ubfc_row(gt1, 1, lambda hr: hr[:150] + ["7.0000000e+00"] * 300 + hr[450:])
    video = truncate_video(d2 / "subject3" / "vid.avi")
    # subject5: ground truth copied from a neighbour whose recording is shorter (12 of 20 s).
    gt5 = d2 / "subject5" / "ground_truth.txt"
    gt5.write_text("\n".join(" ".join(r.split()[:360]) for r in rows) + "\n")
    recs = assert_faults(
        UBFCrPPGAdapter(),
        root,
        {
            "subject1": ("warning", gt1, "the HR row is outside 42-240 bpm"),
            "subject3": ("error", video, "video truncated"),
            "subject5": ("error", gt5, "truncated, or from another recording?"),
        },
        {"10-gt"},
    )
    assert sorted(r.id for r in recs) == ["10-gt", "subject1"]


def test_ubfc_flat_ppg(tmp_path):
    root = write_mini_ubfc(tmp_path / "UBFC", n_subjects=2, n_dataset1=0, duration_s=11.0)
    gt = root / "DATASET_2" / "subject1" / "ground_truth.txt"
    replace_ubfc_row(gt, 0, lambda ppg: ["5.0000000e-01"] * len(ppg))
    assert_faults(
        UBFCrPPGAdapter(), root, {"subject1": ("error", gt, "constant")}, {"subject3"}
    )


# -- PURE ---------------------------------------------------------------------
def test_pure_faults(tmp_path):
    root = write_mini_pure(tmp_path / "PURE", n_subjects=2, setups=("01", "02"), duration_s=11.0)
    bad = corrupt_image(sorted((root / "01-01").glob("*.png"))[100])
    js = root / "01-02.json"
    data = json.loads(js.read_text())
    for e in data["/FullPackage"]:
        e["Value"]["waveform"] = 64
    js.write_text(json.dumps(data))
    # 02-01 gets its neighbour's oximeter record: another clock, another length.
    js21 = root / "02-01.json"
    mine, other = json.loads(js21.read_text()), json.loads((root / "02-02.json").read_text())
    mine["/FullPackage"] = other["/FullPackage"][:300]
    js21.write_text(json.dumps(mine))
    assert_faults(
        PUREAdapter(),
        root,
        {
            "01-01": ("error", bad, "truncated PNG"),
            "01-02": ("error", js, "constant"),
            "02-01": ("error", js21, "from another recording?"),
        },
        {"02-02"},
    )


# -- folder -------------------------------------------------------------------
def test_folder_faults(tmp_path):
    root = write_mini_folder(tmp_path / "mine", duration_s=11.0)
    video = truncate_video(root / "videos" / "anna_rest.avi")
    gone = drop_middle_frame(root / "frames" / "ben run", "*.png")
    shutil.copy(root / "skin" / "patch_01.avi", root / "skin" / "patch_02.avi")
    np.save(root / "signals" / "flat.npy", np.full(11 * 64, 3.0))
    with (root / "manifest.csv").open("a") as fh:
        fh.write("skin/patch_02.avi,dora,,signals/flat.npy,bvp,64,,,full-frame\n")
    assert_faults(
        FolderAdapter(),
        root,
        {
            "videos/anna_rest": ("error", video, "video truncated"),
            "frames/ben run": ("error", gone, "frame missing from the numbered sequence"),
            "skin/patch_02": ("error", root / "signals" / "flat.npy", "constant"),
        },
        {"skin/patch_01"},
    )


def test_deep_check_decodes_every_frame(tmp_path):
    """A frame whose header and end marker are intact but whose body is garbage: only --deep sees it."""
    root = write_mini_mmse(tmp_path / "MMSE-HR", n_subjects=1, tasks_per_subject=1, duration_s=3.0)
    f = sorted((root / "first 10 subjects 2D" / "F013" / "T1").glob("*.jpg"))[30]
    f.write_bytes(b"\xff\xd8\xff" + b"\x00" * 64 + b"\xff\xd9")
    assert MMSEHRAdapter().check(root)[1] == []
    _, problems = MMSEHRAdapter().check(root, deep=True)
    assert [(Path(p.path), p.severity, "cannot decode" in p.message) for p in problems] == [
        (f, "error", True)
    ]
