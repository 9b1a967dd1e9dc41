"""SVR on frequency-domain rPPG features (Hsu, Lin & Hsu, ICASSP 2014; "Hus2014" in SynRhythm).

SynRhythm's learning-based baseline: "combined the frequency domain features
of RGB channels as well as ICA components and used support vector
regression (SVR) to estimate the HR" (SynRhythm, section II-A).  We could not
consult the Hsu 2014 paper itself, so this is our reading of that sentence,
with the standard rPPG preprocessing of the era (Poh 2010/2011):

1. the ``face_skin`` mean-RGB trace of a clip is divided by its mean
   (relative colour change), linearly detrended, band-passed to the HR band
   (:func:`hrbench.pulse.hr.bandpass`) and z-scored per channel;
2. FastICA (3 components, logcosh, symmetric, unit-variance sources,
   seeded) unmixes the three channels -- scikit-learn's algorithm, vectorised
   over clips in :func:`fastica_batch` (module ``_fastica``, shared with
   ``ica``; one ``FastICA`` estimator per clip cost 20-40 ms, the batch does
   200 clips in well under a second).  ICA
   returns components in arbitrary order and sign: spectra ignore the sign,
   and the components are sorted by the share of their in-band power held by
   their highest spectral bin (Poh 2010's "most periodic component first") so
   that feature *i* means the same thing in every clip;
3. for each of the six signals (R, G, B, ICA 1-3): the Hann-windowed power
   spectrum inside the HR band (0.25-bpm grid), normalised to sum 1, summed
   into ``n_bins`` equal-width bins (its coarse shape), and the ``n_peaks``
   highest spectral peaks as (frequency in bpm, share of band power) pairs;
4. ``StandardScaler`` + RBF ``SVR`` in a scikit-learn ``Pipeline``; the
   target (bpm) is standardised too (``TransformedTargetRegressor``) so that
   ``C`` and ``epsilon`` keep their usual unit-scale meaning.

Defaults: 1 peak per signal and no spectral-shape bins (12 features).  With a
few hundred training clips an RBF kernel is diluted by uninformative
dimensions; ``n_bins`` was chosen on ``synthetic-dev`` (a separately seeded
copy no board reports; ``leaderboards/studies/synthetic-dev-defaults.md``).

``max_train_clips`` caps the training set (kernel SVR costs O(n^2) memory and
up to O(n^3) time), picking clips round-robin over videos as the deep methods do;
it counts the original clips, and ``da_copies`` multiplies what the SVR fits by
``1 + da_copies``.

``da_copies`` (0 = off, Hsu 2014) adds to the training set copies of each
training clip at another heart rate, FG 2019's augmentation by resampling in
time (``deep/augment.py``) done without interpolation: a clip's frames read
as if filmed at ``f`` times the frame rate carry its pulse at ``HR * f``, so
a copy is the same frames with ``fps * f`` and the label ``HR * f``, ``f``
log-uniform over ``[2/3, 1.5]`` (the ``stmap_*`` draw), narrowed so that
``HR * f`` stays 10 % inside the protocol's HR band.  Why: an RBF kernel
answers a feature vector unlike any training one (a spectral peak at an HR
the training people never had) with something near the training mean, so
without copies the model cannot follow heart rates outside the training
set's range -- the case of any real dataset beside the embedded one.
The default, 3 copies, was chosen among 0, 1 and 3 on ``synthetic-dev`` by a
rule fixed before the runs: the lowest MAE on held-out clips moved to other
heart rates (study 13, ``benchmarks/hr_shift_probe.py``,
``leaderboards/studies/synthetic-dev-hr-shift-readout-copies.md``); the
``paper`` profile has none.  Known defect, found after the rebuild and left
for a fix with a new study and rebuild (``tests/test_svr.py`` holds it as an
expected failure): the spectrum's FFT length follows the frame rate, so a
copy with ``f`` above ~1.14 is zero-padded twice as finely as a real clip
and its peak power-share features come out about half as large.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy import signal as sps

from hrbench.api import (
    Clips,
    ConfigError,
    HrbenchError,
    HRSettings,
    Method,
    Param,
    bandpass,
    fill_missing_frames,
    hookimpl,
    training_clips,
    without_frames,
)

from ._fastica import fastica_batch
from .deep.augment import DEFAULT_FACTORS as DA_FACTORS  # numpy only: no torch at import

if TYPE_CHECKING:
    from sklearn.compose import TransformedTargetRegressor

# scikit-learn is imported in fit(): listing plugins must not pay for importing it.


def _preprocess(rgb: np.ndarray, fps: float, settings: HRSettings) -> np.ndarray:
    """``(n, 3, T)`` raw mean RGB -> detrended, band-passed, z-scored ``(n, 3, T)``."""
    mean = rgb.mean(axis=-1, keepdims=True)
    x = np.where(np.abs(mean) > 1e-9, rgb / np.where(np.abs(mean) > 1e-9, mean, 1.0) - 1.0, 0.0)
    x = bandpass(sps.detrend(x, axis=-1), fps, settings.band_hz, settings.filter_order)
    std = x.std(axis=-1, keepdims=True)
    return np.where(std > 1e-12, x / np.where(std > 1e-12, std, 1.0), 0.0)


def _band_spectrum(x: np.ndarray, fps: float, settings: HRSettings) -> tuple[np.ndarray, np.ndarray]:
    """Normalised in-band power spectrum of ``(..., T)`` and its frequencies (bpm)."""
    T = x.shape[-1]
    nfft = int(2 ** np.ceil(np.log2(max(T, fps * 60.0 / settings.resolution_bpm))))
    spec = np.abs(np.fft.rfft(x * np.hanning(T), n=nfft, axis=-1)) ** 2
    bpm = np.fft.rfftfreq(nfft, d=1.0 / fps) * 60.0
    lo, hi = settings.band_bpm
    sel = (bpm >= lo) & (bpm <= hi)
    band = spec[..., sel]
    total = band.sum(axis=-1, keepdims=True)
    return np.where(total > 0, band / np.where(total > 0, total, 1.0), 0.0), bpm[sel]


def _top_peaks(spec: np.ndarray, bpm: np.ndarray, k: int) -> np.ndarray:
    """Frequencies (bpm) and power shares of the ``k`` highest local maxima of each spectrum.

    ``spec`` is ``(m, F)``; returns ``(m, 2k)`` as [f1, p1, f2, p2, ...].  Missing
    peaks (a spectrum with fewer than k maxima) repeat the highest one with power 0.
    """
    out = np.zeros((len(spec), 2 * k))
    for i, s in enumerate(spec):
        idx, _ = sps.find_peaks(s)
        if len(idx) == 0:
            idx = np.array([int(np.argmax(s))])
        idx = idx[np.argsort(-s[idx], kind="stable")][:k]
        out[i, 0 : 2 * len(idx) : 2] = bpm[idx]
        out[i, 1 : 2 * len(idx) : 2] = s[idx]
        out[i, 2 * len(idx) :: 2] = bpm[idx[0]]
    return out


def n_features(n_bins: int, n_peaks: int) -> int:
    return 6 * (n_bins + 2 * n_peaks)


def clip_features(
    traces: np.ndarray, fps: float, settings: HRSettings, n_bins: int, n_peaks: int = 1, seed: int = 0
) -> np.ndarray:
    """Hsu-2014-style features of face_skin clips ``(n, 1, T, 3)`` -> ``(n, n_features(n_bins, n_peaks))``.

    Per signal (R, G, B, ICA 1-3): ``n_bins`` binned band spectrum, then the
    ``n_peaks`` highest spectral peaks as (bpm, power share) pairs.
    """
    if traces.ndim != 4 or traces.shape[1] != 1 or traces.shape[-1] != 3:
        raise HrbenchError(f"svr expects face_skin clip traces (n, 1, T, 3), got shape {traces.shape}")
    n = len(traces)
    # Each channel filled on its own, as numpy.interp does (float32 when something was filled).
    filled, _ = fill_missing_frames(np.asarray(traces[:, 0], dtype=np.float64), per_channel=True, dtype=np.float32,
                                    copy=False, arithmetic="interp")
    rgb = np.transpose(filled, (0, 2, 1))  # (n, 3, T)
    z = _preprocess(rgb, fps, settings)
    comps = fastica_batch(z, seed) if n else z  # (n, 3, T)
    spec_c, _ = _band_spectrum(comps, fps, settings)
    order = np.argsort(-spec_c.max(axis=-1), axis=-1, kind="stable")
    comps = np.take_along_axis(comps, order[..., None], axis=1)
    spec, bpm = _band_spectrum(np.concatenate([z, comps], axis=1), fps, settings)  # (n, 6, F)
    parts = []
    if n_bins:
        edges = np.linspace(0, spec.shape[-1], n_bins + 1).round().astype(int)
        bins = [spec[..., a:b].sum(axis=-1) for a, b in zip(edges[:-1], edges[1:], strict=True)]
        parts.append(np.stack(bins, axis=-1))
    if n_peaks:
        parts.append(_top_peaks(spec.reshape(-1, spec.shape[-1]), bpm, n_peaks).reshape(n, 6, 2 * n_peaks))
    feats = np.concatenate(parts, axis=-1).reshape(n, -1)
    return np.nan_to_num(feats, nan=0.0, posinf=0.0, neginf=0.0)


class SVRMethod(Method):
    name = "svr"
    description = "Hsu 2014: SVR on band spectra of RGB traces and their ICA components"
    citation = (
        "Y. Hsu, Y.-L. Lin, W. Hsu. Learning-based heart rate detection from remote "
        "photoplethysmography features. ICASSP 2014."
    )
    roi_scheme = "face_skin"
    supervised = True
    params: ClassVar[dict[str, Param]] = {
        "C": Param(10.0, "SVR penalty C (target standardised)", float, low=1e-6),
        "epsilon": Param(0.05, "SVR epsilon-tube half width, in standard deviations of the training HR", float,
                         low=0.0),
        "gamma": Param("scale", "RBF gamma: 'scale', 'auto' or a positive number", str),
        "n_bins": Param(0, "bins of each normalised in-band spectrum (0 = none; chosen on synthetic-dev)", int,
                        low=0, high=512),
        "n_peaks": Param(1, "highest spectral peaks per signal, as (bpm, power share) features", int, low=0, high=20),
        "max_train_clips": Param(4000, "at most this many training clips, spread over videos (0 = all); the SVR fits "
                                       "1 + da_copies times as many rows", int, low=0),
        "da_copies": Param(3, "copies of each training clip moved to another HR (its frames read at f times the "
                              "frame rate, label HR * f, f log-uniform in 2/3-1.5; 0 = none, Hsu 2014; 3 chosen "
                              "on synthetic-dev)", int, low=0, high=8, legacy=0),
    }
    profiles: ClassVar[dict[str, dict[str, Any]]] = {"paper": {"max_train_clips": 0, "da_copies": 0}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.gamma not in ("scale", "auto"):
            try:
                value = float(self.gamma)
            except ValueError:
                raise ConfigError(f"parameter gamma={self.gamma!r}: use 'scale', 'auto' or a positive number") from None
            if not value > 0:
                raise ConfigError(f"parameter gamma={self.gamma!r}: must be positive")
        if self.n_bins + self.n_peaks == 0:
            raise ConfigError("parameters n_bins and n_peaks are both 0: no features left")
        self._model: TransformedTargetRegressor | None = None

    def _gamma(self) -> str | float:
        return self.gamma if self.gamma in ("scale", "auto") else float(self.gamma)

    def _features(self, clips: Clips) -> np.ndarray:
        return clip_features(clips.traces, clips.fps, clips.hr_settings, self.n_bins, self.n_peaks, self.context.seed)

    def fit(self, clips: Clips) -> SVRMethod:
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVR

        train, idx = training_clips(self, clips, self.max_train_clips)
        svr = SVR(kernel="rbf", C=self.C, epsilon=self.epsilon, gamma=self._gamma())
        pipe = Pipeline([("scale", StandardScaler()), ("svr", svr)])
        model = TransformedTargetRegressor(regressor=pipe, transformer=StandardScaler())
        features, labels = self._features(train), np.asarray(train.hr, dtype=np.float64)
        if self.da_copies:
            features, labels = self._with_copies(train, features, labels)
        model.fit(features, labels)
        self.run_notes["train_clips"] = len(idx)
        self._model = model
        return self

    def _with_copies(self, train: Clips, features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The training features and labels, followed by ``da_copies`` time-scaled copies of each clip."""
        rng = np.random.default_rng([self.context.seed, 0x5C0])
        # Within the factor range and 10 % inside the HR band, past the worst of the band-pass filter's roll-off
        # (-6 dB at the edge): a copy's label stays an HR its features can show.
        lo, hi = train.hr_settings.band_bpm
        f_lo = np.log(np.clip(1.1 * lo / labels, DA_FACTORS[0], 1.0))
        f_hi = np.log(np.clip(hi / (1.1 * labels), 1.0, DA_FACTORS[1]))
        factors = np.exp(f_lo + (f_hi - f_lo) * rng.uniform(size=(self.da_copies, len(train))))
        copies = [clip_features(train.traces[i : i + 1], train.fps * f, train.hr_settings, self.n_bins, self.n_peaks,
                                self.context.seed)
                  for row in factors for i, f in enumerate(row)]
        return np.concatenate([features, *copies]), np.concatenate([labels, (labels[None, :] * factors).ravel()])

    def predict(self, clips: Clips) -> np.ndarray:
        if self._model is None:
            raise HrbenchError(f"method {self.name}: predict called before fit")
        if len(clips) == 0:
            return np.empty(0)
        lo, hi = clips.hr_settings.band_bpm
        out = np.clip(self._model.predict(self._features(clips)), lo, hi)
        return np.where(without_frames(clips.traces), np.nan, out)


@hookimpl
def register_methods(register) -> None:  # noqa: ANN001 - pluggy passes a callable
    register(SVRMethod)
