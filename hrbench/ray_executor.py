"""Ray backend of the executor interface: the same ``imap`` as :class:`~hrbench.executor.LocalExecutor`.

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

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .errors import ConfigError

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
            self.ray.init(address=address, include_dashboard=False, log_to_driver=True, ignore_reinit_error=True)
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
        remote = ray.remote(_call).options(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0)
        n_threads = threads or max(1, int(num_cpus))
        settings = ray.put(self.settings)
        pending = {remote.remote(settings, n_threads, fn, tuple(args)): i for i, args in enumerate(items)}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    i = pending.pop(ref)
                    try:
                        yield i, ray.get(ref), None
                    except ray.exceptions.RayTaskError as exc:
                        cause = getattr(exc, "cause", None)
                        yield i, None, cause if isinstance(cause, BaseException) else exc
                    except ray.exceptions.RayError as exc:  # a worker or node died: say so, keep going
                        yield i, None, exc
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise

    def shutdown(self) -> None:
        """Leave Ray if this executor joined it: a local instance it started stops, a cluster keeps running."""
        if self.owns and self.ray.is_initialized():
            self.ray.shutdown()
