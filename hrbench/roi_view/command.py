"""``hrbench inspect``: find the recording, read its traces through the run's cache, draw, summarise."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import numpy as np

from ..data.recording import Recording
from ..errors import ConfigError, HrbenchError, RecordingError
from ..fsutil import cache_dir
from ..plugin.host import Registry, get_registry
from ..traces.traces import Traces, extract_and_cache, load_traces
from .frames import choose_frames, read_frames
from .frames_figure import frames_figure
from .signals import method_pulse, reference, why_no_pulse
from .signals_figure import SIGNAL_SCHEME, Span, signals_figure
from .summary import Inspected, InspectResult, write_summary

#: How many valid ids an "unknown recording" error lists.
N_SUGGEST = 5


def parse_span(text: str | None) -> tuple[float | None, float | None]:
    """``"A:B"`` seconds (either side may be empty) -> (A, B); None -> whole recording."""
    if text is None or not text.strip():
        return None, None
    m = re.fullmatch(r"\s*([0-9.]*)\s*:\s*([0-9.]*)\s*", text)
    try:
        if m is None:
            raise ValueError
        a = float(m.group(1)) if m.group(1) else None
        b = float(m.group(2)) if m.group(2) else None
    except ValueError:
        raise ConfigError(f"--seconds expects A:B in seconds (e.g. 10:40, 10: or :30), got {text!r}") from None
    if a is not None and b is not None and not b > a:
        raise ConfigError(f"--seconds {text}: the end must come after the start")
    return a, b


def safe_name(text: str) -> str:
    """A recording id as one folder name (ids may hold '/' and spaces)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "recording"


def find_recording(reg: Registry, dataset: str, recording_id: str, data_root: Path | None) -> Recording:
    """Scan the dataset the way a run does and return one recording, or a one-line error.

    An unknown id lists the closest valid ids (then the first few), so a typo
    is fixed without a second command.
    """
    adapter = reg.dataset(dataset)()
    if data_root is not None and not Path(data_root).exists():
        raise HrbenchError(f"data root of dataset {dataset} not found", data_root)
    root = data_root or adapter.default_root()
    if root is None:
        raise ConfigError(f"dataset {dataset} needs --data-root (where your copy lives)")
    adapter.prepare(Path(root))
    recs, problems = adapter.scan_with_problems(Path(root))
    for r in recs:
        if r.id == recording_id:
            return r
    for p in problems:
        if p.recording_id == recording_id:
            raise RecordingError(f"recording {recording_id} is unusable: {p.message}", p.path, recording_id)
    ids = sorted(r.id for r in recs)
    if not ids:
        raise HrbenchError(f"no usable recordings found for dataset {dataset}", root)
    close = difflib.get_close_matches(recording_id, ids, n=N_SUGGEST, cutoff=0.5)
    shown = close + [i for i in ids if i not in close][: N_SUGGEST - len(close)]
    raise ConfigError(
        f"unknown recording {recording_id!r} in dataset {dataset} ({len(ids)} recordings); e.g. {', '.join(shown)}"
    )


def _span(rec: Recording, tr: Traces, seconds: str | None) -> tuple[float, float, int, int]:
    """(start s, end s, first frame, end frame) of the part drawn: ``--seconds``, else the recording's window."""
    a, b = parse_span(seconds)
    t_end = float(tr.times[-1] + 1.0 / tr.fps)
    if a is None and b is None and rec.window is not None:
        a, b = rec.window  # the part of the video the dataset's protocol evaluates
    t0 = 0.0 if a is None else float(a)
    t1 = t_end if b is None else min(float(b), t_end)
    if t0 >= t_end:
        raise ConfigError(f"--seconds starts at {t0:g} s but recording {rec.id} lasts {t_end:.2f} s")
    lo = int(np.searchsorted(tr.times, t0 - 1e-9))
    hi = int(np.searchsorted(tr.times, t1 - 1e-9))
    if hi - lo < 8:
        raise ConfigError(f"span {t0:g}-{t1:g} s holds {hi - lo} frames of {rec.id}; need at least 8")
    return t0, t1, lo, hi


def _landmarks(rec: Recording, lm_cls: type, landmarker: str,
               frames: dict[int, np.ndarray]) -> dict[int, np.ndarray | None]:
    """The shown frames' landmarks, each frame on its own (no tracking state from another time)."""
    if rec.roi == "full-frame":
        return {i: None for i in frames}
    ok, why = lm_cls.available()
    if not ok:
        raise HrbenchError(f"landmarker {landmarker} unavailable: {why}")
    finder = lm_cls()
    points: dict[int, np.ndarray | None] = {}
    for i, f in frames.items():
        finder.reset()
        points[i] = finder(f)
    return points


def _traces(reg: Registry, rec: Recording, method_cls: type, landmarker: str,
            cache_root: Path) -> dict[str, Path]:
    """Cache paths of the traces drawn: ``face_skin``, and the method's own scheme when its pulse is shown."""
    schemes = [SIGNAL_SCHEME]
    if why_no_pulse(method_cls) is None and method_cls.roi_scheme != SIGNAL_SCHEME:
        schemes.append(method_cls.roi_scheme)
    owner = reg.owner.get(("landmarkers", landmarker))
    return {s: Path(p) for s, p in extract_and_cache(rec, schemes, landmarker, cache_root, owner).items()}


def inspect_recording(
    dataset: str,
    recording_id: str,
    *,
    data_root: Path | None = None,
    out: Path | None = None,
    method: str = "pos",
    n_frames: int = 4,
    landmarker: str = "mediapipe_litert",
    seconds: str | None = None,
    protocol: str = "subject_exclusive",
    cache_root: Path | None = None,
    registry: Registry | None = None,
) -> InspectResult:
    """Write ``frames.png``, ``signals.png`` and ``summary.txt`` for one recording; return what was written.

    ``protocol`` only supplies the HR settings (band, resolution, Welch
    segments), so the rates shown are the ones a run under it would read.
    """
    from ..clips.protocol import find_protocol

    reg = registry or get_registry()
    if n_frames < 1:
        raise ConfigError(f"--frames must be at least 1, got {n_frames}")
    settings = find_protocol(protocol, reg.protocol_dirs).hr
    method_cls, lm_cls = reg.method(method), reg.landmarker(landmarker)
    parse_span(seconds)  # a malformed --seconds fails before any scan or extraction
    rec = find_recording(reg, dataset, recording_id, data_root)
    paths = _traces(reg, rec, method_cls, landmarker, cache_root or cache_dir())
    tr = load_traces(paths[SIGNAL_SCHEME])
    t0, t1, lo, hi = _span(rec, tr, seconds)
    span = Span(tr.times[lo:hi], tr.values[0, lo:hi], tr.valid[lo:hi], tr.fps)
    own = load_traces(paths[method_cls.roi_scheme]).values if method_cls.roi_scheme in paths else tr.values
    pulse = method_pulse(method_cls, own[:, lo:hi], tr.fps, settings)
    ref = reference(rec, t0, t1, settings)
    frames = read_frames(rec.frames, choose_frames(tr.valid, lo, hi, n_frames), rec.id)
    points = _landmarks(rec, lm_cls, landmarker, frames)
    out_dir = Path(out) if out else Path("hrbench-inspect") / f"{safe_name(dataset)}-{safe_name(rec.id)}"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = InspectResult(
        out_dir=out_dir,
        frames_png=frames_figure(rec, tr, frames, points, out_dir / "frames.png"),
        signals_png=signals_figure(rec, span, pulse, ref, method, settings, out_dir / "signals.png"),
        summary=out_dir / "summary.txt", recording_id=rec.id, fps=tr.fps, n_frames=tr.n_frames, span=(t0, t1),
        lost_fraction=float(1.0 - span.valid.mean()), hr_pulse=pulse.hr, hr_ref=ref.hr, shown_frames=sorted(frames),
    )
    inspected = Inspected(rec, tr, lo, hi, method, pulse, ref, landmarker, str(getattr(lm_cls, "version", "1")),
                          paths[SIGNAL_SCHEME], points)
    write_summary(result, inspected)
    return result
