"""Trace-extraction speed beside the plain decode speed of the same file.

    python benchmarks/bench_extraction.py [--dataset synthetic] [--n 2]

Prints, for the first N recordings of the dataset: frames, plain decode
frames/s (OpenCV only), and extraction frames/s (decode + landmarks + the
face_skin and cheek_grid ROI schemes), single process.  The runner spreads
recordings over a process pool, so wall-clock throughput of a run is about
this times the number of cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hrbench.plugins import get_registry
from hrbench.traces import extract
from hrbench.video import iter_frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--data-root")
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--landmarker", default="mediapipe_litert")
    args = ap.parse_args()
    reg = get_registry()
    adapter = reg.dataset(args.dataset)()
    root = Path(args.data_root) if args.data_root else adapter.default_root()
    adapter.prepare(root)
    recs = adapter.scan(root)[: args.n]
    lm_cls = reg.landmarker(args.landmarker)
    print(f"{'recording':24s} {'frames':>7s} {'decode f/s':>11s} {'extract f/s':>12s} {'lost':>5s}")
    for rec in recs:
        t0 = time.perf_counter()
        n = sum(1 for _ in iter_frames(rec.frames, rec.id))
        t_dec = time.perf_counter() - t0
        t0 = time.perf_counter()
        tr = extract(rec, ["face_skin", "cheek_grid"], lm_cls())
        t_ext = time.perf_counter() - t0
        lost = int((~tr["face_skin"].valid).sum())
        print(f"{rec.id:24s} {n:7d} {n / t_dec:11.0f} {n / t_ext:12.0f} {lost:5d}")


if __name__ == "__main__":
    main()
