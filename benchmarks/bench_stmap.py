"""Throughput of the SynRhythm ResNet-18 (stmap_* methods) and its synthetic pretraining.

Prints, for the default and the paper map sizes (and a few widths between),
training throughput (Adam + L1 steps, batch 32, deterministic kernels, the
loop of ``deep/train.py``) and inference throughput (batch 128, channels-last)
in maps per second, then the cost of synthetic-rhythm pretraining with the
default profile (map generation + training).

    python benchmarks/bench_stmap.py                 # torch's default thread count
    python benchmarks/bench_stmap.py --threads 1     # robust on a shared machine
    python benchmarks/bench_stmap.py --full          # run the whole default pretraining

On a machine whose cores are shared with other busy processes, more than one
torch thread can be 10-30x *slower* (OpenMP threads spin waiting for each
other); compare ``--threads 1`` and ``--threads 2``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hrbench_plugins.methods.deep.resnet import HRRegressor
from hrbench_plugins.methods.deep.synrhythm import SynRhythmSettings, rhythm_maps
from hrbench_plugins.methods.deep.train import predict_maps, seeded, train_regressor
from hrbench_plugins.methods.stmap import StmapTransfer

CONFIGS = [
    # label, width, rows, frames
    ("default  (w16, 25x150)", 16, 25, 150),
    ("         (w32, 25x150)", 32, 25, 150),
    ("         (w16, 25x300)", 16, 25, 300),
    ("         (w64, 25x150)", 64, 25, 150),
    ("paper    (w64, 200x300)", 64, 200, 300),
]


def train_rate(width: int, rows: int, frames: int, seconds: float) -> float:
    x = (np.random.default_rng(0).random((32, 3, rows, frames)) * 255).astype(np.float16)
    y = np.full(32, 80.0)
    with seeded(0):
        model = HRRegressor(width)
        train_regressor(model, lambda _e: (x, y), epochs=1)  # warm-up
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            train_regressor(model, lambda _e: (x, y), epochs=1)
            n += len(x)
    return n / (time.perf_counter() - start)


def predict_rate(width: int, rows: int, frames: int, seconds: float) -> float:
    x = (np.random.default_rng(0).random((128, 3, rows, frames)) * 255).astype(np.float16)
    model = HRRegressor(width)
    predict_maps(model, x)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        predict_maps(model, x)
        n += len(x)
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: leave)")
    ap.add_argument("--seconds", type=float, default=6.0, help="measuring time per figure")
    ap.add_argument("--full", action="store_true", help="run the whole default synthetic pretraining")
    ap.add_argument("--skip-paper", action="store_true", help="skip the slow 200x300 paper map size")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU")
    print(f"{'map config':26s} {'train maps/s':>13s} {'predict maps/s':>15s}")
    for label, width, rows, frames in CONFIGS:
        if args.skip_paper and rows == 200:
            continue
        tr = train_rate(width, rows, frames, args.seconds)
        pr = predict_rate(width, rows, frames, args.seconds / 2)
        print(f"{label:26s} {tr:13.1f} {pr:15.1f}", flush=True)

    d = StmapTransfer().get_params()
    rows, frames = 25, 300 // d["time_pool"]
    epochs = d["synth_epochs"] if args.full else 1
    settings = SynRhythmSettings(noise_max=d["synth_noise"], step_p=d["synth_step_p"])
    gen_s = train_s = 0.0
    with seeded(0):
        model = HRRegressor(d["width"])
        for epoch in range(epochs):
            t0 = time.perf_counter()
            maps, labels = rhythm_maps(d["synth_maps"], rows, 300, 30.0, np.random.default_rng(epoch), settings,
                                       time_pool=d["time_pool"])
            t1 = time.perf_counter()
            loss = train_regressor(model, lambda _e, m=maps, y=labels: (m, y), epochs=1,
                                   batch_size=d["batch_size"], seed=epoch)[0]
            gen_s += t1 - t0
            train_s += time.perf_counter() - t1
    total = (gen_s + train_s) * d["synth_epochs"] / epochs
    what = "measured" if args.full else f"projected from {epochs} of {d['synth_epochs']} epochs"
    print(
        f"synthetic pretraining (default: {d['synth_epochs']} x {d['synth_maps']} maps {rows}x{frames}, "
        f"width {d['width']}): generation {gen_s / epochs:.1f} s + training {train_s / epochs:.1f} s per epoch; "
        f"total {total:.0f} s ({what}); "
        f"last epoch L1 {loss:.1f} bpm"
    )


if __name__ == "__main__":
    main()
