"""Throughput of the classic methods (green, ICA, CHROM, POS) on synthetic clips.

Prints clips per second of ``predict`` -- pulse extraction plus the shared
spectral HR estimator -- for each method on ``--clips`` clips of ``--frames``
RGB frames at ``--fps`` (default 1,000 clips x 300 frames x 3 at 30 fps, the
brief's reference case, where vectorised CHROM + Welch takes ~60 ms).

Columns: ``pulse s`` is the method's own work (RGB -> pulse waveform),
``predict s`` adds the shared :func:`hrbench.pulse.hr.spectral_hr` (also timed
alone), ``clips/s`` is for ``predict``.  Each figure is the best of
``--repeat`` runs (ICA: one run on at most ``--ica-clips`` clips, since its
batched FastICA iterates until the slowest clip converges), after a warm-up
on a few clips.  ``benchmarks/bench_ica.py`` compares ICA with pyVHR's JADE.  The machine is
shared, so treat the numbers as rough.

    python benchmarks/bench_classic.py [--clips 1000] [--frames 300] [--fps 30]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hrbench.plugin.clips import Clips
from hrbench.pulse.hr import spectral_hr
from hrbench_plugins.methods.chrom import ChromMethod
from hrbench_plugins.methods.green import GreenMethod
from hrbench_plugins.methods.ica import IcaMethod
from hrbench_plugins.methods.pos import PosMethod


def synthetic_clips(n: int, frames: int, fps: float, seed: int = 0) -> tuple[Clips, np.ndarray]:
    """Noisy skin-colour traces with a pulse at a random HR and intensity motion."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    hr = rng.uniform(50, 150, n)
    phase = 2 * np.pi * hr[:, None] / 60 * t + rng.uniform(0, 2 * np.pi, (n, 1))
    pulse = np.sin(phase) + 0.4 * np.sin(2 * phase + 0.5)
    light = 1 + 0.01 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5, (n, 1)) * t)
    skin = np.array([180.0, 120.0, 100.0])
    pbv = np.array([0.27, 0.80, 0.54])
    rgb = light[..., None] * skin * (1 + 0.004 * pbv * pulse[..., None])
    rgb += rng.normal(0, 0.1, rgb.shape)
    ids = np.arange(n)
    return Clips(rgb[:, None].astype(np.float32), fps, ids, ids), hr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ica-clips", type=int, default=200)
    args = ap.parse_args()

    clips, hr = synthetic_clips(args.clips, args.frames, args.fps)
    rgb = clips.traces[:, 0].astype(np.float64)

    def best_of(fn, repeat: int) -> tuple[float, np.ndarray]:
        best = np.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - t0)
        return best, result

    t_hr, _ = best_of(lambda: spectral_hr(rgb[..., 1], args.fps, clips.hr_settings), args.repeat)
    print(f"{args.clips} clips x {args.frames} frames x 3 at {args.fps:g} fps, best of {args.repeat}")
    print(f"shared spectral_hr alone: {t_hr:.4f} s ({args.clips / t_hr:.0f} clips/s)")
    print(f"{'method':<8}{'clips':>7}{'pulse s':>10}{'predict s':>11}{'clips/s':>10}{'MAE bpm':>9}")
    for cls in (GreenMethod, ChromMethod, PosMethod, IcaMethod):
        method = cls()
        n = args.clips if cls is not IcaMethod else min(args.clips, args.ica_clips)
        sub, x = clips.subset(np.arange(n)), rgb[:n]
        repeat = 1 if cls is IcaMethod else args.repeat
        method.predict(sub.subset(np.arange(min(8, n))))  # warm-up (caches, imports)
        t_pulse, _ = best_of(lambda m=method, x=x: m.pulse(x, args.fps, clips.hr_settings), repeat)
        t_pred, pred = best_of(lambda m=method, s=sub: m.predict(s), repeat)
        mae = np.nanmean(np.abs(pred - hr[:n]))
        print(f"{cls.name:<8}{n:>7}{t_pulse:>10.4f}{t_pred:>11.4f}{n / t_pred:>10.0f}{mae:>9.2f}")


if __name__ == "__main__":
    main()
