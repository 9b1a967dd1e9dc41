"""Synthetic pretraining alone, and beside a CPU-bound competitor, under hrbench's thread plan.

    python benchmarks/bench_threads.py [--maps 192] [--epochs 1] [--width 16]

Why: torch (like BLAS and OpenCV) starts one thread per core.  On a machine
another job is already using, a training that takes every core is slowed by
more than its share -- threads that wait for each other at every layer lose
their time slice to the competitor and the whole step waits for the last
one.  hrbench decides threads in one place (:mod:`hrbench.run.threads`:
``workers x threads <= CPUs``, ``--threads`` to override); this measures
what that choice does.

Each case runs a small synthetic-rhythm pretraining (the SynRhythm stage I
of ``stmap_transfer``; a narrow ResNet-18, a fresh cache so it really
trains) in its own process with the plan ``configure_threads(1, T)``:

* ``T = CPUs`` (the default plan), alone and while a competitor process
  keeps one core busy (a shared workstation, a CI runner, a second job);
* ``T = CPUs - 1`` (``--threads``, leaving the competitor its core), alone
  and beside the same competitor;
* ``T = CPUs`` beside the competitor with ``OMP_WAIT_POLICY=PASSIVE``
  (idle OpenMP threads sleep instead of spinning; results are unchanged).

The competitor is a pure-Python busy loop in another process (one core, no
memory traffic, nothing to share).  Wall time, CPU time and the load
average are printed; on a machine that is already busy the "alone" case is
not alone, which the load average shows.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import textwrap
import time

CHILD = textwrap.dedent("""
    import json, sys, tempfile, time
    from hrbench.run.threads import configure_threads
    plan = configure_threads(1, int(sys.argv[1]))
    import torch
    from hrbench.plugin.method import RunContext
    from hrbench_plugins.methods.deep import pretrain
    from hrbench_plugins.methods.deep.resnet import HRRegressor
    maps, epochs, width = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    with tempfile.TemporaryDirectory() as cache:
        ctx = RunContext(seed=0, cache_dir=__import__("pathlib").Path(cache))
        ctx.say = lambda _m: None
        geo = pretrain.MapGeometry(n_rows=25, clip_len=300, fps=30.0, time_pool=2)
        cfg = pretrain.PretrainConfig(maps_per_epoch=maps, epochs=epochs, batch_size=16)
        torch.manual_seed(0)
        model = HRRegressor(width)
        w0, c0 = time.perf_counter(), time.process_time()
        _, trained = pretrain.synthetic_pretrain(model, init="random", geometry=geo, config=cfg, context=ctx)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    assert trained
    print(json.dumps({"wall": wall, "cpu": cpu, "threads": plan.threads, "torch": torch.get_num_threads()}))
""")


def _spin(stop: mp.Event) -> None:  # type: ignore[valid-type]
    x = 0
    while not stop.is_set():  # type: ignore[attr-defined]
        for _ in range(100_000):
            x += 1


def run_case(threads: int, args: argparse.Namespace, competitor: bool, passive: bool = False) -> dict[str, float]:
    stop = mp.Event()
    proc = mp.Process(target=_spin, args=(stop,), daemon=True) if competitor else None
    if proc:
        proc.start()
        time.sleep(0.5)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, **({"OMP_WAIT_POLICY": "PASSIVE"} if passive else {})}
            out = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(args.maps),
                                  str(args.epochs), str(args.width)],
                                 capture_output=True, text=True, check=True, cwd=tmp, timeout=1800, env=env)
    finally:
        if proc:
            stop.set()
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--maps", type=int, default=192, help="synthetic maps per epoch (default: %(default)s)")
    ap.add_argument("--epochs", type=int, default=1, help="epochs (default: %(default)s)")
    ap.add_argument("--width", type=int, default=16, help="ResNet-18 base width (default: %(default)s)")
    args = ap.parse_args()
    from hrbench.run.threads import usable_cpus

    cpus = usable_cpus()
    plans = [cpus, cpus - 1] if cpus > 1 else [cpus]
    cases = [(label, t, competitor, False) for t in plans for label, competitor in (("alone", False),
                                                                                    ("beside a competitor", True))]
    cases.append(("beside, OMP passive", cpus, True, True))
    print(f"{cpus} usable CPU(s); load average before: {os.getloadavg()[0]:.2f}; "
          f"pretraining {args.epochs} epoch(s) x {args.maps} maps, width {args.width}")
    print(f"{'case':22s} {'threads':>7s} {'wall s':>8s} {'cpu s':>8s} {'load':>6s}")
    for label, threads, competitor, passive in cases:
        r = run_case(threads, args, competitor, passive)
        print(f"{label:22s} {r['threads']:7d} {r['wall']:8.1f} {r['cpu']:8.1f} {os.getloadavg()[0]:6.2f}")


if __name__ == "__main__":
    main()
