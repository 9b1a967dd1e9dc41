"""Trace-extraction speed beside the plain decode speed of the same file, on one core.

    python benchmarks/bench_extraction.py [--dataset synthetic] [--n 2] [--seconds 5] [--repeat 3]

For the first N recordings of the dataset, the first ``--seconds`` of the
video are copied (MJPG, as the embedded dataset stores them) to a temporary
file, and on that same file, in one process with one thread everywhere
(``workers x threads`` = 1 x 1, as one extraction worker runs):

* ``decode``: OpenCV decoding alone (``VideoCapture.read``, BGR frames);
* ``extract``: :func:`hrbench.traces.traces.extract` -- decode, landmarks and every
  built-in ROI scheme, as a run measures them;
* ``ratio``: extract f/s over decode f/s (the target is >= 0.3; with the
  face mesh on every frame it is not met on the embedded MJPG videos: the
  mesh inference alone costs more than decoding.  Meshing at 15 Hz and
  interpolating would meet it, at a measured cost in trace SNR:
  ``leaderboards/studies/landmark-rate.md``);
* a breakdown of one extraction pass (decode, landmarker, each scheme, the
  rest) and the memory it held beyond the trace (``tracemalloc`` peak minus
  the trace's own bytes), which must not grow with the video's length.

Times are this process's CPU time (``time.process_time``), best of
``--repeat`` passes alternating decode and extraction: on a machine shared
with other work, wall time would mostly measure the waits for a core.  The
load average is printed with the figures.  The run spreads recordings over a process pool,
so a run's throughput is about these figures times the number of workers.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import cv2

from hrbench.data.recording import Recording
from hrbench.plugin.host import get_registry, get_scheme
from hrbench.plugin.roi import ROI_SCHEMES
from hrbench.run.threads import apply_threads
from hrbench.traces import traces
from hrbench.traces.traces import extract


@contextlib.contextmanager
def first_frames(limit: int) -> Iterator[None]:
    """Within the block, every decode in :mod:`hrbench.traces.traces` stops after ``limit`` frames.

    Why not a shortened copy of the file: re-encoding changes the very decode
    cost being compared (OpenCV's MJPG writer does not reproduce the
    original's compression).  So the original file is read, and both passes
    stop after the same frames.
    """
    real_iter, real_expected = traces.iter_frames, traces._expected_frames
    traces.iter_frames = lambda *a, **k: itertools.islice(real_iter(*a, **k), limit)
    traces._expected_frames = lambda rec: min(limit, real_expected(rec))
    try:
        yield
    finally:
        traces.iter_frames, traces._expected_frames = real_iter, real_expected


def decode_seconds(path: Path, limit: int) -> tuple[int, float]:
    cap = cv2.VideoCapture(str(path))
    n, t0 = 0, time.process_time()
    while n < limit and cap.read()[0]:
        n += 1
    dt = time.process_time() - t0
    cap.release()
    return n, dt


def breakdown(rec: Recording, landmarker: object, schemes: list[str]) -> dict[str, float]:
    """Seconds per stage of one extraction pass, measured the way :func:`extract` runs them."""
    objs = [get_scheme(s) for s in schemes]
    out = {"decode": 0.0, "landmarker": 0.0, **{s: 0.0 for s in schemes}}
    landmarker.reset()
    frames = traces.iter_frames(rec.frames, rec.id, bgr=True)
    while True:
        t0 = time.process_time()
        frame = next(frames, None)
        t1 = time.process_time()
        out["decode"] += t1 - t0
        if frame is None:
            break
        pts = landmarker.landmarks_bgr(frame)
        t2 = time.process_time()
        out["landmarker"] += t2 - t1
        if pts is not None:
            for name, o in zip(schemes, objs, strict=True):
                t = time.process_time()
                o.measure_bgr(frame, pts)
                out[name] += time.process_time() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--data-root")
    ap.add_argument("--n", type=int, default=2, help="recordings (default: %(default)s)")
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds of each video (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=3, help="passes; the best counts (default: %(default)s)")
    ap.add_argument("--landmarker", default="mediapipe_litert")
    args = ap.parse_args()
    apply_threads(1)
    cv2.setNumThreads(1)
    reg = get_registry()
    adapter = reg.dataset(args.dataset)()
    root = Path(args.data_root) if args.data_root else adapter.default_root()
    adapter.prepare(root)
    recs = [r for r in adapter.scan(root) if r.frames.kind == "video"][: args.n]
    lm = reg.landmarker(args.landmarker)()
    schemes = sorted(ROI_SCHEMES)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPU(s); one process, one thread; "
          f"schemes {', '.join(schemes)}; best of {args.repeat}")
    print(f"{'recording':18s} {'frames':>6s} {'decode f/s':>10s} {'extract f/s':>11s} {'ratio':>6s} {'lost':>5s}  "
          "breakdown (ms/frame)  extra memory")
    for rec in recs:
        limit = int(round(args.seconds * rec.fps))
        with first_frames(limit):
            extract(rec, schemes, lm)  # warm-up: models loaded, caches hot
            dec, ext = [], []
            for _ in range(args.repeat):
                n, dt = decode_seconds(rec.frames.path, limit)
                dec.append(dt)
                t0 = time.process_time()
                tr = extract(rec, schemes, lm)
                ext.append(time.process_time() - t0)
            lost = int((~tr[schemes[0]].valid).sum())
            parts = breakdown(rec, lm, schemes)
            total = min(ext)
            parts["other"] = max(0.0, total - sum(parts.values()))
            tracemalloc.start()
            tr = extract(rec, schemes, lm)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            trace_bytes = sum(t.values.nbytes + t.valid.nbytes + t.times.nbytes for t in tr.values())
            extra = max(0, peak - trace_bytes)
            text = " ".join(f"{k} {1e3 * v / n:.2f}" for k, v in parts.items())
            d_fps, e_fps = n / min(dec), n / total
            print(f"{rec.id:18s} {n:6d} {d_fps:10.0f} {e_fps:11.0f} {e_fps / d_fps:6.2f} {lost:5d}  {text}  "
                  f"{extra / 1e6:.1f} MB beyond the trace ({trace_bytes / 1e3:.0f} kB)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
