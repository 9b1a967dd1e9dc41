"""Training throughput of the FG 2019 ablation variants (rhythm_*) on CPU.

Times ``fit`` end to end -- map building, DA resampling, forward/backward,
Adam -- on synthetic face-grid clips (25 blocks pulsing at random HRs), and
prints training maps per second for each variant, plus the time a fold of
``--fold-clips`` training clips (default 540: ~27 videos x 20 clips) would take
at the profile's epoch count.  A DA epoch has two maps per clip (a plain crop
and a resampled copy), so its fold time is about twice the plain one at equal
maps/s.  Each figure is the best of ``--repeat`` fits after a warm-up; the
machine is shared, so treat the numbers as rough.

    python benchmarks/bench_rhythm.py [--profile default] [--threads 1,2] [--clips 128] [--epochs 2]
    python benchmarks/bench_rhythm.py --param width=32 --param time_pool=1
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hrbench.plugin.clips import Clips
from hrbench.plugin.method import RunContext
from hrbench.pulse.hr import HRSettings
from hrbench_plugins.methods.rhythm import (
    RhythmAttention,
    RhythmAttentionDA,
    RhythmDA,
    RhythmResNet,
)

VARIANTS = (RhythmResNet, RhythmAttention, RhythmDA, RhythmAttentionDA)


def grid_clips(n: int, frames: int, fps: float = 30.0, seed: int = 0) -> Clips:
    rng = np.random.default_rng(seed)
    hr = rng.normal(78, 10, n).clip(50, 130)
    t = np.arange(frames) / fps
    phase = 2 * np.pi * hr[:, None] / 60 * t + rng.uniform(0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.2, 1.0, (n, 25, 1, 1))
    x = np.array([150.0, 110.0, 90.0]) + amp * np.sin(phase)[:, None, :, None] * np.array([0.3, 1.0, 0.5])
    x = x + rng.normal(0, 0.5, x.shape)
    rid = np.array([f"v{i // 20}" for i in range(n)])
    return Clips(x.astype(np.float32), fps, rid, rid, HRSettings(), hr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="default")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    ap.add_argument("--clips", type=int, default=128, help="training clips per timed fit")
    ap.add_argument("--epochs", type=int, default=2, help="epochs per timed fit")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--fold-clips", type=int, default=540)
    ap.add_argument("--variants", default=",".join(c.name for c in VARIANTS))
    args = ap.parse_args()
    overrides = dict(kv.split("=", 1) for kv in args.param)
    chosen = [c for c in VARIANTS if c.name in args.variants.split(",")]
    short, long = grid_clips(args.clips, 300), grid_clips(args.clips, 450)
    print(f"profile {args.profile}, overrides {overrides or '-'}; {args.clips} clips x {args.epochs} epochs per fit")
    print(f"{'variant':22s} {'threads':>7s} {'maps/s':>8s} {'fold s':>8s}  (fold: {args.fold_clips} clips at the "
          "profile's epochs)")
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        for cls in chosen:
            ctx = RunContext(seed=0, profile=args.profile)
            clips = long if cls.train_clip_factor > 1 else short
            cls(ctx, args.profile, **{**overrides, "epochs": 1}).fit(clips.subset(np.arange(16)))  # warm-up
            best = np.inf
            for _ in range(args.repeat):
                m = cls(ctx, args.profile, **{**overrides, "epochs": args.epochs})
                t0 = time.perf_counter()
                m.fit(clips)
                best = min(best, time.perf_counter() - t0)
            n_maps = m.run_notes["train_maps"]
            rate = n_maps * args.epochs / best
            epochs = cls(ctx, args.profile, **overrides).epochs
            fold_maps = args.fold_clips * n_maps / len(clips)
            print(f"{cls.name:22s} {threads:7d} {rate:8.0f} {fold_maps * epochs / rate:8.0f}", flush=True)


if __name__ == "__main__":
    main()
