"""The faster extraction computes the same numbers as before, in memory that does not grow per frame.

Behavioural only (no timings): ``benchmarks/bench_extraction.py`` measures
the speed.  "Before" is re-implemented here from the previous code -- RGB
frames, per-frame rows stacked at the end, float32 block means, a float64
full-frame mean -- and every comparison is bit for bit.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from hrbench.data.recording import FrameSource, Recording
from hrbench.data.video import iter_frames
from hrbench.plugin import landmarks as lm
from hrbench.plugin.roi import (
    ROI_SCHEMES,
    CheekGrid,
    FaceGrid,
    RoiScheme,
    _channel_means,
    block_means,
    clip_box,
)
from hrbench.traces import traces

SCHEMES = sorted(ROI_SCHEMES)


# -- the previous formulas -------------------------------------------------------------
def old_measure(name: str, frame: np.ndarray, pts: np.ndarray | None) -> np.ndarray:
    h, w = frame.shape[:2]
    if name == "cheek_grid":
        s = CheekGrid()
        x0, y0, x1, y1 = (0, 0, w, h) if pts is None else s.box(pts)
        xa, ya, xb, yb = clip_box(x0, y0, x1, y1, w, h)
        rect = cv2.resize(frame[ya:yb, xa:xb], (s.width, s.height), interpolation=cv2.INTER_AREA).astype(np.float32)
        return rect.reshape(s.rows, 10, s.cols, 10, 3).mean(axis=(1, 3)).reshape(s.n_rois, 3)
    if name == "face_grid":
        s = FaceGrid()
        if pts is None:
            face = cv2.resize(frame, (s.size, s.size), interpolation=cv2.INTER_AREA)
        else:
            face = cv2.warpAffine(frame, s.affine(pts), (s.size, s.size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
        return face.astype(np.float32).reshape(5, 20, 5, 20, 3).mean(axis=(1, 3)).reshape(25, 3)
    assert name == "face_skin"
    if pts is None:
        return frame.reshape(-1, 3).mean(axis=0, dtype=np.float64)[None].astype(np.float32)
    p = pts.astype(np.float32)
    jaw = p[lm.JAW]
    brows = np.concatenate([p[lm.RIGHT_BROW], p[lm.LEFT_BROW]])
    lift = 0.4 * (p[33, 1] - brows[:, 1].mean())
    poly = np.concatenate([jaw, brows[::-1] - np.array([0.0, lift], dtype=np.float32)])
    x0, y0 = poly.min(axis=0)
    x1, y1 = poly.max(axis=0)
    xa, ya, xb, yb = clip_box(x0, y0, x1 + 1, y1 + 1, w, h)
    crop = frame[ya:yb, xa:xb]
    mask = np.zeros(crop.shape[:2], np.uint8)
    off = np.array([xa, ya], dtype=np.float32)
    cv2.fillPoly(mask, [np.round(poly - off).astype(np.int32)], 1)
    for part in (lm.RIGHT_EYE, lm.LEFT_EYE, slice(48, 60)):
        cv2.fillPoly(mask, [np.round(p[part] - off).astype(np.int32)], 0)
    if mask.sum() < 16:
        return crop.reshape(-1, 3).mean(axis=0)[None].astype(np.float32)
    return np.asarray(cv2.mean(crop, mask=mask)[:3], dtype=np.float32)[None]


def old_extract(rec: Recording, landmarker: object | None) -> dict[str, np.ndarray]:
    rows: dict[str, list[np.ndarray]] = {s: [] for s in SCHEMES}
    valid = []
    if landmarker is not None:
        landmarker.reset()
    for frame in iter_frames(rec.frames, rec.id):  # RGB, as before
        pts = None if rec.roi == "full-frame" else landmarker(frame)  # type: ignore[misc]
        ok = rec.roi == "full-frame" or pts is not None
        valid.append(ok)
        for s in SCHEMES:
            rows[s].append(old_measure(s, frame, pts) if ok
                           else np.full((ROI_SCHEMES[s].n_rois, 3), np.nan, np.float32))
    out = {s: np.stack(r, axis=1).astype(np.float32) for s, r in rows.items()}
    out["valid"] = np.asarray(valid)
    return out


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return (a.dtype == b.dtype and a.shape == b.shape
            and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes())


# -- fixtures -----------------------------------------------------------------------------
def write_video(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def recording(path: Path, roi: str = "face") -> Recording:
    return Recording(dataset="t", id=path.stem, subject="s", session="", fps=30.0, frames=FrameSource(path),
                     ground_truth=None, roi=roi)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def landmarker():
    from hrbench.plugin.host import get_registry

    cls = get_registry().landmarker("mediapipe_litert")
    ok, why = cls.available()
    if not ok:
        pytest.skip(why)
    return cls()


@pytest.fixture(scope="module")
def face_video(tmp_path_factory) -> Path:
    """A face moving across 320x240 frames, lost for a few frames (NaN rows, re-detection), mirrored once."""
    import skimage.data

    photo = skimage.data.astronaut()
    frames = []
    for i in range(36):
        dx = 25 * np.sin(2 * np.pi * i / 36)
        a = np.array([[0.4, 0, 160 - 0.4 * 256 + dx], [0, 0.4, 120 - 0.4 * 256]])
        f = cv2.warpAffine(photo, a, (320, 240), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=(96, 104, 112))
        if 14 <= i < 18:
            f = np.full_like(f, 100)
        if i == 25:
            f = f[:, ::-1].copy()
        frames.append(f)
    return write_video(tmp_path_factory.mktemp("face") / "face.avi", frames)


@pytest.fixture(scope="module")
def skin_video(tmp_path_factory) -> Path:
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(40)]
    return write_video(tmp_path_factory.mktemp("skin") / "skin.avi", frames)


# -- tests ------------------------------------------------------------------------------------
def test_block_and_channel_means_are_bit_identical_to_the_numpy_formulas():
    rng = np.random.default_rng(0)
    for shape, rows, cols in (((100, 200, 3), 10, 20), ((100, 100, 3), 5, 5), ((30, 40, 3), 3, 4)):
        for img in (rng.integers(0, 256, shape, dtype=np.uint8), np.full(shape, 255, np.uint8),
                    np.zeros(shape, np.uint8)):
            h, w, _ = shape
            ref = img.astype(np.float32).reshape(rows, h // rows, cols, w // cols, 3).mean(axis=(1, 3)).reshape(-1, 3)
            assert same_bits(block_means(img, rows, cols), ref)
    for shape in ((480, 640, 3), (7, 5, 3), (1, 1, 3)):
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        ref = img.reshape(-1, 3).mean(axis=0, dtype=np.float64)[None].astype(np.float32)
        assert same_bits(_channel_means(img), ref)


def test_bgr_measurement_equals_rgb_measurement(landmarker, face_video):
    frames = list(iter_frames(FrameSource(face_video)))
    landmarker.reset()
    for rgb in frames[:6]:
        pts = landmarker(rgb)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        for name in SCHEMES:
            s = ROI_SCHEMES[name]()
            for p in (pts, None):
                assert same_bits(np.ascontiguousarray(s.measure_bgr(bgr, p)), s.measure(rgb, p)), name

    class PluginScheme(RoiScheme):  # no BGR entry point: the default converts
        name = "plugin_mean"
        n_rois = 1

        def measure(self, frame, landmarks):
            return frame.reshape(-1, 3).mean(axis=0)[None].astype(np.float32)

    rgb = frames[0]
    assert same_bits(PluginScheme().measure_bgr(np.ascontiguousarray(rgb[:, :, ::-1]), None),
                     PluginScheme().measure(rgb, None))


def test_landmarks_from_bgr_equal_landmarks_from_rgb(landmarker, face_video):
    frames = list(iter_frames(FrameSource(face_video)))
    bgr_frames = list(iter_frames(FrameSource(face_video), bgr=True))
    assert all(same_bits(b, np.ascontiguousarray(r[:, :, ::-1])) for r, b in zip(frames, bgr_frames, strict=True))
    landmarker.reset()
    from_rgb = [landmarker(f) for f in frames]
    landmarker.reset()
    from_bgr = [landmarker.landmarks_bgr(f) for f in bgr_frames]
    assert sum(p is None for p in from_rgb) >= 4  # the blank frames were lost ...
    assert sum(p is not None for p in from_rgb) >= 25  # ... and the face found again
    for a, b in zip(from_rgb, from_bgr, strict=True):
        assert (a is None and b is None) or same_bits(a, b)


def test_extract_equals_the_previous_algorithm(landmarker, face_video, skin_video):
    for rec, lmk in ((recording(face_video), landmarker), (recording(skin_video, "full-frame"), None)):
        new = traces.extract(rec, SCHEMES, lmk)
        old = old_extract(rec, lmk)
        assert same_bits(new[SCHEMES[0]].valid, old["valid"])
        for s in SCHEMES:
            assert same_bits(new[s].values, old[s]), (rec.id, s)
            assert new[s].values.flags.c_contiguous


def test_a_landmarker_without_a_bgr_entry_point_gets_rgb_frames(landmarker, face_video):
    from hrbench.api import Landmarker

    class RgbOnly(Landmarker):  # a plugin landmarker: __call__(rgb) and reset() only (reads_bgr False)
        name = "rgb_only"

        def reset(self) -> None:
            landmarker.reset()

        def __call__(self, frame_rgb: np.ndarray) -> np.ndarray | None:
            return landmarker(frame_rgb)

    rec = recording(face_video)
    got, ref = traces.extract(rec, SCHEMES, RgbOnly()), traces.extract(rec, SCHEMES, landmarker)
    assert all(same_bits(got[s].values, ref[s].values) for s in SCHEMES)


def test_extract_copes_with_a_header_that_misstates_the_frame_count(monkeypatch, skin_video):
    rec = recording(skin_video, "full-frame")
    ref = traces.extract(rec, SCHEMES, None)
    for claimed in (3, 38, 41):  # grow twice / trim / exact-ish
        monkeypatch.setattr(traces, "_expected_frames", lambda r, c=claimed: c)
        got = traces.extract(rec, SCHEMES, None)
        for s in SCHEMES:
            assert same_bits(got[s].values, ref[s].values) and got[s].values.flags.c_contiguous
            assert same_bits(got[s].valid, ref[s].valid) and got[s].n_frames == 40


def test_extraction_memory_is_the_trace_not_per_frame_rows(tmp_path):
    rng = np.random.default_rng(1)
    base = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(10)]
    peaks, sizes = [], []
    for n in (150, 600):
        rec = recording(write_video(tmp_path / f"v{n}.avi", [base[i % 10] for i in range(n)]), "full-frame")
        traces.extract(rec, SCHEMES, None)  # warm caches outside the measurement
        tracemalloc.start()
        out = traces.extract(rec, SCHEMES, None)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        sizes.append(sum(t.values.nbytes + t.valid.nbytes + t.times.nbytes for t in out.values()))
        del out
    # 450 more frames may cost what their traces hold (and a little slack), not per-frame rows and copies:
    # the previous code held rows, a stacked copy and a cast copy (~3x the trace) at its peak.
    assert peaks[1] - peaks[0] <= 1.25 * (sizes[1] - sizes[0]) + 64_000, (peaks, sizes)


def test_bgr_frames_from_image_folders(tmp_path):
    rng = np.random.default_rng(2)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:03d}.png"), rng.integers(0, 256, (8, 10, 3), dtype=np.uint8))
    src = FrameSource(folder, kind="images", pattern="*.png")
    rgb = list(iter_frames(src))
    bgr = list(iter_frames(src, bgr=True))
    assert all(same_bits(np.ascontiguousarray(r[:, :, ::-1]), b) for r, b in zip(rgb, bgr, strict=True))
    rec = replace(recording(tmp_path / "x.avi", "full-frame"), frames=src)
    new = traces.extract(rec, SCHEMES, None)
    old = old_extract(rec, None)
    assert all(same_bits(new[s].values, old[s]) for s in SCHEMES)
