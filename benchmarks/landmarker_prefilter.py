"""The face-mesh crop's anti-alias pre-shrink: fractional INTER_AREA (landmarker v1) against integer (v2).

    python benchmarks/landmarker_prefilter.py [--dataset synthetic] [--limit 0]
                                              [--out leaderboards/studies/landmarker-prefilter.md]

``mediapipe_litert`` warps the face region to the mesh model's 192 x 192
input.  Version 1 first shrank the region by the exact ratio ``k`` with
OpenCV's ``INTER_AREA`` whenever ``k > 1.5``; OpenCV's fractional-ratio area
resize is slow (about as costly as a third of the mesh inference on a
640 x 480 frame).  Version 2 shrinks by the integer ``floor(k)`` (OpenCV's
fast block-mean path) only when ``k >= 2`` and leaves the warp a residual
ratio below 2 (:func:`hrbench_plugins.landmarkers.mediapipe_litert._prefiltered`).

For every recording (``--limit`` N: the first N), landmarks are located on
every frame with each variant and ``face_skin`` measured on them; the POS
pulse of each trace, and its green channel alone (the raw trace green-based
methods start from), give an SNR (as in ``landmark_rate.py``: power within
6 bpm of the reference HR and its harmonic over the rest of the band) and a
heart rate.  Also printed: CPU ms per frame of each pass (decode, mesh and
``face_skin``).  The summary is the paired SNR difference with a Wilcoxon
signed-rank test, and the mean HR errors.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import os
import sys
from pathlib import Path

import cv2
import numpy as np
from scipy import stats

from hrbench.plugin.host import get_registry
from hrbench.pulse.hr import HRSettings, spectral_hr
from hrbench.run.threads import apply_threads


def _study(name: str):  # noqa: ANN202 - a sibling script, loaded by path
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def v1_prefiltered(frame: np.ndarray, a: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Landmarker version 1's pre-shrink: the exact ratio ``k`` with INTER_AREA whenever ``k > 1.5``."""
    m = 192
    if k <= 1.5:
        return frame, a
    h, w = frame.shape[:2]
    corners = a @ np.array([[0, 0, 1], [m, 0, 1], [0, m, 1], [m, m, 1]]).T
    x0, y0 = np.floor(corners.min(1)).astype(int)
    x1, y1 = np.ceil(corners.max(1)).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return frame, a
    f = 1.0 / k
    sw, sh = max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f))
    src = cv2.resize(frame[y0:y1, x0:x1], (sw, sh), interpolation=cv2.INTER_AREA)
    fx, fy = sw / (x1 - x0), sh / (y1 - y0)
    return src, np.array([[fx, 0, -fx * x0], [0, fy, -fy * y0]]) @ np.vstack([a, [0, 0, 1]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--data-root")
    ap.add_argument("--limit", type=int, default=0, help="first N recordings (default: all)")
    ap.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = ap.parse_args()
    apply_threads(1)
    cv2.setNumThreads(1)
    rate = _study("landmark_rate")
    reg = get_registry()
    adapter = reg.dataset(args.dataset)()
    root = Path(args.data_root) if args.data_root else adapter.default_root()
    adapter.prepare(root)
    recs = [r for r in adapter.scan(root) if r.roi != "full-frame"]
    recs = recs[: args.limit] if args.limit else recs
    lmk_cls = reg.landmarker("mediapipe_litert")
    plugin = sys.modules[lmk_cls.__module__]
    variants = {"v1": v1_prefiltered, "v2": plugin._prefiltered}
    lmk, settings = lmk_cls(), HRSettings()
    head = "| recording | POS SNR dB v1 / v2 | green SNR dB v1 / v2 | POS HR v1 / v2 | HR ref | CPU ms/frame v1 / v2 |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    rows = []
    try:
        for rec in recs:
            ref = rate.reference_hr(rec, settings)
            got: dict[str, tuple[float, float, float]] = {}
            for name, fn in variants.items():
                plugin._prefiltered = fn
                pts, bgr, _, seconds = rate.located(rec, lmk, 1)  # the mesh on every frame, face_skin measured
                ms = 1e3 * seconds / max(len(pts), 1)
                rgb = bgr[:, ::-1]
                pulse = rate.pos_pulse(rgb, rec.fps, settings)
                green = rgb[np.isfinite(rgb).all(axis=1), 1].astype(np.float64)
                got[name] = (rate.snr_db(pulse, rec.fps, ref, settings), float(spectral_hr(pulse, rec.fps, settings)),
                             ms, rate.snr_db(green, rec.fps, ref, settings))
            rows.append((ref, got))
            (s1, h1, m1, g1), (s2, h2, m2, g2) = got["v1"], got["v2"]
            lines.append(f"| {rec.id} | {s1:.2f} / {s2:.2f} | {g1:.2f} / {g2:.2f} | {h1:.1f} / {h2:.1f} | {ref:.1f} "
                         f"| {m1:.2f} / {m2:.2f} |")
            print(lines[-1], flush=True)
    finally:
        plugin._prefiltered = variants["v2"]
    d = np.array([g["v2"][0] - g["v1"][0] for _, g in rows])
    e1 = np.array([abs(g["v1"][1] - ref) for ref, g in rows])
    e2 = np.array([abs(g["v2"][1] - ref) for ref, g in rows])
    ms1, ms2 = np.mean([g["v1"][2] for _, g in rows]), np.mean([g["v2"][2] for _, g in rows])
    dg = np.array([g["v2"][3] - g["v1"][3] for _, g in rows])

    def paired(diff: np.ndarray) -> str:
        p = stats.wilcoxon(diff).pvalue if len(diff) >= 6 and np.any(diff != 0) else float("nan")
        verdict = ("not distinguishable" if not (np.isfinite(p) and p < 0.05)
                   else ("v2 higher" if diff.mean() > 0 else "v2 lower"))
        return (f"mean {diff.mean():+.3f} dB, median {np.median(diff):+.3f} dB (Wilcoxon signed-rank p = {p:.2g}: "
                f"{verdict})")

    summary = (
        f"\n{len(rows)} recordings. SNR v2 minus v1: POS pulse {paired(d)}; green trace {paired(dg)}. "
        f"HR error against the reference: mean {e1.mean():.2f} bpm (v1), {e2.mean():.2f} bpm (v2). "
        f"CPU per frame (decode + mesh + face_skin): {ms1:.2f} ms (v1), {ms2:.2f} ms (v2).\n"
    )
    print(summary)
    if args.out:
        args.out.write_text("\n".join([
            "# Face-mesh crop pre-shrink: fractional INTER_AREA (v1) against integer factor (v2)",
            "",
            f"Generated by `python benchmarks/landmarker_prefilter.py --dataset {args.dataset}"
            f"{f' --limit {args.limit}' if args.limit else ''} --out {args.out}` on {_dt.date.today().isoformat()} "
            f"(load average {os.getloadavg()[0]:.2f}). Columns and method: the script's docstring.",
            "", *lines, summary,
        ]))


if __name__ == "__main__":
    main()
