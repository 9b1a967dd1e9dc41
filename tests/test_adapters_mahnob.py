"""MAHNOB-HCI adapter on a miniature copy of the real layout (tests/miniature.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyedflib
import pytest
from _helpers import registered_datasets
from miniature import read_mini_truth, write_avi, write_bdf, write_mini_mahnob

from hrbench.errors import HrbenchError, RecordingError
from hrbench.pulse.hr import signal_hr
from hrbench_plugins.datasets.mahnob_hci import MahnobHCIAdapter, load_mahnob_ecg

PRE_S = 3.0  # write_mini_mahnob's default Status pre-roll


@pytest.fixture(scope="module")
def mahnob(tmp_path_factory) -> Path:
    return write_mini_mahnob(tmp_path_factory.mktemp("mahnob") / "MAHNOB-HCI")


@pytest.fixture
def copy(mahnob, tmp_path) -> Path:
    """A private copy of the miniature to break."""
    return Path(shutil.copytree(mahnob, tmp_path / "MAHNOB-HCI"))


def _bdf(session: Path) -> Path:
    return next(session.glob("*.bdf"))


def _rewrite_bdf(path: Path, keep=lambda label: True, edit=lambda label, x: x, order=None) -> None:
    with pyedflib.EdfReader(str(path)) as r:
        labels = r.getSignalLabels()
        fs = r.getSampleFrequency(0)
        data = {lab: r.readSignal(i) for i, lab in enumerate(labels)}
    names = order(labels) if order else labels
    path.unlink()
    write_bdf(path, {lab: edit(lab, data[lab]) for lab in names if keep(lab)}, fs)


def test_scan_reads_emotion_stimulus_sessions(mahnob):
    truth = read_mini_truth(mahnob)
    recs = MahnobHCIAdapter().scan(mahnob)
    assert {r.id for r in recs} == set(truth)  # neutral (9001) and tagging (9002) sessions skipped
    for r in recs:
        t = truth[r.id]
        assert r.subject == t["subject"]  # from <subject id> in session.xml
        assert r.session == f"trial{t['trial']}"
        assert r.fps == 61.0 and r.timestamps is None
        assert "C1 trigger" in r.frames.path.name and r.frames.path.suffix == ".avi"
        assert r.frames.path.parent.name == r.id
        assert r.gt_path.name.endswith("_emotion.bdf") and "_S_" in r.gt_path.name
        assert r.window == pytest.approx((305 / 61, 2135 / 61))
        assert r.window == pytest.approx((5.0, 35.0))


def test_reference_hr_from_exg3_r_peaks_in_the_window(mahnob):
    truth = read_mini_truth(mahnob)
    for r in MahnobHCIAdapter().scan(mahnob):
        sig = r.load_ground_truth()
        assert sig.kind == "ecg" and sig.fs == 256.0
        assert sig.offset == pytest.approx(-PRE_S)  # BDF time 3 s = first video frame
        assert abs(signal_hr(sig, *r.window) - truth[r.id]["hr"]) < 1.0, r.id
        # EXG1 carries a different rate in the miniature: reading the wrong lead would show.
        other = load_mahnob_ecg(str(r.gt_path), "EXG1")
        assert abs(signal_hr(other, *r.window) - (truth[r.id]["hr"] + 25.0)) < 1.0


def test_channels_are_found_by_label_not_position(copy):
    session = copy / "Sessions" / "302"
    _rewrite_bdf(_bdf(session), order=lambda labels: list(reversed(labels)))
    with pyedflib.EdfReader(str(_bdf(session))) as r:
        assert r.getSignalLabels()[0] == "Status" and r.getSignalLabels()[-1] == "Fp1"
    rec = {r.id: r for r in MahnobHCIAdapter().scan(copy)}["302"]
    assert (
        abs(signal_hr(rec.load_ground_truth(), *rec.window) - read_mini_truth(copy)["302"]["hr"])
        < 1.0
    )


def test_neutral_sessions_on_request(mahnob):
    recs = {r.id: r for r in MahnobHCIAdapter(include_neutral=True).scan(mahnob)}
    assert "9001" in recs and "9002" not in recs
    assert recs["9001"].window is None and recs["9001"].meta["stimulus"] is False


def test_check_is_clean_on_a_good_copy(mahnob):
    recs, problems = MahnobHCIAdapter().check(mahnob)
    assert problems == [] and len(recs) == len(read_mini_truth(mahnob))


def _write_xml(text: str):
    def brk(session: Path) -> Path:
        (session / "session.xml").write_text(text)
        return session / "session.xml"

    return brk


def _garbage(path: Path) -> Path:
    path.write_bytes(b"0       not a bdf header" * 20)
    return path


BROKEN = {
    "missing C1 video": (
        lambda s: next(s.glob("*C1 trigger*.avi")).unlink() or s,
        "no colour video matching",
    ),
    "missing session.xml": (
        lambda s: (s / "session.xml").unlink() or s / "session.xml",
        "session.xml missing",
    ),
    "garbled session.xml": (
        _write_xml("<session sessionId='302'><subject"),
        "cannot parse session.xml",
    ),
    "no subject in session.xml": (
        _write_xml('<session sessionId="302" vidRate="61"/>'),
        "no <subject id=...>",
    ),
    "unreadable BDF": (lambda s: _garbage(_bdf(s)), "cannot read BDF"),
    "ECG channel absent": (
        lambda s: _rewrite_bdf(_bdf(s), keep=lambda lab: lab != "EXG3") or _bdf(s),
        "channel 'EXG3' absent",
    ),
    "Status channel absent": (
        lambda s: _rewrite_bdf(_bdf(s), keep=lambda lab: lab != "Status") or _bdf(s),
        "channel 'Status' absent",
    ),
    "stimulus session without BDF": (
        lambda s: _bdf(s).unlink() or s,
        "stimulus session without a Part_",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_session_is_reported_with_its_file(copy, case):
    brk, message = BROKEN[case]
    bad = brk(copy / "Sessions" / "302")
    adapter = MahnobHCIAdapter()
    recs, problems = adapter.scan_with_problems(copy)
    assert sorted(r.id for r in recs) == ["304", "502", "504"]
    assert len(problems) == 1
    assert Path(problems[0].path) == bad and message in problems[0].message
    assert problems[0].recording_id == "302"
    with pytest.raises(RecordingError, match=message) as e:
        adapter.scan(copy)
    assert Path(e.value.path) == bad


def test_check_finds_bad_status_and_short_video(copy):
    s302, s304 = copy / "Sessions" / "302", copy / "Sessions" / "304"
    _rewrite_bdf(_bdf(s302), edit=lambda lab, x: np.zeros_like(x) if lab == "Status" else x)
    video = next(s304.glob("*C1 trigger*.avi"))
    video.unlink()
    write_avi(
        video, 20 * 61, 61.0, 70.0
    )  # 20 s: shorter than the 5-35 s window and the Status span
    recs, problems = MahnobHCIAdapter().scan_with_problems(copy)
    assert len(recs) == 4 and problems == []  # header-level scan cannot see either
    recs, problems = MahnobHCIAdapter().check(copy)
    assert sorted(r.id for r in recs) == ["502", "504"]
    by_id = {}
    for p in problems:
        by_id.setdefault(p.recording_id, []).append(p)
    assert [(Path(p.path), "zero throughout" in p.message) for p in by_id["302"]] == [
        (_bdf(s302), True)
    ]
    msgs = " | ".join(p.message for p in by_id["304"])
    assert "Status channel marks 36.0 s of video but the video lasts 20.0 s" in msgs
    # The window is cut at the video's end, as a run cuts it: a warning, with both frame counts.
    short = [p for p in by_id["304"] if "protocol window" in p.message]
    assert [p.severity for p in short] == ["warning"]
    assert (
        "video lasts 20.0 s (1220 frames), shorter than the protocol window 5.0-35.0 s "
        "(frames 306-2135): the window is cut at the video's end, 5.0-20.0 s (915 frames after the cut)"
    ) in short[0].message


def test_intact_short_recording_is_not_an_error_of_the_data(tmp_path):
    """A healthy 6-s session (video, Status and ECG all 6 s): the 5-35 s cut leaves 1 s, which is
    the protocol's concern (`datasets check --protocol`), not a fault of the copy."""
    root = write_mini_mahnob(tmp_path / "M", n_subjects=1, trials_per_subject=1, duration_s=6.0, extras=False)
    recs, problems = MahnobHCIAdapter().check(root)
    assert [r.id for r in recs] == ["302"]
    assert [(p.severity, "366 frames" in p.message, "61 frames after the cut" in p.message) for p in problems] == [
        ("warning", True, True)
    ]


def test_neutral_and_tagging_sessions_are_listed_as_left_out(mahnob):
    left = {x.recording_id: x for x in MahnobHCIAdapter().left_out(mahnob)}
    assert set(left) == {"9001", "9002"}
    assert "neutral trial" in left["9001"].reason and "include_neutral=True" in left["9001"].reason
    assert "implicit-tagging session" in left["9002"].reason
    assert Path(left["9001"].path) == mahnob / "Sessions" / "9001"
    assert {x.recording_id for x in MahnobHCIAdapter(include_neutral=True).left_out(mahnob)} == {"9002"}


def test_wrong_roots_are_one_line_errors(tmp_path):
    with pytest.raises(HrbenchError, match="does not exist"):
        MahnobHCIAdapter().scan(tmp_path / "nowhere")
    (tmp_path / "x" / "videos").mkdir(parents=True)
    with pytest.raises(HrbenchError, match="no Sessions/ folder") as e:
        MahnobHCIAdapter().scan(tmp_path / "x")
    assert e.value.path == str(tmp_path / "x")


def test_registered_through_entry_points():
    """The declared entry point loads this module, whose hook registers the adapter under its name."""
    assert registered_datasets("mahnob_hci") == [MahnobHCIAdapter] and MahnobHCIAdapter.name == "mahnob_hci"
