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
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
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

from . import __version__
from .dataset import Problem
from .errors import ConfigError, PrerequisiteMissing
from .evaluate import batch, score_fold, video_reference
from .fsutil import cache_dir, stable_hash
from .method import Method, RunContext
from .plugins import Registry, get_registry
from .prepare import DataOptions, DataPrep, Prepared
from .protocol import Protocol, find_protocol
from .provenance import command_line, display_path, resolve_device, torch_threads, versions  # noqa: F401 - command_line re-exported
from .sampling import round_robin
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


class _Hub:
    """Rich progress shared by extraction and method fits."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )

    def task(self, description: str, total: int) -> Callable[[int], None]:
        tid = self.progress.add_task(escape(description), total=total)
        return lambda n=1: self.progress.advance(tid, n)


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
        self.device = resolve_device(opts.device) if any(c.supervised for c in self.method_classes.values()) else "cpu"
        # One place decides threads: workers x threads <= the CPUs given.
        self.thread_plan = configure_threads(opts.workers, opts.threads)
        for note in self.thread_plan.notes:
            self._say(f"[dim]{escape(note)}[/]")

    def _profile(self, cls: type[Method]) -> str:
        return self.opts.profile if self.opts.profile in (cls.profiles or {}) else "default"

    def _prep(self, hub: _Hub) -> DataPrep:
        o = self.opts
        data = DataOptions(o.dataset, o.data_root, o.train_on, o.train_root, o.name, o.skip_invalid, o.landmarker,
                           self.thread_plan.workers, self.cache_root, o.allow_outside)
        return DataPrep(data, self.protocol, self.method_classes, self.reg, hub.task, self._say)

    def _say(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)

    def seeds(self, cls: type[Method]) -> list[int]:
        base = self.protocol.seed if self.opts.seed is None else self.opts.seed
        return [base + i for i in range(self.opts.seeds)] if cls.supervised else [base]

    # -- run ----------------------------------------------------------------
    def run(self) -> RunSummary:
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        hub = _Hub(self.console)
        # Open the store first: an unusable path fails before any extraction.
        store = Store(self.opts.store_path or default_store_path())
        keys: dict[str, list[str]] = {}
        not_run: dict[str, str] = {}
        try:
            with hub.progress:
                prepper = self._prep(hub)
                prep = prepper.run(timings)
                apply_threads(self.thread_plan.main_threads)  # the pool is closed: training may use them all
                for name, cls in self.method_classes.items():
                    for seed in self.seeds(cls):
                        key, reason = self._run_method(name, cls, seed, prepper, prep, store, hub)
                        keys.setdefault(name, []).append(key)
                        if reason:
                            not_run[name] = reason
                            break
        finally:
            store.close()
        timings["total_s"] = time.perf_counter() - t_start
        return RunSummary(keys, self.opts.dataset, prep.label, self.protocol, prep.skipped, timings, not_run)

    def explain(self, fold_index: int, n_clips: int, out_dir: Path) -> list[Path]:
        """Train the (single) method on one fold and save its explanations of a few test clips."""
        if len(self.method_classes) != 1:
            raise ConfigError("explain takes exactly one method")
        name, cls = next(iter(self.method_classes.items()))
        if not hasattr(cls, "explain"):
            raise ConfigError(f"method {name} has no explanations to show (it defines no explain())")
        hub = _Hub(self.console)
        with hub.progress:
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

    def _context(self, cls: type[Method], seed: int, hub: _Hub) -> RunContext:
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
            "versions_json": json.dumps({**versions(), "thread_plan": self.thread_plan.as_dict()}, sort_keys=True, default=str),
            "skipped_json": json.dumps(sorted([[p.recording_id or "", p.path, p.message] for p in prep.skipped])),
            "n_folds": n_folds,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": o.command,
        }

    def _run_method(self, name: str, cls: type[Method], seed: int, prepper: DataPrep, prep: Prepared, store: Store, hub: _Hub) -> tuple[str, str | None]:
        """One (method, seed) run over every fold; returns its key and, if it could not run, why."""
        o = self.opts
        ctx = self._context(cls, seed, hub)
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
        key = stable_hash(ident, 20)
        store.ensure_run(key, self._run_row(name, profile, params, seed, prep, len(prep.folds)))
        done = store.done_folds(key)
        if done:
            self._say(f"[dim]{name} (seed {seed}): {len(done)}/{len(prep.folds)} folds already in the store, reusing them[/]")
        for fold in prep.folds:
            if fold.index in done:
                continue
            train = batch(prepper.train_clips(cls, prep.clips, fold.train), cls.roi_scheme, self.protocol, labels=True) if cls.supervised else None
            if train is not None and o.train_fraction < 1:
                train = train.subset(spread_subset(train.recording_ids, o.train_fraction, seed + 7919 * fold.index))
            test_rc = [prep.clips[i] for i in fold.test]
            method = cls(ctx, profile=profile, **self._method_params[name])
            n_train = len(train) if train is not None else 0
            self._say(f"[bold]{escape(name)}[/] fold {fold.index + 1}/{len(prep.folds)}" + (f", seed {seed}" if cls.supervised else "")
                      + f": train {len(fold.train)} videos / {n_train} clips, test {len(fold.test)} videos")
            t0 = time.perf_counter()
            if train is not None:
                try:
                    method.fit(train)
                except PrerequisiteMissing as exc:
                    self._say(f"[yellow]{escape(name)}: not run[/]: {escape(exc.message)}")
                    store.update_run(key, notes_json=json.dumps({"not_run": exc.message}), complete=1)
                    return key, exc.message
            t1 = time.perf_counter()
            score = score_fold(method, test_rc, self.protocol, [prep.meta.get(i, {}) for i in fold.test])
            t2 = time.perf_counter()
            notes = {**method.run_notes, **score.notes()}
            # The baseline predicts the training videos' mean reference, read the way test references are.
            train_hr = [video_reference(prep.clips[i], self.protocol) for i in fold.train]
            store.write_fold(key, FoldResult(fold.index, len(fold.train), n_train, train_hr, t1 - t0, t2 - t1, score.units, score.videos, notes))
        per_fold = store.fold_notes(key)
        notes = aggregate_notes(per_fold)
        if prep.warnings:
            notes["dataset_warnings"] = len(prep.warnings)
        store.update_run(key, notes_json=json.dumps(notes, sort_keys=True, default=str),
                         threads=torch_threads() or self.thread_plan.main_threads, complete=1)
        return key, None
