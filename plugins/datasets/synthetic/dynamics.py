"""Per-frame trajectories of a recording: head pose, jaw, light.

Everything that changes over time, except what the camera decides online
(exposure, white balance), is computed here as arrays over the frame times,
so rendering is a loop of pure image operations.

Motion components (amplitudes in face widths or degrees, RMS):

* habitual sway -- everyone moves a little (~1 % of a face width, ~0.8 deg,
  0.02-0.4 Hz), scaled by the subject's motion habit and the scenario;
* breathing moves the head and shoulders at the respiration rate;
* ballistocardiac motion: the head recoils at each heartbeat (Balakrishnan
  et al. 2013), ~0.03 % of a face width RMS (~0.2 pixel peak-to-peak at 640x480),
  a pulse-synchronous artefact that moves strong edges (glasses, hairline);
* deliberate motion (``head_motion``): large yaw/pitch/roll and translation;
* talking: jaw opening driven by a syllable oscillation (3.5-5.5 Hz, jittered,
  random per-syllable strength) gated by phrases (1.5-4 s) and pauses
  (0.3-1.5 s), plus nods.

Light: a level (relative to nominal office light), a colour temperature and
a direction, with slow small fluctuations; ``light_change`` moves all three
along a mix of a linear ramp and one smoother step; ``bright_flicker`` adds
mains flicker (100 or 120 Hz, mains frequency +-0.05 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import optics
from .physiology import CardioSignal, smooth_noise
from .population import Subject
from .scenarios import Scenario

#: Reference light of the base photos (studio light, slightly from above).
REFERENCE_LIGHT = optics.unit([0.0, -0.3, 1.0])


@dataclass
class Trajectories:
    tx: np.ndarray  # face widths
    ty: np.ndarray
    yaw: np.ndarray  # radians
    pitch: np.ndarray
    roll: np.ndarray
    scale: np.ndarray
    body_tx: np.ndarray
    body_ty: np.ndarray
    jaw: np.ndarray  # fraction of the mouth-chin distance
    level: np.ndarray  # (N,) light level, x nominal
    colour: np.ndarray  # (N, 3) light colour, linear BGR, green = 1
    light_dir: np.ndarray  # (N, 3) unit
    spec_gain: np.ndarray
    ae_drift: np.ndarray
    flicker_hz: float
    flicker_depth: float
    flicker_phase: float
    light_level: float
    light_cct: float


def _speech(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Jaw opening in [0, 1]: syllables gated by phrases."""
    t_end = float(times[-1]) + 1.0
    # Phrase gate.
    edges, on, t = [], [], -float(rng.uniform(0.0, 2.0))
    speaking = True
    while t < t_end:
        d = rng.uniform(1.5, 4.0) if speaking else rng.uniform(0.3, 1.5)
        edges.append(t)
        on.append(speaking)
        t += d
        speaking = not speaking
    edges.append(t)
    idx = np.searchsorted(np.asarray(edges), times, side="right") - 1
    gate = np.asarray(on, dtype=np.float64)[np.clip(idx, 0, len(on) - 1)]
    # Smooth the gate edges (~0.1 s).
    dt = np.diff(times, prepend=times[0] - 1.0 / 30.0)
    a = np.clip(dt / 0.1, 0.0, 1.0)
    g = np.empty_like(gate)
    acc = gate[0]
    for i in range(len(gate)):
        acc += a[i] * (gate[i] - acc)
        g[i] = acc
    rate = rng.uniform(3.5, 5.5) * (1.0 + 0.3 * smooth_noise(times, (0.2, 1.0), rng))
    phase = np.concatenate([[0.0], np.cumsum(rate[1:] * np.diff(times))]) + rng.uniform()
    strength = rng.uniform(0.4, 1.0, int(phase[-1]) + 2)[np.floor(phase).astype(int)]
    syll = (0.5 - 0.5 * np.cos(2 * np.pi * phase)) ** 1.5
    return g * syll * strength


def _bcg(times: np.ndarray, cardio: CardioSignal) -> np.ndarray:
    """Unit-RMS ballistocardiac displacement: the pulse wave itself, ~0.1 s later.

    The recoil follows the ejection; as a displacement it is a low-passed,
    pulse-shaped wave (not its derivative, whose harmonics would dominate).
    """
    d = cardio.blood_volume(times, 0.1)
    d = d - d.mean()
    return d / max(float(np.sqrt(np.mean(d**2))), 1e-9)


def make_trajectories(
    times: np.ndarray, sc: Scenario, subject: Subject, cardio: CardioSignal, duration: float,
    rng: np.random.Generator,
) -> Trajectories:
    """Head and body motion, then light, drawn from ``rng`` in that order (the order fixes the dataset)."""
    motion = _motion(times, sc, subject, cardio, rng)
    light = _light(times, sc, duration, rng)
    return Trajectories(
        **motion, **light, spec_gain=np.full(len(times), sc.specular),
        ae_drift=0.03 * smooth_noise(times, (0.01, 0.05), rng), flicker_phase=float(rng.uniform(0, 2 * np.pi)),
    )


def _motion(
    times: np.ndarray, sc: Scenario, subject: Subject, cardio: CardioSignal, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Head pose, body shift and jaw over ``times``: sway, deliberate motion, breathing, heartbeat, speech."""
    n = len(times)
    habit = subject.motion_habit * sc.sway

    def noise(band: tuple[float, float]) -> np.ndarray:
        return smooth_noise(times, band, rng)

    sway_band = (0.02, 0.4)
    resp = cardio.respiration(times)
    bcg = _bcg(times, cardio)
    deg = np.deg2rad
    # Deliberate translation (leaning, shifting in the chair) moves the upper body
    # with the head; sway and rotations are mostly the head's own.
    lean_x = sc.translate * noise(sc.motion_band)
    lean_y = 0.6 * sc.translate * noise(sc.motion_band)
    tx = 0.012 * habit * noise(sway_band) + lean_x
    ty = 0.010 * habit * noise(sway_band) + lean_y + 0.004 * sc.breathing_motion * resp + 0.0003 * bcg
    yaw = deg(0.8 * habit * noise(sway_band) + sc.rotate_deg[0] * noise(sc.motion_band))
    pitch = deg(0.8 * habit * noise(sway_band) + sc.rotate_deg[1] * noise(sc.motion_band)
                + 0.3 * sc.breathing_motion * resp)
    roll = deg(0.6 * habit * noise(sway_band) + sc.rotate_deg[2] * noise(sc.motion_band))
    scale = 1.0 + 0.006 * habit * noise(sway_band) + 0.25 * sc.translate * noise(sc.motion_band)
    body_tx = 0.4 * (tx - lean_x) + 0.85 * lean_x + 0.004 * habit * noise(sway_band)
    body_ty = 0.4 * (ty - lean_y) + 0.85 * lean_y + 0.006 * sc.breathing_motion * resp
    jaw = _speech(times, rng) if sc.talking else np.zeros(n)
    if sc.talking:
        pitch = pitch + deg(1.5) * jaw  # the head dips a little with emphasis
    return {"tx": tx, "ty": ty, "yaw": yaw, "pitch": pitch, "roll": roll, "scale": scale, "body_tx": body_tx,
            "body_ty": body_ty, "jaw": jaw}


def _light(times: np.ndarray, sc: Scenario, duration: float, rng: np.random.Generator) -> dict[str, Any]:
    """Light level, colour and direction over ``times`` (a change when the scenario has one), and flicker."""
    n = len(times)
    level0 = float(rng.uniform(*sc.light_level))
    cct0 = float(rng.uniform(*sc.light_cct))
    dir0 = optics.unit([rng.uniform(-0.5, 0.5), rng.uniform(-0.6, -0.1), 1.0])
    octaves = float(rng.uniform(*sc.light_change_octaves)) * float(rng.choice([-1.0, 1.0]))
    dcct = float(rng.uniform(*sc.cct_change)) * float(rng.choice([-1.0, 1.0]))
    if octaves != 0.0 or dcct != 0.0:
        tc = rng.uniform(0.3, 0.7) * duration
        width = rng.uniform(2.0, 6.0)
        progress = 0.5 * times / duration + 0.5 / (1.0 + np.exp(-(times - tc) / width))
        dir1 = optics.unit([rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.0), 1.0])
        flutter = 0.02
    else:
        progress = np.zeros(n)
        dir1 = dir0
        flutter = 0.01
    level = level0 * 2.0 ** (octaves * progress) * (1.0 + flutter * smooth_noise(times, (0.01, 0.3), rng))
    cct = np.clip(cct0 + dcct * progress, 1800.0, 9000.0)
    # Colour changes slowly: compute on a sparse grid and interpolate.
    sparse = np.arange(0, n, max(1, n // 60))
    tab = np.stack([optics.rgb_to_bgr(optics.illuminant_rgb(c)) for c in cct[sparse]])
    colour = np.stack([np.interp(times, times[sparse], tab[:, c]) for c in range(3)], axis=1)
    dirs = (1.0 - progress)[:, None] * dir0 + progress[:, None] * dir1
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    f_depth = float(rng.uniform(*sc.flicker_depth))
    f_hz = float(rng.choice([100.0, 120.0])) * (1.0 + rng.normal(0.0, 0.0005)) if f_depth > 0 else 0.0
    return {"level": level, "colour": colour, "light_dir": dirs, "flicker_hz": f_hz, "flicker_depth": f_depth,
            "light_level": level0, "light_cct": cct0}
