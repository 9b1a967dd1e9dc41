"""The run stage's hand-offs and failure rules.

* one run identity gives a run's key, base key and record, exactly as stored before it existed;
* a method is built once to validate its parameters and once per fold, never more;
* a failing method is recorded as failed, the run's other methods go on, the command exits non-zero;
* a pulse method whose ``predict`` disagrees with its own pulse (Hz against bpm) is caught.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from hrbench import __version__
from hrbench.cli import main
from hrbench.clips.protocol import find_protocol
from hrbench.clips.sampling import RecordingClips
from hrbench.errors import HrbenchError
from hrbench.fsutil import stable_hash
from hrbench.plugin.clips import Clips
from hrbench.plugin.host import get_registry
from hrbench.plugin.method import Method
from hrbench.run.evaluate import PULSE_CHECK_CLIPS, check_predict_matches_pulse
from hrbench.run.provenance import RunIdentity, RunRecord

HRS = {f"r{i}": hr for i, hr in enumerate([58, 72, 88, 104, 66, 95])}


@pytest.fixture
def tiny(thirdparty_site, tmp_path):
    import thirdparty_hr

    return thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", HRS)


def _run(tiny, tmp_path, *args):
    return main(["run", "--dataset", "tiny", "--data-root", str(tiny), "--store", str(tmp_path / "s.sqlite"),
                 "--workers", "1", *args])


def _identity(**change) -> RunIdentity:
    fields = dict(method="pos", params={"window_s": 1.6}, profile="default", protocol_sha256="ab" * 32,
                  dataset="synthetic", train_on="", fingerprint="f" * 16, seed=3, train_fraction=0.5,
                  label="synthetic", roi_scheme="face_skin@1")
    return RunIdentity(**{**fields, **change})


def test_run_identity_hashes_exactly_the_fields_stored_runs_were_keyed_by():
    # The store's keys were hashed from this dict before RunIdentity existed: any change orphans every stored run.
    expected = {"method": "pos", "params": {"window_s": 1.6}, "profile": "default", "protocol_sha256": "ab" * 32,
                "dataset": "synthetic", "train_on": "", "fingerprint": "f" * 16, "seed": 3, "train_fraction": 0.5,
                "hrbench": __version__, "roi_scheme": "face_skin@1"}
    ident = _identity()
    assert ident.key == stable_hash(expected, 20)
    assert ident.base_key == stable_hash({k: v for k, v in expected.items() if k != "fingerprint"}, 20)
    # A label other than the adapter's name is part of the key; a method without an ROI scheme has none in it.
    labelled = _identity(label="synthetic-copy", roi_scheme="")
    del expected["roi_scheme"]
    assert labelled.key == stable_hash({**expected, "label": "synthetic-copy"}, 20)
    assert len({ident.key, labelled.key, _identity(seed=4).key, _identity(fingerprint="g" * 16).key}) == 4
    assert _identity(fingerprint="g" * 16).base_key == ident.base_key


def test_run_identity_row_is_the_store_record():
    reg = get_registry()
    for name, train_label in (("subject_exclusive", "synthetic"), ("cross_database", "synthetic-large")):
        protocol = find_protocol(name, reg.protocol_dirs)
        ident = _identity(protocol_sha256=protocol.sha256,
                          train_on="synthetic-large" if protocol.scope == "cross" else "")
        record = RunRecord(protocol, train_label, (("r2", "b.csv", "bad"), ("", "a.csv", "worse")), 3,
                           {"cpus": 2}, "ray", "hrbench run --method pos")
        row = ident.row(record)
        assert row["base_key"] == ident.base_key and row["protocol_sha256"] == protocol.sha256
        assert row["train_dataset"] == train_label and row["dataset_label"] == "synthetic"
        assert json.loads(row["params_json"]) == {"window_s": 1.6} and row["n_folds"] == 3
        assert json.loads(row["skipped_json"]) == [["", "a.csv", "worse"], ["r2", "b.csv", "bad"]]
        versions = json.loads(row["versions_json"])
        assert versions["thread_plan"] == {"cpus": 2} and versions["executor"] == "ray" and "cpu_kernels" in versions


def test_a_method_is_built_once_to_validate_and_once_per_fold(tiny, tmp_path, monkeypatch):
    import thirdparty_hr

    built = []
    real = Method.__init__

    def counting(self, *args, **kwargs):
        built.append(kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(thirdparty_hr.GreenPeak, "__init__", counting)
    assert _run(tiny, tmp_path, "--method", "tp_green", "--param", "channel=2", "--protocol", "subject_exclusive") == 0
    assert len(built) == 1 + 3  # validation, then each of the 3 folds
    assert built[0] == {"profile": "default", "channel": "2"}  # the --param as typed ...
    assert all(b == {"profile": "default", "channel": 2} for b in built[1:])  # ... then the validated value


def test_a_failing_method_is_recorded_and_the_other_methods_go_on(tiny, tmp_path, capsys):
    assert _run(tiny, tmp_path, "--method", "tp_hz,tp_green", "--protocol", "subject_exclusive") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "tp_hz" in err[-1] and "failed" in err[-1] and "Hz instead of bpm" in err[-1]
    con = sqlite3.connect(tmp_path / "s.sqlite")
    runs = {m: (json.loads(n), c) for m, n, c in con.execute("SELECT method, notes_json, complete FROM runs")}
    assert runs["tp_green"][1] == 1
    assert con.execute("SELECT COUNT(*) FROM video_predictions v JOIN runs r USING (run_key)"
                       " WHERE r.method = 'tp_green'").fetchone()[0] == len(HRS)
    notes, complete = runs["tp_hz"]
    assert complete == 0 and notes["failed"].startswith("fold 1: ") and "Hz instead of bpm" in notes["failed"]
    assert main(["runs", "list", "--store", str(tmp_path / "s.sqlite")]) == 0
    assert "failed" in capsys.readouterr().out


def test_a_failed_run_is_retried_by_the_same_command(tiny, tmp_path, monkeypatch, capsys):
    import thirdparty_hr

    real = thirdparty_hr.GreenPeak.predict
    calls = []

    def flaky(self, clips):
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("boom")
        return real(self, clips)

    monkeypatch.setattr(thirdparty_hr.GreenPeak, "predict", flaky)
    assert _run(tiny, tmp_path, "--method", "tp_green", "--protocol", "subject_exclusive") == 2
    assert "tp_green (fold 2: ValueError: boom)" in capsys.readouterr().err
    con = sqlite3.connect(tmp_path / "s.sqlite")
    assert con.execute("SELECT COUNT(*) FROM folds").fetchone()[0] == 1
    monkeypatch.setattr(thirdparty_hr.GreenPeak, "predict", real)
    assert _run(tiny, tmp_path, "--method", "tp_green", "--protocol", "subject_exclusive") == 0
    assert "1/3 folds already in the store" in capsys.readouterr().err
    notes, complete = con.execute("SELECT notes_json, complete FROM runs").fetchone()
    assert complete == 1 and "failed" not in json.loads(notes)


def test_predict_in_hz_next_to_a_right_pulse_is_caught(tiny, tmp_path, monkeypatch, capsys):
    green = get_registry().method("green")
    right = green.predict
    monkeypatch.setattr(green, "predict", lambda self, clips: right(self, clips) / 60.0)
    # Under whole_video only the pulse is scored: without the check the wrong predict would pass unnoticed.
    assert _run(tiny, tmp_path, "--method", "green,tp_green", "--protocol", "whole_video") == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "green (fold 1: method green: predict gave 1." in last and "the HR of its predict_pulse is" in last
    con = sqlite3.connect(tmp_path / "s.sqlite")
    assert dict(con.execute("SELECT method, complete FROM runs")) == {"green": 0, "tp_green": 1}


class _Pulse(Method):
    """A pulse method whose ``predict`` is off by ``offsets`` (bpm) on each clip."""

    name = "pulse_test"
    produces_pulse = True
    roi_scheme = "full"

    def __init__(self, offsets: list[float]) -> None:
        super().__init__()
        self.offsets = np.asarray(offsets)

    def predict_pulse(self, clips: Clips) -> np.ndarray:
        return clips.traces[:, 0, :, 1]

    def predict(self, clips: Clips) -> np.ndarray:
        from hrbench.pulse.hr import spectral_hr

        self.run_notes["predict_calls"] = self.run_notes.get("predict_calls", 0) + 1
        return spectral_hr(self.predict_pulse(clips), clips.fps, clips.hr_settings) + self.offsets[: len(clips)]


def _pulse_clips(protocol) -> list[RecordingClips]:
    fps, n = protocol.clips.fps, protocol.clips.length
    t = np.arange(n) / fps
    out = []
    for i, hr in enumerate((60.0, 75.0, 90.0, 105.0, 120.0)):
        x = np.zeros((1, 1, n, 3))
        x[0, 0, :, 1] = np.sin(2 * np.pi * hr / 60.0 * t)
        out.append(RecordingClips(f"r{i}", f"s{i}", np.zeros(1), np.array([hr]), {"full": x}))
    return out


@pytest.mark.parametrize("offsets, bad", [([0, 0, 0, 0], False), ([30, 0, 0, 0], False), ([30, -30, 30, 0], True)])
def test_the_pulse_check_needs_most_clips_to_disagree(offsets, bad):
    protocol = find_protocol("subject_exclusive", get_registry().protocol_dirs)
    method = _Pulse(offsets)
    test = _pulse_clips(protocol)
    assert len(test) > PULSE_CHECK_CLIPS == len(offsets)
    if bad:
        with pytest.raises(HrbenchError, match=r"predict gave 90 but the HR of its predict_pulse is 60 bpm.*3 of 4"):
            check_predict_matches_pulse(method, test, protocol)
    else:
        check_predict_matches_pulse(method, test, protocol)
    assert method.run_notes == {}  # the check leaves what the run records as it was


class _InlineCluster:
    """A stand-in for RayExecutor: the same ``imap`` interface, every task run here, one after another."""

    def __init__(self, address=None) -> None:
        from hrbench.run.executor import LocalExecutor

        self.pool = LocalExecutor(1)

    def describe(self) -> str:
        return "inline cluster"

    def imap(self, fn, items, **needs):
        return self.pool.imap(fn, items, **needs)

    def shutdown(self) -> None:
        pass


def test_on_a_cluster_too_a_failing_method_leaves_the_others_stored(tiny, tmp_path, monkeypatch, capsys):
    pytest.importorskip("ray")  # --executor ray checks that Ray is installed before any work
    from hrbench.run import ray_executor

    monkeypatch.setattr(ray_executor, "RayExecutor", _InlineCluster)
    assert _run(tiny, tmp_path, "--method", "tp_green,tp_nan,tp_mean", "--executor", "ray") == 2
    assert "tp_nan (fold 1: method tp_nan gave no finite prediction" in capsys.readouterr().err
    con = sqlite3.connect(tmp_path / "s.sqlite")
    assert dict(con.execute("SELECT method, complete FROM runs")) == {"tp_green": 1, "tp_nan": 0, "tp_mean": 1}
    assert con.execute("SELECT COUNT(DISTINCT run_key) FROM video_predictions").fetchone()[0] == 2


def test_a_failed_method_is_listed_on_the_board_as_not_run(tiny, tmp_path, capsys):
    assert _run(tiny, tmp_path, "--method", "tp_hz,tp_green", "--protocol", "subject_exclusive") == 2
    from hrbench.boards.boards import build_boards
    from hrbench.store.store import Store

    store = Store(tmp_path / "s.sqlite", readonly=True)
    try:
        (board,) = build_boards(store, protocol="subject_exclusive")
    finally:
        store.close()
    assert [r.method for r in board.rows if r.run_key] == ["tp_green"]
    (nr,) = board.not_run
    assert nr.method == "tp_hz" and nr.reason.startswith("failed (fold 1: ") and "retries" in nr.reason


def test_a_parameter_added_later_is_keyed_only_away_from_its_legacy_value():
    from hrbench.plugin.method import Param, RunContext
    from hrbench.run.plan import identity_params

    class Later(Method):
        name, roi_scheme, supervised = "later", "", False
        params = {"window_s": Param(1.6, "window"), "readout": Param("peak", "added later", str,
                                                                      choices=("mean", "peak"), legacy="mean")}

        def predict(self, clips):
            return np.zeros(len(clips))

    assert Later(RunContext(), readout="mean").readout == "mean"  # the instance still gets it
    assert identity_params(Later, {"window_s": 1.6, "readout": "mean"}) == {"window_s": 1.6}
    assert identity_params(Later, {"window_s": 1.6, "readout": "peak"}) == {"window_s": 1.6, "readout": "peak"}
    # So a run at the legacy value has the key runs stored before the parameter existed had.
    before = _identity(params={"window_s": 1.6})
    assert _identity(params=identity_params(Later, {"window_s": 1.6, "readout": "mean"})).key == before.key
    assert _identity(params=identity_params(Later, {"window_s": 1.6, "readout": "peak"})).key != before.key
