"""Conformance checks of an ROI scheme: shape, units and channel order, both entry points, edge faces.

Why these: trace extraction trusts a scheme in every frame of every video.
A scheme that returns BGR instead of RGB, values scaled to 0-1, a shape
other than its declared ``n_rois``, or that edits the frame it is lent does
not crash a run -- it quietly changes every method's input.  Extraction
calls :meth:`~hrbench.plugin.roi.RoiScheme.measure_bgr` (the decoder's channel
order), so a scheme overriding it must agree with :meth:`measure`.  The
frames are synthetic and the landmarks drawn
(:func:`~hrbench.testing.synthetic.face_landmarks`), so no landmarker is needed.
"""

from __future__ import annotations

import numpy as np

from ..plugin.roi import RoiScheme
from .results import Check, CheckResult, fail, name_of, raise_if_failed, registration, run_checks
from .synthetic import SKIN_RGB, face_landmarks

#: Frame size of the checks (width, height) and how far a uniform frame's region means may stray (grey levels).
FRAME_WH = (320, 240)
UNIFORM_TOL = 0.5


def _textured_frame(seed: int = 0) -> np.ndarray:
    """A skin-coloured RGB frame with per-pixel texture (so regions differ), uint8."""
    rng = np.random.default_rng(seed)
    w, h = FRAME_WH
    return np.clip(SKIN_RGB + rng.normal(0.0, 20.0, (h, w, 3)), 0, 255).astype(np.uint8)


class _RoiSchemeHarness:
    """The scheme class, a textured frame and a face's landmarks in it (fresh copies: a scheme may write them)."""

    def __init__(self, cls: type[RoiScheme]) -> None:
        self.cls = cls
        self._frame = _textured_frame()
        self._points = face_landmarks(FRAME_WH[0] / 2, FRAME_WH[1] / 2)

    @property
    def frame(self) -> np.ndarray:
        return self._frame.copy()

    @property
    def points(self) -> np.ndarray:
        return self._points.copy()

    def measured(self, frame: np.ndarray, points: np.ndarray | None, *, bgr: bool = False) -> np.ndarray:
        """The scheme's region means, failing unless they are ``(n_rois, 3)`` floats."""
        scheme = self.cls()
        out = scheme.measure_bgr(frame, points) if bgr else scheme.measure(frame, points)
        arr = np.asarray(out)
        what = "measure_bgr" if bgr else "measure"
        if arr.shape != (self.cls.n_rois, 3):
            fail(f"{what} returned shape {arr.shape}, expected (n_rois, 3) = ({self.cls.n_rois}, 3)")
        if not np.issubdtype(arr.dtype, np.floating):
            fail(f"{what} returned {arr.dtype} values; region means must be floats (float32)")
        return arr.astype(np.float64)

    def check_class(self) -> None:
        registration("roi_schemes", self.cls)
        if not isinstance(getattr(self.cls, "version", None), str):
            fail("version must be a string (it is part of the trace-cache key)")

    def check_face(self) -> None:
        values = self.measured(self.frame, self.points)
        if not np.all(np.isfinite(values)):
            fail("region means of a face inside the frame are not finite")

    def check_full_frame(self) -> None:
        values = self.measured(self.frame, None)
        if not np.all(np.isfinite(values)):
            fail("landmarks=None (a full-frame recording: measure the whole frame) gave non-finite means")

    def check_uniform(self) -> None:
        frame = np.empty_like(self.frame)
        frame[:] = np.array([200, 120, 40], np.uint8)
        for points in (self.points, None):
            values = self.measured(frame, points)
            if not np.allclose(values, [200.0, 120.0, 40.0], atol=UNIFORM_TOL):
                fail(f"a frame of RGB (200, 120, 40) everywhere measured as {values[0].round(2).tolist()} "
                     "(region means must be mean R, G, B in grey levels 0-255, in that order)")

    def check_bgr(self) -> None:
        rgb = self.measured(self.frame, self.points)
        bgr = self.measured(np.ascontiguousarray(self.frame[..., ::-1]), self.points, bgr=True)
        if not np.allclose(rgb, bgr, rtol=0, atol=1e-3):
            worst = float(np.max(np.abs(rgb - bgr)))
            fail(f"measure_bgr(BGR frame) differs from measure(RGB frame) by up to {worst:.3g}; "
                 "extraction calls measure_bgr and must get mean RGB")

    def check_unmodified(self) -> None:
        frame, points = self.frame, self.points
        self.measured(frame, points)
        if not (np.array_equal(frame, self._frame) and np.array_equal(points, self._points)):
            fail("measure modified the frame or the landmarks it was given; copy before changing them")

    def check_deterministic(self) -> None:
        a = self.measured(self.frame, self.points)
        b = self.measured(self.frame, self.points)
        if not np.array_equal(a, b, equal_nan=True):
            fail("the same frame and landmarks measured twice give different means")

    def check_edge(self) -> None:
        points = face_landmarks(8.0, FRAME_WH[1] / 2)  # half the face outside the frame's left edge
        values = self.measured(self.frame, points)
        if not np.all(np.isfinite(values)):
            fail("a face half outside the frame gave non-finite means; clip the regions to the frame")

    def checks(self) -> list[Check]:
        return [
            ("subclass_and_name", self.check_class),
            ("face_means_shape_and_finite", self.check_face),
            ("full_frame_without_landmarks", self.check_full_frame),
            ("uniform_frame_gives_its_rgb", self.check_uniform),
            ("measure_bgr_matches_measure", self.check_bgr),
            ("input_not_modified", self.check_unmodified),
            ("deterministic", self.check_deterministic),
            ("face_at_frame_edge", self.check_edge),
        ]


def roi_scheme_checks(cls: type[RoiScheme]) -> list[Check]:
    """The ROI-scheme checks as ``(name, callable)`` pairs (for custom runners / parametrisation)."""
    if not isinstance(cls, type) or not issubclass(cls, RoiScheme):
        return [("subclass_and_name", lambda: registration("roi_schemes", cls))]
    return _RoiSchemeHarness(cls).checks()


def check_roi_scheme(cls: type[RoiScheme]) -> list[CheckResult]:
    """Run every ROI-scheme check; raise ConformanceError if any failed, else return the results."""
    return raise_if_failed(run_checks("roi_scheme", name_of(cls), roi_scheme_checks(cls)))
