"""The core's checks of one recording: what every run needs of it, whichever adapter listed it.

Why in the core and not (only) in the adapters: ``hrbench datasets check``
used to trust the adapter's own ``check``, so a third-party adapter whose
check only parsed files said "no problems found" for a ground truth covering
half the video, timestamps that fall back to the nominal rate, or a video
that does not decode -- and the run then failed.  These checks call the
functions the run itself calls, never a copy of them:

* frames: :func:`hrbench.data.video.verify_frames` (with ``deep``, every frame
  is decoded);
* frame times: :func:`hrbench.traces.traces.frame_times`, the run's rule
  (timestamps, else ``i / fps``), whose errors stop a run;
* ground truth: loaded through the recording, then
  :func:`hrbench.pulse.gt_checks.flatness_problems` and
  :func:`hrbench.pulse.gt_checks.coverage_problems` over the part of the video a
  run reads (its ``window``, else all of it).  A signal longer than the
  video is not an error here (it may run before and after it, as
  MAHNOB-HCI's ECG does): runs read only the part inside.
"""

from __future__ import annotations

import numpy as np

from ..data.dataset import Problem, errors_only
from ..data.recording import Recording, Signal
from ..data.video import verify_frames
from ..errors import HrbenchError
from ..pulse import gt_checks
from ..traces.traces import frame_times


def _problem_of(exc: Exception, rec: Recording, path: object) -> Problem:
    """One line for what a recording's loader raised: its own path and message, or the failure named."""
    if isinstance(exc, HrbenchError):
        return Problem(exc.path or str(path or ""), exc.message, rec.id)
    return Problem(str(path or ""), f"{type(exc).__name__}: {' '.join(str(exc).split())}", rec.id)


def video_span(rec: Recording, times: np.ndarray) -> tuple[float, float]:
    """(start, end) s of the video a run reads: the recording's ``window`` within the frames' span."""
    step = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else 1.0 / rec.fps
    end = float(times[-1] + step)
    if rec.window is None:
        return 0.0, end
    return float(rec.window[0]), min(float(rec.window[1]), end)


def _ground_truth(rec: Recording) -> tuple[Signal | None, list[Problem]]:
    try:
        return rec.load_ground_truth(), []
    except Exception as exc:  # noqa: BLE001 - an adapter's loader: any failure is this recording's problem
        return None, [_problem_of(exc, rec, rec.gt_path or rec.frames.path)]


def check_recording(rec: Recording, deep: bool = False) -> list[Problem]:
    """Every problem a run would stop on (errors) or should be warned of, for one recording."""
    n, problems = verify_frames(rec.frames, rec.id, deep)
    if errors_only(problems):
        return problems
    if n <= 0:
        return problems + [Problem(str(rec.frames.path), "no frames", rec.id)]
    try:
        times = frame_times(rec, n)
    except Exception as exc:  # noqa: BLE001 - RecordingError, or an adapter's timestamps loader failing
        return problems + [_problem_of(exc, rec, rec.frames.path)]
    sig, found = _ground_truth(rec)
    if sig is None:
        return problems + found
    problems += gt_checks.flatness_problems(sig, rec.gt_path, rec.id)
    if errors_only(problems):
        return problems
    start, end = video_span(rec, times)
    return problems + gt_checks.coverage_problems(sig, end, rec.gt_path, rec.id, start_s=start, longer_ok=True)
