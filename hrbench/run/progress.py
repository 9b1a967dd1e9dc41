"""Progress of a run's long phases, wherever its output goes.

On a terminal, rich progress bars (redrawn in place).  Anywhere else -- a
file (``2> log``), a pipe, CI logs, ``nohup``, a cluster job's log -- a bar
cannot be redrawn, and rich prints nothing until the end: an hour of
extraction looked like a hung process.  So there each phase prints plain
lines instead: one when it starts, one every ~10 % of the work or every
:data:`PLAIN_EVERY_S` seconds (whichever comes first), and one at the end,
each saying what, how far, the time elapsed and the time left::

    ROI traces: started, 40 items
    ROI traces: 4/40 (10%), 0:12 elapsed, ETA 1:48
    ROI traces: done, 40/40 in 2:01

``quiet`` prints no progress at all (warnings and errors still appear);
``verbose`` prints a plain line for every item (a video, an epoch) and lets
native libraries' own messages through (:func:`quiet_native_stderr`).

The hub is what :class:`hrbench.plugin.method.RunContext` lends a method as
``progress(description, total) -> advance(n=1)``, so deep methods report
their epochs the same way.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Literal

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Advance = Callable[[int], None]
Verbosity = Literal["quiet", "normal", "verbose"]

#: A plain progress line at least this often (seconds) while a phase runs ...
PLAIN_EVERY_S = 30.0
#: ... and at every such fraction of its work.
PLAIN_STEP = 0.10
#: Environment variable that lets native libraries' chatter through (set by ``--verbose``;
#: inherited by worker processes, which is where the landmarker's models load).
NATIVE_LOGS_ENV = "HRBENCH_NATIVE_LOGS"


def format_duration(seconds: float) -> str:
    """``0:07``, ``12:31``, ``1:02:03`` -- compact enough for a log line."""
    s = max(0, int(round(seconds)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class PlainTask:
    """One phase reported as plain lines (see the module docstring)."""

    def __init__(self, say: Callable[[str], None], description: str, total: int, *, every_item: bool = False,
                 every_s: float = PLAIN_EVERY_S, step: float = PLAIN_STEP,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.say, self.description, self.total = say, description, max(0, int(total))
        self.every_item, self.every_s, self.step, self.clock = every_item, every_s, step, clock
        self.done = 0
        self.t0 = self.last = clock()
        self.next_mark = step
        self.finished = False
        self._lock = threading.Lock()
        say(f"{description}: started, {self.total} item{'s' if self.total != 1 else ''}")

    def advance(self, n: int = 1) -> None:
        with self._lock:
            if self.finished:
                return
            self.done += n
            now = self.clock()
            frac = self.done / self.total if self.total else 1.0
            if self.done >= self.total:
                self.finished = True
                self.say(f"{self.description}: done, {self.done}/{self.total} in {format_duration(now - self.t0)}")
                return
            if self.every_item or frac >= self.next_mark or now - self.last >= self.every_s:
                while self.next_mark <= frac:
                    self.next_mark += self.step
                self._line(now)

    def tick(self) -> None:
        """Called by the hub's heartbeat: a line if none was printed for ``every_s`` (slow items)."""
        with self._lock:
            now = self.clock()
            if not self.finished and now - self.last >= self.every_s:
                self._line(now)

    def _line(self, now: float) -> None:
        self.last = now
        elapsed = now - self.t0
        frac = self.done / self.total if self.total else 0.0
        eta = format_duration(elapsed / frac - elapsed) if frac > 0 else "unknown"
        self.say(f"{self.description}: {self.done}/{self.total} ({100 * frac:.0f}%), "
                 f"{format_duration(elapsed)} elapsed, ETA {eta}")


class Hub:
    """Progress shared by a run's phases: extraction, method fits, anything a method reports.

    ``plain`` (default: whether the console is *not* a terminal) selects
    plain lines over bars; ``verbosity`` is the run's ``--quiet`` /
    ``--verbose``.  Use as a context manager around the phases (bars are
    started and stopped there); :meth:`task` is the ``progress`` callable.
    """

    def __init__(self, console: Console, verbosity: Verbosity = "normal", plain: bool | None = None,
                 every_s: float = PLAIN_EVERY_S) -> None:
        self.console = console
        self.verbosity = verbosity
        self.plain = (not console.is_terminal) if plain is None else plain
        if verbosity == "verbose":
            self.plain = True  # a line per item: bars would hide them
        self.every_s = every_s
        self._tasks: list[PlainTask] = []
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            disable=self.plain or verbosity == "quiet",
        )

    def say(self, line: str) -> None:
        """A plain line (no markup: ids and paths print as they are)."""
        self.console.print(escape(line), highlight=False, soft_wrap=True)

    def message(self, markup: str) -> None:
        """A line with rich markup (its user text escaped by the caller), shown at every verbosity."""
        self.console.print(markup, highlight=False, soft_wrap=True)

    def info(self, markup: str) -> None:
        """A progress-like :meth:`message` (a fold started, folds reused): not shown with ``--quiet``."""
        if self.verbosity != "quiet":
            self.message(markup)

    def task(self, description: str, total: int) -> Advance:
        """Start reporting a phase of ``total`` items; returns ``advance(n=1)``."""
        if self.verbosity == "quiet":
            return lambda n=1: None
        if self.plain:
            t = PlainTask(self.say, description, total, every_item=self.verbosity == "verbose", every_s=self.every_s)
            self._tasks.append(t)
            return t.advance
        tid = self.progress.add_task(escape(description), total=total)
        return lambda n=1: self.progress.advance(tid, n)

    def __enter__(self) -> Hub:
        self.progress.__enter__()
        if self.plain and self.verbosity != "quiet":
            self._stop.clear()
            self._beat = threading.Thread(target=self._heartbeat, name="hrbench-progress", daemon=True)
            self._beat.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(2.0)
            self._beat = None
        self.progress.__exit__(exc_type, exc, tb)

    def _heartbeat(self) -> None:
        """Lines for phases whose items are slower than ``every_s`` (one long video, a long epoch)."""
        while not self._stop.wait(min(1.0, self.every_s / 2)):
            self._tasks = [t for t in self._tasks if not t.finished]
            for t in list(self._tasks):
                t.tick()


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Within the block, output written straight to file descriptor 2 (by C/C++ code) is dropped.

    Why: LiteRT prints ``INFO: Created TensorFlow Lite XNNPACK delegate for
    CPU.`` from C++ when a model's tensors are allocated -- once in every
    worker process, interleaved with progress lines and useless to a user.
    Python-level messages are untouched outside the block; keep blocks
    short (another thread's output to stderr inside one is lost too).
    ``HRBENCH_NATIVE_LOGS=1`` (``--verbose``) lets everything through.
    """
    if os.environ.get(NATIVE_LOGS_ENV):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def phase(description: str, total: int, console: Console | None = None,
          verbosity: Verbosity = "normal") -> Iterator[Advance]:
    """One long phase outside a run's hub (e.g. a dataset generated on first use): ``advance(n=1)``.

    Bars on a terminal, plain lines elsewhere, exactly like a run's phases::

        with phase("generating synthetic (first use)", len(plans)) as advance:
            for plan in plans:
                ...
                advance(1)
    """
    hub = Hub(console or Console(stderr=True), verbosity)
    with hub:
        yield hub.task(description, total)
