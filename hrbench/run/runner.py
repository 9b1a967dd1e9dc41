"""The runner: prepared clips -> fit/predict per fold and seed -> store.

Four modules share the work: :mod:`hrbench.run.prepare` (scan, traces, clips,
folds), :mod:`hrbench.run.folds` (each (method, seed) run's folds and the rows
stored, with what the run records from :mod:`hrbench.run.provenance`),
:mod:`hrbench.run.evaluate` (one fold's predictions under the protocol's
evaluation rule) and this one, which checks the options and turns them into
the run's plan (:class:`hrbench.run.plan.RunPlan`: each method's validated
parameters, seeds and device), the only thing of the runner the fold loop
sees.  Nothing here knows a particular method or dataset:
both come from the plugin registry by name.  The order of work is chosen so
that an interrupted run loses nothing already computed: traces are cached
per recording as soon as each is extracted, and predictions are stored per
fold.

Supervised methods run once per training seed (``--seeds N``: the seed and
the N - 1 following), each seed its own run in the store; boards show the
mean and spread over seeds.  Unsupervised methods have no seed to vary.
Which training clips a fold keeps under ``--train-fraction`` is
:mod:`hrbench.clips.subsets`' policy.

Executors (``--executor``): ``local`` fits the folds one after another in
this process (which may then use every CPU); ``ray`` sends each (method,
seed, fold) to the cluster as a task (:func:`hrbench.run.folds.fit_and_score_job`)
and stores what comes back -- this process remains the store's only writer.
Both run the same code on the same clips, so the stored rows are the same.

A method that fails (raises, or gives no usable prediction) is recorded as
failed and the run's other methods go on; :attr:`RunSummary.failed` names
it with its error, and the command line exits non-zero.
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

from ..clips.protocol import Protocol, find_protocol
from ..data.dataset import Problem
from ..errors import ConfigError
from ..fsutil import cache_dir
from ..plugin.host import Registry, get_registry, get_scheme
from ..plugin.method import Method, RunContext
from ..store.store import Store, default_store_path
from .evaluate import batch
from .folds import FoldLoop, LoopResult, run_remote
from .plan import MethodPlan, RunPlan
from .prepare import DataOptions, DataPrep
from .progress import NATIVE_LOGS_ENV, Hub
from .provenance import resolve_device
from .threads import ThreadPlan, apply_threads, configure_threads

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
    several do it is ambiguous and when none does it is a typo -- both are
    errors naming the parameter, never a silent change of every method or
    none.
    """
    out: dict[str, dict[str, str]] = {m: {} for m in classes}
    for key, value in params.items():
        if "." in key:
            method, _, pname = key.partition(".")
            if method not in classes:
                raise ConfigError(f"--param {key}: {method!r} is not a selected method ({', '.join(classes)})")
            if pname not in classes[method].params:
                raise ConfigError(f"--param {key}: method {method} has no parameter {pname!r}; "
                                  f"known: {sorted(classes[method].params)}")
            out[method][pname] = value
            continue
        owners = [m for m, cls in classes.items() if key in cls.params]
        if not owners:
            known = sorted({f"{m}.{p}" for m, c in classes.items() for p in c.params})
            raise ConfigError(f"--param {key}: no selected method has this parameter; "
                              f"known: {', '.join(known) or 'none'}")
        if len(owners) > 1:
            raise ConfigError(f"--param {key} is ambiguous: {', '.join(owners)} all have it; "
                              f"write e.g. {owners[0]}.{key}={value}")
        out[owners[0]][key] = value
    return out


@dataclass
class RunSummary:
    run_keys: dict[str, list[str]]  # method -> its runs (one per seed tried)
    dataset: str
    label: str
    protocol: Protocol
    skipped: list[Problem]
    timings: dict[str, float]
    not_run: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # method -> "fold F: its error" (the run went on)


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


def run_device(opts: RunOptions, supervised: bool) -> str:
    """The device of the run's supervised methods (unsupervised ones run on the CPU)."""
    if not supervised:
        return "cpu"
    if opts.executor == "ray" and opts.device and opts.device.startswith("cuda"):
        return opts.device  # the GPUs are the cluster's, not necessarily this machine's: tasks ask Ray for one
    return resolve_device(opts.device)


def validated_params(opts: RunOptions, classes: dict[str, type[Method]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each selected method's profile and effective parameters, validated now: a typo fails before any work.

    The one instance built here runs the method's own checks and gives its
    effective parameters (``get_params()``); every fold then builds its
    instance from them (:meth:`hrbench.run.plan.MethodPlan.build`).
    """
    scoped = scoped_params(opts.params, classes)
    out = {}
    for name, cls in classes.items():
        profile = opts.profile if opts.profile in (cls.profiles or {}) else "default"
        out[name] = profile, cls(RunContext(), profile=profile, **scoped[name]).get_params()
    if opts.profile != "default" and not any(opts.profile in (c.profiles or {}) for c in classes.values()):
        raise ConfigError(f"no selected method has a profile named {opts.profile!r}")
    return out


def method_plan(name: str, cls: type[Method], profile: str, params: dict[str, Any], opts: RunOptions,
                protocol: Protocol, device: str, plugin: str | None) -> MethodPlan:
    """A validated method's plan: its seeds (one unless supervised), its device, its scheme as the key records it."""
    base = protocol.seed if opts.seed is None else opts.seed
    seeds = tuple(base + i for i in range(opts.seeds)) if cls.supervised else (base,)
    scheme = f"{cls.roi_scheme}@{get_scheme(cls.roi_scheme).version}" if cls.roi_scheme else ""
    return MethodPlan(name, cls, profile, params, seeds, device if cls.supervised else "cpu", plugin, scheme)


class Runner:
    """The run: options checked and planned, data prepared, then every (method, seed) run's folds."""

    def __init__(self, opts: RunOptions, registry: Registry | None = None, console: Console | None = None) -> None:
        self.opts = opts
        self.reg = registry or get_registry()
        self.console = console or Console(stderr=True)
        self.cache_root = opts.cache_root or cache_dir()
        self.protocol = find_protocol(opts.protocol, self.reg.protocol_dirs)
        if not opts.methods:
            raise ConfigError("no method given (--method)")
        classes = {m: self.reg.method(m) for m in opts.methods}
        # Validate options, parameters and the device before any expensive work: a typo fails now.
        check_options(opts, self.protocol)
        params = validated_params(opts, classes)
        check_executor(opts)
        device = run_device(opts, any(c.supervised for c in classes.values()))
        methods = tuple(method_plan(name, cls, *params[name], opts, self.protocol, device,
                                    self.reg.owner.get(("methods", name))) for name, cls in classes.items())
        if opts.verbosity == "verbose":
            os.environ[NATIVE_LOGS_ENV] = "1"  # workers inherit it
        # One place decides threads: workers x threads <= the CPUs given.
        self.thread_plan: ThreadPlan = configure_threads(opts.workers, opts.threads)
        for note in self.thread_plan.notes:
            self.say(f"[dim]{escape(note)}[/]")
        self.plan = RunPlan(self.protocol, methods, opts.dataset, opts.train_on or "", opts.train_fraction,
                            self.cache_root, opts.executor, opts.command, opts.threads, self.thread_plan.main_threads,
                            self.thread_plan.as_dict())

    def _prep(self, hub: Hub, executor: Any = None) -> DataPrep:
        o = self.opts
        data = DataOptions(o.dataset, o.data_root, o.train_on, o.train_root, o.name, o.skip_invalid, o.landmarker,
                           self.thread_plan.workers, self.cache_root, o.allow_outside)
        classes = {m.name: m.cls for m in self.plan.methods}
        return DataPrep(data, self.protocol, classes, self.reg, hub.task, self.say, executor=executor)

    def _hub(self) -> Hub:
        v = self.opts.verbosity
        return Hub(self.console, v if v in ("quiet", "verbose") else "normal")  # type: ignore[arg-type]

    def say(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)

    # -- run ----------------------------------------------------------------
    def run(self) -> RunSummary:
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        hub = self._hub()
        # Open the store first: an unusable path fails before any extraction.
        store = Store(self.opts.store_path or default_store_path())
        executor = None
        try:
            if self.opts.executor == "ray":
                from .ray_executor import RayExecutor

                executor = RayExecutor(self.opts.ray_address)
                hub.info(f"[dim]{escape(executor.describe())}[/]")
            with hub:
                prepper = self._prep(hub, executor)
                prep = prepper.run(timings)
                t_fit = time.perf_counter()
                loop = FoldLoop(self.plan, prep, prepper.train_clips, store, hub)
                if executor is not None:
                    result: LoopResult = run_remote(loop, executor)
                else:
                    apply_threads(self.thread_plan.main_threads)  # the pool is closed: training may use them all
                    result = loop.run_local()
                timings["fit_predict_s"] = time.perf_counter() - t_fit
        finally:
            store.close()
            if executor is not None:
                executor.shutdown()
        timings["total_s"] = time.perf_counter() - t_start
        return RunSummary(result.keys, self.opts.dataset, prep.label, self.protocol, prep.skipped, timings,
                          result.not_run, result.failed)

    def explain(self, fold_index: int, n_clips: int, out_dir: Path) -> list[Path]:
        """Train the (single) method on one fold and save its explanations of a few test clips."""
        if len(self.plan.methods) != 1:
            raise ConfigError("explain takes exactly one method")
        m = self.plan.methods[0]
        name, cls = m.name, m.cls
        if not cls.explains:
            raise ConfigError(f"method {name} has no explanations to show (it defines no explain())")
        hub = self._hub()
        with hub:
            prepper = self._prep(hub)
            prep = prepper.run({})
            if not 0 <= fold_index < len(prep.folds):
                raise ConfigError(f"--fold must be in 1..{len(prep.folds)}")
            fold = prep.folds[fold_index]
            method = m.build(self.plan.context(m, m.seeds[0], self.console, hub.task))
            method.fit(batch(prepper.train_clips(cls, prep.clips, fold.train), cls.roi_scheme, self.protocol,
                             labels=True))
            test = batch([prep.clips[i] for i in fold.test], cls.roi_scheme, self.protocol, labels=True)
            pick = np.linspace(0, len(test) - 1, min(n_clips, len(test))).round().astype(int)
            out_dir.mkdir(parents=True, exist_ok=True)
            return [Path(p) for p in method.explain(test.subset(pick), out_dir)]
