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
   the seconds the clip covers (:func:`hrbench.pulse.hr.reference_hr`).
5. Under the ``whole`` and ``windowed`` evaluation rules
   (:mod:`hrbench.clips.protocol`) the recording also gets its evaluation windows
   (:class:`EvalWindows`): the uniform traces over each window for methods
   that produce a pulse, clips tiled over each window for methods that
   predict per clip, and the reference HR over exactly each window.  The
   random clips of step 3 remain the training clips.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..data.recording import Recording, Signal
from ..errors import RecordingError
from ..pulse.hr import reference_hr
from ..traces.traces import Traces
from .protocol import Protocol


@dataclass(frozen=True)
class EvalWindows:
    """One recording's evaluation windows under the ``whole`` / ``windowed`` rules."""

    bounds: np.ndarray  # (m, 2) [start, end) indices on the uniform grid
    starts_s: np.ndarray  # (m,) window start, seconds on the video clock
    hr_ref: np.ndarray  # (m,) reference HR over exactly each window
    full: dict[str, np.ndarray]  # scheme -> (n_rois, T, 3) uniform traces of the recording
    tiled: dict[str, np.ndarray]  # scheme -> (n_tiled, n_rois, length, 3) clips tiled over the windows
    tiled_window: np.ndarray  # (n_tiled,) which window each tiled clip belongs to

    def window(self, scheme: str, i: int) -> np.ndarray:
        """Traces ``(n_rois, T_i, 3)`` of window ``i``."""
        s0, s1 = self.bounds[i]
        return self.full[scheme][:, s0:s1]


@dataclass(frozen=True)
class RecordingClips:
    recording_id: str
    subject: str
    starts_s: np.ndarray
    hr_ref: np.ndarray
    traces: dict[str, np.ndarray]  # scheme -> (n, n_rois, length, 3)
    evaluation: EvalWindows | None = None


def tile_starts(n: int, length: int) -> np.ndarray:
    """Starts of clips of ``length`` tiling ``[0, n)`` with a hop of at most half a clip.

    The first clip starts at 0, the last ends at ``n`` exactly, starts spread
    evenly between: no frame of the window is left unscored.
    """
    if length >= n:
        return np.zeros(1, dtype=np.int64)
    k = int(np.ceil((n - length) / (length / 2))) + 1
    return np.round(np.linspace(0, n - length, k)).astype(np.int64)


def eval_bounds(n: int, fps: float, rule: str, window_s: float, hop_s: float) -> np.ndarray:
    """``(m, 2)`` grid-index bounds of the evaluation windows of a recording of ``n`` samples."""
    if rule == "whole":
        return np.array([[0, n]], dtype=np.int64)
    w, h = int(round(window_s * fps)), max(1, int(round(hop_s * fps)))
    if n <= w:  # shorter than one window: the whole video is the window
        return np.array([[0, n]], dtype=np.int64)
    starts = np.arange(0, n - w + 1, h, dtype=np.int64)
    return np.stack([starts, starts + w], axis=1)


def uniform_grid(t: np.ndarray, fps: float, window: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """(uniform grid at ``fps`` over the frames kept, mask of the frame times ``t`` kept by ``window``).

    Public so ``hrbench datasets check --protocol`` counts a recording's clip
    frames exactly as a run does.
    """
    keep = np.ones_like(t, dtype=bool)
    if window is not None:
        keep = (t >= window[0]) & (t < window[1])
    t0, t1 = (t[keep][0], t[keep][-1]) if keep.any() else (0.0, -1.0)
    return np.arange(t0, t1 + 0.5 / fps, 1.0 / fps), keep


def short_video_message(
    times: np.ndarray, native_fps: float, window: tuple[float, float] | None, n_grid: int, fps: float, length: int
) -> str:
    """Why a recording holds no clip: its frame count, and the count left after the window cut and resampling.

    "366 frames (6.0 s), 31 after the 5-35 s cut at 30 fps" -- never the
    count after the cut alone, which reads as a broken 31-frame file.
    """
    n = len(times)
    step = float(np.median(np.diff(times))) if n > 1 else (1.0 / native_fps if native_fps > 0 else 0.0)
    dur = float(times[-1] - times[0]) + step if n else 0.0
    after = "resampled at"
    if window is not None:
        after = f"after the {round(window[0], 2):g}-{round(window[1], 2):g} s cut at"
    return (
        f"video gives {n} frame{'s' if n != 1 else ''} ({dur:.1f} s), {n_grid} {after} {fps:g} fps: "
        f"shorter than one clip ({length} frames, {length / fps:g} s)"
    )


def _uniform(tr: Traces, fps: float, window: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = tr.times
    grid, keep = uniform_grid(t, fps, window)
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
    rec: Recording,
    traces: dict[str, Traces],
    gt: Signal,
    protocol: Protocol,
    length: int | None = None,
    *,
    tiled_schemes: tuple[str, ...] = (),
) -> RecordingClips:
    """Cut a recording's traces into the protocol's clips and label them.

    ``length`` overrides the protocol's clip length (training clips of methods
    that resample time, e.g. HR-balancing augmentation, need longer windows);
    when the video is too short for it, the longest possible window is used.
    Under the ``whole``/``windowed`` rules (and only for the protocol's own
    clip length) the evaluation windows are attached too; ``tiled_schemes``
    names the schemes whose clips tiled over the windows are needed (those
    of methods that predict per clip).
    """
    cs = protocol.clips
    L = cs.length if length is None else length
    first = next(iter(traces.values()))
    grid, _, lost = _uniform(first, cs.fps, rec.window)
    if length is not None and len(grid) < L:
        L = max(cs.length, len(grid))
    if len(grid) < L:
        raise RecordingError(
            short_video_message(first.times, first.fps, rec.window, len(grid), cs.fps, L),
            rec.frames.path,
            rec.id,
        )
    csum = np.concatenate([[0], np.cumsum(lost)])
    starts = _clip_starts(rec, protocol, csum, L)
    starts_s = grid[starts]
    windows = np.stack([starts_s, starts_s + L / cs.fps], axis=1)
    hr = reference_hr(rec, gt, windows, protocol.hr)
    out: dict[str, np.ndarray] = {}
    full: dict[str, np.ndarray] = {}
    for name, tr in traces.items():
        _, vals, _ = _uniform(tr, cs.fps, rec.window)
        full[name] = vals
        idx = starts[:, None] + np.arange(L)[None, :]
        out[name] = np.ascontiguousarray(vals[:, idx, :].transpose(1, 0, 2, 3))
    evaluation = None
    if protocol.evaluation.rule != "clips" and length is None:
        evaluation = _eval_windows(rec, gt, protocol, grid, csum, L, full, tiled_schemes)
    return RecordingClips(rec.id, rec.subject, starts_s, hr, out, evaluation)



def _clip_starts(rec: Recording, protocol: Protocol, csum: np.ndarray, length: int) -> np.ndarray:
    """Grid indices of the recording's clips: ``per_video`` of the windows with little face lost, seeded by its id.

    ``csum``: the cumulative count of lost frames on the grid (a leading 0).
    """
    cs = protocol.clips
    lost_frac = (csum[length:] - csum[:-length]) / length
    candidates = np.flatnonzero(lost_frac <= cs.max_lost_fraction)
    if len(candidates) == 0:
        raise RecordingError(
            f"face lost in more than {cs.max_lost_fraction:.0%} of every {length}-frame window",
            rec.frames.path,
            rec.id,
        )
    seed = (protocol.seed * 1_000_003 + zlib.crc32(f"{rec.dataset}/{rec.id}".encode())) % 2**32
    rng = np.random.default_rng(seed)
    if len(candidates) <= cs.per_video:
        return candidates
    return np.sort(rng.choice(candidates, cs.per_video, replace=False))


def _eval_windows(rec: Recording, gt: Signal, protocol: Protocol, grid: np.ndarray, csum: np.ndarray, length: int,
                  full: dict[str, np.ndarray], tiled_schemes: tuple[str, ...]) -> EvalWindows:
    """The recording's evaluation windows (``whole`` / ``windowed``), their references and tiled clips.

    ``full``: each scheme's uniform traces of the recording; ``csum`` as in :func:`_clip_starts`.
    """
    cs, ev = protocol.clips, protocol.evaluation
    bounds = eval_bounds(len(grid), cs.fps, ev.rule, ev.window_s, ev.hop_s)
    # Frames where the face was lost are interpolated on the grid: a window (or a
    # tiled clip) mostly made of them would be scored on invented video.  The
    # same limit as for clips applies, and it is the data's, so every method
    # loses the same windows.
    w_lost = np.array([(csum[e] - csum[b0]) / (e - b0) for b0, e in bounds])
    bounds = bounds[w_lost <= cs.max_lost_fraction]
    if len(bounds) == 0:
        raise RecordingError(
            f"face lost in more than {cs.max_lost_fraction:.0%} of every evaluation window",
            rec.frames.path,
            rec.id,
        )
    w_starts = grid[bounds[:, 0]]
    spans = np.stack([w_starts, w_starts + (bounds[:, 1] - bounds[:, 0]) / cs.fps], axis=1)
    w_ref = reference_hr(rec, gt, spans, protocol.hr)
    t_starts = [s0 + tile_starts(s1 - s0, length) for s0, s1 in bounds]
    t_starts = [t[(csum[t + length] - csum[t]) / length <= cs.max_lost_fraction] for t in t_starts]
    t_window = np.concatenate([np.full(len(t), i, dtype=np.int64) for i, t in enumerate(t_starts)])
    t_idx = np.concatenate(t_starts).astype(np.int64)[:, None] + np.arange(length)[None, :]
    tiled = {n: np.ascontiguousarray(full[n][:, t_idx, :].transpose(1, 0, 2, 3)) for n in tiled_schemes if n in full}
    return EvalWindows(bounds, w_starts, w_ref, full, tiled, t_window)
