"""Helpers shared by the adapters of recorded datasets (MAHNOB-HCI, MMSE-HR, VIPL-HR, folder).

Why a shared module: every adapter has to turn the same kinds of damage --
a missing file, an empty or garbled text column, a video the container
cannot describe -- into the same one-line messages, and has to follow the
same contract (:mod:`hrbench.dataset`): ``scan_with_problems`` returns the
usable recordings plus a :class:`~hrbench.dataset.Problem` for each broken
one, ``scan`` raises on the first problem, ``check`` goes deeper.

Text columns (VIPL-HR ``wave.csv``, MMSE-HR ``Pulse Rate_BPM.txt``, signals
of the folder adapter) are parsed strictly: any line that is not a number is
reported with its line number instead of being skipped, because a silently
dropped line shifts every later sample in time.  Line endings (LF, CRLF, CR)
and a UTF-8 or UTF-16 byte-order mark are accepted -- VIPL-HR ships CRLF
files written on Windows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from hrbench.dataset import Problem
from hrbench.errors import HrbenchError, RecordingError
from hrbench.recording import FrameSource, Recording
from hrbench.video import probe

#: Sentinel for :func:`read_column`: the first line may be a header or a value.
OPTIONAL_HEADER = object()


def require_dir(root: Path, dataset: str, expected: str) -> Path:
    """``root`` as a Path, or a one-line HrbenchError saying what was expected there."""
    root = Path(root).expanduser()
    if not root.exists():
        raise HrbenchError(f"{dataset} root does not exist (expected {expected})", root)
    if not root.is_dir():
        raise HrbenchError(f"{dataset} root is not a directory (expected {expected})", root)
    return root


def _decode(raw: bytes, path: Path, rid: str | None) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise RecordingError(
            f"not a text file ({encoding} decoding fails at byte {exc.start})", path, rid
        ) from None


def read_column(
    path: Path,
    *,
    header: str | object | None = None,
    recording_id: str | None = None,
) -> np.ndarray:
    """Numbers of a one-column text file, one per line.

    Args:
        path: the file.
        header: the expected first line (compared case-insensitively, quotes
            stripped), ``None`` for no header, or :data:`OPTIONAL_HEADER`.
        recording_id: carried into the error.

    Raises:
        RecordingError naming the file (and the line) for a missing, empty,
        non-text or non-numeric file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RecordingError("file not found", path, recording_id) from None
    except OSError as exc:
        raise RecordingError(
            f"cannot read file ({exc.strerror or exc})", path, recording_id
        ) from None
    if not raw.strip():
        raise RecordingError("file is empty", path, recording_id)
    text = _decode(raw, path, recording_id)
    # splitlines() breaks on \n, \r\n and a lone \r alike.
    lines = [(i + 1, ln.strip()) for i, ln in enumerate(text.splitlines())]
    lines = [(n, ln) for n, ln in lines if ln]
    if header is not None and lines:
        first = lines[0][1].strip("\"' ")
        if header is OPTIONAL_HEADER:
            try:
                float(first)
            except ValueError:
                lines = lines[1:]
        else:
            if first.lower() != str(header).lower():
                raise RecordingError(
                    f"line {lines[0][0]}: header is {lines[0][1][:40]!r}, expected {header!r}",
                    path,
                    recording_id,
                )
            lines = lines[1:]
    if not lines:
        raise RecordingError("file holds a header but no values", path, recording_id)
    try:
        values = np.array([ln for _, ln in lines], dtype=np.float64)
    except ValueError:
        for n, ln in lines:
            try:
                float(ln)
            except ValueError:
                raise RecordingError(
                    f"line {n}: {ln[:40]!r} is not a number", path, recording_id
                ) from None
        raise  # pragma: no cover - numpy refused what float() accepts
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise RecordingError(f"line {lines[bad][0]}: value is NaN or infinite", path, recording_id)
    return values


def video_length(source: FrameSource, fps: float) -> tuple[int, float]:
    """(frame count, duration in s) from container metadata or the image count; no decoding."""
    n, container_fps = probe(source)
    rate = fps if fps > 0 else container_fps
    return n, (n / rate if rate > 0 else 0.0)


def problem_of(
    exc: Exception, recording_id: str | None = None, path: str | Path | None = None
) -> Problem:
    """A Problem for an error: an HrbenchError's own path and message, else one line naming ``path``."""
    if isinstance(exc, HrbenchError):
        rid = getattr(exc, "recording_id", None) or recording_id
        return Problem(exc.path or str(path or ""), exc.message, rid)
    if isinstance(exc, OSError):
        where = exc.filename or path
        return Problem(
            str(where or ""), f"cannot read ({exc.strerror or type(exc).__name__})", recording_id
        )
    return Problem(str(path or ""), f"unexpected {type(exc).__name__}: {exc}", recording_id)


def raise_first(recordings: list[Recording], problems: list[Problem]) -> list[Recording]:
    """``scan`` semantics: the recordings, or a RecordingError for the first problem."""
    if problems:
        p = problems[0]
        more = (
            f" (and {len(problems) - 1} more problem(s); see `hrbench datasets check`)"
            if len(problems) > 1
            else ""
        )
        raise RecordingError(p.message + more, p.path, p.recording_id)
    return recordings


def deep_check(
    recordings: list[Recording],
    problems: list[Problem],
    checker: Callable[[Recording], Iterable[Problem]],
) -> tuple[list[Recording], list[Problem]]:
    """Run ``checker`` on each recording; keep those with no problem.

    Whatever a checker raises becomes a problem of that recording: ``check``
    exists to diagnose damaged copies, so it reports instead of stopping.
    """
    usable: list[Recording] = []
    out = list(problems)
    for rec in recordings:
        try:
            found = list(checker(rec))
        except Exception as exc:  # noqa: BLE001 - any failure on user data is reported per recording
            found = [problem_of(exc, rec.id, rec.frames.path)]
        if found:
            out.extend(found)
        else:
            usable.append(rec)
    return usable, out
