"""Cardiorespiratory signals: heart-rate trajectory, respiration, PPG pulse shape.

Why a model and not a sine: real rPPG data differ from a clean sinusoid in
ways methods must cope with, and the benchmark should contain them.

* **Pulse shape.**  One beat of a photoplethysmogram is a fast systolic
  upstroke, a systolic peak, a dicrotic notch and a smaller diastolic wave.
  It is modelled, as in common synthetic-PPG generators, by two periodic
  Gaussians in beat phase (systolic at ~0.2 of the cycle, diastolic at
  ~0.5, diastolic/systolic height 0.3-0.6).  The parameters are per subject
  (age and arterial stiffness change the notch in real people).  The
  template's harmonic content is constrained to that of real PPG, whose
  spectrum falls off fast: second harmonic at most ~0.55 and third at most
  ~0.25 of the fundamental's amplitude (:func:`harmonic_ratio`, checked by
  the tests).  Why it matters: generator version 1 drew narrow systolic
  peaks (width 0.06-0.08 of a beat) whose third harmonic reached 0.65 of the
  fundamental; every spectral method then read 2x or 3x the beat rate on
  10 s clips of *still* faces, an error real recordings rarely show.
* **Heart rate varies.**  Instantaneous HR = session level + exercise
  recovery (exponential decay, time constant 40-90 s) + linear drift + slow
  random wander (< 0.05 Hz) + Mayer waves (~0.1 Hz) + respiratory sinus
  arrhythmia (RSA: HR rises on inspiration, 1-4 bpm).  The pulse phase is the
  integral of HR, so the number of beats in any window is exactly
  ``mean HR x duration`` and :meth:`CardioSignal.mean_hr` is the label a
  spectral estimator should find.
* **Respiration** (12-20 breaths/min at rest, faster after exercise) with a
  rate that drifts, a smooth asymmetric breath (shorter inspiration), modulates the
  pulse three ways, as in real PPG: amplitude (RIAV), baseline (RIIV) and
  rate (RSA).
* **Beat-to-beat amplitude jitter** (a few per cent), smooth in phase.
* **Transit delays.**  The blood-volume wave reaches facial regions a few
  tens of milliseconds apart, and a finger sensor (the reference, as in
  UBFC/VIPL-HR) ~100-200 ms after the face; :meth:`CardioSignal.blood_volume`
  takes a delay so each region and the reference sensor sample the same
  wave at shifted times.

Units: ``blood_volume`` is dimensionless with a beat peak-to-peak of ~1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Internal simulation rate (Hz) of the slowly varying quantities; the pulse
#: itself is evaluated analytically at any requested time.
SIM_FS = 100.0
#: Margin (s) simulated before 0 and after the end, so delayed lookups stay inside.
MARGIN_S = 2.0


@dataclass(frozen=True)
class PulseShape:
    """Two-Gaussian beat template in phase units (one beat = 1)."""

    systolic_phase: float = 0.20
    systolic_width: float = 0.07
    diastolic_phase: float = 0.50
    diastolic_width: float = 0.11
    diastolic_ratio: float = 0.45


def pulse_template(phase: np.ndarray, shape: PulseShape) -> np.ndarray:
    """Beat template at the given phases (periodic with period 1), zero mean, peak-to-peak 1."""
    raw = _raw_template(np.asarray(phase, dtype=np.float64), shape)
    mean, ptp = _template_stats(shape)
    return (raw - mean) / ptp


def _raw_template(phase: np.ndarray, s: PulseShape) -> np.ndarray:
    def wrapped_gauss(mu: float, sigma: float) -> np.ndarray:
        d = (phase - mu + 0.5) % 1.0 - 0.5
        return np.exp(-0.5 * (d / sigma) ** 2)

    return wrapped_gauss(s.systolic_phase, s.systolic_width) + s.diastolic_ratio * wrapped_gauss(
        s.diastolic_phase, s.diastolic_width
    )


def _template_stats(shape: PulseShape) -> tuple[float, float]:
    grid = np.arange(2000) / 2000.0
    raw = _raw_template(grid, shape)
    return float(raw.mean()), float(raw.max() - raw.min())


def harmonic_ratio(shape: PulseShape, k: int = 2) -> float:
    """Amplitude of the template's ``k``-th harmonic relative to its fundamental."""
    spec = np.abs(np.fft.rfft(_raw_template(np.arange(512) / 512.0, shape)))
    return float(spec[k] / spec[1])


def has_dicrotic_notch(shape: PulseShape) -> bool:
    """Whether the template has a local minimum between systolic and diastolic peaks."""
    grid = np.linspace(shape.systolic_phase, shape.diastolic_phase, 400)
    y = _raw_template(grid, shape)
    inner = y[1:-1]
    return bool(np.any((inner < y[:-2]) & (inner < y[2:])))


def smooth_noise(
    t: np.ndarray, band_hz: tuple[float, float], rng: np.random.Generator, n: int = 16
) -> np.ndarray:
    """Unit-RMS band-limited random process evaluated at times ``t``.

    A sum of ``n`` sinusoids with random frequencies in ``band_hz``, random
    phases and Rayleigh amplitudes: smooth, deterministic from ``rng``, and
    evaluable at irregular times (jittered frame clocks) without resampling.
    """
    lo, hi = band_hz
    f = rng.uniform(lo, hi, n)
    ph = rng.uniform(0, 2 * np.pi, n)
    a = rng.rayleigh(1.0, n)
    a = a / np.sqrt(0.5 * np.sum(a**2))
    t = np.asarray(t, dtype=np.float64)
    return np.sin(2 * np.pi * f[:, None] * t.reshape(1, -1) + ph[:, None]).T.dot(a).reshape(t.shape)


@dataclass(frozen=True)
class CardioParams:
    """Everything that shapes one recording's pulse (JSON-friendly scalars)."""

    hr_level: float  # bpm, session resting level
    exercise_excess: float = 0.0  # bpm above level at t = 0, decaying
    exercise_tau: float = 60.0  # s
    drift_bpm: float = 0.0  # linear change over the whole recording
    wander_bpm: float = 1.0  # RMS of slow random wander
    mayer_bpm: float = 1.0  # amplitude of ~0.1 Hz Mayer waves
    rsa_bpm: float = 2.0  # respiratory sinus arrhythmia amplitude
    resp_rate: float = 15.0  # breaths/min
    resp_variability: float = 0.10  # relative RMS of the breathing-rate drift
    riav: float = 0.15  # respiratory amplitude modulation depth
    riiv: float = 0.15  # respiratory baseline modulation (pulse ptp units)
    beat_jitter: float = 0.04  # beat-to-beat amplitude RMS
    sensor_delay: float = 0.15  # s, reference sensor after the face
    shape: PulseShape = field(default_factory=PulseShape)


class CardioSignal:
    """A simulated cardiorespiratory state over ``[0, duration]`` seconds."""

    def __init__(self, params: CardioParams, duration: float, rng: np.random.Generator) -> None:
        self.params = p = params
        self.duration = float(duration)
        t = np.arange(-MARGIN_S, duration + MARGIN_S, 1.0 / SIM_FS)
        self.t = t
        # Respiration: phase of a breathing rate that drifts slowly.
        f_resp = (
            p.resp_rate / 60.0 * (1.0 + p.resp_variability * smooth_noise(t, (0.01, 0.08), rng))
        )
        f_resp = np.clip(f_resp, 0.08, 1.0)
        resp_phase = np.cumsum(f_resp) / SIM_FS + rng.uniform()
        # Asymmetric but smooth breath (inspiration shorter than expiration): a
        # fundamental and a second harmonic only -- higher harmonics of breathing
        # would land in the HR band, which real, smooth breathing does not do.
        theta = 2 * np.pi * resp_phase
        resp = -np.cos(theta) + 0.25 * np.sin(2 * theta)
        self.resp = resp / 1.1  # ~[-1, 1], +1 near the end of inspiration
        # Heart rate (bpm).
        tt = np.clip(t, 0.0, duration)
        hr = (
            p.hr_level
            + p.exercise_excess * np.exp(-tt / p.exercise_tau)
            + p.drift_bpm * (tt / max(duration, 1e-9) - 0.5)
            + p.wander_bpm * smooth_noise(t, (0.005, 0.05), rng)
            + p.mayer_bpm
            * np.sin(2 * np.pi * rng.uniform(0.08, 0.12) * t + rng.uniform(0, 2 * np.pi))
            + p.rsa_bpm * self.resp
        )
        self.hr = np.clip(hr, 38.0, 210.0)
        self.beat_phase = np.cumsum(self.hr / 60.0) / SIM_FS
        self.beat_phase -= np.interp(0.0, t, self.beat_phase) - rng.uniform()
        # Beat-to-beat amplitude: one random factor per beat, linearly interpolated in phase.
        n_beats = int(np.ceil(self.beat_phase[-1] - self.beat_phase[0])) + 3
        self._beat0 = np.floor(self.beat_phase[0]) - 1
        self._beat_amp = 1.0 + p.beat_jitter * rng.standard_normal(n_beats)
        self.amplitude = 1.0 + p.riav * self.resp

    # -- lookups -------------------------------------------------------------

    def _interp(self, arr: np.ndarray, times: np.ndarray) -> np.ndarray:
        return np.interp(times, self.t, arr)

    def phase_at(self, times: np.ndarray) -> np.ndarray:
        return self._interp(self.beat_phase, np.asarray(times, dtype=np.float64))

    def blood_volume(self, times: np.ndarray, delay: float = 0.0) -> np.ndarray:
        """Relative blood volume (pulse ptp ~1) at ``times - delay``."""
        tq = np.asarray(times, dtype=np.float64) - delay
        ph = self.phase_at(tq)
        beat = ph - self._beat0 - 0.5  # beat centres at half-integers of the table
        amp_beat = np.interp(beat, np.arange(len(self._beat_amp)), self._beat_amp)
        pulse = pulse_template(ph, self.params.shape)
        return self._interp(
            self.amplitude, tq
        ) * amp_beat * pulse + self.params.riiv * self._interp(self.resp, tq)

    def reference_bvp(self, times: np.ndarray) -> np.ndarray:
        """The contact-sensor waveform (face pulse delayed by the sensor's transit time)."""
        return self.blood_volume(times, self.params.sensor_delay)

    def respiration(self, times: np.ndarray) -> np.ndarray:
        return self._interp(self.resp, np.asarray(times, dtype=np.float64))

    def instantaneous_hr(self, times: np.ndarray) -> np.ndarray:
        return self._interp(self.hr, np.asarray(times, dtype=np.float64))

    def mean_hr(self, t0: float, t1: float, delay: float = 0.0) -> float:
        """Beats per minute between ``t0`` and ``t1`` (beat count / time)."""
        ph = self.phase_at(np.array([t0, t1]) - delay)
        return float((ph[1] - ph[0]) / (t1 - t0) * 60.0)
