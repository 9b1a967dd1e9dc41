"""The runner: prepared clips -> fit/predict per fold and seed -> store.

Four modules share the work: :mod:`hrbench.prepare` (scan, traces, clips,
folds), :mod:`hrbench.folds` (one (method, seed) run's folds and the rows
stored, with what the run records from :mod:`hrbench.provenance`),
:mod:`hrbench.evaluate` (one fold's predictions under the protocol's
evaluation rule) and this one, which checks the options and owns the loop
over methods and seeds.  Nothing here knows a particular method or dataset:
both come from the plugin registry by name.  The order of work is chosen so
that an interrupted run loses nothing already computed: traces are cached
per recording as soon as each is extracted, and predictions are stored per
fold.

Supervised methods run once per training seed (``--seeds N``: the seed and
the N - 1 following), each seed its own run in the store; boards show the
mean and spread over seeds.  Unsupervised methods have no seed to vary.
Which training clips a fold keeps under ``--train-fraction`` is
:mod:`hrbench.subsets`' policy.

Executors (``--executor``): ``local`` fits the folds one after another in
this process (which may then use every CPU); ``ray`` sends each (method,
seed, fold) to the cluster as a task (:func:`hrbench.folds.fit_and_score_job`)
and stores what comes back -- this process remains the store's only writer.
Both run the same code on the same clips, so the stored rows are the same.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape

from .dataset import Problem
from .errors import ConfigError
from .evaluate import batch
from .folds import FoldLoop, aggregate_notes, run_remote  # noqa: F401 - aggregate_notes re-exported
from .fsutil import cache_dir
from .method import Method, RunContext
from .plugins import Registry, get_registry
from .prepare import DataOptions, DataPrep
from .progress import NATIVE_LOGS_ENV, Hub
from .protocol import Protocol, find_protocol
from .provenance import command_line, resolve_device  # noqa: F401 - command_line re-exported
from .store import Store, default_store_path
from .subsets import spread_subset  # noqa: F401 - re-exported (tests, benchmarks)
from .threads import apply_threads, configure_threads

DEFAULT_LANDMARKER = "mediapipe_litert"


@dataclass
class RunOptions:
    methods: list[str]
    dataset: str = "synthetic"
    data_root: Path | None = None
    protocol: str = "subject_exclusive"
    train_on: str | None = None
    train_root: Path | None = None
    profile: str = "default"
    params: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    seeds: int = 1  # training seeds per supervised method: seed, seed + 1, ...
    name: str | None = None  # board label of the test dataset (default: the adapter's name)
    train_fraction: float = 1.0
    skip_invalid: bool = False
    allow_outside: bool = False  # manifests may name files outside their folder
    landmarker: str = DEFAULT_LANDMARKER
    workers: int | None = None
    threads: int | None = None  # threads per process (--threads); default: the CPUs shared out
    store_path: Path | None = None
    cache_root: Path | None = None
    device: str | None = None
    command: str = ""
    executor: str = "local"  # "local" (process pool + this process) or "ray" (--executor)
    ray_address: str | None = None  # --ray-address: a running Ray cluster
    verbosity: str = "normal"  # "quiet" | "normal" | "verbose" (--quiet / --verbose)


def scoped_params(params: dict[str, str], classes: dict[str, type[Method]]) -> dict[str, dict[str, str]]:
    """``--param`` values for each selected method; every value must land somewhere, once.

    ``pos.window_s=3`` sets ``window_s`` of ``pos`` only.  A bare ``window_s=3``
    is accepted when exactly one selected method declares ``window_s``; when
    several do it is ambiguous (it used to change all of them silently) and
    when none does it is a typo (it used to be dropped silently) -- both are
    errors naming the parameter.
    """
    out: dict[str, dict[str, str]] = {m: {} for m in classes}
    for key, value in params.items():
        if "." in key:
            method, _, pname = key.partition(".")
            if method not in classes:
                raise ConfigError(f"--param {key}: {method!r} is not a selected method ({', '.join(classes)})")
            if pname not in classes[method].params:
                raise ConfigError(f"--param {key}: method {method} has no parameter {pname!r}; known: {sorted(classes[method].params)}")
            out[method][pname] = value
            continue
        owners = [m for m, cls in classes.items() if key in cls.params]
        if not owners:
            known = sorted({f"{m}.{p}" for m, c in classes.items() for p in c.params})
            raise ConfigError(f"--param {key}: no selected method has this parameter; known: {', '.join(known) or 'none'}")
        if len(owners) > 1:
            raise ConfigError(f"--param {key} is ambiguous: {', '.join(owners)} all have it; write e.g. {owners[0]}.{key}={value}")
        out[owners[0]][key] = value
    return out


@dataclass
class RunSummary:
    run_keys: dict[str, list[str]]  # method -> its runs (one per seed)
    dataset: str
    label: str
    protocol: Protocol
    skipped: list[Problem]
    timings: dict[str, float]
    not_run: dict[str, str] = field(default_factory=dict)


#: Kept for callers of the old name: the hub now lives in :mod:`hrbench.progress`.
_Hub = Hub


def check_options(opts: RunOptions, protocol: Protocol) -> None:
    """The options' own rules (once the methods named are known to exist): a typo fails in one line."""
    if not 0 < opts.train_fraction <= 1:
        raise ConfigError(f"--train-fraction must be in (0, 1], got {opts.train_fraction}")
    if opts.seed is not None and not 0 <= opts.seed < 2**31:
        raise ConfigError(f"--seed must be an integer in 0..2147483647, got {opts.seed}")
    if not 1 <= opts.seeds <= 100:
        raise ConfigError(f"--seeds must be in 1..100, got {opts.seeds}")
    if opts.name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", opts.name):
        raise ConfigError(f"--name {opts.name!r}: use 1-64 letters, digits, '_', '-' or '.' (it names board files)")
    if protocol.scope == "cross" and not opts.train_on:
        raise ConfigError(f"protocol {protocol.name} is cross-database: give --train-on DATASET")
    if protocol.scope != "cross" and opts.train_on:
        raise ConfigError(f"--train-on needs a cross-database protocol, not {protocol.name}")


def check_executor(opts: RunOptions) -> None:
    """``--executor`` / ``--ray-address``; Ray not installed is one line now, before any work."""
    if opts.executor not in ("local", "ray"):
        raise ConfigError(f"--executor {opts.executor!r}: use local or ray")
    if opts.ray_address and opts.executor != "ray":
        raise ConfigError("--ray-address needs --executor ray")
    if opts.executor == "ray":
        from .ray_executor import require_ray

        require_ray()


class Runner:
    """The run: options checked, data prepared, then every (method, seed) run's folds (:mod:`hrbench.folds`)."""

    def __init__(self, opts: RunOptions, registry: Registry | None = None, console: Console | None = None) -> None:
        self.opts = opts
        self.reg = registry or get_registry()
        self.console = console or Console(stderr=True)
        self.cache_root = opts.cache_root or cache_dir()
        self.protocol = find_protocol(opts.protocol, self.reg.protocol_dirs)
        if not opts.methods:
            raise ConfigError("no method given (--method)")
        self.method_classes: dict[str, type[Method]] = {m: self.reg.method(m) for m in opts.methods}
        # Validate options, parameters and the device before any expensive work: a typo fails now.
        check_options(opts, self.protocol)
        self.method_params = scoped_params(opts.params, self.method_classes)
        for name, cls in self.method_classes.items():
            cls(RunContext(), profile=self.profile(cls), **self.method_params[name])
        if opts.profile != "default" and not any(opts.profile in (c.profiles or {}) for c in self.method_classes.values()):
            raise ConfigError(f"no selected method has a profile named {opts.profile!r}")
        check_executor(opts)
        supervised = any(c.supervised for c in self.method_classes.values())
        if opts.executor == "ray" and opts.device and opts.device.startswith("cuda"):
            # The GPUs are the cluster's, not necessarily this machine's: tasks ask Ray for one.
            self.device = opts.device if supervised else "cpu"
        else:
            self.device = resolve_device(opts.device) if supervised else "cpu"
        if opts.verbosity == "verbose":
            os.environ[NATIVE_LOGS_ENV] = "1"  # workers inherit it
        # One place decides threads: workers x threads <= the CPUs given.
        self.thread_plan = configure_threads(opts.workers, opts.threads)
        for note in self.thread_plan.notes:
            self.say(f"[dim]{escape(note)}[/]")

    def profile(self, cls: type[Method]) -> str:
        return self.opts.profile if self.opts.profile in (cls.profiles or {}) else "default"

    def _prep(self, hub: Hub, executor: Any = None) -> DataPrep:
        o = self.opts
        data = DataOptions(o.dataset, o.data_root, o.train_on, o.train_root, o.name, o.skip_invalid, o.landmarker,
                           self.thread_plan.workers, self.cache_root, o.allow_outside)
        return DataPrep(data, self.protocol, self.method_classes, self.reg, hub.task, self.say, executor=executor)

    def _hub(self) -> Hub:
        v = self.opts.verbosity
        return Hub(self.console, v if v in ("quiet", "verbose") else "normal")  # type: ignore[arg-type]

    def say(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)

    def info(self, message: str) -> None:
        """A progress-like message (fold started, folds reused): not shown with ``--quiet``."""
        if self.opts.verbosity != "quiet":
            self.say(message)

    def seeds(self, cls: type[Method]) -> list[int]:
        base = self.protocol.seed if self.opts.seed is None else self.opts.seed
        return [base + i for i in range(self.opts.seeds)] if cls.supervised else [base]

    def context(self, cls: type[Method], seed: int, hub: Hub) -> RunContext:
        return RunContext(seed=seed, clip_len=self.protocol.clips.length, cache_dir=self.cache_root,
                          device=self.device if cls.supervised else "cpu", profile=self.profile(cls),
                          console=self.console, progress=hub.task, train_fraction=self.opts.train_fraction)

    # -- run ----------------------------------------------------------------
    def run(self) -> RunSummary:
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        hub = self._hub()
        # Open the store first: an unusable path fails before any extraction.
        store = Store(self.opts.store_path or default_store_path())
        keys: dict[str, list[str]] = {}
        not_run: dict[str, str] = {}
        executor = None
        try:
            if self.opts.executor == "ray":
                from .ray_executor import RayExecutor

                executor = RayExecutor(self.opts.ray_address)
                self.info(f"[dim]{escape(executor.describe())}[/]")
            with hub:
                prepper = self._prep(hub, executor)
                prep = prepper.run(timings)
                t_fit = time.perf_counter()
                loop = FoldLoop(self, prepper, prep, store, hub)
                if executor is not None:
                    run_remote(loop, executor, keys, not_run)
                else:
                    apply_threads(self.thread_plan.main_threads)  # the pool is closed: training may use them all
                    loop.run_local(keys, not_run)
                timings["fit_predict_s"] = time.perf_counter() - t_fit
        finally:
            store.close()
            if executor is not None:
                executor.shutdown()
        timings["total_s"] = time.perf_counter() - t_start
        return RunSummary(keys, self.opts.dataset, prep.label, self.protocol, prep.skipped, timings, not_run)

    def explain(self, fold_index: int, n_clips: int, out_dir: Path) -> list[Path]:
        """Train the (single) method on one fold and save its explanations of a few test clips."""
        if len(self.method_classes) != 1:
            raise ConfigError("explain takes exactly one method")
        name, cls = next(iter(self.method_classes.items()))
        if not cls.explains:
            raise ConfigError(f"method {name} has no explanations to show (it defines no explain())")
        hub = self._hub()
        with hub:
            prepper = self._prep(hub)
            prep = prepper.run({})
            if not 0 <= fold_index < len(prep.folds):
                raise ConfigError(f"--fold must be in 1..{len(prep.folds)}")
            fold = prep.folds[fold_index]
            ctx = self.context(cls, self.seeds(cls)[0], hub)
            method = cls(ctx, profile=self.profile(cls), **self.method_params[name])
            method.fit(batch(prepper.train_clips(cls, prep.clips, fold.train), cls.roi_scheme, self.protocol, labels=True))
            test = batch([prep.clips[i] for i in fold.test], cls.roi_scheme, self.protocol, labels=True)
            pick = np.linspace(0, len(test) - 1, min(n_clips, len(test))).round().astype(int)
            out_dir.mkdir(parents=True, exist_ok=True)
            return [Path(p) for p in method.explain(test.subset(pick), out_dir)]
