"""Would a protocol score every recording?  The protocol half of ``hrbench datasets check``.

Why a module of its own: an adapter's ``check`` answers "is this copy
intact?", but a run asks more -- the protocol's clip length, its window
cut, its evaluation windows and its HR band, and whether its split can be
filled.  A copy could pass the adapter's check and still stop every run: a
1-frame video, 8-s recordings shorter than one 10-s clip, a MAHNOB session
whose 5-35 s cut leaves one second.  The checks here compute exactly what
the run computes, with the run's own functions
(:func:`hrbench.clips.sampling.uniform_grid`, :func:`hrbench.clips.sampling.eval_bounds`,
:func:`hrbench.pulse.hr.reference_hr`, :meth:`hrbench.clips.protocol.Protocol.folds`), so
"no problems found" means the protocol will score every recording.

Not checked here: whether the landmarker finds a face in enough frames (the
``max_lost_fraction`` rule) -- that needs the landmarking a run does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..clips.protocol import Protocol
from ..clips.sampling import eval_bounds, short_video_message, tile_starts, uniform_grid
from ..data.dataset import DatasetAdapter, Problem
from ..data.recording import Recording
from ..data.video import probe
from ..errors import HrbenchError, RecordingError
from ..pulse.hr import reference_hr
from ..traces.traces import frame_times


def _frame_times(rec: Recording) -> np.ndarray | None:
    """Frame times a run would use, by the run's own rule (:func:`hrbench.traces.traces.frame_times`).

    None when the frame count is unknown or the times are unusable: the
    adapter's check reports why (``timestamp_problems``).
    """
    n, _ = probe(rec.frames)
    if n <= 0:
        return None
    try:
        return frame_times(rec, n)
    except RecordingError:
        return None


def reference_windows(grid: np.ndarray, protocol: Protocol) -> np.ndarray:
    """``(m, 2)`` spans (s) a run reads reference HRs over: clips tiled over the recording, and evaluation windows.

    Clips are drawn at random starts in a run; tiling them with a hop of half
    a clip, the last one ending at the recording's end, covers every place
    one can fall.
    """
    cs, ev = protocol.clips, protocol.evaluation
    n, length = len(grid), cs.length
    starts = tile_starts(n, length)
    spans = [np.stack([grid[starts], grid[starts] + length / cs.fps], axis=1)]
    if ev.rule != "clips":
        b = eval_bounds(n, cs.fps, ev.rule, ev.window_s, ev.hop_s)
        spans.append(np.stack([grid[b[:, 0]], grid[b[:, 0]] + (b[:, 1] - b[:, 0]) / cs.fps], axis=1))
    return np.concatenate(spans)


def recording_problems(rec: Recording, protocol: Protocol) -> list[Problem]:
    """Why ``protocol`` cannot score ``rec`` (empty: it can, face detection aside).

    Call it on recordings the adapter's check found usable.
    """
    tag = f"protocol {protocol.name}: "
    try:
        times = _frame_times(rec)
        if times is None:
            return []
        cs = protocol.clips
        grid, _ = uniform_grid(times, cs.fps, rec.window)
        if len(grid) < cs.length:
            msg = short_video_message(times, rec.fps, rec.window, len(grid), cs.fps, cs.length)
            return [Problem(str(rec.frames.path), tag + msg, rec.id)]
        reference_hr(rec, rec.load_ground_truth(), reference_windows(grid, protocol), protocol.hr)
    except HrbenchError as exc:
        return [Problem(exc.path or str(rec.gt_path or rec.frames.path), tag + exc.message, rec.id)]
    return []


def split_problems(
    adapter: DatasetAdapter, root: Path, recordings: list[Recording], protocol: Protocol
) -> list[Problem]:
    """Why the protocol's folds cannot be built from ``recordings`` (the ones it can score)."""
    if protocol.scope == "cross" or not recordings:
        return []
    tag = f"protocol {protocol.name}: "
    official: Any = None
    try:
        if protocol.split == "official":
            official = adapter.official_folds(root)
            if official is None:
                return [Problem(str(root), f"{tag}needs the dataset's official folds; {adapter.name} ships none")]
        folds = protocol.folds(recordings, official)
    except HrbenchError as exc:
        return [Problem(exc.path or str(root), tag + exc.message)]
    empty = [f.index + 1 for f in folds if not f.test]
    if empty:
        return [
            Problem(
                str(root),
                f"{tag}fold(s) {', '.join(map(str, empty))} of {len(folds)} would test no recording",
            )
        ]
    return []


def protocol_problems(
    adapter: DatasetAdapter, root: Path, recordings: list[Recording], protocol: Protocol
) -> tuple[list[Recording], list[Problem]]:
    """The recordings ``protocol`` can score, and the problems of the others and of its split."""
    usable: list[Recording] = []
    problems: list[Problem] = []
    for rec in recordings:
        found = recording_problems(rec, protocol)
        problems += found
        if not found:
            usable.append(rec)
    return usable, problems + split_problems(adapter, root, usable, protocol)
