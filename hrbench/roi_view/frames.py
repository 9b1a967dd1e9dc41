"""Which frames to show and decoding just those, numbered as the run numbers them."""

from __future__ import annotations

import cv2
import numpy as np

from ..data.recording import FrameSource
from ..errors import RecordingError


def read_frames(source: FrameSource, indices: list[int], recording_id: str | None = None) -> dict[int, np.ndarray]:
    """Decode only the frames at ``indices`` (RGB uint8), numbered like :func:`hrbench.data.video.iter_frames`.

    Videos are stepped with ``grab()`` (no colour conversion of skipped
    frames) rather than seeking, because a seek lands on key frames in many
    codecs and would show a different frame than the trace index says.
    """
    wanted = sorted(set(indices))
    if not wanted:
        return {}
    if source.kind == "images":
        return _read_images(source, wanted, recording_id)
    if not source.path.is_file():
        raise RecordingError("video file not found", source.path, recording_id)
    cap = cv2.VideoCapture(str(source.path))
    if not cap.isOpened():
        raise RecordingError("cannot open video (corrupt file or unsupported codec)", source.path, recording_id)
    out: dict[int, np.ndarray] = {}
    try:
        todo = set(wanted)
        for i in range(wanted[-1] + 1):
            if not cap.grab():
                break
            if i in todo:
                ok, frame = cap.retrieve()
                if ok:
                    out[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    return out


def _read_images(source: FrameSource, wanted: list[int], recording_id: str | None) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    files = source.image_files()
    for i in wanted:
        if i >= len(files):
            continue
        img = cv2.imread(str(files[i]), cv2.IMREAD_COLOR)
        if img is None:
            raise RecordingError("cannot decode image", files[i], recording_id)
        out[i] = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return out


def lost_runs(lost: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where ``lost`` is True."""
    edges = np.flatnonzero(np.diff(np.r_[0, lost.astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def choose_frames(valid: np.ndarray, lo: int, hi: int, n: int) -> list[int]:
    """``n`` frame indices spread evenly over ``[lo, hi)``; one lands in a face-lost gap if any.

    Why the swap: a lost face is the first thing to rule out, and evenly
    spaced frames easily step over a short gap.  The shown frame nearest to
    the middle of the longest gap is moved into it.
    """
    n = max(1, min(n, hi - lo))
    idx = [lo + int((k + 0.5) * (hi - lo) / n) for k in range(n)]
    lost = ~valid[lo:hi]
    if lost.any() and valid[idx].all():
        s, e = max(lost_runs(lost), key=lambda r: r[1] - r[0])
        mid = lo + int((s + e - 1) // 2)
        j = int(np.argmin([abs(i - mid) for i in idx]))
        idx[j] = mid
    return sorted(set(idx))
