"""VIPL-HR adapter (Niu et al., ACCV 2018; the database of RhythmNet and the ST-attention paper).

On-disk layout read here (``ROOT`` is the folder holding ``data/`` and ``fold/``;
pointing at ``data/`` itself also works)::

    ROOT/data/p<1..107>/v<1..9 | v1-2 ...>/source<1..4>/
        video.avi      the face video
        wave.csv       header ``Wave``, then one BVP sample per line (about 60 Hz)
        gt_HR.csv      header ``HR``, one oximeter reading per second
        gt_SpO2.csv    header ``SpO2``
        time.txt       one timestamp (ms) per frame; absent for some sources
    ROOT/fold/fold<i>.mat   MATLAB variable ``fold<i>``, 1 x N subject numbers

The text files have CRLF line endings (per the issue; the parsers accept LF,
CRLF and CR alike, and a UTF-8/UTF-16 byte-order mark).  ``source4`` is the near-infrared
camera and is excluded by default (``VIPLHRAdapter(include_nir=True)`` keeps it).

Verified against public code (search corpus, repository and path given):

* ``MayYoY/PhysFormer`` ``dataset/vipl_hr.py``: ``ROOT/data/p*/v*/source*``
  with ``v1-2`` style task folders (regex ``v(\\d-\\d)``),
  ``pd.read_csv(wave.csv)["Wave"]``, ``pd.read_csv(gt_HR.csv)["HR"]`` "recorded
  every second", ``np.loadtxt(time.txt)`` in milliseconds from the first frame
  (``Fs = T * 1000 / time[T-1]``), source2 without ``time.txt`` taken at 30 fps,
  and the official folds as ``scipy.io.loadmat("ROOT/fold/fold<i>.mat")["fold<i>"][0]``.
* ``B-Acharya/rPPG-Toolbox`` ``dataset/data_loader/VIPLLoader.py``: per source
  ``gt_HR.csv, gt_SpO2.csv, time.txt, video.avi, wave.csv`` -- except source2,
  which has no ``time.txt``; ``wave.csv`` is one header line then one value per line.
* ``zizheng-guo/RhythmMamba`` (also ``YanchengYao/PhysTTT``)
  ``dataset/data_loader/VIPLHRLoader.py``: tasks ``v1, v1-2, v2 .. v9``, sources
  ``source1..3`` (NIR source4 left out), ``time.txt`` optional.  Its subject id
  ``int(subject_num[0:2])`` folds p100..p107 into p10: here the whole number is kept.
* ``phuselab/pyVHR`` ``pyVHR/datasets/vipl_hr_v1.py``: ``video.avi`` +
  ``wave.csv`` (column ``Wave``), frame rate 30, but a *50 Hz* wave rate where
  the issue says about 60 Hz -- one reason the rate is derived, not assumed.

Choices the papers leave open:

* Ground truth is the BVP of ``wave.csv`` (Signal kind ``bvp``), so the
  reference HR of every clip comes from the same spectral estimator as the
  predictions (:mod:`hrbench.pulse.hr`).  ``gt_HR.csv`` is a once-per-second
  oximeter read-out that does not line up with short clips (and PhysFormer's
  authors note it "seems not accurate enough"); it is not used.
* The wave carries no time axis; the dataset states 60 Hz, and that rate is
  what it is held to (coverage tolerance of this adapter): at 60 Hz the wave
  must last the video's duration to within 5 % (:data:`WAVE_RATE_TOLERANCE`),
  the video duration being frame count x mean frame interval from
  ``time.txt`` (or frame count / 30 fps without it).  Inside that tolerance
  the wave is spread over the video, as the toolboxes do when they resample
  it to the frame count (both streams start and end together), so the
  reference HR moves by at most 5 %; ``check`` warns beyond 2 %
  (:data:`WAVE_RATE_WARN`).  Beyond it the wave is cut short or another
  recording's -- a wave cut to 80 % implies 48 Hz and, stretched, read 70.1
  for a true 88.1 bpm -- and the recording is an error in ``scan`` (so in
  runs) and ``check``.  A copy whose waves run at another rate (pyVHR
  assumes 50 Hz) can say so: ``VIPLHRAdapter(wave_hz=50)``.  ``scan``
  parses ``wave.csv`` and ``time.txt`` (a few kB each) for this; with
  ``time.txt`` the frame count is its line count and the video is not
  opened; ``check`` opens every container and compares frame counts.
* Timestamps come from ``time.txt``, relative to the first frame; the
  recording's ``fps`` is their mean rate.  Without ``time.txt`` the nominal
  30 fps is used (as PhysFormer and pyVHR do).  A ``time.txt`` with fewer
  lines than the video has frames is an error of ``check`` (a run would
  silently fall back to the nominal rate), as is one with over 10 % more.
  An isolated repeated or out-of-order line is repaired and reported as a
  warning (:mod:`hrbench.data.timing`); repeats in a row or on over 1 % of the
  lines are errors.
* ``source4`` (near-infrared) is left out by default and listed as such by
  ``hrbench datasets check`` (:meth:`VIPLHRAdapter.left_out`).
* ``gt_HR.csv`` is read by ``check`` only, to warn when the oximeter's
  once-per-second HR disagrees with the HR of ``wave.csv``.
* Subject id ``p<N>`` (the folder name), so official folds and
  subject-exclusive splits group the same person; recording id
  ``p<N>_<task>_<source>``; ``session`` is the task (``v1`` .. ``v9``).
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from hrbench.api import (
    FrameSource,
    HrbenchError,
    LeftOut,
    Problem,
    RecordedAdapter,
    Recording,
    RecordingError,
    Repaired,
    Signal,
    TimingFault,
    checked_signal,
    hookimpl,
    problem_of,
    read_column,
    recording_checks,
    repair_times,
    require_dir,
)

#: Frame rate used when ``time.txt`` is absent (PhysFormer: source2 at 30 fps; pyVHR: 30).
NOMINAL_FPS = 30.0
#: Sampling rate of ``wave.csv`` as the dataset states it (Niu et al.: 60 Hz).
WAVE_NOMINAL_HZ = 60.0
#: A wave lasting (at the stated rate) more than this fraction shorter or longer than the video is an error.
WAVE_RATE_TOLERANCE = 0.05
#: ... and more than this fraction off is a warning of ``check`` (the reference HR moves by as much).
WAVE_RATE_WARN = 0.02
#: Relative mismatch between ``time.txt`` lines and video frames reported by ``check``.
TIMESTAMP_COUNT_TOLERANCE = 0.10

_SUBJECT = re.compile(r"^p(\d+)$")
_TASK = re.compile(r"^v\d+(?:-\d+)?$")
_SOURCE = re.compile(r"^source(\d+)$")
_FOLD = re.compile(r"^fold(\d+)\.mat$")
_LAYOUT = "data/p<N>/v<K>/source<S>/video.avi with wave.csv"


def read_vipl_times(time_path: Path, recording_id: str | None = None) -> np.ndarray:
    """Frame times in seconds from the first frame, from a ``time.txt`` of milliseconds.

    An isolated repeated or out-of-order line is repaired (:mod:`hrbench.data.timing`);
    :func:`vipl_time_notes` says which.
    """
    return _read_times(time_path, recording_id).times


def vipl_time_notes(time_path: Path, recording_id: str | None = None) -> tuple[str, ...]:
    """The repairs :func:`read_vipl_times` makes to a ``time.txt``, one line each (warnings)."""
    return _read_times(time_path, recording_id).notes


def _read_times(time_path: Path, recording_id: str | None) -> Repaired:
    ms = read_column(Path(time_path), header=None, recording_id=recording_id)
    if len(ms) < 2:
        raise RecordingError("fewer than two timestamps", time_path, recording_id)
    try:
        fixed = repair_times((ms - ms[0]) / 1000.0, noun="line")
    except TimingFault as exc:
        raise RecordingError(f"timestamps: {exc}", time_path, recording_id) from None
    return fixed


def load_vipl_timestamps(time_path: str, recording_id: str | None = None) -> np.ndarray:
    """Per-frame times (s) of one recording; the Recording's ``timestamps`` callable."""
    return read_vipl_times(Path(time_path), recording_id)


def vipl_video_duration(
    video_path: Path,
    times: np.ndarray | None,
    *,
    recording_id: str | None = None,
    use_container: bool = True,
) -> tuple[int, float]:
    """(frame count, duration s) of a VIPL-HR video: frames x mean frame interval.

    The frame count is the container's (no decoding) when ``use_container``,
    else the number of timestamps; the interval is the mean of ``time.txt``,
    else 1 / :data:`NOMINAL_FPS`.
    """
    n = 0
    if use_container or times is None:
        n = FrameSource(Path(video_path)).frame_count()
    if n <= 0 and times is not None:
        n = len(times)
    if n <= 0:
        raise RecordingError("cannot open video or read its frame count", video_path, recording_id)
    interval = float(times[-1]) / (len(times) - 1) if times is not None else 1.0 / NOMINAL_FPS
    return n, n * interval


def _wave_mismatch(n_samples: int, duration: float, wave_hz: float) -> tuple[float, str]:
    """(relative mismatch, description) of a wave of ``n_samples`` at ``wave_hz`` against the video."""
    wave_s = n_samples / wave_hz
    ratio = wave_s / duration
    side = "shorter" if ratio < 1 else "longer"
    effect = "low" if ratio < 1 else "high"
    return abs(ratio - 1.0), (
        f"{n_samples} samples at the stated {wave_hz:g} Hz last {wave_s:.1f} s, the video "
        f"{duration:.1f} s: the wave is {100 * abs(ratio - 1):.0f} % {side} than the video (implied rate "
        f"{n_samples / duration:.1f} Hz); spread over the video it would read every HR "
        f"{100 * abs(1 - ratio):.0f} % too {effect}"
    )


def wave_rate_error(n_samples: int, duration: float, wave_hz: float = WAVE_NOMINAL_HZ) -> str | None:
    """Why a wave of ``n_samples`` at ``wave_hz`` does not cover a video of ``duration`` s (None if it does).

    Beyond :data:`WAVE_RATE_TOLERANCE` the wave is cut short, padded, or
    another recording's; within it the wave is spread over the video.
    """
    if duration <= 0:
        return "video duration is zero"
    off, desc = _wave_mismatch(n_samples, duration, wave_hz)
    if off <= WAVE_RATE_TOLERANCE:
        return None
    return f"{desc}; at most {100 * WAVE_RATE_TOLERANCE:g} % is accepted: truncated, or from another recording?"


def wave_rate_warning(n_samples: int, duration: float, wave_hz: float = WAVE_NOMINAL_HZ) -> str | None:
    """A note when the wave is within tolerance but off by more than :data:`WAVE_RATE_WARN`."""
    if duration <= 0:
        return None
    off, desc = _wave_mismatch(n_samples, duration, wave_hz)
    if WAVE_RATE_WARN < off <= WAVE_RATE_TOLERANCE:
        return f"{desc} (within the {100 * WAVE_RATE_TOLERANCE:g} % accepted)"
    return None


def load_vipl_wave(
    wave_path: str,
    video_path: str,
    time_path: str | None,
    recording_id: str | None = None,
    wave_hz: float = WAVE_NOMINAL_HZ,
) -> Signal:
    """Ground truth of one recording: the BVP of ``wave.csv`` spread over the video's duration.

    A wave that does not cover the video at ``wave_hz`` (:func:`wave_rate_error`)
    is a RecordingError, so a run stops on it instead of stretching it.
    """
    wave = read_column(Path(wave_path), header="Wave", recording_id=recording_id)
    times = read_vipl_times(Path(time_path), recording_id) if time_path else None
    _, duration = vipl_video_duration(Path(video_path), times, recording_id=recording_id)
    err = wave_rate_error(len(wave), duration, wave_hz)
    if err:
        raise RecordingError(err, wave_path, recording_id)
    return checked_signal(Signal("bvp", wave, len(wave) / duration), wave_path, recording_id)


def load_vipl_hr_channel(path: str, recording_id: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(times s, bpm) of ``gt_HR.csv``: one oximeter reading per second, for ``check``'s comparison."""
    hr = read_column(Path(path), header="HR", recording_id=recording_id)
    return np.arange(len(hr), dtype=np.float64), hr


def _find_data_dir(root: Path) -> Path:
    data = root / "data"
    if data.is_dir():
        return data
    if any(_SUBJECT.match(p.name) and p.is_dir() for p in root.iterdir()):
        return root
    raise HrbenchError(
        f"not a VIPL-HR copy: no data/ folder and no p<N> subject folders (expected {_LAYOUT})",
        root,
    )


def _sorted_numeric(paths: list[Path], pattern: re.Pattern[str]) -> list[Path]:
    def key(p: Path) -> tuple[int, str]:
        m = re.search(r"\d+", p.name)
        return (int(m.group()) if m else 0, p.name)

    return sorted((p for p in paths if pattern.match(p.name) and p.is_dir()), key=key)


#: Why ``left_out`` lists the near-infrared recordings.
_NIR_LEFT_OUT = (
    "near-infrared camera (source4): the RGB protocols use source1-3; VIPLHRAdapter(include_nir=True) keeps it"
)


class VIPLHRAdapter(RecordedAdapter):
    """VIPL-HR: 107 subjects, 9 tasks, 3 RGB devices (+ NIR), BVP ground truth."""

    name: ClassVar[str] = "vipl_hr"
    description: ClassVar[str] = (
        "VIPL-HR (licensed copy): data/p*/v*/source*/video.avi + wave.csv BVP, official 5 folds"
    )

    def __init__(self, include_nir: bool = False, wave_hz: float = WAVE_NOMINAL_HZ) -> None:
        self.include_nir = include_nir
        self.wave_hz = wave_hz

    # -- scanning ----------------------------------------------------------
    def _scan_one(self, subject: str, task: str, src: Path, warnings: list[Problem]) -> Recording:
        """One recording; notes of repaired ``time.txt`` glitches go to ``warnings``."""
        rid = f"{subject}_{task}_{src.name}"
        video = src / "video.avi"
        wave = src / "wave.csv"
        time_txt = src / "time.txt"
        if not video.is_file():
            raise RecordingError("video.avi missing", video, rid)
        if video.stat().st_size == 0:
            raise RecordingError("video.avi is empty", video, rid)
        if not wave.is_file():
            raise RecordingError("wave.csv missing (the BVP ground truth)", wave, rid)
        fixed = _read_times(time_txt, rid) if time_txt.is_file() else None
        times = fixed.times if fixed is not None else None
        n_wave = len(read_column(wave, header="Wave", recording_id=rid))
        # Scan stays cheap: with time.txt the frame count is its length (no video opened).
        _, duration = vipl_video_duration(
            video, times, recording_id=rid, use_container=times is None
        )
        err = wave_rate_error(n_wave, duration, self.wave_hz)
        if err and times is not None:  # a time.txt short of the video makes the wave look long: blame the cause
            n_video = FrameSource(video).frame_count()
            if n_video > len(times):
                raise RecordingError(
                    f"{len(times)} timestamps for {n_video} frames: fewer than the frames", time_txt, rid
                )
        if err:
            raise RecordingError(err, wave, rid)
        fps = (len(times) - 1) / float(times[-1]) if times is not None else NOMINAL_FPS
        if fixed is not None:
            warnings.extend(Problem(str(time_txt), note, rid, "warning") for note in fixed.notes)
        return Recording(
            dataset=self.name,
            id=rid,
            subject=subject,
            session=task,
            fps=fps,
            frames=FrameSource(video, "video"),
            ground_truth=partial(
                load_vipl_wave,
                str(wave),
                str(video),
                str(time_txt) if times is not None else None,
                rid,
                self.wave_hz,
            ),
            timestamps=partial(load_vipl_timestamps, str(time_txt), rid)
            if times is not None
            else None,
            meta={
                "task": task,
                "source": src.name,
                "nir": src.name == "source4",
                "time_txt": times is not None,
            },
            gt_path=wave,
        )

    def scan_with_problems(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        root = require_dir(root, "VIPL-HR", _LAYOUT)
        data = _find_data_dir(root)
        subjects = _sorted_numeric(list(data.iterdir()), _SUBJECT)
        if not subjects:
            raise HrbenchError(f"no p<N> subject folders (expected {_LAYOUT})", data)
        recs: list[Recording] = []
        problems: list[Problem] = []
        for pdir in subjects:
            tasks = sorted(
                (t for t in pdir.iterdir() if t.is_dir() and _TASK.match(t.name)),
                key=lambda t: t.name,
            )
            if not tasks:
                problems.append(Problem(str(pdir), "no task folders v1..v9", None))
            for tdir in tasks:
                sources = _sorted_numeric(list(tdir.iterdir()), _SOURCE)
                if not self.include_nir:
                    sources = [s for s in sources if s.name != "source4"]
                if not sources:
                    problems.append(Problem(str(tdir), "no source<S> folders", None))
                for src in sources:
                    build = partial(self._scan_one, pdir.name, tdir.name, src, problems)
                    self.scan_into(recs, problems, build, f"{pdir.name}_{tdir.name}_{src.name}", src)
        return recs, problems

    def left_out(self, root: Path) -> list[LeftOut]:
        """The near-infrared ``source4`` recordings, unless ``include_nir``."""
        if self.include_nir:
            return []
        data = _find_data_dir(require_dir(root, "VIPL-HR", _LAYOUT))
        return [
            LeftOut(str(tdir / "source4"), _NIR_LEFT_OUT, f"{pdir.name}_{tdir.name}_source4")
            for pdir in _sorted_numeric(list(data.iterdir()), _SUBJECT)
            for tdir in sorted(t for t in pdir.iterdir() if t.is_dir() and _TASK.match(t.name))
            if (tdir / "source4").is_dir()
        ]

    # -- deep validation ---------------------------------------------------
    def check_recording(self, rec: Recording, deep: bool = False) -> list[Problem]:
        video = rec.frames.path
        n = rec.frames.frame_count()
        if n <= 0:
            return [Problem(str(video), "cannot open video or read its frame count", rec.id)]
        problems = []
        times = rec.timestamps() if rec.timestamps is not None else None
        if times is not None and len(times) - n > TIMESTAMP_COUNT_TOLERANCE * n:
            problems.append(
                Problem(
                    str(Path(video).parent / "time.txt"),
                    f"{len(times)} timestamps for a video of {n} frames",
                    rec.id,
                )
            )
        try:
            sig = rec.load_ground_truth()  # parses wave.csv and checks its rate against the container's frame count
        except HrbenchError as exc:
            return problems + [problem_of(exc, rec.id)]
        note = wave_rate_warning(len(sig.values), len(sig.values) / sig.fs, self.wave_hz)
        if note:
            problems.append(Problem(str(rec.gt_path), note, rec.id, "warning"))
        hr_csv = Path(video).parent / "gt_HR.csv"
        problems += recording_checks(
            rec,
            deep,
            hr_channel=partial(load_vipl_hr_channel, str(hr_csv), rec.id) if hr_csv.is_file() else None,
            hr_channel_path=hr_csv,
            hr_channel_name="gt_HR.csv",
            timestamps_path=Path(video).parent / "time.txt",
        )
        return problems

    # -- official folds ----------------------------------------------------
    def official_folds(self, root: Path) -> list[list[str]]:
        """Subject ids (``p<N>``) of each official fold, from ``fold/fold<i>.mat`` in fold order."""
        return read_official_folds(root)


def read_official_folds(root: Path) -> list[list[str]]:
    """Subject ids (``p<N>``) of each official fold, from ``fold/fold<i>.mat`` next to ``data/``.

    Every fold file must be there (numbered 1..k without a gap), and no
    subject may be in two folds.
    """
    import scipy.io

    root = require_dir(root, "VIPL-HR", "fold/fold1.mat .. fold5.mat next to data/")
    fold_dir = root / "fold"
    if not fold_dir.is_dir() and root.name == "data":
        fold_dir = root.parent / "fold"
    files = sorted(
        (int(m.group(1)), p)
        for p in (fold_dir.iterdir() if fold_dir.is_dir() else [])
        if (m := _FOLD.match(p.name))
    )
    if not files:
        raise HrbenchError("no official fold files fold1.mat .. fold5.mat", fold_dir)
    numbers = [i for i, _ in files]
    if numbers != list(range(1, len(files) + 1)):
        raise HrbenchError(f"fold files are numbered {numbers}, expected 1..{len(files)}", fold_dir)
    folds: list[list[str]] = []
    seen: dict[str, int] = {}
    for i, path in files:
        try:
            mat = scipy.io.loadmat(str(path))
        except Exception as exc:  # noqa: BLE001 - any reader failure becomes one line
            raise HrbenchError(f"cannot read MATLAB file ({type(exc).__name__}: {exc})", path) from None
        fold = _fold_subjects(mat, f"fold{i}", path)
        for s in fold:
            if s in seen:
                raise HrbenchError(f"subject {s} is in fold {seen[s]} and fold {i}", path)
            seen[s] = i
        folds.append(fold)
    return folds


def _fold_subjects(mat: dict[str, Any], key: str, path: Path) -> list[str]:
    """The subject ids held by variable ``key`` of a loaded fold file."""
    if key not in mat:
        have = ", ".join(k for k in mat if not k.startswith("__")) or "none"
        raise HrbenchError(f"variable {key!r} not found (variables: {have})", path)
    arr = np.asarray(mat[key])
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        raise HrbenchError(f"variable {key!r} is not a non-empty numeric array of subject numbers", path)
    nums = arr.ravel().astype(np.float64)
    if not np.all((nums == np.round(nums)) & (nums > 0)):
        raise HrbenchError(f"variable {key!r} holds values that are not subject numbers", path)
    return [f"p{int(v)}" for v in nums]


@hookimpl
def register_datasets(register):  # noqa: ANN001 - pluggy hook signature
    register(VIPLHRAdapter)
