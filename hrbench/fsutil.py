"""Filesystem helpers: cache location, atomic writes, verified cache entries, fingerprints.

Cached artefacts (ROI traces, generated datasets, pretrained checkpoints) are
written atomically (temporary file + ``os.replace``) so that an interrupted run
never leaves a half-written file that a restart would trust.

Atomic writes do not protect against what happens to a file afterwards (a
disk filling up during a copy, a file restored from another machine's cache,
a cache entry copied over another).  So cache entries also carry what they
were computed from and a checksum of their contents
(:func:`save_npz_verified` / :func:`load_npz_verified`): a reader that finds
a mismatch reports it in one line (:func:`notice`) and recomputes, instead
of trusting the file or failing with a traceback.

The cache root is decided once per process (:func:`set_cache_root`, called
by the command line for ``--cache``) and exported to ``$HRBENCH_CACHE`` so
that spawned worker processes use the same one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

_SAMPLE = 4 * 1024 * 1024


_cache_root: Path | None = None
_notice_handler: Callable[[str], None] | None = None


def set_cache_root(path: str | Path | None) -> Path | None:
    """Make ``path`` the root of every cache of this process and of the workers it spawns.

    Why one setter: traces, generated datasets and checkpoints are found by
    different modules (some in plugins, some in spawned workers that do not
    share this module's state); setting the root here and in
    ``$HRBENCH_CACHE`` makes ``--cache`` move all of them.  ``None`` goes back
    to the environment / default.  Returns the resolved root.
    """
    global _cache_root
    if path is None:
        _cache_root = None
        return None
    _cache_root = Path(path).expanduser().resolve()
    os.environ["HRBENCH_CACHE"] = str(_cache_root)
    return _cache_root


def cache_dir() -> Path:
    """Root of hrbench's caches: :func:`set_cache_root`'s, else ``$HRBENCH_CACHE``, else ``~/.cache/hrbench``."""
    if _cache_root is not None:
        path = _cache_root
    else:
        root = os.environ.get("HRBENCH_CACHE")
        path = Path(root).expanduser() if root else Path.home() / ".cache" / "hrbench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def set_notice_handler(handler: Callable[[str], None] | None) -> None:
    """Route :func:`notice` lines (e.g. to the runner's console); ``None`` = stderr."""
    global _notice_handler
    _notice_handler = handler


def notice(message: str) -> None:
    """Tell the user, in one line, about something hrbench fixed by itself (a stale cache entry).

    Not a warning category on purpose: ``warnings`` prints two lines with a
    source location and deduplicates repeats, and these notices concern
    different files each time.
    """
    line = " ".join(message.split())
    if _notice_handler is not None:
        _notice_handler(line)
    else:
        print(f"hrbench: note: {line}", file=sys.stderr, flush=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see either nothing or all of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_npz_atomic(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Store arrays as ``.npz`` (no pickle) atomically."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write_bytes(path, buf.getvalue())


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Load an ``.npz`` written by :func:`save_npz_atomic`, refusing pickles."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


#: Field names :func:`save_npz_verified` adds next to the caller's arrays.
META_FIELD = "__meta__"
CHECKSUM_FIELD = "__sha256__"


class StaleEntry(Exception):
    """A cache entry that must not be used: unreadable, damaged, or computed from something else.

    ``reason`` is a short phrase for a one-line notice ("truncated or not an
    npz file", "checksum mismatch", "computed from another video", ...).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def arrays_checksum(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None = None) -> str:
    """SHA-256 of arrays (name, dtype, shape, bytes, in name order) and a JSON-able ``meta``.

    Dtype and shape are hashed too: the same bytes read as another dtype
    are other numbers.
    """
    h = hashlib.sha256()
    h.update(json.dumps(dict(meta or {}), sort_keys=True, separators=(",", ":"), default=str).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"|{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_npz_verified(path: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Store arrays atomically together with ``meta`` (what they were computed from) and a checksum of both."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    if META_FIELD in arrays or CHECKSUM_FIELD in arrays:
        raise ValueError(f"array names {META_FIELD!r} and {CHECKSUM_FIELD!r} are reserved")
    meta_text = json.dumps(dict(meta), sort_keys=True, separators=(",", ":"))
    digest = arrays_checksum(arrays, json.loads(meta_text))
    save_npz_atomic(path, {**arrays, META_FIELD: np.array(meta_text), CHECKSUM_FIELD: np.array(digest)})


def load_npz_verified(path: Path, expect: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Arrays of an entry written by :func:`save_npz_verified`, or :class:`StaleEntry` saying why not.

    The entry is accepted only if it reads completely, its checksum matches
    its contents, and every key of ``expect`` has the expected value in its
    stored meta (e.g. the video fingerprint: a file copied over another
    recording's entry is refused).  Entries from before checksums existed
    count as stale.
    """
    try:
        data = load_npz(path)
    except FileNotFoundError:
        raise StaleEntry("missing") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise StaleEntry(f"unreadable (truncated or not an npz file: {type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - numpy/zipfile raise many types on arbitrary bytes
        raise StaleEntry(f"unreadable ({type(exc).__name__})") from None
    if META_FIELD not in data or CHECKSUM_FIELD not in data:
        raise StaleEntry("written by an older hrbench (no checksum)")
    try:
        meta_text = str(data.pop(META_FIELD)[()])
        stored = str(data.pop(CHECKSUM_FIELD)[()])
        meta = json.loads(meta_text)
    except (ValueError, TypeError, IndexError):
        raise StaleEntry("damaged metadata") from None
    if not isinstance(meta, dict) or arrays_checksum(data, meta) != stored:
        raise StaleEntry("checksum mismatch (damaged file)")
    for k, v in expect.items():
        if meta.get(k) != v:
            raise StaleEntry(f"computed from another {k.replace('_', ' ')}")
    return data


def file_fingerprint(path: Path) -> str:
    """Content fingerprint of a file: size plus hashes of its head, middle and tail.

    Hashing every byte of a multi-gigabyte MAHNOB-HCI video on every run would
    cost more than the extraction it guards; sampling 3 x 4 MiB catches
    re-encodes, truncation and replacement while staying O(1) in file size.
    """
    h = hashlib.blake2b(digest_size=16)
    size = path.stat().st_size
    h.update(str(size).encode())
    with path.open("rb") as fh:
        for offset in sorted({0, max(0, size // 2 - _SAMPLE // 2), max(0, size - _SAMPLE)}):
            fh.seek(offset)
            h.update(fh.read(_SAMPLE))
    return h.hexdigest()


def file_stamp(path: Path) -> list[int]:
    """What changes whenever a file's content does: size, mtime, ctime and inode (ns resolution).

    ctime and inode are in it because copying tools can restore an mtime
    (``cp -p``, ``rsync -t``) but never a ctime: a same-size file put in
    place with the old mtime still gets a new stamp.
    """
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def memo_file_fingerprint(path: Path, memo_root: Path | None = None) -> str:
    """:func:`file_fingerprint`, remembered per path until the file's :func:`file_stamp` changes.

    Why: a run fingerprints every video several times (trace cache keys, the
    run's input hash, cross-database overlap) and each time reads up to
    12 MiB of it; on a warm run nothing changed, and a ``stat`` answers.
    The memo is one small JSON file per video under
    ``<memo_root or cache root>/fingerprints/``, written atomically; an
    unreadable one is simply recomputed (it only ever saves work).
    """
    path = Path(path)
    stamp = file_stamp(path)
    name = stable_hash(str(path.resolve()), 32)
    memo = (memo_root or cache_dir()) / "fingerprints" / name[:2] / f"{name}.json"
    try:
        saved = json.loads(memo.read_text(encoding="utf-8"))
        if saved.get("stamp") == stamp and isinstance(saved.get("fingerprint"), str):
            return saved["fingerprint"]
    except (OSError, ValueError, AttributeError):
        pass
    fp = file_fingerprint(path)
    if file_stamp(path) == stamp:  # not rewritten while it was read
        with contextlib.suppress(OSError):  # a read-only cache only costs the re-read next time
            atomic_write_bytes(memo, json.dumps({"path": str(path), "stamp": stamp, "fingerprint": fp}).encode())
    return fp


def tree_fingerprint(paths: Iterable[Path]) -> str:
    """Fingerprint a set of files (an image folder) by name, size and content samples."""
    h = hashlib.blake2b(digest_size=16)
    files = sorted(paths)
    h.update(str(len(files)).encode())
    for i, p in enumerate(files):
        h.update(p.name.encode())
        h.update(str(p.stat().st_size).encode())
        # Full content of the first, middle and last frame; sizes for the rest.
        if i in (0, len(files) // 2, len(files) - 1):
            h.update(p.read_bytes())
    return h.hexdigest()


def stable_hash(obj: Any, length: int = 16) -> str:
    """Hash of a JSON-serialisable object, independent of dict ordering."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
