"""An interrupted run, restarted, loses nothing already computed."""

import sqlite3

import numpy as np
import pytest

from hrbench import fsutil
from hrbench.cli import main
from hrbench.traces import traces


@pytest.fixture
def tiny(thirdparty_site, tmp_path):
    import thirdparty_hr

    return thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", {f"r{i}": 60 + 6 * i for i in range(6)}, seconds=11)


def run(tiny, tmp_path, method="tp_green"):
    return main(["run", "--method", method, "--dataset", "tiny", "--data-root", str(tiny), "--protocol", "random",
                 "--store", str(tmp_path / "s.sqlite"), "--workers", "1"])


def test_traces_are_extracted_once_and_reused(tiny, tmp_path, monkeypatch):
    calls = []
    real = traces.extract
    monkeypatch.setattr(traces, "extract", lambda *a, **k: calls.append(a[0].id) or real(*a, **k))
    assert run(tiny, tmp_path) == 0
    assert sorted(calls) == [f"r{i}" for i in range(6)]
    calls.clear()
    assert run(tiny, tmp_path, method="tp_mean") == 0  # another method, same traces
    assert calls == []
    # A changed video is a new cache key: only it is extracted again.
    import thirdparty_hr

    thirdparty_hr.write_tiny_dataset(tmp_path / "tiny2", {"r0": 99.0}, seconds=11, seed=5)
    (tmp_path / "tiny2" / "r0.avi").replace(tiny / "r0.avi")
    run(tiny, tmp_path)  # only what is extracted matters here
    assert calls == ["r0"]


def test_interrupted_run_resumes_at_the_first_missing_fold(tiny, tmp_path, monkeypatch, capsys):
    import thirdparty_hr

    real_predict = thirdparty_hr.GreenPeak.predict
    seen = []

    def flaky(self, clips):
        seen.append(len(clips))
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real_predict(self, clips)

    monkeypatch.setattr(thirdparty_hr.GreenPeak, "predict", flaky)
    assert run(tiny, tmp_path) == 130
    assert "run the same command again to resume" in capsys.readouterr().err
    con = sqlite3.connect(tmp_path / "s.sqlite")
    assert con.execute("SELECT COUNT(*) FROM folds").fetchone()[0] == 1
    assert con.execute("SELECT complete FROM runs").fetchone()[0] == 0
    seen.clear()
    monkeypatch.setattr(thirdparty_hr.GreenPeak, "predict", real_predict)
    assert run(tiny, tmp_path) == 0
    assert con.execute("SELECT COUNT(*) FROM folds").fetchone()[0] == 3
    assert con.execute("SELECT COUNT(*) FROM video_predictions").fetchone()[0] == 6
    assert con.execute("SELECT complete FROM runs").fetchone()[0] == 1
    assert "1/3 folds already in the store" in capsys.readouterr().err


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "x.npz"
    fsutil.save_npz_atomic(target, {"a": np.arange(3)})
    before = target.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(fsutil.os, "replace", boom)
    with pytest.raises(OSError):
        fsutil.save_npz_atomic(target, {"a": np.arange(5)})
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]
    np.testing.assert_array_equal(fsutil.load_npz(target)["a"], np.arange(3))
