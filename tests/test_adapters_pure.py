"""PURE adapter on a miniature copy of the real layout (tests/miniature.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _helpers import registered_datasets
from miniature import read_mini_truth, write_mini_pure

from hrbench.errors import HrbenchError, RecordingError
from hrbench.pulse.hr import signal_hr
from hrbench_plugins.datasets.pure import PUREAdapter


@pytest.fixture
def pure(tmp_path) -> Path:
    return write_mini_pure(tmp_path / "PURE", n_subjects=1, setups=("01", "02"), duration_s=11.0)


def test_scan_reads_sequences_and_frame_times(pure):
    truth = read_mini_truth(pure)
    recs = {r.id: r for r in PUREAdapter().scan(pure)}
    assert set(recs) == set(truth) == {"01-01", "01-02"}
    for rid, r in recs.items():
        assert (r.subject, r.session) == ("01", rid[-2:])
        assert r.frames.kind == "images" and r.frames.pattern == "*.png"
        assert len(r.frames.image_files()) == truth[rid]["n_frames"]
        data = json.loads((pure / f"{rid}.json").read_text())
        ns = np.array([e["Timestamp"] for e in data["/Image"]], dtype=np.int64)
        np.testing.assert_allclose(r.timestamps(), (ns - ns[0]) / 1e9, atol=1e-6)
        assert r.fps == pytest.approx(30.0, rel=0.02)
    assert recs["01-02"].meta["setup"] == "talking"


def test_reference_hr_from_the_waveform_on_the_image_clock(pure):
    truth = read_mini_truth(pure)
    for r in PUREAdapter().scan(pure):
        sig = r.load_ground_truth()
        assert sig.kind == "bvp" and sig.times is not None
        assert sig.sample_times()[0] == pytest.approx(-0.2, abs=1e-6)  # oximeter starts first
        assert sig.fs == pytest.approx(60.0, rel=0.01)
        for t0, t1 in ((0.0, 10.0), (1.0, 11.0)):
            assert abs(signal_hr(sig, t0, t1) - truth[r.id]["hr"]) <= 1.0, r.id


def test_rppg_toolbox_nesting_also_works(tmp_path):
    root = write_mini_pure(tmp_path / "PURE", n_subjects=1, setups=("03",), duration_s=11.0, nested=True)
    assert (root / "01-03" / "01-03.json").is_file() and (root / "01-03" / "01-03").is_dir()
    recs, problems = PUREAdapter().check(root)
    assert problems == [] and [r.id for r in recs] == ["01-03"]


def test_check_is_clean_on_a_good_copy(pure):
    recs, problems = PUREAdapter().check(pure, deep=True)
    assert problems == [] and len(recs) == 2


def _edit_json(edit):
    def brk(root: Path) -> Path:
        js = root / "01-01.json"
        data = json.loads(js.read_text())
        edit(data)
        js.write_text(json.dumps(data))
        return js

    return brk


def _drop_frame(root: Path) -> Path:
    sorted((root / "01-01").glob("*.png"))[50].unlink()
    return root / "01-01"


BROKEN = {
    "not json": (lambda r: (r / "01-01.json").write_text("{oops") and r / "01-01.json", "not valid JSON"),
    "no /Image": (_edit_json(lambda d: d.pop("/Image")), "no '/Image' list"),
    "no waveform": (
        _edit_json(lambda d: d["/FullPackage"][7]["Value"].pop("waveform")),
        "'/FullPackage' entry 8 has no Value.waveform",
    ),
    "frame file lost": (_drop_frame, "329 frame files but 330 '/Image' timestamps"),
    "waveform of a shorter sequence": (
        _edit_json(lambda d: d.update({"/FullPackage": d["/FullPackage"][:200]})),
        "truncated, or from another recording?",
    ),
    "no json": (lambda r: (r / "01-01.json").unlink() or r / "01-01", "frames without a 01-01.json"),
    "oximeter clock stalls": (
        _edit_json(lambda d: [e.update(Timestamp=d["/FullPackage"][99]["Timestamp"])
                              for e in d["/FullPackage"][100:103]]),
        "'/FullPackage' timestamps: entries 101-102",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_sequence_is_reported_with_its_file(pure, case):
    brk, message = BROKEN[case]
    bad = brk(pure)
    recs, problems = PUREAdapter().scan_with_problems(pure)
    assert [r.id for r in recs] == ["01-02"]
    assert len(problems) == 1 and problems[0].recording_id == "01-01"
    assert Path(problems[0].path) == bad and message in problems[0].message
    with pytest.raises(RecordingError):
        PUREAdapter().scan(pure)


def test_wrong_roots_are_one_line_errors(tmp_path):
    with pytest.raises(HrbenchError, match="does not exist"):
        PUREAdapter().scan(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HrbenchError, match="not a PURE copy"):
        PUREAdapter().scan(tmp_path / "empty")


def test_registered_through_entry_points():
    assert registered_datasets("pure") == [PUREAdapter] and PUREAdapter.name == "pure"


def test_isolated_repeated_timestamp_is_repaired_with_a_warning(pure):
    data = json.loads((pure / "01-01.json").read_text())
    ns = [e["Timestamp"] for e in data["/FullPackage"]]
    _edit_json(lambda d: d["/FullPackage"][300].update(Timestamp=ns[299]))(pure)
    recs, problems = PUREAdapter().scan_with_problems(pure)
    assert len(recs) == 2
    assert [(p.severity, p.recording_id) for p in problems] == [("warning", "01-01")]
    assert "'/FullPackage' timestamps: entry 301 (t = " in problems[0].message
    assert "repeats the previous time" in problems[0].message
    sig = {r.id: r for r in recs}["01-01"].load_ground_truth()
    t = sig.sample_times()
    assert np.all(np.diff(t) > 0)
    img0 = data["/Image"][0]["Timestamp"]
    assert t[300] == pytest.approx(((ns[299] + ns[301]) / 2 - img0) / 1e9)
    truth = read_mini_truth(pure)["01-01"]["hr"]
    assert abs(signal_hr(sig, 0.0, 10.0) - truth) <= 1.0
