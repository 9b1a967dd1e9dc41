"""Dataset adapters ``synthetic`` and ``synthetic-large``.

They behave like the adapter of a recorded dataset: ``prepare`` makes the
files exist (here: generates them on first use into the cache), and
``scan`` reads back only what is on disk -- ``dataset.json`` for the list
of recordings, ``subjects.csv`` and each recording's ``info.json`` for
metadata -- so the synthetic data go through the same code path as real
data.  Ground truth (``bvp.csv``) and frame times (``timestamps.csv``) are
parsed lazily by module-level loaders (picklable ``functools.partial``),
strictly: any malformed line is a one-line error naming the file.
"""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from hrbench.api import (
    DatasetAdapter,
    FrameSource,
    HrbenchError,
    Problem,
    Recording,
    RecordingError,
    Signal,
    phase,
)

from .generate import MANIFEST, SUBJECTS, dataset_dir, generate, is_complete
from .interference import COMPETITOR_FIELDS
from .population import plan_recordings
from .render import BVP_FILE, INFO_FILE, TIMESTAMPS_FILE, VIDEO_FILE
from .settings import DEFAULT, DEV, LARGE, POWER, SyntheticSettings

BVP_HEADER = "time_s,bvp"
TIMESTAMPS_HEADER = "frame,time_s"
#: info.json fields copied into Recording.meta (all JSON scalars).
META_FIELDS = ("scenario", "skin_tone", "mean_hr", "hr_min", "hr_max", "resp_rate", "base_photo",
               "light_level", "light_cct", "flicker_hz", "pulse_amplitude", "perfusion", "motion_habit",
               "duration_s", "codec", "competitor", *COMPETITOR_FIELDS)


def _read_table(path: Path, header: str, recording_id: str | None) -> np.ndarray:
    """Two-column numeric CSV with the given header, as an (n, 2) float array."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordingError("file not found", path, recording_id) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"cannot read ({type(exc).__name__}: {exc})", path, recording_id) from None
    lines = text.splitlines()
    if not lines or lines[0].strip().lower() != header:
        got = lines[0][:40] if lines else "an empty file"
        raise RecordingError(f"expected header {header!r}, got {got!r}", path, recording_id)
    rows = []
    for no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            rows.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise RecordingError(f"line {no} is not two numbers: {line[:40]!r}", path, recording_id) from None
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 2)
    if len(arr) < 2:
        raise RecordingError(f"only {len(arr)} data rows", path, recording_id)
    if not np.all(np.isfinite(arr)):
        raise RecordingError("contains NaN or infinite values", path, recording_id)
    return arr


def load_bvp(path: Path, recording_id: str | None = None) -> Signal:
    """The reference BVP of a recording (``time_s,bvp`` CSV) as a Signal."""
    arr = _read_table(Path(path), BVP_HEADER, recording_id)
    t, v = arr[:, 0], arr[:, 1]
    dt = np.diff(t)
    if np.any(dt <= 0):
        raise RecordingError("time_s is not strictly increasing", path, recording_id)
    fs = (len(t) - 1) / float(t[-1] - t[0])
    if np.max(np.abs(dt * fs - 1.0)) > 0.01:
        return Signal(kind="bvp", values=v, fs=fs, times=t)
    return Signal(kind="bvp", values=v, fs=fs, offset=float(t[0]))


def load_timestamps(path: Path, recording_id: str | None = None) -> np.ndarray:
    """Capture time (s) of each video frame (``frame,time_s`` CSV)."""
    arr = _read_table(Path(path), TIMESTAMPS_HEADER, recording_id)
    if not np.array_equal(arr[:, 0], np.arange(len(arr))):
        raise RecordingError("frame numbers are not 0, 1, 2, ...", path, recording_id)
    if np.any(np.diff(arr[:, 1]) <= 0):
        raise RecordingError("time_s is not strictly increasing", path, recording_id)
    return arr[:, 1].copy()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HrbenchError("file not found", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HrbenchError(f"not valid JSON ({type(exc).__name__}: {exc})", path) from None


def _read_subjects(path: Path) -> dict[str, dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise HrbenchError("file not found", path) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise HrbenchError(f"cannot read ({type(exc).__name__}: {exc})", path) from None
    if not rows or "subject" not in rows[0] or "skin_tone" not in rows[0]:
        raise HrbenchError("expected a CSV with columns subject, skin_tone, ...", path)
    return {r["subject"]: r for r in rows}


class SyntheticAdapter(DatasetAdapter):
    """The embedded benchmark: rendered face videos with a known pulse."""

    name = "synthetic"
    description = ("embedded synthetic face videos (20 subjects x 2 scenarios x 30 s, 6 of them 60 s H.264 "
                   "with a competing light near 1 Hz), generated on first use")
    needs_root = False
    settings: ClassVar[SyntheticSettings] = DEFAULT

    def default_root(self) -> Path:
        return dataset_dir(self.name, self.settings)

    def prepare(self, root: Path) -> None:
        """Generate the dataset at ``root`` on first use (a few minutes), reporting progress like a run's phases.

        A bar on a terminal; elsewhere (a log file, a pipe, CI) plain lines --
        one at the start, one every ~10 % or 30 s, one at the end -- through
        :func:`hrbench.run.progress.phase`: a bar redrawn in place showed nothing
        in a log file until generation had finished.
        """
        root = Path(root)
        if is_complete(root):
            return
        total = len(plan_recordings(self.settings))
        with phase(f"generating {self.name} (first use)", total) as advance:
            done = 0

            def progress(n: int, _total: int) -> None:
                nonlocal done
                advance(n - done)
                done = n

            generate(self.settings, root, name=self.name, progress=progress)

    def scan(self, root: Path) -> list[Recording]:
        recordings, problems = self.scan_with_problems(root)
        if problems:
            p = problems[0]
            raise HrbenchError(p.message, p.path)
        return recordings

    def scan_with_problems(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        root = Path(root).expanduser()
        if not root.is_dir():
            raise HrbenchError(f"{self.name} dataset not found (it is generated by `prepare` on first use)", root)
        manifest = _read_json(root / MANIFEST)
        try:
            entries = [(str(e["id"]), str(e["subject"]), str(e["scenario"]), str(e["path"]))
                       for e in manifest["recordings"]]
        except (KeyError, TypeError) as exc:
            raise HrbenchError(f"malformed recording list ({type(exc).__name__}: {exc})", root / MANIFEST) from None
        subjects = _read_subjects(root / SUBJECTS)
        recordings: list[Recording] = []
        problems: list[Problem] = []
        for rid, subject, scenario, rel in entries:
            try:
                recordings.append(self._recording(root, rid, subject, scenario, rel, subjects))
            except HrbenchError as exc:
                problems.append(Problem(exc.path or str(root / rel), exc.message, rid))
        return recordings, problems

    def _recording(self, root: Path, rid: str, subject: str, scenario: str, rel: str,
                   subjects: dict[str, dict[str, str]]) -> Recording:
        d = root / rel
        info_path = d / INFO_FILE
        info = _read_json(info_path)
        if not isinstance(info, dict) or info.get("id") != rid or info.get("scenario") != scenario:
            raise HrbenchError(f"does not describe recording {rid!r}", info_path)
        if subject not in subjects:
            raise HrbenchError(f"subject {subject!r} of {rid} is not listed", root / SUBJECTS)
        files = (info.get("video", VIDEO_FILE), info.get("bvp", BVP_FILE), info.get("timestamps", TIMESTAMPS_FILE))
        for fname in files:
            if not (d / fname).is_file():
                raise HrbenchError("file not found", d / fname)
        try:
            fps = float(info["fps"])
        except (KeyError, TypeError, ValueError):
            raise HrbenchError("missing or invalid 'fps'", info_path) from None
        meta = {k: info[k] for k in META_FIELDS if k in info}
        meta["base_hr"] = info.get("resting_hr")  # the subject's resting HR (a per-subject trait)
        meta["face_width_px"] = info.get("face_box", [0, 0, 0, 0])[2]
        bvp_path = d / info.get("bvp", BVP_FILE)
        return Recording(
            dataset=self.name,
            id=rid,
            subject=subject,
            session=scenario,
            fps=fps,
            frames=FrameSource(d / info.get("video", VIDEO_FILE)),
            ground_truth=functools.partial(load_bvp, bvp_path, rid),
            timestamps=functools.partial(load_timestamps, d / info.get("timestamps", TIMESTAMPS_FILE), rid),
            meta=meta,
            gt_path=bvp_path,
        )

    def check(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        """Also parse every BVP and timestamp file and compare frame counts with the video."""
        recordings, problems = self.scan_with_problems(root)
        good = []
        for rec in recordings:
            try:
                sig = rec.load_ground_truth()
                ts = rec.timestamps() if rec.timestamps else None
                n_frames = rec.frames.frame_count()
                if n_frames == 0:
                    raise RecordingError("cannot open video or it has no frames", rec.frames.path, rec.id)
                if ts is not None and n_frames != len(ts):
                    raise RecordingError(f"video has {n_frames} frames but timestamps list {len(ts)}",
                                         rec.frames.path, rec.id)
                if ts is not None and sig.duration < 0.9 * (ts[-1] - ts[0]):
                    raise RecordingError(f"BVP covers {sig.duration:.1f} s of a {ts[-1] - ts[0]:.1f} s video",
                                         rec.gt_path, rec.id)
            except HrbenchError as exc:
                problems.append(Problem(exc.path or str(rec.frames.path), exc.message, rec.id))
                continue
            good.append(rec)
        return good, problems


class SyntheticDevAdapter(SyntheticAdapter):
    """A development copy: the default preset with another seed (other subjects and draws).

    Defaults chosen from data (map detrending, filter order, ...) are chosen on
    this set, so the numbers the boards publish on ``synthetic`` never served
    to tune what produced them (``benchmarks/tune_defaults.py``).
    """

    name = "synthetic-dev"
    description = "development copy of the embedded set (same size, other seed) for choosing defaults; never on a board"
    settings = DEV


class SyntheticLargeAdapter(SyntheticAdapter):
    """A larger preset for training learned methods: 40 subjects x all 8 scenarios."""

    name = "synthetic-large"
    description = "larger embedded synthetic set (40 subjects x 8 scenarios x 30 s), generated on first use"
    settings = LARGE


class SyntheticPowerAdapter(SyntheticAdapter):
    """The default design with 46 subjects: boards that can call a ~4 bpm gain after Holm (see settings.POWER)."""

    name = "synthetic-46"
    description = "the embedded set's design with 46 subjects (other people), for boards with more power"
    settings = POWER
