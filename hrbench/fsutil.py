"""Filesystem helpers: cache location, atomic writes, content fingerprints.

Cached artefacts (ROI traces, generated datasets, pretrained checkpoints) are
written atomically (temporary file + ``os.replace``) so that an interrupted run
never leaves a half-written file that a restart would trust.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

_SAMPLE = 4 * 1024 * 1024


def cache_dir() -> Path:
    """Root of hrbench's caches: ``$HRBENCH_CACHE`` or ``~/.cache/hrbench``."""
    root = os.environ.get("HRBENCH_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "hrbench"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
