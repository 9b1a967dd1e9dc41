"""``frames.png``: a few frames, their landmarks and every built-in ROI scheme's regions, one row per scheme."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import to_rgb

from ..data.recording import Recording
from ..traces.traces import Traces
from .figures import COLOURS, plt, save
from .geometry import (
    cheek_grid_nodes,
    face_grid_nodes,
    face_skin_mask,
    face_skin_polygons,
    zoom_box,
)

ROWS = ("frame", "face_skin", "cheek_grid", "face_grid")
_LABEL = {"facecolor": "black", "alpha": 0.6}


def _grid(ax: Any, nodes: np.ndarray, colour: str, lw: float) -> None:
    for row in nodes:
        ax.plot(row[:, 0], row[:, 1], color=colour, lw=lw)
    for col in nodes.transpose(1, 0, 2):
        ax.plot(col[:, 0], col[:, 1], color=colour, lw=lw)


def _mark_lost(ax: Any, first_row: bool) -> None:
    for s in ax.spines.values():
        s.set_edgecolor(COLOURS["lost"])
        s.set_linewidth(3)
    if first_row:
        ax.text(0.5, 0.5, "FACE LOST\n(in the run's traces)", transform=ax.transAxes, ha="center", va="center",
                color="white", fontsize=10, weight="bold", bbox={"facecolor": COLOURS["lost"], "alpha": 0.85})


def _no_landmarks(ax: Any, first_row: bool, lost: bool) -> None:
    if first_row and lost:
        return  # the FACE LOST label says it
    msg = "no face found" if lost else "face tracked in the run,\nnot re-detected on this lone frame"
    ax.text(0.5, 0.08 if first_row else 0.5, msg, transform=ax.transAxes, ha="center", va="center", fontsize=7,
            color="white", bbox=_LABEL)


def _landmark_view(ax: Any, frame: np.ndarray, pts: np.ndarray | None) -> None:
    """The whole frame, the 68 landmarks, the face outline and the zoom box of the rows below."""
    h, w = frame.shape[:2]
    if pts is not None:
        size = max(2.0, 6.0 * min(1.0, (pts[16, 0] - pts[0, 0]) / 150.0))
        ax.scatter(pts[:, 0], pts[:, 1], s=size, c="red", linewidths=0)
        outline, _ = face_skin_polygons(pts)
        ring = np.vstack([outline, outline[:1]])
        ax.plot(ring[:, 0], ring[:, 1], color=COLOURS["face_skin"], lw=1)
        x0, x1, y0, y1 = zoom_box(frame.shape, pts)
        ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], color="white", lw=0.8, ls="--")
    else:
        ax.text(0.5, 0.08, "full-frame: the whole frame is the ROI", transform=ax.transAxes,
                ha="center", fontsize=6, color="white", bbox=_LABEL)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)


def _face_skin_view(ax: Any, frame: np.ndarray, pts: np.ndarray | None) -> None:
    h, w = frame.shape[:2]
    mask = face_skin_mask(frame.shape, pts)
    tint = np.zeros((h, w, 4), np.float32)
    tint[..., :3] = to_rgb(COLOURS["face_skin"])
    tint[..., 3] = 0.35 * mask
    ax.imshow(tint, interpolation="nearest")
    if pts is not None:
        outline, holes = face_skin_polygons(pts)
        for poly in (outline, *holes):
            ring = np.vstack([poly, poly[:1]])
            ax.plot(ring[:, 0], ring[:, 1], color=COLOURS["face_skin"], lw=0.8)
    ax.text(0.02, 0.02, f"{int(mask.sum())} px averaged", transform=ax.transAxes, fontsize=7, color="white",
            bbox={"facecolor": "black", "alpha": 0.5})


def _region_view(ax: Any, row: str, frame: np.ndarray, pts: np.ndarray | None) -> None:
    """One scheme's regions over the frame, zoomed on the face."""
    x0, x1, y0, y1 = zoom_box(frame.shape, pts)
    if row == "face_skin":
        _face_skin_view(ax, frame, pts)
    elif row == "cheek_grid":
        _grid(ax, cheek_grid_nodes(frame.shape, pts), COLOURS["cheek_grid"], 0.4)
    else:
        _grid(ax, face_grid_nodes(frame.shape, pts), COLOURS["face_grid"], 0.8)
    if pts is not None:
        ax.scatter(pts[:, 0], pts[:, 1], s=3, c="red", linewidths=0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y1, y0)


def _cell(ax: Any, row: str, frame: np.ndarray, pts: np.ndarray | None, lost: bool, full: bool) -> None:
    first_row = row == "frame"
    if lost:
        _mark_lost(ax, first_row)
    if pts is None and not full:
        _no_landmarks(ax, first_row, lost)
    elif first_row:
        _landmark_view(ax, frame, pts)
    else:
        _region_view(ax, row, frame, pts)


def frames_figure(
    rec: Recording, tr: Traces, frames: dict[int, np.ndarray], points: dict[int, np.ndarray | None], path: Path
) -> Path:
    """Draw the shown frames (columns) by view (rows); frames where the run lost the face are marked."""
    idx = sorted(frames)
    n = max(1, len(idx))
    fig, axes = plt.subplots(len(ROWS), n, figsize=(2.9 * n, 2.5 * len(ROWS)), squeeze=False)
    for c, i in enumerate(idx):
        lost = not bool(tr.valid[i])
        for r, row in enumerate(ROWS):
            ax = axes[r, c]
            ax.imshow(frames[i], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"frame {i} · {tr.times[i]:.2f} s", fontsize=9, color=COLOURS["lost"] if lost else "black")
            if c == 0:
                ax.set_ylabel(row if row != "frame" else "frame + landmarks", fontsize=9)
            _cell(ax, row, frames[i], points.get(i), lost, rec.roi == "full-frame")
    fig.suptitle(
        f"{rec.dataset} · {rec.id}: regions each ROI scheme averages "
        f"(landmarks re-detected on each shown frame; red = face lost in the run's traces)",
        fontsize=10,
    )
    fig.tight_layout()
    return save(fig, path)
