"""Cold generation time of the embedded synthetic dataset.

Generates a preset (default: ``synthetic``, 20 subjects x 2 videos, 6 of them 60-s H.264) into
a temporary folder -- never the cache -- and prints the render time of every
recording, the total wall time and the throughput.  Per-recording times are
measured inside the worker (wall and CPU); on a shared machine the CPU time
is the better measure of the work (wall time includes waiting for the cores).

    python benchmarks/bench_synthetic.py                      # default preset, all cores
    python benchmarks/bench_synthetic.py --workers 2          # as on a 2-core machine
    python benchmarks/bench_synthetic.py --preset synthetic-large
    python benchmarks/bench_synthetic.py --subjects 2 --duration 10   # a quick look
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from hrbench_plugins.datasets.synthetic import DEFAULT, LARGE, generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=["synthetic", "synthetic-large"], default="synthetic")
    ap.add_argument("--workers", type=int, default=None, help="processes (default: usable cores)")
    ap.add_argument("--subjects", type=int, default=None, help="override the number of subjects")
    ap.add_argument("--duration", type=float, default=None, help="override the video duration (s)")
    ap.add_argument("--keep", type=Path, default=None, help="generate here and keep it (default: a temp dir)")
    args = ap.parse_args()

    settings = DEFAULT if args.preset == "synthetic" else LARGE
    if args.subjects:
        settings = dataclasses.replace(settings, n_subjects=args.subjects)
    if args.duration:
        settings = dataclasses.replace(settings, duration_s=args.duration)
    tmp = None
    if args.keep:
        root = args.keep
    else:
        tmp = Path(tempfile.mkdtemp(prefix="bench-synthetic-"))
        root = tmp / "ds"
    try:
        cores = len(os.sched_getaffinity(0))
        print(f"preset {args.preset}: {settings.n_subjects} subjects x {settings.videos_per_subject} videos x "
              f"{settings.duration_s:g} s, {settings.size[0]}x{settings.size[1]} @ {settings.fps:g} fps; "
              f"workers {args.workers or 'auto'} on {cores} usable cores")
        t0 = time.perf_counter()
        stats = generate(settings, root, name=args.preset, workers=args.workers)
        wall = time.perf_counter() - t0
        frames = 0
        print(f"  {'recording':22s} {'wall':>7s} {'CPU':>7s} {'frames':>6s} {'CPU/frame':>10s}")
        for rid, (dt, cpu) in sorted(stats.recordings.items()):
            subject, scenario = rid.split("_", 1)
            n = json.loads((root / subject / scenario / "info.json").read_text())["n_frames"]
            frames += n
            print(f"  {rid:22s} {dt:6.2f}s {cpu:6.2f}s {n:6d} {1000 * cpu / n:7.2f} ms")
        size_mb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6
        n_rec = len(stats.recordings)
        print(f"recordings: {n_rec}, frames: {frames}, on disk: {size_mb:.0f} MB")
        print(f"per recording: {sum(w for w, _ in stats.recordings.values()) / n_rec:.2f} s wall, "
              f"{stats.cpu_s / n_rec:.2f} s CPU ({1000 * stats.cpu_s / frames:.2f} ms CPU per frame)")
        print(f"total: {wall:.1f} s wall, {stats.cpu_s:.1f} CPU-s rendering "
              f"(= {stats.cpu_s / cores:.1f} s on {cores} otherwise idle cores, plus start-up)")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
