"""Synthetic rhythm signals and their maps (SynRhythm, section III-B).

Each series follows the paper's formula exactly::

    S(t) = M1 sin(w1 t + phi) + 0.5 M1 sin(2 w1 t + phi)      heart + 2nd harmonic
         + M2 sin(w2 t + theta)                                breathing
         + P1 Step(t - t1) + P2 Step(t - t2)                   illumination / motion steps
         + N(t)                                                Gaussian noise

with w1 from 42-240 bpm, w2 from 5-20 breaths per minute, M1, M2 ~ U[0, 1],
phi, theta ~ U[0, 2 pi], t1, t2 ~ U[0, T], P1, P2 Bernoulli.  The series are
then turned into maps by the very code that maps face clips
(:func:`.stmap.pool_time`, :func:`.stmap.to_maps`), as III-B asks.

Where the paper is silent, these are our choices (each is a field of
:class:`SynRhythmSettings`, hashed into the pretrained-checkpoint cache key):

* **Rows of one map.**  A map stands for one face, so the *heart* and the
  *breathing* are shared by all rows: w1, w2, phi and theta are drawn once per
  map (real cheek blocks pulse in step -- the pulse transit time across a
  cheek is a few ms, under one frame).  Everything local is drawn per row:
  M1 and M2 (some blocks carry a strong pulse, some almost none), the steps
  (P, t1, t2: motion affects blocks unequally) and the noise.
* **Colour channels.**  The three channels of a row share its rhythm; by
  default each gets independent noise N(t): three noisy views of one signal
  (per-channel min-max scaling removes any common per-channel gain).  Two
  optional settings model colour the way rPPG sees it: ``noise_common``, the
  share of the noise variance common to the three channels of a row
  (luminance-like motion / illumination noise, which chrominance methods
  cancel), and ``pulse_gain_min``, per-map pulse gains g_c ~
  U[pulse_gain_min, 1] for R, G, B (the pulse term of channel c is g_c times
  the heart terms).  Defaults 0 and 1 are the plain model above.
* **Bernoulli p** = 0.5 for P1 and P2 (``step_p``); a step has height 1
  (``step_height``), the scale of M1 and M2.
* **Noise.**  sigma is drawn per map from U[0, ``noise_max``] with
  ``noise_max`` = 0.5, so the set spans clean maps to maps whose weak-pulse
  rows are buried in noise.
* **What we measured** on the embedded synthetic face dataset (cheek blocks
  pooled 2 x 4): the in-band noise of a map row is ~3.3x the pulse amplitude
  (0.45x for these defaults), 84 % of it common to R, G and B, and only 6 %
  shared between rows.  A generator matched to that (``noise_max`` 4,
  ``noise_common`` 0.8, ``pulse_gain_min`` 0.2) did *not* transfer better at
  the CPU budget: zero-shot MAE on face maps 39 vs 49 bpm, fine-tuned results
  within fold-to-fold noise of each other and of the training-mean baseline.
  The defaults therefore stay the plain reading of the formula.
* **Pulse colour** (``pulse_rgb``): the relative strength of the heart terms
  in R, G and B, multiplied with the per-channel gains above.  ``(1, 1, 1)``
  (default) is the plain formula.  Chrominance maps (``colour="pos"``, see
  :mod:`.stmap`) cancel whatever is common to the three channels, a pulse
  along ``(1, 1, 1)`` included; for them the methods use the blood-volume
  pulse signature of skin in normalised RGB, ``(0.33, 0.77, 0.53)`` (de Haan
  & van Leest 2014), which is how the pulse appears on real faces.  The
  series then become positive colour means ``1 + 0.01 S(t)`` before the map
  code divides by their mean, so breathing, steps and the common noise are
  relative intensity changes, as on a face.
* **Label** = 60 * w1 / (2 pi) bpm, the frequency of the fundamental sine;
  w1 is drawn uniformly in bpm over ``hr_bpm``.
* **Time axis** t = frame / fps with the face clips' fps and length, so the
  synthetic and the real maps of one run have the same size and period scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from .facemaps import face_maps, n_channels
from .stmap import MapSpec, pool_time, series_to_maps

if TYPE_CHECKING:
    from .train import EpochData  # deep.train imports torch: annotations only

#: Salt of the random draws of the synthetic maps mixed into fine-tuning (:func:`with_rhythms`).
MIX_SALT = 0xC0F1

#: Relative size of S(t) on a unit colour level when maps are chrominance maps.
COLOUR_DEPTH = 0.01

#: The blood-volume pulse signature of skin in normalised R, G, B (de Haan & van Leest 2014).
SKIN_PULSE_RGB = (0.33, 0.77, 0.53)


@dataclass(frozen=True)
class SynRhythmSettings:
    """Generator settings (see the module docstring for why each default)."""

    hr_bpm: tuple[float, float] = (42.0, 240.0)
    breath_per_min: tuple[float, float] = (5.0, 20.0)
    step_p: float = 0.5
    step_height: float = 1.0
    noise_max: float = 0.5
    noise_common: float = 0.0
    pulse_gain_min: float = 1.0
    pulse_rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        lo, hi = self.hr_bpm
        if not 0 < lo < hi:
            raise ValueError(f"hr_bpm must be increasing and positive, got {self.hr_bpm}")
        blo, bhi = self.breath_per_min
        if not 0 < blo <= bhi:
            raise ValueError(f"breath_per_min must be increasing and positive, got {self.breath_per_min}")
        if not 0 <= self.step_p <= 1:
            raise ValueError(f"step_p must be in [0, 1], got {self.step_p}")
        if self.noise_max < 0:
            raise ValueError(f"noise_max must be >= 0, got {self.noise_max}")
        if not 0 <= self.noise_common <= 1:
            raise ValueError(f"noise_common must be in [0, 1], got {self.noise_common}")
        if not 0 <= self.pulse_gain_min <= 1:
            raise ValueError(f"pulse_gain_min must be in [0, 1], got {self.pulse_gain_min}")
        if len(self.pulse_rgb) != 3 or min(self.pulse_rgb) < 0 or max(self.pulse_rgb) <= 0:
            raise ValueError(f"pulse_rgb must be three non-negative strengths, not all zero; got {self.pulse_rgb}")

    def key(self) -> dict:
        key = asdict(self)
        if self.pulse_rgb == (1.0, 1.0, 1.0):  # checkpoints of the plain formula keep their keys
            del key["pulse_rgb"]
        else:
            key["pulse_rgb"] = list(self.pulse_rgb)
        return key


#: Face-like noise (stage III's defaults, measured on face-map rows): sigma up to 4, 80 % of its variance common
#: to R, G and B, per-channel pulse gains from 0.5.  ``stmap_transfer``'s parameters default to these.
FACE_NOISE_MAX, FACE_NOISE_COMMON, FACE_GAIN_MIN = 4.0, 0.8, 0.5


def face_like(
    band_bpm: tuple[float, float], colour: str, *, step_p: float = 0.5, noise_max: float = FACE_NOISE_MAX,
    noise_common: float = FACE_NOISE_COMMON, pulse_gain_min: float = FACE_GAIN_MIN,
) -> SynRhythmSettings:
    """Rhythms that look like face-map rows of ``colour`` maps over the HR band ``band_bpm``.

    For chrominance maps the pulse lies along skin's signature
    (:data:`SKIN_PULSE_RGB`), which is how it appears on real faces; for the
    others along (1, 1, 1), the plain formula.  The defaults are the settings
    measured on face-map rows and chosen on ``synthetic-dev`` for stage III;
    the FG 2019 variants pretrain on the same rhythms.
    """
    return SynRhythmSettings(hr_bpm=tuple(band_bpm), step_p=step_p, noise_max=noise_max, noise_common=noise_common,
                             pulse_gain_min=pulse_gain_min,
                             pulse_rgb=SKIN_PULSE_RGB if colour == "pos" else (1.0, 1.0, 1.0))


def rhythm_signals(
    n_maps: int,
    n_rows: int,
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    settings: SynRhythmSettings = SynRhythmSettings(),
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic series ``(n_maps, n_rows, n_frames, 3)`` and their labels in bpm ``(n_maps,)``."""
    t = np.arange(n_frames) / fps  # seconds
    duration = n_frames / fps
    hr = rng.uniform(*settings.hr_bpm, size=n_maps)
    w1 = 2 * np.pi * hr / 60.0
    w2 = 2 * np.pi * rng.uniform(*settings.breath_per_min, size=n_maps) / 60.0
    phi = rng.uniform(0, 2 * np.pi, size=n_maps)
    theta = rng.uniform(0, 2 * np.pi, size=n_maps)
    m1 = rng.uniform(0, 1, size=(n_maps, n_rows, 1))
    m2 = rng.uniform(0, 1, size=(n_maps, n_rows, 1))
    p = settings.step_height * rng.binomial(1, settings.step_p, size=(2, n_maps, n_rows, 1))
    t_step = rng.uniform(0, duration, size=(2, n_maps, n_rows, 1))
    sigma = rng.uniform(0, settings.noise_max, size=(n_maps, 1, 1, 1))
    gain = rng.uniform(settings.pulse_gain_min, 1.0, size=(n_maps, 1, 1, 3))  # pulse strength per channel
    gain = gain * np.asarray(settings.pulse_rgb, dtype=np.float64)

    f32 = np.float32
    heart_phase = (w1[:, None, None] * t + phi[:, None, None]).astype(f32)  # (n_maps, 1, T)
    breath_phase = (w2[:, None, None] * t + theta[:, None, None]).astype(f32)
    harmonic = (2 * w1[:, None, None] * t + phi[:, None, None]).astype(f32)  # 2 w1 t + phi
    pulse = m1.astype(f32) * (np.sin(heart_phase) + 0.5 * np.sin(harmonic))  # (n_maps, n_rows, T)
    shared = (
        m2.astype(f32) * np.sin(breath_phase)
        + p[0].astype(f32) * (t >= t_step[0])
        + p[1].astype(f32) * (t >= t_step[1])
    )
    # N(t): a part common to the three channels of a row (luminance: motion, illumination,
    # sensor) and an independent part, with variance shares noise_common : 1 - noise_common.
    noise = rng.standard_normal((n_maps, n_rows, n_frames, 3), dtype=f32)
    noise *= (sigma * np.sqrt(1.0 - settings.noise_common)).astype(f32)
    if settings.noise_common > 0:
        common = rng.standard_normal((n_maps, n_rows, n_frames, 1), dtype=f32)
        noise += common * (sigma * np.sqrt(settings.noise_common)).astype(f32)
    noise += shared[..., None]
    noise += pulse[..., None] * gain.astype(f32)
    return noise, hr


def _map_chunks(
    n_maps: int, shape: tuple[int, int, int], signals: Callable[[int], tuple[np.ndarray, np.ndarray]],
    to_maps: Callable[[np.ndarray], np.ndarray], chunk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``n_maps`` maps of ``shape`` (float16) and labels, drawn and mapped ``chunk`` at a time (bounded memory)."""
    maps = np.empty((n_maps, *shape), dtype=np.float16)
    labels = np.empty(n_maps)
    for a in range(0, n_maps, chunk):
        b = min(n_maps, a + chunk)
        sig, hr = signals(b - a)
        maps[a:b] = to_maps(sig)
        labels[a:b] = hr
    return maps, labels


def rhythm_maps(
    n_maps: int,
    n_rows: int,
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    settings: SynRhythmSettings = SynRhythmSettings(),
    *,
    time_pool: int = 1,
    highpass_hz: float = 0.0,
    colour: str = "rgb",
    chunk: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic maps ``(n_maps, 3, n_rows, n_frames // time_pool)`` float16 in [0, 255] and labels.

    ``n_frames`` and ``fps`` are those of the face clips *before* temporal
    pooling; the same pooling, optional detrending (``highpass_hz``), colour
    layout (``colour``) and min-max scaling as for face maps follow
    (:func:`.stmap.series_to_maps`).
    """
    spec = MapSpec(time_pool=time_pool, highpass_hz=highpass_hz, colour=colour)

    def to_maps(sig: np.ndarray) -> np.ndarray:
        if colour != "rgb":  # positive colour means, as a face block's
            sig = 1.0 + np.float32(COLOUR_DEPTH) * sig
        return series_to_maps(pool_time(sig, time_pool), spec, fps / time_pool)

    return _map_chunks(n_maps, (3, n_rows, n_frames // time_pool),
                       lambda n: rhythm_signals(n, n_rows, n_frames, fps, rng, settings), to_maps, chunk)


def face_grid_rhythm_maps(
    n_maps: int,
    n_rows: int,
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    settings: SynRhythmSettings = SynRhythmSettings(),
    *,
    time_pool: int = 1,
    highpass_hz: float = 0.0,
    colour: str = "pos",
    chunk: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic maps laid out as the FG 2019 face-grid maps (:func:`.facemaps.face_maps`) and labels.

    The series become positive colour means ``1 + COLOUR_DEPTH * S(t)`` and
    go through the very code that maps face-grid clips, so any of its colour
    layouts (six channels for ``"rgb+yuv"``) comes out as the face maps do;
    for ``"pos"`` the maps equal :func:`rhythm_maps`'.
    """
    return _map_chunks(
        n_maps, (n_channels(colour), n_rows, n_frames // time_pool),
        lambda n: rhythm_signals(n, n_rows, n_frames, fps, rng, settings),
        lambda sig: face_maps(1.0 + np.float32(COLOUR_DEPTH) * sig, colour, time_pool, fps=fps,
                              highpass_hz=highpass_hz),
        chunk,
    )


def with_rhythms(
    data: EpochData,
    share: float,
    settings: SynRhythmSettings,
    *,
    n_frames: int,
    fps: float,
    spec: MapSpec,
    seed: int,
) -> EpochData:
    """``data(epoch)`` with ``share`` times as many fresh synthetic rhythm maps appended to every epoch.

    Why: beside the face maps they carry labels over the whole band and no
    person to recognise, so fine-tuning keeps what pretraining taught instead
    of settling on the training people.  The draws depend on (``seed``,
    epoch) only: a rerun sees the same maps.  ``n_frames`` and ``fps`` are
    those of the face clips before temporal pooling, as for
    :func:`rhythm_maps`.
    """
    if share <= 0:
        return data

    def mixed(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        maps, labels = data(epoch)
        rng = np.random.default_rng([seed, epoch, MIX_SALT])
        syn, syn_hr = rhythm_maps(int(round(share * len(maps))), maps.shape[2], n_frames, fps, rng, settings,
                                  time_pool=spec.time_pool, highpass_hz=spec.highpass_hz, colour=spec.colour)
        return np.concatenate([maps, syn.astype(maps.dtype)]), np.concatenate([labels, syn_hr.astype(labels.dtype)])

    return mixed
