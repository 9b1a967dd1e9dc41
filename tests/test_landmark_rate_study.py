"""The landmark-rate study's schedule: landmarks located on every few frames, interpolated between.

``benchmarks/landmark_rate.py`` compares it with extraction's call on every
frame; its conclusions rest on this schedule doing what it says.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest


def _load_study():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "landmark_rate.py"
    spec = importlib.util.spec_from_file_location("landmark_rate", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["landmark_rate"] = mod
    spec.loader.exec_module(mod)
    return mod


study = _load_study()  # the study script, with keyframe_landmarks and landmark_stride


def frames(n: int) -> list[np.ndarray]:
    """Frames that carry their own index, so a test can see which frame it was handed."""
    return [np.full((2, 2, 3), i, np.uint8) for i in range(n)]


def true_points(i: int) -> np.ndarray:
    """68 points moving linearly with the frame index (what interpolation must reproduce)."""
    base = np.arange(136, dtype=np.float32).reshape(68, 2)
    return base + np.float32(3.0 * i)


class Locator:
    """A landmarker stand-in: finds the face unless the frame index is in ``lost``; logs its calls."""

    def __init__(self, lost: set[int] = frozenset()) -> None:
        self.lost, self.calls = set(lost), []

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        i = int(frame[0, 0, 0])
        self.calls.append(i)
        return None if i in self.lost else true_points(i)


@pytest.mark.parametrize(("fps", "stride"), [(30.0, 2), (29.97, 1), (25.0, 1), (60.0, 4), (61.0, 4), (15.0, 1),
                                             (0.0, 1), (math.nan, 1)])
def test_stride_keeps_about_fifteen_located_frames_per_second(fps, stride):
    assert study.landmark_stride(fps) == stride


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [1, 2, 7, 12])
def test_every_frame_comes_out_once_in_order_with_interpolated_points(stride, n):
    loc = Locator()
    out = list(study.keyframe_landmarks(iter(frames(n)), loc, stride))
    assert [int(f[0, 0, 0]) for f, _ in out] == list(range(n))
    for i, (_, pts) in enumerate(out):
        np.testing.assert_allclose(pts, true_points(i), atol=1e-4)
    keyframes = list(range(0, n, stride))
    tail = list(range(keyframes[-1] + 1, n))  # after the last located frame: each located on its own
    assert loc.calls == keyframes + tail


def test_a_lost_face_spans_the_same_frames_as_with_a_call_on_every_frame():
    n, lost = 20, {5, 6, 7, 8, 12, 13}
    out = list(study.keyframe_landmarks(iter(frames(n)), Locator(lost), 2))
    every = list(study.keyframe_landmarks(iter(frames(n)), Locator(lost), 1))
    assert [p is None for _, p in out] == [p is None for _, p in every] == [i in lost for i in range(n)]
    for (_, a), (_, b) in zip(out, every, strict=True):
        assert (a is None and b is None) or np.allclose(a, b, atol=1e-4)


def test_a_loss_shorter_than_the_stride_between_two_faces_is_bridged():
    out = list(study.keyframe_landmarks(iter(frames(6)), Locator(lost={3}), 2))
    np.testing.assert_allclose(out[3][1], true_points(3), atol=1e-4)


def test_frames_next_to_a_lost_keyframe_are_located_on_their_own():
    loc = Locator(lost={4})
    list(study.keyframe_landmarks(iter(frames(7)), loc, 2))
    # 0, 2 keyframes (1 interpolated); 4 is lost, so 3 is located itself; 6 found but 5 sits
    # after a lost keyframe, so it is located itself too.
    assert loc.calls == [0, 2, 4, 3, 6, 5]
