"""Wall time of the main job, cold and warm: `hrbench run` with its defaults.

Cold: an empty cache (a temporary ``HRBENCH_CACHE``), so the embedded dataset
is generated, landmarks tracked, traces extracted and the synthetic rhythm
pretraining trained.  Warm: the same cache, a fresh results store, so every
fold is trained and predicted again but nothing before it is recomputed.
Targets (issue #3): at most 10 minutes cold and 3 minutes warm on two cores.

    python benchmarks/bench_main_job.py                  # stmap_transfer, subject_exclusive
    python benchmarks/bench_main_job.py --keep-cache /tmp/hb-cache
    python benchmarks/bench_main_job.py -- --method pos  # extra arguments go to `hrbench run`

Nothing is written to your own cache or results store.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(cache: Path, store: Path, extra: list[str]) -> float:
    env = dict(os.environ, HRBENCH_CACHE=str(cache))
    cmd = [sys.executable, "-m", "hrbench", "run", "--store", str(store), *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep-cache", type=Path, default=None, help="use (and keep) this cache directory; must not exist")
    ap.add_argument("extra", nargs="*", help="arguments after -- go to `hrbench run`")
    args = ap.parse_args()
    if args.keep_cache is not None and args.keep_cache.exists():
        raise SystemExit(f"{args.keep_cache}: exists; a cold run needs an empty cache")
    tmp = Path(tempfile.mkdtemp(prefix="hrbench-bench-"))
    cache = args.keep_cache or tmp / "cache"
    try:
        cold = timed_run(cache, tmp / "cold.sqlite", args.extra)
        warm = timed_run(cache, tmp / "warm.sqlite", args.extra)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cmd = "hrbench run " + " ".join(args.extra) if args.extra else "hrbench run (defaults)"
    print(f"{cmd} on {os.cpu_count()} cores")
    print(f"cold (empty cache): {cold:7.1f} s  = {cold / 60:.1f} min   (target <= 10 min)")
    print(f"warm (cached):      {warm:7.1f} s  = {warm / 60:.1f} min   (target <= 3 min)")


if __name__ == "__main__":
    main()
