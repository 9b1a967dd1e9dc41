"""UBFC-rPPG adapter (Bobbia et al., Pattern Recognition Letters 2017).

On-disk layouts read here (``ROOT`` may hold either part, both, or be one subject's parent)::

    DATASET_2/subject<N>/vid.avi
                         ground_truth.txt   three whitespace-separated rows, one value per frame:
                                            PPG waveform, HR (bpm, the oximeter's read-out), time (s)
    DATASET_1/<N>-gt/vid.avi
                     gtdump.xmp             CSV rows: time (ms), HR (bpm), SpO2, PPG waveform

The layout is detected per subject folder (``ground_truth.txt`` or
``gtdump.xmp``); the video is ``vid.avi``, else the folder's only ``.avi``.

Verified against public code (search corpus, repository and path given):

* ``ubicomplab/rPPG-Toolbox`` ``dataset/data_loader/UBFCrPPGLoader.py``:
  ``RawData/subject<N>/vid.avi`` + ``ground_truth.txt``; ``read_wave`` takes
  the first line split on whitespace as the BVP; subject index from
  ``subject(\\d+)``; frames read with OpenCV from ``vid.avi``.
* ``BeCuriousS/iphys-toolbox`` ``UBFC_DATASET.m`` (the dataset authors'
  reader): ``ground_truth = dlmread(.../ground_truth.txt)``, ``gt_trace`` row
  1, ``gt_HR`` row 2, ``gt_time`` row 3.
* ``phuselab/pyVHR`` ``pyVHR/datasets/ubfc1.py``: DATASET_1 ``gtdump.xmp``
  read as CSV, trace ``row[3]``, time ``row[0] / 1000`` (ms -> s), HR
  ``row[1]``, sample rate from the mean time step (about 62 Hz);
  ``pyVHR/datasets/ubfc2.py``: DATASET_2, 30 fps video ``vid.avi``.

Choices:

* Ground truth is the PPG waveform (Signal kind ``bvp``) at the file's own
  time stamps, read by the run's spectral estimator.  The HR row/column is
  the oximeter's read-out and is unreliable on several subjects (it drops to
  single digits for hundreds of samples): it is never the reference.
  ``check`` compares it with the waveform's HR over 10-s windows and warns
  when they disagree (median difference > 5 bpm) or when it leaves the HR
  band for a long stretch (:mod:`hrbench.pulse.gt_checks`).
* DATASET_2 frame times are the time row (one value per frame) when it has at
  least as many values as the video has frames; otherwise the container's
  frame rate is used (and ``check`` reports a ground truth that does not span
  the video).  DATASET_1 ships no per-frame times: the container's rate is used.
* Timing glitches: real DATASET_2 time rows repeat one value once on about a
  third of the subjects (67.716 s at samples 2023 and 2024) while the PPG
  stays one sample per frame; the field's loaders do not read that row at
  all.  Such an isolated repeated or out-of-order time is repaired by
  :func:`hrbench.data.timing.repair_times` (the sample's time set midway between
  its neighbours; the PPG value is kept) and reported as a warning by
  ``scan`` (so by runs, recorded with them) and ``check``.  Only systematic
  faults -- repeats in a row, more than 1 % of the samples, times that do
  not increase overall -- make the recording unusable.  The same rule
  applies to DATASET_1's time column.
* Coverage tolerance: the ground truth, at its own time stamps, must span
  90-110 % of the video (:data:`hrbench.pulse.gt_checks.COVERAGE_RANGE`); it is
  never stretched, so inside that range a clip past its end has no reference
  and is reported by the run's estimator, not scored.
* Subject id = the subject folder's name (``subject1``, ``10-gt``); one
  recording per subject, id = subject.  ``session`` is the part
  (``DATASET_1`` / ``DATASET_2``).
* ``scan`` parses each ground-truth file (about 100 kB) and reads the
  video's header (no decoding), so a ground truth copied from another subject
  (covering < 90 % or > 110 % of the video) stops a run before it starts.
"""

from __future__ import annotations

import csv
import io
import os
from functools import partial
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np

from hrbench.api import (
    FrameSource,
    HrbenchError,
    Problem,
    RecordedAdapter,
    Recording,
    RecordingError,
    Repaired,
    Signal,
    TimingFault,
    checked_signal,
    coverage_error,
    hookimpl,
    read_text,
    recording_checks,
    repair_times,
    require_dir,
)

GT2 = "ground_truth.txt"
GT1 = "gtdump.xmp"
VIDEO = "vid.avi"
NOMINAL_FPS = 30.0
Layout = Literal["DATASET_1", "DATASET_2"]
_LAYOUT = "subject folders holding vid.avi with ground_truth.txt (DATASET_2) or gtdump.xmp (DATASET_1)"


def _repaired(t: np.ndarray, path: Path, rid: str | None, what: str) -> Repaired:
    """The times with isolated glitches repaired (:mod:`hrbench.data.timing`), or a one-line error."""
    try:
        return repair_times(t)
    except TimingFault as exc:
        raise RecordingError(f"{what}: {exc}", path, rid) from None


def read_ubfc2(path: str | Path, recording_id: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time s from the first sample, PPG, HR) of a DATASET_2 ``ground_truth.txt``; an isolated time glitch repaired."""
    t, ppg, hr, _ = _read_ubfc2(path, recording_id)
    return t, ppg, hr


def _read_ubfc2(
    path: str | Path, recording_id: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """:func:`read_ubfc2` and the notes of the time repairs made."""
    path = Path(path)
    rows = [ln.split() for ln in read_text(path, recording_id).splitlines() if ln.strip()]
    if len(rows) < 3:
        raise RecordingError(
            f"{len(rows)} non-empty row(s), expected three (PPG, HR, time)", path, recording_id
        )
    out = []
    for r, name in zip(rows[:3], ("PPG", "HR", "time"), strict=True):
        try:
            out.append(np.array(r, dtype=np.float64))
        except ValueError:
            k = next(i for i, v in enumerate(r) if not _is_float(v)) + 1
            raise RecordingError(
                f"row {len(out) + 1} ({name}), value {k}: not a number", path, recording_id
            ) from None
    ppg, hr, t = out
    if not (len(ppg) == len(hr) == len(t)):
        raise RecordingError(
            f"rows differ in length: PPG {len(ppg)}, HR {len(hr)}, time {len(t)} values",
            path,
            recording_id,
        )
    if len(t) < 2:
        raise RecordingError("fewer than two samples", path, recording_id)
    for arr, name in ((ppg, "PPG"), (hr, "HR"), (t, "time")):
        if not np.all(np.isfinite(arr)):
            k = int(np.flatnonzero(~np.isfinite(arr))[0]) + 1
            raise RecordingError(f"{name} row, value {k}: NaN or infinite", path, recording_id)
    step = float(np.median(np.diff(t)))
    if step > 0.5:
        raise RecordingError(
            f"time row steps by {step:g} per sample: expected seconds (about 0.033)", path, recording_id
        )
    fixed = _repaired(t, path, recording_id, "time row")
    return fixed.times - fixed.times[0], ppg, hr, _noted("time row", fixed)


def _noted(what: str, fixed: Repaired) -> tuple[str, ...]:
    return tuple(f"{what}: {n}" for n in fixed.notes)


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def read_ubfc1(path: str | Path, recording_id: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time s from the first sample, PPG, HR) of a DATASET_1 ``gtdump.xmp`` (time ms, HR, SpO2, PPG)."""
    t, ppg, hr, _ = _read_ubfc1(path, recording_id)
    return t, ppg, hr


def _read_ubfc1(
    path: str | Path, recording_id: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """:func:`read_ubfc1` and the notes of the time repairs made."""
    path = Path(path)
    text = read_text(path, recording_id)
    t, hr, ppg = [], [], []
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) < 4:
            raise RecordingError(
                f"line {n}: {len(row)} column(s), expected 4 (time ms, HR, SpO2, PPG)", path, recording_id
            )
        try:
            vals = [float(row[i]) for i in (0, 1, 3)]
        except ValueError:
            if not t and not _is_float(row[0]):
                continue  # a header line
            raise RecordingError(f"line {n}: not a number", path, recording_id) from None
        if not all(np.isfinite(vals)):
            raise RecordingError(f"line {n}: NaN or infinite value", path, recording_id)
        t.append(vals[0])
        hr.append(vals[1])
        ppg.append(vals[2])
    if len(t) < 2:
        raise RecordingError("fewer than two samples", path, recording_id)
    fixed = _repaired(np.array(t) / 1000.0, path, recording_id, "time column")
    return fixed.times - fixed.times[0], np.array(ppg), np.array(hr), _noted("time column", fixed)


def _read_noted(
    path: str, layout: Layout, rid: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    return _read_ubfc2(path, rid) if layout == "DATASET_2" else _read_ubfc1(path, rid)


def _read(path: str, layout: Layout, rid: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _read_noted(path, layout, rid)[:3]


def load_ubfc_bvp(path: str, layout: Layout, recording_id: str | None = None) -> Signal:
    """Ground truth of one subject: the PPG waveform at the file's time stamps (never the HR row)."""
    t, ppg, _ = _read(path, layout, recording_id)
    fs = (len(t) - 1) / float(t[-1])
    return checked_signal(Signal("bvp", ppg, fs, times=t), path, recording_id)


def load_ubfc_hr_channel(
    path: str, layout: Layout, recording_id: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(times s, bpm) of the oximeter's HR read-out, for ``check``'s comparison only."""
    t, _, hr = _read(path, layout, recording_id)
    return t, hr


def load_ubfc_timestamps(path: str, recording_id: str | None = None) -> np.ndarray:
    """Per-frame times (s) of a DATASET_2 subject: the ground truth's time row."""
    return read_ubfc2(path, recording_id)[0]


def _video(d: Path, rid: str) -> Path:
    if (d / VIDEO).is_file():
        return d / VIDEO
    avis = sorted(p for p in d.iterdir() if p.suffix.lower() == ".avi" and p.is_file())
    if not avis:
        raise RecordingError(f"no video ({VIDEO} or another .avi)", d, rid)
    if len(avis) > 1:
        raise RecordingError(
            f"{len(avis)} .avi files and no {VIDEO}: which one is the video is ambiguous", d, rid
        )
    return avis[0]


class UBFCrPPGAdapter(RecordedAdapter):
    """UBFC-rPPG DATASET_1 and DATASET_2: one video per subject, PPG-waveform ground truth."""

    name: ClassVar[str] = "ubfc_rppg"
    description: ClassVar[str] = (
        "UBFC-rPPG: subject*/vid.avi + ground_truth.txt (DATASET_2) or gtdump.xmp (DATASET_1); PPG reference"
    )

    def _scan_one(self, d: Path, layout: Layout, gt: Path, warnings: list[Problem]) -> Recording:
        """One subject's recording; the notes of repaired time glitches go to ``warnings``."""
        rid = d.name
        video = _video(d, rid)
        if video.stat().st_size == 0:
            raise RecordingError("video file is empty", video, rid)
        t, _, _, notes = _read_noted(str(gt), layout, rid)
        n, container_fps = FrameSource(video).probe()
        if n <= 0:
            raise RecordingError("cannot open video or read its frame count", video, rid)
        use_times = layout == "DATASET_2" and len(t) >= n
        if use_times:
            fps = (n - 1) / float(t[n - 1]) if n > 1 else NOMINAL_FPS
            video_s = float(t[n - 1]) + float(t[n - 1]) / max(n - 1, 1)
        else:
            fps = container_fps if container_fps > 0 else NOMINAL_FPS
            video_s = n / fps
        sig = Signal("bvp", np.zeros(len(t)), 1.0, times=t)  # times only: coverage needs no values
        coverage_error(sig, video_s, gt, rid)
        warnings.extend(Problem(str(gt), note, rid, "warning") for note in notes)
        return Recording(
            dataset=self.name,
            id=rid,
            subject=rid,
            session=layout,
            fps=fps,
            frames=FrameSource(video, "video"),
            ground_truth=partial(load_ubfc_bvp, str(gt), layout, rid),
            timestamps=partial(load_ubfc_timestamps, str(gt), rid) if use_times else None,
            meta={"part": layout, "frame_times": "ground truth time row" if use_times else "fps"},
            gt_path=gt,
        )

    def _subject_dirs(self, root: Path) -> tuple[list[tuple[Path, Layout | None]], list[Problem]]:
        found: list[tuple[Path, Layout | None]] = []
        problems: list[Problem] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            names = set(filenames)
            has2, has1 = GT2 in names, GT1 in names
            has_video = any(f.lower().endswith(".avi") for f in filenames)
            d = Path(dirpath)
            if has2 and has1:
                problems.append(Problem(str(d), f"holds both {GT2} and {GT1}: which layout is ambiguous", d.name))
            elif has2 or has1:
                found.append((d, "DATASET_2" if has2 else "DATASET_1"))
            elif has_video:
                found.append((d, None))
        return found, problems

    def scan_with_problems(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        root = require_dir(root, "UBFC-rPPG", _LAYOUT)
        found, problems = self._subject_dirs(root)
        if not found and not problems:
            raise HrbenchError(f"not a UBFC-rPPG copy: found no {_LAYOUT}", root)
        recs: list[Recording] = []
        seen: dict[str, Path] = {}
        for d, layout in found:
            rid = d.name
            if layout is None:
                problems.append(
                    Problem(str(d), f"video without ground truth ({GT2} or {GT1})", rid)
                )
                continue
            if rid in seen:
                problems.append(
                    Problem(str(d), f"subject folder name repeats {seen[rid]}: ids must be unique", rid)
                )
                continue
            seen[rid] = d
            gt = d / (GT2 if layout == "DATASET_2" else GT1)
            self.scan_into(recs, problems, partial(self._scan_one, d, layout, gt, problems), rid, d)
        return recs, problems

    def check_recording(self, rec: Recording, deep: bool = False) -> list[Problem]:
        layout: Layout = rec.meta["part"]
        return recording_checks(
            rec,
            deep,
            hr_channel=partial(load_ubfc_hr_channel, str(rec.gt_path), layout, rec.id),
            hr_channel_path=rec.gt_path,
            hr_channel_name="the HR row" if layout == "DATASET_2" else "the HR column",
            timestamps_path=rec.gt_path,
        )


@hookimpl
def register_datasets(register):  # noqa: ANN001 - pluggy hook signature
    register(UBFCrPPGAdapter)
