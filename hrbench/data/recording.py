"""Recordings: one video (or frame folder) and its ground truth.

A :class:`Recording` is cheap to build: adapters create them at scan time
without decoding anything.  Frames and ground truth are loaded on demand
through picklable callables (``functools.partial`` of module-level
functions), so recordings travel to worker processes unchanged.

Ground truth is always a :class:`Signal` of one of three kinds -- a blood
volume pulse (``bvp``), an ``ecg``, or an ``hr`` track in bpm -- and every
dataset answers "what was the heart rate between seconds a and b" through the
same estimator (:func:`hrbench.pulse.hr.reference_hr`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import RecordingError

SignalKind = Literal["bvp", "ecg", "hr"]


@dataclass(frozen=True)
class Signal:
    """A physiological signal sampled at ``fs`` Hz, or at explicit ``times`` (s).

    ``times`` is given when the sampling is irregular; otherwise sample ``i``
    lies at ``offset + i / fs`` seconds on the video's clock.
    """

    kind: SignalKind
    values: np.ndarray
    fs: float
    offset: float = 0.0
    times: np.ndarray | None = None

    def sample_times(self) -> np.ndarray:
        if self.times is not None:
            return np.asarray(self.times, dtype=np.float64)
        return self.offset + np.arange(len(self.values), dtype=np.float64) / self.fs

    @property
    def duration(self) -> float:
        t = self.sample_times()
        return float(t[-1] - t[0]) if len(t) > 1 else 0.0


@dataclass(frozen=True)
class FrameSource:
    """Where frames come from: a video file, or a folder of images.

    ``pattern`` is a glob for image folders; numeric names sort numerically
    (MMSE-HR's ``%03d.jpg`` runs past 999), others by name.
    """

    path: Path
    kind: Literal["video", "images"] = "video"
    pattern: str = "*.jpg"

    def image_files(self) -> list[Path]:
        """Frames in numeric order when names are numbers (999.jpg before 1000.jpg)."""

        def key(p: Path) -> tuple[int, float, str]:
            stem = p.stem
            return (0, float(stem), p.name) if stem.isdigit() else (1, 0.0, p.name)

        return sorted(self.path.glob(self.pattern), key=key)

    def probe(self) -> tuple[int, float]:
        """(frame count, frame rate) from the container's header or the image count; no frame decoded.

        Why here: an adapter needs a video's length at scan time (to check that
        its ground truth spans it) and should not have to import OpenCV for it.
        The frame rate is 0.0 when unknown (a folder of images has none; a
        container that cannot be opened gives (0, 0.0) -- decoding reports why).
        """
        if self.kind == "images":
            return len(self.image_files()), 0.0
        import cv2  # on first use: importing an adapter must not pay for OpenCV

        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                return 0, 0.0
            return int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), float(cap.get(cv2.CAP_PROP_FPS))
        finally:
            cap.release()

    def frame_count(self) -> int:
        """Frames the container's header lists (or images in the folder); 0 when it cannot be read."""
        return self.probe()[0]

    def frame_rate(self) -> float:
        """The container's frame rate; 0.0 when it gives none (always for a folder of images)."""
        return self.probe()[1]

    def duration(self, fps: float = 0.0) -> float:
        """Seconds the frames last at ``fps`` (the recording's nominal rate), else at the container's rate.

        0.0 when neither rate is known.  Header-based: a truncated container
        claims its full length (``hrbench datasets check`` finds that).
        """
        n, container_fps = self.probe()
        rate = fps if fps > 0 else container_fps
        return n / rate if rate > 0 else 0.0


@dataclass(frozen=True)
class Recording:
    """One video and its ground truth.

    Attributes:
        dataset: name of the adapter that found it.
        id: unique within its dataset, stable across scans (used in results).
        subject: subject id; subject-exclusive splits group on it.
        session: session / scenario / task label.
        fps: nominal frame rate.
        frames: the frame source.
        ground_truth: zero-argument callable returning the reference Signal.
        timestamps: optional callable returning per-frame times in seconds.
        roi: ``"face"`` (find a face) or ``"full-frame"`` (pre-cropped skin).
        meta: free-form descriptive fields (scenario, skin tone, ...), shown in
            breakdowns; must be JSON-serialisable.
        window: optional (start_s, end_s) of the usable part of the video, for
            protocols that evaluate a fixed window (e.g. MAHNOB-HCI 306-2135).
        gt_path: the ground-truth file, for error messages.
    """

    dataset: str
    id: str
    subject: str
    session: str
    fps: float
    frames: FrameSource
    ground_truth: Callable[[], Signal]
    timestamps: Callable[[], np.ndarray] | None = None
    roi: Literal["face", "full-frame"] = "face"
    meta: dict[str, Any] = field(default_factory=dict)
    window: tuple[float, float] | None = None
    gt_path: Path | None = None

    def load_ground_truth(self) -> Signal:
        """Load the reference signal, converting any failure to a one-line error."""
        try:
            sig = self.ground_truth()
        except RecordingError:
            raise
        except Exception as exc:  # noqa: BLE001 - any parser failure becomes one line
            raise RecordingError(
                f"cannot read ground truth ({type(exc).__name__}: {exc})",
                self.gt_path or self.frames.path,
                self.id,
            ) from exc
        values = np.asarray(sig.values, dtype=np.float64)
        if values.ndim != 1 or len(values) < 2:
            raise RecordingError("ground truth is empty or not one-dimensional", self.gt_path, self.id)
        if not np.all(np.isfinite(values)):
            raise RecordingError("ground truth contains NaN or infinite values", self.gt_path, self.id)
        return sig
