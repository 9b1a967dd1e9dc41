"""Everything before a method runs: scan -> ROI traces (cached) -> clips -> folds.

Nothing here knows a particular method or dataset: both come from the
plugin registry by name, and the methods only matter through the ROI schemes
they consume and whether they need clips tiled over evaluation windows.

Cross-database runs refuse train and test sets that share a recording (same
video content) or, for two copies served by one adapter, a subject: a
"cross-database" number measured on the training videos would be a
within-database number with a wrong label (:func:`refuse_overlap`).
:class:`DataPrep` runs the steps; :func:`build_folds` turns the usable
recordings into the run's folds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

from rich.markup import escape

from ..clips.protocol import Fold, Protocol
from ..clips.sampling import RecordingClips, clip_recording
from ..data.dataset import DatasetAdapter, Problem
from ..data.recording import Recording
from ..errors import ConfigError, HrbenchError, RecordingError
from ..plugin.host import Registry
from ..plugin.method import Method
from ..plugin.roi import ROI_SCHEMES
from ..traces.traces import (
    cached_paths,
    extract_and_cache,
    landmarker_tag,
    load_traces,
    video_fingerprint,
)
from .executor import LocalExecutor
from .provenance import inputs_fingerprint, recording_inputs

Advance = Callable[[int], None]
TaskFactory = Callable[[str, int], Advance]


def uid(rec: Recording) -> str:
    """Key of a recording inside one run: datasets of a cross-database run may share ids."""
    return f"{rec.dataset}/{rec.id}"


def is_blocking(p: Problem) -> bool:
    """Errors make a recording unusable; warnings are reported and recorded only."""
    return getattr(p, "severity", "error") != "warning"


@dataclass
class Prepared:
    folds: list[Fold]
    clips: dict[str, RecordingClips]
    meta: dict[str, dict[str, Any]]
    fingerprint: str
    skipped: list[Problem]
    warnings: list[Problem]
    label: str  # board label of the test dataset
    train_label: str  # ... and of the training dataset (== label within a database)
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)  # uid -> provenance.recording_inputs


@dataclass
class DataOptions:
    dataset: str
    data_root: Path | None
    train_on: str | None
    train_root: Path | None
    name: str | None
    skip_invalid: bool
    landmarker: str
    workers: int | None
    cache_root: Path
    allow_outside: bool = False


def make_adapter(registry: Registry, name: str, allow_outside: bool = False) -> DatasetAdapter:
    """An adapter instance; ``--allow-outside`` goes only to adapters that read user manifests."""
    cls = registry.dataset(name)
    if not allow_outside:
        return cls()
    if not cls.reads_manifest:
        raise ConfigError(f"--allow-outside: dataset {name} reads no manifest of paths (it applies to e.g. folder)")
    return cls(allow_outside=True)


def dataset_label(adapter: DatasetAdapter, name: str, root: Path, explicit: str | None) -> str:
    """Board label: ``--name``, else the adapter's name, plus the data folder's name for generic adapters.

    Two folders served by the generic ``folder`` adapter are two datasets; an
    adapter says so with ``label_from_root = True``.
    """
    if explicit:
        return explicit
    if adapter.label_from_root:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(root).resolve().name).strip("._-") or "data"
        return f"{name}-{slug[:48]}"
    return name


def refuse_overlap(train: list[Recording], test: list[Recording], train_on: str | None, dataset: str) -> None:
    """Cross-database: no shared video, and no shared subject between two copies of one adapter."""
    if train_on == dataset:
        shared = sorted({r.subject for r in train} & {r.subject for r in test})
        if shared:
            raise ConfigError(
                f"cross-database: --train-on {train_on} and --dataset {dataset} share {len(shared)} subject(s) "
                f"(e.g. {shared[0]!r}); train and test must be different people"
            )
    prints: dict[str, str] = {}
    for r in train:
        try:
            prints[video_fingerprint(r)] = r.id
        except HrbenchError:
            continue
    for r in test:
        try:
            fp = video_fingerprint(r)
        except HrbenchError:
            continue
        if fp in prints:
            raise ConfigError(
                f"cross-database: test recording {r.id!r} is the same video as training recording {prints[fp]!r}; "
                "train and test sets overlap"
            )


def build_folds(protocol: Protocol, train_recs: list[Recording], test_recs: list[Recording],
                official: list[list[str]] | None, inputs: dict[str, dict[str, str]]) -> tuple[list[Fold], str]:
    """The run's folds over usable recordings (keyed by :func:`uid`) and the data's fingerprint.

    Cross-database: one fold, train on the one set and test on the other.
    Within a database: the protocol's folds of the test set (``official``:
    the adapter's own split, for ``split = "official"``); a fold left
    without test recordings is an error, not a silently smaller board.
    The fingerprint hashes ``inputs`` (uid -> :func:`~hrbench.run.provenance.recording_inputs`)
    of the recordings used, so any change to their content makes a new run.
    """
    def fingerprint(recs: list[Recording]) -> str:
        return inputs_fingerprint(inputs, map(uid, recs))

    if protocol.scope == "cross":
        folds = [Fold(0, tuple(sorted(map(uid, train_recs))), tuple(sorted(map(uid, test_recs))))]
        return folds, fingerprint(train_recs) + "+" + fingerprint(test_recs)
    to_uid = {r.id: uid(r) for r in test_recs}
    folds = []
    for f in protocol.folds(test_recs, official):
        if not f.test:
            raise ConfigError(
                f"protocol {protocol.name}: fold {f.index + 1} has no usable test recordings "
                f"(its subjects were all skipped or are absent from this copy)"
            )
        folds.append(Fold(f.index, tuple(to_uid[i] for i in f.train), tuple(to_uid[i] for i in f.test)))
    return folds, fingerprint(test_recs)


def extract_missing(todo: list[Recording], schemes: list[str], o: DataOptions, owner: str | None, executor: Any,
                    advance: Advance) -> tuple[dict[str, dict[str, Path]], list[Problem]]:
    """Extract and cache the traces of recordings that have none cached yet; their paths by :func:`uid`.

    ``executor``: where the tasks run (default a local pool of ``o.workers``);
    ``owner``: the plugin that registers the landmarker (a worker loads it
    from there).  A recording that cannot be used is a problem; any other
    failure ends the run.
    """
    found: dict[str, dict[str, Path]] = {}
    problems: list[Problem] = []
    # One CPU per recording: the landmarker and OpenCV run single-threaded there.
    ex = executor or LocalExecutor(o.workers)
    args = [(r, schemes, o.landmarker, o.cache_root, owner) for r in todo]
    for i, res, err in ex.imap(extract_and_cache, args, num_cpus=1, threads=1):
        advance(1)
        if err is None:
            found[uid(todo[i])] = {s: Path(p) for s, p in res.items()}
        elif isinstance(err, RecordingError):
            problems.append(Problem(err.path or "", err.message, todo[i].id))
        elif isinstance(err, HrbenchError):
            raise err
        else:
            raise HrbenchError(f"trace extraction failed: {type(err).__name__}: {err}", todo[i].frames.path) from err
    return found, problems


class DataPrep:
    """Scan, extract (cached), clip and split for one run."""

    def __init__(self, opts: DataOptions, protocol: Protocol, methods: dict[str, type[Method]], registry: Registry,
                 task: TaskFactory, say: Callable[[str], None], executor: Any = None) -> None:
        """``executor``: where extraction tasks run (:mod:`hrbench.run.executor`); default a local pool of
        ``workers``."""
        self.o, self.executor, self.protocol, self.methods = opts, executor, protocol, methods
        self.reg, self.task, self.say = registry, task, say
        self._long_clips: dict[int, dict[str, RecordingClips]] = {}
        self._all_recs: list[Recording] = []
        self._paths: dict[str, dict[str, Path]] = {}
        self._lm_version = "0"
        self._video_fp: dict[str, str] = {}  # uid -> video_fingerprint, computed once per run (extract())
        self.inputs: dict[str, dict[str, str]] = {}  # uid -> what its numbers depend on (clip() fills it)

    # -- steps ------------------------------------------------------------
    def scan(self, name: str, root: Path | None) -> tuple[DatasetAdapter, Path, list[Recording], list[Problem]]:
        adapter = make_adapter(self.reg, name, self.o.allow_outside)
        root = root or adapter.default_root()
        if root is None:
            raise ConfigError(f"dataset {name} needs --data-root (where your copy lives)")
        adapter.prepare(Path(root))
        recs, problems = adapter.scan_with_problems(Path(root))
        self._refuse(problems)
        if not recs:
            raise HrbenchError(f"no usable recordings found for dataset {name}", root)
        return adapter, Path(root), recs, problems

    def _refuse(self, problems: list[Problem]) -> None:
        blocking = [p for p in problems if is_blocking(p)]
        if blocking and not self.o.skip_invalid:
            p = blocking[0]
            more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
            raise RecordingError(f"{p.message}{more}; fix it or pass --skip-invalid", p.path, p.recording_id)

    def extract(self, recs: list[Recording], schemes: list[str]) -> tuple[dict[str, dict[str, Path]], list[Problem]]:
        cls = self.reg.landmarker(self.o.landmarker) if any(r.roi == "face" for r in recs) else None
        version = cls.version if cls else "0"
        self._lm_version = version
        found: dict[str, dict[str, Path]] = {}
        todo: list[Recording] = []
        problems: list[Problem] = []
        for r in recs:
            try:
                self._video_fp[uid(r)] = video_fingerprint(r, self.o.cache_root)
                paths = cached_paths(r, schemes, self.o.landmarker, version, self.o.cache_root,
                                     fingerprint=self._video_fp[uid(r)])
            except RecordingError as exc:
                problems.append(Problem(exc.path or "", exc.message, r.id))
                continue
            if paths is None:
                todo.append(r)
            else:
                found[uid(r)] = paths
        if todo:
            owner = self.reg.owner.get(("landmarkers", self.o.landmarker)) if cls else None
            advance = self.task("ROI traces", len(todo))
            more, lost = extract_missing(todo, schemes, self.o, owner, self.executor, advance)
            found.update(more)
            problems += lost
        return found, problems

    def clip(self, recs: list[Recording], paths: dict[str, dict[str, Path]],
             length: int | None = None) -> tuple[dict[str, RecordingClips], list[Problem]]:
        """Each recording's clips, from its traces on its current frame times and its ground truth.

        Also notes what each clipped recording's numbers depend on
        (:attr:`inputs`), hashed from the values loaded here anyway.
        """
        out: dict[str, RecordingClips] = {}
        problems: list[Problem] = []
        needed = {c.roi_scheme for c in self.methods.values()}
        tiled = tuple(sorted({c.roi_scheme for c in self.methods.values() if not c.produces_pulse}))
        for r in recs:
            if uid(r) not in paths:
                continue
            try:
                traces = {s: load_traces(p, rec=r) for s, p in paths[uid(r)].items() if s in needed}
                gt = r.load_ground_truth()
                out[uid(r)] = clip_recording(r, traces, gt, self.protocol, length, tiled_schemes=tiled)
                times = next(iter(traces.values())).times
                tag = landmarker_tag(r, self.o.landmarker, self._lm_version)
                self.inputs[uid(r)] = recording_inputs(r, self._video_fp[uid(r)], tag, times, gt)
            except RecordingError as exc:
                problems.append(Problem(exc.path or "", exc.message, r.id))
        return out, problems

    def train_clips(self, cls: type[Method], clips: dict[str, RecordingClips],
                    ids: tuple[str, ...]) -> list[RecordingClips]:
        """Training clips of a fold; longer ones for methods that resample time (``train_clip_factor``)."""
        return self.long_clips(clips, ids, getattr(cls, "train_clip_factor", 1.0))

    def long_clips(self, clips: dict[str, RecordingClips], ids: tuple[str, ...], factor: float) -> list[RecordingClips]:
        """Clips of recordings ``ids``, ``factor`` times the protocol's length: room to resample them in time."""
        if factor == 1.0:
            return [clips[i] for i in ids]
        length = int(round(self.protocol.clips.length * factor))
        if length not in self._long_clips:
            recs = [r for r in self._all_recs if uid(r) in clips]
            self._long_clips[length], _ = self.clip(recs, self._paths, length)
        return [self._long_clips[length][i] for i in ids]

    # -- all of it --------------------------------------------------------
    def run(self, timings: dict[str, float]) -> Prepared:
        t_start = time.perf_counter()
        o = self.o
        adapter, test_root, test_recs, problems = self.scan(o.dataset, o.data_root)
        label = dataset_label(adapter, o.dataset, test_root, o.name)
        train_label = label
        train_recs: list[Recording] = []
        official = None
        if self.protocol.scope == "cross":
            assert o.train_on is not None
            t_adapter, t_root, train_recs, more = self.scan(o.train_on, o.train_root)
            problems += more
            train_label = dataset_label(t_adapter, o.train_on, t_root, None)
            refuse_overlap(train_recs, test_recs, o.train_on, o.dataset)
            if o.train_on == o.dataset:  # two copies of one adapter: keep their ids apart
                train_recs = [dc_replace(r, dataset=f"{r.dataset}@train") for r in train_recs]
                if train_label == label:
                    train_label = f"{train_label}@train"
        elif self.protocol.split == "official":
            official = adapter.official_folds(test_root)
            if official is None:
                raise ConfigError(f"dataset {o.dataset} ships no official folds for protocol {self.protocol.name}")
        timings["scan_s"] = time.perf_counter() - t_start
        # Landmarking dominates extraction; measuring every built-in scheme in the
        # same pass costs little and spares the next method a second pass.
        schemes = sorted({c.roi_scheme for c in self.methods.values()} | set(ROI_SCHEMES))
        t0 = time.perf_counter()
        all_recs = test_recs + train_recs
        paths, more = self.extract(all_recs, schemes)
        clips, more2 = self.clip(all_recs, paths)
        self._all_recs, self._paths = all_recs, paths
        timings["traces_s"] = time.perf_counter() - t0
        self._refuse(more + more2)
        problems += more + more2
        skipped = [p for p in problems if is_blocking(p)]
        warnings = [p for p in problems if not is_blocking(p)]
        for w in warnings:
            self.say(f"[yellow]warning:[/] {escape(str(w))}")
        test_recs = [r for r in test_recs if uid(r) in clips]
        train_recs = [r for r in train_recs if uid(r) in clips]
        folds, fp = build_folds(self.protocol, train_recs, test_recs, official, self.inputs)
        meta = {uid(r): {"session": r.session, **r.meta} for r in test_recs + train_recs}
        inputs = {uid(r): self.inputs[uid(r)] for r in test_recs + train_recs}
        return Prepared(folds, clips, meta, fp, skipped, warnings, label, train_label, inputs)
