"""Should extraction locate landmarks on every frame, or at ~15 Hz and interpolate between?

    python benchmarks/landmark_rate.py [--dataset synthetic] [--per-scenario 1]
                                       [--out leaderboards/studies/landmark-rate.md]

Why the question: the face mesh costs more than decoding the frame, and it
is what keeps extraction below a third of the decode rate
(``benchmarks/bench_extraction.py``).  Locating landmarks on every other
frame of a 30 fps video and interpolating between would cut a third of the
extraction time; this study measures what it does to the traces.  hrbench
extracts with landmarks on every frame (as pyVHR does); the 15 Hz schedule
lives only here, in :func:`keyframe_landmarks`.

For each recording (by default the first of every scenario of the embedded
dataset), the video is decoded twice and the landmarker run

* on every frame (stride 1, what a run does), and
* on every ``landmark_stride(fps)``-th frame, the frames between getting
  landmarks interpolated (:func:`keyframe_landmarks`),

and the two are compared where it matters for rPPG:

* ``lm diff``: RMS distance of the interpolated 68 points to the points
  located on the same frame, in % of the inter-ocular (outer eye corner)
  distance, mean and 95th percentile over the frames that were interpolated;
* ``jitter``: the landmarker's own frame-to-frame noise on the every-frame
  run, measured the same way (distance of each frame's points to the
  midpoint of its two neighbours) -- the scale the difference is judged on;
* ``HR``: POS pulse of each ``face_skin`` trace over the whole video, heart
  rate by :func:`hrbench.pulse.hr.spectral_hr`, and the reference's;
* ``SNR``: of each POS pulse, in dB: periodogram power within 6 bpm of the
  reference HR and of its first harmonic over the rest of the 42-240 bpm
  band (de Haan & Jeanne 2013's SNR) -- how clean the trace is, which is
  what landmark noise would spoil before it moved a heart rate;
* ``calls``: landmarker calls in each run, and CPU seconds of each pass.

The summary line gives the paired SNR difference over the recordings with a
Wilcoxon signed-rank test.  The markdown table goes to ``--out`` (a study
page) and to stdout.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
from scipy import stats

from hrbench.data.recording import Recording
from hrbench.plugin.host import get_registry, get_scheme
from hrbench.pulse.hr import HRSettings, bandpass, spectral_hr
from hrbench.run.threads import apply_threads
from hrbench.traces import traces

#: The landmark rate studied against every frame.
LANDMARK_HZ = 15.0


def landmark_stride(fps: float) -> int:
    """Frames from one located frame to the next at :data:`LANDMARK_HZ`: ``floor(fps / 15)``, at least 1."""
    if not fps > 0:
        return 1
    return max(1, int(fps // LANDMARK_HZ))


def keyframe_landmarks(
    frames: Iterable[np.ndarray], locate: Callable[[np.ndarray], np.ndarray | None], stride: int,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Each frame in order with its landmarks, ``locate`` running on every ``stride``-th frame.

    The frames between two located ones wait (at most ``stride - 1``) until
    the second is located, then get landmarks interpolated linearly between
    the two.  Where either of the two found no face, each waiting frame is
    located on its own, so a lost-face span starts and ends where it would
    with a call on every frame (a loss shorter than the stride between two
    faces is bridged); frames after the last located one are located on
    their own too.  ``stride`` 1 is a call on every frame.
    """
    if stride <= 1:
        for f in frames:
            yield f, locate(f)
        return
    before: np.ndarray | None = None
    waiting: list[np.ndarray] = []
    for i, f in enumerate(frames):
        if i % stride:
            waiting.append(f)
            continue
        pts = locate(f)
        if waiting:
            if before is not None and pts is not None:
                for j, g in enumerate(waiting, start=1):
                    w = np.float32(j / stride)
                    yield g, (1 - w) * before + w * pts
            else:
                for g in waiting:
                    yield g, locate(g)
            waiting = []
        yield f, pts
        before = pts
    for g in waiting:
        yield g, locate(g)


def located(rec: Recording, landmarker: object, stride: int) -> tuple[list[np.ndarray | None], np.ndarray, int, float]:
    """Points per frame, face_skin BGR means per frame (NaN where lost), landmarker calls, CPU seconds."""
    scheme = get_scheme("face_skin")
    calls = 0

    def locate(frame: np.ndarray) -> np.ndarray | None:
        nonlocal calls
        calls += 1
        return landmarker.landmarks_bgr(frame)

    landmarker.reset()
    pts_out, means = [], []
    t0 = time.process_time()
    for frame, pts in keyframe_landmarks(traces.iter_frames(rec.frames, rec.id, bgr=True), locate, stride):
        pts_out.append(pts)
        means.append(np.full(3, np.nan, np.float32) if pts is None else scheme.measure_bgr(frame, pts)[0])
    return pts_out, np.asarray(means), calls, time.process_time() - t0


def iod(p: np.ndarray) -> float:
    return float(np.linalg.norm(p[45] - p[36]))


def rms_pct(a: np.ndarray, b: np.ndarray) -> float:
    return 100.0 * float(np.sqrt(((a - b) ** 2).sum(axis=1).mean())) / max(iod(b), 1e-9)


def pos_pulse(rgb: np.ndarray, fps: float, settings: HRSettings) -> np.ndarray:
    """POS (Wang et al. 2017) over the whole trace (lost frames dropped), through the registered plugin."""
    method = get_registry().method("pos")()
    ok = np.isfinite(rgb).all(axis=1)
    return method.pulse(rgb[ok][None].astype(np.float64), fps, settings)[0]


def snr_db(pulse: np.ndarray, fps: float, hr_bpm: float, settings: HRSettings) -> float:
    x = bandpass(pulse - pulse.mean(), fps, settings.band_hz)
    nfft = int(2 ** np.ceil(np.log2(8 * len(x))))
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)), nfft)) ** 2
    bpm = np.fft.rfftfreq(nfft, 1.0 / fps) * 60.0
    band = (bpm >= settings.band_bpm[0]) & (bpm <= settings.band_bpm[1])
    near = (np.abs(bpm - hr_bpm) <= 6.0) | (np.abs(bpm - 2 * hr_bpm) <= 6.0)
    return float(10 * np.log10(power[band & near].sum() / max(power[band & ~near].sum(), 1e-30)))


def reference_hr(rec: Recording, settings: HRSettings) -> float:
    sig = rec.load_ground_truth()
    if sig.kind == "hr":
        return float(np.nanmedian(sig.values))
    return float(spectral_hr(np.asarray(sig.values, np.float64)[None], sig.fs, settings)[0])


def compare(rec: Recording, landmarker: object, settings: HRSettings) -> dict[str, float]:
    stride = landmark_stride(rec.fps)
    full_pts, full_bgr, full_calls, full_s = located(rec, landmarker, 1)
    kf_pts, kf_bgr, kf_calls, kf_s = located(rec, landmarker, stride)
    both = [i for i in range(len(full_pts)) if i % stride and full_pts[i] is not None and kf_pts[i] is not None]
    diffs = np.array([rms_pct(kf_pts[i], full_pts[i]) for i in both]) if both else np.array([np.nan])
    inner = [i for i in range(1, len(full_pts) - 1) if all(full_pts[j] is not None for j in (i - 1, i, i + 1))]
    jitter = (np.array([rms_pct(full_pts[i], (full_pts[i - 1] + full_pts[i + 1]) / 2) for i in inner]) if inner
              else np.array([np.nan]))
    p_full, p_kf = pos_pulse(full_bgr[:, ::-1], rec.fps, settings), pos_pulse(kf_bgr[:, ::-1], rec.fps, settings)
    ref = reference_hr(rec, settings)
    return {
        "stride": stride, "frames": len(full_pts),
        "lm_mean": float(np.nanmean(diffs)), "lm_p95": float(np.nanpercentile(diffs, 95)),
        "jitter": float(np.nanmean(jitter)),
        "snr_full": snr_db(p_full, rec.fps, ref, settings), "snr_kf": snr_db(p_kf, rec.fps, ref, settings),
        "hr_full": float(spectral_hr(p_full, rec.fps, settings)), "hr_kf": float(spectral_hr(p_kf, rec.fps, settings)),
        "hr_ref": ref,
        "lost_full": int(sum(p is None for p in full_pts)), "lost_kf": int(sum(p is None for p in kf_pts)),
        "calls_full": full_calls, "calls_kf": kf_calls, "s_full": full_s, "s_kf": kf_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--data-root")
    ap.add_argument("--per-scenario", type=int, default=1, help="recordings per scenario (default: %(default)s)")
    ap.add_argument("--landmarker", default="mediapipe_litert")
    ap.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = ap.parse_args()
    apply_threads(1)
    reg = get_registry()
    adapter = reg.dataset(args.dataset)()
    root = Path(args.data_root) if args.data_root else adapter.default_root()
    adapter.prepare(root)
    seen: dict[str, int] = {}
    recs = []
    for r in adapter.scan(root):
        key = r.id.split("_", 1)[-1] if "_" in r.id else r.id
        if r.roi != "full-frame" and seen.get(key, 0) < args.per_scenario:
            seen[key] = seen.get(key, 0) + 1
            recs.append(r)
    landmarker = reg.landmarker(args.landmarker)()
    settings = HRSettings()
    head = ("| recording | fps | stride | frames | lost (every / 15 Hz) | lm diff mean % IOD | lm diff p95 "
            "| jitter % IOD | SNR dB every / 15 Hz | HR every | HR 15 Hz | HR ref | calls every / 15 Hz "
            "| CPU s every / 15 Hz |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    rows = []
    for rec in recs:
        c = compare(rec, landmarker, settings)
        rows.append(c)
        lines.append(
            f"| {rec.id} | {rec.fps:g} | {c['stride']} | {c['frames']} | {c['lost_full']} / {c['lost_kf']} "
            f"| {c['lm_mean']:.2f} | {c['lm_p95']:.2f} | {c['jitter']:.2f} | {c['snr_full']:.1f} / {c['snr_kf']:.1f} "
            f"| {c['hr_full']:.1f} | {c['hr_kf']:.1f} | {c['hr_ref']:.1f} | {c['calls_full']} / {c['calls_kf']} "
            f"| {c['s_full']:.1f} / {c['s_kf']:.1f} |"
        )
        print(lines[-1], flush=True)
    dhr = np.array([abs(c["hr_full"] - c["hr_kf"]) for c in rows])
    dsnr = np.array([c["snr_kf"] - c["snr_full"] for c in rows])
    err_full = np.array([abs(c["hr_full"] - c["hr_ref"]) for c in rows])
    err_kf = np.array([abs(c["hr_kf"] - c["hr_ref"]) for c in rows])
    p = stats.wilcoxon(dsnr).pvalue if len(rows) >= 6 and np.any(dsnr != 0) else float("nan")
    summary = (
        f"\n{len(rows)} recordings. Interpolated landmarks differ from located ones by "
        f"{np.nanmean([c['lm_mean'] for c in rows]):.2f} % "
        f"of the inter-ocular distance on average (the landmarker's own frame-to-frame jitter: "
        f"{np.nanmean([c['jitter'] for c in rows]):.2f} %). SNR at 15 Hz minus every frame: "
        f"mean {dsnr.mean():+.2f} dB, median {np.median(dsnr):+.2f} dB, "
        f"lower on {int((dsnr < 0).sum())} of {len(rows)} recordings "
        f"(Wilcoxon signed-rank p = {p:.2g}). |HR every - HR 15 Hz|: median {np.nanmedian(dhr):.2f} bpm, "
        f"max {np.nanmax(dhr):.2f} bpm; HR error against the reference: mean {np.nanmean(err_full):.2f} bpm "
        f"every frame, {np.nanmean(err_kf):.2f} bpm at 15 Hz. Landmarker CPU: {sum(c['s_kf'] for c in rows):.0f} s "
        "at 15 Hz against "
        f"{sum(c['s_full'] for c in rows):.0f} s on every frame (decode, mesh and face_skin included).\n"
    )
    if np.isfinite(p) and p < 0.05:
        verdict = (f"Verdict: at 15 Hz the traces' SNR is {'lower' if dsnr.mean() < 0 else 'higher'} "
                   f"(p = {p:.2g} < 0.05), so extraction "
                   f"{'keeps landmarks on every frame' if dsnr.mean() < 0 else 'could use 15 Hz'}.")
    else:
        verdict = f"Verdict: SNR at 15 Hz and on every frame are not distinguishable here (p = {p:.2g})."
    summary += "\n" + verdict + "\n"
    print(summary)
    if args.out:
        page = [
            "# Landmark rate: every frame against ~15 Hz with interpolation",
            "",
            f"Generated by `python benchmarks/landmark_rate.py --dataset {args.dataset} "
            f"--per-scenario {args.per_scenario}"
            f" --out {args.out}` on {_dt.date.today().isoformat()} (landmarker `{args.landmarker}`, "
            f"load average {os.getloadavg()[0]:.2f}). Columns are explained in the script's docstring.",
            "",
            *lines,
            summary,
        ]
        args.out.write_text("\n".join(page))


if __name__ == "__main__":
    main()
