"""The method class LGI, PBV and OMIT share: one projection per window, stitched by overlap-add.

The toolboxes apply these methods to one short window at a time and stitch
the window pulses together; a single projection over a ten-minute recording
would be a different method.  The window grid, the taper and the stitching
are the core's (:func:`hrbench.api.windowed_pulse`), so every windowed
method shares exactly the same, tested arithmetic; each of the three
modules holds only its per-window projection and its metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from hrbench.api import HRSettings, window_frames, windowed_pulse

from ._classic import DEFAULT_HR, ClassicMethod

#: Fewest frames per window: a colour direction needs a few samples.
PROJECTION_MIN_WINDOW_FRAMES = 8


class WindowedProjection(ClassicMethod):
    """A method that projects each ``window_s`` window of a clip and stitches the windows.

    Why a base class: LGI, PBV and OMIT differ only in the projection of one
    window; the window length (from ``window_s``, at least
    :data:`PROJECTION_MIN_WINDOW_FRAMES`), the zero-mean windows and the
    overlap-add are the same, and sharing :meth:`pulse` keeps them so.  A
    subclass sets ``project`` (``staticmethod(f)``, ``f`` mapping window
    segments ``(..., L, 3)`` to window pulses ``(..., L)``) and declares
    ``params = {"window_s": window_param("projection")}``.
    """

    project: ClassVar[Callable[[np.ndarray], np.ndarray]]

    def pulse(self, rgb: np.ndarray, fps: float, settings: HRSettings = DEFAULT_HR) -> np.ndarray:
        L = window_frames(self.window_s, fps, rgb.shape[1], minimum=PROJECTION_MIN_WINDOW_FRAMES)
        return windowed_pulse(rgb, L, self.project)
