"""MMSE-HR adapter (Tulyakov et al., CVPR 2016; the 102-video subset of BP4D+ used by SynRhythm).

On-disk layout read here (``ROOT`` is the folder holding the parts; names contain spaces)::

    ROOT/first 10 subjects 2D/<F013>/<T1>/000.jpg 001.jpg ...          frames, %03d.jpg, 25 fps
    ROOT/first 10 subjects Phydata released/Phydata/<F013>/<T1>/
        Pulse Rate_BPM.txt   one value (bpm) per line at 1000 Hz
        BP_mmHg.txt          continuous blood-pressure waveform, 1000 Hz
    ROOT/T10_T11_30Subjects/<M014>/<T10>/*.jpg
    ROOT/T10_T11_30PhyBPHRData/<M014>/<T10>/Pulse Rate_BPM.txt ...

The adapter does not hard-code the part names: it walks ``ROOT`` once and
pairs every ``<subject>/<task>`` folder holding JPEG frames with the
``<subject>/<task>`` folder holding ``Pulse Rate_BPM.txt`` (task folders are
``T<n>``), so renamed or re-nested parts still work.

Verified against public code (search corpus):

* ``DDPM``-style converter script ("Convert MMSE-HR database to same format as
  raw DDPM"): pairs ``('first 10 subjects 2D', 'first 10 subjects Phydata
  released/Phydata')`` and ``('T10_T11_30Subjects', 'T10_T11_30PhyBPHRData')``,
  iterates ``<subject>/<task>``, reads ``Pulse Rate_BPM.txt`` and
  ``BP_mmHg.txt`` one value per line, frames ``sorted(glob('*.jpg'))``, fps 25,
  physiology at ``i / 1000`` s.
* A face-cropping preprocessing script (``sub_dir_list = ["first 10 subjects
  2D", "T10_T11_30Subjects"]``, label dirs as above) and a MATLAB loader
  ``getBUVideo`` ("framerate for RGB is 25/s, framerate for heartrate is
  1000/s", ``load('.../Pulse Rate_BPM.txt')``).
* rPPG-Toolbox ``BP4DPlusLoader`` (MMSE-HR is a BP4D+ subset): physiology
  folder ``Physiology/<F001>/<T1>/`` with the same file names, subject id =
  the ``F001`` folder name.

Choices:

* Ground truth is ``Pulse Rate_BPM.txt`` as an HR track (Signal kind ``hr``,
  1000 Hz, starting with the first frame): the reference HR of a clip is the
  mean of the track over the clip's seconds.  ``BP_mmHg.txt`` would be a
  pulse waveform for the spectral estimator, but the finger-cuff pressure
  waveform has recalibration pauses that corrupt a 10 s spectrum, while the
  pulse-rate channel is the device's own beat-to-beat rate of that same
  waveform.  One ground-truth path per dataset: BP_mmHg is not read.
* Coverage tolerance: at its stated 1000 Hz the track must last the frames'
  duration at 25 fps to within 1 s short (:data:`GT_SHORT_TOLERANCE_S`) and
  10 % long (:data:`GT_LONG_RATIO`); ``scan`` enforces it, so runs stop on
  it too.  The track is never stretched to fit.
* 25 fps nominal; the frames carry no timestamps.
* Subject id = the subject folder (``F013``), the same person across parts;
  recording id ``<subject>_<task>``; ``session`` is the task.
* ``scan`` parses each ``Pulse Rate_BPM.txt`` (a few hundred kB) and counts
  the frames, so a garbled file or a track ending more than 1 s before the
  last frame is reported before a run.  Frame order is numeric
  (``FrameSource.image_files``: ``999.jpg`` before ``1000.jpg``, where the
  ``%03d`` names widen); ``check`` reports undecodable first/last frames and
  non-positive bpm values.
"""

from __future__ import annotations

import os
import re
from functools import partial
from pathlib import Path
from typing import ClassVar

from hrbench.api import (
    FrameSource,
    HrbenchError,
    Problem,
    RecordedAdapter,
    Recording,
    RecordingError,
    Signal,
    hookimpl,
    read_column,
    recording_checks,
    require_dir,
)

FPS = 25.0
GT_FS = 1000.0
GT_FILE = "Pulse Rate_BPM.txt"
#: Ground truth may end this much before the last frame before ``check`` reports it.
GT_SHORT_TOLERANCE_S = 1.0
#: Ground truth lasting more than this multiple of the frames is another recording's.
GT_LONG_RATIO = 1.1

_TASK = re.compile(r"^T\d+$")
_LAYOUT = "'<part>/<subject>/T<n>/*.jpg' frame folders and '<physiology part>/<subject>/T<n>/Pulse Rate_BPM.txt'"


def load_mmse_pulse_rate(path: str, recording_id: str | None = None) -> Signal:
    """Ground truth of one recording: the 1000 Hz pulse-rate track in bpm."""
    values = read_column(Path(path), header=None, recording_id=recording_id)
    return Signal("hr", values, GT_FS)


def _walk(
    root: Path,
) -> tuple[dict[tuple[str, str], list[Path]], dict[tuple[str, str], list[Path]]]:
    """Frame folders and physiology folders keyed by (subject, task)."""
    frames: dict[tuple[str, str], list[Path]] = {}
    physio: dict[tuple[str, str], list[Path]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        d = Path(dirpath)
        if not _TASK.match(d.name) or d == root:
            continue
        key = (d.parent.name, d.name)
        names = set(filenames)
        if GT_FILE in names or "BP_mmHg.txt" in names:
            physio.setdefault(key, []).append(d)
        elif any(f.lower().endswith(".jpg") for f in filenames):
            frames.setdefault(key, []).append(d)
    return frames, physio


class MMSEHRAdapter(RecordedAdapter):
    """MMSE-HR: 102 JPEG frame folders of 40 subjects, 1000 Hz pulse-rate ground truth."""

    name: ClassVar[str] = "mmse_hr"
    description: ClassVar[str] = (
        "MMSE-HR (licensed copy): <part>/<subject>/T<n>/*.jpg at 25 fps + 'Pulse Rate_BPM.txt'"
    )

    def _scan_one(
        self, root: Path, key: tuple[str, str], fdirs: list[Path], pdirs: list[Path]
    ) -> Recording:
        subject, task = key
        rid = f"{subject}_{task}"
        if not fdirs:
            raise RecordingError(
                f"physiology without a frame folder {subject}/{task} of *.jpg", pdirs[0], rid
            )
        if len(fdirs) > 1:
            raise RecordingError(
                f"{subject}/{task} has frames in two places (also {fdirs[0]})", fdirs[1], rid
            )
        if not pdirs:
            raise RecordingError(
                f"no physiology folder {subject}/{task} holding '{GT_FILE}' under the root",
                fdirs[0],
                rid,
            )
        if len(pdirs) > 1:
            raise RecordingError(
                f"{subject}/{task} has physiology in two places (also {pdirs[0]})", pdirs[1], rid
            )
        gt = pdirs[0] / GT_FILE
        if not gt.is_file():
            raise RecordingError(f"'{GT_FILE}' missing", gt, rid)
        # A few hundred kB of text per recording: parsed here so a garbled or short
        # file is reported before a run rather than in the middle of one.
        track = load_mmse_pulse_rate(str(gt), rid)
        frames = FrameSource(fdirs[0], "images", "*.jpg")
        n_frames = sum(1 for f in os.listdir(fdirs[0]) if f.lower().endswith(".jpg"))
        video_s, gt_s = n_frames / FPS, len(track.values) / GT_FS
        if gt_s < video_s - GT_SHORT_TOLERANCE_S:
            raise RecordingError(
                f"ground truth covers {gt_s:.1f} s but the {n_frames} frames last {video_s:.1f} s",
                gt,
                rid,
            )
        if gt_s > GT_LONG_RATIO * video_s:
            raise RecordingError(
                f"ground truth lasts {gt_s:.1f} s but the {n_frames} frames only {video_s:.1f} s "
                f"(over {100 * GT_LONG_RATIO:.0f} %): from another recording?",
                gt,
                rid,
            )
        return Recording(
            dataset=self.name,
            id=rid,
            subject=subject,
            session=task,
            fps=FPS,
            frames=frames,
            ground_truth=partial(load_mmse_pulse_rate, str(gt), rid),
            meta={"task": task, "part": fdirs[0].relative_to(root).parts[0]},
            gt_path=gt,
        )

    def scan_with_problems(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        root = require_dir(root, "MMSE-HR", _LAYOUT)
        frames, physio = _walk(root)
        if not frames and not physio:
            raise HrbenchError(f"not an MMSE-HR copy: found no {_LAYOUT}", root)
        recs: list[Recording] = []
        problems: list[Problem] = []
        for key in sorted(set(frames) | set(physio)):
            build = partial(self._scan_one, root, key, frames.get(key, []), physio.get(key, []))
            self.scan_into(recs, problems, build, f"{key[0]}_{key[1]}", root)
        return recs, problems

    def check_recording(self, rec: Recording, deep: bool = False) -> list[Problem]:
        problems = recording_checks(rec, deep)
        if any(p.is_error for p in problems):
            return problems
        sig = rec.load_ground_truth()
        if sig.values.min() <= 0:
            problems.append(
                Problem(
                    str(rec.gt_path), "pulse-rate track holds zero or negative bpm values", rec.id
                )
            )
        return problems


@hookimpl
def register_datasets(register):  # noqa: ANN001 - pluggy hook signature
    register(MMSEHRAdapter)
