"""`hrbench inspect`: one recording's ROI regions, signals and heart rates, drawn.

The end-to-end test builds a folder-adapter dataset with one face video (the
astronaut photo of :mod:`miniature`, its colour pulsing at a known rate, a
short stretch of blank frames where no face can be found) and a BVP file, runs
the command through the CLI and checks that the pictures exist, that the
summary recovers the known heart rate and the lost stretch, and that the
output is byte-identical when regenerated.  The geometry tests check that the
drawn regions are the pixels each ROI scheme really averages.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from miniature import pulse_frames, pulse_wave, use_faces
from test_roi import canonical_landmarks

from hrbench.cli import main
from hrbench.errors import ConfigError
from hrbench.plugin.roi import CheekGrid, FaceGrid, FaceSkin
from hrbench.roi_view import (
    cheek_grid_nodes,
    choose_frames,
    face_grid_nodes,
    face_skin_mask,
    parse_span,
)

HR = 78.0
FPS = 30.0
SECONDS = 8.0
BLANK = range(120, 128)  # frames with no face (4.0-4.27 s)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def face_folder(tmp_path_factory) -> Path:
    """A folder dataset with one face video at HR bpm, a gap of blank frames, and a 64 Hz BVP."""
    root = tmp_path_factory.mktemp("inspect-data")
    n = int(SECONDS * FPS)
    with use_faces((160, 120)):
        frames = pulse_frames(n, FPS, HR)
    frames[list(BLANK)] = 120  # flat grey: the landmarker must lose the face here
    (root / "videos").mkdir()
    w = cv2.VideoWriter(str(root / "videos" / "anna rest.avi"), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (160, 120))
    assert w.isOpened()
    for f in frames:
        w.write(f)
    w.release()
    fs = 64.0
    t = np.arange(int(SECONDS * fs)) / fs
    bvp = pulse_wave(t, HR) + np.random.default_rng(0).normal(0, 0.05, len(t))
    (root / "signals").mkdir()
    (root / "signals" / "anna.csv").write_text("bvp\n" + "".join(f"{v:.5f}\n" for v in bvp))
    (root / "manifest.csv").write_text(
        "path,subject,signal_path,signal_kind,signal_fs,session\n"
        f"videos/anna rest.avi,anna,signals/anna.csv,bvp,{fs:g},rest\n"
    )
    return root


def _summary_value(text: str, key: str) -> str:
    m = re.search(rf"^{re.escape(key)}\s+(.*)$", text, re.M)
    assert m, f"no {key!r} line in summary:\n{text}"
    return m.group(1)


def _bpm(text: str, key: str) -> float:
    return float(re.match(r"([0-9.]+) bpm", _summary_value(text, key)).group(1))


def _assert_png(path: Path, min_bytes: int = 20_000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert len(data) > min_bytes, f"{path}: only {len(data)} bytes"
    img = cv2.imread(str(path))
    assert img is not None and img.shape[0] > 300 and img.shape[1] > 300 and img.std() > 10


def test_inspect_end_to_end(face_folder, tmp_path, capsys):
    out = tmp_path / "insp"
    args = ["inspect", "--dataset", "folder", "--data-root", str(face_folder), "--recording", "videos/anna rest"]
    assert main([*args, "--out", str(out)]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out.split()
    files = {p: out / p for p in ("frames.png", "signals.png", "summary.txt")}
    for p in files.values():
        assert str(p) in printed
    _assert_png(files["frames.png"])
    _assert_png(files["signals.png"])
    text = files["summary.txt"].read_text()
    assert abs(_bpm(text, "pulse HR") - HR) < 3.0
    assert abs(_bpm(text, "reference HR") - HR) < 1.0
    assert _summary_value(text, "fps").startswith("30.0")
    assert _summary_value(text, "frames").startswith(f"{int(SECONDS * FPS)} ")
    lost = float(_summary_value(text, "face lost").split()[0])
    assert 100 * (len(BLANK) - 1) / (SECONDS * FPS) <= lost < 100 * (len(BLANK) + 8) / (SECONDS * FPS)
    shown = [int(i) for i in _summary_value(text, "shown frames").split(", ")]
    assert len(shown) == 4 and any(i in BLANK for i in shown)  # the lost stretch is among the frames drawn

    # A sub-span with another method, read from the cached traces; the cache is not re-extracted.
    cache = Path(os.environ["HRBENCH_CACHE"]) / "traces"
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
    assert len(before) == 1
    out2 = tmp_path / "span"
    assert main([*args, "--out", str(out2), "--seconds", "4.5:", "--method", "chrom", "--frames", "2"]) == 0
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")} == before
    text2 = (out2 / "summary.txt").read_text()
    assert _summary_value(text2, "span").startswith("4.50-8.00 s (105 frames)")
    assert float(_summary_value(text2, "face lost").split()[0]) == 0.0
    assert abs(_bpm(text2, "pulse HR") - HR) < 4.0

    # Regenerating gives byte-identical pictures (no timestamps, no randomness).
    out3 = tmp_path / "again"
    assert main([*args, "--out", str(out3)]) == 0
    for name in ("frames.png", "signals.png"):
        assert (out3 / name).read_bytes() == (out / name).read_bytes(), name



def test_method_without_pulse_is_a_message_not_a_crash(face_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = main(["inspect", "--dataset", "folder", "--data-root", str(face_folder), "--recording", "videos/anna rest",
               "--method", "svr", "--frames", "1"])
    assert rc == 0, capsys.readouterr().err
    # Default output folder: ./hrbench-inspect/<dataset>-<recording>/ with a file-safe name.
    out = tmp_path / "hrbench-inspect" / "folder-videos_anna_rest"
    text = (out / "summary.txt").read_text()
    assert _summary_value(text, "pulse HR").startswith("n/a") and "no pulse (produces_pulse is False)" in text
    assert abs(_bpm(text, "reference HR") - HR) < 1.0
    _assert_png(out / "signals.png")


def test_a_third_party_methods_pulse_is_shown(face_folder, tmp_path):
    """A plugin's method with its own ROI scheme: its pulse comes from predict_pulse on that scheme's traces."""
    import dataclasses

    from hrbench.api import Method, fill_missing_frames, spectral_hr
    from hrbench.plugin.host import get_registry
    from hrbench.roi_view import inspect_recording

    class CheekGreen(Method):
        name = "cheek_green"
        roi_scheme = "cheek_grid"  # 200 blocks: not the face_skin trace inspect draws in its first row
        produces_pulse = True

        def predict_pulse(self, clips):
            rgb, valid = fill_missing_frames(clips.traces.mean(axis=1))  # a lost frame is NaN in every block
            g = rgb[..., 1]
            out = g / np.maximum(g.mean(axis=-1, keepdims=True), 1e-12) - 1.0
            out[valid < 0.5] = np.nan
            return out

        def predict(self, clips):
            return spectral_hr(self.predict_pulse(clips), clips.fps, clips.hr_settings)

    reg = get_registry()
    reg = dataclasses.replace(reg, methods={**reg.methods, "cheek_green": CheekGreen})
    res = inspect_recording("folder", "videos/anna rest", data_root=face_folder, out=tmp_path / "cg",
                            method="cheek_green", n_frames=1, registry=reg)
    text = res.summary.read_text()
    assert abs(res.hr_pulse - HR) < 3.0, text
    assert _summary_value(text, "method") == "cheek_green" and abs(_bpm(text, "pulse HR") - HR) < 3.0


def test_errors_are_one_line(face_folder, tmp_path, capsys):
    base = ["inspect", "--dataset", "folder", "--out", str(tmp_path / "x")]
    assert main([*base, "--data-root", str(face_folder), "--recording", "videos/anna_rest"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "unknown recording 'videos/anna_rest'" in err and "videos/anna rest" in err
    assert main([*base, "--data-root", str(tmp_path / "nowhere"), "--recording", "a"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "nowhere" in err and "not found" in err
    assert main([*base, "--data-root", str(face_folder), "--recording", "videos/anna rest", "--seconds", "9:"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "lasts 8.00 s" in err
    assert main([*base, "--data-root", str(face_folder), "--recording", "videos/anna rest", "--method", "nope"]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------------
# the drawn regions are the measured regions


def test_face_skin_mask_is_what_face_skin_averages():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    for pts in (canonical_landmarks(), canonical_landmarks(150, 130, 1.3, 0.3), canonical_landmarks(20, 40)):
        mask = face_skin_mask(frame.shape, pts)
        assert 500 < mask.sum() < mask.size
        drawn = frame[mask].mean(axis=0)
        np.testing.assert_allclose(drawn, FaceSkin().measure(frame, pts)[0], atol=0.01)
    assert face_skin_mask(frame.shape, None).all()


def _gradient(h: int = 240, w: int = 320) -> np.ndarray:
    """R grows with x, G with y: a block's mean colour locates its centre."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x * 0.7, y * 0.9, np.full_like(x, 50)], axis=-1)


@pytest.mark.parametrize("scheme, nodes_fn, pts", [
    (CheekGrid(), cheek_grid_nodes, canonical_landmarks()),
    (FaceGrid(), face_grid_nodes, canonical_landmarks()),
    (FaceGrid(), face_grid_nodes, canonical_landmarks(170, 115, 1.2, np.deg2rad(25))),
    (CheekGrid(), cheek_grid_nodes, None),
    (FaceGrid(), face_grid_nodes, None),
])
def test_grid_blocks_sit_where_the_scheme_measures(scheme, nodes_fn, pts):
    frame = _gradient()
    measured = scheme.measure(frame, pts).reshape(scheme.rows, scheme.cols, 3)
    nodes = nodes_fn(frame.shape, pts)
    assert nodes.shape == (scheme.rows + 1, scheme.cols + 1, 2)
    centres = (nodes[:-1, :-1] + nodes[1:, 1:] + nodes[:-1, 1:] + nodes[1:, :-1]) / 4
    np.testing.assert_allclose(measured[..., 0] / 0.7, centres[..., 0], atol=0.75)
    np.testing.assert_allclose(measured[..., 1] / 0.9, centres[..., 1], atol=0.75)


def test_choose_frames_spreads_and_visits_the_longest_gap():
    valid = np.ones(300, bool)
    assert choose_frames(valid, 0, 300, 4) == [37, 112, 187, 262]
    assert choose_frames(valid, 100, 110, 20) == list(range(100, 110))
    valid[[5, 6]] = False
    valid[200:230] = False
    picked = choose_frames(valid, 0, 300, 4)
    assert len(picked) == 4 and any(200 <= i < 230 for i in picked)
    assert choose_frames(valid, 0, 100, 3) != choose_frames(np.ones(300, bool), 0, 100, 3)


def test_parse_span():
    assert parse_span(None) == (None, None)
    assert parse_span("2.5:10") == (2.5, 10.0)
    assert parse_span(":7") == (None, 7.0)
    assert parse_span("3:") == (3.0, None)
    for bad in ("5", "a:b", "9:3", "1:2:3"):
        with pytest.raises(ConfigError):
            parse_span(bad)
