"""One executor interface for per-recording work.

``LocalExecutor`` runs tasks in a process pool sized to the usable CPUs (or
inline with ``workers=1``, which tests and debuggers prefer).  Workers are
started with ``spawn`` so they never inherit a parent's torch / OpenMP
state.  The cluster backend, :class:`hrbench.run.ray_executor.RayExecutor`
(``--executor ray``), implements the same ``imap`` on top of this module
(which therefore never imports it); the runner chooses.  ``imap`` takes each task's resource needs (``num_cpus``,
``num_gpus``, ``threads``): a cluster schedules by them, the local pool has
already divided its CPUs (:mod:`hrbench.run.threads`) and ignores them.

Workers never outlive the run that started them.  Why it needs code: a
pool worker blocks on its task queue, whose write end every worker also
holds, so when the parent is killed (``kill -9``, OOM killer, a closed
terminal) nothing ever tells it to stop -- it finishes its queued tasks and
idles forever (~150 MB each).  So each worker (:func:`worker_initializer`)

* asks Linux to send it SIGTERM when its parent dies (``PR_SET_PDEATHSIG``
  through ``prctl``), and
* runs a watchdog thread that polls ``os.getppid()`` (other systems, and
  the window before ``prctl`` took effect);

and on SIGTERM it unwinds the current task (so atomic writes remove their
temporary files) and exits, with a hard ``os._exit`` a moment later in
case the task does not unwind.  Workers ignore SIGINT: Ctrl-C reaches the
whole process group, and the parent decides.

A worker that dies (``kill -9``, the OOM killer, a crash in native code)
breaks the whole pool: every unfinished task fails with
``BrokenProcessPool``, which names none of them.  So ``imap`` never reports
that error against a task: the tasks the pool left unfinished run again
(with a one-line note), then, if a worker dies again, one at a time, where
a death can only be the running task's own (:class:`WorkerDied`).

In the parent, SIGTERM raises :class:`Interrupted` (a ``KeyboardInterrupt``
subclass, so the command line's "interrupted, rerun to resume" path
handles both) while tasks run; on either, pending tasks are cancelled and
the workers terminated before the exception propagates.  While a pool runs,
the signal is raised at a safe point (:func:`deferred_termination`,
:func:`as_completed`), never from inside ``concurrent.futures``' locks.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..fsutil import notice
from .threads import resolve_workers, usable_cpus

_PR_SET_PDEATHSIG = 1
#: Seconds between the watchdog's parent checks, and the grace before a hard exit.
WATCHDOG_PERIOD_S = 0.5
HARD_EXIT_AFTER_S = 1.0


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGTERM, SIGINT); finished work is kept.

    A ``KeyboardInterrupt`` so that every ``except KeyboardInterrupt`` that
    turns Ctrl-C into "interrupted: rerun the same command to resume"
    handles a ``kill`` the same way.  ``exit_code`` is the conventional
    128 + signal number.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def default_workers() -> int:
    return usable_cpus()


@contextlib.contextmanager
def handle_termination(signals: tuple[int, ...] = (signal.SIGTERM,)) -> Iterator[None]:
    """Within the block, the given signals raise :class:`Interrupted` in the main thread.

    Outside the main thread (where Python cannot install handlers) it does
    nothing.  The previous handlers are restored on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupted(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, raise_interrupted) for s in signals}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


#: Seconds between a waiting pool's checks for a deferred signal.
POLL_S = 0.1


@contextlib.contextmanager
def deferred_termination(signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[Callable[[], None]]:
    """Within the block, the given signals are recorded; the yielded ``check()`` raises them as :class:`Interrupted`.

    Why not raise from the handler (:func:`handle_termination`) while a
    process pool runs: the handler runs between any two bytecodes of the
    main thread, also while ``concurrent.futures.wait`` holds the futures'
    locks; the exception leaks them, the pool's manager thread then blocks
    on one forever and the interpreter hangs at exit joining that thread.
    So the block calls ``check()`` where it holds no lock (:func:`as_completed`
    does, between polls).  A second signal before any check raises at once
    (a user who asks twice gets out of a loop that never checks); once one
    has been raised, further ones are ignored while the block unwinds (its
    cleanup stops the pool and must not be cut short).  A signal recorded but not
    yet raised when the block ends is sent again to the handler outside
    the block, so it is never lost.  Outside the main thread (where Python
    cannot install handlers) nothing is recorded.
    """
    received: list[int] = []
    raised: list[bool] = [False]

    def check() -> None:
        if received and not raised[0]:
            raised[0] = True
            raise Interrupted(received[0])

    if threading.current_thread() is not threading.main_thread():
        yield check
        return

    def record(signum: int, _frame: object) -> None:
        if raised[0]:
            return  # already unwinding (stopping the pool): raising again could leak a lock mid-cleanup
        if received:
            raised[0] = True
            raise Interrupted(signum)
        received.append(signum)

    previous = {s: signal.signal(s, record) for s in signals}
    try:
        yield check
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        if received and not raised[0]:
            raised[0] = True
            signal.raise_signal(received[0])


def as_completed(futures: Iterable[Future[Any]], check: Callable[[], None]) -> Iterator[Future[Any]]:
    """Yield ``futures`` as they finish, like ``concurrent.futures.as_completed``, calling ``check`` between polls.

    Use inside :func:`deferred_termination` with its ``check``, so that a
    SIGTERM or Ctrl-C stops the wait within :data:`POLL_S` seconds, at a
    point where no future's lock is held.
    """
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
        check()
        for fut in done:
            # Again before each: a signal that arrives while the consumer handles one
            # finished future surfaces at its next step, even when several finished at once.
            check()
            yield fut


# -- worker side ------------------------------------------------------------------


def _set_parent_death_signal(signum: int) -> bool:
    """Ask the kernel to send ``signum`` to this process when its parent exits (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _hard_exit_later(code: int) -> None:
    t = threading.Timer(HARD_EXIT_AFTER_S, os._exit, args=(code,))
    t.daemon = True
    t.start()


def _on_worker_term(signum: int, _frame: object) -> None:
    _hard_exit_later(128 + signum)
    raise SystemExit(128 + signum)


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(WATCHDOG_PERIOD_S)
        if os.getppid() != parent_pid:
            with contextlib.suppress(OSError):
                os.kill(os.getpid(), signal.SIGTERM)  # unwind via the handler ...
            time.sleep(HARD_EXIT_AFTER_S)
            os._exit(128 + signal.SIGTERM)  # ... or not


def worker_initializer(parent_pid: int, user_init: Callable[..., Any] | None, user_args: tuple[Any, ...]) -> None:
    """Pool worker initializer: die with the parent, ignore Ctrl-C, then the caller's initializer.

    Public so that other process pools (the synthetic dataset generator's)
    give their workers the same lifetime: ``initializer=worker_initializer,
    initargs=(os.getpid(), own_init, own_args)``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_worker_term)
    _set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(128 + signal.SIGTERM)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="hrbench-parent-watchdog", daemon=True).start()
    if user_init is not None:
        user_init(*user_args)


# -- parent side ------------------------------------------------------------------


def stop_pool(pool: ProcessPoolExecutor, pending: Iterable[Future[Any]]) -> None:
    """Cancel what has not started and terminate the workers (they run no task to completion)."""
    for fut in pending:
        fut.cancel()
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + HARD_EXIT_AFTER_S + 1.0
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(1.0)


class LocalExecutor:
    """Process pool for per-recording tasks; see the module docstring for its lifetime rules."""

    def __init__(self, workers: int | None = None, initializer: Callable[..., Any] | None = None,
                 initargs: tuple[Any, ...] = ()) -> None:
        """``workers``: None = one per usable CPU; 0 or negative is a ConfigError; above the CPUs, capped."""
        self.workers, self.note = resolve_workers(workers)
        self.initializer = initializer
        self.initargs = initargs

    def describe(self) -> str:
        return f"local: {self.workers} worker process(es)"

    def shutdown(self) -> None:
        """Nothing to release: each :meth:`imap` closes its own pool."""

    def imap(self, fn: Callable[..., Any], items: Iterable[tuple[Any, ...]], *, num_cpus: float = 1,
             num_gpus: float = 0, threads: int | None = None) -> Iterator[tuple[int, Any, BaseException | None]]:
        """Yield ``(index, result, error)`` as tasks finish; errors are returned, not raised.

        The resource arguments are the interface's (see the module docstring);
        the local pool ignores them.

        SIGTERM (and Ctrl-C) while tasks run stops the pool -- pending tasks
        cancelled, workers terminated -- and raises :class:`Interrupted` /
        ``KeyboardInterrupt``.
        """
        items = list(items)
        if self.workers <= 1 or len(items) <= 1:
            with handle_termination():
                for i, args in enumerate(items):
                    try:
                        res = fn(*args)
                    except Exception as exc:  # noqa: BLE001
                        yield i, None, exc
                    else:
                        yield i, res, None
            return
        # A dead worker (kill -9, the OOM killer, a crash in native code) breaks the whole
        # pool: every unfinished task fails with BrokenProcessPool, whichever one it was
        # running, so that error says nothing about the task it is attached to.  Those
        # tasks run again in a fresh pool; what dies there too runs alone, one task per
        # worker, so a death can only be the task's own.
        todo = list(range(len(items)))
        for attempt in range(3):
            alone = attempt == 2
            died: list[int] = []
            cause = "a worker process died"
            with contextlib.closing(self._pool_round(fn, items, todo, one_at_a_time=alone)) as results:
                for i, res, exc in results:
                    if isinstance(exc, _WorkerLost):
                        cause = exc.cause
                        if alone:
                            yield i, None, WorkerDied(f"{cause} while running this task, also when it ran alone")
                        else:
                            died.append(i)
                    else:
                        yield i, res, exc
            if not died:
                return
            how = "again, one at a time" if attempt == 1 else "again"
            notice(f"{cause}; running the {len(died)} task(s) its pool left unfinished {how} (finished work is kept)")
            todo = sorted(died)

    def _pool_round(self, fn: Callable[..., Any], items: list[tuple[Any, ...]], todo: list[int], *,
                    one_at_a_time: bool) -> Iterator[tuple[int, Any, BaseException | None]]:
        """Run ``items[i]`` for ``i`` in ``todo`` in fresh pools; a task a dead worker took down gets
        :class:`_WorkerLost`.

        ``one_at_a_time``: one worker, one task in flight, a new pool after each
        death -- slower, but a death then names its task.
        """
        ctx = mp.get_context("spawn")
        queue = list(todo)
        with deferred_termination() as check:
            while queue:
                check()
                n = 1 if one_at_a_time else min(self.workers, len(queue))
                pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=worker_initializer,
                                           initargs=(os.getpid(), self.initializer, self.initargs))
                procs: dict[int, Any] = {}
                pending: dict[Future[Any], int] = {}
                broken: _WorkerLost | None = None
                try:
                    while queue and not broken:
                        batch = [queue.pop(0)] if one_at_a_time else [queue.pop(0) for _ in range(len(queue))]
                        pending = {pool.submit(fn, *items[i]): i for i in batch}
                        procs.update(getattr(pool, "_processes", None) or {})
                        for fut in as_completed(list(pending), check):
                            procs.update(getattr(pool, "_processes", None) or {})
                            i = pending.pop(fut)
                            exc = fut.exception()
                            if _is_worker_death(exc):
                                broken = broken or _WorkerLost(_death_cause(list(procs.values())))
                                yield i, None, broken
                            else:
                                yield i, (None if exc else fut.result()), exc
                except BaseException:
                    # Interrupted, Ctrl-C, or the consumer stopped iterating (GeneratorExit).
                    stop_pool(pool, pending)
                    raise
                pool.shutdown(wait=True)


class WorkerDied(RuntimeError):
    """A worker process died (killed, out of memory, a crash in native code) while running this very task."""


class _WorkerLost(Exception):
    """Internal: the task's worker pool lost a process; the task may be innocent (see ``imap``)."""

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(cause)


def _is_worker_death(exc: BaseException | None) -> bool:
    """A pool that lost a process; or a worker's own exit (SIGTERM to a worker ends its task with SystemExit)."""
    return isinstance(exc, (BrokenProcessPool, SystemExit, KeyboardInterrupt))


def _death_cause(procs: list[Any]) -> str:
    """How a pool's worker died, from the exit codes (the survivors are stopped with SIGTERM after a death).

    The pool's own manager thread joins the same processes.  When it reaps
    one first, our ``join`` returns with ``exitcode`` still None and the code
    appears once that thread has recorded it, so a missing code is read again
    until the deadline instead of being taken for a stopped survivor.
    """
    deadline = time.monotonic() + HARD_EXIT_AFTER_S + 1.0
    codes = []
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(max(0.0, deadline - time.monotonic()))
            code = p.exitcode
            while code is None and time.monotonic() < deadline:
                time.sleep(0.01)
                code = p.exitcode
            codes.append(code)
    stopped = (0, None, -signal.SIGTERM, 128 + signal.SIGTERM)
    code = next((c for c in codes if c not in stopped), None)
    if code is None:
        return "a worker process died"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"a worker process was killed by {signal.Signals(-code).name}"
        return f"a worker process was killed by signal {-code}"
    return f"a worker process exited with status {code}"
