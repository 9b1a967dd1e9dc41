"""Frame decoding: the only module that reads pixels from disk.

Frames are yielded as RGB ``uint8`` arrays.  Failures (missing file, codec
OpenCV cannot open, zero frames) become one-line :class:`RecordingError`.

Two damages would shorten or shift a recording silently, so they are errors
here: a container whose header lists more frames than really decode
(a truncated AVI: header 2196 frames, 1215 decode), and a numbered frame
folder with a hole in its numbering (``099.jpg``, ``101.jpg``: every later
frame would sit one frame period early).  :func:`verify_frames` finds the
same damages *without* a full decode, for ``hrbench datasets check``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..errors import RecordingError
from .dataset import Problem
from .recording import FrameSource

#: Frames the header may list beyond those that decode before it is called truncation.
HEADER_SLACK_FRAMES = 2
HEADER_SLACK_REL = 0.01
#: Frames read at the end of a container by the cheap check.
TAIL_FRAMES = 3

_MAGIC = {
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".bmp": (b"BM",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
}


def _header_slack(n: int) -> int:
    return max(HEADER_SLACK_FRAMES, int(HEADER_SLACK_REL * n))


def frame_number_gaps(files: list[Path]) -> list[tuple[int, int]]:
    """(last number before, first number after) of each hole in a numbered frame sequence.

    Only sequences numbered frame by frame (``000.jpg``, ``001.jpg``: most steps
    are 1) are checked; names that are timestamps (PURE's ``Image<ns>.png``) or
    not numbers at all have no notion of a missing frame.
    """
    nums = [int(f.stem) for f in files if f.stem.isdigit()]
    if len(nums) < 3 or len(nums) != len(files):
        return []
    steps = np.diff(np.asarray(nums, dtype=np.int64))
    if np.median(steps) != 1:
        return []
    return [(nums[i], nums[i + 1]) for i in np.flatnonzero(steps > 1)]


def _gap_message(files: list[Path], gaps: list[tuple[int, int]]) -> tuple[Path, str]:
    a, b = gaps[0]
    width = len(files[0].stem)
    missing = sum(y - x - 1 for x, y in gaps)
    first = files[0].with_name(f"{a + 1:0{width}d}{files[0].suffix}")
    more = f" ({missing} missing in {len(gaps)} gap(s))" if missing > 1 else ""
    return first, f"frame missing from the numbered sequence (between {a} and {b}){more}"


def image_header_error(path: Path) -> str | None:
    """Why a file cannot be a complete image of its type (None if its header and end look right).

    Reads a few bytes at each end, no pixels: a JPEG must start with SOI and
    end with EOI (a truncated JPEG still "decodes" into grey rows), a PNG must
    start with its signature and end with the IEND chunk.
    """
    try:
        size = path.stat().st_size
        if size == 0:
            return "image file is empty"
        with path.open("rb") as fh:
            head = fh.read(16)
            fh.seek(max(0, size - 32))
            tail = fh.read(32)
    except OSError as exc:
        return f"cannot read image ({exc.strerror or type(exc).__name__})"
    magic = _MAGIC.get(path.suffix.lower())
    if magic and not head.startswith(magic):
        return f"not a {path.suffix.lower().lstrip('.').upper()} image (wrong file header)"
    if path.suffix.lower() in (".jpg", ".jpeg") and b"\xff\xd9" not in tail:
        return "truncated JPEG (no end-of-image marker)"
    if path.suffix.lower() == ".png" and b"IEND" not in tail:
        return "truncated PNG (no IEND chunk)"
    return None


def iter_frames(source: FrameSource, recording_id: str | None = None, *, bgr: bool = False) -> Iterator[np.ndarray]:
    """Yield RGB frames from a video file or image folder, in order.

    ``bgr=True`` yields OpenCV's native BGR order instead: trace extraction
    measures small regions and reorders only those, so converting every
    full frame would be work for nothing.

    Raises RecordingError for a hole in a numbered frame sequence (before
    yielding anything) and for a video that decodes fewer frames than its
    header lists (after the last frame): neither may shorten a recording.
    """
    if source.kind == "images":
        files = source.image_files()
        if not files:
            raise RecordingError(f"no frames matching {source.pattern!r}", source.path, recording_id)
        gaps = frame_number_gaps(files)
        if gaps:
            where, msg = _gap_message(files, gaps)
            raise RecordingError(msg, where, recording_id)
        for f in files:
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is None:
                raise RecordingError("cannot decode image", f, recording_id)
            yield img if bgr else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return
    if not source.path.is_file():
        raise RecordingError("video file not found", source.path, recording_id)
    cap = cv2.VideoCapture(str(source.path))
    if not cap.isOpened():
        raise RecordingError("cannot open video (corrupt file or unsupported codec)", source.path, recording_id)
    expected = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    n = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            n += 1
            yield frame if bgr else cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    if n == 0:
        raise RecordingError("video has no decodable frames", source.path, recording_id)
    if expected > 0 and n < expected - _header_slack(expected):
        raise RecordingError(_truncated(expected, n), source.path, recording_id)


def _truncated(expected: int, n: int) -> str:
    return f"video truncated: its header lists {expected} frames but only {n} decode"


def probe(source: FrameSource) -> tuple[int, float]:
    """(frame count, fps) from container metadata, without decoding: :meth:`FrameSource.probe`."""
    return source.probe()


def _count_decodable(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    try:
        while cap.grab():
            n += 1
    finally:
        cap.release()
    return n


def verify_frames(
    source: FrameSource, recording_id: str | None = None, deep: bool = False
) -> tuple[int, list[Problem]]:
    """(frames a run will get, problems) -- every frame check a run makes, cheaply.

    Image folders: the numbering has no hole, every file has a complete image
    header and end marker, the first and last decode (``deep``: all decode).
    Videos: the container opens, and the header's frame count is real -- the
    last :data:`TAIL_FRAMES` frames are read after a seek, not the whole file
    (``deep``: every frame is decoded and counted).  A truncated container is
    an error naming both counts, never a shorter recording.
    """
    if source.kind == "images":
        return _verify_images(source, recording_id, deep)
    return _verify_video(source.path, recording_id, deep)


def _verify_images(source: FrameSource, rid: str | None, deep: bool) -> tuple[int, list[Problem]]:
    """:func:`verify_frames` of a numbered image folder."""
    if not source.path.is_dir():
        return 0, [Problem(str(source.path), "frame folder not found", rid)]
    files = source.image_files()
    if not files:
        return 0, [Problem(str(source.path), f"no frames matching {source.pattern!r}", rid)]
    problems: list[Problem] = []
    gaps = frame_number_gaps(files)
    if gaps:
        where, msg = _gap_message(files, gaps)
        problems.append(Problem(str(where), msg, rid))
    bad = [(f, why) for f in files if (why := image_header_error(f))]
    decode = files if deep else [files[0], files[-1]]
    seen = {f for f, _ in bad}
    shapes = set()
    for f in decode:
        if f in seen:
            continue
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            bad.append((f, "cannot decode image"))
            seen.add(f)
        else:
            shapes.add(img.shape)
    if bad:
        bad.sort(key=lambda b: files.index(b[0]))
        f, why = bad[0]
        more = f" (and {len(bad) - 1} more bad frame(s))" if len(bad) > 1 else ""
        problems.append(Problem(str(f), why + more, rid))
    if len(shapes) > 1:
        problems.append(Problem(str(source.path), f"frames differ in size: {sorted(shapes)}", rid))
    return len(files), problems


def _verify_video(path: Path, rid: str | None, deep: bool) -> tuple[int, list[Problem]]:
    """:func:`verify_frames` of a video file: the header's count checked after a seek (``deep``: all decoded)."""
    if not path.is_file():
        return 0, [Problem(str(path), "video file not found", rid)]
    if path.stat().st_size == 0:
        return 0, [Problem(str(path), "video file is empty", rid)]
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return 0, [Problem(str(path), "cannot open video (corrupt file or unsupported codec)", rid)]
        expected = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if deep or expected <= 0:
            n = 0
            while cap.read()[0]:
                n += 1
        else:
            start = max(0, expected - TAIL_FRAMES)
            cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            tail = 0
            while tail < TAIL_FRAMES and cap.read()[0]:
                tail += 1
            # Nothing decodes after the seek: count for real (the header may merely
            # overstate by a frame or two, which the slack forgives).
            n = expected if tail > 0 and start + tail >= expected - _header_slack(expected) else -1
    finally:
        cap.release()
    if n < 0:
        n = _count_decodable(path)  # only on damage: the exact count for the message
    if n == 0:
        return 0, [Problem(str(path), "video has no decodable frames", rid)]
    if expected > 0 and n < expected - _header_slack(expected):
        return n, [Problem(str(path), _truncated(expected, n), rid)]
    return n, []
