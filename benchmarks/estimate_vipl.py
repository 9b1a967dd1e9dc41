"""How long a full VIPL-HR board takes on N nodes, from costs measured here.

    python benchmarks/estimate_vipl.py [--store results/hrbench.sqlite] [--cores 16] [--nodes 1,2,4,8,16]
    python benchmarks/estimate_vipl.py --reuse          # the last measurements (JSON), no new timing
    python benchmarks/estimate_vipl.py --data-root /data/VIPL-HR   # frame counts of your copy

A board: every method of the store x the within-database protocols
(``random``, ``subject_exclusive``, ``vipl_hr_5fold``) x 3 training seeds
(supervised methods; unsupervised ones have no seed to vary), on the 2,378
visible-light videos of VIPL-HR.

Measured (written to ``--json``, default ``<cache>/estimate_vipl.json``):

* **extraction**: CPU seconds per frame of :func:`hrbench.traces.traces.extract`
  (decode + landmarks + every built-in scheme, one thread, as one worker
  runs it) and of plain decoding, on the first ``--seconds`` of an embedded
  640x480 video; the landmarker's part is taken as independent of the
  resolution and the decode part as proportional to the pixels;
* **training / prediction**: each method's fold fit and predict times from
  the results store, fitted as ``a + b * clips`` (least squares over its
  folds -- the store's boards have 311 to 6,400 training clips), at the
  thread count the store recorded.  A method whose default profile caps the
  training clips per fold (``max_train_maps``: the deep methods train on at
  most 600) is costed at ``min(clips, cap)``: without the cap, a slope fitted
  on a narrow range of clip counts extrapolated to a VIPL-HR fold's tens of
  thousands of clips would turn measurement noise into hours.

Assumed, and printed (override them): the VIPL-HR mix of cameras -- a third
each of 640x480 @ 30 fps, 960x720 @ 25 fps and 1920x1080 @ 30 fps -- and the
mean video length ``--video-seconds``; ``--data-root`` replaces both by the
frame counts and sizes of your copy's headers.  A node has ``--cores``
CPUs; folds are Ray tasks of the store's thread count, extraction tasks one
CPU each (docs/scale.md).  Not modelled: I/O (a shared filesystem that
cannot feed N x cores decoders is the first limit), GPUs (measure a
``--device cuda`` run into a store and point ``--store`` at it).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np

VIPL_VIDEOS = 2378
PROTOCOLS = {"random": 3, "subject_exclusive": 3, "vipl_hr_5fold": 5}  # name -> folds (protocols/*.toml)
CLIPS_PER_VIDEO = 20  # [clips] per_video of those protocols
SEEDS = 3
ASSUMED_MIX = [((640, 480), 30.0), ((960, 720), 25.0), ((1920, 1080), 30.0)]


def measure_extraction(seconds: float) -> dict[str, float]:
    """CPU seconds per frame: extraction and decode alone, one thread, first ``seconds`` of a 640x480 video."""
    import cv2

    from hrbench.plugin.host import get_registry
    from hrbench.plugin.roi import ROI_SCHEMES
    from hrbench.run.threads import apply_threads
    from hrbench.traces import traces

    apply_threads(1)
    cv2.setNumThreads(1)
    reg = get_registry()
    adapter = reg.dataset("synthetic")()
    root = adapter.default_root()
    adapter.prepare(root)
    rec = next(r for r in adapter.scan(root) if r.frames.kind == "video")
    limit = int(round(seconds * rec.fps))
    real_iter, real_expected = traces.iter_frames, traces._expected_frames
    traces.iter_frames = lambda *a, **k: itertools.islice(real_iter(*a, **k), limit)
    traces._expected_frames = lambda r: min(limit, real_expected(r))
    try:
        lm = reg.landmarker("mediapipe_litert")()
        traces.extract(rec, sorted(ROI_SCHEMES), lm)  # warm-up
        ext, dec = [], []
        for _ in range(3):
            cap = cv2.VideoCapture(str(rec.frames.path))
            c0 = time.process_time()
            n = 0
            while n < limit and cap.read()[0]:
                n += 1
            dec.append((time.process_time() - c0) / n)
            cap.release()
            c0 = time.process_time()
            traces.extract(rec, sorted(ROI_SCHEMES), lm)
            ext.append((time.process_time() - c0) / n)
    finally:
        traces.iter_frames, traces._expected_frames = real_iter, real_expected
    h, w = cv2.VideoCapture(str(rec.frames.path)).read()[1].shape[:2]
    return {"extract_cpu_s_per_frame": min(ext), "decode_cpu_s_per_frame": min(dec), "pixels": float(w * h),
            "load_average": os.getloadavg()[0]}


def _is_default(cls: type, params_json: str) -> bool:
    """Whether a run's stored parameters are the method's default-profile parameters today."""
    return json.loads(params_json or "{}") == _default_identity(cls)


@functools.cache
def _default_identity(cls: type) -> dict:
    """The parameters a default-profile run of ``cls`` stores today (built once per method)."""
    from hrbench.run.plan import identity_params
    from hrbench.run.runner import RunOptions, validated_params

    today = identity_params(cls, validated_params(RunOptions(methods=[cls.name]), {cls.name: cls})[cls.name][1])
    return json.loads(json.dumps(today, default=str))


def fold_costs(store: Path) -> dict[str, dict[str, float]]:
    """Per method: fit and predict seconds as ``a + b * n`` over its stored folds, and the threads used."""
    from hrbench.plugin.host import get_registry

    reg = get_registry()
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    raw = con.execute(
        "SELECT r.method, f.n_train_clips, f.fit_seconds, f.n_test_videos, f.predict_seconds, r.versions_json, "
        "r.params_json FROM folds f JOIN runs r USING (run_key) WHERE r.complete = 1 AND r.profile = 'default'"
    ).fetchall()
    con.close()
    # Only runs made with today's defaults where the store has them: a store keeps the rows of
    # settings since replaced (e.g. svr before its time-scaled copies, which cost more to fit).
    current = {m for m, *_, params in raw if m in reg.methods and _is_default(reg.method(m), params)}
    raw = [r for r in raw if r[0] not in current or _is_default(reg.method(r[0]), r[6])]
    # Threads the fit ran with: the run's recorded thread plan (older runs: 1, unknown).
    rows = [(*r[:5], json.loads(r[5] or "{}").get("thread_plan", {}).get("main_threads", 1)) for r in raw]
    out: dict[str, dict[str, float]] = {}
    for method in sorted({r[0] for r in rows}):
        if method not in reg.methods:
            continue
        m = np.array([r[1:5] for r in rows if r[0] == method], dtype=np.float64)
        threads = max((r[5] for r in rows if r[0] == method), default=0) or 1

        def line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
            if len(np.unique(x)) < 2:
                return float(np.median(y)), 0.0
            b, a = np.polyfit(x, y, 1)
            if b < 0:  # no growth measured: a constant
                return float(np.median(y)), 0.0
            return float(max(a, 0.0)), float(b)

        fa, fb = line(m[:, 0], m[:, 1])
        pa, pb = line(m[:, 2], m[:, 3])
        # A default-profile cap on training clips per fold (deep methods: ``max_train_maps``):
        # a VIPL-HR fold trains on at most that many, so its cost is extrapolated only up to it.
        cap = getattr(reg.method(method).params.get("max_train_maps"), "default", 0) or 0
        out[method] = {"fit_a": fa, "fit_b": fb, "predict_a": pa, "predict_b": pb, "threads": float(threads),
                       "supervised": float(reg.method(method).supervised), "folds_measured": float(len(m)),
                       "train_cap": float(cap)}
    return out


def task_seconds(c: dict[str, float], train_clips: float, test_videos: float) -> float:
    """Wall seconds of one fold task (fit + predict) from a method's :func:`fold_costs` entry."""
    used = min(train_clips, c.get("train_cap") or train_clips)
    fit = (c["fit_a"] + c["fit_b"] * used) if c["supervised"] else 0.0
    return fit + c["predict_a"] + c["predict_b"] * test_videos


def copy_frames(root: Path) -> list[tuple[int, int, float]]:
    """(frames, pixels, fps) of every video of a VIPL-HR copy, from container headers (no decoding)."""
    from hrbench.data.video import probe
    from hrbench.plugin.host import get_registry

    adapter = get_registry().dataset("vipl_hr")()
    out = []
    for rec in adapter.scan(root):
        import cv2

        n, fps = probe(rec.frames)
        cap = cv2.VideoCapture(str(rec.frames.path))
        px = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) * cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        cap.release()
        out.append((n, px, fps or rec.fps))
    return out


def fmt_h(seconds: float) -> str:
    return f"{seconds / 3600:7.1f} h" if seconds >= 3600 else f"{seconds / 60:7.1f} m"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default="results/hrbench.sqlite",
                    help="results store with measured folds (default: %(default)s)")
    ap.add_argument("--json", help="measurements file (default: <cache>/estimate_vipl.json)")
    ap.add_argument("--reuse", action="store_true", help="read the measurements from --json instead of measuring")
    ap.add_argument("--seconds", type=float, default=5.0,
                    help="seconds of video timed for extraction (default: %(default)s)")
    ap.add_argument("--video-seconds", type=float, default=30.0,
                    help="assumed mean VIPL-HR video length (default: %(default)s)")
    ap.add_argument("--data-root", help="a VIPL-HR copy: use its real frame counts and sizes")
    ap.add_argument("--cores", type=int, default=16, help="CPUs per node (default: %(default)s)")
    ap.add_argument("--nodes", default="1,2,4,8,16", help="node counts to estimate (default: %(default)s)")
    args = ap.parse_args()

    from hrbench.fsutil import cache_dir

    jpath = Path(args.json) if args.json else cache_dir() / "estimate_vipl.json"
    if args.reuse:
        meas = json.loads(jpath.read_text())
    else:
        meas = {"extraction": measure_extraction(args.seconds), "folds": fold_costs(Path(args.store)),
                "store": args.store, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
        jpath.parent.mkdir(parents=True, exist_ok=True)
        jpath.write_text(json.dumps(meas, indent=1, sort_keys=True))
    ex = meas["extraction"]
    landmark_part = ex["extract_cpu_s_per_frame"] - ex["decode_cpu_s_per_frame"]
    decode_per_px = ex["decode_cpu_s_per_frame"] / ex["pixels"]

    if args.data_root:
        videos = copy_frames(Path(args.data_root))
        source = f"{len(videos)} videos of {args.data_root} (header frame counts)"
    else:
        per = VIPL_VIDEOS // len(ASSUMED_MIX)
        videos = []
        for k, ((w, h), fps) in enumerate(ASSUMED_MIX):
            count = per + (VIPL_VIDEOS - per * len(ASSUMED_MIX) if k == 0 else 0)
            videos += [(int(args.video_seconds * fps), w * h, fps)] * count
        source = (f"ASSUMED: {VIPL_VIDEOS} videos, a third each of "
                  + ", ".join(f"{w}x{h}@{fps:g}" for (w, h), fps in ASSUMED_MIX) + f", {args.video_seconds:g} s each")
    frames = sum(v[0] for v in videos)
    per_video = [n * (landmark_part + decode_per_px * px) for n, px, _ in videos]
    extract_cpu = sum(per_video)

    n_videos = len(videos)
    fold_rows = []
    fit_cpu = 0.0  # CPU-seconds: wall x threads of each task
    longest_task = 0.0
    for method, c in meas["folds"].items():
        seeds = SEEDS if c["supervised"] else 1
        for proto, k in PROTOCOLS.items():
            train_clips = n_videos * (k - 1) / k * CLIPS_PER_VIDEO
            test_videos = n_videos / k
            task = task_seconds(c, train_clips, test_videos)
            longest_task = max(longest_task, task)
            fit_cpu += seeds * k * task * c["threads"]
            fold_rows.append((method, proto, seeds * k, task))

    print(f"measured {meas['measured_at']} (load average {ex['load_average']:.2f}); store {meas['store']}")
    print(f"extraction: {1e3 * ex['extract_cpu_s_per_frame']:.2f} ms CPU/frame at {int(ex['pixels'])} px "
          f"(decode alone {1e3 * ex['decode_cpu_s_per_frame']:.2f} ms)")
    print(f"videos: {source}; {frames:,} frames")
    print(f"extraction total: {extract_cpu / 3600:.1f} CPU-hours; longest video {max(per_video) / 60:.1f} CPU-minutes")
    print("per fold (fit + predict, wall seconds at the store's threads), largest first:")
    for method, proto, n, task in sorted(fold_rows, key=lambda r: -r[3])[:12]:
        print(f"  {method:22s} {proto:18s} {n:3d} folds x {task:9.1f} s")
    print(f"fits total: {fit_cpu / 3600:.1f} CPU-hours over {sum(r[2] for r in fold_rows)} fold tasks; "
          f"longest task {longest_task / 60:.1f} min")
    print(f"\n{'nodes':>5s} {'cores':>6s} {'extraction':>11s} {'folds':>10s} {'total':>10s}")
    for n in [int(x) for x in args.nodes.split(",")]:
        cores = n * args.cores
        t_ext = max(extract_cpu / cores, max(per_video))
        t_fit = max(fit_cpu / cores, longest_task)
        print(f"{n:5d} {cores:6d} {fmt_h(t_ext):>11s} {fmt_h(t_fit):>10s} {fmt_h(t_ext + t_fit):>10s}")
    print("\n(lower bounds from perfect packing: each phase takes at least its longest task; "
          "the trace cache makes extraction a one-time cost shared by every method and protocol;\n"
          " fold costs are linear in training clips -- a kernel SVR grows faster, so its rows are lower bounds)")


if __name__ == "__main__":
    main()
