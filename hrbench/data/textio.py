"""Strict reading of the small text files datasets ship (one number per line).

Why in the core: adapters of recorded datasets and third-party adapters alike
must turn a garbled ground-truth column into a one-line error naming the file
and the line -- never skip the line, because a silently dropped sample shifts
every later one in time.  So ``read_column`` lives here, offered to every
adapter by :mod:`hrbench.api`.

Line endings (LF, CRLF, CR) and a UTF-8 or UTF-16 byte-order mark are
accepted -- VIPL-HR ships CRLF files written on Windows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import RecordingError

#: Sentinel for :func:`read_column`: the first line may be a header or a value.
OPTIONAL_HEADER = object()


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


def read_text(path: Path, recording_id: str | None = None) -> str:
    """A text file's contents (LF/CRLF/CR, UTF-8 or UTF-16 with BOM), or a one-line RecordingError."""
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
    return _decode(raw, path, recording_id)


def _after_header(lines: list[tuple[int, str]], header: str | object, path: Path, recording_id: str | None,
                  quote: bool) -> list[tuple[int, str]]:
    """The (line number, text) lines after the header :func:`read_column` expects (an optional one: if present)."""
    first = lines[0][1].strip("\"' ")
    if header is OPTIONAL_HEADER:
        try:
            float(first)
        except ValueError:
            return lines[1:]
        return lines
    if first.lower() != str(header).lower():
        got = f"header is {lines[0][1][:40]!r}" if quote else "unexpected header"
        raise RecordingError(f"line {lines[0][0]}: {got}, expected {header!r}", path, recording_id)
    return lines[1:]


def read_column(
    path: Path,
    *,
    header: str | object | None = None,
    recording_id: str | None = None,
    quote: bool = True,
) -> np.ndarray:
    """Numbers of a one-column text file, one per line.

    Args:
        path: the file.
        header: the expected first line (compared case-insensitively, quotes
            stripped), ``None`` for no header, or :data:`OPTIONAL_HEADER`.
        recording_id: carried into the error.
        quote: quote the offending line in errors.  False for files whose path
            comes from a user-supplied list (the folder adapter's manifest):
            such a path may point anywhere, and an error must never echo the
            contents of, say, ``/etc/passwd`` -- only its path and line number.

    Raises:
        RecordingError naming the file (and the line) for a missing, empty,
        non-text or non-numeric file.
    """
    path = Path(path)
    text = read_text(path, recording_id)  # the same missing/empty/not-text errors as any text file
    # splitlines() breaks on \n, \r\n and a lone \r alike.
    lines = [(i + 1, ln.strip()) for i, ln in enumerate(text.splitlines())]
    lines = [(n, ln) for n, ln in lines if ln]
    if header is not None and lines:
        lines = _after_header(lines, header, path, recording_id, quote)
    if not lines:
        raise RecordingError("file holds a header but no values", path, recording_id)
    try:
        values = np.array([ln for _, ln in lines], dtype=np.float64)
    except ValueError:
        for n, ln in lines:
            try:
                float(ln)
            except ValueError:
                what = repr(ln[:40]) if quote else "value"
                raise RecordingError(
                    f"line {n}: {what} is not a number", path, recording_id
                ) from None
        raise  # pragma: no cover - numpy refused what float() accepts
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise RecordingError(f"line {lines[bad][0]}: value is NaN or infinite", path, recording_id)
    return values
