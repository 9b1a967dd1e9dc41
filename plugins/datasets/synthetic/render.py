"""Render one recording: subject layers + trajectories + camera -> files on disk.

Per frame, in linear light (BGR, float32):

1. **Geometry.**  The person layer (albedo + matte, pre-placed on a canvas
   with a margin around the frame) is resampled with ``cv2.remap``.  The
   sampling map blends a head transform (translation, scale, roll about the
   neck, yaw/pitch rendered as foreshortening about the face centre) and a
   body transform (a damped translation) across the neck, and adds the
   talking jaw displacement.  The maps are computed on a 4x coarser grid
   and upsampled -- bilinear interpolation of an affine map is exact, and
   it is 16x less arithmetic.  The background plate stays still.
2. **Light and pulse field** (at 1/4 resolution, in head coordinates,
   then warped like the head): shading ratio from the height-field normals
   under the current light direction (rotated into the head's frame), the
   pulsatile blood volume ``P = sum_k W_k(x) * bvp(t - delay_k)`` over the
   facial regions, and the Blinn-Phong specular term ``k_s * (n.h)^q``,
   combined into one factor on the albedo:
   ``F = L_rgb * (shading * (1 - kappa_rgb * P) + specular / albedo_low)``.
   Writing the specular part relative to the low-resolution albedo keeps it
   light-coloured at low spatial frequency while skin texture modulates it
   (as pores and wrinkles do with real highlights), and saves a full-frame
   pass.  Pulse and shading are spatially smooth, so low resolution loses
   nothing visible (the skin mask's edges are blurred by ~2 pixels).
3. **Compose**: ``scene = blend(albedo * F, background * L_bg, matte)``.
4. **Camera** (:mod:`.camera`): exposure (AE, flicker), noise, white balance
   (folded into ``L_rgb`` above), gamma, 8 bits, JPEG.

Steps 1 (the full-resolution resampling), 3 and 4 run band by band (~30
rows) on preallocated 4-channel float32 buffers: the ~12 element-wise
passes then stay in cache, which made a frame ~2x cheaper than whole-frame
passes with fresh allocations (~4.4 ms of CPU per 640x480 frame in all,
measured by ``benchmarks/bench_synthetic.py``).

The pulse amplitude ``PULSE_AMPLITUDE`` (1 % relative peak-to-peak in green
on well-perfused cheeks of light skin, before tone and subject factors) is
our choice: it gives facial-mean green pulses of roughly 0.2-0.6 grey
levels, the magnitude seen in uncompressed webcam recordings of light skin.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import camera, faces, h264, optics
from .dynamics import REFERENCE_LIGHT, Trajectories, make_trajectories
from .interference import ScreenLight
from .physiology import CardioSignal
from .population import RecordingPlan
from .scenarios import SCENARIOS
from .settings import GENERATOR_VERSION, SyntheticSettings

LOW = 4  # resolution factor of the smooth fields
MARGIN_FRAC = 0.2  # canvas margin around the frame, fraction of the frame width
FACE_WIDTH_FRAC = 0.30  # face-outline width / frame width at the nominal distance
PULSE_AMPLITUDE = 0.010
SPEC_STRENGTH = 0.05
SHININESS = 12  # whole: the lobe is computed by products (optics.pow_int)
METER_EVERY = 3  # frames between auto-exposure / white-balance updates
BAND_PIXELS = 19200  # pixels per band of the per-frame pipeline (30 rows at 640 wide)

BVP_FILE = "bvp.csv"
TIMESTAMPS_FILE = "timestamps.csv"
VIDEO_FILE = "video.avi"
INFO_FILE = "info.json"


@contextmanager
def deterministic_opencv() -> Iterator[None]:
    """Within the block OpenCV computes the same bits on every x86-64 CPU: one thread, no dispatch, no IPP.

    Why: OpenCV picks code per CPU at run time -- IPP's SSE4.2 / AVX2 /
    AVX-512 paths and its own AVX2/FMA3 kernels (``GaussianBlur``,
    ``resize``, ``remap``, ``scaleAdd``, ``blendLinear`` ...) -- and they
    round differently in the last bits.  Rendered on another machine, the
    same dataset came out with other 8-bit pixels, other JPEG bytes, other
    auto-exposure steps, and POS errors up to 41 bpm apart on single videos.
    ``setUseOptimized(False)`` switches all of that off for the
    build's baseline (SSE2/SSE3) code, which every x86-64 CPU runs
    identically (measured: ~15 % slower rendering).  Threads are 1 as well:
    OpenCV's parallel loops split some reductions by thread.  The previous
    settings are restored afterwards (the process may use OpenCV for other
    work, e.g. trace extraction).
    """
    threads, optimized, ipp = cv2.getNumThreads(), cv2.useOptimized(), cv2.ipp.useIPP()
    cv2.setNumThreads(1)
    cv2.setUseOptimized(False)
    cv2.ipp.setUseIPP(False)
    try:
        yield
    finally:
        cv2.setUseOptimized(optimized)
        cv2.ipp.setUseIPP(ipp)
        cv2.setNumThreads(threads)


@lru_cache(maxsize=2)
def _subject_layers(look: faces.Look) -> faces.FaceLayers:
    with deterministic_opencv():
        return faces.subject_layers(look)


def _dot3(v: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``v @ n`` for a 3-vector and a (3, N) array, as three products and two sums.

    No BLAS: see optics.matmul_exact.
    """
    return v[0] * n[0] + v[1] * n[1] + v[2] * n[2]


def _prefilter(img: np.ndarray, factor: float) -> np.ndarray:
    """Anti-alias before shrinking by ``factor`` (< 1)."""
    if factor >= 1.0:
        return img
    sigma = 0.45 * np.sqrt(1.0 / factor**2 - 1.0)
    out = np.empty_like(img)
    for c0 in range(0, img.shape[-1], 4):
        out[..., c0 : c0 + 4] = _as3d(cv2.GaussianBlur(np.ascontiguousarray(img[..., c0 : c0 + 4]), (0, 0), sigma))
    return out


def _as3d(a: np.ndarray) -> np.ndarray:
    return a if a.ndim == 3 else a[..., None]


def _warp(img: np.ndarray, m: np.ndarray, size: tuple[int, int], border: int) -> np.ndarray:
    out = np.empty((size[1], size[0], img.shape[-1]), np.float32)
    for c0 in range(0, img.shape[-1], 4):
        out[..., c0 : c0 + 4] = _as3d(cv2.warpAffine(np.ascontiguousarray(img[..., c0 : c0 + 4]), m, size,
                                                     flags=cv2.INTER_LINEAR, borderMode=border))
    return out


@dataclass
class Canvas:
    """A subject placed in one recording's frame, ready for per-frame rendering."""

    person: np.ndarray  # (H + 2m, W + 2m, 4): albedo BGR + matte
    background: np.ndarray  # (H, W, 4): BGR + 0
    normals: np.ndarray  # (3, hc, wc) low-res canvas
    head: np.ndarray  # (hc, wc)
    pulse_maps: np.ndarray  # (K, hc, wc): relative green modulation per unit blood volume
    spec: np.ndarray  # (hc, wc)
    shade_ref: np.ndarray  # (hc, wc)
    albedo_low: np.ndarray  # (hc, wc, 3)
    margin: int
    landmarks: faces.Landmarks  # frame coordinates, nominal pose


def build_canvas(
    layers: faces.FaceLayers, size: tuple[int, int], face_width: float, centre: tuple[float, float],
    pulse_gain: np.ndarray,
) -> Canvas:
    w, h = size
    m = int(round(MARGIN_FRAC * w / LOW)) * LOW
    lm = layers.landmarks
    s = face_width / lm.face_box[2]
    tx, ty = centre[0] - s * lm.centre[0], centre[1] - s * lm.centre[1]
    stack = layers.stack()
    # Feather the photo's borders (left, right, top) so that a frame seeing beyond
    # the photo (small, far faces) shows no hard rectangle: the person fades out and
    # the backdrop cross-fades into a smooth extension of itself.
    ph, pw = stack.shape[:2]
    fade = 0.06 * min(ph, pw)
    yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float32)
    edge = np.minimum(np.minimum(xx, pw - 1 - xx), yy)
    border = np.clip(edge / fade, 0.0, 1.0)
    # The body continues below the photo (replicated bottom rows).
    person_src = np.concatenate([stack[..., 0:3], (stack[..., 6] * border)[..., None]], axis=-1)
    pad = ph // 2
    person_src = cv2.copyMakeBorder(person_src, 0, pad, 0, 0, cv2.BORDER_REPLICATE)
    person = _warp(_prefilter(person_src, s), np.float32([[s, 0, tx + m], [0, s, ty + m]]), (w + 2 * m, h + 2 * m),
                   cv2.BORDER_CONSTANT)
    bg_src = np.concatenate([stack[..., 3:6] * border[..., None], border[..., None]], axis=-1)
    background = _warp(_prefilter(bg_src, s), np.float32([[s, 0, tx], [0, s, ty]]), (w, h), cv2.BORDER_CONSTANT)
    cover = np.clip(background[..., 3], 0.0, 1.0)
    if cover.min() < 0.999:
        own = np.ascontiguousarray(background[..., :3]) / np.maximum(cover, 1e-3)[..., None]
        filled = faces.fill_holes(own, (cover < 0.5).astype(np.float32))
        background[..., :3] = cover[..., None] * own + (1.0 - cover[..., None]) * filled
    background[..., 3] = 0.0
    k = len(faces.REGIONS)
    low_src = _prefilter(np.ascontiguousarray(stack[..., 7:]), s / LOW)  # skin, regions, height, spec, head
    sl = s / LOW
    low = _warp(low_src, np.float32([[sl, 0, (tx + m - 1.5) / LOW], [0, sl, (ty + m - 1.5) / LOW]]),
                ((w + 2 * m) // LOW, (h + 2 * m) // LOW), cv2.BORDER_CONSTANT)
    low_m = np.float32([[sl, 0, (tx + m - 1.5) / LOW], [0, sl, (ty + m - 1.5) / LOW]])
    albedo_low = _warp(_prefilter(np.ascontiguousarray(person_src[..., :3]), sl), low_m,
                       ((w + 2 * m) // LOW, (h + 2 * m) // LOW), cv2.BORDER_CONSTANT)
    regions = np.moveaxis(low[..., 1 : 1 + k], -1, 0)
    height = low[..., 1 + k] * s  # in full-resolution pixels
    normals = optics.normals_from_height(height, scale=1.0 / LOW)
    return Canvas(
        person=np.ascontiguousarray(person), background=np.ascontiguousarray(background),
        normals=normals, head=np.ascontiguousarray(low[..., 3 + k]),
        pulse_maps=(regions * pulse_gain[:, None, None]).astype(np.float32),
        spec=np.ascontiguousarray(low[..., 2 + k]),
        shade_ref=optics.lambert(normals, REFERENCE_LIGHT).astype(np.float32),
        albedo_low=albedo_low,
        margin=m,
        landmarks=lm.transformed(lambda p: p * s + np.array([tx, ty])),
    )


def _head_matrix(
    t: Trajectories, i: int, fw: float, face_c: np.ndarray, pivot: np.ndarray, m: float
) -> np.ndarray:
    """3x3 canvas -> frame transform of the head at frame ``i``."""
    cx, cy = face_c
    px, py = pivot

    def T(x: float, y: float) -> np.ndarray:
        return np.array([[1, 0, x], [0, 1, y], [0, 0, 1]], dtype=np.float64)

    cr, sr = np.cos(t.roll[i]), np.sin(t.roll[i])
    rot = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    fore = np.diag([np.cos(t.yaw[i]), np.cos(t.pitch[i]), 1.0])
    sc = np.diag([t.scale[i], t.scale[i], 1.0])
    shift = T(t.tx[i] * fw + 0.45 * fw * np.sin(t.yaw[i]), t.ty[i] * fw + 0.30 * fw * np.sin(t.pitch[i]))
    out = shift
    for f in (T(cx, cy), sc, T(-cx, -cy), T(px, py), rot, T(-px, -py), T(cx, cy), fore, T(-cx, -cy), T(-m, -m)):
        out = optics.matmul_exact(out, f)
    return out


class _ActivePixels:
    """The canvas's low-resolution fields, flattened and restricted to the "active" pixels.

    Active: the head (curved normals, skin, highlights).  Elsewhere normals
    are flat, so the field is one value per channel; this cuts the per-frame
    work ~5x.
    """

    def __init__(self, canvas: Canvas) -> None:
        hc, wc = canvas.head.shape
        self.shape = (hc, wc)
        normals = canvas.normals.reshape(3, -1).astype(np.float32)
        head = canvas.head.reshape(-1).astype(np.float32)
        spec = canvas.spec.reshape(-1).astype(np.float32)
        pulse_maps = canvas.pulse_maps.reshape(len(canvas.pulse_maps), -1).astype(np.float32)
        curved = np.abs(normals[0]) + np.abs(normals[1]) > 1e-4
        active = curved | (head > 1e-4) | (spec > 1e-4) | (pulse_maps.sum(axis=0) > 0)
        self.index = np.flatnonzero(active)
        self.n = hc * wc
        self.normals = np.ascontiguousarray(normals[:, self.index])
        self.head = head[self.index]
        self.pulse = np.ascontiguousarray(pulse_maps[:, self.index])
        self.inv_ref = (1.0 / canvas.shade_ref.reshape(-1)[self.index]).astype(np.float32)
        spec_act = spec[self.index]
        self.spec_idx = np.flatnonzero(spec_act > 1e-4)  # specular only where there is skin
        self.spec = spec_act[self.spec_idx]
        # Specular enters as albedo x (S / albedo_low): light-coloured at low
        # frequency, modulated by skin texture (pores and wrinkles do that to real highlights).
        alb = canvas.albedo_low.reshape(-1, 3)[self.index][self.spec_idx].T
        self.inv_albedo_spec = (1.0 / np.maximum(alb, 0.01)).astype(np.float32)


class FrameRenderer:
    """Linear-light radiance of each frame of one recording.

    Per-frame poses, rotations and light directions are turned into arrays
    up front; the per-frame work is a handful of OpenCV calls on 4-channel
    float32 images (OpenCV's fastest layout) plus small low-resolution fields.
    """

    def __init__(self, canvas: Canvas, traj: Trajectories, size: tuple[int, int], kappa_bgr: np.ndarray) -> None:
        self.c = canvas
        self.traj = traj
        self.w, self.h = size
        self.kappa = kappa_bgr.astype(np.float32)
        lm = canvas.landmarks
        x0, y0, fw, fh = lm.face_box
        self.fw, self.fh = fw, fh
        self.face_c = lm.centre
        self.pivot = np.array([lm.centre[0], lm.chin[1] + 0.15 * fh])
        self.neck_y = lm.chin[1] + 0.12 * fh
        self.mouth_c = 0.5 * (lm.mouth_a + lm.mouth_b)
        self.mouth_w = float(optics.norm_exact(lm.mouth_b - lm.mouth_a))
        self.mouth_chin = float(lm.chin[1] - self.mouth_c[1])
        self.jaw_px = 0.18 * self.mouth_chin
        wl, hl = self.w // LOW, self.h // LOW
        # Coarse grid: centres of the LOW x LOW blocks, with one extra cell on each side.
        ux = LOW * np.arange(-1, wl + 1) + (LOW - 1) / 2.0
        uy = LOW * np.arange(-1, hl + 1) + (LOW - 1) / 2.0
        self.gx, self.gy = np.meshgrid(ux, uy)
        n = len(traj.tx)
        # Per-frame geometry and light, vectorised.
        self.inv_head = optics.affine_inverse(
            np.stack([_head_matrix(traj, i, fw, self.face_c, self.pivot, canvas.margin) for i in range(n)])
        )
        rots = np.stack([optics.rotation_matrix(traj.yaw[i], traj.pitch[i], traj.roll[i]) for i in range(n)])
        self.l_head = optics.matmul_exact(traj.light_dir[:, None, :], rots)[:, 0].astype(np.float32)  # R^T l
        half = self.l_head + np.array([0.0, 0.0, 1.0], np.float32)
        self.half = (half / optics.norm_exact(half, axis=1, keepdims=True)).astype(np.float32)
        lz = np.maximum(traj.light_dir[:, 2], 0.0)
        self.bg_ratio = (optics.AMBIENT + (1 - optics.AMBIENT) * lz) / (
            optics.AMBIENT + (1 - optics.AMBIENT) * max(REFERENCE_LIGHT[2], 0.0))
        self.low = _ActivePixels(canvas)
        self._bg_gain: np.ndarray | None = None
        self._bg = canvas.background
        h, w = self.h, self.w
        self.band_rows = max(8, BAND_PIXELS // w)
        self._map_buf = np.empty((h + 2 * LOW, w + 2 * LOW, 2), np.float32)
        self._field = np.empty((h, w, 4), np.float32)
        r = self.band_rows
        buf = [np.empty((r, w, 4), np.float32), np.empty((r, w), np.float32), np.empty((r, w), np.float32),
               np.empty((r, w, 4), np.float32), np.empty((r, w, 4), np.float32)]  # person, matte, 1-matte, lit, scene
        self._rows = [slice(r0, min(h, r0 + r)) for r0 in range(0, h, r)]
        self._bands = [[a[: sl.stop - sl.start] for a in buf] for sl in self._rows]

    def maps(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution (H, W, 2) and low-resolution (hl, wl, 2) sampling maps of frame ``i``.

        Full-resolution maps are in canvas pixels, low-resolution ones in
        low-res canvas pixels.
        """
        t = self.traj
        inv = self.inv_head[i]
        gx, gy = self.gx, self.gy
        m = self.c.margin
        bx = gx + (m - t.body_tx[i] * self.fw)
        by = gy + (m - t.body_ty[i] * self.fw)
        head_dy = t.ty[i] * self.fw
        band = 0.25 * self.fh
        wgt = np.clip((self.neck_y + head_dy + band - gy) / (2 * band), 0.0, 1.0)
        coarse = np.empty(gx.shape + (2,), np.float32)
        coarse[..., 0] = bx + wgt * (inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2] - bx)
        my = by + wgt * (inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2] - by)
        if t.jaw[i] > 0:
            ox, oy = self.mouth_c[0] + t.tx[i] * self.fw, self.mouth_c[1] + head_dy
            ramp = np.clip((gy - oy) / max(self.mouth_chin, 1.0), 0.0, 1.0)
            below = np.exp(-0.5 * np.maximum(gy - oy - self.mouth_chin, 0.0) ** 2 / (0.35 * self.fh) ** 2)
            jx = np.exp(-0.5 * ((gx - ox) / (0.9 * self.mouth_w)) ** 2)
            my = my - t.jaw[i] * self.jaw_px * ramp * below * jx
        coarse[..., 1] = my
        cv2.resize(coarse, (self.w + 2 * LOW, self.h + 2 * LOW), dst=self._map_buf, interpolation=cv2.INTER_LINEAR)
        full = self._map_buf[LOW : LOW + self.h, LOW : LOW + self.w]  # a strided view; OpenCV takes it as is
        low = (coarse[1:-1, 1:-1] - np.float32(1.5)) * np.float32(1.0 / LOW)
        return full, low

    def field(self, i: int, pulse: np.ndarray, gains: np.ndarray) -> np.ndarray:
        """(hc, wc, 4) per-pixel factor on the albedo, in low-res canvas coordinates.

        Channels B, G, R: ``gains * (shading * (1 - kappa * P) + specular / albedo)``;
        channel 3 is 1 (it multiplies the matte).  ``gains`` is light colour x
        white balance; light level and exposure are scalars applied by the camera.
        """
        t, a = self.traj, self.low
        n = a.normals
        shade_h = np.maximum(_dot3(self.l_head[i], n), 0.0)
        shade_b = np.maximum(_dot3(t.light_dir[i].astype(np.float32), n), 0.0)
        shade_b += a.head * (shade_h - shade_b)
        shade = (np.float32(optics.AMBIENT) + np.float32(1.0 - optics.AMBIENT) * shade_b) * a.inv_ref
        spec = optics.pow_int(np.maximum(_dot3(self.half[i], n[:, a.spec_idx]), 0.0), SHININESS) * a.spec
        spec *= np.float32(SPEC_STRENGTH * t.spec_gain[i])
        p = optics.matmul_exact(pulse.astype(np.float32)[None, :], a.pulse)[0]
        flat = self.bg_ratio[i]  # shading ratio of flat, camera-facing surfaces
        out = np.empty((4, a.n), np.float32)
        for ch in range(3):
            f = shade * (1.0 - self.kappa[ch] * p)
            f[a.spec_idx] += spec * a.inv_albedo_spec[ch]
            out[ch].fill(flat)
            out[ch, a.index] = f
            out[ch] *= np.float32(gains[ch])
        out[3] = 1.0
        return cv2.merge(list(out)).reshape(a.shape + (4,))

    def _background(self, gain: np.ndarray) -> np.ndarray:
        """Background plate x per-channel gain, recomputed only when the gain moved by > 0.03 %."""
        if self._bg_gain is None or np.max(np.abs(gain / self._bg_gain - 1.0)) > 3e-4:
            self._bg_gain = gain.copy()
            self._bg = cv2.multiply(self.c.background, (float(gain[0]), float(gain[1]), float(gain[2]), 0.0))
        return self._bg

    def bands(self, i: int, pulse: np.ndarray, gains: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
        """Frame ``i`` in light-level units, as (rows, (r, W, 4) array) bands (channel 3 unused).

        Why bands: a frame is a chain of ~12 element-wise passes over 1 MB
        float arrays; done band by band (~60 rows, a few hundred kB) the chain
        stays in cache and all buffers are preallocated -- together about 3x
        faster than whole-frame passes with fresh allocations.  Each yielded
        array is a reused buffer, valid until the next band is requested.
        """
        full_map, low_map = self.maps(i)
        f = cv2.remap(self.field(i, pulse, gains), low_map, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        cv2.resize(f, (self.w, self.h), dst=self._field, interpolation=cv2.INTER_LINEAR)
        bg = self._background(np.asarray(gains, dtype=np.float64) * self.bg_ratio[i])
        person_src = self.c.person
        field = self._field
        for rows, (person, matte, inv_matte, lit, scene) in zip(self._rows, self._bands, strict=True):
            cv2.remap(person_src, full_map[rows], None, cv2.INTER_LINEAR, dst=person, borderMode=cv2.BORDER_REPLICATE)
            cv2.extractChannel(person, 3, dst=matte)
            np.subtract(np.float32(1.0), matte, out=inv_matte)
            cv2.multiply(person, field[rows], dst=lit)
            yield rows, cv2.blendLinear(lit, bg[rows], matte, inv_matte, dst=scene)

    def radiance(self, i: int, pulse: np.ndarray, gains: np.ndarray) -> np.ndarray:
        """The whole frame ``i`` (H, W, 4) in light-level units (a new array)."""
        out = np.empty((self.h, self.w, 4), np.float32)
        for rows, band in self.bands(i, pulse, gains):
            out[rows] = band
        return out


def _meter(scene: np.ndarray) -> np.ndarray:
    """Mean B, G, R of a frame (the statistics AE and AWB work from)."""
    return np.asarray(cv2.mean(scene)[:3])


def _lum(bgr_means: np.ndarray) -> float:
    return float(0.114 * bgr_means[0] + 0.587 * bgr_means[1] + 0.299 * bgr_means[2])


def recording_fingerprint(out_dir: Path) -> str:
    """SHA-256 of a rendered recording's content: decoded frames, reference BVP and frame times.

    What a board compares to know it benchmarks the same data.  Frames are
    decoded from the AVI's JPEGs by libjpeg-turbo (accurate integer IDCT,
    with OpenCV in its deterministic mode), not by the video decoder, whose
    CPU-specific IDCT and colour conversion would make the fingerprint
    machine-dependent even for identical files.  H.264 recordings are
    hashed as their decoded YUV planes (:func:`.h264.update_hash`).
    """
    out_dir = Path(out_dir)
    h = hashlib.sha256()
    if (out_dir / h264.VIDEO_FILE).is_file():  # a long recording: H.264 decodes bit-exactly everywhere
        h264.update_hash(h, out_dir / h264.VIDEO_FILE)
    else:
        with deterministic_opencv():
            for jpeg in camera.read_mjpeg_avi(out_dir / VIDEO_FILE):
                frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                if frame is None:
                    raise ValueError(f"{out_dir / VIDEO_FILE}: a frame does not decode")
                h.update(f"{frame.shape}".encode())
                h.update(np.ascontiguousarray(frame).tobytes())
    for name in (BVP_FILE, TIMESTAMPS_FILE):
        h.update(name.encode())
        h.update((out_dir / name).read_bytes())
    return h.hexdigest()


class _MjpegWriter:
    """Frames in, a Motion-JPEG AVI out on close (:func:`.camera.write_mjpeg_avi`).

    The interface of :class:`.h264.H264Writer`.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float, quality: int) -> None:
        self.path, self.size, self.fps, self.quality = path, size, fps, quality
        self.jpegs: list[bytes] = []

    def write(self, frame: np.ndarray) -> None:
        self.jpegs.append(camera.encode_jpeg(frame, self.quality))

    def __enter__(self) -> _MjpegWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            camera.write_mjpeg_avi(self.path, self.jpegs, self.size, self.fps)


def _capture(times: np.ndarray, traj: Trajectories, renderer: FrameRenderer, pulses: np.ndarray,
             ae: camera.AutoExposure, awb: camera.AutoWhiteBalance, sensor: camera.Sensor,
             writer: _MjpegWriter | h264.H264Writer) -> np.ndarray:
    """Every frame through exposure, white balance and the sensor into ``writer``; the AE's exposure per frame."""
    exposures = np.empty(len(times))
    for i in range(len(times)):
        gains = traj.colour[i] * awb.gains
        et, gain = ae.split()
        flick = float(camera.flicker_gain(times[i : i + 1], np.array([et]), traj.flicker_hz, traj.flicker_depth,
                                          traj.flicker_phase)[0])
        exposure = ae.exposure * flick
        exposures[i] = ae.exposure
        # Statistics every METER_EVERY frames (webcam AE/AWB loops run slower than the
        # frame rate): AE sees the white-balanced frame, AWB the raw colour.
        meter = i % METER_EVERY == 0 and i + 1 < len(times)
        sums = np.zeros(3)
        sensor.start_frame()
        for rows, band in renderer.bands(i, pulses[:, i], gains):
            sensor.capture_band(band, rows, exposure * traj.level[i], gain)
            if meter:
                sums += np.asarray(cv2.mean(band)[:3]) * (rows.stop - rows.start)
        writer.write(sensor.frame)
        if meter:
            means = sums / sensor.shape[0] * exposure * traj.level[i]
            dt = float(times[min(i + METER_EVERY, len(times) - 1)] - times[i])
            ae.update(_lum(means), dt, float(traj.ae_drift[i]))
            awb.update(means / awb.gains, dt)
    return exposures


def render_recording(plan: RecordingPlan, settings: SyntheticSettings, out_dir: Path) -> dict:
    """Render ``plan`` into ``out_dir`` (video, BVP, timestamps, info); return the info dict.

    The same bytes on every x86-64 machine with the pinned packages: see
    :func:`deterministic_opencv` and :func:`.optics.matmul_exact`.
    """
    with deterministic_opencv():
        return _render_recording(plan, settings, out_dir)


def _render_recording(plan: RecordingPlan, settings: SyntheticSettings, out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([*plan.seed, 7])
    sc = SCENARIOS[plan.scenario]
    subj = plan.subject
    size = settings.size
    w, h = size
    duration = plan.duration_s
    cardio = CardioSignal(plan.cardio, duration, np.random.default_rng([*plan.seed, 8]))
    times = camera.frame_times(duration, settings.fps, rng)
    traj = make_trajectories(times, sc, subj, cardio, duration, rng)

    tone_factor = optics.MELANIN_PULSE_FACTOR[subj.tone]
    amplitude = PULSE_AMPLITUDE * subj.perfusion * sc.perfusion * tone_factor
    screen = ScreenLight.draw(duration, amplitude, np.random.default_rng([*plan.seed, 9])) if plan.long else None
    room_colour = traj.colour.mean(axis=0)
    if screen is not None:
        traj.level, traj.colour = screen.apply(times, traj.level, traj.colour)
    pulse_gain = amplitude * np.asarray(subj.region_perfusion)
    face_width = FACE_WIDTH_FRAC * w * subj.face_size * float(rng.uniform(*sc.face_scale))
    centre = (w * (0.5 + rng.normal(0.0, 0.04)), h * (0.47 + rng.normal(0.0, 0.03)))
    canvas = build_canvas(_subject_layers(subj.look), size, face_width, centre, pulse_gain)
    kappa = optics.rgb_to_bgr(optics.pulse_direction_rgb(subj.tone))
    renderer = FrameRenderer(canvas, traj, size, kappa)
    pulses = np.stack([cardio.blood_volume(times, d) for d in subj.region_delay])  # (K, N)

    # The camera has been running before the recording starts: AWB and AE are converged.
    ae = camera.AutoExposure(settings.fps)
    raw0 = _meter(renderer.radiance(0, pulses[:, 0], traj.colour[0])) * traj.level[0]
    awb = camera.AutoWhiteBalance.converged(raw0)
    ae.converge(_lum(raw0 * awb.gains))
    sensor = camera.Sensor((h, w), rng)
    video_file = h264.VIDEO_FILE if plan.long else VIDEO_FILE
    writer = (h264.H264Writer(out_dir / video_file, size, settings.fps, crf=settings.h264_crf) if plan.long
              else _MjpegWriter(out_dir / video_file, size, settings.fps, settings.jpeg_quality))
    with writer:
        exposures = _capture(times, traj, renderer, pulses, ae, awb, sensor, writer)

    _write_signals(out_dir, cardio, times, duration, settings.bvp_fs)
    info = _recording_info(plan, settings, cardio, times, traj, canvas.landmarks, amplitude, exposures)
    info.update({
        "video": video_file,
        "codec": "h264" if plan.long else "mjpg",
        "codec_quality": f"crf {settings.h264_crf}, {h264.PRESET}" if plan.long else f"jpeg {settings.jpeg_quality}",
        "competitor": screen is not None,
    })
    if screen is not None:
        info.update(screen.info(room_colour))
    (out_dir / INFO_FILE).write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info


def _write_signals(out_dir: Path, cardio: CardioSignal, times: np.ndarray, duration: float, bvp_fs: float) -> None:
    """The reference BVP at ``bvp_fs`` and the frame times, as the dataset's two CSV files."""
    n_bvp = int(round(duration * bvp_fs))
    t_bvp = np.arange(n_bvp) / bvp_fs
    bvp = cardio.reference_bvp(t_bvp)
    lines = ["time_s,bvp"] + [f"{a:.6f},{b:.6f}" for a, b in zip(t_bvp, bvp, strict=True)]
    (out_dir / BVP_FILE).write_text("\n".join(lines) + "\n")
    lines = ["frame,time_s"] + [f"{k},{x:.6f}" for k, x in enumerate(times)]
    (out_dir / TIMESTAMPS_FILE).write_text("\n".join(lines) + "\n")


def _recording_info(
    plan: RecordingPlan, settings: SyntheticSettings, cardio: CardioSignal, times: np.ndarray, traj: Trajectories,
    lm: faces.Landmarks, amplitude: float, exposures: np.ndarray,
) -> dict[str, Any]:
    """``info.json`` of a rendered recording: who, where, under which light, what the camera did."""
    sc, subj, duration = SCENARIOS[plan.scenario], plan.subject, plan.duration_s
    w, h = settings.size
    hr_inst = cardio.instantaneous_hr(times)
    return {
        "id": plan.id,
        "subject": subj.id,
        "scenario": plan.scenario,
        "scenario_description": sc.description,
        "skin_tone": subj.tone,
        "base_photo": subj.look.photo,
        "mirrored": subj.look.mirror,
        "resting_hr": round(subj.resting_hr, 2),
        "mean_hr": round(cardio.mean_hr(0.0, duration, plan.cardio.sensor_delay), 2),
        "hr_min": round(float(hr_inst.min()), 2),
        "hr_max": round(float(hr_inst.max()), 2),
        "resp_rate": round(plan.cardio.resp_rate, 2),
        "perfusion": round(subj.perfusion, 3),
        "pulse_amplitude": round(amplitude, 5),
        "motion_habit": round(subj.motion_habit, 3),
        "light_level": round(traj.light_level, 4),
        "light_cct": round(traj.light_cct, 1),
        "flicker_hz": round(traj.flicker_hz, 3),
        "flicker_depth": round(traj.flicker_depth, 4),
        "mean_exposure": round(float(exposures.mean()), 4),
        "fps": settings.fps,
        "n_frames": len(times),
        "duration_s": duration,
        "frame_size": [w, h],
        "face_box": [round(v, 2) for v in lm.face_box],
        "eyes": [[round(float(v), 2) for v in lm.eye_a], [round(float(v), 2) for v in lm.eye_b]],
        "mouth": [[round(float(v), 2) for v in lm.mouth_a], [round(float(v), 2) for v in lm.mouth_b]],
        "bvp_fs": settings.bvp_fs,
        "bvp": BVP_FILE,
        "timestamps": TIMESTAMPS_FILE,
        "generator_version": GENERATOR_VERSION,
    }
