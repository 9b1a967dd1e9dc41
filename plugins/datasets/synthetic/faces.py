"""Base faces and per-subject looks, in photo coordinates.

Why real photographs: a face detector and landmarker must find the faces
(the runner tracks landmarks on these videos exactly as on real data), and
texture, hair, eyes and clothing make the ROI statistics realistic.  Two
portraits ship inside installed packages and need no download:
scikit-image's ``astronaut`` (Eileen Collins, NASA, public domain) and
matplotlib's ``grace_hopper.jpg`` (US Navy, public domain).  No other
installed package ships a usable one (checked for generator version 4):
scikit-image's ``camera.png`` is CC0 but a grayscale profile half hidden by
a camera, its ``lfw_subset`` is Labeled Faces in the Wild (news photos, not
public domain; 25x25 grayscale), scikit-learn's bundled images and
matplotlib's other sample data show no faces, and SciPy's ``face`` is a
raccoon, downloaded on demand.  So subjects differ by look (tone, warp,
hair, backdrop, mirroring), not by identity beyond these two.

Face geometry of the two fixed photos is hard-coded (eye centres, nose tip,
mouth corners, chin, a face-outline polygon, a person-outline polygon and,
for Grace Hopper, ears and neck), placed by hand on 3x zoomed crops.  Not
running a landmarker at generation time keeps the data independent of the
landmarker plugins (whose outputs may change between versions) and makes
generation deterministic everywhere.

From the geometry and a YCrCb skin-colour test (Chai & Ngan's thresholds)
inside the face outline we derive, once per photo:

* a skin mask (pulse is applied only there; eyes, brows, teeth, glasses
  frames and hair are excluded),
* soft regions (forehead, cheeks, nose, chin, other skin) carrying
  different perfusion and pulse-transit delay,
* a height field (ellipsoidal head + nose) for shading and specular
  reflection, and a T-zone specular map,
* a soft person matte, and a background plate with the person filled in by
  multi-scale normalised convolution (so head motion reveals a plausible
  blurred backdrop instead of a hole).

A *subject* is a photo plus a look: skin re-coloured to a Fitzpatrick tone
(multiplicative in linear light, keeping texture), hair lightness, hue of
clothes and backdrop, mirroring, face aspect ratio and a smooth random
warp.  Everything is deterministic from the look's parameters.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from . import optics

REGIONS = ("forehead", "cheeks", "nose", "chin", "other")


@dataclass(frozen=True)
class PhotoGeometry:
    eyes: tuple[tuple[float, float], tuple[float, float]]  # image-left eye first
    brow_y: float
    nose: tuple[float, float]
    mouth: tuple[tuple[float, float], tuple[float, float]]
    chin: tuple[float, float]
    oval: tuple[tuple[float, float], ...]
    person: tuple[tuple[float, float], ...]
    extra_skin: tuple[tuple[float, float, float, float], ...] = ()  # ellipses cx, cy, ax, ay


GEOMETRY: dict[str, PhotoGeometry] = {
    "astronaut": PhotoGeometry(
        eyes=((205, 101), (247, 102)),
        brow_y=91,
        nose=(226, 127),
        mouth=((203, 145), (245, 143)),
        chin=(225, 178),
        oval=(
            (226, 79),
            (250, 82),
            (263, 95),
            (268, 115),
            (266, 132),
            (260, 150),
            (245, 170),
            (225, 179),
            (206, 170),
            (192, 150),
            (186, 132),
            (182, 115),
            (185, 95),
            (200, 82),
        ),
        person=(
            (225, 12),
            (262, 18),
            (295, 45),
            (303, 90),
            (295, 130),
            (285, 150),
            (305, 185),
            (345, 255),
            (362, 300),
            (365, 345),
            (470, 352),
            (512, 420),
            (512, 512),
            (20, 512),
            (22, 330),
            (40, 270),
            (112, 220),
            (118, 180),
            (150, 150),
            (160, 125),
            (150, 80),
            (165, 40),
            (190, 20),
        ),
    ),
    "grace_hopper": PhotoGeometry(
        eyes=((220, 188), (307, 187)),
        brow_y=176,
        nose=(267, 243),
        mouth=((222, 277), (313, 277)),
        chin=(263, 332),
        oval=(
            (265, 135),
            (305, 137),
            (335, 148),
            (352, 170),
            (356, 200),
            (350, 230),
            (343, 255),
            (337, 280),
            (325, 305),
            (300, 325),
            (263, 334),
            (225, 325),
            (202, 300),
            (196, 280),
            (188, 255),
            (180, 230),
            (174, 200),
            (178, 170),
            (195, 148),
            (225, 137),
        ),
        person=(
            (262, 22),
            (300, 25),
            (345, 55),
            (372, 110),
            (372, 160),
            (380, 200),
            (372, 260),
            (354, 305),
            (400, 338),
            (470, 368),
            (512, 405),
            (512, 600),
            (12, 600),
            (18, 430),
            (60, 372),
            (150, 330),
            (168, 300),
            (152, 245),
            (150, 180),
            (150, 130),
            (172, 62),
            (215, 32),
        ),
        extra_skin=((166, 228, 13, 32), (368, 226, 11, 32), (262, 345, 40, 14)),
    ),
}

BASE_PHOTOS = tuple(GEOMETRY)


#: Where each base photo lives: (package, path inside the package).
PHOTO_FILES = {
    "astronaut": ("skimage", "data/astronaut.png"),
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
}


def photo_fingerprint() -> str:
    """Content hash of the base photos, found without importing their packages.

    Part of the dataset's cache key: should a package upgrade ever change a
    photo, the synthetic data are regenerated instead of silently differing.
    """
    h = hashlib.blake2b(digest_size=8)
    for name, (package, rel) in sorted(PHOTO_FILES.items()):
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        path = Path(locations[0]) / rel if locations else None
        h.update(name.encode())
        h.update(path.read_bytes() if path is not None and path.is_file() else b"missing")
    return h.hexdigest()


def load_photo_rgb(name: str) -> np.ndarray:
    """The base photograph as RGB uint8, from the installed package that ships it."""
    if name == "astronaut":
        from skimage import data

        return np.ascontiguousarray(data.astronaut()[..., :3])
    if name == "grace_hopper":
        import matplotlib.cbook as cbook

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:  # pragma: no cover - the file is part of matplotlib
            raise FileNotFoundError(path)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    raise KeyError(f"unknown base photo {name!r}")


@dataclass(frozen=True)
class Landmarks:
    """Key points of a face (pixel coordinates of whatever image they belong to)."""

    eye_a: np.ndarray  # image-left eye
    eye_b: np.ndarray
    nose: np.ndarray
    mouth_a: np.ndarray
    mouth_b: np.ndarray
    chin: np.ndarray
    oval: np.ndarray  # (n, 2)

    def transformed(self, f) -> Landmarks:
        pts = [
            f(np.atleast_2d(p))[0]
            for p in (self.eye_a, self.eye_b, self.nose, self.mouth_a, self.mouth_b, self.chin)
        ]
        ea, eb = sorted(pts[:2], key=lambda p: p[0])
        ma, mb = sorted(pts[3:5], key=lambda p: p[0])
        return Landmarks(ea, eb, pts[2], ma, mb, pts[5], f(self.oval))

    @property
    def iod(self) -> float:
        return float(optics.norm_exact(self.eye_b - self.eye_a))

    @property
    def face_box(self) -> tuple[float, float, float, float]:
        """(x, y, w, h) of the face outline."""
        x0, y0 = self.oval.min(axis=0)
        x1, y1 = self.oval.max(axis=0)
        return float(x0), float(y0), float(x1 - x0), float(y1 - y0)

    @property
    def centre(self) -> np.ndarray:
        return 0.5 * (0.5 * (self.eye_a + self.eye_b) + 0.5 * (self.mouth_a + self.mouth_b))


@dataclass
class FaceLayers:
    """Everything the renderer needs about one face, in one image's coordinates.

    Arrays are float32: ``albedo`` (H, W, 3) linear BGR, ``background`` (H, W, 3)
    linear BGR, ``matte``/``skin``/``height``/``spec``/``head`` (H, W), ``regions``
    (K, H, W) soft region weights (sum to ~1 on skin).
    """

    albedo: np.ndarray
    background: np.ndarray
    matte: np.ndarray
    skin: np.ndarray
    regions: np.ndarray
    height: np.ndarray
    spec: np.ndarray
    head: np.ndarray
    landmarks: Landmarks
    tone_area: np.ndarray | None = None  # where skin is re-coloured (photo space only)

    def stack(self) -> np.ndarray:
        """All per-pixel layers as one (H, W, C) array (for warping in one call)."""
        planes = [
            self.albedo,
            self.background,
            self.matte[..., None],
            self.skin[..., None],
            np.moveaxis(self.regions, 0, -1),
            self.height[..., None],
            self.spec[..., None],
            self.head[..., None],
        ]
        return np.ascontiguousarray(np.concatenate(planes, axis=-1), dtype=np.float32)

    @classmethod
    def unstack(cls, arr: np.ndarray, landmarks: Landmarks) -> FaceLayers:
        k = len(REGIONS)
        return cls(
            albedo=arr[..., 0:3],
            background=arr[..., 3:6],
            matte=arr[..., 6],
            skin=arr[..., 7],
            regions=np.moveaxis(arr[..., 8 : 8 + k], -1, 0),
            height=arr[..., 8 + k],
            spec=arr[..., 9 + k],
            head=arr[..., 10 + k],
            landmarks=landmarks,
        )


def _poly_mask(shape: tuple[int, int], pts, value: float = 1.0) -> np.ndarray:
    m = np.zeros(shape, np.float32)
    cv2.fillPoly(
        m,
        [np.round(np.asarray(pts, np.float64) * 16).astype(np.int32)],
        value,
        cv2.LINE_AA,
        shift=4,
    )
    return m


def _ellipse_mask(shape: tuple[int, int], cx: float, cy: float, ax: float, ay: float) -> np.ndarray:
    m = np.zeros(shape, np.float32)
    cv2.ellipse(
        m,
        (int(round(cx * 16)), int(round(cy * 16))),
        (int(round(ax * 16)), int(round(ay * 16))),
        0,
        0,
        360,
        1.0,
        -1,
        cv2.LINE_AA,
        shift=4,
    )
    return m


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(x, (0, 0), sigma) if sigma > 0 else x


def _ycrcb_skin(rgb: np.ndarray) -> np.ndarray:
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    return ((cr >= 135) & (cr <= 175) & (cb >= 80) & (cb <= 127) & (y > 40)).astype(np.float32)


def fill_holes(img: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill ``hole`` (1 = unknown) by push-pull (pyramid normalised convolution).

    Push: average known pixels down a pyramid (values weighted by coverage).
    Pull: from the coarsest level up, keep a level's own estimate where it is
    well covered and take the upsampled coarser estimate elsewhere.  Smooth,
    and ~50x faster than large-kernel blurs at the photos' size.
    """
    known = (1.0 - hole).astype(np.float32)
    nums, dens = [img * known[..., None]], [known]
    while min(dens[-1].shape) > 4:
        nums.append(cv2.pyrDown(nums[-1]))
        dens.append(cv2.pyrDown(dens[-1]))
    est = nums[-1].sum(axis=(0, 1)) / max(float(dens[-1].sum()), 1e-6)
    est = np.broadcast_to(est.astype(np.float32), nums[-1].shape).copy()
    for num, den in zip(reversed(nums), reversed(dens), strict=True):
        if est.shape != num.shape:
            est = cv2.pyrUp(est, dstsize=(num.shape[1], num.shape[0]))
        own = num / np.maximum(den, 1e-6)[..., None]
        conf = np.clip(den * 2.0, 0.0, 1.0)[..., None]
        est = conf * own + (1.0 - conf) * est
    return est


@lru_cache(maxsize=4)
def base_layers(name: str) -> FaceLayers:
    """Layers of a base photo (cached per process; treat as read-only)."""
    g = GEOMETRY[name]
    rgb = load_photo_rgb(name)
    lm = Landmarks(
        np.array(g.eyes[0], float),
        np.array(g.eyes[1], float),
        np.array(g.nose, float),
        np.array(g.mouth[0], float),
        np.array(g.mouth[1], float),
        np.array(g.chin, float),
        np.array(g.oval, float),
    )
    oval, area, eyes, skin = _skin_masks(rgb, g, lm)
    regions = _regions(oval, area, skin, g, lm)
    height, head, r2 = _head_shape(rgb.shape[:2], lm)
    person = _blur(_poly_mask(rgb.shape[:2], g.person), 1.2)
    person = np.maximum(person, _blur((r2 < 0.8).astype(np.float32), 1.2))
    spec_zone = (
        regions[0] * 1.0
        + regions[2] * 1.0
        + regions[1] * 0.55
        + regions[3] * 0.5
        + regions[4] * 0.3
    )
    albedo = optics.display_to_linear(rgb[..., ::-1]).astype(np.float32)
    # Behind the person: filled backdrop.  The hole reaches ~2 px beyond the matte's
    # half-way line, so the soft edge blends into the real photo (a thin halo, no ghost).
    hole = cv2.dilate((person > 0.5).astype(np.float32), np.ones((5, 5), np.uint8))
    background = fill_holes(albedo, hole)
    # Re-colouring covers the whole face outline and extra skin (wrinkles, shadows and glasses
    # frames included, so nothing keeps the photo's tone), eyes mostly spared.
    tone_area = np.clip(area * (1.0 - 0.85 * eyes), 0.0, 1.0)
    tone_area = _blur(tone_area.astype(np.float32), 0.04 * lm.iod)
    return FaceLayers(
        albedo=albedo,
        background=background.astype(np.float32),
        matte=person.astype(np.float32),
        skin=skin,
        regions=regions,
        height=height,
        spec=spec_zone.astype(np.float32),
        head=head,
        landmarks=lm,
        tone_area=tone_area,
    )


def _skin_masks(
    rgb: np.ndarray, g: PhotoGeometry, lm: Landmarks
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Face oval, skin area (oval + extra skin), eyes, and the skin weight (skin-coloured, no eyes or brows)."""
    iod = lm.iod
    shape = rgb.shape[:2]
    oval = _poly_mask(shape, g.oval)
    extra = np.zeros(shape, np.float32)
    for cx, cy, ax, ay in g.extra_skin:
        extra = np.maximum(extra, _ellipse_mask(shape, cx, cy, ax, ay))
    area = np.maximum(oval, extra)
    eyes = np.maximum(
        *(_ellipse_mask(shape, e[0], e[1], 0.30 * iod, 0.15 * iod) for e in (lm.eye_a, lm.eye_b))
    )
    brows = np.zeros(shape, np.float32)
    for e in (lm.eye_a, lm.eye_b):
        brows = np.maximum(brows, _ellipse_mask(shape, e[0], g.brow_y, 0.34 * iod, 0.07 * iod))
    ycc = _ycrcb_skin(rgb)
    k3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    ycc_clean = cv2.morphologyEx(cv2.morphologyEx(ycc, cv2.MORPH_OPEN, k3), cv2.MORPH_CLOSE, k3)
    skin = area * ycc_clean * (1.0 - eyes) * (1.0 - brows)
    return oval, area, eyes, _blur(skin, 0.8)


def _mouth_mask(shape: tuple[int, int], lm: Landmarks) -> np.ndarray:
    iod = lm.iod
    mouth_c = 0.5 * (lm.mouth_a + lm.mouth_b)
    mouth_w = float(optics.norm_exact(lm.mouth_b - lm.mouth_a))
    return _ellipse_mask(shape, mouth_c[0], mouth_c[1] + 0.02 * iod, 0.5 * mouth_w + 0.06 * iod, 0.2 * iod)


def _regions(oval: np.ndarray, area: np.ndarray, skin: np.ndarray, g: PhotoGeometry, lm: Landmarks) -> np.ndarray:
    """Soft skin regions, by priority: mouth/extra -> other, forehead, nose, cheeks, chin; weighted by skin."""
    iod = lm.iod
    eye_y = 0.5 * (lm.eye_a[1] + lm.eye_b[1])
    mouth_c = 0.5 * (lm.mouth_a + lm.mouth_b)
    shape = oval.shape
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    mouth = _mouth_mask(shape, lm)
    nose_poly = [
        (0.5 * (lm.eye_a[0] + lm.eye_b[0]) - 0.12 * iod, eye_y + 0.05 * iod),
        (0.5 * (lm.eye_a[0] + lm.eye_b[0]) + 0.12 * iod, eye_y + 0.05 * iod),
        (lm.nose[0] + 0.30 * iod, lm.nose[1] + 0.12 * iod),
        (lm.nose[0] - 0.30 * iod, lm.nose[1] + 0.12 * iod),
    ]
    nose = _poly_mask(shape, nose_poly)
    forehead = oval * (yy < g.brow_y - 0.04 * iod)
    cheeks = (
        oval
        * (yy > eye_y + 0.12 * iod)
        * (yy < mouth_c[1] + 0.05 * iod)
        * (1.0 - nose)
        * (1.0 - mouth)
    )
    chin = oval * (yy >= mouth_c[1] + 0.05 * iod) * (1.0 - mouth)
    nose = nose * oval * (1.0 - forehead)
    assigned = np.clip(forehead + cheeks + chin + nose, 0.0, 1.0)
    other = np.clip(area - assigned, 0.0, 1.0)
    regions = np.stack([forehead, cheeks, nose, chin, other]).astype(np.float32)
    regions = np.stack([_blur(r, 0.08 * iod) for r in regions])
    regions /= np.maximum(regions.sum(axis=0, keepdims=True), 1e-6)
    regions *= skin[None]
    return regions


def _head_shape(shape: tuple[int, int], lm: Landmarks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Height field (an ellipsoid with a nose ridge), head-with-hair mask, and the face ellipse's r^2."""
    iod = lm.iod
    eye_y = 0.5 * (lm.eye_a[1] + lm.eye_b[1])
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    x0, y0, fw, fh = lm.face_box
    cx, cy = x0 + fw / 2, y0 + fh / 2
    ax, ay = 0.62 * fw, 0.62 * fh
    u, v = (xx - cx) / ax, (yy - cy) / ay
    r2 = u**2 + v**2
    height = 0.85 * ax * np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
    nx, ny = lm.nose
    ridge_t = np.clip((yy - eye_y) / max(ny - eye_y, 1.0), 0.0, 1.0)
    ridge_x = 0.5 * (lm.eye_a[0] + lm.eye_b[0]) * (1 - ridge_t) + nx * ridge_t
    nose_h = (
        0.30
        * iod
        * ridge_t
        * np.exp(-0.5 * ((xx - ridge_x) / (0.10 * iod + 0.08 * iod * ridge_t)) ** 2)
    )
    nose_h *= (yy < ny + 0.15 * iod) + (yy >= ny + 0.15 * iod) * np.exp(
        -0.5 * ((yy - ny - 0.15 * iod) / (0.06 * iod)) ** 2
    )
    height = _blur((height + nose_h).astype(np.float32), 0.05 * iod)
    # Head incl. hair: a larger ellipse raised above the face box.
    hu, hv = (xx - cx) / (0.85 * fw), (yy - (cy - 0.15 * fh)) / (0.85 * fh)
    head = _blur(np.clip((1.0 - hu**2 - hv**2) * 4.0, 0.0, 1.0).astype(np.float32), 0.1 * iod)
    head *= np.clip((lm.chin[1] + 0.1 * fh - yy) / (0.1 * fh), 0.0, 1.0)
    return height, head, r2


@dataclass(frozen=True)
class Look:
    """How a subject differs from its base photo (all JSON-friendly)."""

    photo: str
    tone: str  # Fitzpatrick I..VI
    mirror: bool = False
    aspect_x: float = 1.0  # face width scale
    aspect_y: float = 1.0
    warp_px: float = 0.0  # RMS of a smooth random warp, in units of the inter-ocular distance x 100
    warp_seed: int = 0
    hair_value: float = 1.0  # lightness factor on hair
    hue_shift: float = 0.0  # degrees, clothes and backdrop


def _shift_hue(lin_bgr: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate hue in a luminance-preserving way (YIQ-like rotation in linear RGB)."""
    if degrees == 0:
        return lin_bgr
    th = np.deg2rad(degrees)
    c, s = np.cos(th), np.sin(th)
    # Rotation about the grey axis (Rodrigues), in RGB.
    k = np.ones(3) / np.sqrt(3.0)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    rot = c * np.eye(3) + s * kx + (1 - c) * np.outer(k, k)
    rgb = lin_bgr[..., ::-1]
    out = np.clip(optics.matmul_exact(rgb, rot.T.astype(np.float32)), 0.0, None)
    return np.ascontiguousarray(out[..., ::-1], dtype=np.float32)


def subject_layers(look: Look) -> FaceLayers:
    """Base-photo layers re-coloured and reshaped for one subject."""
    base = base_layers(look.photo)
    return _reshaped(_recoloured(base, look), base, look)


def _recoloured(base: FaceLayers, look: Look) -> FaceLayers:
    """The base layers with the subject's skin tone, hair lightness and backdrop hue."""
    skin_w = base.skin
    denom = max(float(skin_w.sum()), 1.0)
    mean_bgr = (base.albedo * skin_w[..., None]).reshape(-1, 3).sum(0) / denom
    target = optics.rgb_to_bgr(optics.skin_target_linear_rgb(look.tone))
    ratio = (target / np.maximum(mean_bgr, 1e-6)).astype(np.float32)
    lm = base.landmarks
    area = base.tone_area
    albedo = base.albedo * (1.0 + area[..., None] * (ratio - 1.0))
    hair = np.clip(base.head * base.matte - area * 2.0, 0.0, 1.0)
    albedo = albedo * (1.0 + hair[..., None] * (look.hair_value - 1.0))
    # Backdrop colour (the room): only outside the person.
    backdrop = (1.0 - base.matte)[..., None]
    albedo = albedo + backdrop * (_shift_hue(albedo, look.hue_shift) - albedo)
    background = _shift_hue(base.background, look.hue_shift)
    return FaceLayers(
        albedo.astype(np.float32),
        background,
        base.matte,
        base.skin,
        base.regions,
        base.height,
        base.spec,
        base.head,
        lm,
    )


def _reshaped(layers: FaceLayers, base: FaceLayers, look: Look) -> FaceLayers:
    """``layers`` mirrored, stretched and warped (a smooth random warp of the head) for one subject."""
    h, w = base.albedo.shape[:2]
    lm = base.landmarks
    cx, cy = lm.centre
    sx = look.aspect_x * (-1.0 if look.mirror else 1.0)
    # Forward map (photo -> subject): x' = cx + sx (x - cx), y' = cy + sy (y - cy).
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    map_x = cx + (xx - cx) / sx
    map_y = cy + (yy - cy) / look.aspect_y
    disp = np.zeros((2, h, w), np.float32)
    if look.warp_px > 0:
        rng = np.random.default_rng(look.warp_seed)
        coarse = rng.standard_normal((2, 6, 6)).astype(np.float32)
        for i in range(2):
            disp[i] = cv2.resize(coarse[i], (w, h), interpolation=cv2.INTER_CUBIC)
        # Confine the warp to the head, where it changes the face's shape.
        disp *= (look.warp_px / 100.0 * lm.iod) * _blur(base.head, 0.3 * lm.iod)[None]
    map_x = (map_x + disp[0]).astype(np.float32)
    map_y = (map_y + disp[1]).astype(np.float32)
    stacked = layers.stack()
    warped = np.empty_like(stacked)
    for c0 in range(0, stacked.shape[-1], 4):
        warped[..., c0 : c0 + 4] = _remap(stacked[..., c0 : c0 + 4], map_x, map_y)

    def fwd(p: np.ndarray) -> np.ndarray:
        # Inverse of the sampling map: solve p = m(q) approximately (the warp is small and smooth).
        q = np.stack([cx + sx * (p[:, 0] - cx), cy + look.aspect_y * (p[:, 1] - cy)], axis=1)
        for _ in range(3):
            xi = np.clip(np.round(q[:, 0]).astype(int), 0, w - 1)
            yi = np.clip(np.round(q[:, 1]).astype(int), 0, h - 1)
            q = np.stack(
                [
                    cx + sx * (p[:, 0] - disp[0, yi, xi] - cx),
                    cy + look.aspect_y * (p[:, 1] - disp[1, yi, xi] - cy),
                ],
                axis=1,
            )
        return q

    return FaceLayers.unstack(warped, lm.transformed(fwd))


def _remap(img: np.ndarray, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
    out = cv2.remap(
        np.ascontiguousarray(img), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    return out if out.ndim == 3 else out[..., None]
