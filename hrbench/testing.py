"""Conformance checks for hrbench plugins, usable from a plugin's own pytest.

Why: the runner trusts a method's shapes, units and NaN behaviour, and an
adapter's ids and ground truth, in hundreds of places.  A plugin that breaks
the contract does not crash -- it produces a leaderboard row that is quietly
wrong (Hz instead of bpm, a made-up HR for a clip with no face, a result that
changes with the batch size).  These checks make the contract executable, in
the spirit of scikit-learn's ``check_estimator``::

    from hrbench.testing import check_method, check_adapter, parametrize_with_checks

    def test_my_method():
        check_method(MyMethod)              # raises ConformanceError listing every failure

    @parametrize_with_checks([MyMethod, (MyAdapter, DATA_ROOT)])
    def test_conformance(check):            # one pytest case per check
        check()

Every ``check_*`` returns the list of :class:`CheckResult` (passed / skipped,
with the reason a check was skipped) and raises :class:`ConformanceError`
(an ``AssertionError``) if any check failed.  ``hrbench plugins --check``
runs the same checks over every installed plugin and prints a table.

Checks are fast: clips are synthetic (:func:`synthetic_clips`: a clean pulse
at a known HR on skin-coloured ROI means), 10 s long.  Training deep
methods is not fast, and a short profile is not part of the method
contract, so ``fast=True`` checks only the class contract of a supervised
method (name, ROI scheme, parameters, profiles) and reports the checks that
need a trained model as *skipped*.  Unsupervised methods always get every check.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from rich.console import Console

from .clips import Clips
from .dataset import DatasetAdapter, Problem
from .hr import HRSettings, spectral_hr
from .landmarks import N_LANDMARKS, Landmarker
from .method import Method, Param, RunContext
from .recording import Recording
from .roi import RoiScheme, scheme_class

Status = Literal["passed", "failed", "skipped"]
Check = tuple[str, Callable[[], None]]

#: Unsupervised methods must find a clean pulse's HR within this many bpm.
RECOVERY_TOL_BPM = 3.0
#: Supervised methods must beat predicting the training mean by this factor (MAE ratio).
SUPERVISED_MAE_RATIO = 0.8
#: Skin colour (mean RGB, 8-bit) and the direction of the blood-volume pulse in RGB
#: (green strongest, as in skin reflectance).
SKIN_RGB = np.array([170.0, 120.0, 100.0])
PULSE_RGB = np.array([0.33, 0.77, 0.53])


class CheckSkipped(Exception):  # noqa: N818 - reads as an outcome, like pytest's Skipped
    """A check that does not apply (or was not run in ``fast`` mode); carries the reason."""


class ConformanceError(AssertionError):
    """One or more conformance checks failed; the message lists each with its reason."""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check on one plugin class."""

    kind: str
    name: str
    check: str
    status: Status
    detail: str = ""

    def __str__(self) -> str:
        tail = f": {self.detail}" if self.detail else ""
        return f"{self.kind} {self.name!r} {self.check} {self.status}{tail}"


# ----------------------------------------------------------------------------------------
# Synthetic data
# ----------------------------------------------------------------------------------------


def synthetic_clips(
    hr_bpm: Iterable[float],
    n_rois: int = 1,
    *,
    clip_len: int = 300,
    fps: float = 30.0,
    seed: int = 0,
    labelled: bool = True,
    clips_per_recording: int = 1,
    settings: HRSettings | None = None,
    noise: float = 0.15,
) -> Clips:
    """Clips of ``n_rois`` skin-coloured ROI means pulsing at the given heart rates.

    Each clip ``i`` carries a pulse at ``hr_bpm[i]`` with a second harmonic
    (a quarter of the fundamental), a per-ROI skin tone and amplitude (~1
    grey level, as in real video), and Gaussian noise of ``noise`` grey
    levels per ROI and frame.  ``hr`` holds the reference when ``labelled``.
    """
    hrs = np.asarray(list(hr_bpm), dtype=np.float64)
    n = len(hrs)
    rng = np.random.default_rng(seed)
    t = np.arange(clip_len) / fps
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    f = (hrs / 60.0)[:, None, None]
    wave = np.sin(2 * np.pi * f * t + phase) + 0.25 * np.sin(4 * np.pi * f * t + 2 * phase)  # (n, 1, T)
    amp = rng.uniform(0.6, 1.0, (n, n_rois, 1))
    base = SKIN_RGB * rng.uniform(0.9, 1.1, (n, n_rois, 1, 1))
    traces = base + (amp * wave)[..., None] * PULSE_RGB + rng.normal(0.0, noise, (n, n_rois, clip_len, 3))
    ids = np.array([f"rec{i // clips_per_recording:03d}" for i in range(n)])
    subjects = np.array([f"s{i // (2 * clips_per_recording):03d}" for i in range(n)])
    starts = np.array([float((i % clips_per_recording) * clip_len / fps) for i in range(n)])
    return Clips(
        traces=traces.astype(np.float32), fps=float(fps), recording_ids=ids, subjects=subjects,
        hr_settings=settings or HRSettings(), hr=hrs.copy() if labelled else None, starts=starts,
    )


# ----------------------------------------------------------------------------------------
# Running checks
# ----------------------------------------------------------------------------------------


def _fail(message: str) -> None:
    raise AssertionError(message)


def run_checks(kind: str, name: str, checks: Iterable[Check]) -> list[CheckResult]:
    """Run each check; a raised CheckSkipped skips it, any other exception fails it."""
    out: list[CheckResult] = []
    for check, fn in checks:
        try:
            fn()
        except CheckSkipped as exc:
            out.append(CheckResult(kind, name, check, "skipped", str(exc)))
        except AssertionError as exc:
            out.append(CheckResult(kind, name, check, "failed", " ".join(str(exc).split())))
        except Exception as exc:  # noqa: BLE001 - a crash is a failed check, reported
            out.append(CheckResult(kind, name, check, "failed", f"raised {type(exc).__name__}: {' '.join(str(exc).split())}"))
        else:
            out.append(CheckResult(kind, name, check, "passed"))
    return out


def _raise_if_failed(results: list[CheckResult]) -> list[CheckResult]:
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise ConformanceError(
            f"{len(failed)} of {len(results)} conformance checks failed:\n" + "\n".join(f"  - {r}" for r in failed)
        )
    return results


def _name_of(cls: Any) -> str:
    name = getattr(cls, "name", None)
    return name if isinstance(name, str) else getattr(cls, "__qualname__", repr(cls))


def _registration(kind: str, cls: Any) -> None:
    from .plugins import RegistrationError, validate_registration

    try:
        validate_registration(kind, cls)
    except RegistrationError as exc:
        _fail(exc.message)


# ----------------------------------------------------------------------------------------
# Methods
# ----------------------------------------------------------------------------------------


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
            self._data["test"] = synthetic_clips(hrs, self.n_rois(), clip_len=self.clip_len, fps=self.fps, seed=self.seed + 3)
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
            _fail(f"predict returned shape {arr.shape} for {len(clips)} clips, expected ({len(clips)},)")
        return arr


class _MethodContract(_MethodHarness):
    """The class contract: registration, ROI scheme, parameters and profiles (no model needed)."""

    def check_class(self) -> None:
        _registration("methods", self.cls)
        for attr, typ in (("description", str), ("citation", str), ("roi_scheme", str), ("supervised", bool),
                          ("produces_pulse", bool), ("pulse_prefiltered", bool)):
            if not isinstance(getattr(self.cls, attr, None), typ):
                _fail(f"class attribute {attr} must be a {typ.__name__}, got {getattr(self.cls, attr, None)!r}")
        factor = getattr(self.cls, "train_clip_factor", 1.0)
        if not (isinstance(factor, int | float) and factor >= 1.0):
            _fail(f"train_clip_factor must be a number >= 1, got {factor!r}")

    def check_scheme(self) -> None:
        if self.scheme is not None:
            if self.scheme.name != self.cls.roi_scheme:
                _fail(f"scheme={self.scheme.__name__} is named {self.scheme.name!r}, the method asks for {self.cls.roi_scheme!r}")
            _registration("roi_schemes", self.scheme)
            return
        try:
            scheme_class(self.cls.roi_scheme)
        except KeyError as exc:
            _fail(f"roi_scheme {self.cls.roi_scheme!r} is not registered ({exc}); pass scheme=YourScheme to check an unregistered one")

    def check_params(self) -> None:
        params = self.cls.params
        if not isinstance(params, dict):
            _fail(f"params must be a dict of Param, got {type(params).__name__}")
        for k, p in params.items():
            if not isinstance(k, str) or not k.isidentifier():
                _fail(f"parameter name {k!r} is not a Python identifier (it becomes an attribute)")
            if not isinstance(p, Param):
                _fail(f"params[{k!r}] is a {type(p).__name__}, not a Param")
            if not (isinstance(p.help, str) and p.help.strip()):
                _fail(f"params[{k!r}] has no help text (hrbench methods shows it)")
            p.validate(k, p.default)  # ConfigError -> failed check
        if not isinstance(self.cls.profiles, dict):
            _fail("profiles must be a dict of name -> parameter overrides")
        for prof, overrides in self.cls.profiles.items():
            unknown = set(overrides) - set(params)
            if unknown:
                _fail(f"profile {prof!r} sets unknown parameter(s) {sorted(unknown)}")
        for prof in ["default", *[p for p in self.cls.profiles if p != "default"]]:
            m = self.cls(self.context(), profile=prof)
            values = m.get_params()
            try:
                text = json.dumps(values, sort_keys=True, allow_nan=False)
            except (TypeError, ValueError) as exc:
                _fail(f"profile {prof!r}: parameters are not JSON-able ({exc}); runs record them in the store")
            back = json.loads(text)
            again = self.cls(self.context(), profile=prof, **back).get_params()
            if again != values:
                _fail(f"profile {prof!r}: parameters do not survive a JSON round trip ({values} -> {again})")


class _MethodOutputs(_MethodHarness):
    """What a fitted model returns for clean clips: shape and units, determinism, batch independence, the HR."""

    def check_output(self) -> None:
        m = self.fitted()
        test = self.test()
        pred = self.predict(m, test)
        if not np.all(np.isfinite(pred)):
            _fail(f"non-finite predictions on clean clips: {pred.round(2).tolist()}")
        lo, hi = test.hr_settings.band_bpm
        if np.any(pred < lo - 1e-6) or np.any(pred > hi + 1e-6):
            _fail(f"predictions outside the HR band {lo}-{hi} bpm (bpm, not Hz?): {pred.round(2).tolist()}")

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
                _fail(f"the method modified its input ({what}); copy before changing arrays in place")

    def check_deterministic(self) -> None:
        self.needs_model()
        test = self.test()
        a = self.predict(self.fit_new(seed=self.seed + 7), test)
        b = self.predict(self.fit_new(seed=self.seed + 7), test)
        if not np.allclose(a, b, rtol=0, atol=1e-6, equal_nan=True):
            _fail(f"two fits with the same seed predict differently: max difference {np.nanmax(np.abs(a - b)):.3g} bpm")

    def check_batch_invariant(self) -> None:
        m = self.fitted()
        test = self.test()
        whole = self.predict(m, test)
        parts = [self.predict(m, test.subset(np.arange(a, b))) for a, b in ((0, 1), (1, 4), (4, len(test)))]
        split = np.concatenate(parts)
        if not np.allclose(whole, split, rtol=0, atol=1e-4, equal_nan=True):
            _fail(f"predictions depend on the batch: whole {whole.round(3).tolist()} vs in 3 batches {split.round(3).tolist()}")

    def check_recovery(self) -> None:
        m = self.fitted()
        test = self.test()
        pred = self.predict(m, test)
        if not self.cls.supervised:
            err = np.abs(pred - test.hr)
            if not np.all(err <= RECOVERY_TOL_BPM):
                _fail(f"clean pulses at {test.hr.tolist()} bpm estimated as {pred.round(1).tolist()} "
                      f"(tolerance {RECOVERY_TOL_BPM} bpm)")
            return
        mae = float(np.mean(np.abs(pred - test.hr)))
        baseline = float(np.mean(np.abs(np.mean(self.train().hr) - test.hr)))
        if not mae < SUPERVISED_MAE_RATIO * baseline:
            _fail(f"after training on 48 clean labelled clips, MAE {mae:.1f} bpm does not beat "
                  f"{SUPERVISED_MAE_RATIO} x predicting the training mean ({baseline:.1f} bpm)")


class _MethodMissingData(_MethodHarness):
    """Missing frames, clips without a face, and the pulse output (a faceless clip's row included)."""

    def check_nan_frames(self) -> None:
        self.needs_model()
        if self.cls.supervised:  # training clips with a few missing frames must not break fit
            train = self.train()
            holed = train.traces.copy()
            holed[::5, :, 10:14] = np.nan
            self.fit_new(train=Clips(holed, train.fps, train.recording_ids, train.subjects, train.hr_settings, train.hr, train.starts))
        m = self.fitted()
        test = self.test()
        traces = test.traces.copy()
        traces[0, :, [0, 1, 2, 150, 151, -1]] = np.nan  # dropped frames, ends included
        traces[1, :, 100:115, 1] = np.nan  # one channel lost for half a second
        traces[2, :, 200:205] = np.inf
        clips = Clips(traces, test.fps, test.recording_ids, test.subjects, test.hr_settings, None, test.starts)
        pred = self.predict(m, clips)
        if not np.all(np.isfinite(pred[:3])):
            _fail(f"clips with a few missing (NaN/inf) frames got non-finite predictions: {pred[:3].tolist()}")
        lo, hi = test.hr_settings.band_bpm
        if np.any(pred[:3] < lo - 1e-6) or np.any(pred[:3] > hi + 1e-6):
            _fail(f"clips with missing frames got predictions outside the band: {pred[:3].tolist()}")

    def check_all_nan(self) -> None:
        m = self.fitted()
        test = self.test()
        traces = test.traces.copy()
        traces[3] = np.nan
        clips = Clips(traces, test.fps, test.recording_ids, test.subjects, test.hr_settings, None, test.starts)
        pred = self.predict(m, clips)
        if not np.isnan(pred[3]):
            _fail(f"a clip with no valid frame got {pred[3]:.2f} bpm; it must be NaN (no face, no heart rate)")
        others = np.delete(pred, 3)
        if not np.all(np.isfinite(others)):
            _fail(f"one all-NaN clip made other clips' predictions non-finite: {others.round(2).tolist()}")

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
            _fail(f"predict_pulse returned shape {pulse.shape}, expected {(len(clips), clips.clip_len)}")
        if not np.all(np.isnan(pulse[3])):
            _fail("predict_pulse: the row of a clip with no valid frame must be all NaN")
        rows = np.delete(pulse, 3, axis=0)
        if not np.all(np.isfinite(rows)):
            _fail("predict_pulse: rows of clean clips are not finite")
        if not self.cls.supervised:
            hr = spectral_hr(rows, clips.fps, clips.hr_settings, filtered=bool(self.cls.pulse_prefiltered))
            truth = np.delete(test.hr, 3)
            if not np.all(np.abs(hr - truth) <= RECOVERY_TOL_BPM):
                _fail(f"the pulse's spectral HR {hr.round(1).tolist()} misses the truth {truth.tolist()}")


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


def method_checks(cls: type[Method], *, fast: bool = False, scheme: type[RoiScheme] | None = None, seed: int = 0) -> list[Check]:
    """The method checks as ``(name, callable)`` pairs (for custom runners / parametrisation).

    ``scheme`` supplies the ROI scheme class when the method's scheme is not
    registered yet (a plugin testing itself before it is installed).
    """
    if not isinstance(cls, type) or not issubclass(cls, Method):
        return [("subclass_and_name", lambda: _registration("methods", cls))]
    return _MethodChecks(cls, fast, scheme, seed).checks()


def check_method(cls: type[Method], *, fast: bool = False, scheme: type[RoiScheme] | None = None, seed: int = 0) -> list[CheckResult]:
    """Run every method check; raise ConformanceError if any failed, else return the results.

    ``fast=True`` skips (and reports as skipped) the checks that need a
    trained supervised model -- for deep methods whose fit takes minutes.
    """
    return _raise_if_failed(run_checks("method", _name_of(cls), method_checks(cls, fast=fast, scheme=scheme, seed=seed)))


# ----------------------------------------------------------------------------------------
# Dataset adapters
# ----------------------------------------------------------------------------------------


class _AdapterHarness:
    """Scans the data (twice, cached) and samples recordings for the adapter checks."""

    def __init__(self, cls: type[DatasetAdapter], root: Path, max_recordings: int) -> None:
        self.cls, self.root, self.max = cls, Path(root), max_recordings
        self._scans: list[list[Recording]] | None = None

    def adapter(self) -> DatasetAdapter:
        return self.cls()

    def scans(self) -> list[list[Recording]]:
        if self._scans is None:
            self._scans = [self.adapter().scan(self.root), self.adapter().scan(self.root)]
        return self._scans

    def sample(self) -> list[Recording]:
        recs = self.scans()[0]
        if not recs:
            _fail(f"scan found no recordings under {self.root}")
        step = max(1, math.ceil(len(recs) / self.max))
        return recs[::step]

    def _video(self, r: Recording) -> tuple[int, float]:
        from .video import probe

        n, _ = probe(r.frames)
        if n <= 0:
            _fail(f"recording {r.id!r}: no frames in {r.frames.path}")
        return n, n / r.fps


class _AdapterRecords(_AdapterHarness):
    """What scan lists: unique, stable ids, well-formed and picklable recordings; check agrees with scan."""

    def check_class(self) -> None:
        _registration("datasets", self.cls)
        if not isinstance(getattr(self.cls, "needs_root", True), bool):
            _fail("needs_root must be a bool")

    def check_ids(self) -> None:
        first, second = self.scans()
        ids = [r.id for r in first]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            _fail(f"recording ids are not unique: {dup[:5]}")
        if sorted(ids) != sorted(r.id for r in second):
            _fail("two scans of the same folder list different recording ids (results are keyed on them)")
        a = {r.id: (r.subject, r.session, r.fps, str(r.frames.path)) for r in first}
        b = {r.id: (r.subject, r.session, r.fps, str(r.frames.path)) for r in second}
        if a != b:
            bad = sorted(k for k in a if a[k] != b.get(k))[:3]
            _fail(f"two scans describe recordings differently: {bad}")

    def check_fields(self) -> None:
        for r in self.scans()[0]:
            where = f"recording {r.id!r}"
            if not isinstance(r, Recording):
                _fail(f"scan returned a {type(r).__name__}, not a Recording")
            if r.dataset != self.cls.name:
                _fail(f"{where}: dataset is {r.dataset!r}, expected the adapter's name {self.cls.name!r}")
            if not (isinstance(r.id, str) and r.id) or not (isinstance(r.subject, str) and r.subject):
                _fail(f"{where}: id and subject must be non-empty strings")
            if not (isinstance(r.fps, int | float) and math.isfinite(r.fps) and r.fps > 0):
                _fail(f"{where}: fps must be a positive number, got {r.fps!r}")
            if r.roi not in ("face", "full-frame"):
                _fail(f"{where}: roi must be 'face' or 'full-frame', got {r.roi!r}")
            if not callable(r.ground_truth) or (r.timestamps is not None and not callable(r.timestamps)):
                _fail(f"{where}: ground_truth (and timestamps, if given) must be callables")
            if r.window is not None and not (len(r.window) == 2 and 0 <= r.window[0] < r.window[1]):
                _fail(f"{where}: window must be (start_s, end_s) with 0 <= start < end, got {r.window!r}")
            try:
                json.dumps(r.meta, allow_nan=False)
            except (TypeError, ValueError) as exc:
                _fail(f"{where}: meta is not JSON-serialisable ({exc})")

    def check_pickle(self) -> None:
        for r in self.sample():
            try:
                back = pickle.loads(pickle.dumps(r))
            except Exception as exc:  # noqa: BLE001
                _fail(f"recording {r.id!r} cannot be pickled ({type(exc).__name__}: {exc}); use "
                      f"functools.partial of module-level functions, not lambdas, for ground_truth/timestamps")
            a, b = r.load_ground_truth(), back.load_ground_truth()
            if not np.array_equal(np.asarray(a.values), np.asarray(b.values)):
                _fail(f"recording {r.id!r}: ground truth differs after a pickle round trip")

    def check_consistent(self) -> None:
        adapter = self.adapter()
        usable, problems = adapter.scan_with_problems(self.root)
        checked, check_problems = adapter.check(self.root)
        for p in [*problems, *check_problems]:
            if not isinstance(p, Problem):
                _fail(f"problems must be Problem instances, got {type(p).__name__}")
        scanned = {r.id for r in self.scans()[0]}
        ids = {r.id for r in checked}
        extra = sorted(ids - scanned - {r.id for r in usable})
        if extra:
            _fail(f"check returns recordings that scan does not: {extra[:5]}")
        errors = {p.recording_id for p in check_problems if p.is_error}
        both = sorted(ids & errors - {None})
        if both:
            _fail(f"check returns recordings as usable and reports errors for them: {both[:5]}")
        dropped = sorted(scanned - ids - errors)
        if dropped:
            _fail(f"check drops recordings that scan lists without an error Problem naming them: {dropped[:5]}")


class _AdapterSignals(_AdapterHarness):
    """What the recordings carry: ground truth and timestamps that match the video."""

    def check_ground_truth(self) -> None:
        for r in self.sample():
            sig = r.load_ground_truth()  # RecordingError for NaN/inf/empty -> failed
            if sig.kind not in ("bvp", "ecg", "hr"):
                _fail(f"recording {r.id!r}: signal kind {sig.kind!r}; use bvp, ecg or hr")
            if not (sig.times is not None or (math.isfinite(sig.fs) and sig.fs > 0)):
                _fail(f"recording {r.id!r}: signal fs must be positive, got {sig.fs!r}")
            t = sig.sample_times()
            if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
                _fail(f"recording {r.id!r}: ground-truth sample times are not finite and strictly rising")
            # A regularly sampled signal's last sample covers one more period; explicit
            # times (e.g. a two-point constant HR track [0, end]) span exactly what they say.
            end = t[-1] + (0.0 if sig.times is not None else 1.0 / sig.fs)
            _, video_s = self._video(r)
            a, b = r.window if r.window is not None else (0.0, video_s)
            covered = max(0.0, min(end, b) - max(t[0], a))
            if covered < 0.9 * (b - a):
                _fail(f"recording {r.id!r}: ground truth covers {t[0]:.2f}-{end:.2f} s of the video clock, "
                      f"less than 90 % of the video's {a:.2f}-{b:.2f} s")
            if end - t[0] > 1.5 * video_s:
                _fail(f"recording {r.id!r}: ground truth spans {end - t[0]:.2f} s for a {video_s:.2f}-s video "
                      f"(sample rate wrong?)")

    def check_timestamps(self) -> None:
        with_ts = [r for r in self.sample() if r.timestamps is not None]
        if not with_ts:
            raise CheckSkipped("no recording has timestamps (the run uses the nominal fps)")
        for r in with_ts:
            ts = np.asarray(r.timestamps(), dtype=np.float64)
            n, _ = self._video(r)
            if ts.ndim != 1 or not np.all(np.isfinite(ts)):
                _fail(f"recording {r.id!r}: timestamps must be a 1-D array of finite seconds")
            if len(ts) != n:
                _fail(f"recording {r.id!r}: {len(ts)} timestamps for {n} frames (one per frame, from the first)")
            if np.any(np.diff(ts) <= 0):
                k = int(np.flatnonzero(np.diff(ts) <= 0)[0])
                _fail(f"recording {r.id!r}: timestamps do not rise strictly (frame {k + 1}); the run would fall back to {r.fps} fps")
            if len(ts) > 1:
                dt = float(np.median(np.diff(ts)))
                if not 0.2 / r.fps <= dt <= 5.0 / r.fps:
                    _fail(f"recording {r.id!r}: median frame interval {dt:.4g} s at {r.fps} fps: timestamps must be in seconds")


class _AdapterChecks(_AdapterRecords, _AdapterSignals):
    """Every adapter check, in the order they are reported."""

    def checks(self) -> list[Check]:
        return [
            ("subclass_and_name", self.check_class),
            ("ids_unique_and_stable", self.check_ids),
            ("recording_fields", self.check_fields),
            ("recordings_picklable", self.check_pickle),
            ("ground_truth_finite_and_as_long_as_video", self.check_ground_truth),
            ("timestamps_contract", self.check_timestamps),
            ("check_consistent_with_scan", self.check_consistent),
        ]


def adapter_checks(cls: type[DatasetAdapter], root: str | Path, *, max_recordings: int = 25) -> list[Check]:
    """The adapter checks on a copy of the data at ``root`` (already prepared).

    Per-recording checks that read files (pickling, ground truth, timestamps)
    look at up to ``max_recordings`` recordings spread over the scan.
    """
    if not isinstance(cls, type) or not issubclass(cls, DatasetAdapter):
        return [("subclass_and_name", lambda: _registration("datasets", cls))]
    return _AdapterChecks(cls, Path(root), max_recordings).checks()


def check_adapter(cls: type[DatasetAdapter], root: str | Path, *, max_recordings: int = 25) -> list[CheckResult]:
    """Run every adapter check on the data at ``root``; raise ConformanceError if any failed."""
    return _raise_if_failed(run_checks("dataset", _name_of(cls), adapter_checks(cls, root, max_recordings=max_recordings)))


# ----------------------------------------------------------------------------------------
# Landmarkers
# ----------------------------------------------------------------------------------------


def face_image() -> np.ndarray:
    """A real face photograph (scikit-image's astronaut, RGB uint8, shipped in the wheel)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


class _LandmarkerHarness:
    def __init__(self, cls: type[Landmarker]) -> None:
        self.cls = cls
        self._lm: Landmarker | None = None

    def instance(self) -> Landmarker:
        ok, why = self.cls.available()
        if not ok:
            raise CheckSkipped(f"not available here: {why}")
        if self._lm is None:
            self._lm = self.cls()
        return self._lm

    def check_class(self) -> None:
        _registration("landmarkers", self.cls)
        if not isinstance(getattr(self.cls, "version", None), str):
            _fail("version must be a string (it is part of the trace-cache key)")

    def check_available(self) -> None:
        res = self.cls.available()
        if not (isinstance(res, tuple) and len(res) == 2 and isinstance(res[0], bool) and isinstance(res[1], str)):
            _fail(f"available() must return (bool, str), got {res!r}")
        if not res[0] and not res[1].strip():
            _fail("available() says no without saying why")

    def check_no_face(self) -> None:
        lm = self.instance()
        lm.reset()
        out = lm(np.full((240, 320, 3), 128, np.uint8))
        if out is not None:
            _fail("a flat grey frame (no face) must give None")

    def check_face(self) -> None:
        lm = self.instance()
        img = face_image()
        before = img.copy()
        lm.reset()
        pts = lm(img)
        if not np.array_equal(before, img):
            _fail("the landmarker modified the frame it was given")
        if pts is None:
            _fail("no face found in a frontal face photograph")
        pts = np.asarray(pts)
        if pts.shape != (N_LANDMARKS, 2) or not np.issubdtype(pts.dtype, np.floating):
            _fail(f"landmarks must be a ({N_LANDMARKS}, 2) float array, got {pts.dtype} {pts.shape}")
        h, w = img.shape[:2]
        if not np.all(np.isfinite(pts)) or np.any(pts < -0.1 * w) or np.any(pts[:, 0] > 1.1 * w) or np.any(pts[:, 1] > 1.1 * h):
            _fail("landmarks are not finite pixel coordinates of the frame")
        right_eye, left_eye = pts[36:42].mean(axis=0), pts[42:48].mean(axis=0)
        mouth = pts[48:68].mean(axis=0)
        if not right_eye[0] < left_eye[0]:
            _fail("points 36-41 (subject's right eye) must lie left of 42-47 in the image (iBUG-68 order)")
        if not max(right_eye[1], left_eye[1]) < pts[30, 1] < mouth[1]:
            _fail("the nose tip (point 30) must lie between the eyes and the mouth (iBUG-68 order)")

    def check_deterministic(self) -> None:
        lm = self.instance()
        img = face_image()
        lm.reset()
        a = lm(img)
        lm.reset()
        b = lm(img)
        if (a is None) != (b is None) or (a is not None and not np.allclose(a, b, atol=1e-4)):
            _fail("the same frame after reset() gives different landmarks")

    def checks(self) -> list[Check]:
        return [
            ("subclass_and_name", self.check_class),
            ("available_contract", self.check_available),
            ("no_face_gives_none", self.check_no_face),
            ("finds_face_in_ibug68_order", self.check_face),
            ("deterministic_after_reset", self.check_deterministic),
        ]


def landmarker_checks(cls: type[Landmarker]) -> list[Check]:
    """The landmarker checks; those needing the model are skipped when ``available()`` says no."""
    if not isinstance(cls, type) or not issubclass(cls, Landmarker):
        return [("subclass_and_name", lambda: _registration("landmarkers", cls))]
    return _LandmarkerHarness(cls).checks()


def check_landmarker(cls: type[Landmarker]) -> list[CheckResult]:
    """Run every landmarker check; raise ConformanceError if any failed."""
    return _raise_if_failed(run_checks("landmarker", _name_of(cls), landmarker_checks(cls)))


# ----------------------------------------------------------------------------------------
# Parametrisation
# ----------------------------------------------------------------------------------------


def iter_checks(items: Iterable[Any], *, fast: bool = False) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(id, check)`` for every check of every item, ids like ``"method-green-recovers_clean_pulse"``.

    An item is a Method or Landmarker subclass, or ``(AdapterClass, root)``.
    """
    for item in items:
        if isinstance(item, tuple):
            cls, root = item
            kind, checks = "dataset", adapter_checks(cls, root)
        elif isinstance(item, type) and issubclass(item, Landmarker):
            cls, kind, checks = item, "landmarker", landmarker_checks(item)
        elif isinstance(item, type) and issubclass(item, DatasetAdapter):
            raise TypeError(f"{item.__name__}: pass an adapter as (AdapterClass, data_root)")
        else:
            cls, kind, checks = item, "method", method_checks(item, fast=fast)
        for name, fn in checks:
            yield f"{kind}-{_name_of(cls)}-{name}", fn


def parametrize_with_checks(items: Iterable[Any], *, fast: bool = False) -> Any:
    """A ``pytest.mark.parametrize("check", ...)`` over :func:`iter_checks`, one case per check.

    A skipped check (fast mode, landmarker unavailable, not applicable)
    becomes a skipped test with the reason.
    """
    import pytest

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def check() -> None:
            try:
                fn()
            except CheckSkipped as exc:
                pytest.skip(str(exc))

        return check

    params = [pytest.param(wrap(fn), id=cid) for cid, fn in iter_checks(items, fast=fast)]
    return pytest.mark.parametrize("check", params)


def check_registry(*, fast_supervised: bool = True, data_roots: dict[str, Path] | None = None) -> list[CheckResult]:
    """Check every registered method, landmarker and (given a root) adapter; never raises.

    What ``hrbench plugins --check`` runs.  Adapters without a root in
    ``data_roots`` (name -> root) are checked at their ``default_root()``
    when it exists, else reported as skipped: the kit never generates or
    downloads data.
    """
    from .plugins import get_registry

    reg = get_registry()
    results: list[CheckResult] = []
    for name, cls in sorted(reg.methods.items()):
        results += run_checks("method", name, method_checks(cls, fast=fast_supervised and cls.supervised))
    for name, cls in sorted(reg.landmarkers.items()):
        results += run_checks("landmarker", name, landmarker_checks(cls))
    for name, cls in sorted(reg.datasets.items()):
        root = (data_roots or {}).get(name)
        if root is None:
            try:
                root = cls().default_root()
            except Exception:  # noqa: BLE001 - a default_root that fails is just "no data"
                root = None
        if root is None or not Path(root).is_dir():
            results.append(CheckResult("dataset", name, "all", "skipped", "no data here (check_adapter(cls, root) on a copy)"))
            continue
        results += run_checks("dataset", name, adapter_checks(cls, root, max_recordings=5))
    return results
