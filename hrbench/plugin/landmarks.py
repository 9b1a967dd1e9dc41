"""The landmarker contract: frame in, 68 facial landmarks out.

Every landmarker plugin returns points in the iBUG-300W 68-point convention
(jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67) in pixel
coordinates of the frame it was given.  One convention lets ROI schemes be
defined once, whatever network found the face: face-alignment emits it
natively; the MediaPipe face mesh (468 points) is mapped onto it.

A landmarker may track between frames (MediaPipe re-detects only when the
mesh confidence drops); :meth:`Landmarker.reset` is called before each video.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

N_LANDMARKS = 68

JAW = slice(0, 17)
RIGHT_BROW = slice(17, 22)
LEFT_BROW = slice(22, 27)
NOSE = slice(27, 36)
RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)
MOUTH = slice(48, 68)


class Landmarker(ABC):
    """Find one face per frame.

    Class attributes:
        name: registry name (``--landmarker``).
        version: bump when outputs change; part of the ROI-trace cache key.
        reads_bgr: the landmarker implements :meth:`landmarks_bgr`, so the
            extractor hands it the decoder's BGR frames and spares a colour
            conversion per frame.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    reads_bgr: ClassVar[bool] = False

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Forget tracking state; called before the first frame of each video."""

    @abstractmethod
    def __call__(self, frame_rgb: np.ndarray) -> np.ndarray | None:
        """Return ``(68, 2)`` float32 pixel coordinates, or ``None`` if no face is found."""

    def landmarks_bgr(self, frame_bgr: np.ndarray) -> np.ndarray | None:
        """:meth:`__call__` on a BGR frame; landmarkers with ``reads_bgr`` implement it without converting."""
        return self(np.ascontiguousarray(frame_bgr[..., ::-1]))

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Whether this landmarker can run here (weights present), and why not."""
        return True, ""
