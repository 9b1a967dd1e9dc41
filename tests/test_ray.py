"""The Ray executor stores what the local executor stores, and is optional.

The equality test starts a small local Ray instance inside the test (two
CPUs, no dashboard), runs one subject-exclusive run of an unsupervised
(``pos``) and a supervised (``svr``) method on a tiny full-frame dataset with
each executor -- each with its own cache, so the Ray run extracts its own
traces in Ray tasks -- and compares every stored row that is not a timing,
a timestamp or the command line.  First-party methods and the first-party
``folder`` adapter: Ray workers import them like any installed plugin.
"""

from __future__ import annotations

import importlib.util
import signal
import sqlite3
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from hrbench.cli import main

HAS_RAY = importlib.util.find_spec("ray") is not None

#: Columns that differ between two runs of the same work (when, how long, how it was invoked).
VOLATILE = {"created_at", "command", "versions_json", "fit_seconds", "predict_seconds", "threads"}


def write_folder_dataset(root: Path, subjects: int = 6, per_subject: int = 2, seconds: float = 12.0,
                         fps: float = 30.0) -> Path:
    """Full-frame MJPG videos whose colour pulses at a known HR, listed in a folder-adapter manifest."""
    rng = np.random.default_rng(7)
    n = int(seconds * fps)
    t = np.arange(n) / fps
    rows = ["path,subject,hr,roi"]
    for s in range(subjects):
        for v in range(per_subject):
            hr = 55.0 + 9.0 * s + 4.0 * v
            pulse = np.sin(2 * np.pi * hr / 60.0 * t + rng.uniform(0, 6.28))
            path = root / f"p{s}" / f"v{v}.avi"
            path.parent.mkdir(parents=True, exist_ok=True)
            w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (32, 24))
            for k in range(n):
                rgb = np.array([170.0, 120.0, 100.0]) + 5.0 * pulse[k] * np.array([0.33, 0.77, 0.53])
                frame = rgb + rng.normal(0, 2.0, (24, 32, 3))
                w.write(cv2.cvtColor(np.clip(frame, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
            w.release()
            rows.append(f"p{s}/v{v}.avi,p{s},{hr:g},full-frame")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def stored_rows(db: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(db)
    try:
        out = {}
        for table in ("runs", "folds", "clip_predictions", "video_predictions"):
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})") if r[1] not in VOLATILE]
            out[table] = sorted(con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall(), key=repr)
        return out
    finally:
        con.close()


def _run(data: Path, tmp: Path, tag: str, *extra: str) -> int:
    return main(["run", "--method", "pos,svr", "--dataset", "folder", "--data-root", str(data),
                 "--protocol", "subject_exclusive", "--store", str(tmp / f"{tag}.sqlite"),
                 "--cache", str(tmp / f"cache-{tag}"), "--workers", "1", *extra])


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install 'hrbench[ray]')")
def test_ray_executor_stores_the_same_rows_as_the_local_one(tmp_path, capsys):
    import ray

    data = write_folder_dataset(tmp_path / "data")
    assert _run(data, tmp_path, "local") == 0
    sigterm = signal.getsignal(signal.SIGTERM)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert _run(data, tmp_path, "ray", "--executor", "ray") == 0
        from hrbench.errors import ConfigError
        from hrbench.run.ray_executor import RayExecutor

        ex = RayExecutor()  # joins the instance above
        assert not ex.owns
        with pytest.raises(ConfigError, match="1 GPU per task, but the Ray cluster has 0"):
            list(ex.imap(len, [("ab",)], num_gpus=1))  # a GPU run on a cluster without GPUs: one line
        assert list(ex.imap(len, [("ab",), ("abc",)])) in ([(0, 2, None), (1, 3, None)], [(1, 3, None), (0, 2, None)])
    finally:
        ray.shutdown()
        # ray.init installs a SIGTERM handler that calls sys.exit and ray.shutdown leaves it;
        # later tests that send themselves SIGTERM must meet the handler they expect.
        signal.signal(signal.SIGTERM, sigterm)
    err = capsys.readouterr().err
    assert "Ray cluster: 2 CPU(s)" in err
    # The Ray run extracted its traces itself, into its own cache, in Ray tasks.
    assert list((tmp_path / "cache-ray" / "traces").rglob("*.npz"))
    local, remote = stored_rows(tmp_path / "local.sqlite"), stored_rows(tmp_path / "ray.sqlite")
    assert len(local["runs"]) == 2 and all(r for r in local["runs"])
    assert len(local["folds"]) == 6  # 2 methods x 3 folds
    assert len(local["video_predictions"]) == 2 * 12
    for table in local:
        assert remote[table] == local[table], table
    con = sqlite3.connect(tmp_path / "ray.sqlite")
    assert con.execute("SELECT COUNT(*) FROM runs WHERE complete = 1").fetchone()[0] == 2
    con.close()


def test_ray_executor_without_ray_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, installed or not
    data = write_folder_dataset(tmp_path / "data", subjects=3, per_subject=1)
    assert _run(data, tmp_path, "x", "--executor", "ray") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["hrbench: error: --executor ray needs Ray: pip install 'hrbench[ray]' (or pip install 'ray>=2.9')"]
    assert not (tmp_path / "cache-x" / "traces").exists()  # failed before any work


def test_ray_address_needs_the_ray_executor(tmp_path, capsys):
    data = write_folder_dataset(tmp_path / "data", subjects=3, per_subject=1)
    assert _run(data, tmp_path, "y", "--ray-address", "auto") == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
