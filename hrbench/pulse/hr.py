"""One heart-rate estimator for predictions and ground truth alike.

Using the same code to turn a method's pulse signal and a dataset's reference
BVP into beats per minute keeps the comparison fair: any bias of the
estimator cancels instead of showing up as a method error.

* Pulse-like signals (rPPG output, BVP): linear detrend, zero-phase
  Butterworth band-pass to the HR band, then a power spectrum whose highest
  in-band peak, refined by parabolic interpolation on the log power, is the
  heart rate.  The spectrum depends on the window's length:

  - windows shorter than two Welch segments (``welch_segment_s``, 8 s by
    default; e.g. SynRhythm's 10-s clips): one Hann-windowed periodogram,
    zero-padded so bins are finer than ``resolution_bpm``;
  - longer windows (whole videos, 30-s evaluation windows): Welch's method,
    Hann segments of ``welch_segment_s`` with ``welch_overlap`` overlap,
    averaged.  Two failures of one long periodogram on real video motivate
    it: a heart rate that drifts a few bpm spreads its power over many fine
    bins while a stationary narrow-band disturbance (flicker, a periodic
    motion) keeps all of its power in one, so the disturbance wins; and an
    intermittent disturbance strong in a few seconds only is diluted by the
    average instead of owning a short window.  Segments of 8 s (resolution
    7.5 bpm before interpolation) are the length the field uses for the same
    reason (e.g. rPPG-Toolbox's and pyVHR's Welch settings use segments of a
    few seconds).

* A recording's evaluation windows (``windowed`` rule): :func:`window_hrs`
  reads each window's peak on its own (``plain``) or the windows jointly
  (``anchored``): on real ~60-s UBFC videos one or two of three 30-s POS
  windows can lock onto a narrow 54-62 bpm component that waxes and wanes,
  and a median of three keeps two of them; the joint reading lets such a
  window take its own pulse peak instead.  The reference is always read
  window by window (it is ground truth, not a competing mixture).
* ECG: R-peaks (band-pass 5-20 Hz, polarity fixed by the larger excursion,
  ``scipy.signal.find_peaks`` with a refractory distance from the band's
  upper edge), HR = 60 / mean RR over the window.
* HR tracks (a dataset that ships bpm values): mean over the window.

Settings come from the protocol (``[hr]`` table).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import signal as sps

from ..data.recording import Recording, Signal
from ..errors import RecordingError


@dataclass(frozen=True)
class HRSettings:
    """How heart rate is read from a signal; part of every protocol."""

    band_bpm: tuple[float, float] = (42.0, 240.0)
    resolution_bpm: float = 0.25
    #: Butterworth order of the zero-phase band-pass (chosen on synthetic-dev:
    #: leaderboards/studies/synthetic-dev-defaults.md; orders 2-4 were not distinguishable there).
    filter_order: int = 2
    #: Welch segment length (s); windows shorter than two segments use one periodogram.
    welch_segment_s: float = 8.0
    #: Fraction of a segment shared with the next one.
    welch_overlap: float = 0.5

    def __post_init__(self) -> None:
        lo, hi = self.band_bpm
        if not (0 < lo < hi):
            raise ValueError(f"band_bpm must be increasing and positive, got {self.band_bpm}")
        if not (0 < self.resolution_bpm <= 0.5):
            raise ValueError("resolution_bpm must be in (0, 0.5] (finer than half a beat per minute)")
        if not 1 <= self.filter_order <= 8:
            raise ValueError(f"filter_order must be 1..8, got {self.filter_order}")
        if not self.welch_segment_s >= 2.0:
            raise ValueError(f"welch_segment_s must be at least 2 s, got {self.welch_segment_s}")
        if not 0.0 <= self.welch_overlap <= 0.75:
            raise ValueError(f"welch_overlap must be in [0, 0.75], got {self.welch_overlap}")

    @property
    def band_hz(self) -> tuple[float, float]:
        return self.band_bpm[0] / 60.0, self.band_bpm[1] / 60.0


@lru_cache(maxsize=64)
def _butter_sos(order: int, lo: float, hi: float, fs: float) -> np.ndarray:
    """Second-order sections of a Butterworth band-pass, designed once per setting."""
    nyq = fs / 2.0
    hi = min(hi, 0.95 * nyq)
    return sps.butter(order, [lo / nyq, hi / nyq], btype="bandpass", output="sos")


def bandpass(x: np.ndarray, fs: float, band_hz: tuple[float, float], order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth band-pass along the last axis."""
    # A copy: scipy's filters want a writable array, and the cached design must not change.
    sos = _butter_sos(int(order), float(band_hz[0]), float(band_hz[1]), float(fs)).copy()
    padlen = min(x.shape[-1] - 1, 3 * (2 * len(sos) + 1) * 3)
    return sps.sosfiltfilt(sos, x, axis=-1, padlen=max(padlen, 0))


def uses_welch(n_samples: int, fs: float, settings: HRSettings) -> bool:
    """Whether a window is long enough for segment averaging: at least two segments' *duration*.

    Decided from seconds, not samples, so a 30-fps pulse and a 60-Hz
    reference over the same window always get the same kind of spectrum.
    """
    return n_samples / fs >= 2 * settings.welch_segment_s - 1e-9


def hr_spectrum(
    x: np.ndarray, fs: float, settings: HRSettings = HRSettings(), *, filtered: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """In-band power spectrum ``(bpm, power)`` of pulse signals along the last axis.

    ``power`` has shape ``(..., n_bins)``; which spectrum (periodogram or
    Welch) follows from the window's length, see the module docstring.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] < 8:
        raise ValueError("signal too short for spectral HR estimation")
    x = sps.detrend(x, axis=-1)
    if not filtered:
        x = bandpass(x, fs, settings.band_hz, settings.filter_order)
    T = x.shape[-1]
    if uses_welch(T, fs, settings):
        seg = int(round(settings.welch_segment_s * fs))
        nfft = int(2 ** np.ceil(np.log2(max(seg, fs * 60.0 / settings.resolution_bpm))))
        freqs, spec = sps.welch(
            x, fs=fs, window="hann", nperseg=seg, noverlap=int(round(seg * settings.welch_overlap)),
            nfft=nfft, detrend="constant", axis=-1,
        )
    else:
        # Zero-pad so one FFT bin is at most resolution_bpm (in Hz: resolution/60).
        nfft = int(2 ** np.ceil(np.log2(max(T, fs * 60.0 / settings.resolution_bpm))))
        spec = np.abs(np.fft.rfft(x * np.hanning(T), n=nfft, axis=-1)) ** 2
        freqs = np.fft.rfftfreq(nfft, d=1.0 / fs)
    lo, hi = settings.band_hz
    in_band = (freqs >= lo) & (freqs <= hi)
    return freqs[in_band] * 60.0, spec[..., in_band]


def spectral_hr(x: np.ndarray, fs: float, settings: HRSettings = HRSettings(), *, filtered: bool = False) -> np.ndarray:
    """Heart rate (bpm) of pulse signals along the last axis; vectorised over the rest.

    ``x`` has shape ``(..., T)``; the result has shape ``(...)``.  The peak
    rule: the highest bin of the in-band spectrum (:func:`hr_spectrum`),
    refined by a parabola through it and its neighbours on the log power
    (not at the band's edge bins).
    """
    bpm, band_spec = hr_spectrum(x, fs, settings, filtered=filtered)
    return np.where(_flat(x, band_spec), np.nan, _refined_peak(bpm, band_spec, np.argmax(band_spec, axis=-1)))


def _flat(x: np.ndarray, band_spec: np.ndarray) -> np.ndarray:
    """Signals with no in-band power: they have no heart rate (their "peak" would be a band edge)."""
    return ~(band_spec.max(axis=-1) > 1e-20 * max(1.0, float(np.nanmax(np.abs(x))) ** 2 if np.size(x) else 1.0))


def _refined_peak(bpm: np.ndarray, band_spec: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Bin ``k`` of each spectrum refined by a parabola through it and its neighbours on the log power."""
    k = np.asarray(k)
    km = np.clip(k - 1, 0, band_spec.shape[-1] - 1)
    kp = np.clip(k + 1, 0, band_spec.shape[-1] - 1)
    take = lambda idx: np.take_along_axis(band_spec, idx[..., None], axis=-1)[..., 0]  # noqa: E731
    a, b, c = (np.log(take(i) + 1e-30) for i in (km, k, kp))
    denom = a - 2 * b + c
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = np.where((denom < 0) & (km != k) & (kp != k), 0.5 * (a - c) / denom, 0.0)
    d_bpm = bpm[1] - bpm[0]
    return bpm[k] + np.clip(delta, -0.5, 0.5) * d_bpm


#: How the HR of a recording's evaluation windows is read (``[evaluation] window_peak``), see :func:`window_hrs`.
WINDOW_PEAKS = ("plain", "anchored")
#: ``anchored``: a window's peak that is farther than this from the recording's agreed HR may be replaced ...
ANCHOR_DISTANCE_BPM = 10.0
#: ... by the window's highest peak within that distance, if it has at least this share of the window's top power.
ANCHOR_MIN_POWER = 0.5


def window_hrs(
    pulses: np.ndarray, fs: float, settings: HRSettings = HRSettings(), *, peak: str = "plain", filtered: bool = False
) -> np.ndarray:
    """HR (bpm) of each evaluation window of *one recording*: ``pulses`` is ``(m, T)``, one row per window.

    ``plain``: each window's highest spectral peak (:func:`spectral_hr`), as
    if the windows were unrelated.  ``anchored``: the windows of a recording
    are read jointly.  A pulse is present in every window; a narrow
    competing component that waxes and wanes (a periodic motion, lighting,
    on real video often 54-62 bpm) owns some windows' highest peak but not
    others.  So the recording's *agreed* rate is the peak of the geometric
    mean of its windows' spectra (each scaled to unit total power): a
    frequency scores there only if every window has power at it.  A window
    whose highest peak lies more than :data:`ANCHOR_DISTANCE_BPM` from the
    agreed rate takes instead its highest local peak within that distance,
    provided that peak has at least :data:`ANCHOR_MIN_POWER` of the
    window's top power (a real pulse outcompeted, not a noise ripple);
    otherwise it keeps its own peak, so a heart rate that truly moves far
    (exercise, a step change) is still read window by window.  With one
    window (or one usable window) both rules agree.  Windows whose pulse
    is flat or not finite get NaN (declined) under both rules.  The two
    constants were fixed on signal-level simulations (tests/test_windowed_rule.py's
    model) before any run on ``synthetic-dev``, where only plain against
    anchored is chosen (benchmarks/windowed_study.py).
    """
    if peak not in WINDOW_PEAKS:
        raise ValueError(f"window peak rule must be one of {list(WINDOW_PEAKS)}, got {peak!r}")
    x = np.asarray(pulses, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected one recording's windows as (m, T), got shape {x.shape}")
    out = np.full(len(x), np.nan)
    finite = np.isfinite(x).all(axis=-1)
    if not finite.any():
        return out
    bpm, spec = hr_spectrum(x[finite], fs, settings, filtered=filtered)
    k = np.argmax(spec, axis=-1)
    usable = ~_flat(x[finite], spec)
    if peak == "anchored" and usable.sum() >= 2:
        k = k.copy()
        anchor = _agreed_rate(bpm, spec[usable])
        near = np.abs(bpm - anchor) <= ANCHOR_DISTANCE_BPM
        for row in np.flatnonzero(usable):
            p = spec[row]
            if abs(bpm[k[row]] - anchor) <= ANCHOR_DISTANCE_BPM:
                continue
            local = np.zeros(len(p), dtype=bool)
            local[1:-1] = (p[1:-1] >= p[:-2]) & (p[1:-1] > p[2:])
            cand = np.flatnonzero(local & near & (p >= ANCHOR_MIN_POWER * p.max()))
            if len(cand):
                k[row] = cand[np.argmax(p[cand])]
    hr = _refined_peak(bpm, spec, k)
    out[finite] = np.where(usable, hr, np.nan)
    return out


def _agreed_rate(bpm: np.ndarray, spec: np.ndarray) -> float:
    """The rate a recording's windows agree on: peak of the geometric mean of their unit-power spectra."""
    share = spec / spec.sum(axis=-1, keepdims=True)
    agreed = np.exp(np.log(np.maximum(share, 1e-300)).mean(axis=0))
    return float(_refined_peak(bpm, agreed, np.argmax(agreed)))


#: The estimator by the name the issue tracker and plugin authors look for.
estimate_hr = spectral_hr


def r_peaks(ecg: np.ndarray, fs: float, max_bpm: float = 240.0) -> np.ndarray:
    """Indices of ECG R-peaks."""
    ecg = np.asarray(ecg, dtype=np.float64)
    x = bandpass(sps.detrend(ecg), fs, (5.0, min(20.0, 0.45 * fs)), order=3)
    # R waves are the largest excursion; fix polarity (some leads are inverted).
    if abs(np.percentile(x, 0.5)) > abs(np.percentile(x, 99.5)):
        x = -x
    height = 0.35 * np.percentile(x, 99.5)
    distance = max(1, int(fs * 60.0 / max_bpm))
    peaks, _ = sps.find_peaks(x, height=height, distance=distance)
    return peaks


def ecg_hr(ecg: np.ndarray, fs: float, settings: HRSettings = HRSettings()) -> float:
    """HR (bpm) over a window of ECG as 60 / mean RR interval."""
    peaks = r_peaks(ecg, fs, settings.band_bpm[1])
    if len(peaks) < 2:
        raise ValueError("fewer than two R-peaks in the window")
    rr = np.diff(peaks) / fs
    return float(60.0 / rr.mean())


def signal_hr(sig: Signal, t0: float, t1: float, settings: HRSettings = HRSettings()) -> float:
    """Reference HR of a ground-truth signal over seconds [t0, t1) of the video clock."""
    t = sig.sample_times()
    step = (t[-1] - t[0]) / max(1, len(t) - 1)
    covered = min(t1, t[-1] + step) - max(t0, t[0])
    if covered < 0.9 * (t1 - t0):
        raise ValueError(
            f"it covers {t[0]:.1f}-{t[-1] + step:.1f} s of the video clock, "
            f"not the clip's {t0:.1f}-{t1:.1f} s (shorter than the video?)"
        )
    sel = (t >= t0) & (t < t1)
    values = np.asarray(sig.values, dtype=np.float64)[sel]
    if sig.kind == "hr":
        if len(values) == 0:
            # A coarse track (e.g. one value per second) may have no sample inside a
            # short window: interpolate at the window's centre instead.
            return float(np.interp(0.5 * (t0 + t1), t, sig.values))
        return float(values.mean())
    if len(values) < 8:
        raise ValueError(f"ground truth covers only {len(values)} samples of [{t0:.2f}, {t1:.2f}) s")
    fs = sig.fs if sig.times is None else (len(t) - 1) / (t[-1] - t[0])
    if sig.kind == "ecg":
        return ecg_hr(values, fs, settings)
    hr = float(spectral_hr(values, fs, settings))
    if not np.isfinite(hr):
        raise ValueError(f"the signal is flat over [{t0:.2f}, {t1:.2f}) s: no heart rate to read")
    return hr


def reference_hr(rec: Recording, sig: Signal, windows: np.ndarray, settings: HRSettings) -> np.ndarray:
    """Reference HR for each (t0, t1) window of a recording, as a one-line error on failure."""
    out = np.empty(len(windows))
    for i, (t0, t1) in enumerate(windows):
        try:
            out[i] = signal_hr(sig, float(t0), float(t1), settings)
        except ValueError as exc:
            raise RecordingError(f"ground truth unusable: {exc}", rec.gt_path, rec.id) from exc
    return out
