"""How many threads each process may use: decided here, once, for every library.

Why one place: NumPy's BLAS, OpenMP (scikit-learn, OpenCV's parallel loops
in some builds), OpenCV's own pool and torch each start one thread per core
by default.  A run with ``N`` extraction workers, each with ``C`` BLAS
threads and ``C`` torch threads, asks for ``N * C`` busy threads on ``C``
cores: it is slower than one thread each (oversubscription), and the float
results of threaded reductions can depend on the thread count.  The rule
here is ``workers * threads <= CPUs`` (the CPUs this process may run on,
``sched_getaffinity``, not the machine's count: containers and ``taskset``
restrict it).

:func:`configure_threads` applies the plan: environment variables (read by
each library when it is first imported, and inherited by spawned worker
processes), ``threadpoolctl`` for BLAS/OpenMP libraries already loaded in
this process, and torch / OpenCV only if they are already imported (this
module never imports torch: that costs a second and most commands do not
need it).  It returns what it chose, for the run's provenance.

Both also pin torch's CPU kernels to one instruction-set level
(:mod:`hrbench.run.cpu_pinning`): like the thread count, the kernels a CPU
picks change a learned method's numbers, and both must be settled before the
first torch operation -- here, in the run's main process and in every
remote task.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field

from ..errors import ConfigError
from .cpu_pinning import pin_cpu_kernels

#: Environment variables read by BLAS / OpenMP / numexpr implementations at import.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class ThreadPlan:
    """What :func:`configure_threads` decided (recorded with a run)."""

    cpus: int  # CPUs this process may use
    workers: int  # worker processes for per-recording work
    threads: int  # threads per process (torch intra-op, BLAS, OpenMP, OpenCV)
    source: str  # "auto" or "--threads"
    notes: tuple[str, ...] = ()  # adjustments made to the requested numbers
    applied: dict[str, str] = field(default_factory=dict)  # what was set where

    @property
    def main_threads(self) -> int:
        """Threads for the main process once the pool is closed (training runs alone then).

        ``--threads`` applies everywhere; otherwise the main process may use
        every CPU when no worker runs (``apply_threads(plan.main_threads)``).
        """
        return self.threads if self.source == "--threads" else self.cpus

    def as_dict(self) -> dict[str, object]:
        return {"cpus": self.cpus, "workers": self.workers, "threads": self.threads,
                "main_threads": self.main_threads, "source": self.source, "notes": list(self.notes)}


def usable_cpus() -> int:
    """CPUs this process may run on (affinity mask, not the machine's core count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _positive(value: object, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{option} must be a whole number, got {value!r}")
    if value < 1:
        raise ConfigError(f"{option} must be at least 1, got {value}")
    return value


def resolve_workers(workers: int | None, cpus: int | None = None) -> tuple[int, str | None]:
    """Validated worker count and, when it was capped, a note saying so.

    ``None`` means one per usable CPU; 0 or a negative number is a
    :class:`ConfigError`; more than the usable CPUs is capped to them
    (``--workers 1000`` must not start a thousand processes of ~150 MB).
    """
    cpus = cpus or usable_cpus()
    if workers is None:
        return cpus, None
    n = _positive(workers, "--workers")
    if n > cpus:
        return cpus, f"--workers {n} capped to the {cpus} usable CPU(s)"
    return n, None


def plan_threads(workers: int | None, threads: int | None, cpus: int | None = None) -> ThreadPlan:
    """The plan for ``workers`` processes and an optional ``--threads`` override (nothing applied).

    Without ``--threads`` each process gets ``cpus // workers`` threads (at
    least 1).  With it, and no ``--workers``, the workers are reduced to
    ``cpus // threads``; with both, threads are capped so that the product
    fits the CPUs.
    """
    cpus = cpus or usable_cpus()
    notes: list[str] = []
    if threads is None:
        n_workers, note = resolve_workers(workers, cpus)
        if note:
            notes.append(note)
        return ThreadPlan(cpus, n_workers, max(1, cpus // n_workers), "auto", tuple(notes))
    t = _positive(threads, "--threads")
    if t > cpus:
        notes.append(f"--threads {t} capped to the {cpus} usable CPU(s)")
        t = cpus
    if workers is None:
        return ThreadPlan(cpus, max(1, cpus // t), t, "--threads", tuple(notes))
    n_workers, note = resolve_workers(workers, cpus)
    if note:
        notes.append(note)
    if n_workers * t > cpus:
        capped = max(1, cpus // n_workers)
        notes.append(f"--threads {t} capped to {capped} so that {n_workers} worker(s) x threads <= {cpus} CPU(s)")
        t = capped
    return ThreadPlan(cpus, n_workers, t, "--threads", tuple(notes))


def apply_threads(threads: int) -> dict[str, str]:
    """Limit this process (and the processes it spawns later) to ``threads`` threads per library.

    Also pins torch's CPU kernels (:func:`hrbench.run.cpu_pinning.pin_cpu_kernels`).
    """
    applied: dict[str, str] = {}
    pin = pin_cpu_kernels()
    applied["cpu_kernels"] = pin.level if not pin.reason else f"{pin.level} ({pin.reason})"
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(threads)
    applied["env"] = ",".join(THREAD_ENV_VARS)
    # Idle OpenMP threads sleep instead of spinning: on cores shared with other busy
    # processes spinning threads slow each other down severalfold (benchmarks/bench_threads.py).
    # It changes no result.  A user's own setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:  # BLAS / OpenMP runtimes already loaded (numpy's OpenBLAS is, as soon as numpy is imported)
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)
        applied["threadpoolctl"] = str(threads)
    except ImportError:
        pass
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
        applied["torch"] = str(threads)
        with contextlib.suppress(RuntimeError):  # allowed only before the first parallel op
            torch.set_num_interop_threads(threads)
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        cv2.setNumThreads(threads)
        applied["cv2"] = str(threads)
    return applied


def configure_threads(workers: int | None, threads: int | None) -> ThreadPlan:
    """Decide and apply threads per process for ``workers`` processes; return the plan to record.

    Call once at the start of a run, before the worker pool starts (workers
    inherit the environment variables).  torch imported later reads
    ``OMP_NUM_THREADS`` at import; torch imported already is set directly.
    """
    plan = plan_threads(workers, threads)
    return ThreadPlan(plan.cpus, plan.workers, plan.threads, plan.source, plan.notes, apply_threads(plan.threads))
