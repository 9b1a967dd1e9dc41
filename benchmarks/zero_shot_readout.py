"""The synthetic-pretrained net's zero-shot error on face maps, read both ways, beside POS on the same clips.

A diagnosis, not a choice (choices are made on ``synthetic-dev`` by
``tune_defaults.py``): it loads stage III's pretrained checkpoint for one
seed and the protocol's HR band (from the cache; trained and cached first if
absent), draws a few clips per recording of a dataset (cached traces), and
prints for the distribution head read as its whole mean and around its peak
(``readout``) the MAE, the mean error and the share of clips off by more
than 10 bpm and by a factor >= 1.8 -- and the same for POS on the mean of
each clip's cheek blocks, a method that learns nothing from the clips.

    python benchmarks/zero_shot_readout.py --dataset synthetic-46 --band-hi 240
    python benchmarks/zero_shot_readout.py --dataset synthetic-46 --band-hi 180
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learned_study import dev_clips  # noqa: E402

from hrbench.plugin.clips import Clips  # noqa: E402
from hrbench.plugin.method import RunContext  # noqa: E402
from hrbench.pulse.hr import HRSettings, spectral_hr  # noqa: E402
from hrbench_plugins.methods.pos import PosMethod  # noqa: E402
from hrbench_plugins.methods.stmap import StmapTransfer  # noqa: E402


def summary(pred: np.ndarray, ref: np.ndarray) -> str:
    err = pred - ref
    return (f"MAE {np.abs(err).mean():5.2f}  mean error {err.mean():+6.2f}  median |error| "
            f"{np.median(np.abs(err)):5.2f}  |error| > 10: {np.mean(np.abs(err) > 10):4.0%}  "
            f"x >= 1.8: {np.mean(pred >= 1.8 * ref):4.0%}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="synthetic-dev", help="adapter name (default: %(default)s)")
    ap.add_argument("--band-hi", type=float, default=240.0,
                    help="upper end of the HR band, bpm: 240 = subject_exclusive's, 180 = whole_video's")
    ap.add_argument("--seed", type=int, default=0, help="the pretraining seed (default: %(default)s)")
    ap.add_argument("--per-recording", type=int, default=5, help="clips drawn per recording (default: %(default)s)")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "hrbench",
                    help="hrbench's cache (checkpoints; default: %(default)s)")
    args = ap.parse_args(argv)
    from hrbench_plugins.methods.deep.stmap import maps_from_traces
    from hrbench_plugins.methods.deep.train import predict_maps

    traces, hr = dev_clips(args.dataset, None, args.per_recording, 0)
    n = len(hr)
    band = (42.0, args.band_hi)
    clips = Clips(traces=traces.astype(np.float32), fps=30.0, recording_ids=np.array([f"c{i}" for i in range(n)]),
                  subjects=np.array([f"c{i}" for i in range(n)]), hr_settings=HRSettings(band_bpm=band), hr=hr,
                  starts=np.zeros(n))
    method = StmapTransfer(RunContext(seed=args.seed, cache_dir=args.cache))
    model = method._initial_model(clips)
    maps = maps_from_traces(clips.traces, method.spec, fps=clips.fps)
    print(f"{args.dataset}: {n} clips, reference {hr.min():.0f}-{hr.max():.0f} bpm; band {band[0]:g}-{band[1]:g}; "
          f"checkpoint {method.run_notes['synthetic_checkpoint']} ({method.run_notes['synthetic_pretrain']})")
    for readout in ("mean", "peak"):
        model.readout = readout
        print(f"  pretrained net, readout {readout:4s}: {summary(predict_maps(model, maps), hr)}")
    settings = HRSettings(band_bpm=band)
    pos = spectral_hr(PosMethod().pulse(traces.mean(axis=1).astype(np.float64), clips.fps, settings), clips.fps,
                      settings)
    print(f"  POS (cheek blocks' mean)       : {summary(pos, hr)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
