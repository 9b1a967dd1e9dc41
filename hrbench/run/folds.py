"""One (method, seed) run's folds: their data, the fit + predict, and the rows stored.

:class:`hrbench.run.runner.Runner` checks the options and hands this module a
:class:`hrbench.run.plan.RunPlan` (never itself: the stages only go down).
:class:`FoldLoop` opens each (method, seed) run in the store (its identity
and record, :mod:`hrbench.run.provenance`), builds each fold's training batch
and test clips, stores each fold's rows and closes the run with its notes.
The two executors dispatch the folds differently and run the same body on
the same clips, so the stored rows are the same:

* ``local`` (:meth:`FoldLoop.run_local`): the folds one after another in
  this process, the seeds of a method after a not-run or failed one untried;
* ``ray`` (:func:`run_remote`): each (method, seed, fold) a task
  (:func:`fit_and_score_job`) whose outcome this process stores -- it stays
  the store's only writer.

A method that raises (a bug, a guard of :mod:`hrbench.run.evaluate`) fails
alone: its run is recorded as failed with the reason (``notes_json``
``{"failed": ...}``, not complete, so the same command retries it from its
first missing fold) and the run's other methods go on.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape

from ..clips.protocol import Fold, Protocol
from ..clips.sampling import RecordingClips
from ..clips.subsets import fold_subset
from ..errors import HrbenchError, PrerequisiteMissing
from ..plugin.clips import Clips
from ..plugin.host import get_registry
from ..plugin.method import Method, RunContext
from ..store.store import FoldResult, Store
from .evaluate import FoldScore, batch, check_predict_matches_pulse, score_fold, video_reference
from .plan import MethodPlan, RunPlan
from .prepare import Prepared
from .progress import Advance, Hub
from .provenance import RunRecord, describe_changes, torch_threads

#: A fold's training clips of a method: (method class, the run's clips, the fold's training ids) -> clips.
TrainClips = Callable[[type[Method], dict[str, RecordingClips], tuple[str, ...]], list[RecordingClips]]

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
    an object: a worker loads it from its own registry and builds it from
    ``params``, the parameters the driver validated.  ``train`` is the
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
    """What a fold task sends back: the fold's rows, or why the method could not run or failed."""

    fold: int
    fit_s: float = 0.0
    score_s: float = 0.0
    score: FoldScore | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    not_run: str | None = None
    failed: str | None = None


def one_line(exc: BaseException) -> str:
    """An exception as one line: a user-facing error's own message, else its type and message."""
    text = str(exc) if isinstance(exc, HrbenchError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


def fit_and_score(method: Method, train: Clips | None, test: list[RecordingClips], protocol: Protocol,
                  meta: list[dict[str, Any]], fold: int) -> FoldOutcome:
    """Fit (if supervised) and score one fold; the one body both executors run.

    A missing prerequisite is a not-run; any other exception of the method
    (or of the output guards) a failure, returned rather than raised so the
    run's other methods go on.  ``HRBENCH_DEBUG=1`` prints its traceback.
    """
    try:
        t0 = time.perf_counter()
        if train is not None:
            method.fit(train)
        t1 = time.perf_counter()
        score = score_fold(method, test, protocol, meta)
        t2 = time.perf_counter()
        notes = {**method.run_notes, **score.notes()}
        check_predict_matches_pulse(method, test, protocol)
    except PrerequisiteMissing as exc:
        return FoldOutcome(fold, not_run=exc.message)
    except Exception as exc:  # noqa: BLE001 - a method's bug must not stop the other methods
        if os.environ.get("HRBENCH_DEBUG"):
            traceback.print_exc()
        return FoldOutcome(fold, failed=one_line(exc))
    return FoldOutcome(fold, t1 - t0, t2 - t1, score, notes)


def fit_and_score_job(job: FoldJob) -> FoldOutcome:
    """Remote task body: load the method by name, then :func:`fit_and_score`."""
    from ..traces.traces import _plugin_registry

    reg = _plugin_registry(job.plugin) if job.plugin else get_registry()
    cls = reg.method(job.method)
    ctx = RunContext(seed=job.seed, clip_len=job.clip_len, cache_dir=job.cache_dir, device=job.device,
                     profile=job.profile, train_fraction=job.train_fraction)
    method = cls(ctx, profile=job.profile, **job.params)
    return fit_and_score(method, job.train, job.test, job.protocol, job.meta, job.fold)


@dataclass
class MethodRun:
    """One (method, seed) run, opened in the store: its key, context and the folds already stored."""

    m: MethodPlan
    seed: int
    ctx: RunContext
    key: str
    done: set[int]

    @property
    def name(self) -> str:
        return self.m.name

    def reused_line(self, n_folds: int) -> str:
        return (f"[dim]{escape(self.name)} (seed {self.seed}): {len(self.done)}/{n_folds} folds already in the store, "
                "reusing them[/]")


@dataclass
class LoopResult:
    """What the fold loop did: each method's run keys (one per seed tried), and which did not run or failed."""

    keys: dict[str, list[str]] = field(default_factory=dict)
    not_run: dict[str, str] = field(default_factory=dict)  # method -> why
    failed: dict[str, str] = field(default_factory=dict)  # method -> "seed S fold F: error"


class FoldLoop:
    """The folds of a run's (method, seed) runs, on prepared data, into the store.

    ``train_clips``: a fold's training clips of a method
    (:meth:`hrbench.run.prepare.DataPrep.train_clips`: longer ones for methods
    that resample time).
    """

    def __init__(self, plan: RunPlan, prep: Prepared, train_clips: TrainClips, store: Store, hub: Hub) -> None:
        self.plan, self.prep, self.train_clips, self.store, self.hub = plan, prep, train_clips, store, hub
        self.protocol = plan.protocol
        skipped = tuple((p.recording_id or "", p.path, p.message) for p in prep.skipped)
        self.record = RunRecord(plan.protocol, prep.train_label, skipped, len(prep.folds), plan.thread_plan,
                                plan.executor, plan.command)
        self._inputs_recorded = False

    def open(self, m: MethodPlan, seed: int) -> MethodRun:
        """Record the (method, seed) run in the store (if new); which of its folds are there already.

        A run whose key is new but which the store holds on other data (the
        same base key: a ground-truth file edited, a frame rate corrected)
        is computed afresh, and one line says what changed.
        """
        prep = self.prep
        ctx = self.plan.context(m, seed, self.hub.console, self.hub.task)
        ident = self.plan.identity(m, seed, prep.fingerprint, prep.label)
        key, row = ident.key, ident.row(self.record)
        if not self._inputs_recorded:
            self.store.record_inputs(prep.fingerprint, prep.inputs)
            self._inputs_recorded = True
        before = self.store.previous_inputs(row["base_key"], key)
        self.store.ensure_run(key, row)
        done = self.store.done_folds(key)
        if before is not None and not done:
            self.hub.info(f"[dim]{escape(m.name)} (seed {seed}): {escape(describe_changes(before, prep.inputs))} "
                          f"since its stored run: computing its {len(prep.folds)} folds afresh[/]")
        return MethodRun(m, seed, ctx, key, done)

    def fold_data(self, run: MethodRun, fold: Fold) -> tuple[Clips | None, list[RecordingClips], list[dict[str, Any]]]:
        """A fold's training batch (supervised methods), test clips and test metadata."""
        cls, prep = run.m.cls, self.prep
        train = None
        if cls.supervised:
            train = batch(self.train_clips(cls, prep.clips, fold.train), cls.roi_scheme, self.protocol, labels=True)
            keep = fold_subset(train.recording_ids, self.plan.train_fraction, run.seed, fold.index)
            if keep is not None:
                train = train.subset(keep)
        return train, [prep.clips[i] for i in fold.test], [prep.meta.get(i, {}) for i in fold.test]

    def fold_line(self, run: MethodRun, fold: Fold, n_train: int, where: str = "") -> None:
        self.hub.info(f"[bold]{escape(run.name)}[/] fold {fold.index + 1}/{len(self.prep.folds)}"
                      + (f", seed {run.seed}" if run.m.supervised else "")
                      + f": train {len(fold.train)} videos / {n_train} clips, test {len(fold.test)} videos{where}")

    def store_fold(self, run: MethodRun, fold: Fold, n_train: int, out: FoldOutcome) -> None:
        assert out.score is not None
        # The baseline predicts the training videos' mean reference, read the way test references are.
        train_hr = [video_reference(self.prep.clips[i], self.protocol) for i in fold.train]
        self.store.write_fold(run.key, FoldResult(fold.index, len(fold.train), n_train, train_hr, out.fit_s,
                                                  out.score_s, out.score.units, out.score.videos, out.notes))

    def stopped(self, run: MethodRun, fold: Fold, out: FoldOutcome, result: LoopResult) -> bool:
        """Record a fold's not-run or failure (True), or nothing when the fold has rows (False)."""
        if out.not_run is not None:
            if run.name not in result.not_run:
                self.hub.message(f"[yellow]{escape(run.name)}: not run[/]: {escape(out.not_run)}")
            result.not_run[run.name] = out.not_run
            self.store.update_run(run.key, notes_json=json.dumps({"not_run": out.not_run}), complete=1)
            return True
        if out.failed is not None:
            where = (f"seed {run.seed} " if run.m.supervised else "") + f"fold {fold.index + 1}"
            self.hub.message(f"[red]{escape(run.name)}: failed[/] in {where}: {escape(out.failed)}")
            result.failed.setdefault(run.name, f"{where}: {out.failed}")
            # Not complete: the same command retries the run from its first missing fold.
            self.store.update_run(run.key, notes_json=json.dumps({"failed": f"{where}: {out.failed}"}), complete=0)
            return True
        return False

    def finish(self, run: MethodRun) -> None:
        notes = aggregate_notes(self.store.fold_notes(run.key))
        if self.prep.warnings:
            notes["dataset_warnings"] = len(self.prep.warnings)
        self.store.update_run(run.key, notes_json=json.dumps(notes, sort_keys=True, default=str),
                              threads=torch_threads() or self.plan.main_threads, complete=1)

    # -- the local executor: the folds one after another, in this process ---------------
    def run_method(self, m: MethodPlan, seed: int, advance: Advance, result: LoopResult) -> bool:
        """One (method, seed) run over every fold; False when it stopped (not run, or failed).

        ``advance(n)`` is told of each fold done (stored before, computed now, or given up on).
        """
        run = self.open(m, seed)
        result.keys.setdefault(m.name, []).append(run.key)
        folds = self.prep.folds
        if run.done:
            self.hub.info(run.reused_line(len(folds)))
            advance(len(run.done))
        for k, fold in enumerate(folds):
            if fold.index in run.done:
                continue
            train, test_rc, meta = self.fold_data(run, fold)
            n_train = len(train) if train is not None else 0
            self.fold_line(run, fold, n_train)
            out = fit_and_score(m.build(run.ctx), train, test_rc, self.protocol, meta, fold.index)
            if self.stopped(run, fold, out, result):
                advance(sum(1 for f in folds[k:] if f.index not in run.done))
                return False
            self.store_fold(run, fold, n_train, out)
            advance(1)
        self.finish(run)
        return True

    def run_local(self) -> LoopResult:
        """Every (method, seed) run in turn; a method not run, or failed, is not tried with its later seeds."""
        total = sum(len(m.seeds) for m in self.plan.methods) * len(self.prep.folds)
        counted = [0]
        fold_task = self.hub.task("fit + predict (folds)", total)

        def advance(n: int = 1) -> None:
            counted[0] += n
            fold_task(n)

        result = LoopResult()
        for m in self.plan.methods:
            for seed in m.seeds:
                if not self.run_method(m, seed, advance, result):
                    break
        if counted[0] < total:  # folds of seeds not tried after a not-run or a failure
            fold_task(total - counted[0])
        return result


# -- the Ray executor: one task per (method, seed, fold) --------------------------------


@dataclass
class RemoteFold:
    """A queued fold task and what storing its outcome needs."""

    job: FoldJob
    run: MethodRun
    fold: Fold
    n_train: int


def remote_jobs(loop: FoldLoop, result: LoopResult) -> tuple[list[RemoteFold], dict[str, set[int]]]:
    """Open every (method, seed) run; the task of each missing fold and, per run key, the folds to come."""
    plan, folds = loop.plan, loop.prep.folds
    jobs: list[RemoteFold] = []
    todo: dict[str, set[int]] = {}  # run key -> folds still to come
    for m in plan.methods:
        for seed in m.seeds:
            run = loop.open(m, seed)
            result.keys.setdefault(m.name, []).append(run.key)
            if run.done:
                loop.hub.info(run.reused_line(len(folds)))
            todo[run.key] = {f.index for f in folds} - run.done
            if not todo[run.key]:
                loop.finish(run)
            for fold in folds:
                if fold.index in run.done:
                    continue
                train, test_rc, meta = loop.fold_data(run, fold)
                n_train = len(train) if train is not None else 0
                loop.fold_line(run, fold, n_train, " (queued)")
                # Ray gives a GPU task its own device (CUDA_VISIBLE_DEVICES): "cuda:N" is "cuda" there.
                device = "cuda" if run.ctx.device.startswith("cuda") else run.ctx.device
                job = FoldJob(m.name, m.plugin, dict(m.params), m.profile, seed, fold.index, loop.protocol, train,
                              test_rc, meta, loop.protocol.clips.length, plan.cache_root, device, plan.train_fraction)
                jobs.append(RemoteFold(job, run, fold, n_train))
    return jobs, todo


def run_remote(loop: FoldLoop, executor: Any) -> LoopResult:
    """Every missing fold of every (method, seed) as a task; rows are stored as tasks finish.

    Differences from the local loop, by design: all seeds' folds are
    submitted at once, so a method whose prerequisite is missing is
    reported not-run for every seed (locally the seeds after the first
    are not tried), and a method that fails is tried with every seed; and
    each run is marked complete when its last fold arrives, in whatever
    order the cluster finishes them.  Task needs: ``--threads`` CPUs
    (default 1) and, for supervised methods on a CUDA device, one GPU.
    """
    result = LoopResult()
    jobs, todo = remote_jobs(loop, result)
    if not jobs:
        return result
    advance = loop.hub.task("fit + predict (folds)", len(jobs))
    threads = loop.plan.threads or 1
    for supervised in (False, True):
        part = [j for j in jobs if j.run.m.supervised == supervised]
        if not part:
            continue
        gpus = 1 if supervised and any(j.run.m.device.startswith("cuda") for j in part) else 0
        for i, out, err in executor.imap(fit_and_score_job, [(j.job,) for j in part],
                                         num_cpus=threads, num_gpus=gpus, threads=threads):
            advance(1)
            store_remote(loop, part[i], out, err, todo, result)
    return result


def store_remote(loop: FoldLoop, rf: RemoteFold, out: FoldOutcome | None, err: BaseException | None,
                 todo: dict[str, set[int]], result: LoopResult) -> None:
    """Store one task's outcome: its rows, or its run's not-run or failure (a task that raised is a failure)."""
    run = rf.run
    if rf.fold.index not in todo.get(run.key, set()):
        return  # the run already stopped (not run, or failed in another fold)
    if err is not None:
        out = FoldOutcome(rf.fold.index, failed=f"on Ray: {one_line(err)}")
    assert out is not None
    if loop.stopped(run, rf.fold, out, result):
        todo[run.key] = set()
        return
    loop.store_fold(run, rf.fold, rf.n_train, out)
    todo[run.key].discard(rf.fold.index)
    if not todo[run.key]:
        loop.finish(run)
