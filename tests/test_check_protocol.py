"""`hrbench datasets check NAME ROOT [--protocol P]` answers for the protocol, as a run would.

"no problems found" must mean the protocol scores every recording: a
1-frame video, recordings shorter than one clip, a MAHNOB session whose
5-35 s cut leaves 1 s, a clip past the ground truth's end and folds that
cannot be filled are each a one-line error; what an adapter leaves out by
design is listed with the reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from miniature import write_avi, write_mini_mahnob, write_mini_ubfc, write_mini_vipl

from hrbench.check.protocol_check import protocol_problems
from hrbench.cli import main
from hrbench.clips.protocol import available_protocols, find_protocol
from hrbench.clips.sampling import clip_recording
from hrbench.errors import RecordingError
from hrbench.traces.traces import Traces
from hrbench_plugins.datasets.mahnob_hci import MahnobHCIAdapter
from hrbench_plugins.datasets.ubfc_rppg import UBFCrPPGAdapter


def _check(capsys, *args: str) -> tuple[int, str]:
    rc = main(["datasets", "check", *args])
    return rc, capsys.readouterr().out


@pytest.fixture(scope="module")
def mahnob6(tmp_path_factory) -> Path:
    """Healthy MAHNOB sessions 6 s long: video, Status and ECG all agree."""
    return write_mini_mahnob(tmp_path_factory.mktemp("m") / "M", n_subjects=2, trials_per_subject=1, duration_s=6.0)


def test_mahnob_6s_sessions_give_both_frame_counts_and_list_what_is_left_out(mahnob6, capsys):
    rc, out = _check(capsys, "mahnob_hci", str(mahnob6))
    assert rc == 1 and "no problems found" not in out and "no errors found" not in out
    assert "0 recordings that protocol subject_exclusive will score" in out
    assert out.count("protocol subject_exclusive: video gives 366 frames (6.0 s), 31 after the 5-35 s cut "
                     "at 30 fps: shorter than one clip (300 frames, 10 s)") == 2
    assert "video gives 31 frames" not in out
    # The data itself is intact: the shortened window is a warning, never an error of the copy.
    assert "2 error(s) under protocol subject_exclusive" in out and "unusable" not in out
    assert "left out (1): neutral trial" in out and "left out (1): implicit-tagging session" in out


def test_the_run_says_the_same_as_the_check(mahnob6):
    """The run's clip cutter and the check share the message: frame counts before and after the cut."""
    rec = MahnobHCIAdapter().scan(mahnob6)[0]
    protocol = find_protocol("subject_exclusive")
    _, problems = protocol_problems(MahnobHCIAdapter(), mahnob6, [rec], protocol)
    n = 366
    times = np.arange(n) / 61.0
    traces = {"face": Traces(np.zeros((1, n, 3), np.float32), np.ones(n, bool), times, 61.0)}
    with pytest.raises(RecordingError) as e:
        clip_recording(rec, traces, rec.load_ground_truth(), protocol)
    assert problems[0].message == f"protocol subject_exclusive: {e.value.message}"


def test_one_frame_video_is_an_error(tmp_path, capsys):
    root = tmp_path / "F"
    write_avi(root / "v.avi", 1, 30.0, 70.0)
    write_avi(root / "w.avi", 400, 30.0, 70.0)
    (root / "manifest.csv").write_text("path,subject,hr\nv.avi,a,70\nw.avi,b,70\n")
    rc, out = _check(capsys, "folder", str(root), "--protocol", "random")
    assert rc == 1
    assert f"error: {root / 'v.avi'}: protocol random: video gives 1 frame (0.0 s), 1 resampled at 30 fps" in out


@pytest.fixture(scope="module")
def ubfc8(tmp_path_factory) -> Path:
    return write_mini_ubfc(tmp_path_factory.mktemp("u") / "U", n_subjects=2, n_dataset1=1, duration_s=8.0)


@pytest.mark.parametrize("protocol", sorted(available_protocols()))
def test_8s_recordings_are_reported_under_every_shipped_protocol(ubfc8, capsys, protocol):
    rc, out = _check(capsys, "ubfc_rppg", str(ubfc8), "--protocol", protocol)
    assert rc == 1
    assert out.count(f"protocol {protocol}: video gives 240 frames (8.0 s)") == 3
    assert "shorter than one clip (300 frames, 10 s)" in out


@pytest.fixture
def ubfc12(tmp_path) -> Path:
    return write_mini_ubfc(tmp_path / "U", n_subjects=2, n_dataset1=1, duration_s=12.0)


def test_a_good_copy_has_no_problems(ubfc12, capsys):
    rc, out = _check(capsys, "ubfc_rppg", str(ubfc12))
    assert rc == 0 and "no problems found" in out
    assert "3 recordings that protocol subject_exclusive will score, 3 subjects" in out
    assert "`hrbench run`'s default" in out


def test_a_clip_past_the_ground_truths_end_is_found(ubfc12, capsys):
    """91 % coverage passes the adapter (>= 90 %) but the last clip lacks a reference: the run would stop."""
    gt = ubfc12 / "DATASET_1" / "10-gt" / "gtdump.xmp"
    lines = gt.read_text().splitlines()
    gt.write_text("\n".join(lines[: int(0.91 * len(lines))]) + "\n")
    _, problems = UBFCrPPGAdapter().check(ubfc12)
    assert problems == []
    rc, out = _check(capsys, "ubfc_rppg", str(ubfc12))
    assert rc == 1
    assert f"error: {gt}: protocol subject_exclusive: ground truth unusable: " in out
    assert "2 recordings that protocol subject_exclusive will score" in out


def test_folds_that_cannot_be_filled_are_an_error(tmp_path, capsys):
    root = write_mini_ubfc(tmp_path / "U", n_subjects=1, n_dataset1=1, duration_s=12.0)
    rc, out = _check(capsys, "ubfc_rppg", str(root))
    assert rc == 1 and "protocol subject_exclusive: 2 subjects cannot fill 3 subject-exclusive folds" in out
    rc, out = _check(capsys, "ubfc_rppg", str(root), "--protocol", "vipl_hr_5fold")
    assert rc == 1 and "protocol vipl_hr_5fold: needs the dataset's official folds; ubfc_rppg ships none" in out


def test_vipl_nir_recordings_are_listed_as_left_out(tmp_path, capsys):
    root = write_mini_vipl(tmp_path / "V", n_subjects=3, n_folds=3, extra_task=None, duration_s=11.0)
    rc, out = _check(capsys, "vipl_hr", str(root), "--protocol", "vipl_hr_5fold")
    assert "3 recording(s) left out by the adapter, by design (not errors):" in out
    assert "left out (3): near-infrared camera (source4)" in out
    assert "p1_v1_source4, p2_v1_source4, p3_v1_source4" in out
    assert rc == 0 and "no problems found" in out
