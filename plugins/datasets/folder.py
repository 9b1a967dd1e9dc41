"""Folder adapter: your own videos (or frame folders) listed in a CSV manifest.

``ROOT`` is a directory holding ``manifest.csv`` (or pass the CSV file itself
as ``ROOT``; ``FolderAdapter(manifest="other.csv")`` picks another name).
Paths in the manifest are relative to the manifest's folder, or absolute,
and must resolve (symbolic links and ``..`` followed) to a place *under* the
manifest's folder: a manifest is often someone else's file, and one listing
``../../etc/passwd`` as a signal must not make hrbench read it.
``FolderAdapter(allow_outside=True)`` (CLI ``--allow-outside``) lifts this
for manifests you wrote yourself.  Error messages name the file and line
number only; they never quote a manifest cell or a line of a signal file.

Manifest columns (header row required; UTF-8; extra columns are ignored)::

    path         required  a video file, or a folder of images (*.jpg, *.png, ...; sorted by name)
    subject      required  the person; subject-exclusive folds group on it
    hr           reference heart rate in bpm for the whole video          \\ one of the two
    signal_path  ground-truth file: .npy (1-D) or text/CSV, one number     |
                 per line, optional header line                            | forms of
    signal_kind  bvp | hr | ecg  (pulse wave, bpm track, electrocardiogram) | ground truth
    signal_fs    signal sample rate in Hz                                  /
    session      optional  session / scenario label (default empty)
    fps          optional for videos (container metadata otherwise), required for frame folders
    roi          optional  face (default: find a face) | full-frame (pre-cropped skin, no face in it)
    id           optional  recording id (default: path without extension, '/'-separated)

Example::

    path,subject,hr,signal_path,signal_kind,signal_fs,session,fps,roi
    videos/anna_rest.avi,anna,68.5,,,,rest,,face
    frames/ben_run,ben,,signals/ben_run_ppg.csv,bvp,64,exercise,30,face
    skin/patch_01.avi,carl,,signals/patch_01_ecg.npy,ecg,250,,,full-frame

Choices: a signal's first sample is taken at the first frame (sample ``i`` at
``i / signal_fs`` s); an ``hr`` value is a constant track over the whole
video (every clip gets that reference).  Coverage tolerance: at its stated
``signal_fs`` a signal must span 90-110 % of the video
(:data:`hrbench.pulse.gt_checks.COVERAGE_RANGE`), checked when a run loads it and
by ``check``; it is never stretched to fit.  Rows with ``path`` starting with
``#`` are skipped (comments).  Every malformed row is reported with its line
number; ``check`` additionally makes every check a run makes
(:func:`hrbench.api.recording_checks`: frames, a signal spanning 90-110 % of
the video, a flat or implausible signal).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from hrbench.api import (
    OPTIONAL_HEADER,
    FrameSource,
    HrbenchError,
    Problem,
    RecordedAdapter,
    Recording,
    RecordingError,
    Signal,
    checked_signal,
    coverage_error,
    hookimpl,
    problem_of,
    read_column,
    recording_checks,
    require_dir,
    verify_frames,
)

MANIFEST = "manifest.csv"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
SIGNAL_KINDS = ("bvp", "hr", "ecg")
ROIS = ("face", "full-frame")
#: Plausible range of a reference HR value (bpm).
HR_RANGE = (20.0, 300.0)
_REQUIRED = ("path", "subject")


def load_folder_signal(
    path: str,
    kind: str,
    fs: float,
    recording_id: str | None = None,
    video: FrameSource | None = None,
    fps: float = 0.0,
) -> Signal:
    """Ground truth from a manifest's signal file (.npy or one number per line).

    With ``video`` (and its ``fps``), a signal that does not span 90-110 % of
    the video at its stated ``signal_fs`` is a RecordingError: a run stops on
    it as ``check`` does, instead of scoring clips against another
    recording's signal or one at the wrong rate.
    """
    p = Path(path)
    if p.suffix.lower() == ".npy":
        try:
            values = np.load(p, allow_pickle=False)
        except FileNotFoundError:
            raise RecordingError("signal file not found", p, recording_id) from None
        except (OSError, ValueError, EOFError) as exc:
            # The type only: numpy's messages may quote the file's header bytes.
            raise RecordingError(
                f"cannot read .npy ({type(exc).__name__})", p, recording_id
            ) from None
        values = np.asarray(values, dtype=np.float64).squeeze()
        if values.ndim != 1:
            raise RecordingError(
                f".npy holds shape {values.shape}, expected one dimension", p, recording_id
            )
    else:
        values = read_column(p, header=OPTIONAL_HEADER, recording_id=recording_id, quote=False)
    sig = checked_signal(Signal(kind, values, float(fs)), p, recording_id)  # type: ignore[arg-type]
    if video is not None:
        coverage_error(sig, video.duration(fps), p, recording_id)
    return sig


def constant_hr_signal(hr: float, frames_path: str, kind: str, pattern: str, fps: float) -> Signal:
    """A reference HR given as one number: a flat bpm track spanning the whole video."""
    end = max(FrameSource(Path(frames_path), kind, pattern).duration(fps), 1.0)  # type: ignore[arg-type]
    return Signal("hr", np.array([hr, hr]), 1.0 / end, times=np.array([0.0, end]))


def _image_pattern(folder: Path) -> str | None:
    suffixes = sorted(
        {p.suffix for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}
    )
    if not suffixes:
        return None
    # The most common image suffix wins (a stray thumbnail.png does not hide 900 .jpg frames).
    counts = {s: sum(1 for _ in folder.glob(f"*{s}")) for s in suffixes}
    return f"*{max(suffixes, key=lambda s: counts[s])}"


def _number(row: dict[str, str], col: str, line: int, positive: bool = True) -> float | None:
    raw = (row.get(col) or "").strip()
    if not raw:
        return None
    try:
        v = float(raw)
    except ValueError:
        raise ValueError(f"line {line}: {col} is not a number") from None
    if not np.isfinite(v) or (positive and v <= 0):
        raise ValueError(f"line {line}: {col} must be a positive number")
    return v


def find_manifest(root: Path, manifest: str) -> Path:
    """The manifest: ``root`` itself when it is a CSV file, else ``root/manifest``."""
    root = Path(root).expanduser()
    if root.is_file() and root.suffix.lower() == ".csv":
        return root
    root = require_dir(root, "folder dataset", f"a directory holding {manifest}")
    path = root / manifest
    if not path.is_file():
        raise HrbenchError(
            f"no {manifest} (expected a CSV with columns path, subject and hr, "
            "or signal_path + signal_kind + signal_fs; see `hrbench plugins`/the folder adapter docs)",
            path,
        )
    return path


def read_manifest(manifest: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row with lower-case keys and stripped cells) of each row; the header is checked."""
    try:
        text = manifest.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HrbenchError(f"manifest is not UTF-8 text (byte {exc.start})", manifest) from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise HrbenchError("manifest is empty (expected a header row: path,subject,hr,...)", manifest)
    cols = [c.strip().lower() for c in reader.fieldnames]
    missing = [c for c in _REQUIRED if c not in cols]
    has_hr = "hr" in cols
    has_sig = all(c in cols for c in ("signal_path", "signal_kind", "signal_fs"))
    if missing or not (has_hr or has_sig):
        need = ", ".join(missing) if missing else "hr, or signal_path + signal_kind + signal_fs"
        # The header's own cells are not quoted: the "manifest" may be any file.
        raise HrbenchError(
            f"line 1: manifest lacks column(s) {need} ({len(cols)} column(s) in the header)", manifest
        )
    rows = []
    for row in reader:
        # Cells beyond the header land under the key None (a list): ignored like extra columns.
        clean = {
            k.strip().lower(): (v or "").strip()
            for k, v in row.items()
            if k is not None and not isinstance(v, list)
        }
        rows.append((reader.line_num, clean))
    return rows


def row_frames(path: Path, rel: str, rid: str, fps: float | None, where: str) -> tuple[FrameSource, float]:
    """The frame source of a manifest row and its frame rate (the row's, else the container's)."""
    kind: Literal["video", "images"]
    if path.is_dir():
        pattern = _image_pattern(path)
        if pattern is None:
            raise RecordingError(f"folder holds no images ({', '.join(IMAGE_SUFFIXES)})", path, rid)
        kind = "images"
        if fps is None:
            raise ValueError(f"{where}: fps is required for a folder of frames ({rel})")
    elif path.is_file():
        pattern, kind = "*.jpg", "video"
        if path.stat().st_size == 0:
            raise RecordingError("video file is empty", path, rid)
        if fps is None:
            fps = FrameSource(path, "video").frame_rate()  # container metadata, no decoding
            if not fps or fps <= 0:
                raise RecordingError("frame rate unknown: the container gives none; add an fps column", path, rid)
    else:
        raise RecordingError("video or frame folder not found", path, rid)
    return FrameSource(path, kind, pattern), float(fps)


class FolderAdapter(RecordedAdapter):
    """Your own recordings: videos or frame folders listed in ``manifest.csv``.

    The manifest's layout is read by :func:`find_manifest`, :func:`read_manifest`
    and :func:`row_frames`; the class holds what depends on its settings (which
    manifest, whether paths may leave its folder) and the ground truth of a row.
    """

    name: ClassVar[str] = "folder"
    description: ClassVar[str] = (
        "your own videos/frame folders + manifest.csv (path, subject, hr | signal_path/kind/fs)"
    )
    #: Two folders are two datasets: the board label is ``folder-<folder name>`` (``--name`` overrides).
    label_from_root: ClassVar[bool] = True
    #: Manifests are users' files: paths leading outside their folder need ``allow_outside=True``.
    reads_manifest: ClassVar[bool] = True

    def __init__(self, manifest: str = MANIFEST, allow_outside: bool = False) -> None:
        self.manifest = manifest
        #: Accept manifest paths that resolve outside the manifest's folder.
        self.allow_outside = allow_outside

    def _inside(self, base: Path, cell: str, line: int, col: str) -> Path:
        """The path a manifest cell names (relative to ``base``), or a ValueError when it leaves ``base``."""
        path = Path(cell).expanduser()
        path = path if path.is_absolute() else base / path
        if self.allow_outside:
            return path
        try:
            inside = path.resolve().is_relative_to(base.resolve())
        except (OSError, RuntimeError):  # a symlink loop
            inside = False
        if not inside:
            raise ValueError(
                f"line {line}: {col} leads outside the manifest's folder "
                "(pass --allow-outside to accept it)"
            )
        return path

    def _row(self, base: Path, manifest: Path, line: int, row: dict[str, str]) -> Recording:
        where = f"line {line}"
        rel = row.get("path", "")
        if not rel:
            raise ValueError(f"{where}: path is empty")
        path = self._inside(base, rel, line, "path")
        # Default id: the path as written, extension dropped for files only ("frames/a.b" is a folder).
        rid = (
            row.get("id") or (Path(rel).with_suffix("") if path.is_file() else Path(rel)).as_posix()
        )
        subject = row.get("subject", "")
        if not subject:
            raise ValueError(f"{where}: subject is empty")
        roi = (row.get("roi") or "face").lower()
        if roi not in ROIS:
            raise ValueError(f"{where}: roi is not one of {', '.join(ROIS)}")
        frames, fps = row_frames(path, rel, rid, _number(row, "fps", line), where)
        gt, gt_path, meta = self._ground_truth(base, manifest, line, row, rid, frames, fps)
        return Recording(
            dataset=self.name,
            id=rid,
            subject=subject,
            session=row.get("session", ""),
            fps=fps,
            frames=frames,
            ground_truth=gt,
            roi=roi,  # type: ignore[arg-type]
            meta=meta,
            gt_path=gt_path,
        )

    def _ground_truth(
        self, base: Path, manifest: Path, line: int, row: dict[str, str], rid: str, frames: FrameSource, fps: float
    ) -> tuple[Callable[[], Signal], Path, dict[str, Any]]:
        """(loader, file, meta) of a row's ground truth: its ``hr`` value or its signal file."""
        where = f"line {line}"
        hr = _number(row, "hr", line)
        sig_path = row.get("signal_path", "")
        if hr is not None and sig_path:
            raise ValueError(f"{where}: give either hr or signal_path, not both")
        if hr is not None:
            if not HR_RANGE[0] <= hr <= HR_RANGE[1]:
                raise ValueError(f"{where}: hr is outside {HR_RANGE[0]:g}-{HR_RANGE[1]:g} bpm")
            gt = partial(constant_hr_signal, hr, str(frames.path), frames.kind, frames.pattern, fps)
            return gt, manifest, {"manifest_line": line, "ground_truth": "manifest hr"}
        if not sig_path:
            raise ValueError(f"{where}: no ground truth (give hr, or signal_path + signal_kind + signal_fs)")
        sp = self._inside(base, sig_path, line, "signal_path")
        skind = (row.get("signal_kind") or "").lower()
        if skind not in SIGNAL_KINDS:
            raise ValueError(f"{where}: signal_kind is not one of {', '.join(SIGNAL_KINDS)}")
        sfs = _number(row, "signal_fs", line)
        if sfs is None:
            raise ValueError(f"{where}: signal_fs is required with signal_path")
        if not sp.is_file():
            raise RecordingError("signal file not found", sp, rid)
        if sp.stat().st_size == 0:
            raise RecordingError("signal file is empty", sp, rid)
        gt = partial(load_folder_signal, str(sp), skind, sfs, rid, frames, fps)
        return gt, sp, {"manifest_line": line, "ground_truth": f"{skind} signal"}

    def scan_with_problems(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        manifest = find_manifest(root, self.manifest)
        base = manifest.parent
        recs: list[Recording] = []
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for line, row in read_manifest(manifest):
            if row.get("path", "").startswith("#") or not any(row.values()):
                continue
            try:
                rec = self._row(base, manifest, line, row)
            except ValueError as exc:
                problems.append(Problem(str(manifest), str(exc), row.get("id") or row.get("path") or None))
                continue
            except (HrbenchError, OSError) as exc:
                problems.append(problem_of(exc, row.get("id") or None, manifest))
                continue
            if rec.id in seen:
                problems.append(Problem(str(manifest), f"line {line}: id repeats line {seen[rec.id]}", rec.id))
                continue
            seen[rec.id] = line
            recs.append(rec)
        if not recs and not problems:
            raise HrbenchError("manifest lists no recordings", manifest)
        return recs, problems

    def check_recording(self, rec: Recording, deep: bool = False) -> list[Problem]:
        if rec.meta.get("ground_truth") == "manifest hr":
            # A constant hr from the manifest spans the video by construction: frames only.
            n, problems = verify_frames(rec.frames, rec.id, deep)
            return problems
        return recording_checks(rec, deep)


@hookimpl
def register_datasets(register):  # noqa: ANN001 - pluggy hook signature
    register(FolderAdapter)
