"""The camera: frame clock, auto exposure, white balance, sensor noise, tone curve, codec.

Each stage is one a consumer webcam really has, with the artefact it really
leaves in rPPG traces:

* **Frame clock.**  Frames arrive at a nominal rate (30 fps) from a clock a
  few hundred ppm off, with ~1 ms timing jitter and rare dropped frames (the
  next frame simply comes one period later).  The actual capture times are
  written to ``timestamps.csv``, as VIPL-HR ships ``time.txt``.
* **Auto exposure (AE).**  Exposure time up to one frame period, then analog
  gain up to ``MAX_GAIN``; the controller moves the exposure towards a
  mid-grey target with a lag (time constant ~0.7 s) and a dead band, so light
  changes cause visible transients and steps, and slow hunting adds a drift.
  In dim light it runs out of range: the picture is darker *and* noisier.
* **Flicker.**  Mains lighting modulates at twice the mains frequency
  (100/120 Hz); each frame integrates it over its exposure time, so short
  exposures (bright scenes) see it, and the jittered frame times alias it
  into the video band.
* **Sensor noise.**  Shot noise (Poisson, Gaussian approximation: variance
  proportional to the signal in electrons) and read noise, scaled by the
  analog gain.  Full well and read noise are those of a small-pixel webcam
  sensor.  Per-frame noise fields are slices of a per-recording bank of
  Gaussian numbers at random offsets: drawing 230k fresh normals costs ~5 ms
  a frame, more than the rest of the frame, and the random offsets keep
  frames' noise uncorrelated for every practical purpose.
* **Auto white balance (AWB).**  Grey-world gains with a slow lag and
  incomplete adaptation (real AWB leaves part of the illuminant cast),
  applied after the sensor (so noise is amplified per channel).
* **Tone curve and 8 bits.**  Gamma 2.0 (see :mod:`.optics`), then rounding
  to ``uint8`` with saturation: highlights clip, small pulses are quantised.
* **Codec.**  Motion-JPEG in AVI, as many webcams deliver and as OpenCV's
  ``VideoWriter('MJPG')`` writes.  Frames are compressed with OpenCV's
  libjpeg-turbo (``cv2.imencode``, quality set explicitly) and wrapped by a
  small AVI (RIFF) writer here: OpenCV's own MJPEG writer takes ~3 ms a
  frame at 320x240 versus ~0.7 ms for ``imencode``, which is most of the
  generation budget; the container is the standard one OpenCV and FFmpeg read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

#: Exposure in units of the reference exposure (1/120 s at gain 1).
REF_EXPOSURE_S = 1.0 / 120.0
MIN_EXPOSURE_S = 1.0 / 8000.0
MAX_GAIN = 4.0
FULL_WELL_E = 6000.0  # electrons at linear value 1.0 and gain 1
READ_NOISE_E = 4.0
AE_TARGET = 0.20  # mean linear frame value the AE aims for
AE_TAU_S = 0.7
AE_DEADBAND = 0.04  # relative error the AE tolerates before moving
AWB_TAU_S = 2.5
AWB_STRENGTH = 0.75  # fraction of the grey-world correction applied


def frame_times(
    duration: float,
    fps: float,
    rng: np.random.Generator,
    *,
    jitter_s: float = 0.001,
    drop_prob: float = 0.002,
    clock_ppm: float = 150.0,
) -> np.ndarray:
    """Capture times (s) of the frames of a ``duration``-second video."""
    period = (1.0 / fps) * (1.0 + rng.normal(0.0, clock_ppm) * 1e-6)
    n_slots = int(np.ceil(duration / period)) + 4
    slots = np.arange(n_slots, dtype=np.float64)
    # A dropped frame shifts every later frame by one period.
    drops = rng.random(n_slots) < drop_prob
    slots = slots + np.cumsum(drops)
    t = slots * period + rng.normal(0.0, jitter_s, n_slots)
    t = np.maximum.accumulate(np.maximum(t, 0.0) + 1e-6 * slots)  # strictly increasing
    t[0] = max(t[0], 0.0)
    return t[t < duration]


def flicker_gain(
    times: np.ndarray, exposure_s: np.ndarray, hz: float, depth: float, phase: float
) -> np.ndarray:
    """Mean of ``1 + depth*cos(2 pi hz t + phase)`` over each frame's exposure window."""
    if depth <= 0.0:
        return np.ones_like(times)
    x = hz * np.asarray(exposure_s)
    return 1.0 + depth * np.sinc(x) * np.cos(2 * np.pi * hz * (times + exposure_s / 2.0) + phase)


@dataclass
class AutoExposure:
    """Exposure controller; ``exposure`` multiplies scene radiance (1 = reference)."""

    fps: float
    exposure: float = 1.0
    target: float = AE_TARGET

    @property
    def max_exposure(self) -> float:
        return (1.0 / self.fps) / REF_EXPOSURE_S * MAX_GAIN

    @property
    def min_exposure(self) -> float:
        return MIN_EXPOSURE_S / REF_EXPOSURE_S

    def split(self) -> tuple[float, float]:
        """(exposure time in s, analog gain) realising the current exposure."""
        et = min(self.exposure * REF_EXPOSURE_S, 1.0 / self.fps)
        gain = max(1.0, self.exposure * REF_EXPOSURE_S / et)
        return et, gain

    def converge(self, scene_mean: float) -> None:
        self.exposure = float(
            np.clip(self.target / max(scene_mean, 1e-6), self.min_exposure, self.max_exposure)
        )

    def update(self, frame_mean: float, dt: float, target_drift: float = 0.0) -> None:
        """Move towards the target after a frame whose mean linear value was ``frame_mean``."""
        target = self.target * (1.0 + target_drift)
        err = np.log(target / max(frame_mean, 1e-6))
        if abs(err) < AE_DEADBAND:
            return
        step = err * min(1.0, dt / AE_TAU_S)
        self.exposure = float(
            np.clip(self.exposure * np.exp(step), self.min_exposure, self.max_exposure)
        )


@dataclass
class AutoWhiteBalance:
    """Grey-world white balance with lag and partial adaptation (gains per BGR channel)."""

    gains: np.ndarray

    @classmethod
    def converged(cls, channel_means: np.ndarray) -> AutoWhiteBalance:
        awb = cls(np.ones(3))
        awb.gains = awb._target(channel_means)
        return awb

    @staticmethod
    def _target(means: np.ndarray) -> np.ndarray:
        m = np.maximum(np.asarray(means, dtype=np.float64), 1e-6)
        full = m[1] / m  # grey world, green fixed
        return full**AWB_STRENGTH

    def update(self, channel_means: np.ndarray, dt: float) -> None:
        a = min(1.0, dt / AWB_TAU_S)
        self.gains = self.gains * (self._target(channel_means) / self.gains) ** a


class Sensor:
    """Noise, tone curve and quantisation of one recording's frames.

    Works on 4-channel float32 frames (B, G, R, unused): OpenCV's SIMD paths
    are several times faster on 4 channels than on 3, and per-channel
    arithmetic is done at low resolution by the renderer (white balance and
    light colour are folded into its fields), so here only scalars remain.
    As a consequence noise is computed on white-balanced values; real
    cameras apply digital WB gains after the ADC, so per-channel noise
    levels here differ from a real camera's by the WB gain (typically
    within +-20 %), a second-order difference.
    """

    def __init__(self, shape: tuple[int, int], rng: np.random.Generator, bank_frames: int = 4) -> None:
        h, w = shape
        self.shape = (h, w, 4)
        self.n = h * w * 4
        self.bank = rng.standard_normal(self.n * bank_frames + 16, dtype=np.float32)
        self.rng = rng
        self._x = np.empty(self.shape, np.float32)
        self._d = np.empty(self.shape, np.float32)
        self.frame = np.empty(self.shape, np.uint8)  # the current 8-bit frame

    def capture(self, scene: np.ndarray, exposure: float, gain: float) -> np.ndarray:
        """A whole linear frame (H, W, 4) -> 8-bit display frame (H, W, 4; JPEG drops channel 3)."""
        self.start_frame()
        self.capture_band(scene, slice(0, self.shape[0]), exposure, gain)
        return self.frame.copy()

    def start_frame(self) -> None:
        """Draw this frame's noise fields (views into the bank)."""
        self._n_read = self._noise()
        self._n_shot = self._noise()

    def capture_band(self, scene: np.ndarray, rows: slice, exposure: float, gain: float) -> None:
        """Rows ``rows`` of the current frame: linear band x ``exposure`` -> ``self.frame[rows]``.

        ``v = scene * exposure`` is the linear value at analog gain ``gain``,
        with shot-noise variance ``gain * v / FW`` and read-noise variance
        ``(gain * r / FW)^2``.  Read noise is added in linear light; shot
        noise after the square-root tone curve, where it is signal-independent
        (the square root is the variance-stabilising transform of Poisson
        noise: sd ``sqrt(gain / FW) / 2`` to first order).  Same statistics,
        three fewer passes than adding ``sqrt(var) * n`` in linear light.  The
        exposure is carried through the square root (``sqrt(E x) = sqrt(E) sqrt(x)``)
        into the final 8-bit scaling.
        """
        exposure = max(float(exposure), 1e-12)
        read_sd = gain * READ_NOISE_E / FULL_WELL_E
        shot_sd = 0.5 * np.sqrt(gain / FULL_WELL_E)
        n = rows.stop - rows.start
        x, d = self._x[:n], self._d[:n]  # preallocated scratch
        cv2.scaleAdd(self._n_read[rows], read_sd / exposure, scene, dst=x)  # = v / E
        cv2.threshold(x, 0.0, 0.0, cv2.THRESH_TOZERO, dst=x)
        root_e = np.sqrt(exposure)
        cv2.sqrt(x, dst=d)
        cv2.scaleAdd(self._n_shot[rows], shot_sd / root_e, d, dst=d)  # = display / sqrt(E)
        cv2.threshold(d, 0.0, 0.0, cv2.THRESH_TOZERO, dst=d)  # black clips, not reflects
        cv2.convertScaleAbs(d, dst=self.frame[rows], alpha=255.0 * root_e)

    def _noise(self) -> np.ndarray:
        # Offsets on 64-byte boundaries keep OpenCV's SIMD loads aligned (2x faster).
        off = 16 * int(self.rng.integers(0, (len(self.bank) - self.n) // 16))
        return self.bank[off : off + self.n].reshape(self.shape)


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    pad = b"\0" if len(data) % 2 else b""
    return fourcc + struct.pack("<I", len(data)) + data + pad


def _list(kind: bytes, body: bytes) -> bytes:
    return b"LIST" + struct.pack("<I", len(body) + 4) + kind + body


def write_mjpeg_avi(path: Path, jpegs: list[bytes], size: tuple[int, int], fps: float) -> None:
    """Write JPEG frames as a Motion-JPEG AVI (RIFF, one video stream, idx1 index)."""
    w, h = size
    rate = Fraction(fps).limit_denominator(1001)
    n = len(jpegs)
    max_len = max((len(j) for j in jpegs), default=0)
    avih = struct.pack(
        "<IIIIIIIIII16x",
        int(round(1e6 / fps)),
        int(max_len * fps),
        0,
        0x10,
        n,
        0,
        1,
        max_len,
        w,
        h,
    )
    strh = struct.pack(
        "<4s4sIHHIIIIIIIIhhhh",
        b"vids",
        b"MJPG",
        0,
        0,
        0,
        0,
        rate.denominator,
        rate.numerator,
        0,
        n,
        max_len,
        0xFFFFFFFF,
        0,
        0,
        0,
        w,
        h,
    )
    strf = struct.pack("<IiiHH4sIiiII", 40, w, h, 1, 24, b"MJPG", w * h * 3, 0, 0, 0, 0)
    hdrl = _list(
        b"hdrl",
        _chunk(b"avih", avih) + _list(b"strl", _chunk(b"strh", strh) + _chunk(b"strf", strf)),
    )
    movi_parts = []
    index = []
    offset = 4  # offsets in idx1 are relative to the 'movi' list type field
    for data in jpegs:
        c = _chunk(b"00dc", data)
        index.append(struct.pack("<4sIII", b"00dc", 0x10, offset, len(data)))
        movi_parts.append(c)
        offset += len(c)
    movi = _list(b"movi", b"".join(movi_parts))
    idx1 = _chunk(b"idx1", b"".join(index))
    body = b"AVI " + hdrl + movi + idx1
    with open(path, "wb") as fh:
        fh.write(b"RIFF" + struct.pack("<I", len(body)) + body)


def read_mjpeg_avi(path: Path) -> list[bytes]:
    """The JPEG payloads of an AVI written by :func:`write_mjpeg_avi`, in order (its ``00dc`` chunks).

    For fingerprints: decoding the JPEGs with libjpeg-turbo's accurate
    integer IDCT gives the same pixels on every machine, unlike a video
    decoder whose IDCT and colour conversion are picked per CPU.
    """
    data = Path(path).read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"AVI ":
        raise ValueError(f"{path}: not an AVI file")
    movi = data.find(b"LIST", 12)
    while movi != -1 and data[movi + 8 : movi + 12] != b"movi":
        movi = data.find(b"LIST", movi + 4)
    if movi == -1:
        raise ValueError(f"{path}: no movi list")
    end = movi + 8 + struct.unpack_from("<I", data, movi + 4)[0]
    pos, out = movi + 12, []
    while pos + 8 <= end:
        fourcc, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if fourcc == b"00dc":
            out.append(data[pos + 8 : pos + 8 + size])
        pos += 8 + size + (size & 1)
    return out


def encode_jpeg(frame: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of a BGR or BGRA (alpha ignored) uint8 frame."""
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - libjpeg does not fail on valid uint8 arrays
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
