"""Where each built-in ROI scheme's regions lie in a frame (image coordinates: pixel centre j at j, as imshow draws).

The region geometry is recomputed from the scheme objects
(:meth:`~hrbench.plugin.roi.CheekGrid.box`, :meth:`~hrbench.plugin.roi.FaceGrid.affine`)
and, for ``face_skin``, from the same landmark rule as
:meth:`~hrbench.plugin.roi.FaceSkin.measure`; the tests check that the drawn
regions average to what the schemes measure, so a change to
:mod:`hrbench.plugin.roi` that is not mirrored here fails them.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..plugin import landmarks as lm
from ..plugin.roi import CheekGrid, FaceGrid, clip_box


def face_skin_polygons(pts: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The ``face_skin`` outline and its holes (eyes, outer lips), as :class:`FaceSkin` fills them.

    Same rule as :meth:`hrbench.plugin.roi.FaceSkin.measure`: the jaw line closed
    over the brows raised by 40 % of the brow-to-nose-tip height.
    """
    p = np.asarray(pts, dtype=np.float32)
    brows = np.concatenate([p[lm.RIGHT_BROW], p[lm.LEFT_BROW]])
    lift = 0.4 * (p[33, 1] - brows[:, 1].mean())
    forehead = brows[::-1] - np.array([0.0, lift], dtype=np.float32)
    outline = np.concatenate([p[lm.JAW], forehead])
    holes = [p[lm.RIGHT_EYE], p[lm.LEFT_EYE], p[48:60]]
    return outline, holes


def face_skin_mask(shape: tuple[int, ...], pts: np.ndarray | None) -> np.ndarray:
    """Boolean ``(H, W)`` mask of the pixels ``face_skin`` averages (whole frame without landmarks)."""
    h, w = shape[:2]
    if pts is None:
        return np.ones((h, w), bool)
    outline, holes = face_skin_polygons(pts)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
    for hole in holes:
        cv2.fillPoly(mask, [np.round(hole).astype(np.int32)], 0)
    return mask.astype(bool)


def cheek_grid_nodes(shape: tuple[int, ...], pts: np.ndarray | None) -> np.ndarray:
    """``(rows + 1, cols + 1, 2)`` corners of the cheek-grid blocks in the frame.

    The scheme crops the integer box of :meth:`CheekGrid.box` and resizes it,
    so block edges fall at even fractions of that box's pixel edges.
    """
    g = CheekGrid()
    h, w = shape[:2]
    x0, y0, x1, y1 = (0, 0, w, h) if pts is None else g.box(pts)
    xa, ya, xb, yb = clip_box(x0, y0, x1, y1, w, h)
    xs = xa - 0.5 + (xb - xa) * np.arange(g.cols + 1) / g.cols
    ys = ya - 0.5 + (yb - ya) * np.arange(g.rows + 1) / g.rows
    return np.stack(np.meshgrid(xs, ys), axis=-1)


def face_grid_nodes(shape: tuple[int, ...], pts: np.ndarray | None) -> np.ndarray:
    """``(rows + 1, cols + 1, 2)`` corners of the aligned-face blocks, mapped back into the frame."""
    g = FaceGrid()
    h, w = shape[:2]
    if pts is None:  # the whole frame resized to size x size
        xs = -0.5 + w * np.arange(g.cols + 1) / g.cols
        ys = -0.5 + h * np.arange(g.rows + 1) / g.rows
        return np.stack(np.meshgrid(xs, ys), axis=-1)
    edges = -0.5 + (g.size / g.rows) * np.arange(g.rows + 1)
    inv = cv2.invertAffineTransform(g.affine(pts)).astype(np.float64)
    uv = np.stack(np.meshgrid(edges, edges), axis=-1)
    return uv @ inv[:, :2].T + inv[:, 2]


def zoom_box(shape: tuple[int, ...], pts: np.ndarray | None) -> tuple[float, float, float, float]:
    """The face and every region around it, with a margin (the whole frame without landmarks)."""
    h, w = shape[:2]
    if pts is None:
        return -0.5, w - 0.5, -0.5, h - 0.5
    outline, _ = face_skin_polygons(pts)
    allp = np.concatenate([outline, pts, face_grid_nodes(shape, pts).reshape(-1, 2)])
    x0, y0 = allp.min(axis=0)
    x1, y1 = allp.max(axis=0)
    m = 0.12 * max(x1 - x0, y1 - y0)
    return x0 - m, x1 + m, y0 - m, y1 + m
