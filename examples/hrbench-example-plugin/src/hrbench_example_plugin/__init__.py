"""A template hrbench plugin: a method, a dataset adapter, and a tiny-dataset writer.

Everything comes from ``hrbench.api`` -- the one module hrbench keeps
stable for plugins.  The entry point in ``pyproject.toml`` names this module;
hrbench calls the two ``@hookimpl`` functions at the bottom.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from hrbench.api import (
    Clips,
    FrameSource,
    Param,
    Problem,
    PulseMethod,
    RecordedAdapter,
    Recording,
    RecordingError,
    Signal,
    fill_missing_frames,
    hookimpl,
    read_column,
    require_dir,
)

__all__ = ["ExampleFolder", "ExampleGreen", "write_example_dataset"]


# -- a method ---------------------------------------------------------------------------


class ExampleGreen(PulseMethod):
    """The mean colour channel's spectral peak, honouring the NaN contract.

    A :class:`PulseMethod` writes only ``predict_pulse``: its ``predict`` reads each
    pulse's heart rate with the core's estimator (the one that reads the ground truth)
    and gives a clip whose pulse is not finite ``NaN``.
    """

    name = "example_green"
    description = "example plugin: spectral peak of one colour channel of the face-skin trace"
    citation = "W. Verkruysse, L. O. Svaasand, J. S. Nelson. Optics Express 16(26), 2008."
    roi_scheme = "face_skin"  # one ROI: clips.traces is (n, 1, T, 3)
    params = {
        "channel": Param(1, "colour channel: 0 red, 1 green, 2 blue", int, low=0, high=2),
        "min_valid": Param(0.5, "below this fraction of valid frames a clip gets NaN", float, low=0.0, high=1.0),
    }
    profiles = {"red": {"channel": 0}}

    def predict_pulse(self, clips: Clips) -> np.ndarray:
        # Missing frames (NaN/inf: face lost) are interpolated; a clip with too few
        # valid frames gets an all-NaN row -- never a made-up pulse.
        rgb, valid = fill_missing_frames(clips.traces.mean(axis=1))  # a new array: input untouched
        x = rgb[..., self.channel]
        pulse = x / np.maximum(x.mean(axis=-1, keepdims=True), 1e-12) - 1.0
        pulse[valid < self.min_valid] = np.nan
        return pulse


# -- a dataset adapter ------------------------------------------------------------------
#
# Layout:  ROOT/<recording id>/video.avi       full-frame skin video (MJPG)
#                             /bvp.csv         header "bvp", one sample per line, at info.json's bvp_fs
#                             /timestamps.csv  header "t", one time in seconds per frame (optional)
#                             /info.json       {"subject": ..., "fps": ..., "bvp_fs": ...}


def load_bvp(path: Path, fs: float, recording_id: str) -> Signal:
    """Ground truth, read strictly: a bad line is an error naming the file and line."""
    return Signal("bvp", read_column(path, header="bvp", recording_id=recording_id), fs)


def load_times(path: Path, recording_id: str) -> np.ndarray:
    """Per-frame times in seconds, from the first frame (strictly rising)."""
    return read_column(path, header="t", recording_id=recording_id)


class ExampleFolder(RecordedAdapter):
    """One folder per recording.

    A :class:`RecordedAdapter` writes only ``scan_with_problems``: ``scan`` raises on the
    first problem, and ``check`` (``hrbench datasets check``) makes every check a run
    makes on each recording -- frames, timestamps, a ground truth that spans the video.
    """

    name = "example_folder"
    description = "example plugin: one folder per recording (video.avi, bvp.csv, info.json)"

    def scan_with_problems(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        root = require_dir(root, "example_folder", "one folder per recording")
        recordings: list[Recording] = []
        problems: list[Problem] = []
        for d in sorted(p for p in root.iterdir() if p.is_dir()):  # sorted: stable ids and order
            # One broken folder becomes a Problem of that recording; the others are still found.
            self.scan_into(recordings, problems, functools.partial(self.recording, d), d.name, d)
        return recordings, problems

    def recording(self, d: Path) -> Recording:
        """The recording in folder ``d``, or a RecordingError naming the file that is wrong."""
        rid = d.name
        try:
            info = json.loads((d / "info.json").read_text())
            fps, bvp_fs, subject = float(info["fps"]), float(info["bvp_fs"]), str(info["subject"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RecordingError(f"unreadable ({type(exc).__name__})", d / "info.json", rid) from None
        for f in ("video.avi", "bvp.csv"):
            if not (d / f).is_file():
                raise RecordingError("file not found", d / f, rid)
        times = d / "timestamps.csv"
        return Recording(
            dataset=self.name, id=rid, subject=subject, session="", fps=fps,
            frames=FrameSource(d / "video.avi"),
            # functools.partial of module-level functions: recordings must pickle.
            ground_truth=functools.partial(load_bvp, d / "bvp.csv", bvp_fs, rid),
            timestamps=functools.partial(load_times, times, rid) if times.is_file() else None,
            roi="full-frame", gt_path=d / "bvp.csv",
        )


def write_example_dataset(
    root: str | Path, hrs: dict[str, float], *, fps: float = 30.0, seconds: float = 12.0, seed: int = 0
) -> Path:
    """Write tiny full-frame videos whose colour pulses at ``hrs`` (id -> bpm); two recordings per subject."""
    import cv2

    root = Path(root)
    rng = np.random.default_rng(seed)
    n = int(fps * seconds)
    t = np.arange(n) / fps
    for i, (rid, hr) in enumerate(sorted(hrs.items())):
        d = root / rid
        d.mkdir(parents=True, exist_ok=True)
        pulse = np.sin(2 * np.pi * hr / 60.0 * t + rng.uniform(0, 2 * np.pi))
        w = cv2.VideoWriter(str(d / "video.avi"), cv2.VideoWriter_fourcc(*"MJPG"), fps, (32, 24))
        for k in range(n):
            rgb = np.array([170.0, 120.0, 100.0]) + 6.0 * pulse[k] * np.array([0.33, 0.77, 0.53])
            frame = np.clip(rgb + rng.normal(0, 2.0, (24, 32, 3)), 0, 255).astype(np.uint8)
            w.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        w.release()
        (d / "bvp.csv").write_text("bvp\n" + "\n".join(f"{v:.5f}" for v in pulse) + "\n")
        (d / "timestamps.csv").write_text("t\n" + "\n".join(f"{v:.6f}" for v in t) + "\n")
        (d / "info.json").write_text(json.dumps({"subject": f"p{i // 2}", "fps": fps, "bvp_fs": fps}))
    return root


@hookimpl
def register_methods(register):  # noqa: ANN001 - pluggy passes a callable
    register(ExampleGreen)


@hookimpl
def register_datasets(register):  # noqa: ANN001 - pluggy passes a callable
    register(ExampleFolder)
