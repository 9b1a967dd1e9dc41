"""Face -> ROI traces, computed once per (video content, scheme, landmarker, code) and cached.

Extraction decodes each frame, asks the landmarker for 68 points and lets
each requested ROI scheme measure its regions.  The result for one scheme is
a :class:`Traces`: ``values`` ``(n_rois, T, 3)`` float32 mean RGB with NaN
where the face was lost, ``valid`` ``(T,)`` flags, ``times`` ``(T,)`` seconds.
Lost frames are flagged, never silently filled; clip sampling decides what
to do with them.

Cache layout: ``<cache>/traces/<key>.npz`` (``np.savez``, no pickle, written
atomically), ``key = hash(video fingerprint, scheme + version, landmarker +
version, TRACE_CODE_VERSION)``.  An interrupted run keeps every recording it
finished; a restart extracts only the rest.

Each entry also stores what it was computed from (video fingerprint, scheme
and version, landmarker, code version) and a checksum of its arrays
(:func:`hrbench.fsutil.save_npz_verified`).  Why: the key only names the
file; a truncated copy, random bytes, or another recording's entry copied
to this name would otherwise be used (or crash the run).  An entry that
fails verification is reported in one line and extracted again.

Frame times are not part of the key: they come from the recording's
metadata (a manifest's fps, ``time.txt``, MAHNOB's ``vidRate``), not from the
pixels, and correcting them must not cost a new landmarking pass.  So the
measurements are stored per frame *index*, and the times are applied from
the recording as it is now whenever traces are used (:func:`load_traces`
with ``rec``).  The times an entry was last used with are stored too: when
they differ from the recording's current ones, the entry is re-timed (one
line says so: "frame times changed ...") so the change is reported once,
and a recording whose timestamps no longer cover its frames is a named
error on a warm cache just as on a cold one.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .. import TRACE_CODE_VERSION
from ..data.recording import Recording
from ..data.video import iter_frames, probe
from ..errors import HrbenchError, RecordingError
from ..fsutil import (
    StaleEntry,
    load_npz_verified,
    memo_file_fingerprint,
    notice,
    save_npz_verified,
    stable_hash,
    tree_fingerprint,
)
from ..plugin.host import Registry, get_scheme
from ..plugin.roi import RoiScheme


@dataclass(frozen=True)
class Traces:
    values: np.ndarray
    valid: np.ndarray
    times: np.ndarray
    fps: float

    @property
    def n_frames(self) -> int:
        return self.values.shape[1]


def video_fingerprint(rec: Recording, cache_root: Path | None = None) -> str:
    """Content fingerprint of a recording's frames; a video file's is remembered until the file changes.

    ``cache_root``: where the memo of video fingerprints lives
    (:func:`hrbench.fsutil.memo_file_fingerprint`; default the cache root).
    """
    src = rec.frames
    try:
        if src.kind == "images":
            files = src.image_files()
            if not files:
                raise RecordingError(f"no frames matching {src.pattern!r}", src.path, rec.id)
            return tree_fingerprint(files)
        return memo_file_fingerprint(src.path, cache_root)
    except FileNotFoundError:
        raise RecordingError("video file not found", src.path, rec.id) from None


def landmarker_tag(rec: Recording, landmarker: str, version: str) -> str:
    return "full-frame" if rec.roi == "full-frame" else f"{landmarker}@{version}"


def trace_key(fingerprint: str, scheme: str, landmarker_tag_: str) -> str:
    s = get_scheme(scheme)
    return stable_hash([fingerprint, f"{scheme}@{s.version}", landmarker_tag_, TRACE_CODE_VERSION], 24)


def cache_path(cache_root: Path, key: str) -> Path:
    return cache_root / "traces" / key[:2] / f"{key}.npz"


def entry_meta(fingerprint: str, scheme: str, landmarker_tag_: str) -> dict[str, str]:
    """What a trace entry was computed from; stored in it and compared on every read."""
    return {"video_fingerprint": fingerprint, "scheme": f"{scheme}@{get_scheme(scheme).version}",
            "landmarker": landmarker_tag_, "code_version": TRACE_CODE_VERSION}


def _traces_from(d: dict[str, np.ndarray]) -> Traces:
    try:
        values, valid, times, fps = d["values"], d["valid"].astype(bool), d["times"], float(d["fps"])
    except (KeyError, TypeError, ValueError):
        raise StaleEntry("missing arrays") from None
    if values.ndim != 3 or values.shape[1] != len(valid) or len(times) != len(valid) or not fps > 0:
        raise StaleEntry("inconsistent array shapes")
    return Traces(values, valid, times, fps)


def read_entry(path: Path, expect: dict[str, str] | None = None) -> Traces:
    """Traces of a verified entry, or :class:`~hrbench.fsutil.StaleEntry` saying why it cannot be used."""
    return _traces_from(load_npz_verified(Path(path), expect or {}))


def _verified(path: Path, expect: dict[str, str], notice_: Callable[[str], None] | None = None) -> Traces | None:
    """The traces of the entry at ``path`` if it can be used; else None, saying why in one line (unless just missing).

    A stale entry is removed after the notice, so that whoever extracts it
    next (often a worker process) finds it missing rather than reporting it
    a second time; it is a cache file this code wrote, never user data.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        return read_entry(path, expect)
    except StaleEntry as exc:
        (notice_ or notice)(f"{path}: trace cache entry {exc.reason}; extracting it again")
        with contextlib.suppress(OSError):  # read-only cache: extraction overwrites it or says why not
            path.unlink(missing_ok=True)
        return None


def verify_entry(path: Path, expect: dict[str, str], notice_: Callable[[str], None] | None = None) -> bool:
    """True if the entry at ``path`` can be used; else say why in one line (see :func:`_verified`)."""
    return _verified(path, expect, notice_) is not None


def load_traces(path: Path, expect: dict[str, str] | None = None, rec: Recording | None = None) -> Traces:
    """Load a cache entry that :func:`cached_paths` / :func:`extract_and_cache` verified.

    Still checks the checksum (a file can change between the check and the
    read) and, given ``expect`` (:func:`entry_meta`), what it was computed
    from.  Given ``rec``, the frame times (and fps) are the recording's
    current ones (:func:`frame_times`), never the ones stored.  Failure is a
    one-line :class:`RecordingError` naming the file, which
    ``--skip-invalid`` can skip; rerunning re-extracts it.
    """
    try:
        tr = read_entry(path, expect)
    except StaleEntry as exc:
        raise RecordingError(f"trace cache entry {exc.reason}; run again to re-extract it", path) from None
    if rec is None:
        return tr
    return Traces(tr.values, tr.valid, frame_times(rec, tr.n_frames), float(rec.fps))


def frame_times(rec: Recording, n: int) -> np.ndarray:
    """Seconds from the first frame of each of ``n`` decoded frames: the recording's timestamps, else ``i / fps``."""
    if rec.timestamps is not None:
        try:
            ts = np.asarray(rec.timestamps(), dtype=np.float64)
        except RecordingError:
            raise
        except Exception as exc:  # noqa: BLE001 - an adapter's loader: any failure is this recording's problem
            raise RecordingError(f"cannot read timestamps ({exc})", rec.frames.path, rec.id) from None
        if len(ts) < n:
            # A silent fall-back to the nominal rate would misalign every later frame
            # with the ground truth: a named problem (``datasets check`` reports it too).
            raise RecordingError(f"{len(ts)} timestamps for {n} decoded frames: fewer than the frames",
                                 rec.frames.path, rec.id)
        if not np.all(np.diff(ts[:n]) > 0):
            raise RecordingError("frame timestamps do not increase", rec.frames.path, rec.id)
        return ts[:n] - ts[0]
    if not (np.isfinite(rec.fps) and rec.fps > 0):
        raise RecordingError(f"frame rate {rec.fps!r} is not a positive number", rec.frames.path, rec.id)
    return np.arange(n, dtype=np.float64) / rec.fps



def timing_change(stored: Traces, times: np.ndarray, fps: float) -> str | None:
    """How the frame times an entry was used with differ from ``times``/``fps`` (None: they do not)."""
    if float(stored.fps) != float(fps):
        return f"fps {stored.fps:g} -> {fps:g}"
    if len(stored.times) != len(times):
        return f"{len(stored.times)} -> {len(times)} frame times"
    differ = np.flatnonzero(stored.times != times)
    if len(differ) == 0:
        return None
    i = int(differ[0])
    return f"frame {i + 1} at {stored.times[i]:.3f} s -> {times[i]:.3f} s"


def retime(rec: Recording, found: dict[str, tuple[Path, Traces, dict[str, str]]],
           notice_: Callable[[str], None] | None = None) -> None:
    """Re-time verified entries ``{scheme: (path, traces, meta)}`` whose frame times are no longer the recording's.

    The measurements do not depend on the times, so the entry is rewritten
    with the new ones instead of being extracted again, and one line says
    why.  Raises :class:`RecordingError` when the recording's timestamps no
    longer fit its frames (e.g. a ``time.txt`` cut short): the same error
    a cold run gives.  A cache that cannot be written is left as it is:
    :func:`load_traces` applies the current times anyway.
    """
    why = None
    times_of: dict[int, np.ndarray] = {}
    for path, tr, meta in found.values():
        if tr.n_frames not in times_of:
            times_of[tr.n_frames] = frame_times(rec, tr.n_frames)
        change = timing_change(tr, times_of[tr.n_frames], rec.fps)
        if change is None:
            continue
        why = why or change
        with contextlib.suppress(OSError):
            save_npz_verified(path, {"values": tr.values, "valid": tr.valid, "times": times_of[tr.n_frames],
                                     "fps": np.float64(rec.fps)}, meta)
    if why:
        (notice_ or notice)(f"frame times changed ({why}): re-timing the cached traces of {rec.dataset}/{rec.id}")


def _expected_frames(rec: Recording) -> int:
    """Frames the container (or folder) says it holds: the size to preallocate, 0 if unknown."""
    try:
        return max(0, probe(rec.frames)[0])
    except Exception:  # noqa: BLE001 - a bad header is iter_frames' error to report, with its message
        return 0


def extract(rec: Recording, schemes: list[str], landmarker: object | None) -> dict[str, Traces]:
    """Decode a recording once and measure every requested scheme on each frame.

    Why it looks the way it does (it is the cold-run bottleneck):

    * frames stay in the decoder's BGR order; the landmarker (through its
      optional ``landmarks_bgr``) and the built-in schemes (``measure_bgr``)
      reorder only the small regions they feed on, with identical numbers.
      A landmarker or scheme without the BGR entry point gets an RGB copy,
      converted once per frame, as before;
    * the traces are written into arrays preallocated from the container's
      frame count (grown if the header understates it), so memory is the
      trace itself, not per-frame rows plus a stacked copy plus a cast copy.
    """
    objs = [get_scheme(s) for s in schemes]
    if landmarker is not None:
        landmarker.reset()
    lm_bgr = landmarker.landmarks_bgr if landmarker is not None and landmarker.reads_bgr else None
    bgr_native = [type(o).measure_bgr is not RoiScheme.measure_bgr for o in objs]
    need_rgb = (landmarker is not None and lm_bgr is None) or not all(bgr_native)
    cap = _expected_frames(rec) or 1024
    values = [np.full((o.n_rois, cap, 3), np.nan, np.float32) for o in objs]
    valid = np.zeros(cap, bool)
    n = 0
    for frame in iter_frames(rec.frames, rec.id, bgr=True):
        if n == cap:  # the header understated the length: grow (rare)
            cap = cap + max(cap // 2, 64)
            values = [_grown(v, cap) for v in values]
            valid = np.concatenate([valid, np.zeros(cap - len(valid), bool)])
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if need_rgb else None
        if rec.roi == "full-frame":
            pts = None
        elif lm_bgr is not None:
            pts = lm_bgr(frame)
        else:
            pts = landmarker(rgb)  # type: ignore[misc]
        if rec.roi == "full-frame" or pts is not None:
            valid[n] = True
            for o, native, v in zip(objs, bgr_native, values, strict=True):
                v[:, n, :] = o.measure_bgr(frame, pts) if native else o.measure(rgb, pts)
        n += 1
    if n < cap:  # the header listed a frame or two more than decode (within iter_frames' slack)
        values = [np.ascontiguousarray(v[:, :n]) for v in values]
        valid = valid[:n].copy()
    if not valid.any():
        raise RecordingError("no face found in any frame", rec.frames.path, rec.id)
    times = frame_times(rec, n)
    return {name: Traces(v, valid, times, float(rec.fps)) for name, v in zip(schemes, values, strict=True)}


def _grown(v: np.ndarray, cap: int) -> np.ndarray:
    out = np.full((v.shape[0], cap, v.shape[2]), np.nan, np.float32)
    out[:, : v.shape[1]] = v
    return out


@functools.lru_cache(maxsize=4)
def _plugin_registry(plugin: str) -> Registry:
    """One plugin's registry, loaded once per worker process (not once per recording)."""
    from ..plugin.host import load_registry

    return load_registry({plugin})


def extract_and_cache(
    rec: Recording, schemes: list[str], landmarker_name: str, cache_root: Path, plugin: str | None = None,
    notice_: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """Worker entry point: extract the schemes not cached yet; return {scheme: cache path}.

    Runs in a worker process, so it loads the landmarker through the plugin
    registry itself (by name: the core never imports a plugin module);
    ``plugin`` names the entry point that registers it, so only that one loads.
    Existing entries are verified, not just found: a damaged or foreign one
    is reported (``notice_``, default :func:`hrbench.fsutil.notice`) and
    extracted again; one measured against other frame times is re-timed
    (:func:`retime`).
    """
    fp = video_fingerprint(rec, cache_root)
    landmarker = None
    version = "0"
    if rec.roi != "full-frame":
        from ..plugin.host import get_registry

        cls = (_plugin_registry(plugin) if plugin else get_registry()).landmarker(landmarker_name)
        version = cls.version
    tag = landmarker_tag(rec, landmarker_name, version)
    paths = {s: cache_path(cache_root, trace_key(fp, s, tag)) for s in schemes}
    metas = {s: entry_meta(fp, s, tag) for s in schemes}
    found = {s: _verified(p, metas[s], notice_) for s, p in paths.items()}
    retime(rec, {s: (paths[s], tr, metas[s]) for s, tr in found.items() if tr is not None}, notice_)
    todo = [s for s, tr in found.items() if tr is None]
    if todo:
        if rec.roi != "full-frame":
            ok, why = cls.available()
            if not ok:
                raise HrbenchError(f"landmarker {landmarker_name} unavailable: {why}")
            landmarker = cls()
        for s, tr in extract(rec, todo, landmarker).items():
            save_npz_verified(
                paths[s],
                {"values": tr.values, "valid": tr.valid, "times": tr.times, "fps": np.float64(tr.fps)},
                entry_meta(fp, s, tag),
            )
    return {s: str(p) for s, p in paths.items()}


def cached_paths(
    rec: Recording, schemes: list[str], landmarker_name: str, version: str, cache_root: Path,
    notice_: Callable[[str], None] | None = None, fingerprint: str | None = None,
) -> dict[str, Path] | None:
    """Paths of verified cached traces for every scheme, or None if any is missing or stale.

    Stale entries (damaged, from older code, or computed from another video)
    are reported in one line each and left for :func:`extract_and_cache` to
    overwrite.  When every entry is there, those measured against frame
    times the recording no longer has are re-timed (:func:`retime`, which
    raises :class:`RecordingError` if its timestamps no longer fit).
    ``fingerprint``: the recording's :func:`video_fingerprint` if the caller has it.
    """
    fp = fingerprint or video_fingerprint(rec, cache_root)
    tag = landmarker_tag(rec, landmarker_name, version)
    paths = {s: cache_path(cache_root, trace_key(fp, s, tag)) for s in schemes}
    metas = {s: entry_meta(fp, s, tag) for s in schemes}
    found = {s: _verified(p, metas[s], notice_) for s, p in paths.items()}
    if any(tr is None for tr in found.values()):
        return None  # extract_and_cache re-times the ones that are there
    retime(rec, {s: (paths[s], tr, metas[s]) for s, tr in found.items() if tr is not None}, notice_)
    return paths
