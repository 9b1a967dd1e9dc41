"""One (method, seed) run's folds: their data, the fit + predict, and the rows stored.

:class:`hrbench.runner.Runner` owns the options and the loop over methods
and seeds; this module does the work of each (method, seed) run.
:class:`FoldLoop` opens a run in the store (its key and record,
:mod:`hrbench.provenance`), builds each fold's training batch and test
clips, stores each fold's rows and closes the run with its notes.  The two
executors dispatch the folds differently and run the same body on the same
clips, so the stored rows are the same:

* ``local`` (:meth:`FoldLoop.run_local`): the folds one after another in
  this process, the seeds of a method after a not-run untried;
* ``ray`` (:func:`run_remote`): each (method, seed, fold) a task
  (:func:`fit_and_score_job`) whose outcome this process stores -- it stays
  the store's only writer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from .clips import Clips
from .errors import HrbenchError, PrerequisiteMissing
from .evaluate import FoldScore, batch, score_fold, video_reference
from .method import Method, RunContext
from .plugins import get_registry
from .prepare import DataPrep, Prepared
from .progress import Advance, Hub
from .protocol import Fold, Protocol
from .provenance import describe_changes, run_key, run_row, torch_threads
from .sampling import RecordingClips
from .store import FoldResult, Store
from .subsets import fold_subset

if TYPE_CHECKING:
    from .runner import Runner

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


@dataclass
class MethodRun:
    """One (method, seed) run, opened in the store: its key, context and the folds already stored."""

    name: str
    cls: type[Method]
    seed: int
    ctx: RunContext
    key: str
    profile: str
    done: set[int]

    def reused_line(self, n_folds: int) -> str:
        return f"[dim]{self.name} (seed {self.seed}): {len(self.done)}/{n_folds} folds already in the store, reusing them[/]"


class FoldLoop:
    """The folds of a run's (method, seed) runs, on prepared data, into the store."""

    def __init__(self, runner: Runner, prepper: DataPrep, prep: Prepared, store: Store, hub: Hub) -> None:
        self.r, self.prepper, self.prep, self.store, self.hub = runner, prepper, prep, store, hub
        self.protocol = runner.protocol
        self._inputs_recorded = False

    def open(self, name: str, cls: type[Method], seed: int) -> MethodRun:
        """Record the (method, seed) run in the store (if new); which of its folds are there already.

        A run whose key is new but which the store holds on other data (the
        same base key: a ground-truth file edited, a frame rate corrected)
        is computed afresh, and one line says what changed.
        """
        r, prep = self.r, self.prep
        ctx = r.context(cls, seed, self.hub)
        profile = r.profile(cls)
        params = cls(ctx, profile=profile, **r.method_params[name]).get_params()
        key = run_key(r.opts, name, profile, params, seed, self.protocol, prep, cls.roi_scheme)
        row = run_row(r.opts, name, profile, params, seed, self.protocol, prep, r.thread_plan, cls.roi_scheme)
        if not self._inputs_recorded:
            self.store.record_inputs(prep.fingerprint, prep.inputs)
            self._inputs_recorded = True
        before = self.store.previous_inputs(row["base_key"], key)
        self.store.ensure_run(key, row)
        done = self.store.done_folds(key)
        if before is not None and not done:
            self.r.info(f"[dim]{escape(name)} (seed {seed}): {escape(describe_changes(before, prep.inputs))} since its "
                        f"stored run: computing its {len(prep.folds)} folds afresh[/]")
        return MethodRun(name, cls, seed, ctx, key, profile, done)

    def method(self, run: MethodRun) -> Method:
        return run.cls(run.ctx, profile=run.profile, **self.r.method_params[run.name])

    def fold_data(self, run: MethodRun, fold: Fold) -> tuple[Clips | None, list[RecordingClips], list[dict[str, Any]]]:
        """A fold's training batch (supervised methods), test clips and test metadata."""
        cls, prep = run.cls, self.prep
        train = batch(self.prepper.train_clips(cls, prep.clips, fold.train), cls.roi_scheme, self.protocol, labels=True) if cls.supervised else None
        if train is not None:
            keep = fold_subset(train.recording_ids, self.r.opts.train_fraction, run.seed, fold.index)
            if keep is not None:
                train = train.subset(keep)
        return train, [prep.clips[i] for i in fold.test], [prep.meta.get(i, {}) for i in fold.test]

    def fold_line(self, run: MethodRun, fold: Fold, n_train: int, where: str = "") -> None:
        self.r.info(f"[bold]{escape(run.name)}[/] fold {fold.index + 1}/{len(self.prep.folds)}"
                    + (f", seed {run.seed}" if run.cls.supervised else "")
                    + f": train {len(fold.train)} videos / {n_train} clips, test {len(fold.test)} videos{where}")

    def store_fold(self, run: MethodRun, fold: Fold, n_train: int, out: FoldOutcome) -> None:
        assert out.score is not None
        # The baseline predicts the training videos' mean reference, read the way test references are.
        train_hr = [video_reference(self.prep.clips[i], self.protocol) for i in fold.train]
        self.store.write_fold(run.key, FoldResult(fold.index, len(fold.train), n_train, train_hr, out.fit_s, out.score_s,
                                                  out.score.units, out.score.videos, out.notes))

    def not_run(self, run: MethodRun, reason: str) -> None:
        self.store.update_run(run.key, notes_json=json.dumps({"not_run": reason}), complete=1)

    def finish(self, run: MethodRun) -> None:
        notes = aggregate_notes(self.store.fold_notes(run.key))
        if self.prep.warnings:
            notes["dataset_warnings"] = len(self.prep.warnings)
        self.store.update_run(run.key, notes_json=json.dumps(notes, sort_keys=True, default=str),
                              threads=torch_threads() or self.r.thread_plan.main_threads, complete=1)

    # -- the local executor: the folds one after another, in this process ---------------
    def run_method(self, name: str, cls: type[Method], seed: int, advance: Advance) -> tuple[str, str | None]:
        """One (method, seed) run over every fold; returns its key and, if it could not run, why.

        ``advance(n)`` is told of each fold done (stored before, computed now, or given up on).
        """
        run = self.open(name, cls, seed)
        folds = self.prep.folds
        if run.done:
            self.r.info(run.reused_line(len(folds)))
            advance(len(run.done))
        for k, fold in enumerate(folds):
            if fold.index in run.done:
                continue
            train, test_rc, meta = self.fold_data(run, fold)
            method = self.method(run)
            n_train = len(train) if train is not None else 0
            self.fold_line(run, fold, n_train)
            out = fit_and_score(method, train, test_rc, self.protocol, meta, fold.index)
            if out.not_run is not None:
                self.r.say(f"[yellow]{escape(name)}: not run[/]: {escape(out.not_run)}")
                self.not_run(run, out.not_run)
                advance(sum(1 for f in folds[k:] if f.index not in run.done))
                return run.key, out.not_run
            self.store_fold(run, fold, n_train, out)
            advance(1)
        self.finish(run)
        return run.key, None

    def run_local(self, keys: dict[str, list[str]], not_run: dict[str, str]) -> None:
        """Every (method, seed) run in turn; a method not run is not tried with its later seeds."""
        r = self.r
        total = sum(len(r.seeds(c)) for c in r.method_classes.values()) * len(self.prep.folds)
        counted = [0]
        fold_task = self.hub.task("fit + predict (folds)", total)

        def advance(n: int = 1) -> None:
            counted[0] += n
            fold_task(n)

        for name, cls in r.method_classes.items():
            for seed in r.seeds(cls):
                key, reason = self.run_method(name, cls, seed, advance)
                keys.setdefault(name, []).append(key)
                if reason:
                    not_run[name] = reason
                    break
        if counted[0] < total:  # folds of seeds not tried after a not-run
            fold_task(total - counted[0])


# -- the Ray executor: one task per (method, seed, fold) --------------------------------


def remote_jobs(loop: FoldLoop, keys: dict[str, list[str]]) -> tuple[list[tuple[FoldJob, dict[str, Any]]], dict[str, set[int]]]:
    """Open every (method, seed) run; the task of each missing fold and, per run key, the folds to come."""
    r = loop.r
    jobs: list[tuple[FoldJob, dict[str, Any]]] = []
    todo: dict[str, set[int]] = {}  # run key -> folds still to come
    for name, cls in r.method_classes.items():
        plugin = r.reg.owner.get(("methods", name))
        for seed in r.seeds(cls):
            run = loop.open(name, cls, seed)
            keys.setdefault(name, []).append(run.key)
            if run.done:
                r.info(run.reused_line(len(loop.prep.folds)))
            todo[run.key] = {f.index for f in loop.prep.folds} - run.done
            if not todo[run.key]:
                loop.finish(run)
            for fold in loop.prep.folds:
                if fold.index in run.done:
                    continue
                train, test_rc, meta = loop.fold_data(run, fold)
                n_train = len(train) if train is not None else 0
                loop.fold_line(run, fold, n_train, " (queued)")
                # Ray gives a GPU task its own device (CUDA_VISIBLE_DEVICES): "cuda:N" is "cuda" there.
                device = "cuda" if run.ctx.device.startswith("cuda") else run.ctx.device
                job = FoldJob(name, plugin, dict(r.method_params[name]), run.profile, seed, fold.index, loop.protocol,
                              train, test_rc, meta, loop.protocol.clips.length, r.cache_root, device, r.opts.train_fraction)
                jobs.append((job, {"run": run, "fold": fold, "n_train": n_train}))
    return jobs, todo


def run_remote(loop: FoldLoop, executor: Any, keys: dict[str, list[str]], not_run: dict[str, str]) -> None:
    """Every missing fold of every (method, seed) as a task; rows are stored as tasks finish.

    Differences from the local loop, by design: all seeds' folds are
    submitted at once, so a method whose prerequisite is missing is
    reported not-run for every seed (locally the seeds after the first
    are not tried); and each run is marked complete when its last fold
    arrives, in whatever order the cluster finishes them.  Task needs:
    ``--threads`` CPUs (default 1) and, for supervised methods on a CUDA
    device, one GPU.
    """
    r = loop.r
    jobs, todo = remote_jobs(loop, keys)
    if not jobs:
        return
    advance = loop.hub.task("fit + predict (folds)", len(jobs))
    threads = r.opts.threads or 1
    for supervised in (False, True):
        idx = [i for i, (_, b) in enumerate(jobs) if b["run"].cls.supervised == supervised]
        if not idx:
            continue
        gpus = 1 if supervised and r.device.startswith("cuda") else 0
        for j, out, err in executor.imap(fit_and_score_job, [(jobs[i][0],) for i in idx],
                                         num_cpus=threads, num_gpus=gpus, threads=threads):
            b = jobs[idx[j]][1]
            run: MethodRun = b["run"]
            advance(1)
            if err is not None:
                if isinstance(err, HrbenchError):
                    raise err
                raise HrbenchError(f"{run.name} fold {b['fold'].index + 1} failed on Ray: {type(err).__name__}: {err}") from err
            if out.not_run is not None:
                if run.name not in not_run:
                    r.say(f"[yellow]{escape(run.name)}: not run[/]: {escape(out.not_run)}")
                not_run[run.name] = out.not_run
                loop.not_run(run, out.not_run)
                todo[run.key] = set()
                continue
            if b["fold"].index not in todo.get(run.key, set()):
                continue  # the run was already marked not-run
            loop.store_fold(run, b["fold"], b["n_train"], out)
            todo[run.key].discard(b["fold"].index)
            if not todo[run.key]:
                loop.finish(run)
