"""PURE adapter (Stricker, Müller, Gross, RO-MAN 2014: "Non-contact video-based pulse rate
measurement on a mobile service robot").

On-disk layout read here (``ROOT`` holds the sequences; both nestings seen in public loaders work)::

    ROOT/NN-MM/Image<timestamp ns>.png ...     frames, 30 fps, 640 x 480
    ROOT/NN-MM.json                            pulse oximeter and frame times:
        {"/FullPackage": [{"Timestamp": ns, "Value": {"waveform": int, "pulseRate": int,
                                                       "o2saturation": int, ...}}, ...],   ~60 Hz
         "/Image": [{"Timestamp": ns}, ...]}                                               one per frame
    or  ROOT/NN-MM/NN-MM/*.png + ROOT/NN-MM/NN-MM.json

``NN`` is the subject (10 people), ``MM`` the setup (01 steady, 02 talking,
03/04 slow/fast translation, 05/06 small/medium rotation).

Verified against public code (search corpus, repository and path given):

* ``ubicomplab/rPPG-Toolbox`` ``dataset/data_loader/PURELoader.py``:
  ``RawData/01-01/01-01/`` frames + ``RawData/01-01/01-01.json``; frames
  ``sorted(glob('*.png'))``; the wave is ``label["Value"]["waveform"]`` for each
  entry of ``labels["/FullPackage"]``, resampled to the frame count.
* ``phuselab/pyVHR`` ``pyVHR/datasets/pure.py``: ``datasetDIR/01-01/Image...png``
  next to ``datasetDIR/01-01.json``; ``p['Value']['waveform']`` of
  ``json_data['/FullPackage']`` at 60 Hz; 30 fps frames.

Choices:

* Ground truth is the oximeter ``waveform`` (Signal kind ``bvp``) at its own
  ``/FullPackage`` timestamps, on the clock of the ``/Image`` timestamps: time
  0 is the first image.  Nothing is resampled to the frame count (the
  toolboxes do that, which assumes both streams start and end together).
* Frame times are the ``/Image`` timestamps relative to the first image; the
  recording's ``fps`` is their mean rate.  The frame files must match them in
  number (and, for ``Image<ns>.png`` names, in value): a frame folder that
  lost or gained files would otherwise be misaligned.
* An isolated repeated or out-of-order timestamp (of ``/Image`` or
  ``/FullPackage``) is repaired and reported as a warning
  (:mod:`hrbench.data.timing`); repeats in a row or on over 1 % of the entries
  are errors.  Coverage tolerance: the waveform, at its own timestamps, must
  span 90-110 % of the frames (:data:`hrbench.pulse.gt_checks.COVERAGE_RANGE`).
* ``pulseRate`` (the oximeter's HR read-out) is not the reference; ``check``
  compares it with the waveform's HR and warns when they disagree.
* Subject id ``NN``, session ``MM``, recording id ``NN-MM``.
* ``scan`` parses each JSON file (1-2 MB) and lists the frame folder, so a
  missing key, a count mismatch or a ground truth that does not span the
  frames stops a run before it starts.
"""

from __future__ import annotations

import json
import os
import re
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from hrbench.api import (
    FrameSource,
    HrbenchError,
    Problem,
    RecordedAdapter,
    Recording,
    RecordingError,
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

NOMINAL_FPS = 30.0
_SEQ = re.compile(r"^(\d+)-(\d+)$")
_IMAGE = re.compile(r"^Image(\d+)\.png$")
_LAYOUT = "NN-MM/ folders of Image<ns>.png frames next to NN-MM.json"
_SETUPS = {
    "01": "steady",
    "02": "talking",
    "03": "slow translation",
    "04": "fast translation",
    "05": "small rotation",
    "06": "medium rotation",
}


def _entries(data: Any, key: str, path: Path, rid: str | None) -> list[Any]:
    if not isinstance(data, dict) or key not in data:
        raise RecordingError(f"no {key!r} list in the JSON object", path, rid)
    items = data[key]
    if not isinstance(items, list) or len(items) < 2:
        raise RecordingError(f"{key!r} is not a list of at least two entries", path, rid)
    return items


def _number(entry: Any, keys: tuple[str, ...], key: str, i: int, path: Path, rid: str | None) -> float:
    v = entry
    for k in keys:
        if not isinstance(v, dict) or k not in v:
            raise RecordingError(f"{key!r} entry {i + 1} has no {'.'.join(keys)}", path, rid)
        v = v[k]
    if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
        raise RecordingError(f"{key!r} entry {i + 1}: {'.'.join(keys)} is not a number", path, rid)
    return float(v)


def read_pure_json(path: str | Path, recording_id: str | None = None) -> dict[str, np.ndarray]:
    """Arrays of one PURE JSON file, times in s relative to the first image.

    Keys: ``image_t`` (per frame), ``gt_t``, ``waveform``, ``pulse_rate``, and
    ``notes``: the isolated timestamp glitches repaired (:mod:`hrbench.data.timing`).
    """
    path = Path(path)
    text = read_text(path, recording_id)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordingError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno})", path, recording_id
        ) from None
    images = _entries(data, "/Image", path, recording_id)
    package = _entries(data, "/FullPackage", path, recording_id)
    img_ns = np.array(
        [_number(e, ("Timestamp",), "/Image", i, path, recording_id) for i, e in enumerate(images)]
    )
    gt_ns = np.array(
        [_number(e, ("Timestamp",), "/FullPackage", i, path, recording_id) for i, e in enumerate(package)]
    )
    wave = np.array(
        [_number(e, ("Value", "waveform"), "/FullPackage", i, path, recording_id) for i, e in enumerate(package)]
    )
    rate = np.array(
        [_number(e, ("Value", "pulseRate"), "/FullPackage", i, path, recording_id) for i, e in enumerate(package)]
    )
    t0 = img_ns[0]
    fixed = {}
    for ns, key in ((img_ns, "/Image"), (gt_ns, "/FullPackage")):
        try:
            fixed[key] = repair_times((ns - t0) / 1e9, noun="entry")
        except TimingFault as exc:
            raise RecordingError(f"{key!r} timestamps: {exc}", path, recording_id) from None
    return {
        "image_t": fixed["/Image"].times,
        "image_ns": img_ns,
        "gt_t": fixed["/FullPackage"].times,
        "waveform": wave,
        "pulse_rate": rate,
        "notes": [f"{key!r} timestamps: {n}" for key, r in fixed.items() for n in r.notes],
    }


def load_pure_bvp(path: str, recording_id: str | None = None) -> Signal:
    """Ground truth of one sequence: the oximeter waveform at its own timestamps."""
    d = read_pure_json(path, recording_id)
    t = d["gt_t"]
    fs = (len(t) - 1) / float(t[-1] - t[0])
    return checked_signal(Signal("bvp", d["waveform"], fs, times=t), path, recording_id)


def load_pure_timestamps(path: str, recording_id: str | None = None) -> np.ndarray:
    """Per-frame times (s) of one sequence, from the ``/Image`` timestamps."""
    return read_pure_json(path, recording_id)["image_t"]


def load_pure_pulse_rate(path: str, recording_id: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(times s, bpm) of the oximeter's ``pulseRate`` read-out, for ``check``'s comparison only."""
    d = read_pure_json(path, recording_id)
    return d["gt_t"], d["pulse_rate"]


class PUREAdapter(RecordedAdapter):
    """PURE: 10 subjects x 6 setups, PNG frames with timestamps, 60 Hz oximeter waveform."""

    name: ClassVar[str] = "pure"
    description: ClassVar[str] = (
        "PURE: NN-MM/Image<ns>.png frames + NN-MM.json (/FullPackage waveform, /Image timestamps)"
    )

    def _scan_one(self, js: Path, frames: Path, m: re.Match[str], warnings: list[Problem]) -> Recording:
        """One sequence; notes of repaired timestamp glitches go to ``warnings``."""
        rid = js.stem
        if not frames.is_dir():
            raise RecordingError(f"no frame folder {rid}/ next to {js.name}", frames, rid)
        names = sorted(f for f in os.listdir(frames) if f.lower().endswith(".png"))
        if not names:
            raise RecordingError("frame folder holds no .png frames", frames, rid)
        d = read_pure_json(js, rid)
        n_img = len(d["image_t"])
        if len(names) != n_img:
            raise RecordingError(
                f"{len(names)} frame files but {n_img} '/Image' timestamps in {js.name}", frames, rid
            )
        stamps = [int(mm.group(1)) for f in names if (mm := _IMAGE.match(f))]
        if len(stamps) == len(names):
            diff = np.flatnonzero(np.array(stamps, dtype=np.float64) != d["image_ns"])
            if len(diff):
                k = int(diff[0])
                raise RecordingError(
                    f"frame file {names[k]} does not match '/Image' timestamp {k + 1} of {js.name}",
                    frames / names[k],
                    rid,
                )
        t = d["image_t"]
        video_s = float(t[-1]) + float(t[-1]) / (len(t) - 1)
        coverage_error(Signal("bvp", d["waveform"], 1.0, times=d["gt_t"]), video_s, js, rid)
        warnings.extend(Problem(str(js), note, rid, "warning") for note in d["notes"])
        setup = m.group(2)
        return Recording(
            dataset=self.name,
            id=rid,
            subject=m.group(1),
            session=setup,
            fps=(len(t) - 1) / float(t[-1]),
            frames=FrameSource(frames, "images", "*.png"),
            ground_truth=partial(load_pure_bvp, str(js), rid),
            timestamps=partial(load_pure_timestamps, str(js), rid),
            meta={"setup": _SETUPS.get(setup, setup)},
            gt_path=js,
        )

    def scan_with_problems(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        root = require_dir(root, "PURE", _LAYOUT)
        found: dict[str, tuple[Path, Path, re.Match[str]]] = {}
        problems: list[Problem] = []
        frame_dirs: dict[str, Path] = {}
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            d = Path(dirpath)
            if len(d.relative_to(root).parts) > 2:
                dirnames.clear()
                continue
            if _SEQ.match(d.name) and any(f.lower().endswith(".png") for f in filenames):
                frame_dirs.setdefault(d.name, d)
            for f in sorted(filenames):
                js = d / f
                m = _SEQ.match(js.stem)
                if js.suffix.lower() != ".json" or not m:
                    continue
                if js.stem in found:
                    problems.append(
                        Problem(str(js), f"sequence {js.stem} also at {found[js.stem][0]}", js.stem)
                    )
                    continue
                found[js.stem] = (js, d / js.stem, m)
        for rid, d in sorted(frame_dirs.items()):
            if rid not in found:
                problems.append(Problem(str(d), f"frames without a {rid}.json next to them", rid))
        if not found and not problems:
            raise HrbenchError(f"not a PURE copy: found no {_LAYOUT}", root)
        recs: list[Recording] = []
        for rid in sorted(found):
            js, frames, m = found[rid]
            self.scan_into(recs, problems, partial(self._scan_one, js, frames, m, problems), rid, js)
        return recs, problems

    def check_recording(self, rec: Recording, deep: bool = False) -> list[Problem]:
        return recording_checks(
            rec,
            deep,
            hr_channel=partial(load_pure_pulse_rate, str(rec.gt_path), rec.id),
            hr_channel_path=rec.gt_path,
            hr_channel_name="the pulseRate read-out",
            timestamps_path=rec.gt_path,
        )


@hookimpl
def register_datasets(register):  # noqa: ANN001 - pluggy hook signature
    register(PUREAdapter)
