"""UBFC-rPPG adapter on a miniature copy of both layouts (tests/miniature.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _helpers import registered_datasets
from miniature import read_mini_truth, write_mini_ubfc

from hrbench.errors import HrbenchError, RecordingError
from hrbench.pulse.hr import signal_hr
from hrbench_plugins.datasets.ubfc_rppg import UBFCrPPGAdapter, read_ubfc2


@pytest.fixture
def ubfc(tmp_path) -> Path:
    return write_mini_ubfc(tmp_path / "UBFC", n_subjects=2, n_dataset1=1)


def _gt2(root: Path, sid: str = "subject1") -> Path:
    return root / "DATASET_2" / sid / "ground_truth.txt"


def test_scan_detects_each_layout(ubfc):
    truth = read_mini_truth(ubfc)
    recs = {r.id: r for r in UBFCrPPGAdapter().scan(ubfc)}
    assert set(recs) == set(truth) == {"subject1", "subject3", "10-gt"}
    for rid, r in recs.items():
        assert r.subject == rid and r.session == truth[rid]["part"] == r.meta["part"]
        assert r.frames.kind == "video" and r.frames.path.name == "vid.avi"
    assert recs["subject1"].gt_path.name == "ground_truth.txt"
    assert recs["10-gt"].gt_path.name == "gtdump.xmp"
    # DATASET_2: frame times are the ground truth's time row; DATASET_1 has none.
    ts = recs["subject1"].timestamps()
    t_row = np.array(_gt2(ubfc).read_text().splitlines()[2].split(), dtype=float)
    np.testing.assert_allclose(ts, t_row - t_row[0])
    assert recs["subject1"].fps == pytest.approx((len(ts) - 1) / ts[-1])
    assert recs["10-gt"].timestamps is None and recs["10-gt"].fps == 30.0


def test_reference_hr_comes_from_the_ppg_waveform(ubfc):
    truth = read_mini_truth(ubfc)
    for r in UBFCrPPGAdapter().scan(ubfc):
        sig = r.load_ground_truth()
        assert sig.kind == "bvp" and sig.times is not None
        dur = truth[r.id]["n_frames"] / truth[r.id]["fps"]
        for t0, t1 in ((0.0, dur), (1.0, 11.0)):
            assert abs(signal_hr(sig, t0, t1) - truth[r.id]["hr"]) <= 1.0, r.id


def test_hr_row_is_never_the_reference(ubfc):
    """Zeroing the HR row changes nothing in the reference; check only warns about it."""
    gt = _gt2(ubfc)
    rows = gt.read_text().splitlines()
    before = {r.id: r.load_ground_truth() for r in UBFCrPPGAdapter().scan(ubfc)}["subject1"]
    n = len(rows[1].split())
    rows[1] = " ".join(["5.0"] * (n // 2) + rows[1].split()[n // 2 :])
    gt.write_text("\n".join(rows) + "\n")
    rec = {r.id: r for r in UBFCrPPGAdapter().scan(ubfc)}["subject1"]
    np.testing.assert_array_equal(rec.load_ground_truth().values, before.values)
    recs, problems = UBFCrPPGAdapter().check(ubfc)
    assert "subject1" in {r.id for r in recs}  # still usable
    assert {p.severity for p in problems} == {"warning"}
    assert all(Path(p.path) == gt and p.recording_id == "subject1" for p in problems)
    text = " | ".join(p.message for p in problems)
    assert "the HR row is outside 42-240 bpm" in text and "differs from the HR of the waveform" in text


def test_check_is_clean_on_a_good_copy(ubfc):
    recs, problems = UBFCrPPGAdapter().check(ubfc)
    assert problems == [] and len(recs) == 3
    recs, problems = UBFCrPPGAdapter().check(ubfc, deep=True)
    assert problems == [] and len(recs) == 3


def _garble(gt: Path) -> Path:
    rows = gt.read_text().splitlines()
    vals = rows[0].split()
    vals[4] = "abc"
    rows[0] = " ".join(vals)
    gt.write_text("\n".join(rows) + "\n")
    return gt


BROKEN = {
    "missing video": (lambda d: (d / "vid.avi").unlink() or d, "no video"),
    "two rows": (
        lambda d: (d / "ground_truth.txt").write_text("1 2 3\n4 5 6\n") and d / "ground_truth.txt",
        "2 non-empty row(s), expected three",
    ),
    "garbled value": (lambda d: _garble(d / "ground_truth.txt"), "row 1 (PPG), value 5: not a number"),
    "ground truth of a shorter recording": (
        lambda d: (d / "ground_truth.txt").write_text(
            "\n".join(" ".join(r.split()[:100]) for r in (d / "ground_truth.txt").read_text().splitlines())
        )
        and d / "ground_truth.txt",
        "truncated, or from another recording?",
    ),
    "missing ground truth": (
        lambda d: (d / "ground_truth.txt").unlink() or d,
        "video without ground truth",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_subject_is_reported_with_its_file(ubfc, case):
    brk, message = BROKEN[case]
    bad = brk(ubfc / "DATASET_2" / "subject1")
    recs, problems = UBFCrPPGAdapter().scan_with_problems(ubfc)
    assert sorted(r.id for r in recs) == ["10-gt", "subject3"]
    assert len(problems) == 1 and problems[0].recording_id == "subject1"
    assert Path(problems[0].path) == bad and message in problems[0].message
    with pytest.raises(RecordingError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        UBFCrPPGAdapter().scan(ubfc)


def test_flat_ppg_is_an_error_not_54_bpm(ubfc):
    gt = _gt2(ubfc)
    rows = gt.read_text().splitlines()
    rows[0] = " ".join(["1.0"] * len(rows[0].split()))
    gt.write_text("\n".join(rows) + "\n")
    rec = {r.id: r for r in UBFCrPPGAdapter().scan(ubfc)}["subject1"]
    with pytest.raises(RecordingError, match="constant"):
        rec.load_ground_truth()
    recs, problems = UBFCrPPGAdapter().check(ubfc)
    assert "subject1" not in {r.id for r in recs}
    assert [(p.severity, "constant" in p.message) for p in problems] == [("error", True)]


def test_read_ubfc2_rejects_time_in_ms(tmp_path):
    p = tmp_path / "ground_truth.txt"
    p.write_text("1 2 3 4\n70 70 70 70\n0 33 66 100\n")
    with pytest.raises(RecordingError, match="expected seconds"):
        read_ubfc2(p)


def test_wrong_roots_are_one_line_errors(tmp_path):
    with pytest.raises(HrbenchError, match="does not exist"):
        UBFCrPPGAdapter().scan(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HrbenchError, match="not a UBFC-rPPG copy"):
        UBFCrPPGAdapter().scan(tmp_path / "empty")


def test_registered_through_entry_points():
    assert registered_datasets("ubfc_rppg") == [UBFCrPPGAdapter] and UBFCrPPGAdapter.name == "ubfc_rppg"


def _repeat_time(gt: Path, samples: tuple[int, ...]) -> list[str]:
    """Copy the time of the sample before each 0-based index in ``samples`` onto it, as real files do."""
    rows = gt.read_text().splitlines()
    t = rows[2].split()
    for k in samples:
        t[k] = t[k - 1]
    rows[2] = " ".join(t)
    gt.write_text("\n".join(rows) + "\n")
    return t


def test_one_repeated_time_is_repaired_with_a_warning(ubfc):
    """Real UBFC-rPPG time rows repeat one value once (67.716 s at samples 2023-2024): a warning, not a lost subject."""
    gt = _gt2(ubfc)
    t_raw = np.array(gt.read_text().splitlines()[2].split(), dtype=float)
    t = _repeat_time(gt, (200,))
    recs, problems = UBFCrPPGAdapter().scan_with_problems(ubfc)
    assert {r.id for r in recs} == {"subject1", "subject3", "10-gt"}
    assert [(p.severity, p.recording_id, Path(p.path)) for p in problems] == [("warning", "subject1", gt)]
    rel = float(t[199]) - t_raw[0]
    assert f"time row: sample 201 (t = {rel:.3f} s) repeats the previous time" in problems[0].message
    rec = {r.id: r for r in recs}["subject1"]
    ts = rec.timestamps()
    assert np.all(np.diff(ts) > 0) and ts[200] == pytest.approx((t_raw[199] + t_raw[201]) / 2 - t_raw[0])
    sig = rec.load_ground_truth()
    np.testing.assert_array_equal(sig.sample_times(), ts)  # the PPG keeps one sample per frame
    assert abs(signal_hr(sig, 0.0, 12.0) - read_mini_truth(ubfc)["subject1"]["hr"]) <= 1.0
    recs, problems = UBFCrPPGAdapter().check(ubfc)
    assert len(recs) == 3 and [p.severity for p in problems] == ["warning"]


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        ((200, 201), "samples 201-202 (t = "),
        (tuple(range(20, 360, 20)), "17 of 360 samples repeat or go back in time (first: sample 21 (t = "),
    ],
)
def test_systematic_time_faults_are_errors(ubfc, samples, message):
    gt = _gt2(ubfc)
    _repeat_time(gt, samples)
    recs, problems = UBFCrPPGAdapter().scan_with_problems(ubfc)
    assert "subject1" not in {r.id for r in recs}
    assert [(p.severity, Path(p.path)) for p in problems] == [("error", gt)]
    assert problems[0].message.startswith("time row: " + message)
    assert "time value" not in problems[0].message


def test_run_on_a_copy_with_one_repeated_time_scores_right(tmp_path, capsys):
    """Through the CLI: the subject with the repeat is scored, against the right reference HR."""
    import sqlite3

    from miniature import use_faces

    from hrbench.cli import main

    with use_faces():
        root = write_mini_ubfc(tmp_path / "UBFC", n_subjects=2, n_dataset1=1, duration_s=8.0)
    _repeat_time(_gt2(root), (150,))
    proto = tmp_path / "ubfc_mini.toml"
    proto.write_text(
        'name = "ubfc_mini"\nscope = "within"\nsplit = "subject"\nk = 3\nseed = 0\n'
        "[clips]\nlength = 120\nper_video = 3\nfps = 30\n"
    )
    store = tmp_path / "s.sqlite"
    rc = main(["run", "--protocol", str(proto), "--dataset", "ubfc_rppg", "--data-root", str(root),
               "--method", "chrom", "--store", str(store), "--workers", "1"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "sample 151 (t = " in out.out + out.err and "repeats the previous time" in out.out + out.err
    rows = sqlite3.connect(store).execute(
        "SELECT recording_id, hr_ref, hr_pred FROM video_predictions"
    ).fetchall()
    truth = read_mini_truth(root)
    assert {r[0] for r in rows} == set(truth)
    for rid, ref, pred in rows:
        assert abs(ref - truth[rid]["hr"]) < 1.5, rid
        assert abs(pred - truth[rid]["hr"]) < 3.0, rid
