"""Time the landmarkers on real photographs: ms/frame for detect+mesh and for tracking.

Usage::

    python benchmarks/bench_landmarker.py [--frames 60] [--landmarker mediapipe_litert]

Frames are the photos shipped with scikit-image (astronaut) and matplotlib
(Grace Hopper), composited into 640x480 and 320x240 frames, as the synthetic
dataset renders them.  "detect" resets the tracker before every frame (so the
detector cascade runs each time); "track" follows the photo translated
smoothly across the frame, the detector running only on the first frame.
Reported: median and 90th-percentile wall time per frame, single thread.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from hrbench.plugin.host import get_registry


def photos() -> dict[str, np.ndarray]:
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg
    import skimage.data

    return {
        "astronaut": skimage.data.astronaut(),
        "grace_hopper": mpimg.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)),
    }


def composite(photo: np.ndarray, size: tuple[int, int], scale: float, dx: float = 0.0) -> np.ndarray:
    """The photo scaled by ``scale`` and centred (plus ``dx``) on a grey ``size`` = (w, h) frame."""
    w, h = size
    ph, pw = photo.shape[:2]
    a = np.array([[scale, 0, w / 2 - scale * pw / 2 + dx], [0, scale, h / 2 - scale * ph / 2]])
    return cv2.warpAffine(photo, a, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(96, 104, 112))


def stats(ms: list[float]) -> str:
    a = np.asarray(ms)
    return f"median {np.median(a):6.1f} ms  p90 {np.percentile(a, 90):6.1f} ms  (n={len(a)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--landmarker", default="mediapipe_litert")
    args = ap.parse_args()

    cls = get_registry().landmarker(args.landmarker)
    ok, why = cls.available()
    if not ok:
        raise SystemExit(f"{args.landmarker} unavailable: {why}")
    lm = cls()
    for name, photo in photos().items():
        for size, scale in (((640, 480), 0.8), ((320, 240), 0.4)):
            frame = composite(photo, size, scale)
            lm.reset()
            if lm(frame) is None:  # warm-up, and a sanity check
                print(f"{name} {size}: no face found")
                continue
            detect_ms = []
            for _ in range(args.frames):
                lm.reset()
                t = time.perf_counter()
                lm(frame)
                detect_ms.append((time.perf_counter() - t) * 1e3)
            lm.reset()
            track_ms, lost = [], 0
            for i in range(args.frames + 1):
                f = composite(photo, size, scale, dx=0.1 * size[0] * np.sin(2 * np.pi * i / args.frames))
                t = time.perf_counter()
                out = lm(f)
                dt = (time.perf_counter() - t) * 1e3
                lost += out is None
                if i > 0:
                    track_ms.append(dt)
            label = f"{name:12s} {size[0]}x{size[1]}"
            print(f"{label}  detect+mesh: {stats(detect_ms)}")
            print(f"{label}  tracking:    {stats(track_ms)}  lost={lost}")


if __name__ == "__main__":
    main()
