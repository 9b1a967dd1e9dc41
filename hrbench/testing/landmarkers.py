"""Conformance checks of a face landmarker: availability, no face, iBUG-68 order, determinism.

Checks that need the model are skipped, with the landmarker's own reason,
when ``available()`` says it cannot run here (weights not installed).
"""

from __future__ import annotations

import numpy as np

from ..plugin.landmarks import N_LANDMARKS, Landmarker
from .results import (
    Check,
    CheckResult,
    CheckSkipped,
    fail,
    name_of,
    raise_if_failed,
    registration,
    run_checks,
)
from .synthetic import face_image


class _LandmarkerHarness:
    def __init__(self, cls: type[Landmarker]) -> None:
        self.cls = cls
        self._lm: Landmarker | None = None

    def instance(self) -> Landmarker:
        ok, why = self.cls.available()
        if not ok:
            raise CheckSkipped(f"not available here: {why}")
        if self._lm is None:
            self._lm = self.cls()
        return self._lm

    def check_class(self) -> None:
        registration("landmarkers", self.cls)
        if not isinstance(getattr(self.cls, "version", None), str):
            fail("version must be a string (it is part of the trace-cache key)")

    def check_available(self) -> None:
        res = self.cls.available()
        if not (isinstance(res, tuple) and len(res) == 2 and isinstance(res[0], bool) and isinstance(res[1], str)):
            fail(f"available() must return (bool, str), got {res!r}")
        if not res[0] and not res[1].strip():
            fail("available() says no without saying why")

    def check_no_face(self) -> None:
        lm = self.instance()
        lm.reset()
        out = lm(np.full((240, 320, 3), 128, np.uint8))
        if out is not None:
            fail("a flat grey frame (no face) must give None")

    def check_face(self) -> None:
        lm = self.instance()
        img = face_image()
        before = img.copy()
        lm.reset()
        pts = lm(img)
        if not np.array_equal(before, img):
            fail("the landmarker modified the frame it was given")
        if pts is None:
            fail("no face found in a frontal face photograph")
        pts = np.asarray(pts)
        if pts.shape != (N_LANDMARKS, 2) or not np.issubdtype(pts.dtype, np.floating):
            fail(f"landmarks must be a ({N_LANDMARKS}, 2) float array, got {pts.dtype} {pts.shape}")
        h, w = img.shape[:2]
        outside = np.any(pts < -0.1 * w) or np.any(pts[:, 0] > 1.1 * w) or np.any(pts[:, 1] > 1.1 * h)
        if not np.all(np.isfinite(pts)) or outside:
            fail("landmarks are not finite pixel coordinates of the frame")
        right_eye, left_eye = pts[36:42].mean(axis=0), pts[42:48].mean(axis=0)
        mouth = pts[48:68].mean(axis=0)
        if not right_eye[0] < left_eye[0]:
            fail("points 36-41 (subject's right eye) must lie left of 42-47 in the image (iBUG-68 order)")
        if not max(right_eye[1], left_eye[1]) < pts[30, 1] < mouth[1]:
            fail("the nose tip (point 30) must lie between the eyes and the mouth (iBUG-68 order)")

    def check_deterministic(self) -> None:
        lm = self.instance()
        img = face_image()
        lm.reset()
        a = lm(img)
        lm.reset()
        b = lm(img)
        if (a is None) != (b is None) or (a is not None and not np.allclose(a, b, atol=1e-4)):
            fail("the same frame after reset() gives different landmarks")

    def checks(self) -> list[Check]:
        return [
            ("subclass_and_name", self.check_class),
            ("available_contract", self.check_available),
            ("no_face_gives_none", self.check_no_face),
            ("finds_face_in_ibug68_order", self.check_face),
            ("deterministic_after_reset", self.check_deterministic),
        ]


def landmarker_checks(cls: type[Landmarker]) -> list[Check]:
    """The landmarker checks; those needing the model are skipped when ``available()`` says no."""
    if not isinstance(cls, type) or not issubclass(cls, Landmarker):
        return [("subclass_and_name", lambda: registration("landmarkers", cls))]
    return _LandmarkerHarness(cls).checks()


def check_landmarker(cls: type[Landmarker]) -> list[CheckResult]:
    """Run every landmarker check; raise ConformanceError if any failed."""
    return raise_if_failed(run_checks("landmarker", name_of(cls), landmarker_checks(cls)))
