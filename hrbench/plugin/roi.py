"""ROI schemes: landmarks -> per-region mean colour of one frame.

A scheme maps one RGB frame plus its 68 landmarks to an ``(n_rois, 3)`` array
of mean R, G, B values.  Stacked over a video that gives the ROI traces
``(n_rois, T, 3)`` that every method consumes; the traces are cached by
:mod:`hrbench.traces.traces`.

Recordings marked ``roi="full-frame"`` (pre-cropped skin videos) are measured
with ``landmarks=None``: the whole frame plays the part of the face region.

Schemes:

* ``face_skin`` -- one ROI: mean over the face polygon (jaw line closed over
  a forehead band raised above the brows), eyes and mouth masked out.  The
  input of the classic methods (green, ICA, CHROM, POS).
* ``face_grid`` -- RhythmNet / the spatial-temporal attention poster (Niu et
  al.): the face aligned by the eye line (rotation removed), cropped from the
  brows' forehead band to the chin and across the jaw, warped to 100 x 100
  pixels and cut into 5 x 5 = 25 blocks, row-major.  Traces are RGB; YUV maps
  are derived from them (the conversion is linear per pixel, so the YUV mean
  of a block is the same linear map of its RGB mean -- one cache serves both).
* ``cheek_grid`` -- SynRhythm (section III-A): the cheek rectangle spanning
  the face contour horizontally and from below the eyes to the mouth corners
  vertically, resized to 100 x 200 pixels and cut into 10 x 20 = 200 blocks of
  10 x 10 pixels, row-major.

Registration: schemes are registered through the ``register_roi_schemes``
hook (:mod:`hrbench.plugin.hookspecs`).  The three built-ins above are registered by
the core's own hookimpl below, exactly as a plugin registers its scheme, and
the host (:func:`hrbench.plugin.host.get_scheme`) looks names up in the plugin
registry -- so a plugin can add a scheme (it cannot replace a built-in: names
are unique).  This module never imports the host: the host imports it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import cv2
import numpy as np

from . import landmarks as lm
from .hookspecs import hookimpl


class RoiScheme(ABC):
    """One way of turning a frame into region means."""

    name: ClassVar[str]
    n_rois: ClassVar[int]
    version: ClassVar[str] = "1"

    @abstractmethod
    def measure(self, frame: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        """``(n_rois, 3)`` float32 mean RGB of each region."""

    def measure_bgr(self, frame_bgr: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        """:meth:`measure` of a BGR frame (the decoder's order), still returning mean **RGB**.

        Why: trace extraction decodes BGR, and converting every full frame to
        RGB is avoidable work on the hot path.  A scheme whose regions do not
        depend on colour (all the built-ins) overrides this and measures the
        BGR frame directly -- every OpenCV / numpy step it takes treats the
        channels alike, so the means are the same numbers, reordered.
        The default converts, so a plugin's scheme needs nothing.
        """
        return self.measure(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB), landmarks)


def block_means(img: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``(rows * cols, C)`` float32 means of the equal blocks of an image, row-major.

    Bit-identical to ``img.astype(np.float32).reshape(rows, bh, cols, bw, C).mean(axis=(1, 3))``
    (the formula the cached traces were computed with) for ``uint8`` images,
    at a fraction of the cost: a block sum of ``uint8`` values is an integer
    below 2**24, so it is exact in float32 whatever the summation order, and
    numpy's mean is that sum divided once by the count, correctly rounded --
    which is what the last line does.  Summing whole rows first keeps both
    reductions on contiguous memory.  Other dtypes take the original formula.
    """
    h, w, c = img.shape
    bh, bw = h // rows, w // cols
    if img.dtype != np.uint8 or bh * bw * 255 >= 2**24:
        return img.astype(np.float32).reshape(rows, bh, cols, bw, c).mean(axis=(1, 3)).reshape(rows * cols, c)
    s = img.reshape(rows, bh, w * c).sum(axis=1, dtype=np.uint32).reshape(rows, cols, bw, c).sum(axis=2)
    return s.reshape(rows * cols, c).astype(np.float32) / np.float32(bh * bw)


def _channel_means(img: np.ndarray) -> np.ndarray:
    """``(1, C)`` float32 mean of every pixel, bit-identical to ``mean(axis=0, dtype=float64)``.

    ``cv2.sumElems`` sums ``uint8`` exactly (integers far below 2**53), and
    the float64 mean is that exact sum over the count, correctly rounded, so
    both round to the same float32 -- without numpy's float64 pass over a
    full frame (the cost of full-frame recordings' ``face_skin``).
    """
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] > 4:
        return img.reshape(-1, img.shape[-1]).mean(axis=0, dtype=np.float64)[None].astype(np.float32)
    sums = np.array(cv2.sumElems(img)[: img.shape[2]], dtype=np.float64)
    return (sums / (img.shape[0] * img.shape[1]))[None].astype(np.float32)


def clip_box(x0: float, y0: float, x1: float, y1: float, w: int, h: int) -> tuple[int, int, int, int]:
    """The integer pixel box a scheme crops for ``(x0, y0, x1, y1)``: inside the frame, at least one pixel."""
    xa, ya = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    xb, yb = min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))
    return xa, ya, max(xa + 1, xb), max(ya + 1, yb)


class FaceSkin(RoiScheme):
    name = "face_skin"
    n_rois = 1

    def measure(self, frame: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        return self._means(frame, landmarks)

    def measure_bgr(self, frame_bgr: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        return self._means(frame_bgr, landmarks)[:, ::-1]

    def _means(self, frame: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        """Means in the frame's own channel order (regions depend only on the landmarks)."""
        if landmarks is None:
            return _channel_means(frame)
        pts = landmarks.astype(np.float32)
        h, w = frame.shape[:2]
        jaw = pts[lm.JAW]
        brows = np.concatenate([pts[lm.RIGHT_BROW], pts[lm.LEFT_BROW]])
        # Forehead: lift the brow line by 40 % of the brow-to-nose-tip height.
        lift = 0.4 * (pts[33, 1] - brows[:, 1].mean())
        forehead = brows[::-1] - np.array([0.0, lift], dtype=np.float32)
        poly = np.concatenate([jaw, forehead])
        x0, y0 = poly.min(axis=0)
        x1, y1 = poly.max(axis=0)
        xa, ya, xb, yb = clip_box(x0, y0, x1 + 1, y1 + 1, w, h)
        crop = frame[ya:yb, xa:xb]
        mask = np.zeros(crop.shape[:2], np.uint8)
        off = np.array([xa, ya], dtype=np.float32)
        cv2.fillPoly(mask, [np.round(poly - off).astype(np.int32)], 1)
        for part in (lm.RIGHT_EYE, lm.LEFT_EYE, slice(48, 60)):
            cv2.fillPoly(mask, [np.round(pts[part] - off).astype(np.int32)], 0)
        if cv2.countNonZero(mask) < 16:
            return _channel_means(crop)
        return np.asarray(cv2.mean(crop, mask=mask)[:3], dtype=np.float32)[None]


class CheekGrid(RoiScheme):
    name = "cheek_grid"
    rows, cols = 10, 20
    height, width = 100, 200
    n_rois = rows * cols

    def box(self, landmarks: np.ndarray) -> tuple[float, float, float, float]:
        """The cheek rectangle (x0, y0, x1, y1) from 68 landmarks."""
        p = landmarks
        x0, x1 = p[1:4, 0].min(), p[13:16, 0].max()
        eyes_bottom = max(p[[40, 41], 1].max(), p[[46, 47], 1].max())
        y0 = eyes_bottom + 0.1 * (p[33, 1] - eyes_bottom)
        y1 = max(p[48, 1], p[54, 1])
        return float(x0), float(y0), float(x1), float(y1)

    def measure(self, frame: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        return self._means(frame, landmarks)

    def measure_bgr(self, frame_bgr: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        return self._means(frame_bgr, landmarks)[:, ::-1]

    def _means(self, frame: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = (0, 0, w, h) if landmarks is None else self.box(landmarks)
        xa, ya, xb, yb = clip_box(x0, y0, x1, y1, w, h)
        crop = frame[ya:yb, xa:xb]
        rect = cv2.resize(crop, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return block_means(rect, self.rows, self.cols)


class FaceGrid(RoiScheme):
    name = "face_grid"
    rows = cols = 5
    size = 100
    n_rois = rows * cols

    def affine(self, landmarks: np.ndarray) -> np.ndarray:
        """2x3 matrix mapping frame pixels to the aligned 100 x 100 face."""
        p = landmarks.astype(np.float64)
        le, re = p[lm.RIGHT_EYE].mean(axis=0), p[lm.LEFT_EYE].mean(axis=0)
        angle = np.arctan2(re[1] - le[1], re[0] - le[0])
        c, s = np.cos(-angle), np.sin(-angle)
        rot = np.array([[c, -s], [s, c]])
        q = (p - p.mean(axis=0)) @ rot.T  # landmarks in the de-rotated frame
        brows = np.concatenate([q[lm.RIGHT_BROW], q[lm.LEFT_BROW]])
        top = brows[:, 1].min() - 0.25 * (q[8, 1] - brows[:, 1].min())
        x0, x1 = q[lm.JAW, 0].min(), q[lm.JAW, 0].max()
        y0, y1 = top, q[8, 1]
        sx, sy = self.size / max(x1 - x0, 1.0), self.size / max(y1 - y0, 1.0)
        a = np.diag([sx, sy]) @ rot
        b = -np.diag([sx, sy]) @ (rot @ p.mean(axis=0)) - np.array([sx * x0, sy * y0])
        return np.hstack([a, b[:, None]]).astype(np.float32)

    def measure(self, frame: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        return self._means(frame, landmarks)

    def measure_bgr(self, frame_bgr: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        return self._means(frame_bgr, landmarks)[:, ::-1]

    def _means(self, frame: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        if landmarks is None:
            face = cv2.resize(frame, (self.size, self.size), interpolation=cv2.INTER_AREA)
        else:
            face = cv2.warpAffine(frame, self.affine(landmarks), (self.size, self.size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
        return block_means(face, self.rows, self.cols)


# ITU-R BT.601 RGB -> YUV (Y in [0, 255], U/V centred on 0).
RGB_TO_YUV = np.array(
    [[0.299, 0.587, 0.114], [-0.14713, -0.28886, 0.436], [0.615, -0.51499, -0.10001]], dtype=np.float32
)


def rgb_to_yuv(traces: np.ndarray) -> np.ndarray:
    """Convert mean-RGB traces (last axis = 3) to YUV; exact for block means."""
    return traces @ RGB_TO_YUV.T


#: The built-in schemes (registered by the core through :func:`register_roi_schemes`).
#: The runner measures all of them in one pass over a video; a plugin's scheme
#: is measured only when a method asks for it.
ROI_SCHEMES: dict[str, type[RoiScheme]] = {s.name: s for s in (FaceSkin, CheekGrid, FaceGrid)}


@hookimpl
def register_roi_schemes(register) -> None:  # noqa: ANN001 - pluggy passes a callable
    """The core's own hookimpl: the built-in schemes, registered like a plugin's."""
    for cls in ROI_SCHEMES.values():
        register(cls)
