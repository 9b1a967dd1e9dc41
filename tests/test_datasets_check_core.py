"""`hrbench datasets check` makes the core's per-recording checks for every adapter, after the adapter's own.

The example plugin's adapter checks only that its files parse -- as a
plugin author's first adapter would.  Before the core checks, a ground truth
covering half the video, millisecond timestamps or an unreadable video all
passed its check, and the run then failed.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest
from miniature import write_mini_folder

from hrbench.check.recording_check import check_recording
from hrbench.cli import main
from hrbench.data.recording import FrameSource, Recording, Signal

HRS = {"a1": 66.0, "a2": 72.0, "b1": 80.0, "b2": 90.0, "c1": 100.0, "c2": 110.0}


@pytest.fixture
def example(tmp_path) -> Path:
    from hrbench_example_plugin import write_example_dataset

    return write_example_dataset(tmp_path / "ex", HRS, seconds=12.0)


def _check(root: Path, capsys, *extra: str) -> tuple[int, str]:
    rc = main(["datasets", "check", "example_folder", str(root), *extra])
    return rc, " ".join(capsys.readouterr().out.split())


def test_an_intact_copy_has_no_problems(example, capsys):
    rc, out = _check(example, capsys)
    assert rc == 0 and "no problems found" in out and "6 recordings" in out


def test_ground_truth_covering_half_the_video_is_an_error(example, capsys):
    bvp = example / "a1" / "bvp.csv"
    lines = bvp.read_text().splitlines()
    bvp.write_text("\n".join(lines[: 1 + (len(lines) - 1) // 2]) + "\n")
    rc, out = _check(example, capsys)
    assert rc == 1 and "no problems found" not in out
    assert f"error: {bvp}: ground truth covers 6.0 s of the video's 12.0 s (50 %" in out
    assert "5 recordings that protocol" in out
    assert "protocol subject_exclusive: ground truth unusable" not in out  # said once, by the core check


def test_millisecond_timestamps_are_an_error(example, capsys):
    ts = example / "b1" / "timestamps.csv"
    t = np.arange(360) / 30.0 * 1000.0
    ts.write_text("t\n" + "".join(f"{v:.3f}\n" for v in t))
    rc, out = _check(example, capsys)
    assert rc == 1 and "ground truth covers 12.0 s of the video's 12000.0 s" in out


def test_a_video_that_does_not_open_is_an_error(example, capsys):
    video = example / "c2" / "video.avi"
    video.write_bytes(b"not a video at all")
    rc, out = _check(example, capsys)
    assert rc == 1 and f"error: {video}: " in out


def test_deep_decodes_every_frame(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(60):
        cv2.imwrite(str(frames / f"{i:03d}.png"), np.full((24, 32, 3), 120 + i % 7, np.uint8))
    bad = frames / "030.png"
    data = bytearray(bad.read_bytes())
    data[40:-20] = b"\x00" * (len(data) - 60)  # header and end marker intact, image data gone
    bad.write_bytes(bytes(data))
    sig = Signal("bvp", np.sin(np.arange(128) / 3.0), 64.0)
    rec = Recording(dataset="x", id="r", subject="s", session="", fps=30.0,
                    frames=FrameSource(frames, "images", "*.png"),
                    ground_truth=functools.partial(lambda s: s, sig), roi="full-frame")
    assert check_recording(rec) == []
    assert [p.path for p in check_recording(rec, deep=True)] == [str(bad)]


def test_a_problem_the_adapter_found_is_not_repeated(tmp_path, capsys):
    root = write_mini_folder(tmp_path / "folder", duration_s=12.0)
    sig = root / "signals" / "ben_run_ppg.csv"
    lines = sig.read_text().splitlines()
    flat = lines[:1] + lines[1:65] + [lines[65]] * 200 + lines[265:]  # 3 s of one repeated sample
    sig.write_text("\n".join(flat) + "\n")
    assert main(["datasets", "check", "folder", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.count("signal is flat over") == 1
