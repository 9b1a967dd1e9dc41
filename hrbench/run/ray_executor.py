"""Ray backend of the executor interface: the same ``imap`` as :class:`~hrbench.run.executor.LocalExecutor`.

``hrbench run --executor ray [--ray-address ADDR]`` sends the per-recording
trace extraction and every (method, seed, fold) fit + predict to a Ray
cluster as tasks that declare what they need (CPUs; a GPU when the run's
device is CUDA).  The driver -- the ``hrbench run`` process -- stays the
only writer of the results store: a task returns its fold's rows and the
driver stores them, so SQLite never sees two writers and an interrupted run
resumes exactly as a local one does.

What the cluster must provide (docs/scale.md): hrbench, and any plugin the
run names, installed on every node; the data and the cache (``--cache``) on
a path every node sees under the same name -- tasks receive the cache root
and read videos / write trace entries there themselves.

Ray is optional (``pip install 'hrbench[ray]'``); without it,
``--executor ray`` is a one-line error and nothing else changes.

Why tasks are wrapped (:func:`_call`): a Ray worker is a long-lived
process shared by many tasks, started by Ray rather than by this process,
so it does not inherit what a spawned pool worker does.  Each task
therefore carries and applies the driver's settings: the hrbench
environment (cache root, plugin selection, verbosity), the thread limit of
the task (``workers x threads <= CPUs`` again, now per node: a task uses
the CPUs it declared) and the driver's extra import paths (a plugin
installed into a directory on the driver's ``sys.path`` imports on a node
that has the same directory).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError

#: Seconds the driver waits on Ray at a time (signals are handled in between).
WAIT_S = 0.5
#: Environment variables a task takes from the driver.
FORWARDED_ENV = ("HRBENCH_CACHE", "HRBENCH_PLUGINS", "HRBENCH_NATIVE_LOGS", "HRBENCH_DEBUG")


def require_ray() -> Any:
    """The ``ray`` module, or a one-line :class:`ConfigError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'hrbench[ray]' (or pip install 'ray>=2.9')") from None
    return ray


def driver_settings() -> dict[str, Any]:
    """What every task applies before it runs (see the module docstring)."""
    return {"env": {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ},
            "sys_path": [p for p in sys.path if p and os.path.isdir(p)]}


def _call(settings: dict[str, Any], threads: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Task body: the driver's settings and the task's thread limit, then ``fn(*args)``."""
    os.environ.update(settings["env"])
    for p in reversed(settings["sys_path"]):
        if p not in sys.path and os.path.isdir(p):
            sys.path.insert(0, p)
    from .threads import apply_threads

    apply_threads(threads)
    return fn(*args)


#: Longest temp folder whose Ray socket paths fit the 107 bytes of an AF_UNIX address:
#: ``<temp>/session_<date>_<time>_<microseconds>_<pid>/sockets/plasma_store``.
MAX_TEMP_DIR_CHARS = 107 - len("/session_2000-01-01_00-00-00_000000_4194304/sockets/plasma_store")


def local_temp_dir() -> Path | None:
    """Where a Ray started for a run keeps its session files: ``<cache>/ray``.

    Ray's default is ``/tmp/ray`` whatever ``--cache`` says; like every
    other file a run writes, its sessions belong under the cache.  ``None``
    when ``$RAY_TMPDIR`` names a folder (the user's explicit choice for Ray,
    which Ray applies itself).  A cache path too long for Ray's socket files
    is a one-line :class:`ConfigError`.
    """
    if os.environ.get("RAY_TMPDIR"):
        return None
    from ..fsutil import cache_dir

    temp = cache_dir() / "ray"
    if len(str(temp).encode("utf-8")) > MAX_TEMP_DIR_CHARS:
        raise ConfigError(
            f"Ray keeps its session files in {temp}, a path too long for its socket files "
            f"({len(str(temp))} characters; at most {MAX_TEMP_DIR_CHARS}): pass a shorter --cache, or set RAY_TMPDIR"
        )
    temp.mkdir(parents=True, exist_ok=True)
    return temp


@contextlib.contextmanager
def keep_sigterm_handler() -> Iterator[None]:
    """Undo what ``ray.init`` does to SIGTERM in the driver.

    ``ray.init`` installs a handler that exits with status 1, and Ray's C++
    core puts a failure-signal handler in front of it that prints a native
    stack dump.  Reinstalling the handler that was there before (the
    command line's, which raises :class:`~hrbench.run.executor.Interrupted`)
    gives a Ray run the local executor's ending: pending tasks cancelled,
    one "interrupted" line, exit status 128 + 15.
    """
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    except SystemExit as exc:
        if exc.code != signal.SIGTERM:
            raise
        # SIGTERM while Ray started: its handler (sys.exit(15)) was in place, not ours.
        from .executor import Interrupted

        raise Interrupted(signal.SIGTERM) from None
    finally:
        if main and previous is not None:
            signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _remember_sigterm(received: list[int]) -> Iterator[None]:
    """Within the block, note each SIGTERM in ``received`` before the installed handler runs."""
    previous = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    if not callable(previous):  # not the main thread, or no Python handler to wrap
        yield
        return

    def note(signum: int, frame: Any) -> None:
        received.append(signum)
        previous(signum, frame)

    signal.signal(signal.SIGTERM, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class RayExecutor:
    """Tasks on a Ray cluster, yielded as they finish: ``(index, result, error)``.

    ``address``: a running cluster (``ray start --head`` printed it; ``auto``
    finds the local node's).  None: an instance this process already joined
    (tests do ``ray.init`` themselves), else ``RAY_ADDRESS``, else a local
    Ray started for the run and stopped after it.
    """

    def __init__(self, address: str | None = None) -> None:
        self.ray = require_ray()
        self.owns = False
        if not self.ray.is_initialized():
            kwargs: dict[str, Any] = {}
            if not (address or os.environ.get("RAY_ADDRESS")):  # a local Ray, started for this run
                temp = local_temp_dir()
                if temp is not None:
                    kwargs["_temp_dir"] = str(temp)
            with keep_sigterm_handler():
                self.ray.init(address=address, include_dashboard=False, log_to_driver=True, ignore_reinit_error=True,
                              **kwargs)
            self.owns = True  # a local instance stops, a cluster is only disconnected from
        self.settings = driver_settings()
        self.cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.gpus = int(self.ray.cluster_resources().get("GPU", 0))
        self.workers = self.cpus  # what a progress line or a note reports
        self.note: str | None = None

    def describe(self) -> str:
        return f"Ray cluster: {self.cpus} CPU(s), {self.gpus} GPU(s), {len(self.ray.nodes())} node(s)"

    def imap(self, fn: Callable[..., Any], items: Iterable[tuple[Any, ...]], *, num_cpus: float = 1,
             num_gpus: float = 0, threads: int | None = None) -> Iterator[tuple[int, Any, BaseException | None]]:
        """Run ``fn(*args)`` for each item as a task needing ``num_cpus`` / ``num_gpus``.

        Errors come back as the task's own exception (not Ray's wrapper), so
        callers treat them as they do the local executor's.  Ctrl-C / SIGTERM
        (or a consumer that stops iterating) cancels the pending tasks.
        """
        ray = self.ray
        if num_gpus and num_gpus > self.gpus:
            raise ConfigError(f"the run needs {num_gpus:g} GPU per task, but the Ray cluster has {self.gpus}")
        # max_retries counts system failures only (a worker or node died), never the task's own
        # exception: a task whose worker was killed runs once more, as the local pool's would.
        remote = ray.remote(_call).options(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=1)
        n_threads = threads or max(1, int(num_cpus))
        settings = ray.put(self.settings)
        pending = {remote.remote(settings, n_threads, fn, tuple(args)): i for i, args in enumerate(items)}
        received: list[int] = []
        try:
            with _remember_sigterm(received):
                yield from self._results(pending)
        except BaseException as exc:
            for ref in pending:
                ray.cancel(ref, force=True)
            from .executor import Interrupted

            if received and isinstance(exc, KeyboardInterrupt) and not isinstance(exc, Interrupted):
                # Ray turns the handler's Interrupted into a plain KeyboardInterrupt when the
                # signal lands inside its C++ wait; give the command line back what was raised.
                raise Interrupted(received[-1]) from None
            raise

    def _results(self, pending: dict[Any, int]) -> Iterator[tuple[int, Any, BaseException | None]]:
        """Yield tasks as they finish, removing each from ``pending`` (what is left is cancelled on an error)."""
        ray = self.ray
        while pending:
            # A timeout, so that SIGTERM's handler runs within a second even while Ray blocks.
            done, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_S)
            for ref in done:
                i = pending.pop(ref)
                try:
                    yield i, ray.get(ref), None
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    yield i, None, cause if isinstance(cause, BaseException) else exc
                except ray.exceptions.RayError as exc:  # a worker or node died: say so, keep going
                    yield i, None, exc

    def shutdown(self) -> None:
        """Leave Ray if this executor joined it: a local instance it started stops, a cluster keeps running."""
        if self.owns and self.ray.is_initialized():
            self.ray.shutdown()
