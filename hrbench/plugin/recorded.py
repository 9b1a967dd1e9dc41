"""Recorded datasets: the adapter base whose ``scan`` and ``check`` are written once.

Why in the core: every adapter of a recorded dataset -- first-party or a
plugin author's -- has to turn the same kinds of damage (a missing file, an
empty or garbled column, a video the container cannot describe) into the
same one-line problems, and follow the same contract
(:mod:`hrbench.data.dataset`): ``scan_with_problems`` returns the usable
recordings plus a :class:`~hrbench.data.dataset.Problem` for each broken one,
``scan`` raises on the first problem, ``check`` goes deeper.
:class:`RecordedAdapter` holds that contract once: an adapter writes
``scan_with_problems`` (and :meth:`RecordedAdapter.check_recording` when it
checks more than :func:`recording_checks` does); ``scan`` and ``check``
follow from them.

``check`` makes every check a run would make (:func:`recording_checks`):
frames (numbering holes, undecodable images, truncated containers, via
:func:`hrbench.data.video.verify_frames`), timestamps, and the ground truth
against the video (:mod:`hrbench.pulse.gt_checks`), so "no problems found" means a
run will neither stop on a recording nor silently shorten it.  Problems carry
a severity; only errors make a recording unusable.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import numpy as np

from ..data.dataset import DatasetAdapter, Problem, errors_only
from ..data.recording import Recording, Signal
from ..data.timing import first_fault
from ..data.video import verify_frames
from ..errors import HrbenchError, RecordingError
from ..pulse.gt_checks import (
    coverage_problems,
    disagreement_problems,
    flat_reason,
    hr_band_problems,
    signal_problems,
)


def require_dir(root: Path, dataset: str, expected: str) -> Path:
    """``root`` as a Path, or a one-line HrbenchError saying what was expected there."""
    root = Path(root).expanduser()
    if not root.exists():
        raise HrbenchError(f"{dataset} root does not exist (expected {expected})", root)
    if not root.is_dir():
        raise HrbenchError(f"{dataset} root is not a directory (expected {expected})", root)
    return root


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
    """``scan`` semantics: the recordings, or a RecordingError for the first error (warnings pass)."""
    problems = errors_only(problems)
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
    """Run ``checker`` on each recording; keep those with no error (warnings keep it usable).

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
        out.extend(found)
        if not errors_only(found):
            usable.append(rec)
    return usable, out


def checked_signal(sig: Signal, path: str | Path | None, recording_id: str | None) -> Signal:
    """``sig``, or a RecordingError when it carries no pulse at all (constant, flat).

    Called by every adapter's ground-truth loader, so a run stops on a flat
    signal instead of reading a heart rate (54.6 bpm) from its rounding noise.
    """
    why = flat_reason(sig)
    if why:
        raise RecordingError(why, path, recording_id)
    return sig


def coverage_error(
    sig: Signal, video_s: float, path: str | Path | None, recording_id: str | None
) -> None:
    """Raise the coverage error of :func:`hrbench.pulse.gt_checks.coverage_problems`, for scans."""
    for p in coverage_problems(sig, video_s, path, recording_id):
        raise RecordingError(p.message, p.path, recording_id)


def timestamp_problems(
    rec: Recording, n_frames: int, where: str | Path | None = None
) -> tuple[np.ndarray | None, list[Problem]]:
    """Frame times a run would use, and errors where the run would fall back to the nominal rate.

    A run (:func:`hrbench.traces.traces.frame_times`) silently uses ``fps`` when the
    timestamps are fewer than the frames or do not increase: both are errors here.
    """
    if rec.timestamps is None:
        return None, []
    where = str(where or rec.frames.path)
    try:
        ts = np.asarray(rec.timestamps(), dtype=np.float64)
    except HrbenchError as exc:
        return None, [problem_of(exc, rec.id, where)]
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one problem
        return None, [Problem(where, f"cannot read timestamps ({type(exc).__name__})", rec.id)]
    if n_frames > 0 and len(ts) < n_frames:
        return None, [
            Problem(where, f"{len(ts)} timestamps for {n_frames} frames: fewer than the frames", rec.id)
        ]
    fault = first_fault(ts[:n_frames], noun="timestamp") if n_frames > 0 else None
    if fault:
        # First-party adapters repair isolated glitches (hrbench.data.timing) before this point.
        return None, [Problem(where, f"{fault}: frame times must increase", rec.id)]
    return ts[:n_frames] - ts[0] if n_frames > 0 else ts, []


def video_duration(rec: Recording, n_frames: int, times: np.ndarray | None) -> float:
    """Seconds a run's frames span: from timestamps when given, else ``n / fps``."""
    if times is not None and len(times) > 1:
        return float(times[-1] + (times[-1] - times[0]) / (len(times) - 1))
    return n_frames / rec.fps if rec.fps > 0 else 0.0


def recording_checks(
    rec: Recording,
    deep: bool = False,
    *,
    aligned: bool = True,
    hr_channel: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None,
    hr_channel_path: str | Path | None = None,
    hr_channel_name: str = "the dataset's HR channel",
    timestamps_path: str | Path | None = None,
) -> list[Problem]:
    """Every check a run makes on one recording, plus the plausibility checks of its ground truth.

    Args:
        rec: the recording.
        deep: decode every frame (``hrbench datasets check --deep``).
        aligned: the ground truth should span the video (see
            :func:`hrbench.pulse.gt_checks.signal_problems`).
        hr_channel: returns (times s, bpm) of the dataset's own HR read-out,
            compared with the waveform's HR (warnings only).
        hr_channel_path, hr_channel_name: where that channel lives, for messages.
        timestamps_path: the file the frame times come from, for messages.
    """
    n, problems = verify_frames(rec.frames, rec.id, deep)
    if errors_only(problems) or n <= 0:
        return problems
    times, ts_problems = timestamp_problems(rec, n, timestamps_path)
    problems += ts_problems
    duration = video_duration(rec, n, times)
    try:
        sig = rec.load_ground_truth()
    except HrbenchError as exc:
        return problems + [problem_of(exc, rec.id, rec.gt_path)]
    hrs, found = signal_problems(sig, duration, rec.gt_path, rec.id, aligned=aligned)
    problems += found
    if hr_channel is not None and hrs is not None:
        try:
            t, bpm = hr_channel()
        except HrbenchError as exc:
            p = problem_of(exc, rec.id, hr_channel_path)
            return problems + [Problem(p.path, p.message, rec.id, "warning")]
        where = hr_channel_path or rec.gt_path
        problems += hr_band_problems(
            t, bpm, where, rec.id, what=hr_channel_name, most_severity="warning"
        )
        problems += disagreement_problems(
            sig, t, bpm, duration, where, rec.id, what=hr_channel_name, window_hr=hrs
        )
    return problems


class RecordedAdapter(DatasetAdapter):
    """Base of the adapters of recorded datasets: ``scan`` and ``check`` from ``scan_with_problems``.

    Why a base class: every such adapter answers ``scan`` with the first error
    of ``scan_with_problems`` (:func:`raise_first`) and ``check`` with
    :meth:`check_recording` run on each recording it found (:func:`deep_check`);
    writing those two methods once keeps the contract the same for all.

    A subclass implements :meth:`scan_with_problems` (building each recording
    through :meth:`scan_into`, so one damaged recording never hides the
    others), and overrides :meth:`check_recording` only when it checks more
    than a run does (e.g. a dataset's own HR channel against the waveform).
    """

    @abstractmethod
    def scan_with_problems(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        """The usable recordings under ``root`` and a problem for each broken one."""

    def scan(self, root: Path) -> list[Recording]:
        return raise_first(*self.scan_with_problems(root))

    @staticmethod
    def scan_into(
        recordings: list[Recording],
        problems: list[Problem],
        build: Callable[[], Recording],
        recording_id: str | None,
        where: str | Path | None,
    ) -> None:
        """Append ``build()``'s recording, or the problem it raised (a damaged file, an unreadable one).

        Why: every adapter's scan loop turns one recording's failure into a
        :class:`Problem` for that recording and goes on with the next, so one
        bad copy never hides the good ones.
        """
        try:
            recordings.append(build())
        except (HrbenchError, OSError) as exc:
            problems.append(problem_of(exc, recording_id, where))

    def check_recording(self, rec: Recording, deep: bool = False) -> list[Problem]:
        """Problems of one recording; the default makes every check a run makes (:func:`recording_checks`)."""
        return recording_checks(rec, deep)

    def check(self, root: Path, deep: bool = False) -> tuple[list[Recording], list[Problem]]:
        return deep_check(*self.scan_with_problems(root), partial(self.check_recording, deep=deep))
