"""Learned rows are the same on two x86-64 CPU types: torch's CPU kernels are pinned (hrbench.run.cpu_pinning).

A second CPU type is simulated on this one: the variables below make torch
(ATen, oneDNN), MKL, NumPy and OpenCV take the code paths of a CPU without
AVX-512.  That needs an AVX-512 CPU to run on; elsewhere the two types would
be one and the simulation tests are skipped.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hrbench.cli import main
from hrbench.errors import ConfigError
from hrbench.run.cpu_pinning import (
    MODE_ENV,
    PINNED_ENV,
    PINNED_LEVEL,
    cpu_info,
    isa_level,
    kernels_in_use,
    pin_cpu_kernels,
)

#: A CPU with AVX2 and FMA but no AVX-512, as each library would see it.
AVX2_CPU = {
    "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "NPY_DISABLE_CPU_FEATURES": "AVX512F,AVX512CD,AVX512_SKX,AVX512_CLX,AVX512_CNL,AVX512_ICL,AVX512_SPR",
    "OPENCV_CPU_DISABLE": "AVX512_SKX",
}
HRS = {f"r{i}": hr for i, hr in enumerate([58, 72, 88, 104, 66, 95])}
FAST = ["--param", "width=8", "--param", "epochs=2", "--param", "synth_maps=64", "--param", "synth_epochs=1",
        "--param", "batch_size=16"]
ROOT = Path(__file__).resolve().parent.parent

needs_avx512 = pytest.mark.skipif(isa_level(cpu_info()[1]) != "avx512",
                                  reason="simulating a second CPU type needs an AVX-512 CPU to run on")


def _env(cpu: dict[str, str], **extra: str) -> dict[str, str]:
    """This process's environment without pins set by earlier in-process runs, as ``cpu`` would have it."""
    env = {k: v for k, v in os.environ.items() if k not in PINNED_ENV and k != MODE_ENV and k not in AVX2_CPU}
    return {**env, **cpu, **extra}


def _run_both(cmds: list[tuple[list[str], dict[str, str]]]) -> list[str]:
    """Run the commands side by side (one thread each); their stdout, or a failure showing stderr."""
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for cmd, env in cmds]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-3000:]
        outs.append(out)
    return outs


def _stored(db: Path) -> dict[str, list]:
    con = sqlite3.connect(db)
    try:
        return {
            "clips": con.execute("SELECT recording_id, clip_index, start_s, hr_pred, hr_ref FROM clip_predictions "
                                 "ORDER BY recording_id, clip_index").fetchall(),
            "videos": con.execute("SELECT recording_id, subject, hr_pred, hr_ref FROM video_predictions "
                                  "ORDER BY recording_id").fetchall(),
            "folds": con.execute("SELECT fold, n_train_clips, train_hr_json, notes_json FROM folds "
                                 "ORDER BY fold").fetchall(),
            "kernels": [json.loads(v)["cpu_kernels"] for (v,) in con.execute("SELECT versions_json FROM runs")],
        }
    finally:
        con.close()


@needs_avx512
def test_main_job_stores_identical_rows_on_two_simulated_cpus(thirdparty_site, tmp_path):
    import thirdparty_hr

    data = thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", HRS)
    cmds = []
    for name, cpu in (("avx512", {}), ("avx2", AVX2_CPU)):
        env = _env(cpu, PYTHONPATH=os.pathsep.join(filter(None, [str(thirdparty_site), os.environ.get("PYTHONPATH")])),
                   HRBENCH_CACHE=str(tmp_path / f"cache-{name}"), TORCH_HOME=str(tmp_path / "torch"))
        cmd = [sys.executable, "-m", "hrbench", "run", "--method", "stmap_transfer", "--dataset", "tiny",
               "--data-root", str(data), "--protocol", "subject_exclusive", "--store", str(tmp_path / f"{name}.sqlite"),
               "--workers", "1", "--threads", "1", "--seed", "3", "--quiet", *FAST]
        cmds.append((cmd, env))
    _run_both(cmds)
    native, other = _stored(tmp_path / "avx512.sqlite"), _stored(tmp_path / "avx2.sqlite")
    assert len(native["videos"]) == len(HRS) and len(native["clips"]) > len(HRS)
    assert len({row[3] for row in native["clips"]}) > len(HRS)  # predictions spread: not all on the band's edge
    for part in ("clips", "videos", "folds"):
        assert native[part] == other[part], part  # floats compared to the bit
    for rec in native["kernels"] + other["kernels"]:
        assert rec["pin"] == PINNED_LEVEL and rec["aten"] == "AVX2" and rec["onednn_max_isa"] == "AVX2"
        assert rec["mkl_cbwr"] == "COMPATIBLE" and rec["cpu_isa"] == "avx512" and "not_pinned" not in rec


#: Trains a width-8 regressor for a few steps after the run's thread and kernel set-up; prints its predictions.
TRAIN = """
import json, numpy as np
from hrbench.run.threads import apply_threads
apply_threads(1)
import torch
from hrbench_plugins.methods.deep.resnet import HRRegressor
from hrbench_plugins.methods.deep.train import predict_maps, seeded, train_regressor
rng = np.random.default_rng(0)
maps = rng.random((48, 3, 25, 150), dtype=np.float32)
labels = rng.uniform(50, 120, 48).astype(np.float32)
with seeded(1):
    model = HRRegressor(width=8)
    train_regressor(model, lambda _e: (maps[:32], labels[:32]), epochs=2, batch_size=16, seed=1)
print(json.dumps({"pred": predict_maps(model, maps[32:]).tolist(), "aten": torch.backends.cpu.get_cpu_capability()}))
"""


@needs_avx512
def test_without_the_pin_the_simulated_cpus_compute_differently():
    """The control: the two simulated CPUs are different CPUs to torch, so the identity above is the pin's doing."""
    outs = _run_both([([sys.executable, "-c", TRAIN], _env(cpu, **{MODE_ENV: "native"})) for cpu in ({}, AVX2_CPU)])
    native, other = (json.loads(o) for o in outs)
    assert (native["aten"], other["aten"]) == ("AVX512", "AVX2")
    assert native["pred"] != other["pred"]


@pytest.fixture
def clean_env(monkeypatch):
    """No pin variables set; whatever the test's pin sets is undone afterwards."""
    for var in (*PINNED_ENV, MODE_ENV):
        monkeypatch.delenv(var, raising=False)


def test_pin_sets_the_variables_over_a_users_values(clean_env, monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE")
    pin = pin_cpu_kernels(frozenset({"sse2", "avx", "avx2", "fma"}), "x86_64")
    assert (pin.level, pin.reason) == (PINNED_LEVEL, "")
    assert {k: os.environ[k] for k in PINNED_ENV} == PINNED_ENV


@pytest.mark.parametrize(("flags", "machine", "why"), [
    (frozenset({"sse2", "avx"}), "x86_64", "CPU lacks avx2, fma"),
    (frozenset({"sse2", "avx", "avx2"}), "x86_64", "CPU lacks fma"),
    (frozenset({"asimd"}), "aarch64", "not an x86-64 CPU (aarch64)"),
    (frozenset(), "x86_64", "CPU features unknown (no /proc/cpuinfo)"),
])
def test_cpus_below_the_pinned_level_keep_their_kernels_and_say_why(clean_env, flags, machine, why):
    pin = pin_cpu_kernels(flags, machine)
    assert (pin.level, pin.reason, pin.env) == ("native", why, {})
    assert not any(var in os.environ for var in PINNED_ENV)


def test_native_mode_is_recorded_and_a_bad_mode_is_a_one_line_error(clean_env, monkeypatch,
                                                                    thirdparty_site, tmp_path, capsys):
    monkeypatch.setenv(MODE_ENV, "native")
    assert pin_cpu_kernels(frozenset({"avx2", "fma"}), "x86_64").reason == f"{MODE_ENV}=native"
    rec = kernels_in_use()
    assert rec["pin"] == "native" and rec["not_pinned"] == f"{MODE_ENV}=native" and rec["mkl_cbwr"] == "auto"

    monkeypatch.setenv(MODE_ENV, "fastest")
    with pytest.raises(ConfigError, match=MODE_ENV):
        pin_cpu_kernels()
    import thirdparty_hr

    data = thirdparty_hr.write_tiny_dataset(tmp_path / "tiny", {"a": 60, "b": 70}, seconds=4.0)
    assert main(["run", "--method", "tp_green", "--dataset", "tiny", "--data-root", str(data), "--protocol",
                 "subject_exclusive", "--store", str(tmp_path / "s.sqlite"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{MODE_ENV}='fastest'" in err and "Traceback" not in err and len(err.splitlines()) == 1
