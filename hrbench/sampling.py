"""Cached traces -> clips with reference labels, for one recording.

1. Keep the protocol window of the recording if it has one (e.g. MAHNOB-HCI
   frames 306-2135).
2. Resample every ROI trace onto a uniform grid at the protocol's ``fps``
   using the frame timestamps (datasets with jittery or dropped frames, and
   datasets at 25 or 61 fps, all reach methods at one rate).  Face-lost
   frames are excluded from the interpolation and flagged on the grid.
3. Clip starts: ``per_video`` windows of ``length`` samples drawn without
   replacement, seeded by (protocol seed, recording id), among the windows
   whose lost fraction is at most ``max_lost_fraction`` -- the same starts for
   every ROI scheme and every method, so methods are compared on identical
   clips.
4. The reference HR of each clip comes from the ground truth over exactly
   the seconds the clip covers (:func:`hrbench.hr.reference_hr`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .errors import RecordingError
from .hr import reference_hr
from .protocol import Protocol
from .recording import Recording, Signal
from .traces import Traces


@dataclass(frozen=True)
class RecordingClips:
    recording_id: str
    subject: str
    starts_s: np.ndarray
    hr_ref: np.ndarray
    traces: dict[str, np.ndarray]  # scheme -> (n, n_rois, length, 3)


def _uniform(tr: Traces, fps: float, window: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = tr.times
    keep = np.ones_like(t, dtype=bool)
    if window is not None:
        keep = (t >= window[0]) & (t < window[1])
    t0, t1 = (t[keep][0], t[keep][-1]) if keep.any() else (0.0, -1.0)
    grid = np.arange(t0, t1 + 0.5 / fps, 1.0 / fps)
    use = keep & tr.valid
    lost = np.interp(grid, t, (~tr.valid).astype(np.float64)) > 0.5 if len(grid) else np.zeros(0, bool)
    if use.sum() < 2:
        return grid, np.full(tr.values.shape[:1] + (len(grid), 3), np.nan, np.float32), np.ones(len(grid), bool)
    tv = t[use]
    vals = tr.values[:, use, :]
    out = np.empty((vals.shape[0], len(grid), 3), np.float32)
    for r in range(vals.shape[0]):
        for c in range(3):
            out[r, :, c] = np.interp(grid, tv, vals[r, :, c])
    return grid, out, lost


def clip_recording(
    rec: Recording, traces: dict[str, Traces], gt: Signal, protocol: Protocol, length: int | None = None
) -> RecordingClips:
    """Cut a recording's traces into the protocol's clips and label them.

    ``length`` overrides the protocol's clip length (training clips of methods
    that resample time, e.g. HR-balancing augmentation, need longer windows);
    when the video is too short for it, the longest possible window is used.
    """
    cs = protocol.clips
    L = cs.length if length is None else length
    first = next(iter(traces.values()))
    grid, _, lost = _uniform(first, cs.fps, rec.window)
    if length is not None and len(grid) < L:
        L = max(cs.length, len(grid))
    if len(grid) < L:
        raise RecordingError(
            f"video gives {len(grid)} frames at {cs.fps:g} fps, shorter than one clip ({L})",
            rec.frames.path,
            rec.id,
        )
    csum = np.concatenate([[0], np.cumsum(lost)])
    lost_frac = (csum[L:] - csum[:-L]) / L
    candidates = np.flatnonzero(lost_frac <= cs.max_lost_fraction)
    if len(candidates) == 0:
        raise RecordingError(
            f"face lost in more than {cs.max_lost_fraction:.0%} of every {L}-frame window",
            rec.frames.path,
            rec.id,
        )
    seed = (protocol.seed * 1_000_003 + zlib.crc32(f"{rec.dataset}/{rec.id}".encode())) % 2**32
    rng = np.random.default_rng(seed)
    if len(candidates) <= cs.per_video:
        starts = candidates
    else:
        starts = np.sort(rng.choice(candidates, cs.per_video, replace=False))
    starts_s = grid[starts]
    windows = np.stack([starts_s, starts_s + L / cs.fps], axis=1)
    hr = reference_hr(rec, gt, windows, protocol.hr)
    out: dict[str, np.ndarray] = {}
    for name, tr in traces.items():
        _, vals, _ = _uniform(tr, cs.fps, rec.window)
        idx = starts[:, None] + np.arange(L)[None, :]
        out[name] = np.ascontiguousarray(vals[:, idx, :].transpose(1, 0, 2, 3))
    return RecordingClips(rec.id, rec.subject, starts_s, hr, out)


def round_robin(recording_ids: np.ndarray, candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``candidates`` (clip indices) reordered so any prefix spreads over recordings evenly.

    Clips are shuffled within each recording and dealt one recording at a
    time: the first k of the result hold about k / n_recordings clips of
    every recording.  The runner's ``--train-fraction`` and the learned
    methods' training-clip caps both take prefixes of it, so a reduced
    training set never loses a video by chance.
    """
    perm = np.asarray(candidates)[rng.permutation(len(candidates))]
    rank = np.empty(len(perm), dtype=np.int64)
    seen: dict[object, int] = {}
    for i, rid in enumerate(np.asarray(recording_ids)[perm]):
        rank[i] = seen.get(rid, 0)
        seen[rid] = rank[i] + 1
    return perm[np.argsort(rank, kind="stable")]

