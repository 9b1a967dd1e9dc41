"""Skin optics: the dichromatic skin-reflection model behind POS, made concrete.

Wang et al. (POS, 2017) model the colour of a skin pixel as

    C(t) = I(t) * (v_s(t) + v_d(t)) + v_n(t)

with ``I`` the light intensity (changing with illumination and with the
head's orientation/distance), ``v_s`` the *specular* reflection (the colour
of the light, strength depending on geometry, no pulse) and ``v_d`` the
*diffuse* reflection (skin colour, absorbed by melanin and haemoglobin, so
it carries the pulse), ``v_n`` sensor noise.  The renderer follows it
literally, in linear RGB:

* diffuse:  ``albedo(x) * L_rgb(t) * shading(x, t) * (1 - kappa_rgb * P(x, t))``
  where ``P`` is the local pulsatile blood volume and ``kappa_rgb`` the
  *blood-absorption direction*: the relative AC/DC amplitude per channel.
  We take the normalised PBV signature of de Haan & van Leest (2014),
  ~[0.33, 0.77, 0.53] for R, G, B -- strongest in green, where
  oxy-haemoglobin absorbs most among the camera bands -- and tilt it towards
  red for melanin-rich skin (melanin absorbs blue/green more, leaving a
  relatively larger red share; the tilt is an approximation, the papers
  give no table per Fitzpatrick type).
* specular: ``k_s(x) * L_rgb(t) * max(0, n.h)^shininess`` (Blinn-Phong),
  light-coloured, with the oily T-zone (forehead, nose) shinier.
* shading: Lambert on a head-shaped height field (ellipsoid plus nose), with
  ambient light, *relative* to the photo's own lighting: the base photos
  already contain studio shading, so only the change caused by head
  rotation or light movement is applied.

Skin tones follow the Fitzpatrick scale I-VI.  Targets are typical face
colours under neutral light (display values, converted to linear); the
pulsatile amplitude falls with melanin (the lower SNR on dark skin reported
by e.g. Nowara et al. 2020 and Dasari et al. 2021); the factors below are
our choice, documented because the literature gives no single number.

Colour conventions: arrays are linear-light, channel order **BGR** (OpenCV's)
inside the renderer; the tables here are written in RGB for readability and
converted with :func:`rgb_to_bgr`.  The tone curve is gamma 2.0
(linear = (display/255)^2): close to sRGB and cheap both ways (square /
square root).
"""

from __future__ import annotations

import numpy as np

FITZPATRICK = ("I", "II", "III", "IV", "V", "VI")

#: Typical facial skin colour (display RGB, 0-255) per Fitzpatrick type.
SKIN_DISPLAY_RGB: dict[str, tuple[float, float, float]] = {
    "I": (236.0, 196.0, 176.0),
    "II": (222.0, 176.0, 148.0),
    "III": (200.0, 152.0, 118.0),
    "IV": (168.0, 118.0, 86.0),
    "V": (122.0, 82.0, 58.0),
    "VI": (84.0, 56.0, 42.0),
}

#: Relative pulsatile amplitude per type (type I = 1).
MELANIN_PULSE_FACTOR: dict[str, float] = {
    "I": 1.0,
    "II": 0.95,
    "III": 0.85,
    "IV": 0.7,
    "V": 0.52,
    "VI": 0.4,
}

#: PBV signature (relative AC/DC of R, G, B) for light and for the darkest skin.
PBV_LIGHT_RGB = np.array([0.33, 0.77, 0.53])
PBV_DARK_RGB = np.array([0.45, 0.77, 0.40])

AMBIENT = 0.45  # fraction of the light that is ambient (no direction)


def rgb_to_bgr(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)[..., ::-1].copy()


def display_to_linear(v: np.ndarray) -> np.ndarray:
    return (np.asarray(v, dtype=np.float64) / 255.0) ** 2


def skin_target_linear_rgb(tone: str) -> np.ndarray:
    return display_to_linear(SKIN_DISPLAY_RGB[tone])


def pulse_direction_rgb(tone: str) -> np.ndarray:
    """Blood-absorption direction (relative AC/DC per channel) normalised so green = 1."""
    w = FITZPATRICK.index(tone) / (len(FITZPATRICK) - 1)
    v = (1 - w) * PBV_LIGHT_RGB + w * PBV_DARK_RGB
    return v / v[1]


def illuminant_rgb(cct: float) -> np.ndarray:
    """Linear RGB of a black-body-like source at ``cct`` kelvin, green = 1.

    Tanner Helland's fit of the Planckian locus in sRGB (good to a few per
    cent over 1000-40000 K), converted to linear.  Precision matters little:
    what the benchmark needs is that warm and cool lights differ as they do.
    """
    t = float(np.clip(cct, 1000.0, 40000.0)) / 100.0
    r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    g = (
        99.4708025861 * np.log(t) - 161.1195681661
        if t <= 66
        else 288.1221695283 * (t - 60) ** -0.0755148492
    )
    if t >= 66:
        b = 255.0
    elif t <= 19:
        b = 0.0
    else:
        b = 138.5177312231 * np.log(t - 10) - 305.0447927307
    rgb = np.clip(np.array([r, g, b]), 1.0, 255.0)
    lin = display_to_linear(rgb)
    return lin / lin[1]


def matmul_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` (``a``: ``(..., n, k)``, ``b``: ``(k, m)`` or ``(..., k, m)``) in a fixed order, without BLAS.

    Why: BLAS picks its kernel from the CPU (OpenBLAS DYNAMIC_ARCH: Haswell,
    SkylakeX, Zen, Neoverse ...), and kernels differ in fused multiply-adds
    and summation order, so the same product differs in the last bits from
    machine to machine -- enough to flip an 8-bit rounding or an
    auto-exposure decision and make the generated dataset machine-dependent.
    Element-wise NumPy multiplies and adds are correctly rounded IEEE
    operations everywhere; the products here are tiny (k = 3).
    """
    a = np.asarray(a)
    b = np.asarray(b)
    out = a[..., :, 0:1] * b[..., 0:1, :]
    for k in range(1, a.shape[-1]):
        out = out + a[..., :, k : k + 1] * b[..., k : k + 1, :]
    return out


def norm_exact(v: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """Euclidean norm by element-wise squares and a NumPy sum (``np.linalg.norm`` of a vector uses BLAS ``dot``)."""
    v = np.asarray(v)
    return np.sqrt(np.sum(v * v, axis=axis, keepdims=keepdims))


def affine_inverse(m: np.ndarray) -> np.ndarray:
    """Inverses of stacked 3x3 affine matrices (last row 0, 0, 1) in closed form.

    No LAPACK: see :func:`matmul_exact`.
    """
    m = np.asarray(m, dtype=np.float64)
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    tx, ty = m[..., 0, 2], m[..., 1, 2]
    det = a * d - b * c
    out = np.zeros_like(m)
    out[..., 0, 0], out[..., 0, 1] = d / det, -b / det
    out[..., 1, 0], out[..., 1, 1] = -c / det, a / det
    out[..., 0, 2] = -(out[..., 0, 0] * tx + out[..., 0, 1] * ty)
    out[..., 1, 2] = -(out[..., 1, 0] * tx + out[..., 1, 1] * ty)
    out[..., 2, 2] = 1.0
    return out


def pow_int(x: np.ndarray, n: int) -> np.ndarray:
    """``x ** n`` for a whole ``n >= 1`` by repeated squaring.

    NumPy's ``power`` is a vendor routine picked by CPU (SVML on AVX-512,
    libm elsewhere) whose last bit varies; products do not.
    """
    result = None
    base = np.asarray(x)
    while True:
        if n & 1:
            result = base if result is None else result * base
        n >>= 1
        if not n:
            return result
        base = base * base


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Head rotation (radians): yaw about the vertical axis, pitch about x, roll about the view axis.

    Image coordinates: x right, y down, z towards the camera.
    """
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return matmul_exact(matmul_exact(rz, rx), ry)


def normals_from_height(z: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Unit normals ``(3, H, W)`` (x, y, z) of a height field ``z`` (pixels, towards the camera)."""
    gy, gx = np.gradient(z.astype(np.float64) * scale)
    n = np.stack([-gx, -gy, np.ones_like(gx)])
    n /= norm_exact(n, axis=0, keepdims=True)
    return n.astype(np.float32)


def unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / norm_exact(v)


def lambert(normals: np.ndarray, light_dir: np.ndarray, ambient: float = AMBIENT) -> np.ndarray:
    """Ambient + diffuse shading of unit normals ``(3, H, W)`` under a unit light direction."""
    d = normals[0] * light_dir[0] + normals[1] * light_dir[1] + normals[2] * light_dir[2]
    return ambient + (1.0 - ambient) * np.maximum(d, 0.0)


def blinn_phong(normals: np.ndarray, light_dir: np.ndarray, shininess: float) -> np.ndarray:
    """Specular lobe ``max(0, n.h)^shininess`` for a viewer on +z."""
    h = unit(np.asarray(light_dir, dtype=np.float64) + np.array([0.0, 0.0, 1.0]))
    d = normals[0] * h[0] + normals[1] * h[1] + normals[2] * h[2]
    return np.maximum(d, 0.0) ** shininess
