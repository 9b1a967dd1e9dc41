"""Which CPU kernels torch may use in a run: one instruction-set level, so learned rows match across x86-64 CPUs.

Why: torch picks its CPU kernels by the processor it runs on, and kernels
for different instruction sets round differently.  A learned method trained
with one seed and one thread count on two x86-64 CPUs therefore stored
different predictions (the main job: MAE 9.51 on one machine, 10.38 on
another).  Measured on an AVX-512 CPU by making it compute like others
(``tests/test_cross_cpu.py``; a width-8 ``HRRegressor``, 2 epochs on 64
random maps, one thread):

* **oneDNN** (convolutions) -- ``ONEDNN_MAX_CPU_ISA=AVX2`` against the
  native AVX-512 kernels: predictions up to 2.4 bpm apart.  Pinned to
  ``AVX2``.
* **MKL** (BLAS: the final linear layer) -- its automatic branch follows
  the CPU.  ``MKL_CBWR=COMPATIBLE`` is the branch MKL documents as giving
  the same results on Intel and compatible CPUs; ``MKL_CBWR=AVX2`` is
  honoured on Intel CPUs only (on this AMD CPU MKL reported its automatic
  branch under it).  Pinned to ``COMPATIBLE``.
* **ATen's own vectorised kernels** -- ``avx512`` and ``avx2`` gave the same
  bits; ``default`` (no AVX2) draws other initial weights.  Pinned to
  ``avx2`` all the same.

So the pinned level is AVX2 with FMA, which every x86-64 CPU of the last
decade has.  On a CPU below it, or not x86-64, nothing is pinned (the
variables would name instructions the CPU lacks) and the run's record says
so.  ``HRBENCH_CPU_KERNELS=native`` keeps the CPU's own kernels (recorded
too).  Cost on this AVX-512 CPU (width 16, 25 x 150 maps, one thread, maps
per CPU-second, median of 10 alternating runs): training 574 against 620
unpinned (-7 %), inference 2500 against 2559 (within the noise).

What is *not* pinned here, and why (each recorded with the run):

* the thread count: oneDNN splits reductions by thread, so rows match at the
  same ``--threads`` (stored with every run);
* whatever else oneDNN's choice among its AVX2 implementations depends on
  (its heuristics can read the CPU's cache sizes; there is no switch and no
  way to simulate it here), so the record names the CPU model;
* LiteRT's XNNPACK kernels (the landmarker) pick their instruction set by
  CPU with no switch either; the CPU-independent reference kernels are ~10x
  slower (41.6 s against 4.1 s for 360 frames of 640 x 480), and the face
  tracker amplifies any numeric difference (XNNPACK against LiteRT's own
  kernels: landmarks up to 4 px apart, other traces).  The record gives the
  CPU's instruction-set level (``cpu_isa``).  OpenCV, NumPy and OpenBLAS
  gave bit-identical traces and maps with their AVX-512 paths switched off
  (OpenCV without AVX2 does not: below the pinned level anyway).

The variables are read by torch, oneDNN and MKL on first use, not at import
(verified: set after ``import torch``, before the first operation, they
apply), so :func:`pin_cpu_kernels` works wherever threads are configured,
before any training -- and it never imports torch itself.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import ConfigError

#: Set by :func:`pin_cpu_kernels` on CPUs that have the pinned level.
PINNED_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "COMPATIBLE"}
#: Name of the pinned level, as stored with a run.
PINNED_LEVEL = "avx2"
#: CPU flags (``/proc/cpuinfo``) the pinned kernels need.
REQUIRED_FLAGS = frozenset({"avx2", "fma"})
#: ``native`` keeps the CPU's own kernels; unset or ``portable`` pins.
MODE_ENV = "HRBENCH_CPU_KERNELS"
MODES = ("portable", "native")


@dataclass(frozen=True)
class KernelPin:
    """What :func:`pin_cpu_kernels` did."""

    level: str  # PINNED_LEVEL, or "native" when nothing was pinned
    reason: str = ""  # why nothing was pinned
    env: dict[str, str] = field(default_factory=dict)  # what was set


@lru_cache(maxsize=1)
def cpu_info() -> tuple[str, frozenset[str]]:
    """The CPU's model name and feature flags from ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor() or platform.machine(), frozenset()
    model, flags = "", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
        if model and flags:
            break
    return model or platform.machine(), flags


def isa_level(flags: frozenset[str]) -> str:
    """The highest of ``avx512`` / ``avx2`` / ``avx`` / ``sse`` the flags show (``unknown`` without flags)."""
    if not flags:
        return "unknown"
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        return "avx512"
    if flags >= REQUIRED_FLAGS:
        return "avx2"
    return "avx" if "avx" in flags else "sse"


def _mode() -> str:
    mode = os.environ.get(MODE_ENV, "").strip().lower() or "portable"
    if mode not in MODES:
        raise ConfigError(f"{MODE_ENV}={os.environ[MODE_ENV]!r}: use {' or '.join(MODES)}")
    return mode


def _not_pinned_reason(flags: frozenset[str], machine: str) -> str:
    """Why this machine runs its own kernels ('' when the pin applies)."""
    if _mode() == "native":
        return f"{MODE_ENV}=native"
    if machine.lower() not in ("x86_64", "amd64"):
        return f"not an x86-64 CPU ({machine})"
    if not flags:
        return "CPU features unknown (no /proc/cpuinfo)"
    missing = sorted(REQUIRED_FLAGS - flags)
    if missing:
        return f"CPU lacks {', '.join(missing)}"
    return ""


def pin_cpu_kernels(flags: frozenset[str] | None = None, machine: str | None = None) -> KernelPin:
    """Pin torch's CPU kernels to :data:`PINNED_LEVEL` (environment variables) unless this CPU cannot run them.

    Call before the process's first torch operation; the variables are
    inherited by processes started later.  ``flags`` and ``machine`` default
    to this machine's.  An invalid ``HRBENCH_CPU_KERNELS`` is a
    :class:`ConfigError`.
    """
    flags = cpu_info()[1] if flags is None else flags
    reason = _not_pinned_reason(flags, machine or platform.machine())
    if reason:
        return KernelPin("native", reason)
    os.environ.update(PINNED_ENV)
    return KernelPin(PINNED_LEVEL, env=dict(PINNED_ENV))


def kernels_in_use() -> dict[str, object]:
    """What a run records: the pin, the CPU, and the kernel choices in effect (torch's only if it is loaded).

    Recomputed from the environment and the CPU, so it can be called when a
    run's row is written.  ``aten`` is the capability torch actually
    dispatches to -- if torch had run an operation before the pin, it shows
    the unpinned one.
    """
    model, flags = cpu_info()
    reason = _not_pinned_reason(flags, platform.machine())
    pinned = not reason and all(os.environ.get(k) == v for k, v in PINNED_ENV.items())
    out: dict[str, object] = {
        "pin": PINNED_LEVEL if pinned else "native",
        "cpu": model,
        "cpu_isa": isa_level(flags),
        "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "native",
        "mkl_cbwr": os.environ.get("MKL_CBWR") or "auto",
    }
    if reason:
        out["not_pinned"] = reason
    elif not pinned:
        out["not_pinned"] = "pin variables changed after the pin"
    torch = sys.modules.get("torch")
    if torch is not None:
        out["aten"] = str(torch.backends.cpu.get_cpu_capability())
        out["mkldnn"] = bool(torch.backends.mkldnn.enabled)
    return out
