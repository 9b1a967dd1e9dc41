"""VIPL-HR adapter on a miniature copy of the real layout (tests/miniature.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from _helpers import registered_datasets
from miniature import read_mini_truth, write_mini_vipl

from hrbench.errors import HrbenchError, RecordingError
from hrbench.pulse.hr import signal_hr
from hrbench_plugins.datasets.vipl_hr import VIPLHRAdapter


@pytest.fixture(scope="module")
def vipl(tmp_path_factory) -> Path:
    return write_mini_vipl(tmp_path_factory.mktemp("vipl") / "VIPL-HR")


@pytest.fixture
def small(tmp_path) -> Path:
    """One subject, one source with time.txt and one without: cheap to break."""
    return write_mini_vipl(
        tmp_path / "VIPL-HR",
        n_subjects=1,
        sources=("source1", "source2"),
        extra_task=None,
        n_folds=1,
        duration_s=4.0,
    )


def test_scan_reads_every_rgb_recording(vipl):
    truth = read_mini_truth(vipl)
    recs = VIPLHRAdapter().scan(vipl)
    assert {r.id for r in recs} == {k for k in truth if not k.endswith("source4")}
    assert "p1_v1-2_source1" in {r.id for r in recs}
    for r in recs:
        t = truth[r.id]
        assert r.dataset == "vipl_hr"
        assert r.subject == t["subject"] == r.id.split("_")[0]
        assert r.session == r.id.split("_")[1]
        assert r.frames.kind == "video" and r.frames.path.name == "video.avi"
        assert r.fps == pytest.approx(t["fps"], rel=1e-6)
        assert r.meta["source"] == r.id.split("_")[2]


def test_timestamps_come_from_time_txt(vipl):
    recs = {r.id: r for r in VIPLHRAdapter().scan(vipl)}
    with_time = recs["p2_v1_source1"]
    raw = (vipl / "data/p2/v1/source1/time.txt").read_bytes()
    assert b"\r\n" in raw  # the miniature really is CRLF
    ms = np.array([float(x) for x in raw.split()])
    ts = with_time.timestamps()
    assert len(ts) == read_mini_truth(vipl)["p2_v1_source1"]["n_frames"]
    np.testing.assert_allclose(ts, (ms - ms[0]) / 1000.0)
    assert recs["p2_v1_source2"].timestamps is None  # source2 ships no time.txt
    assert recs["p2_v1_source2"].fps == 30.0


def test_reference_hr_from_the_crlf_wave_matches_truth(vipl):
    truth = read_mini_truth(vipl)
    for r in VIPLHRAdapter().scan(vipl):
        sig = r.load_ground_truth()
        assert sig.kind == "bvp"
        assert sig.fs == pytest.approx(60.0, rel=0.05)
        dur = truth[r.id]["n_frames"] / truth[r.id]["fps"]
        assert abs(signal_hr(sig, 0.0, dur) - truth[r.id]["hr"]) < 1.0, r.id


def test_nir_source_only_on_request(vipl):
    ids = {r.id for r in VIPLHRAdapter(include_nir=True).scan(vipl)}
    assert set(read_mini_truth(vipl)) == ids
    assert any(i.endswith("source4") for i in ids)


def test_check_is_clean_on_a_good_copy(vipl):
    recs, problems = VIPLHRAdapter().check(vipl)
    assert problems == []
    assert len(recs) == len(VIPLHRAdapter().scan(vipl))


def test_official_folds_from_mat_files(tmp_path):
    root = write_mini_vipl(
        tmp_path / "v", n_subjects=7, sources=("source2",), extra_task=None, duration_s=3.0
    )
    folds = VIPLHRAdapter().official_folds(root)
    assert folds == [["p1", "p6"], ["p2", "p7"], ["p3"], ["p4"], ["p5"]]
    subjects = {r.subject for r in VIPLHRAdapter().scan(root)}
    assert subjects == {s for f in folds for s in f}
    # Pointing at data/ itself finds the folds next to it.
    assert VIPLHRAdapter().official_folds(root / "data") == folds


def test_official_folds_errors_name_the_file(tmp_path, small):
    adapter = VIPLHRAdapter()
    scipy.io.savemat(str(small / "fold" / "fold1.mat"), {"folds": np.array([[1.0]])})
    with pytest.raises(HrbenchError, match="variable 'fold1' not found") as e:
        adapter.official_folds(small)
    assert e.value.path.endswith("fold1.mat")
    shutil.rmtree(small / "fold")
    with pytest.raises(HrbenchError, match="no official fold files"):
        adapter.official_folds(small)


def _break_wave_short(d: Path) -> Path:
    lines = (d / "wave.csv").read_bytes().split(b"\r\n")
    (d / "wave.csv").write_bytes(b"\r\n".join(lines[: len(lines) // 2]) + b"\r\n")
    return d / "wave.csv"


def _break_wave_garbled(d: Path) -> Path:
    # Line breaks escaped into literal text by a bad export: one long line of "50\r\n51\r\n...".
    text = (d / "wave.csv").read_bytes().decode()
    header, rest = text.split("\r\n", 1)
    (d / "wave.csv").write_bytes((header + "\r\n" + rest.replace("\r\n", "\\r\\n")).encode())
    return d / "wave.csv"


def _edit_times(d: Path, edit) -> Path:
    ms = np.array(d.joinpath("time.txt").read_text().split(), dtype=np.float64)
    d.joinpath("time.txt").write_bytes(("\r\n".join(f"{v:.0f}" for v in edit(ms)) + "\r\n").encode())
    return d / "time.txt"


def _cut_wave(fraction: float):
    """The wave kept to (or, above 1, padded by repeating it to) ``fraction`` of its samples."""

    def brk(d: Path) -> Path:
        header, *values = (d / "wave.csv").read_bytes().decode().split()
        n = int(round(fraction * len(values)))
        values = (values * 2)[:n]
        (d / "wave.csv").write_bytes(("\r\n".join([header, *values]) + "\r\n").encode())
        return d / "wave.csv"

    return brk


def _write(name: str, data: bytes):
    def brk(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name

    return brk


def _delete(name: str):
    def brk(d: Path) -> Path:
        (d / name).unlink()
        return d / name

    return brk


BROKEN = {
    "missing video": (_delete("video.avi"), "video.avi missing"),
    "missing wave": (_delete("wave.csv"), "wave.csv missing"),
    "empty wave": (_write("wave.csv", b""), "empty"),
    "header only": (_write("wave.csv", b"Wave\r\n"), "no values"),
    "wrong header": (_write("wave.csv", b"BVP\r\n1\r\n2\r\n"), "expected 'Wave'"),
    "wave shorter than video": (_break_wave_short, "shorter than the video"),
    "garbled CRLF": (_break_wave_garbled, "is not a number"),
    "time.txt not increasing": (_write("time.txt", b"90\r\n60\r\n30\r\n0\r\n"), "do not increase overall"),
    "time.txt stalls for a stretch": (
        lambda d: _edit_times(d, lambda ms: np.r_[ms[:50], [ms[50]] * 3, ms[53:]]),
        "lines 52-53 (t = 1.675-1.675 s) repeat or go back in time more than once in a row",
    ),
    "wave cut to 80 %": (_cut_wave(0.8), "the wave is 20 % shorter"),
    "wave 6 % longer": (_cut_wave(1.06), "the wave is 6 % longer"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_recording_is_reported_with_its_file(small, case):
    brk, message = BROKEN[case]
    bad_file = brk(small / "data/p1/v1/source1")
    adapter = VIPLHRAdapter()
    recs, problems = adapter.scan_with_problems(small)
    assert [r.id for r in recs] == ["p1_v1_source2"]  # the intact recording is still usable
    assert len(problems) == 1
    p = problems[0]
    assert Path(p.path) == bad_file
    assert message in p.message
    assert p.recording_id == "p1_v1_source1"
    with pytest.raises(RecordingError, match=re.escape(message)) as e:
        adapter.scan(small)
    assert Path(e.value.path) == bad_file
    assert [q.path for q in adapter.check(small)[1]] == [str(bad_file)]


def test_other_line_endings_and_bom_still_parse(small):
    """A wave re-saved by a Windows editor as UTF-16 with bare CR line ends is the same wave."""
    wave = small / "data/p1/v1/source1/wave.csv"
    values = wave.read_bytes().decode().split()
    wave.write_bytes("\r".join(values).encode("utf-16"))
    rec = {r.id: r for r in VIPLHRAdapter().scan(small)}["p1_v1_source1"]
    t = read_mini_truth(small)["p1_v1_source1"]
    assert abs(signal_hr(rec.load_ground_truth(), 0.0, t["n_frames"] / t["fps"]) - t["hr"]) < 1.0


def test_undecodable_video_is_found_by_check_only(small):
    # With time.txt the scan never opens the video; check does.
    video = small / "data/p1/v1/source1/video.avi"
    video.write_bytes(b"not an avi at all" * 10)
    recs, problems = VIPLHRAdapter().scan_with_problems(small)
    assert problems == [] and len(recs) == 2
    recs, problems = VIPLHRAdapter().check(small)
    assert [r.id for r in recs] == ["p1_v1_source2"]
    assert (
        len(problems) == 1
        and Path(problems[0].path) == video
        and "cannot open video" in problems[0].message
    )


def test_wrong_roots_are_one_line_errors(tmp_path):
    with pytest.raises(HrbenchError, match="does not exist") as e:
        VIPLHRAdapter().scan(tmp_path / "nowhere")
    assert e.value.path == str(tmp_path / "nowhere")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "readme.txt").write_text("hello")
    with pytest.raises(HrbenchError, match="not a VIPL-HR copy"):
        VIPLHRAdapter().scan(tmp_path / "other")


def test_registered_through_entry_points():
    """The declared entry point loads this module, whose hook registers the adapter under its name."""
    assert registered_datasets("vipl_hr") == [VIPLHRAdapter] and VIPLHRAdapter.name == "vipl_hr"


def test_wave_is_held_to_its_stated_60_hz(small):
    """A wave cut to 80 % implies 48 Hz: once inside a 45-75 Hz tolerance and stretched, now an error
    in scan (so in runs), in loading, and in check; 4 % short is a warning of check only."""
    src = small / "data/p1/v1/source1"
    full = (src / "wave.csv").read_bytes()
    _cut_wave(0.8)(src)
    rec_ok = {r.id: r for r in VIPLHRAdapter().scan_with_problems(small)[0]}
    assert "p1_v1_source1" not in rec_ok
    with pytest.raises(RecordingError, match="spread over the video it would read every HR 20 % too low"):
        VIPLHRAdapter().scan(small)
    # The adapter's stated rate can be changed for copies whose waves run at another rate.
    recs, problems = VIPLHRAdapter(wave_hz=48.0).scan_with_problems(small)
    assert [r.id for r in recs] == ["p1_v1_source1"]
    assert [(p.recording_id, "25 % longer" in p.message) for p in problems] == [("p1_v1_source2", True)]
    (src / "wave.csv").write_bytes(full)
    _cut_wave(0.96)(src)
    recs, problems = VIPLHRAdapter().check(small)
    assert {r.id for r in recs} == {"p1_v1_source1", "p1_v1_source2"}
    assert [(p.severity, Path(p.path).name, "4 % shorter" in p.message) for p in problems] == [
        ("warning", "wave.csv", True)
    ]


def test_isolated_time_txt_glitch_is_repaired_with_a_warning(small):
    src = small / "data/p1/v1/source1"
    ms = np.array((src / "time.txt").read_text().split(), dtype=np.float64)
    _edit_times(src, lambda m: np.r_[m[:40], m[39], m[41:]])  # line 41 repeats line 40
    recs, problems = VIPLHRAdapter().scan_with_problems(small)
    assert {r.id for r in recs} == {"p1_v1_source1", "p1_v1_source2"}
    assert len(problems) == 1 and problems[0].severity == "warning"
    assert Path(problems[0].path) == src / "time.txt"
    assert f"line 41 (t = {(ms[39] - ms[0]) / 1000:.3f} s) repeats the previous time" in problems[0].message
    ts = {r.id: r for r in recs}["p1_v1_source1"].timestamps()
    assert np.all(np.diff(ts) > 0)
    assert ts[40] == pytest.approx((ms[39] + ms[41]) / 2000 - ms[0] / 1000)
    np.testing.assert_allclose(np.delete(ts, 40), np.delete((ms - ms[0]) / 1000.0, 40))
    # check reports it once, as the warning it is.
    recs, problems = VIPLHRAdapter().check(small)
    assert len(recs) == 2 and [p.severity for p in problems] == ["warning"]


def test_nir_source_is_listed_as_left_out(vipl):
    left = VIPLHRAdapter().left_out(vipl)
    truth = read_mini_truth(vipl)
    assert sorted(x.recording_id for x in left) == sorted(r for r in truth if r.endswith("source4"))
    assert all("near-infrared" in x.reason and Path(x.path).name == "source4" for x in left)
    assert VIPLHRAdapter(include_nir=True).left_out(vipl) == []
