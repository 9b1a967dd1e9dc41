"""Conformance checks of a method plugin: class contract, outputs, missing data, pulse.

Checks are fast: clips are synthetic (:func:`~hrbench.testing.synthetic.synthetic_clips`:
a clean pulse at a known HR on skin-coloured ROI means), 10 s long.  Training
deep methods is not fast, and a short profile is not part of the method
contract, so ``fast=True`` checks only the class contract of a supervised
method (name, ROI scheme, parameters, profiles) and reports the checks that
need a trained model as *skipped*.  Unsupervised methods always get every check.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np
from rich.console import Console

from ..plugin.clips import Clips
from ..plugin.host import scheme_class
from ..plugin.method import NO_LEGACY, Method, Param, RunContext
from ..plugin.roi import RoiScheme
from ..pulse.hr import spectral_hr
from .results import (
    Check,
    CheckResult,
    CheckSkipped,
    fail,
    name_of,
    raise_if_failed,
    registration,
    run_checks,
)
from .synthetic import synthetic_clips

#: Unsupervised methods must find a clean pulse's HR within this many bpm.
RECOVERY_TOL_BPM = 3.0
#: Supervised methods must beat predicting the training mean by this factor (MAE ratio).
SUPERVISED_MAE_RATIO = 0.8


class _MethodHarness:
    """Builds the data and the (cached) fitted model the method checks share."""

    def __init__(self, cls: type[Method], fast: bool, scheme: type[RoiScheme] | None, seed: int) -> None:
        self.cls, self.fast, self.scheme, self.seed = cls, fast, scheme, seed
        self.clip_len, self.fps = 300, 30.0
        # Methods may write caches (checkpoints); removed when the harness goes away.
        self._cache = Path(tempfile.mkdtemp(prefix="hrbench-check-"))
        weakref.finalize(self, shutil.rmtree, self._cache, ignore_errors=True)
        self._fitted: Method | None = None
        self._data: dict[str, Clips] = {}

    # -- data ---------------------------------------------------------------------------
    def n_rois(self) -> int:
        cls = self.scheme or scheme_class(self.cls.roi_scheme)
        return int(cls.n_rois)

    def train(self) -> Clips:
        if "train" not in self._data:
            rng = np.random.default_rng(self.seed + 1)
            factor = float(getattr(self.cls, "train_clip_factor", 1.0) or 1.0)
            self._data["train"] = synthetic_clips(
                rng.uniform(50.0, 130.0, 48), self.n_rois(), clip_len=int(round(self.clip_len * factor)),
                fps=self.fps, seed=self.seed + 2, clips_per_recording=4,
            )
        return self._data["train"]

    def test(self) -> Clips:
        if "test" not in self._data:
            hrs = [52.0, 60.0, 72.0, 84.0, 96.0, 108.0, 120.0, 140.0] if not self.cls.supervised else \
                [62.0, 70.0, 78.0, 86.0, 94.0, 102.0, 110.0, 118.0]
            self._data["test"] = synthetic_clips(hrs, self.n_rois(), clip_len=self.clip_len, fps=self.fps,
                                                 seed=self.seed + 3)
        return self._data["test"]

    def context(self, seed: int | None = None) -> RunContext:
        return RunContext(
            seed=self.seed if seed is None else seed, clip_len=self.clip_len, cache_dir=self._cache,
            device="cpu", console=Console(file=io.StringIO(), stderr=False),
        )

    # -- models -------------------------------------------------------------------------
    def needs_model(self) -> None:
        if self.fast and self.cls.supervised:
            raise CheckSkipped("fast=True: supervised method not trained (class contract only)")

    def new(self, seed: int | None = None) -> Method:
        return self.cls(self.context(seed))

    def fit_new(self, seed: int | None = None, train: Clips | None = None) -> Method:
        m = self.new(seed)
        if self.cls.supervised:
            m.fit(train if train is not None else self.train())
        return m

    def fitted(self) -> Method:
        self.needs_model()
        if self._fitted is None:
            self._fitted = self.fit_new()
        return self._fitted

    def predict(self, m: Method, clips: Clips) -> np.ndarray:
        pred = m.predict(clips.without_labels())
        arr = np.asarray(pred, dtype=np.float64)
        if arr.shape != (len(clips),):
            fail(f"predict returned shape {arr.shape} for {len(clips)} clips, expected ({len(clips)},)")
        return arr


class _MethodContract(_MethodHarness):
    """The class contract: registration, ROI scheme, parameters and profiles (no model needed)."""

    def check_class(self) -> None:
        registration("methods", self.cls)
        for attr, typ in (("description", str), ("citation", str), ("roi_scheme", str), ("supervised", bool),
                          ("produces_pulse", bool), ("pulse_prefiltered", bool)):
            if not isinstance(getattr(self.cls, attr, None), typ):
                fail(f"class attribute {attr} must be a {typ.__name__}, got {getattr(self.cls, attr, None)!r}")
        factor = getattr(self.cls, "train_clip_factor", 1.0)
        if not (isinstance(factor, int | float) and factor >= 1.0):
            fail(f"train_clip_factor must be a number >= 1, got {factor!r}")

    def check_scheme(self) -> None:
        if self.scheme is not None:
            if self.scheme.name != self.cls.roi_scheme:
                fail(f"scheme={self.scheme.__name__} is named {self.scheme.name!r}, "
                     f"the method asks for {self.cls.roi_scheme!r}")
            registration("roi_schemes", self.scheme)
            return
        try:
            scheme_class(self.cls.roi_scheme)
        except KeyError as exc:
            fail(f"roi_scheme {self.cls.roi_scheme!r} is not registered ({exc}); "
                 "pass scheme=YourScheme to check an unregistered one")

    def check_params(self) -> None:
        params = self.cls.params
        if not isinstance(params, dict):
            fail(f"params must be a dict of Param, got {type(params).__name__}")
        for k, p in params.items():
            if not isinstance(k, str) or not k.isidentifier():
                fail(f"parameter name {k!r} is not a Python identifier (it becomes an attribute)")
            if not isinstance(p, Param):
                fail(f"params[{k!r}] is a {type(p).__name__}, not a Param")
            if not (isinstance(p.help, str) and p.help.strip()):
                fail(f"params[{k!r}] has no help text (hrbench methods shows it)")
            p.validate(k, p.default)  # ConfigError -> failed check
            if p.legacy is not NO_LEGACY:  # a run at it is keyed as stored runs were: it must be a setting
                p.validate(k, p.legacy)
        if not isinstance(self.cls.profiles, dict):
            fail("profiles must be a dict of name -> parameter overrides")
        for prof, overrides in self.cls.profiles.items():
            unknown = set(overrides) - set(params)
            if unknown:
                fail(f"profile {prof!r} sets unknown parameter(s) {sorted(unknown)}")
        for prof in ["default", *[p for p in self.cls.profiles if p != "default"]]:
            m = self.cls(self.context(), profile=prof)
            values = m.get_params()
            try:
                text = json.dumps(values, sort_keys=True, allow_nan=False)
            except (TypeError, ValueError) as exc:
                fail(f"profile {prof!r}: parameters are not JSON-able ({exc}); runs record them in the store")
            back = json.loads(text)
            again = self.cls(self.context(), profile=prof, **back).get_params()
            if again != values:
                fail(f"profile {prof!r}: parameters do not survive a JSON round trip ({values} -> {again})")


class _MethodOutputs(_MethodHarness):
    """What a fitted model returns for clean clips: shape and units, determinism, batch independence, the HR."""

    def check_output(self) -> None:
        m = self.fitted()
        test = self.test()
        pred = self.predict(m, test)
        if not np.all(np.isfinite(pred)):
            fail(f"non-finite predictions on clean clips: {pred.round(2).tolist()}")
        lo, hi = test.hr_settings.band_bpm
        if np.any(pred < lo - 1e-6) or np.any(pred > hi + 1e-6):
            fail(f"predictions outside the HR band {lo}-{hi} bpm (bpm, not Hz?): {pred.round(2).tolist()}")

    def check_unmodified(self) -> None:
        self.needs_model()
        train, test = self.train(), self.test()
        before = (train.traces.copy(), train.hr.copy(), test.traces.copy())
        m = self.fit_new()
        m.predict(test.without_labels())
        if self.cls.produces_pulse:
            m.predict_pulse(test.without_labels())
        for what, a, b in (("training traces", before[0], train.traces), ("training labels", before[1], train.hr),
                           ("test traces", before[2], test.traces)):
            if not np.array_equal(a, b, equal_nan=True):
                fail(f"the method modified its input ({what}); copy before changing arrays in place")

    def check_deterministic(self) -> None:
        self.needs_model()
        test = self.test()
        a = self.predict(self.fit_new(seed=self.seed + 7), test)
        b = self.predict(self.fit_new(seed=self.seed + 7), test)
        if not np.allclose(a, b, rtol=0, atol=1e-6, equal_nan=True):
            fail(f"two fits with the same seed predict differently: max difference {np.nanmax(np.abs(a - b)):.3g} bpm")

    def check_batch_invariant(self) -> None:
        m = self.fitted()
        test = self.test()
        whole = self.predict(m, test)
        parts = [self.predict(m, test.subset(np.arange(a, b))) for a, b in ((0, 1), (1, 4), (4, len(test)))]
        split = np.concatenate(parts)
        if not np.allclose(whole, split, rtol=0, atol=1e-4, equal_nan=True):
            fail(f"predictions depend on the batch: whole {whole.round(3).tolist()} "
                 f"vs in 3 batches {split.round(3).tolist()}")

    def check_recovery(self) -> None:
        m = self.fitted()
        test = self.test()
        pred = self.predict(m, test)
        if not self.cls.supervised:
            err = np.abs(pred - test.hr)
            if not np.all(err <= RECOVERY_TOL_BPM):
                fail(f"clean pulses at {test.hr.tolist()} bpm estimated as {pred.round(1).tolist()} "
                      f"(tolerance {RECOVERY_TOL_BPM} bpm)")
            return
        mae = float(np.mean(np.abs(pred - test.hr)))
        baseline = float(np.mean(np.abs(np.mean(self.train().hr) - test.hr)))
        if not mae < SUPERVISED_MAE_RATIO * baseline:
            fail(f"after training on 48 clean labelled clips, MAE {mae:.1f} bpm does not beat "
                  f"{SUPERVISED_MAE_RATIO} x predicting the training mean ({baseline:.1f} bpm)")


class _MethodMissingData(_MethodHarness):
    """Missing frames, clips without a face, and the pulse output (a faceless clip's row included)."""

    def check_nan_frames(self) -> None:
        self.needs_model()
        if self.cls.supervised:  # training clips with a few missing frames must not break fit
            train = self.train()
            holed = train.traces.copy()
            holed[::5, :, 10:14] = np.nan
            self.fit_new(train=Clips(holed, train.fps, train.recording_ids, train.subjects, train.hr_settings,
                                     train.hr, train.starts))
        m = self.fitted()
        test = self.test()
        traces = test.traces.copy()
        traces[0, :, [0, 1, 2, 150, 151, -1]] = np.nan  # dropped frames, ends included
        traces[1, :, 100:115, 1] = np.nan  # one channel lost for half a second
        traces[2, :, 200:205] = np.inf
        clips = Clips(traces, test.fps, test.recording_ids, test.subjects, test.hr_settings, None, test.starts)
        pred = self.predict(m, clips)
        if not np.all(np.isfinite(pred[:3])):
            fail(f"clips with a few missing (NaN/inf) frames got non-finite predictions: {pred[:3].tolist()}")
        lo, hi = test.hr_settings.band_bpm
        if np.any(pred[:3] < lo - 1e-6) or np.any(pred[:3] > hi + 1e-6):
            fail(f"clips with missing frames got predictions outside the band: {pred[:3].tolist()}")

    def check_all_nan(self) -> None:
        m = self.fitted()
        test = self.test()
        traces = test.traces.copy()
        traces[3] = np.nan
        clips = Clips(traces, test.fps, test.recording_ids, test.subjects, test.hr_settings, None, test.starts)
        pred = self.predict(m, clips)
        if not np.isnan(pred[3]):
            fail(f"a clip with no valid frame got {pred[3]:.2f} bpm; it must be NaN (no face, no heart rate)")
        others = np.delete(pred, 3)
        if not np.all(np.isfinite(others)):
            fail(f"one all-NaN clip made other clips' predictions non-finite: {others.round(2).tolist()}")

    def check_pulse(self) -> None:
        if not self.cls.produces_pulse:
            raise CheckSkipped("produces_pulse is False")
        m = self.fitted()
        test = self.test()
        traces = test.traces.copy()
        traces[3] = np.nan
        clips = Clips(traces, test.fps, test.recording_ids, test.subjects, test.hr_settings, None, test.starts)
        pulse = np.asarray(m.predict_pulse(clips), dtype=np.float64)
        if pulse.shape != (len(clips), clips.clip_len):
            fail(f"predict_pulse returned shape {pulse.shape}, expected {(len(clips), clips.clip_len)}")
        if not np.all(np.isnan(pulse[3])):
            fail("predict_pulse: the row of a clip with no valid frame must be all NaN")
        rows = np.delete(pulse, 3, axis=0)
        if not np.all(np.isfinite(rows)):
            fail("predict_pulse: rows of clean clips are not finite")
        if not self.cls.supervised:
            hr = spectral_hr(rows, clips.fps, clips.hr_settings, filtered=bool(self.cls.pulse_prefiltered))
            truth = np.delete(test.hr, 3)
            if not np.all(np.abs(hr - truth) <= RECOVERY_TOL_BPM):
                fail(f"the pulse's spectral HR {hr.round(1).tolist()} misses the truth {truth.tolist()}")


class _MethodChecks(_MethodContract, _MethodOutputs, _MethodMissingData):
    """Every method check, in the order they are reported."""

    def checks(self) -> list[Check]:
        return [
            ("subclass_and_name", self.check_class),
            ("roi_scheme_exists", self.check_scheme),
            ("params_and_profiles_validate", self.check_params),
            ("output_shape_finite_in_band", self.check_output),
            ("input_not_modified", self.check_unmodified),
            ("deterministic_per_seed", self.check_deterministic),
            ("batch_size_invariant", self.check_batch_invariant),
            ("nan_frames_tolerated", self.check_nan_frames),
            ("all_nan_clip_gives_nan", self.check_all_nan),
            ("recovers_clean_pulse", self.check_recovery),
            ("predict_pulse_shape", self.check_pulse),
        ]


def method_checks(cls: type[Method], *, fast: bool = False, scheme: type[RoiScheme] | None = None,
                  seed: int = 0) -> list[Check]:
    """The method checks as ``(name, callable)`` pairs (for custom runners / parametrisation).

    ``scheme`` supplies the ROI scheme class when the method's scheme is not
    registered yet (a plugin testing itself before it is installed).
    """
    if not isinstance(cls, type) or not issubclass(cls, Method):
        return [("subclass_and_name", lambda: registration("methods", cls))]
    return _MethodChecks(cls, fast, scheme, seed).checks()


def check_method(cls: type[Method], *, fast: bool = False, scheme: type[RoiScheme] | None = None,
                 seed: int = 0) -> list[CheckResult]:
    """Run every method check; raise ConformanceError if any failed, else return the results.

    ``fast=True`` skips (and reports as skipped) the checks that need a
    trained supervised model -- for deep methods whose fit takes minutes.
    """
    return raise_if_failed(run_checks("method", name_of(cls), method_checks(cls, fast=fast, scheme=scheme, seed=seed)))
