"""One executor interface for per-recording work.

``LocalExecutor`` runs tasks in a process pool sized to the cores (or inline
with ``workers=1``, which tests and debuggers prefer).  Workers are started
with ``spawn`` so they never inherit a parent's torch / OpenMP state.  A
cluster backend (e.g. Ray) would implement the same ``imap`` and be chosen by
a flag; it is not shipped yet.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class LocalExecutor:
    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()

    def imap(self, fn: Callable[..., Any], items: Iterable[tuple[Any, ...]]) -> Iterator[tuple[int, Any, BaseException | None]]:
        """Yield ``(index, result, error)`` as tasks finish; errors are returned, not raised."""
        items = list(items)
        if self.workers <= 1 or len(items) <= 1:
            for i, args in enumerate(items):
                try:
                    yield i, fn(*args), None
                except Exception as exc:  # noqa: BLE001
                    yield i, None, exc
            return
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(self.workers, len(items)), mp_context=ctx) as pool:
            pending: dict[Future[Any], int] = {pool.submit(fn, *args): i for i, args in enumerate(items)}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = pending.pop(fut)
                        exc = fut.exception()
                        yield i, (None if exc else fut.result()), exc
            except BaseException:
                for fut in pending:
                    fut.cancel()
                raise
