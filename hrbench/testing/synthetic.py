"""The kit's test data: clean pulses on skin-coloured ROI means, a face photograph, a face's landmarks.

Why generated: checks must be fast, need no dataset and know the truth --
a clip's heart rate, a frame's colour, where the face's landmarks are.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..plugin.clips import Clips
from ..plugin.landmarks import N_LANDMARKS
from ..pulse.hr import HRSettings

#: Skin colour (mean RGB, 8-bit) and the direction of the blood-volume pulse in RGB
#: (green strongest, as in skin reflectance).
SKIN_RGB = np.array([170.0, 120.0, 100.0])
PULSE_RGB = np.array([0.33, 0.77, 0.53])


def synthetic_clips(
    hr_bpm: Iterable[float],
    n_rois: int = 1,
    *,
    clip_len: int = 300,
    fps: float = 30.0,
    seed: int = 0,
    labelled: bool = True,
    clips_per_recording: int = 1,
    settings: HRSettings | None = None,
    noise: float = 0.15,
) -> Clips:
    """Clips of ``n_rois`` skin-coloured ROI means pulsing at the given heart rates.

    Each clip ``i`` carries a pulse at ``hr_bpm[i]`` with a second harmonic
    (a quarter of the fundamental), a per-ROI skin tone and amplitude (~1
    grey level, as in real video), and Gaussian noise of ``noise`` grey
    levels per ROI and frame.  ``hr`` holds the reference when ``labelled``.
    """
    hrs = np.asarray(list(hr_bpm), dtype=np.float64)
    n = len(hrs)
    rng = np.random.default_rng(seed)
    t = np.arange(clip_len) / fps
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    f = (hrs / 60.0)[:, None, None]
    wave = np.sin(2 * np.pi * f * t + phase) + 0.25 * np.sin(4 * np.pi * f * t + 2 * phase)  # (n, 1, T)
    amp = rng.uniform(0.6, 1.0, (n, n_rois, 1))
    base = SKIN_RGB * rng.uniform(0.9, 1.1, (n, n_rois, 1, 1))
    traces = base + (amp * wave)[..., None] * PULSE_RGB + rng.normal(0.0, noise, (n, n_rois, clip_len, 3))
    ids = np.array([f"rec{i // clips_per_recording:03d}" for i in range(n)])
    subjects = np.array([f"s{i // (2 * clips_per_recording):03d}" for i in range(n)])
    starts = np.array([float((i % clips_per_recording) * clip_len / fps) for i in range(n)])
    return Clips(
        traces=traces.astype(np.float32), fps=float(fps), recording_ids=ids, subjects=subjects,
        hr_settings=settings or HRSettings(), hr=hrs.copy() if labelled else None, starts=starts,
    )


def face_image() -> np.ndarray:
    """A real face photograph (scikit-image's astronaut, RGB uint8, shipped in the wheel)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def face_landmarks(cx: float = 160.0, cy: float = 120.0, scale: float = 1.0) -> np.ndarray:
    """A plausible upright iBUG-68 layout (a face ~100 px wide at ``scale`` 1) centred at (cx, cy).

    Why drawn, not detected: an ROI scheme's checks must not depend on a
    landmarker being installed; the points only need the iBUG-68 order and
    proportions (jaw, brows, nose, eyes, mouth).
    """
    u = np.linspace(-1.0, 1.0, 17)
    jaw = np.c_[50.0 * u * np.sqrt(1.0 - 0.3 * u**2), 5.0 + 55.0 * (1.0 - np.abs(u) ** 1.5)]
    ring6 = np.linspace(0.0, 2 * np.pi, 6, endpoint=False)
    ring12 = np.linspace(0.0, 2 * np.pi, 12, endpoint=False)
    eye = np.c_[8.0 * np.cos(ring6), 3.0 * np.sin(ring6)]
    mouth = np.c_[18.0 * np.cos(ring12), 6.0 * np.sin(ring12)] + [0.0, 32.0]
    pts = np.concatenate([
        jaw,
        np.c_[np.linspace(-40, -10, 5), np.full(5, -35.0)],  # subject's right brow (image left)
        np.c_[np.linspace(10, 40, 5), np.full(5, -35.0)],
        np.c_[np.zeros(4), np.linspace(-25, 5, 4)],  # nose bridge
        np.c_[np.linspace(-10, 10, 5), np.full(5, 12.0)],  # nostrils
        eye + [-25.0, -22.0],
        eye + [25.0, -22.0],
        mouth,
        mouth[::3].repeat(2, axis=0)[:8] * 0.6 + [0.0, 12.8],  # inner lips
    ])
    assert len(pts) == N_LANDMARKS
    return pts * scale + [cx, cy]
