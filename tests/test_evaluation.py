"""Evaluation rules end to end: whole-video and windowed scoring next to the clip rule."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from hrbench.cli import main
from hrbench.clips.protocol import load_protocol
from hrbench.clips.sampling import eval_bounds, tile_starts

HRS = {f"r{i}": hr for i, hr in enumerate([58, 72, 88, 104, 128, 66])}


@pytest.fixture
def tiny(thirdparty_site, tmp_path):
    import thirdparty_hr

    return thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", HRS, seconds=24.0)


def _run(tiny, tmp_path, protocol, methods="pos,tp_green,tp_mean"):
    store = tmp_path / "s.sqlite"
    rc = main(["run", "--method", methods, "--dataset", "tiny", "--data-root", str(tiny), "--protocol", str(protocol),
               "--store", str(store), "--workers", "1"])
    assert rc == 0
    return sqlite3.connect(store)


def _protocol(tmp_path, rule, extra=""):
    p = tmp_path / f"{rule}.toml"
    p.write_text(f'name = "{rule}_t"\nk = 3\n[clips]\nlength = 150\nper_video = 6\naggregate = "median"\n'
                 f'[hr]\nband_bpm = [42, 180]\n[evaluation]\nrule = "{rule}"\n{extra}')
    return p


def test_whole_video_rule_scores_each_method_once_per_recording(tiny, tmp_path):
    con = _run(tiny, tmp_path, _protocol(tmp_path, "whole"))
    for method in ("pos", "tp_green", "tp_mean"):
        units = con.execute(
            "SELECT c.recording_id, COUNT(*), MIN(c.start_s) FROM clip_predictions c JOIN runs r USING (run_key) "
            "WHERE r.method = ? GROUP BY c.recording_id", (method,)).fetchall()
        assert len(units) == len(HRS) and all(n == 1 and start == 0 for _, n, start in units)
    rows = con.execute("SELECT r.method, v.recording_id, v.hr_pred, v.hr_ref FROM video_predictions v "
                       "JOIN runs r USING (run_key)").fetchall()
    assert len(rows) == 3 * len(HRS)
    for method, rid, pred, ref in rows:
        assert abs(ref - HRS[rid]) < 0.5  # reference over the whole span, read by the same estimator
        if method != "tp_mean":  # the training-mean method is not meant to be accurate
            assert abs(pred - HRS[rid]) < 1.5, (method, rid, pred)
    desc = con.execute("SELECT DISTINCT protocol_desc FROM runs").fetchall()
    assert len(desc) == 1 and "evaluation rule: whole" in desc[0][0]


def test_windowed_rule_scores_every_window_against_its_own_reference(tiny, tmp_path):
    con = _run(tiny, tmp_path, _protocol(tmp_path, "windowed", "window_s = 10\nhop_s = 5\n"), methods="pos,tp_green")
    # 24 s at 30 fps: windows of 10 s every 5 s -> starts 0, 5, 10 s (the last would end past 24 s at 15 s).
    for method in ("pos", "tp_green"):
        starts = con.execute(
            "SELECT c.start_s FROM clip_predictions c JOIN runs r USING (run_key) WHERE r.method = ? AND "
            "c.recording_id = 'r0' "
            "ORDER BY c.clip_index", (method,)).fetchall()
        np.testing.assert_allclose([s for (s,) in starts], [0.0, 5.0, 10.0], atol=0.05)
    for rid, pred, ref in con.execute("SELECT c.recording_id, c.hr_pred, c.hr_ref FROM clip_predictions c"):
        assert abs(ref - HRS[rid]) < 1.0 and abs(pred - HRS[rid]) < 2.0


def test_clip_rule_reference_is_aggregated_over_the_same_clips(tiny, tmp_path):
    con = _run(tiny, tmp_path, _protocol(tmp_path, "clips"), methods="tp_green")
    for rid, pred, ref in con.execute("SELECT recording_id, hr_pred, hr_ref FROM video_predictions"):
        clips = con.execute("SELECT hr_pred, hr_ref FROM clip_predictions WHERE recording_id = ?", (rid,)).fetchall()
        assert len(clips) == 6
        assert ref == pytest.approx(float(np.median([r for _, r in clips])))
        assert pred == pytest.approx(float(np.median([p for p, _ in clips])))


def test_eval_windows_and_tiles_cover_the_recording():
    np.testing.assert_array_equal(eval_bounds(900, 30.0, "whole", 30, 15), [[0, 900]])
    b = eval_bounds(2000, 30.0, "windowed", 30, 15)
    assert (b[:, 1] - b[:, 0] == 900).all() and b[0, 0] == 0 and np.all(np.diff(b[:, 0]) == 450)
    assert eval_bounds(500, 30.0, "windowed", 30, 15).tolist() == [[0, 500]]  # shorter than one window
    for n, length in ((900, 300), (901, 300), (300, 300), (1234, 256)):
        s = tile_starts(n, length)
        assert s[0] == 0 and s[-1] + length == n and np.all(np.diff(s) <= length / 2 + 0.5)


@pytest.mark.parametrize(
    "body, message",
    [
        ("[clips]\nlenght = 300", "unknown key(s) ['lenght'] in [clips]"),
        ("[clips]\nmax_lost_fraction = 5.0", "clips.max_lost_fraction must be in [0, 1]"),
        ('[evaluation]\nrule = "video"', "evaluation.rule must be one of"),
        ('[evaluation]\nrule = "windowed"\nwindow_s = 5', "evaluation.window_s must be at least one clip"),
        ('name = "x/../../escaped"', "becomes a file name"),
        ("[hr]\nfilter_order = 0", "filter_order must be 1..8"),
    ],
)
def test_protocol_files_are_validated_strictly(tmp_path, body, message):
    from hrbench.errors import ConfigError

    p = tmp_path / "p.toml"
    p.write_text(body + "\n")
    with pytest.raises(ConfigError) as exc:
        load_protocol(p)
    assert message in str(exc.value) and str(p) in str(exc.value)


def test_shipped_field_protocols_load():
    from hrbench.clips.protocol import find_protocol

    assert find_protocol("whole_video").evaluation.rule == "whole"
    w = find_protocol("windowed").evaluation
    assert (w.rule, w.window_s, w.hop_s) == ("windowed", 30.0, 15.0)
    assert find_protocol("subject_exclusive").evaluation.rule == "clips"  # the main job stays SynRhythm's


def _traces_with_lost(lost: slice, seconds: float = 60.0, fps: float = 30.0, bpm: float = 75.0):
    from hrbench.data.recording import FrameSource, Recording, Signal
    from hrbench.traces.traces import Traces

    n = int(seconds * fps)
    t = np.arange(n) / fps
    pulse = np.sin(2 * np.pi * bpm / 60 * t)
    vals = np.stack([150 + 0.5 * pulse, 110 + pulse, 90 + 0.6 * pulse], axis=-1)[None].astype(np.float32)
    valid = np.ones(n, bool)
    valid[lost] = False
    vals[:, ~valid] = np.nan
    rec = Recording(dataset="t", id="v", subject="s", session="x", fps=fps, frames=FrameSource(Path("v.avi")),
                    ground_truth=lambda: Signal("bvp", pulse, fps))
    return rec, {"face_skin": Traces(vals, valid, t, fps)}, Signal("bvp", pulse, fps)


def test_windows_and_tiled_clips_with_the_face_lost_are_not_scored(tmp_path):
    from hrbench.clips.sampling import clip_recording
    from hrbench.errors import RecordingError

    windowed = load_protocol(_protocol(tmp_path, "windowed", "window_s = 20\nhop_s = 20\n"))
    whole = load_protocol(_protocol(tmp_path, "whole"))
    # Face lost in 20-40 s: the middle 20-s window goes, and so do the tiled clips overlapping the gap.
    rec, traces, gt = _traces_with_lost(slice(600, 1200))
    ev = clip_recording(rec, traces, gt, windowed, tiled_schemes=("face_skin",)).evaluation
    np.testing.assert_array_equal(ev.bounds, [[0, 600], [1200, 1800]])
    assert len(ev.tiled_window) > 0 and set(ev.tiled_window.tolist()) == {0, 1}
    # The whole video is a third lost: not scored under the whole-video rule (a named problem, not a number).
    with pytest.raises(RecordingError, match="every evaluation window"):
        clip_recording(rec, traces, gt, whole)
    # A short loss (2 %) keeps the whole video, and its reference is read over all of it.
    rec, traces, gt = _traces_with_lost(slice(600, 636))
    ev = clip_recording(rec, traces, gt, whole, tiled_schemes=("face_skin",)).evaluation
    assert ev.bounds.tolist() == [[0, 1800]] and abs(ev.hr_ref[0] - 75) < 0.5
