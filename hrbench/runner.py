"""The runner: prepared clips -> fit/predict per fold and seed -> store.

Three modules share the work: :mod:`hrbench.prepare` (scan, traces, clips,
folds), :mod:`hrbench.evaluate` (one fold's predictions under the protocol's
evaluation rule) and this one, which owns the fold/seed loop and what each
run records (:mod:`hrbench.provenance`).  Nothing here knows a particular
method or dataset: both come from the plugin registry by name.  The order of
work is chosen so that an interrupted run loses nothing already computed:
traces are cached per recording as soon as each is extracted, and
predictions are stored per fold.

Supervised methods run once per training seed (``--seeds N``: the seed and
the N - 1 following), each seed its own run in the store; boards show the
mean and spread over seeds.  Unsupervised methods have no seed to vary.

Executors (``--executor``): ``local`` fits the folds one after another in
this process (which may then use every CPU); ``ray`` sends each (method,
seed, fold) to the cluster as a task (:func:`fit_and_score_job`) and stores
what comes back -- this process remains the store's only writer.  Both run
the same code on the same clips, so the stored rows are the same.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape

from . import __version__
from .clips import Clips
from .dataset import Problem
from .errors import ConfigError, HrbenchError, PrerequisiteMissing
from .evaluate import FoldScore, batch, score_fold, video_reference
from .fsutil import cache_dir, stable_hash
from .method import Method, RunContext
from .plugins import Registry, get_registry
from .prepare import DataOptions, DataPrep, Prepared
from .progress import NATIVE_LOGS_ENV, Advance, Hub
from .protocol import Fold, Protocol, find_protocol
from .provenance import command_line, display_path, resolve_device, torch_threads, versions  # noqa: F401 - command_line re-exported
from .sampling import RecordingClips, round_robin
from .store import FoldResult, Store, default_store_path
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


def spread_subset(recording_ids: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of ``fraction`` of the clips, dealt round-robin over recordings (see :func:`round_robin`)."""
    n = max(1, int(round(len(recording_ids) * fraction)))
    order = round_robin(recording_ids, np.arange(len(recording_ids)), np.random.default_rng([seed, 0xF6]))
    return np.sort(order[:n])


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


#: Note keys that count events; a run's count is the sum over its folds.
COUNT_SUFFIXES = ("_count", "_clips", "_predictions", "_not_converged", "_without_prediction")


def is_count_note(key: str) -> bool:
    """Events counted in a fold (``nan_clips``), not per-fold sizes (``train_clips``)."""
    return not key.startswith("train_") and (key.startswith("n_") or key.endswith(COUNT_SUFFIXES))


def aggregate_notes(per_fold: list[dict[str, Any]]) -> dict[str, Any]:
    """One run's notes from its folds' notes.

    Counts (:data:`COUNT_SUFFIXES`, ``n_*``) are summed; any other value is
    kept once when every fold recorded the same, else listed per fold (so a
    run that trained its checkpoint in fold 1 and reused it after says both).
    """
    keys = sorted({k for n in per_fold for k in n})
    out: dict[str, Any] = {}
    for k in keys:
        vals = [n[k] for n in per_fold if k in n]
        if is_count_note(k) and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
            out[k] = sum(vals)
        elif all(v == vals[0] for v in vals):
            out[k] = vals[0]
        else:
            out[k] = vals
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


@dataclass
class FoldJob:
    """Everything one (method, seed, fold) fit + predict needs, picklable for a remote task.

    The method travels by name (and the plugin that registers it), never as
    an object: a worker loads it from its own registry.  ``train`` is the
    fold's labelled batch (None for unsupervised methods) and ``test`` its
    test recordings' clips, built by the driver exactly as the local path
    builds them.
    """

    method: str
    plugin: str | None
    params: dict[str, Any]
    profile: str
    seed: int
    fold: int
    protocol: Protocol
    train: Clips | None
    test: list[RecordingClips]
    meta: list[dict[str, Any]]
    clip_len: int
    cache_dir: Path
    device: str
    train_fraction: float


@dataclass
class FoldOutcome:
    """What a fold task sends back: the fold's rows, or why the method could not run."""

    fold: int
    fit_s: float = 0.0
    score_s: float = 0.0
    score: FoldScore | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    not_run: str | None = None


def fit_and_score(method: Method, train: Clips | None, test: list[RecordingClips], protocol: Protocol,
                  meta: list[dict[str, Any]], fold: int) -> FoldOutcome:
    """Fit (if supervised) and score one fold; the one body both executors run."""
    t0 = time.perf_counter()
    if train is not None:
        try:
            method.fit(train)
        except PrerequisiteMissing as exc:
            return FoldOutcome(fold, not_run=exc.message)
    t1 = time.perf_counter()
    score = score_fold(method, test, protocol, meta)
    t2 = time.perf_counter()
    return FoldOutcome(fold, t1 - t0, t2 - t1, score, {**method.run_notes, **score.notes()})


def fit_and_score_job(job: FoldJob) -> FoldOutcome:
    """Remote task body: load the method by name, then :func:`fit_and_score`."""
    from .traces import _plugin_registry

    reg = _plugin_registry(job.plugin) if job.plugin else get_registry()
    cls = reg.method(job.method)
    ctx = RunContext(seed=job.seed, clip_len=job.clip_len, cache_dir=job.cache_dir, device=job.device,
                     profile=job.profile, train_fraction=job.train_fraction)
    method = cls(ctx, profile=job.profile, **job.params)
    return fit_and_score(method, job.train, job.test, job.protocol, job.meta, job.fold)


class Runner:
    def __init__(self, opts: RunOptions, registry: Registry | None = None, console: Console | None = None) -> None:
        self.opts = opts
        self.reg = registry or get_registry()
        self.console = console or Console(stderr=True)
        self.cache_root = opts.cache_root or cache_dir()
        self.protocol = find_protocol(opts.protocol, self.reg.protocol_dirs)
        if not opts.methods:
            raise ConfigError("no method given (--method)")
        self.method_classes: dict[str, type[Method]] = {m: self.reg.method(m) for m in opts.methods}
        if not 0 < opts.train_fraction <= 1:
            raise ConfigError(f"--train-fraction must be in (0, 1], got {opts.train_fraction}")
        if opts.seed is not None and not 0 <= opts.seed < 2**31:
            raise ConfigError(f"--seed must be an integer in 0..2147483647, got {opts.seed}")
        if not 1 <= opts.seeds <= 100:
            raise ConfigError(f"--seeds must be in 1..100, got {opts.seeds}")
        if opts.name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", opts.name):
            raise ConfigError(f"--name {opts.name!r}: use 1-64 letters, digits, '_', '-' or '.' (it names board files)")
        if self.protocol.scope == "cross" and not opts.train_on:
            raise ConfigError(f"protocol {self.protocol.name} is cross-database: give --train-on DATASET")
        if self.protocol.scope != "cross" and opts.train_on:
            raise ConfigError(f"--train-on needs a cross-database protocol, not {self.protocol.name}")
        # Validate parameters and the device before any expensive work: a typo fails now.
        self._method_params = scoped_params(opts.params, self.method_classes)
        for name, cls in self.method_classes.items():
            cls(RunContext(), profile=self._profile(cls), **self._method_params[name])
        if opts.profile != "default" and not any(opts.profile in (c.profiles or {}) for c in self.method_classes.values()):
            raise ConfigError(f"no selected method has a profile named {opts.profile!r}")
        if opts.executor not in ("local", "ray"):
            raise ConfigError(f"--executor {opts.executor!r}: use local or ray")
        if opts.ray_address and opts.executor != "ray":
            raise ConfigError("--ray-address needs --executor ray")
        if opts.executor == "ray":
            from .ray_executor import require_ray

            require_ray()  # not installed: one line now, before any work
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
            self._say(f"[dim]{escape(note)}[/]")

    def _profile(self, cls: type[Method]) -> str:
        return self.opts.profile if self.opts.profile in (cls.profiles or {}) else "default"

    def _prep(self, hub: Hub, executor: Any = None) -> DataPrep:
        o = self.opts
        data = DataOptions(o.dataset, o.data_root, o.train_on, o.train_root, o.name, o.skip_invalid, o.landmarker,
                           self.thread_plan.workers, self.cache_root, o.allow_outside)
        return DataPrep(data, self.protocol, self.method_classes, self.reg, hub.task, self._say, executor=executor)

    def _hub(self) -> Hub:
        v = self.opts.verbosity
        return Hub(self.console, v if v in ("quiet", "verbose") else "normal")  # type: ignore[arg-type]

    def _say(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)

    def _info(self, message: str) -> None:
        """A progress-like message (fold started, folds reused): not shown with ``--quiet``."""
        if self.opts.verbosity != "quiet":
            self._say(message)

    def seeds(self, cls: type[Method]) -> list[int]:
        base = self.protocol.seed if self.opts.seed is None else self.opts.seed
        return [base + i for i in range(self.opts.seeds)] if cls.supervised else [base]

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
                self._info(f"[dim]{escape(executor.describe())}[/]")
            with hub:
                prepper = self._prep(hub, executor)
                prep = prepper.run(timings)
                t_fit = time.perf_counter()
                if executor is not None:
                    self._run_remote(executor, prepper, prep, store, hub, keys, not_run)
                else:
                    apply_threads(self.thread_plan.main_threads)  # the pool is closed: training may use them all
                    total = sum(len(self.seeds(c)) for c in self.method_classes.values()) * len(prep.folds)
                    counted = [0]
                    fold_task = hub.task("fit + predict (folds)", total)

                    def advance(n: int = 1) -> None:
                        counted[0] += n
                        fold_task(n)

                    for name, cls in self.method_classes.items():
                        for seed in self.seeds(cls):
                            key, reason = self._run_method(name, cls, seed, prepper, prep, store, hub, advance)
                            keys.setdefault(name, []).append(key)
                            if reason:
                                not_run[name] = reason
                                break
                    if counted[0] < total:  # folds of seeds not tried after a not-run
                        fold_task(total - counted[0])
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
        if not hasattr(cls, "explain"):
            raise ConfigError(f"method {name} has no explanations to show (it defines no explain())")
        hub = self._hub()
        with hub:
            prepper = self._prep(hub)
            prep = prepper.run({})
            if not 0 <= fold_index < len(prep.folds):
                raise ConfigError(f"--fold must be in 1..{len(prep.folds)}")
            fold = prep.folds[fold_index]
            ctx = self._context(cls, self.seeds(cls)[0], hub)
            method = cls(ctx, profile=self._profile(cls), **self._method_params[name])
            method.fit(batch(prepper.train_clips(cls, prep.clips, fold.train), cls.roi_scheme, self.protocol, labels=True))
            test = batch([prep.clips[i] for i in fold.test], cls.roi_scheme, self.protocol, labels=True)
            pick = np.linspace(0, len(test) - 1, min(n_clips, len(test))).round().astype(int)
            out_dir.mkdir(parents=True, exist_ok=True)
            return [Path(p) for p in method.explain(test.subset(pick), out_dir)]

    def _context(self, cls: type[Method], seed: int, hub: Hub) -> RunContext:
        return RunContext(seed=seed, clip_len=self.protocol.clips.length, cache_dir=self.cache_root,
                          device=self.device if cls.supervised else "cpu", profile=self._profile(cls),
                          console=self.console, progress=hub.task, train_fraction=self.opts.train_fraction)

    def _run_row(self, name: str, profile: str, params: dict[str, Any], seed: int, prep: Prepared, n_folds: int) -> dict[str, Any]:
        o = self.opts
        return {
            "method": name,
            "profile": profile,
            "params_json": json.dumps(params, sort_keys=True, default=str),
            "protocol": self.protocol.name,
            "protocol_path": display_path(self.protocol.path),
            "protocol_sha256": self.protocol.sha256,
            "protocol_desc": self.protocol.describe(),
            "dataset": o.dataset,
            "train_dataset": prep.train_label if self.protocol.scope == "cross" else prep.label,
            "dataset_label": prep.label,
            "dataset_fingerprint": prep.fingerprint,
            "seed": seed,
            "train_fraction": o.train_fraction,
            "versions_json": json.dumps({**versions(), "thread_plan": self.thread_plan.as_dict(),
                                         **({"executor": o.executor} if o.executor != "local" else {})}, sort_keys=True, default=str),
            "skipped_json": json.dumps(sorted([[p.recording_id or "", p.path, p.message] for p in prep.skipped])),
            "n_folds": n_folds,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": o.command,
        }

    def _run_key(self, name: str, cls: type[Method], seed: int, prep: Prepared, ctx: RunContext) -> tuple[str, str, dict[str, Any]]:
        """(run key, profile, resolved parameters) of one (method, seed) run."""
        o = self.opts
        profile = self._profile(cls)
        params = cls(ctx, profile=profile, **self._method_params[name]).get_params()
        ident = {
            "method": name,
            "params": params,
            "profile": profile,
            "protocol_sha256": self.protocol.sha256,
            "dataset": o.dataset,
            "train_on": o.train_on or "",
            "fingerprint": prep.fingerprint,
            "seed": seed,
            "train_fraction": o.train_fraction,
            "hrbench": __version__,
        }
        if prep.label != o.dataset:  # a label changes no number, but two labelled copies are two boards
            ident["label"] = prep.label
        return stable_hash(ident, 20), profile, params

    def _fold_data(self, cls: type[Method], seed: int, fold: Fold, prepper: DataPrep,
                   prep: Prepared) -> tuple[Clips | None, list[RecordingClips], list[dict[str, Any]]]:
        """A fold's training batch (supervised methods), test clips and test metadata."""
        o = self.opts
        train = batch(prepper.train_clips(cls, prep.clips, fold.train), cls.roi_scheme, self.protocol, labels=True) if cls.supervised else None
        if train is not None and o.train_fraction < 1:
            train = train.subset(spread_subset(train.recording_ids, o.train_fraction, seed + 7919 * fold.index))
        return train, [prep.clips[i] for i in fold.test], [prep.meta.get(i, {}) for i in fold.test]

    def _fold_line(self, name: str, cls: type[Method], seed: int, fold: Fold, n_folds: int, n_train: int, where: str = "") -> None:
        self._info(f"[bold]{escape(name)}[/] fold {fold.index + 1}/{n_folds}" + (f", seed {seed}" if cls.supervised else "")
                   + f": train {len(fold.train)} videos / {n_train} clips, test {len(fold.test)} videos{where}")

    def _fold_result(self, fold: Fold, n_train: int, prep: Prepared, out: FoldOutcome) -> FoldResult:
        assert out.score is not None
        # The baseline predicts the training videos' mean reference, read the way test references are.
        train_hr = [video_reference(prep.clips[i], self.protocol) for i in fold.train]
        return FoldResult(fold.index, len(fold.train), n_train, train_hr, out.fit_s, out.score_s, out.score.units,
                          out.score.videos, out.notes)

    def _run_method(self, name: str, cls: type[Method], seed: int, prepper: DataPrep, prep: Prepared, store: Store, hub: Hub,
                    advance: Advance | None = None) -> tuple[str, str | None]:
        """One (method, seed) run over every fold; returns its key and, if it could not run, why.

        ``advance(n)`` is told of each fold done (stored before, computed now, or given up on).
        """
        advance = advance or (lambda n=1: None)
        ctx = self._context(cls, seed, hub)
        key, profile, params = self._run_key(name, cls, seed, prep, ctx)
        store.ensure_run(key, self._run_row(name, profile, params, seed, prep, len(prep.folds)))
        done = store.done_folds(key)
        if done:
            self._info(f"[dim]{name} (seed {seed}): {len(done)}/{len(prep.folds)} folds already in the store, reusing them[/]")
            advance(len(done))
        for k, fold in enumerate(prep.folds):
            if fold.index in done:
                continue
            train, test_rc, meta = self._fold_data(cls, seed, fold, prepper, prep)
            method = cls(ctx, profile=profile, **self._method_params[name])
            n_train = len(train) if train is not None else 0
            self._fold_line(name, cls, seed, fold, len(prep.folds), n_train)
            out = fit_and_score(method, train, test_rc, self.protocol, meta, fold.index)
            if out.not_run is not None:
                self._say(f"[yellow]{escape(name)}: not run[/]: {escape(out.not_run)}")
                store.update_run(key, notes_json=json.dumps({"not_run": out.not_run}), complete=1)
                advance(sum(1 for f in prep.folds[k:] if f.index not in done))
                return key, out.not_run
            store.write_fold(key, self._fold_result(fold, n_train, prep, out))
            advance(1)
        self._finish_run(key, prep, store)
        return key, None

    def _finish_run(self, key: str, prep: Prepared, store: Store) -> None:
        per_fold = store.fold_notes(key)
        notes = aggregate_notes(per_fold)
        if prep.warnings:
            notes["dataset_warnings"] = len(prep.warnings)
        store.update_run(key, notes_json=json.dumps(notes, sort_keys=True, default=str),
                         threads=torch_threads() or self.thread_plan.main_threads, complete=1)

    # -- the Ray executor: one task per (method, seed, fold) ----------------------------
    def _run_remote(self, executor: Any, prepper: DataPrep, prep: Prepared, store: Store, hub: Hub,
                    keys: dict[str, list[str]], not_run: dict[str, str]) -> None:
        """Every missing fold of every (method, seed) as a task; rows are stored as tasks finish.

        Differences from the local loop, by design: all seeds' folds are
        submitted at once, so a method whose prerequisite is missing is
        reported not-run for every seed (locally the seeds after the first
        are not tried); and each run is marked complete when its last fold
        arrives, in whatever order the cluster finishes them.  Task needs:
        ``--threads`` CPUs (default 1) and, for supervised methods on a CUDA
        device, one GPU.
        """
        jobs: list[tuple[FoldJob, dict[str, Any]]] = []
        todo: dict[str, set[int]] = {}  # run key -> folds still to come
        for name, cls in self.method_classes.items():
            plugin = self.reg.owner.get(("methods", name))
            for seed in self.seeds(cls):
                ctx = self._context(cls, seed, hub)
                key, profile, params = self._run_key(name, cls, seed, prep, ctx)
                keys.setdefault(name, []).append(key)
                store.ensure_run(key, self._run_row(name, profile, params, seed, prep, len(prep.folds)))
                done = store.done_folds(key)
                if done:
                    self._info(f"[dim]{name} (seed {seed}): {len(done)}/{len(prep.folds)} folds already in the store, reusing them[/]")
                todo[key] = {f.index for f in prep.folds} - done
                if not todo[key]:
                    self._finish_run(key, prep, store)
                for fold in prep.folds:
                    if fold.index in done:
                        continue
                    train, test_rc, meta = self._fold_data(cls, seed, fold, prepper, prep)
                    n_train = len(train) if train is not None else 0
                    self._fold_line(name, cls, seed, fold, len(prep.folds), n_train, " (queued)")
                    # Ray gives a GPU task its own device (CUDA_VISIBLE_DEVICES): "cuda:N" is "cuda" there.
                    device = "cuda" if ctx.device.startswith("cuda") else ctx.device
                    job = FoldJob(name, plugin, dict(self._method_params[name]), profile, seed, fold.index, self.protocol,
                                  train, test_rc, meta, self.protocol.clips.length, self.cache_root, device,
                                  self.opts.train_fraction)
                    jobs.append((job, {"name": name, "fold": fold, "key": key, "n_train": n_train,
                                       "supervised": cls.supervised}))
        if not jobs:
            return
        advance = hub.task("fit + predict (folds)", len(jobs))
        threads = self.opts.threads or 1
        for supervised in (False, True):
            idx = [i for i, (_, b) in enumerate(jobs) if b["supervised"] == supervised]
            if not idx:
                continue
            gpus = 1 if supervised and self.device.startswith("cuda") else 0
            for j, out, err in executor.imap(fit_and_score_job, [(jobs[i][0],) for i in idx],
                                             num_cpus=threads, num_gpus=gpus, threads=threads):
                b = jobs[idx[j]][1]
                advance(1)
                if err is not None:
                    if isinstance(err, HrbenchError):
                        raise err
                    raise HrbenchError(f"{b['name']} fold {b['fold'].index + 1} failed on Ray: {type(err).__name__}: {err}") from err
                key = b["key"]
                if out.not_run is not None:
                    if b["name"] not in not_run:
                        self._say(f"[yellow]{escape(b['name'])}: not run[/]: {escape(out.not_run)}")
                    not_run[b["name"]] = out.not_run
                    store.update_run(key, notes_json=json.dumps({"not_run": out.not_run}), complete=1)
                    todo[key] = set()
                    continue
                if b["fold"].index not in todo.get(key, set()):
                    continue  # the run was already marked not-run
                store.write_fold(key, self._fold_result(b["fold"], b["n_train"], prep, out))
                todo[key].discard(b["fold"].index)
                if not todo[key]:
                    self._finish_run(key, prep, store)
