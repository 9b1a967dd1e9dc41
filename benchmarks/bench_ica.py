"""Per-window cost of hrbench's batched ICA beside pyVHR's JADE, on one core.

    python benchmarks/bench_ica.py [--n 1000] [--frames 300 900] [--fps 30] [--repeat 3]

On ``--n`` synthetic windows of 3 x T RGB traces for each T in ``--frames``
(a pulse at a known heart rate, 50-150 bpm per window, mixed into R, G and B
as blood volume changes skin colour, plus illumination drift, slow
per-channel drift and camera noise; seeded), one process with one thread
everywhere, it times:

* ``hrbench ICA``: :meth:`IcaMethod.pulse` on all windows at once --
  smoothness-priors detrending, z-scoring, batched FastICA
  (:func:`fastica_batch`) and the choice of the component with the highest
  in-band peak;
* ``pyVHR JADE``: ``jadeR`` from pyVHR 2.0's ``pyVHR/BVP/utils.py`` applied
  window by window as pyVHR's ``cpu_ICA`` does (``W = jadeR(X); W @ X``),
  on the windows hrbench's ICA unmixes (detrended, z-scored).  This is the
  unmixing alone: hrbench's figure also pays for the detrending, the
  normalisation and the component choice;
* ``sklearn FastICA``: the per-clip loop hrbench's ICA used before, one
  ``sklearn.decomposition.FastICA`` per window, on the first ``--sklearn-n``
  windows only (it is slow), for context.

``ratio`` is ms per window over JADE's (the target for hrbench's ICA is at
most 1.5).  Accuracy, so that speed is not bought with it: the heart rate of
each method's pulse by :func:`hrbench.pulse.hr.spectral_hr` (the estimator every
run uses), against the known rate -- mean absolute error and share of
windows within 3 bpm.  JADE's components are chosen by the same
highest-in-band-peak rule as hrbench's (``JADE 2nd comp`` also shows Poh
2010's fixed second component, pyVHR's ``second_comp``).  ``not conv`` counts
windows where FastICA stopped at ``max_iter``.

Times are this process's CPU time (``time.process_time``), best of
``--repeat`` passes: on a machine shared with other work, wall time would
mostly measure the waits for a core.  The load average is printed with the
figures.

pyVHR is not imported as a package (its ``__init__`` loads GPU and deep
learning libraries): the script finds it with ``importlib.util.find_spec``
and loads only ``BVP/utils.py``, which needs numpy alone.  Install it with
``pip install --no-deps pyVHR==2.0``; the script never downloads anything.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

from hrbench.plugin.method import RunContext
from hrbench.pulse.hr import HRSettings, spectral_hr
from hrbench.run.threads import apply_threads
from hrbench_plugins.methods.ica import IcaMethod, select_by_peak, unmixing_input

PYVHR_HINT = "pyVHR is not installed: pip install --no-deps pyVHR==2.0"


def load_pyvhr_bvp_utils() -> ModuleType | None:
    """pyVHR 2.0's ``BVP/utils.py`` (``jadeR``), loaded by path without importing the package."""
    try:
        spec = importlib.util.find_spec("pyVHR")  # finds the package; does not execute its __init__
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root) / "BVP" / "utils.py"
        if path.is_file():
            mod_spec = importlib.util.spec_from_file_location("_pyvhr_bvp_utils", path)
            if mod_spec is None or mod_spec.loader is None:
                continue
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)
            if hasattr(module, "jadeR"):
                return module
    return None


def windows(n: int, frames: int, fps: float, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n, frames, 3)`` raw mean-RGB windows and their heart rates (bpm).

    Skin colour modulated by a pulse (fundamental and second harmonic) along
    a blood-volume direction strongest in green, times an illumination that
    drifts (random walk plus a slow oscillation), plus a slow additive drift
    per channel and camera noise.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    hr = rng.uniform(50, 150, n)
    phase = 2 * np.pi * hr[:, None] / 60 * t + rng.uniform(0, 2 * np.pi, (n, 1))
    pulse = np.sin(phase) + 0.4 * np.sin(2 * phase + rng.uniform(0, 2 * np.pi, (n, 1)))
    walk = np.cumsum(rng.normal(0, 4e-4, (n, frames)), axis=1)
    light = 1 + walk + 0.01 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3, (n, 1)) * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    skin = np.array([180.0, 120.0, 100.0])
    pbv = np.array([0.27, 0.80, 0.54])
    rgb = light[..., None] * skin * (1 + 0.004 * pbv * pulse[..., None])
    slope = rng.normal(0, 0.5, (n, 1, 3)) * (t / t[-1])[None, :, None]  # slow per-channel drift
    rgb += slope + rng.normal(0, noise, rgb.shape)
    return rgb, hr


def preprocess(rgb: np.ndarray, fps: float, detrend_hz: float) -> np.ndarray:
    """What hrbench's ICA unmixes: detrended, z-scored channels ``(n, 3, T)``."""
    return unmixing_input(rgb, fps, detrend_hz)[0]


def jade_per_window(jade: Callable, x: np.ndarray) -> np.ndarray:
    """pyVHR's ``cpu_ICA`` (``component='all_comp'``, unreshaped): one JADE per window."""
    bvp = []
    for X in x:
        W = jade(X, verbose=False)
        bvp.append(np.dot(W, X))
    return np.asarray(bvp)


def sklearn_per_clip(rgb: np.ndarray, fps: float, settings: HRSettings, seed: int, max_iter: int,
                     detrend_hz: float) -> tuple[np.ndarray, int]:
    """hrbench's ICA before batching: one scikit-learn FastICA per clip; (pulse, not converged)."""
    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning

    x = np.swapaxes(preprocess(rgb, fps, detrend_hz), 1, 2)
    src = np.empty((len(x), 3, x.shape[1]))
    not_converged = 0
    for i, xi in enumerate(x):
        ica = FastICA(n_components=3, whiten="unit-variance", max_iter=max_iter, random_state=seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            src[i] = ica.fit_transform(xi).T
        not_converged += any(issubclass(w.category, ConvergenceWarning) for w in caught)
    pick = select_by_peak(src, fps, settings.band_hz)
    return np.take_along_axis(src, pick[:, None, None], axis=1)[:, 0], not_converged


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def accuracy(pulse: np.ndarray, hr: np.ndarray, fps: float, settings: HRSettings) -> tuple[float, float]:
    """MAE (bpm) and share of windows within 3 bpm; a window without an HR counts as a miss."""
    est = spectral_hr(pulse, fps, settings)
    err = np.abs(est - hr)
    return float(np.nanmean(err)), float(np.mean(np.nan_to_num(err, nan=np.inf) <= 3.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="windows per length (default: %(default)s)")
    ap.add_argument("--frames", type=int, nargs="+", default=[300, 900],
                    help="window lengths in frames (default: %(default)s)")
    ap.add_argument("--fps", type=float, default=30.0, help="frame rate (default: %(default)s)")
    ap.add_argument("--noise", type=float, default=0.3, help="camera noise sd, 8-bit units (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=3, help="passes; the best counts (default: %(default)s)")
    ap.add_argument("--sklearn-n", type=int, default=100,
                    help="windows for the per-clip scikit-learn FastICA, 0 to skip (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="data and ICA seed (default: %(default)s)")
    args = ap.parse_args()
    pyvhr = load_pyvhr_bvp_utils()
    if pyvhr is None:
        print(PYVHR_HINT, file=sys.stderr)
        sys.exit(2)
    apply_threads(1)
    settings = HRSettings()
    method = IcaMethod(RunContext(seed=args.seed))
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPU(s); one process, one thread; "
          f"{args.n} windows per length at {args.fps:g} fps, noise sd {args.noise:g}; best of {args.repeat}")
    print(f"{'T':>5s}  {'method':24s} {'windows':>7s} {'ms/window':>9s} {'ratio':>6s} {'MAE bpm':>8s} "
          f"{'<=3 bpm':>7s} {'not conv':>8s}")
    for frames in args.frames:
        rgb, hr = windows(args.n, frames, args.fps, args.noise, args.seed + frames)
        x = preprocess(rgb, args.fps, method.detrend_hz)
        # warm-up: imports, FFT plans, caches
        method.pulse(rgb[:8], args.fps, settings)
        jade_per_window(pyvhr.jadeR, x[:8])

        t_ica, _ = best_time(lambda r=rgb: method.pulse(r, args.fps, settings), args.repeat)
        t_jade, comps = best_time(lambda x=x: jade_per_window(pyvhr.jadeR, x), args.repeat)
        counted = IcaMethod(RunContext(seed=args.seed))
        pulse = counted.pulse(rgb, args.fps, settings)
        not_conv = counted.run_notes.get("ica_not_converged", 0)
        comps = np.asarray(comps)
        jade_pick = select_by_peak(comps, args.fps, settings.band_hz)
        jade_pulse = np.take_along_axis(comps, jade_pick[:, None, None], axis=1)[:, 0]

        ms_jade = 1e3 * t_jade / args.n
        rows = [
            ("hrbench ICA (batched)", args.n, 1e3 * t_ica / args.n, accuracy(pulse, hr, args.fps, settings), not_conv),
            ("pyVHR JADE per window", args.n, ms_jade, accuracy(jade_pulse, hr, args.fps, settings), None),
            ("  JADE 2nd comp", args.n, None, accuracy(comps[:, 1], hr, args.fps, settings), None),
        ]
        m = min(args.sklearn_n, args.n)
        if m > 0:
            sk_rgb = rgb[:m]
            sklearn_per_clip(sk_rgb[:2], args.fps, settings, args.seed, method.max_iter, method.detrend_hz)
            t_sk, (sk_pulse, sk_nc) = best_time(
                lambda r=sk_rgb: sklearn_per_clip(r, args.fps, settings, args.seed, method.max_iter,
                                                  method.detrend_hz),
                args.repeat,
            )
            rows.append(("sklearn FastICA per clip", m, 1e3 * t_sk / m, accuracy(sk_pulse, hr[:m], args.fps, settings),
                         sk_nc))
            rows.append((f"  hrbench ICA, first {m}", m, None, accuracy(pulse[:m], hr[:m], args.fps, settings),
                         None))
        for name, n, ms, (mae, within), nc in rows:
            ms_text = f"{ms:9.3f}" if ms is not None else f"{'':9s}"
            ratio = f"{ms / ms_jade:6.2f}" if ms is not None else f"{'':6s}"
            nc_text = f"{nc:8d}" if nc is not None else f"{'':8s}"
            print(f"{frames:5d}  {name:24s} {n:7d} {ms_text} {ratio} {mae:8.2f} {100 * within:6.1f}% {nc_text}")
        if m > 0:
            same = np.abs(spectral_hr(pulse[:m], args.fps, settings) - spectral_hr(sk_pulse, args.fps, settings))
            print(f"{'':5s}  hrbench ICA and per-clip scikit-learn agree within 0.1 bpm on "
                  f"{int((same <= 0.1).sum())} of {m} windows")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
