"""See the ROI: one recording's face regions, signals and heart rates, drawn.

Why this exists: when a method gets one video badly wrong, the number alone
does not say whether the *face* was lost or mis-framed, the *signal* carries
no pulse (motion, flicker, dark skin, a tiny face), or the *estimator* picked
the wrong peak.  ``hrbench inspect`` writes three files that answer that at a
glance:

* ``frames.png`` -- a few frames spread over the span, the 68 landmarks and
  every built-in ROI scheme's regions (the ``face_skin`` mask with eyes and
  mouth cut out, SynRhythm's 10 x 20 cheek grid, the aligned-face 5 x 5
  blocks), one row per scheme; frames where the run lost the face are marked.
* ``signals.png`` -- the raw mean-RGB ``face_skin`` trace, the method's pulse
  and the ground truth over the same span, each next to its in-band spectrum
  with the estimated heart rates marked.
* ``summary.txt`` -- the numbers behind the figures.

What it shows is what the benchmark used: the traces are read through the
same cache as ``hrbench run`` (:func:`hrbench.traces.extract_and_cache` with
the registry's landmarker; extracted and cached on first use), heart rates
come from :mod:`hrbench.hr` with the protocol's settings, and the reference
is read by :func:`hrbench.hr.signal_hr` exactly as the runner reads it.  Only
the few frames shown are decoded again, and only they are given to the
landmarker (each on its own, so a face the run *tracked* may occasionally
not be re-detected on a lone frame; the figure says so when it happens).

The region geometry is recomputed here from the scheme objects
(:meth:`CheekGrid.box`, :meth:`FaceGrid.affine`) and, for ``face_skin``, from
the same landmark rule as :meth:`FaceSkin.measure`; the tests check that the
drawn regions average to what the schemes measure, so a change to
:mod:`hrbench.roi` that is not mirrored here fails them.
"""

from __future__ import annotations

import difflib
import inspect as _pyinspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from scipy import signal as sps  # noqa: E402

from . import hr as hrmod  # noqa: E402
from . import landmarks as lm  # noqa: E402
from .errors import ConfigError, HrbenchError, RecordingError  # noqa: E402
from .fsutil import cache_dir  # noqa: E402
from .hr import HRSettings, signal_hr  # noqa: E402
from .plugins import Registry, get_registry  # noqa: E402
from .recording import FrameSource, Recording, Signal  # noqa: E402
from .roi import CheekGrid, FaceGrid, _clip_box  # noqa: E402
from .traces import Traces, extract_and_cache, load_traces  # noqa: E402

#: The scheme whose mean RGB feeds the classic methods, and the one shown in signals.png.
SIGNAL_SCHEME = "face_skin"
#: PNGs carry no software/timestamp metadata: the same inputs give the same bytes.
_META = {"Software": None}
#: How many valid ids an "unknown recording" error lists.
N_SUGGEST = 5
_COLOURS = {"face_skin": "#ffd21f", "cheek_grid": "#22d3ee", "face_grid": "#f472b6", "lost": "#e11d48"}


# ---------------------------------------------------------------------------
# options and results


@dataclass(frozen=True)
class InspectResult:
    """Paths written and the numbers in the summary (NaN where unavailable)."""

    out_dir: Path
    frames_png: Path
    signals_png: Path
    summary: Path
    recording_id: str
    fps: float
    n_frames: int
    span: tuple[float, float]
    lost_fraction: float
    hr_pulse: float
    hr_ref: float
    shown_frames: list[int] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [self.frames_png, self.signals_png, self.summary]


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


# ---------------------------------------------------------------------------
# finding the recording


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
        f"unknown recording {recording_id!r} in dataset {dataset} ({len(ids)} recordings); "
        f"e.g. {', '.join(shown)}"
    )


# ---------------------------------------------------------------------------
# region geometry (image coordinates: pixel centre j at j, as imshow draws it)


def face_skin_polygons(pts: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The ``face_skin`` outline and its holes (eyes, outer lips), as :class:`FaceSkin` fills them.

    Same rule as :meth:`hrbench.roi.FaceSkin.measure`: the jaw line closed
    over the brows raised by 40 % of the brow-to-nose-tip height.
    """
    p = np.asarray(pts, dtype=np.float32)
    brows = np.concatenate([p[lm.RIGHT_BROW], p[lm.LEFT_BROW]])
    lift = 0.4 * (p[33, 1] - brows[:, 1].mean())
    forehead = brows[::-1] - np.array([0.0, lift], dtype=np.float32)
    outline = np.concatenate([p[lm.JAW], forehead])
    holes = [p[lm.RIGHT_EYE], p[lm.LEFT_EYE], p[48:60]]
    return outline, holes


def face_skin_mask(shape: tuple[int, ...], pts: np.ndarray | None) -> np.ndarray:
    """Boolean ``(H, W)`` mask of the pixels ``face_skin`` averages (whole frame without landmarks)."""
    h, w = shape[:2]
    if pts is None:
        return np.ones((h, w), bool)
    outline, holes = face_skin_polygons(pts)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
    for hole in holes:
        cv2.fillPoly(mask, [np.round(hole).astype(np.int32)], 0)
    return mask.astype(bool)


def cheek_grid_nodes(shape: tuple[int, ...], pts: np.ndarray | None) -> np.ndarray:
    """``(rows + 1, cols + 1, 2)`` corners of the cheek-grid blocks in the frame.

    The scheme crops the integer box of :meth:`CheekGrid.box` and resizes it,
    so block edges fall at even fractions of that box's pixel edges.
    """
    g = CheekGrid()
    h, w = shape[:2]
    x0, y0, x1, y1 = (0, 0, w, h) if pts is None else g.box(pts)
    xa, ya, xb, yb = _clip_box(x0, y0, x1, y1, w, h)
    xs = xa - 0.5 + (xb - xa) * np.arange(g.cols + 1) / g.cols
    ys = ya - 0.5 + (yb - ya) * np.arange(g.rows + 1) / g.rows
    return np.stack(np.meshgrid(xs, ys), axis=-1)


def face_grid_nodes(shape: tuple[int, ...], pts: np.ndarray | None) -> np.ndarray:
    """``(rows + 1, cols + 1, 2)`` corners of the aligned-face blocks, mapped back into the frame."""
    g = FaceGrid()
    h, w = shape[:2]
    edges = -0.5 + (g.size / g.rows) * np.arange(g.rows + 1)
    if pts is None:  # the whole frame resized to size x size
        return np.stack(np.meshgrid(-0.5 + w * np.arange(g.cols + 1) / g.cols, -0.5 + h * np.arange(g.rows + 1) / g.rows), axis=-1)
    inv = cv2.invertAffineTransform(g.affine(pts)).astype(np.float64)
    uv = np.stack(np.meshgrid(edges, edges), axis=-1)
    return uv @ inv[:, :2].T + inv[:, 2]


# ---------------------------------------------------------------------------
# frames and traces


def read_frames(source: FrameSource, indices: list[int], recording_id: str | None = None) -> dict[int, np.ndarray]:
    """Decode only the frames at ``indices`` (RGB uint8), numbered as :func:`hrbench.video.iter_frames` numbers them.

    Videos are stepped with ``grab()`` (no colour conversion of skipped
    frames) rather than seeking, because a seek lands on key frames in many
    codecs and would show a different frame than the trace index says.
    """
    wanted = sorted(set(indices))
    out: dict[int, np.ndarray] = {}
    if not wanted:
        return out
    if source.kind == "images":
        files = source.image_files()
        for i in wanted:
            if i >= len(files):
                continue
            img = cv2.imread(str(files[i]), cv2.IMREAD_COLOR)
            if img is None:
                raise RecordingError("cannot decode image", files[i], recording_id)
            out[i] = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return out
    if not source.path.is_file():
        raise RecordingError("video file not found", source.path, recording_id)
    cap = cv2.VideoCapture(str(source.path))
    if not cap.isOpened():
        raise RecordingError("cannot open video (corrupt file or unsupported codec)", source.path, recording_id)
    try:
        todo = set(wanted)
        for i in range(wanted[-1] + 1):
            if not cap.grab():
                break
            if i in todo:
                ok, frame = cap.retrieve()
                if ok:
                    out[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    return out


def choose_frames(valid: np.ndarray, lo: int, hi: int, n: int) -> list[int]:
    """``n`` frame indices spread evenly over ``[lo, hi)``; one lands in a face-lost gap if any.

    Why the swap: a lost face is the first thing to rule out, and evenly
    spaced frames easily step over a short gap.  The shown frame nearest to
    the middle of the longest gap is moved into it.
    """
    n = max(1, min(n, hi - lo))
    idx = [lo + int((k + 0.5) * (hi - lo) / n) for k in range(n)]
    lost = ~valid[lo:hi]
    if lost.any() and valid[idx].all():
        edges = np.flatnonzero(np.diff(np.r_[0, lost.astype(np.int8), 0]))
        starts, ends = edges[::2], edges[1::2]
        k = int(np.argmax(ends - starts))
        mid = lo + int((starts[k] + ends[k] - 1) // 2)
        j = int(np.argmin([abs(i - mid) for i in idx]))
        idx[j] = mid
    return sorted(set(idx))


def fill_gaps(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Linear interpolation over lost frames along axis 0 (nearest value at the ends)."""
    x = np.asarray(x, dtype=np.float64).copy()
    ok = valid & np.isfinite(x).reshape(len(x), -1).all(axis=1)
    if ok.all() or not ok.any():
        return x
    t = np.arange(len(x))
    for c in range(x.shape[1]):
        x[~ok, c] = np.interp(t[~ok], t[ok], x[ok, c])
    return x


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where ``mask`` is True."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


# ---------------------------------------------------------------------------
# heart rate (the project's estimator, whichever version of hrbench.hr is installed)


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        return name in _pyinspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def estimate_hr(x: np.ndarray, fs: float, settings: HRSettings, filtered: bool = False) -> float:
    """HR (bpm) of one pulse signal by the project's estimator (``hr.estimate_hr`` when present)."""
    fn = getattr(hrmod, "estimate_hr", None) or hrmod.spectral_hr
    kw = {"filtered": filtered} if filtered and _accepts(fn, "filtered") else {}
    return float(np.asarray(fn(np.asarray(x, dtype=np.float64), fs, settings, **kw)))


def hr_spectrum(x: np.ndarray, fs: float, settings: HRSettings, filtered: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """In-band ``(bpm, power)`` as the estimator sees it (``hr.hr_spectrum`` when present).

    The fallback is the single zero-padded Hann periodogram of
    :func:`hrbench.hr.spectral_hr`'s original form.
    """
    fn = getattr(hrmod, "hr_spectrum", None)
    x = np.asarray(x, dtype=np.float64)
    if fn is not None:
        kw = {"filtered": filtered} if filtered and _accepts(fn, "filtered") else {}
        bpm, power = fn(x, fs, settings, **kw)
        return np.asarray(bpm), np.asarray(power)
    if x.shape[-1] < 8:
        raise ValueError("signal too short for spectral HR estimation")
    x = sps.detrend(x, axis=-1)
    if not filtered:
        x = hrmod.bandpass(x, fs, settings.band_hz, settings.filter_order)
    T = x.shape[-1]
    nfft = int(2 ** np.ceil(np.log2(max(T, fs * 60.0 / settings.resolution_bpm))))
    spec = np.abs(np.fft.rfft(x * np.hanning(T), n=nfft, axis=-1)) ** 2
    freqs = np.fft.rfftfreq(nfft, d=1.0 / fs) * 60.0
    band = (freqs >= settings.band_bpm[0]) & (freqs <= settings.band_bpm[1])
    return freqs[band], spec[..., band]


# ---------------------------------------------------------------------------
# the command


@dataclass
class _Pulse:
    values: np.ndarray | None
    hr: float
    note: str


@dataclass
class _Reference:
    times: np.ndarray
    values: np.ndarray
    fs: float
    kind: str
    hr: float
    note: str


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
    from .protocol import find_protocol

    reg = registry or get_registry()
    if n_frames < 1:
        raise ConfigError(f"--frames must be at least 1, got {n_frames}")
    settings = find_protocol(protocol, reg.protocol_dirs).hr
    method_cls = reg.method(method)
    lm_cls = reg.landmarker(landmarker)
    a, b = parse_span(seconds)
    rec = find_recording(reg, dataset, recording_id, data_root)
    cache_root = cache_root or cache_dir()

    owner = reg.owner.get(("landmarkers", landmarker))
    trace_path = Path(extract_and_cache(rec, [SIGNAL_SCHEME], landmarker, cache_root, owner)[SIGNAL_SCHEME])
    tr = load_traces(trace_path)

    # -- span ---------------------------------------------------------------
    dt = 1.0 / tr.fps
    t_end = float(tr.times[-1] + dt)
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
    valid = tr.valid
    lost_frac = float(1.0 - valid[lo:hi].mean())

    # -- signals ------------------------------------------------------------
    rgb = tr.values[0, lo:hi]  # (T, 3), NaN where the face was lost
    times = tr.times[lo:hi]
    pulse = _method_pulse(method_cls, rgb, valid[lo:hi], tr.fps, settings)
    ref = _reference(rec, t0, t1, settings)

    # -- frames -------------------------------------------------------------
    shown = choose_frames(valid, lo, hi, n_frames)
    frames = read_frames(rec.frames, shown, rec.id)
    points: dict[int, np.ndarray | None] = {}
    if rec.roi == "full-frame":
        points = {i: None for i in frames}
    else:
        ok, why = lm_cls.available()
        if not ok:
            raise HrbenchError(f"landmarker {landmarker} unavailable: {why}")
        finder = lm_cls()
        for i, f in frames.items():
            finder.reset()  # each shown frame on its own: no tracking state from another time
            points[i] = finder(f)

    out_dir = Path(out) if out else Path("hrbench-inspect") / f"{safe_name(dataset)}-{safe_name(rec.id)}"
    out_dir.mkdir(parents=True, exist_ok=True)
    frames_png = _frames_figure(rec, tr, frames, points, out_dir / "frames.png")
    signals_png = _signals_figure(rec, tr, times, rgb, valid[lo:hi], pulse, ref, method, settings, out_dir / "signals.png")
    result = InspectResult(
        out_dir=out_dir,
        frames_png=frames_png,
        signals_png=signals_png,
        summary=out_dir / "summary.txt",
        recording_id=rec.id,
        fps=tr.fps,
        n_frames=tr.n_frames,
        span=(t0, t1),
        lost_fraction=lost_frac,
        hr_pulse=pulse.hr,
        hr_ref=ref.hr,
        shown_frames=sorted(frames),
    )
    _write_summary(result, rec, tr, lo, hi, method, pulse, ref, landmarker, lm_cls, trace_path, points)
    return result


def _method_pulse(method_cls: type, rgb: np.ndarray, valid: np.ndarray, fps: float, settings: HRSettings) -> _Pulse:
    """The method's pulse over the span and its HR, or why there is none."""
    name = getattr(method_cls, "name", "?")
    scheme = getattr(method_cls, "roi_scheme", SIGNAL_SCHEME)
    pulse_fn = getattr(method_cls, "pulse", None)
    if pulse_fn is None or not callable(pulse_fn) or getattr(pulse_fn, "__isabstractmethod__", False):
        return _Pulse(None, float("nan"), f"method {name} has no pulse(): it outputs heart rates only (e.g. a trained network), so there is no waveform to show")
    if scheme != SIGNAL_SCHEME:
        return _Pulse(None, float("nan"), f"method {name} reads {scheme} traces, not {SIGNAL_SCHEME}; its pulse is not shown")
    if not valid.any():
        return _Pulse(None, float("nan"), "the face was lost in every frame of the span")
    filled = fill_gaps(rgb, valid)
    try:
        m = method_cls()
        x = np.asarray(m.pulse(filled[None], float(fps), settings), dtype=np.float64)[0]
    except HrbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - a plugin's failure is shown, not fatal to the picture
        return _Pulse(None, float("nan"), f"method {name}: pulse() failed ({type(exc).__name__}: {exc})")
    if not np.isfinite(x).all():
        return _Pulse(x, float("nan"), f"method {name}: pulse is not finite")
    hr = estimate_hr(x, fps, settings, filtered=bool(method_cls.pulse_prefiltered))
    return _Pulse(x, hr, "")


def _reference(rec: Recording, t0: float, t1: float, settings: HRSettings) -> _Reference:
    """The ground truth over the span and the runner's reading of its HR (or why it failed)."""
    sig: Signal = rec.load_ground_truth()
    t = sig.sample_times()
    sel = (t >= t0) & (t < t1)
    fs = sig.fs if sig.times is None else (len(t) - 1) / max(t[-1] - t[0], 1e-9)
    try:
        hr, note = signal_hr(sig, t0, t1, settings), ""
    except ValueError as exc:
        hr, note = float("nan"), f"reference HR unavailable: {exc}"
    return _Reference(t[sel], np.asarray(sig.values, dtype=np.float64)[sel], float(fs), sig.kind, float(hr), note)


# ---------------------------------------------------------------------------
# figures


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata=_META)
    plt.close(fig)
    return path


def _zoom_box(shape: tuple[int, ...], pts: np.ndarray | None) -> tuple[float, float, float, float]:
    """The face and every region around it, with a margin (the whole frame without landmarks)."""
    h, w = shape[:2]
    if pts is None:
        return -0.5, w - 0.5, -0.5, h - 0.5
    outline, _ = face_skin_polygons(pts)
    allp = np.concatenate([outline, pts, face_grid_nodes(shape, pts).reshape(-1, 2)])
    x0, y0 = allp.min(axis=0)
    x1, y1 = allp.max(axis=0)
    m = 0.12 * max(x1 - x0, y1 - y0)
    return x0 - m, x1 + m, y0 - m, y1 + m


def _grid(ax: Any, nodes: np.ndarray, colour: str, lw: float) -> None:
    for row in nodes:
        ax.plot(row[:, 0], row[:, 1], color=colour, lw=lw)
    for col in nodes.transpose(1, 0, 2):
        ax.plot(col[:, 0], col[:, 1], color=colour, lw=lw)


def _frames_figure(
    rec: Recording, tr: Traces, frames: dict[int, np.ndarray], points: dict[int, np.ndarray | None], path: Path
) -> Path:
    rows = ("frame", "face_skin", "cheek_grid", "face_grid")
    idx = sorted(frames)
    n = max(1, len(idx))
    fig, axes = plt.subplots(len(rows), n, figsize=(2.9 * n, 2.5 * len(rows)), squeeze=False)
    full = rec.roi == "full-frame"
    for c, i in enumerate(idx):
        f = frames[i]
        pts = points.get(i)
        lost = not bool(tr.valid[i])
        h, w = f.shape[:2]
        for r, row in enumerate(rows):
            ax = axes[r, c]
            ax.imshow(f, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"frame {i} · {tr.times[i]:.2f} s", fontsize=9, color=_COLOURS["lost"] if lost else "black")
            if c == 0:
                ax.set_ylabel(row if row != "frame" else "frame + landmarks", fontsize=9)
            have = pts is not None or full
            if lost:
                for s in ax.spines.values():
                    s.set_edgecolor(_COLOURS["lost"])
                    s.set_linewidth(3)
                if r == 0:
                    ax.text(0.5, 0.5, "FACE LOST\n(in the run's traces)", transform=ax.transAxes, ha="center", va="center",
                            color="white", fontsize=10, weight="bold", bbox={"facecolor": _COLOURS["lost"], "alpha": 0.85})
            if not have:
                if r > 0 or not lost:
                    msg = "no face found" if lost else "face tracked in the run,\nnot re-detected on this lone frame"
                    ax.text(0.5, 0.08 if r == 0 else 0.5, msg, transform=ax.transAxes, ha="center", va="center", fontsize=7,
                            color="white", bbox={"facecolor": "black", "alpha": 0.6})
                continue
            if r == 0:
                if pts is not None:
                    ax.scatter(pts[:, 0], pts[:, 1], s=max(2.0, 6.0 * min(1.0, (pts[16, 0] - pts[0, 0]) / 150.0)), c="red", linewidths=0)
                    outline, _ = face_skin_polygons(pts)
                    ring = np.vstack([outline, outline[:1]])
                    ax.plot(ring[:, 0], ring[:, 1], color=_COLOURS["face_skin"], lw=1)
                    x0, x1, y0, y1 = _zoom_box(f.shape, pts)
                    ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], color="white", lw=0.8, ls="--")
                elif full:
                    ax.text(0.5, 0.08, "full-frame: the whole frame is the ROI", transform=ax.transAxes,
                            ha="center", fontsize=6, color="white", bbox={"facecolor": "black", "alpha": 0.6})
                ax.set_xlim(-0.5, w - 0.5)
                ax.set_ylim(h - 0.5, -0.5)
                continue
            x0, x1, y0, y1 = _zoom_box(f.shape, pts)
            if row == "face_skin":
                mask = face_skin_mask(f.shape, pts)
                tint = np.zeros((h, w, 4), np.float32)
                tint[..., :3] = to_rgb(_COLOURS["face_skin"])
                tint[..., 3] = 0.35 * mask
                ax.imshow(tint, interpolation="nearest")
                if pts is not None:
                    outline, holes = face_skin_polygons(pts)
                    for poly in (outline, *holes):
                        ring = np.vstack([poly, poly[:1]])
                        ax.plot(ring[:, 0], ring[:, 1], color=_COLOURS["face_skin"], lw=0.8)
                ax.text(0.02, 0.02, f"{int(mask.sum())} px averaged", transform=ax.transAxes, fontsize=7, color="white",
                        bbox={"facecolor": "black", "alpha": 0.5})
            elif row == "cheek_grid":
                _grid(ax, cheek_grid_nodes(f.shape, pts), _COLOURS["cheek_grid"], 0.4)
            else:
                _grid(ax, face_grid_nodes(f.shape, pts), _COLOURS["face_grid"], 0.8)
            if pts is not None:
                ax.scatter(pts[:, 0], pts[:, 1], s=3, c="red", linewidths=0)
            ax.set_xlim(x0, x1)
            ax.set_ylim(y1, y0)
    fig.suptitle(
        f"{rec.dataset} · {rec.id}: regions each ROI scheme averages "
        f"(landmarks re-detected on each shown frame; red = face lost in the run's traces)",
        fontsize=10,
    )
    fig.tight_layout()
    return _save(fig, path)


def _shade_lost(ax: Any, times: np.ndarray, valid: np.ndarray, dt: float) -> None:
    for s, e in _runs(~valid):
        ax.axvspan(times[s], times[e - 1] + dt, color=_COLOURS["lost"], alpha=0.18, lw=0)


def _mark(ax: Any, pulse_hr: float, ref_hr: float) -> None:
    if np.isfinite(ref_hr):
        ax.axvline(ref_hr, color="k", ls="--", lw=1.2, label=f"reference {ref_hr:.1f}")
    if np.isfinite(pulse_hr):
        ax.axvline(pulse_hr, color="#7c3aed", ls="-", lw=1.2, label=f"pulse {pulse_hr:.1f}")
    if np.isfinite(ref_hr) or np.isfinite(pulse_hr):
        ax.legend(fontsize=7, loc="upper right")


def _note(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=8, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _signals_figure(
    rec: Recording,
    tr: Traces,
    times: np.ndarray,
    rgb: np.ndarray,
    valid: np.ndarray,
    pulse: _Pulse,
    ref: _Reference,
    method: str,
    settings: HRSettings,
    path: Path,
) -> Path:
    fs = tr.fps
    dt = 1.0 / fs
    band = settings.band_bpm
    fig, axes = plt.subplots(3, 2, figsize=(12, 8.5), gridspec_kw={"width_ratios": [2.2, 1]})
    filled = fill_gaps(rgb, valid)
    mean = np.nanmean(np.where(np.isfinite(rgb), rgb, np.nan), axis=0) if valid.any() else np.ones(3)
    rel = 100.0 * (rgb / np.maximum(mean, 1e-9) - 1.0)

    # Row 0: raw face_skin mean RGB, each channel relative to its own mean.
    ax, sx = axes[0]
    for k, (name, col) in enumerate(zip("RGB", ("#dc2626", "#16a34a", "#2563eb"), strict=True)):
        ax.plot(times, rel[:, k], color=col, lw=0.8, label=f"{name} (mean {mean[k]:.1f})")
    _shade_lost(ax, times, valid, dt)
    ax.set_ylabel("change from mean (%)")
    lost_pct = 100.0 * (1.0 - valid.mean())
    ax.set_title(f"{SIGNAL_SCHEME} mean RGB, raw (face lost in {lost_pct:.1f} % of frames, shaded)", fontsize=9)
    ax.legend(fontsize=7, loc="upper right", ncol=3)
    if valid.any():
        try:
            bpm, power = hr_spectrum((filled / np.maximum(mean, 1e-9)).T, fs, settings)
            for k, col in enumerate(("#dc2626", "#16a34a", "#2563eb")):
                sx.plot(bpm, power[k] / max(power[k].max(), 1e-30), color=col, lw=0.8)
        except ValueError as exc:
            _note(sx, str(exc))
    _mark(sx, pulse.hr, ref.hr)
    sx.set_title("RGB spectra (each scaled to its peak)", fontsize=9)

    # Row 1: the method's pulse.
    ax, sx = axes[1]
    if pulse.values is not None and np.isfinite(pulse.values).all():
        x = pulse.values
        z = (x - x.mean()) / max(x.std(), 1e-12)
        bp = hrmod.bandpass(sps.detrend(x), fs, settings.band_hz, settings.filter_order)
        ax.plot(times, z, color="0.7", lw=0.7, label="pulse()")
        ax.plot(times, bp / max(bp.std(), 1e-12), color="#7c3aed", lw=0.9, label=f"band-passed {band[0]:g}-{band[1]:g} bpm")
        _shade_lost(ax, times, valid, dt)
        ax.legend(fontsize=7, loc="upper right")
        ax.set_ylabel("z-score")
        bpm, power = hr_spectrum(x, fs, settings)
        sx.plot(bpm, power / max(power.max(), 1e-30), color="#7c3aed", lw=1)
        ax.set_title(f"{method} pulse · HR {pulse.hr:.1f} bpm", fontsize=9)
    else:
        _note(ax, pulse.note or "no pulse")
        ax.set_title(f"{method} pulse", fontsize=9)
    _mark(sx, pulse.hr, ref.hr)
    sx.set_title("pulse spectrum", fontsize=9)

    # Row 2: ground truth.
    ax, sx = axes[2]
    if len(ref.values) >= 2:
        v = ref.values
        if ref.kind == "hr":
            ax.plot(ref.times, v, color="k", lw=1)
            ax.set_ylabel("bpm")
            sx.hist(v, bins=np.arange(band[0], band[1] + 2, 2), color="0.5")
            sx.set_title("reference HR values", fontsize=9)
        else:
            ax.plot(ref.times, (v - v.mean()) / max(v.std(), 1e-12), color="k", lw=0.8)
            ax.set_ylabel("z-score")
            if ref.kind == "ecg":
                peaks = hrmod.r_peaks(v, ref.fs, band[1])
                zv = (v - v.mean()) / max(v.std(), 1e-12)
                ax.plot(ref.times[peaks], zv[peaks], "v", color="#dc2626", ms=4, label="R-peaks")
                ax.legend(fontsize=7, loc="upper right")
                if len(peaks) > 1:
                    sx.hist(60.0 * ref.fs / np.diff(peaks), bins=np.arange(band[0], band[1] + 2, 2), color="0.5")
                sx.set_title("beat-to-beat rates (ECG)", fontsize=9)
            else:
                try:
                    bpm, power = hr_spectrum(v, ref.fs, settings)
                    sx.plot(bpm, power / max(power.max(), 1e-30), color="k", lw=1)
                except ValueError as exc:
                    _note(sx, str(exc))
                sx.set_title("reference spectrum", fontsize=9)
        ref_txt = f"HR {ref.hr:.1f} bpm" if np.isfinite(ref.hr) else ref.note
        ax.set_title(f"ground truth ({ref.kind}) · {ref_txt}", fontsize=9)
    else:
        _note(ax, ref.note or "the ground truth has no samples in this span")
        ax.set_title(f"ground truth ({ref.kind})", fontsize=9)
    _mark(sx, pulse.hr, ref.hr)
    for a in axes[:, 0]:
        a.set_xlim(times[0], times[-1] + dt)
    axes[2, 0].set_xlabel("time (s, video clock)")
    for a in axes[:, 1]:
        a.set_xlim(*band)
    axes[2, 1].set_xlabel("bpm")
    err = pulse.hr - ref.hr
    head = f"{rec.dataset} · {rec.id} · {times[0]:.1f}-{times[-1] + dt:.1f} s · {method}"
    if np.isfinite(err):
        head += f" · error {err:+.1f} bpm"
    fig.suptitle(head, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


# ---------------------------------------------------------------------------
# summary


def _fmt_hr(x: float) -> str:
    return f"{x:.2f} bpm" if np.isfinite(x) else "n/a"


def _write_summary(
    res: InspectResult,
    rec: Recording,
    tr: Traces,
    lo: int,
    hi: int,
    method: str,
    pulse: _Pulse,
    ref: _Reference,
    landmarker: str,
    lm_cls: type,
    trace_path: Path,
    points: dict[int, np.ndarray | None],
) -> Path:
    t0, t1 = res.span
    lost = ~tr.valid[lo:hi]
    gaps = _runs(lost)
    longest = max(gaps, key=lambda g: g[1] - g[0]) if gaps else None
    lines = [
        f"hrbench inspect: {rec.dataset} / {rec.id}",
        f"recording     {rec.id} (subject {rec.subject}, session {rec.session or '-'})",
        f"source        {rec.frames.path}",
        f"fps           {tr.fps:.3f}",
        f"frames        {tr.n_frames} ({tr.n_frames / tr.fps:.2f} s)",
        f"span          {t0:.2f}-{t1:.2f} s ({hi - lo} frames)",
        f"roi           {rec.roi}; traces from {landmarker}@{getattr(lm_cls, 'version', '1')}" if rec.roi == "face" else f"roi           {rec.roi}",
        f"trace cache   {trace_path}",
        f"face lost     {100.0 * res.lost_fraction:.1f} % of the span ({int(lost.sum())} frames; "
        f"{100.0 * (1.0 - tr.valid.mean()):.1f} % of the recording)",
    ]
    if longest is not None:
        s, e = longest
        lines.append(f"longest gap   {(e - s) / tr.fps:.2f} s from {tr.times[lo + s]:.2f} s")
    lines += [
        f"method        {method}",
        f"pulse HR      {_fmt_hr(pulse.hr)}" + (f"  ({pulse.note})" if pulse.note else ""),
        f"reference HR  {_fmt_hr(ref.hr)}  ({ref.kind})" + (f"  ({ref.note})" if ref.note else ""),
    ]
    if np.isfinite(res.hr_pulse) and np.isfinite(res.hr_ref):
        lines.append(f"error         {res.hr_pulse - res.hr_ref:+.2f} bpm")
    not_found = [i for i, p in points.items() if p is None and tr.valid[i] and rec.roi == "face"]
    lines.append(f"shown frames  {', '.join(str(i) for i in res.shown_frames)}")
    if not_found:
        lines.append(f"              not re-detected on their own: {', '.join(map(str, not_found))}")
    lines += [
        "files",
        f"  frames.png  {res.frames_png}",
        f"  signals.png {res.signals_png}",
        f"  summary.txt {res.summary}",
        "",
    ]
    res.summary.write_text("\n".join(lines))
    return res.summary
