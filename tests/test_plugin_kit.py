"""The conformance kit (hrbench.testing): run over every registered plugin, and shown to catch breakage."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pytest

from hrbench import testing
from hrbench.cli import main
from hrbench.plugin.host import get_registry

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hrbench-example-plugin"

#: Deep methods train for minutes: the suite checks their class contract only (fast=True).
DEEP_MODULES = ("hrbench_plugins.methods.stmap", "hrbench_plugins.methods.rhythm")

#: Contract violations the kit found in first-party plugins, tracked until fixed
#: (strict xfail: the test fails as soon as the method is fixed, so the entry is removed).
KNOWN_FAILURES: dict[tuple[str, str], str] = {}

_REG = get_registry()
_METHOD_CASES = [
    pytest.param(cls, check, id=f"{method}-{check}")
    for method, cls in sorted(_REG.methods.items())
    for check, _ in testing.method_checks(cls, fast=cls.__module__.startswith(DEEP_MODULES))
]


@pytest.mark.parametrize("cls, check", _METHOD_CASES)
def test_every_registered_method_conforms(cls, check):
    fast = cls.__module__.startswith(DEEP_MODULES)
    fn = dict(testing.method_checks(cls, fast=fast))[check]
    if (cls.name, check) in KNOWN_FAILURES:
        with pytest.raises(AssertionError):
            fn()
        pytest.xfail(KNOWN_FAILURES[(cls.name, check)])
    try:
        fn()
    except testing.CheckSkipped as exc:
        pytest.skip(str(exc))


def test_deep_methods_are_checked_on_the_fast_path_only():
    res = testing.check_method(_REG.method("stmap_scratch"), fast=True)
    skipped = {r.check for r in res if r.status == "skipped"}
    assert {"recovers_clean_pulse", "deterministic_per_seed", "all_nan_clip_gives_nan"} <= skipped
    assert {r.check for r in res if r.status == "passed"} == {"subclass_and_name", "roi_scheme_exists",
                                                              "params_and_profiles_validate"}


@pytest.mark.parametrize("name", sorted(_REG.landmarkers))
def test_every_registered_landmarker_conforms(name):
    results = testing.check_landmarker(_REG.landmarker(name))
    ok, _ = _REG.landmarker(name).available()
    if ok:  # the model ran: every check passed, none skipped
        assert all(r.status == "passed" for r in results), results



@pytest.mark.parametrize("name", sorted(_REG.roi_schemes))
def test_every_registered_roi_scheme_conforms(name):
    results = testing.check_roi_scheme(_REG.roi_scheme(name))
    assert all(r.status == "passed" for r in results), results


def test_kit_catches_broken_roi_schemes():
    from hrbench.api import RoiScheme

    class Whole(RoiScheme):
        name = "whole"
        n_rois = 2

        def measure(self, frame, landmarks):
            m = frame.reshape(-1, 3).mean(axis=0).astype(np.float32)
            return np.stack([m, m])

    assert {r.status for r in testing.check_roi_scheme(Whole)} == {"passed"}

    class Bgr(Whole):
        def measure(self, frame, landmarks):
            return super().measure(frame, landmarks)[:, ::-1]

    class BgrEntry(Whole):
        def measure_bgr(self, frame_bgr, landmarks):
            return self.measure(frame_bgr, landmarks)  # forgets to reorder the channels

    class Unit(Whole):
        def measure(self, frame, landmarks):
            return super().measure(frame, landmarks) / 255.0

    class Short(Whole):
        n_rois = 3

    class Paints(Whole):
        def measure(self, frame, landmarks):
            frame[:2] = 0
            return super().measure(frame, landmarks)

    def failed(cls):
        with pytest.raises(testing.ConformanceError) as exc:
            testing.check_roi_scheme(cls)
        return _failed(exc.value)

    assert "uniform_frame_gives_its_rgb" in failed(Bgr)
    assert failed(BgrEntry) == {"measure_bgr_matches_measure"}
    assert "uniform_frame_gives_its_rgb" in failed(Unit)
    assert "face_means_shape_and_finite" in failed(Short)
    assert "input_not_modified" in failed(Paints)
    ids = [cid for cid, _ in testing.iter_checks([Whole])]
    assert ids[0] == "roi_scheme-whole-subclass_and_name" and len(ids) == len(testing.roi_scheme_checks(Whole))

# -- adapters: each on a miniature copy of its layout -----------------------------------------


def _mini(name: str, root: Path) -> Path:
    import miniature as mini  # tests/ is on sys.path (rootdir conftest)

    from hrbench_plugins.datasets.synthetic import SyntheticSettings, generate

    writers = {
        "folder": mini.write_mini_folder, "mahnob_hci": mini.write_mini_mahnob, "mmse_hr": mini.write_mini_mmse,
        "vipl_hr": mini.write_mini_vipl, "ubfc_rppg": mini.write_mini_ubfc, "pure": mini.write_mini_pure,
    }
    if name in writers:
        return writers[name](root)
    if name.startswith("synthetic"):
        generate(SyntheticSettings(n_subjects=2, scenarios=("still",), videos_per_subject=1, duration_s=4,
                                   size=(96, 72)), root, name=name)
        return root
    if name == "example_folder":
        from hrbench_example_plugin import write_example_dataset

        return write_example_dataset(root, {"a": 66.0, "b": 80.0}, seconds=4.0)
    raise AssertionError(f"no miniature for dataset {name!r}: add one so the kit checks it")


@pytest.mark.parametrize("name", sorted(_REG.datasets))
def test_every_registered_adapter_conforms(name, tmp_path):
    root = _mini(name, tmp_path / name)
    testing.check_adapter(_REG.dataset(name), root, max_recordings=4)


# -- the kit catches broken plugins ------------------------------------------------------------


def _failed(exc: BaseException) -> set[str]:
    """Names of the failed checks listed in a ConformanceError."""
    return set(re.findall(r"^\s+- \w+ '[^']*' (\S+) failed", str(exc), flags=re.M))


def test_kit_catches_broken_methods(thirdparty_site):
    import thirdparty_hr as tp

    with pytest.raises(testing.ConformanceError) as hz:
        testing.check_method(tp.InHz)
    assert {"output_shape_finite_in_band", "recovers_clean_pulse"} <= _failed(hz.value)
    with pytest.raises(testing.ConformanceError) as nan:
        testing.check_method(tp.AllNaN)
    assert {"output_shape_finite_in_band", "nan_frames_tolerated", "recovers_clean_pulse"} <= _failed(nan.value)
    with pytest.raises(testing.ConformanceError) as mean:
        testing.check_method(tp.MeanHR)
    assert _failed(mean.value) == {"all_nan_clip_gives_nan", "recovers_clean_pulse"}

    class Mutates(tp.GreenPeak):
        name = "mutates"

        def predict(self, clips):
            with np.errstate(invalid="ignore"):  # the kit's NaN-frame clips: NaN - NaN is expected here
                clips.traces -= clips.traces.mean(axis=2, keepdims=True)
            return super().predict(clips)

    class BatchDependent(tp.GreenPeak):
        name = "batchy"

        def predict(self, clips):
            return super().predict(clips) * 0 + 60.0 + len(clips)

    class Wobbly(tp.GreenPeak):
        name = "wobbly"

        def predict(self, clips):
            return super().predict(clips) + np.random.default_rng().uniform(0, 1)

    class BadParam(tp.GreenPeak):
        name = "bad_param"
        params = {"channel": tp.Param(5, "colour channel", int, low=0, high=2)}

    assert "input_not_modified" in _failed(pytest.raises(testing.ConformanceError, testing.check_method, Mutates).value)
    assert "batch_size_invariant" in _failed(pytest.raises(testing.ConformanceError,
                                                           testing.check_method, BatchDependent).value)
    assert "deterministic_per_seed" in _failed(pytest.raises(testing.ConformanceError,
                                                             testing.check_method, Wobbly).value)
    assert "params_and_profiles_validate" in _failed(pytest.raises(testing.ConformanceError,
                                                                   testing.check_method, BadParam).value)

    class BadLegacy(tp.GreenPeak):  # a legacy value that is no setting could never have been run
        name = "bad_legacy"
        params = {"channel": tp.Param(1, "colour channel", int, low=0, high=2, legacy=7)}

    assert "params_and_profiles_validate" in _failed(pytest.raises(testing.ConformanceError,
                                                                   testing.check_method, BadLegacy).value)
    # The fixture's tp_green works on clean clips but crashes on missing frames: the kit says so.
    assert _failed(pytest.raises(testing.ConformanceError, testing.check_method, tp.GreenPeak).value) == {
        "nan_frames_tolerated", "all_nan_clip_gives_nan"}


def _gt(path: str) -> object:
    from hrbench.api import Signal

    return Signal("bvp", np.sin(np.arange(60) / 3.0), 30.0)  # 2 s of truth for a 4-s video


def _ms(n: int) -> np.ndarray:
    return np.arange(n) * 33.3  # milliseconds: a classic mistake


def test_kit_catches_broken_adapters(thirdparty_site, tmp_path):
    import thirdparty_hr as tp

    root = tp.write_tiny_dataset(tmp_path / "tiny", {"r0": 60.0, "r1": 80.0}, seconds=4.0)
    assert testing.check_adapter(tp.TinyDataset, root)

    class Lambdas(tp.TinyDataset):
        name = "tiny"

        def scan_with_problems(self, root):
            recs, problems = super().scan_with_problems(root)
            return [r.__class__(**{**r.__dict__, "ground_truth": lambda: _gt("x")}) for r in recs], problems

    class Duplicates(tp.TinyDataset):
        name = "tiny"

        def scan_with_problems(self, root):
            recs, problems = super().scan_with_problems(root)
            return [r.__class__(**{**r.__dict__, "id": "same"}) for r in recs], problems

    class Milliseconds(tp.TinyDataset):
        name = "tiny"

        def scan_with_problems(self, root):
            recs, problems = super().scan_with_problems(root)
            return [r.__class__(**{**r.__dict__, "timestamps": functools.partial(_ms, 120)}) for r in recs], problems

    class ShortTruth(tp.TinyDataset):
        name = "tiny"

        def scan_with_problems(self, root):
            recs, problems = super().scan_with_problems(root)
            return [r.__class__(**{**r.__dict__, "ground_truth": functools.partial(_gt, "x")}) for r in recs], problems

    def failed(cls):
        with pytest.raises(testing.ConformanceError) as exc:
            testing.check_adapter(cls, root)
        return _failed(exc.value)

    assert "recordings_picklable" in failed(Lambdas)
    assert "ids_unique_and_stable" in failed(Duplicates)
    assert "timestamps_contract" in failed(Milliseconds)
    assert "ground_truth_finite_and_as_long_as_video" in failed(ShortTruth)


def test_kit_catches_a_landmarker_in_the_wrong_convention():
    from hrbench.api import Landmarker

    class Mirrored(Landmarker):
        name = "mirrored"

        def __call__(self, frame):
            if frame.std() < 1:
                return None
            pts = np.zeros((68, 2), np.float32) + 200
            pts[36:42, 0], pts[42:48, 0] = 300, 200  # eyes swapped
            pts[30, 1], pts[48:68, 1] = 250, 300
            return pts

    with pytest.raises(testing.ConformanceError, match="finds_face_in_ibug68_order"):
        testing.check_landmarker(Mirrored)


def test_parametrize_with_checks_yields_one_case_per_check(thirdparty_site):
    import thirdparty_hr as tp

    argname, params = testing.parametrize_with_checks([tp.GreenPeak]).mark.args
    assert argname == "check"
    ids = [p.id for p in params]
    assert ids[0] == "method-tp_green-subclass_and_name" and "method-tp_green-recovers_clean_pulse" in ids
    assert [cid for cid, _ in testing.iter_checks([tp.GreenPeak])] == ids


# -- the CLI -----------------------------------------------------------------------------------


def test_plugins_check_prints_a_table(thirdparty_site, monkeypatch, capsys):
    from hrbench.plugin import host

    monkeypatch.setenv("HRBENCH_PLUGINS", "green,example")
    host.get_registry(refresh=True)
    assert main(["plugins", "--check"]) == 0
    out = capsys.readouterr().out
    assert "conformance checks" in out and "example_green" in out and "FAILED" not in out
    flat = " ".join(out.split())
    # Every skipped check says why: an adapter without data is checked as a class, its recordings skipped.
    assert "skipped dataset example_folder (recordings): no default data root" in flat
    assert all(line.split(": ", 1)[-1].strip() for line in out.splitlines() if line.startswith("skipped "))
    assert "roi_scheme" in flat and "face_skin" in flat  # the core's schemes are checked too
    monkeypatch.setenv("HRBENCH_PLUGINS", "thirdparty")
    host.get_registry(refresh=True)
    assert main(["plugins", "--check"]) == 1
    out = capsys.readouterr().out
    assert "FAILED method tp_hz output_shape_finite_in_band" in " ".join(out.split())
    monkeypatch.delenv("HRBENCH_PLUGINS")  # before the fixture's teardown reloads the registry


def test_example_plugin_runs_through_the_cli(tmp_path, capsys):
    import sqlite3

    from hrbench_example_plugin import write_example_dataset

    hrs = {f"v{i}": hr for i, hr in enumerate([60.0, 70.0, 84.0, 96.0, 108.0, 120.0])}
    root = write_example_dataset(tmp_path / "data", hrs, seconds=10.0)
    store = tmp_path / "s.sqlite"
    assert main(["run", "--method", "example_green", "--dataset", "example_folder", "--data-root", str(root),
                 "--protocol", "subject_exclusive", "--store", str(store), "--workers", "1"]) == 0
    con = sqlite3.connect(store)
    try:
        rows = con.execute("SELECT recording_id, hr_pred FROM video_predictions").fetchall()
    finally:
        con.close()
    assert len(rows) == len(hrs) and all(abs(pred - hrs[rid]) < 2.0 for rid, pred in rows)
    assert main(["methods", "example_green"]) == 0
    out = capsys.readouterr().out
    assert "channel" in out and "profile red" in out and "face_skin" in out


def test_example_plugin_conformance_tests_pass():
    assert pytest.main(["-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests" / "test_conformance.py")]) == 0
