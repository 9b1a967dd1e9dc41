"""Frame decoding: the only module that reads pixels from disk.

Frames are yielded as RGB ``uint8`` arrays.  Failures (missing file, codec
OpenCV cannot open, zero frames) become one-line :class:`RecordingError`.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from .errors import RecordingError
from .recording import FrameSource


def iter_frames(source: FrameSource, recording_id: str | None = None) -> Iterator[np.ndarray]:
    """Yield RGB frames from a video file or image folder, in order."""
    if source.kind == "images":
        files = source.image_files()
        if not files:
            raise RecordingError(f"no frames matching {source.pattern!r}", source.path, recording_id)
        for f in files:
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is None:
                raise RecordingError("cannot decode image", f, recording_id)
            yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return
    if not source.path.is_file():
        raise RecordingError("video file not found", source.path, recording_id)
    cap = cv2.VideoCapture(str(source.path))
    if not cap.isOpened():
        raise RecordingError("cannot open video (corrupt file or unsupported codec)", source.path, recording_id)
    n = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            n += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    if n == 0:
        raise RecordingError("video has no decodable frames", source.path, recording_id)


def probe(source: FrameSource) -> tuple[int, float]:
    """(frame count, fps) from container metadata, without decoding; fps 0 if unknown."""
    if source.kind == "images":
        return len(source.image_files()), 0.0
    cap = cv2.VideoCapture(str(source.path))
    try:
        if not cap.isOpened():
            return 0, 0.0
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()
