"""The runner: recordings -> cached traces -> clips -> fit/predict per fold -> store.

Nothing here knows a particular method or dataset: both come from the
plugin registry by name.  The order of work is chosen so that an interrupted
run loses nothing already computed: traces are cached per recording as
soon as each is extracted, and predictions are stored per fold.
"""

from __future__ import annotations

import contextlib
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from . import TRACE_CODE_VERSION, __version__
from .clips import Clips
from .dataset import DatasetAdapter, Problem
from .errors import ConfigError, HrbenchError, RecordingError
from .executor import LocalExecutor
from .fsutil import cache_dir, stable_hash
from .method import Method, RunContext
from .plugins import Registry, get_registry
from .protocol import AGGREGATES, Fold, Protocol, find_protocol
from .recording import Recording
from .roi import ROI_SCHEMES
from .sampling import RecordingClips, clip_recording, round_robin
from .store import FoldResult, Store, default_store_path
from .traces import cached_paths, extract_and_cache, load_traces

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
    train_fraction: float = 1.0
    skip_invalid: bool = False
    landmarker: str = DEFAULT_LANDMARKER
    workers: int | None = None
    store_path: Path | None = None
    cache_root: Path | None = None
    device: str | None = None
    command: str = ""


def spread_subset(recording_ids: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of ``fraction`` of the clips, dealt round-robin over recordings (see :func:`round_robin`)."""
    n = max(1, int(round(len(recording_ids) * fraction)))
    order = round_robin(recording_ids, np.arange(len(recording_ids)), np.random.default_rng([seed, 0xF6]))
    return np.sort(order[:n])


def _uid(rec: Recording) -> str:
    """Key of a recording inside one run: datasets of a cross-database run may share ids."""
    return f"{rec.dataset}/{rec.id}"


@dataclass
class _Prepared:
    folds: list[Fold]
    clips: dict[str, RecordingClips]
    meta: dict[str, dict[str, Any]]
    fingerprint: str
    skipped: list[Problem]


@dataclass
class RunSummary:
    run_keys: dict[str, str]
    dataset: str
    protocol: Protocol
    skipped: list[Problem]
    timings: dict[str, float]


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
        tid = self.progress.add_task(description, total=total)
        return lambda n=1: self.progress.advance(tid, n)


def _versions() -> dict[str, str]:
    out = {"hrbench": __version__, "python": platform.python_version(), "trace_code": TRACE_CODE_VERSION}
    for pkg in ("numpy", "scipy", "scikit-learn", "torch", "torchvision", "opencv-python-headless", "ai-edge-litert"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def _device(requested: str | None) -> str:
    if requested:
        return requested
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def dataset_fingerprint(recs: Sequence[Recording]) -> str:
    """Cheap identity of a dataset copy: ids, subjects and file sizes (no decoding)."""
    items = []
    for r in sorted(recs, key=lambda r: r.id):
        p = r.frames.path
        size = p.stat().st_size if p.is_file() else len(r.frames.image_files()) if p.is_dir() else -1
        gsize = r.gt_path.stat().st_size if r.gt_path and r.gt_path.is_file() else -1
        items.append([r.id, r.subject, size, gsize])
    return stable_hash(items)


class Runner:
    def __init__(self, opts: RunOptions, registry: Registry | None = None, console: Console | None = None) -> None:
        self.opts = opts
        self.reg = registry or get_registry()
        self.console = console or Console(stderr=True)
        self.cache_root = opts.cache_root or cache_dir()
        self.protocol = find_protocol(opts.protocol, self.reg.protocol_dirs)
        self.method_classes: dict[str, type[Method]] = {m: self.reg.method(m) for m in opts.methods}
        if not opts.methods:
            raise ConfigError("no method given (--method)")
        if not 0 < opts.train_fraction <= 1:
            raise ConfigError(f"--train-fraction must be in (0, 1], got {opts.train_fraction}")
        if self.protocol.scope == "cross" and not opts.train_on:
            raise ConfigError(f"protocol {self.protocol.name} is cross-database: give --train-on DATASET")
        if self.protocol.scope != "cross" and opts.train_on:
            raise ConfigError(f"--train-on needs a cross-database protocol, not {self.protocol.name}")
        # Validate parameters before any expensive work: a typo fails now.
        for _name, cls in self.method_classes.items():
            cls(RunContext(), profile=opts.profile if opts.profile in (cls.profiles or {}) else "default", **self._params_for(cls))
        if opts.profile != "default" and not any(opts.profile in (c.profiles or {}) for c in self.method_classes.values()):
            raise ConfigError(f"no selected method has a profile named {opts.profile!r}")

    # -- data ---------------------------------------------------------------
    def _params_for(self, cls: type[Method]) -> dict[str, str]:
        return {k: v for k, v in self.opts.params.items() if k in cls.params or len(self.method_classes) == 1}

    def _scan(self, name: str, root: Path | None) -> tuple[DatasetAdapter, Path, list[Recording], list[Problem]]:
        adapter: DatasetAdapter = self.reg.dataset(name)()
        root = root or adapter.default_root()
        if root is None:
            raise ConfigError(f"dataset {name} needs --data-root (where your copy lives)")
        adapter.prepare(Path(root))
        recs, problems = adapter.scan_with_problems(Path(root))
        if problems and not self.opts.skip_invalid:
            p = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise HrbenchError(f"{p.message}{more}; fix it or pass --skip-invalid", p.path)
        if not recs:
            raise HrbenchError(f"no usable recordings found for dataset {name}", root)
        return adapter, Path(root), recs, problems

    def _extract(self, recs: list[Recording], schemes: list[str], hub: _Hub) -> tuple[dict[str, dict[str, Path]], list[Problem]]:
        cls = self.reg.landmarker(self.opts.landmarker) if any(r.roi == "face" for r in recs) else None
        version = getattr(cls, "version", "1") if cls else "0"
        found: dict[str, dict[str, Path]] = {}
        todo: list[Recording] = []
        problems: list[Problem] = []
        for r in recs:
            try:
                paths = cached_paths(r, schemes, self.opts.landmarker, version, self.cache_root)
            except RecordingError as exc:
                problems.append(Problem(exc.path or "", exc.message, r.id))
                continue
            if paths is None:
                todo.append(r)
            else:
                found[_uid(r)] = paths
        if todo:
            advance = hub.task("ROI traces", len(todo))
            ex = LocalExecutor(self.opts.workers)
            owner = self.reg.owner.get(("landmarkers", self.opts.landmarker)) if cls else None
            args = [(r, schemes, self.opts.landmarker, self.cache_root, owner) for r in todo]
            for i, res, err in ex.imap(extract_and_cache, args):
                advance(1)
                if err is None:
                    found[_uid(todo[i])] = {s: Path(p) for s, p in res.items()}
                elif isinstance(err, RecordingError):
                    problems.append(Problem(err.path or "", err.message, todo[i].id))
                elif isinstance(err, HrbenchError):
                    raise err
                else:
                    raise HrbenchError(f"trace extraction failed: {type(err).__name__}: {err}", todo[i].frames.path) from err
        return found, problems

    def _clips(
        self, recs: list[Recording], paths: dict[str, dict[str, Path]], length: int | None = None
    ) -> tuple[dict[str, RecordingClips], list[Problem]]:
        out: dict[str, RecordingClips] = {}
        problems: list[Problem] = []
        needed = {c.roi_scheme for c in self.method_classes.values()}
        for r in recs:
            if _uid(r) not in paths:
                continue
            try:
                traces = {s: load_traces(p) for s, p in paths[_uid(r)].items() if s in needed}
                out[_uid(r)] = clip_recording(r, traces, r.load_ground_truth(), self.protocol, length)
            except RecordingError as exc:
                problems.append(Problem(exc.path or "", exc.message, r.id))
        return out, problems

    def _train_clips(self, cls: type[Method], clips: dict[str, RecordingClips], ids: tuple[str, ...]) -> list[RecordingClips]:
        factor = getattr(cls, "train_clip_factor", 1.0)
        if factor == 1.0:
            return [clips[i] for i in ids]
        length = int(round(self.protocol.clips.length * factor))
        if length not in self._long_clips:
            recs = [r for r in self._all_recs if _uid(r) in clips]
            self._long_clips[length], _ = self._clips(recs, self._paths, length)
        return [self._long_clips[length][i] for i in ids]

    # -- run ----------------------------------------------------------------
    def _prepare(self, hub: _Hub, timings: dict[str, float]) -> _Prepared:
        """Scan, extract (cached), clip and split: everything before any method runs."""
        t_start = time.perf_counter()
        o = self.opts
        _, test_root, test_recs, skipped = self._scan(o.dataset, o.data_root)
        train_recs: list[Recording] = []
        official = None
        if self.protocol.scope == "cross":
            _, _, train_recs, more = self._scan(o.train_on, o.train_root)  # type: ignore[arg-type]
            skipped += more
            if o.train_on == o.dataset:  # two copies of one adapter: keep their ids apart
                train_recs = [dc_replace(r, dataset=f"{r.dataset}@train") for r in train_recs]
        elif self.protocol.split == "official":
            adapter = self.reg.dataset(o.dataset)()
            if not hasattr(adapter, "official_folds"):
                raise ConfigError(f"dataset {o.dataset} ships no official folds for protocol {self.protocol.name}")
            official = adapter.official_folds(test_root)
        timings["scan_s"] = time.perf_counter() - t_start
        # Landmarking dominates extraction; measuring every built-in scheme in the
        # same pass costs little and spares the next method a second pass.
        schemes = sorted({c.roi_scheme for c in self.method_classes.values()} | set(ROI_SCHEMES))
        t0 = time.perf_counter()
        all_recs = test_recs + train_recs
        paths, problems = self._extract(all_recs, schemes, hub)
        clips, more = self._clips(all_recs, paths)
        self._all_recs, self._paths, self._long_clips = all_recs, paths, {}
        problems += more
        timings["traces_s"] = time.perf_counter() - t0
        if problems and not o.skip_invalid:
            p = problems[0]
            more_txt = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise RecordingError(f"{p.message}{more_txt}; fix it or pass --skip-invalid", p.path, p.recording_id)
        skipped += problems
        test_recs = [r for r in test_recs if _uid(r) in clips]
        train_recs = [r for r in train_recs if _uid(r) in clips]
        if self.protocol.scope == "cross":
            folds = [Fold(0, tuple(sorted(map(_uid, train_recs))), tuple(sorted(map(_uid, test_recs))))]
            fp = dataset_fingerprint(train_recs) + "+" + dataset_fingerprint(test_recs)
        else:
            to_uid = {r.id: _uid(r) for r in test_recs}
            folds = [
                Fold(f.index, tuple(to_uid[i] for i in f.train), tuple(to_uid[i] for i in f.test))
                for f in self.protocol.folds(test_recs, official)
            ]
            fp = dataset_fingerprint(test_recs)
        meta = {_uid(r): {"session": r.session, **r.meta} for r in test_recs + train_recs}
        return _Prepared(folds, clips, meta, fp, skipped)

    def run(self) -> RunSummary:
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        hub = _Hub(self.console)
        with hub.progress:
            prep = self._prepare(hub, timings)
            store = Store(self.opts.store_path or default_store_path())
            keys: dict[str, str] = {}
            try:
                for name, cls in self.method_classes.items():
                    keys[name] = self._run_method(name, cls, prep.folds, prep.clips, prep.meta, prep.fingerprint, prep.skipped, store, hub)
            finally:
                store.close()
        timings["total_s"] = time.perf_counter() - t_start
        return RunSummary(keys, self.opts.dataset, self.protocol, prep.skipped, timings)

    def explain(self, fold_index: int, n_clips: int, out_dir: Path) -> list[Path]:
        """Train the (single) method on one fold and save its explanations of a few test clips."""
        if len(self.method_classes) != 1:
            raise ConfigError("explain takes exactly one method")
        name, cls = next(iter(self.method_classes.items()))
        if not hasattr(cls, "explain"):
            raise ConfigError(f"method {name} has no explanations to show (it defines no explain())")
        hub = _Hub(self.console)
        with hub.progress:
            prep = self._prepare(hub, {})
            if not 0 <= fold_index < len(prep.folds):
                raise ConfigError(f"--fold must be in 1..{len(prep.folds)}")
            fold = prep.folds[fold_index]
            ctx, profile = self._context(cls, hub)
            method = cls(ctx, profile=profile, **self._params_for(cls))
            method.fit(self._batch(self._train_clips(cls, prep.clips, fold.train), cls.roi_scheme, labels=True))
            test = self._batch([prep.clips[i] for i in fold.test], cls.roi_scheme, labels=True)
            pick = np.linspace(0, len(test) - 1, min(n_clips, len(test))).round().astype(int)
            out_dir.mkdir(parents=True, exist_ok=True)
            return [Path(p) for p in method.explain(test.subset(pick), out_dir)]

    def _context(self, cls: type[Method], hub: _Hub) -> tuple[RunContext, str]:
        o = self.opts
        seed = self.protocol.seed if o.seed is None else o.seed
        profile = o.profile if o.profile in (cls.profiles or {}) else "default"
        device = _device(o.device) if cls.supervised else "cpu"
        ctx = RunContext(seed=seed, clip_len=self.protocol.clips.length, cache_dir=self.cache_root, device=device, profile=profile,
                         console=self.console, progress=hub.task, train_fraction=o.train_fraction)
        return ctx, profile

    def _run_method(
        self,
        name: str,
        cls: type[Method],
        folds: list[Fold],
        clips: dict[str, RecordingClips],
        meta: dict[str, dict[str, Any]],
        fingerprint: str,
        skipped: list[Problem],
        store: Store,
        hub: _Hub,
    ) -> str:
        o = self.opts
        ctx, profile = self._context(cls, hub)
        seed = ctx.seed
        probe = cls(ctx, profile=profile, **self._params_for(cls))
        params = probe.get_params()
        ident = {
            "method": name,
            "params": params,
            "profile": profile,
            "protocol_sha256": self.protocol.sha256,
            "dataset": o.dataset,
            "train_on": o.train_on or "",
            "fingerprint": fingerprint,
            "seed": seed,
            "train_fraction": o.train_fraction,
            "hrbench": __version__,
        }
        key = stable_hash(ident, 20)
        store.ensure_run(
            key,
            {
                "method": name,
                "profile": profile,
                "params_json": json.dumps(params, sort_keys=True, default=str),
                "protocol": self.protocol.name,
                "protocol_path": _display_path(self.protocol.path),
                "protocol_sha256": self.protocol.sha256,
                "protocol_desc": self.protocol.describe(),
                "dataset": o.dataset,
                "train_dataset": o.train_on or o.dataset,
                "dataset_fingerprint": fingerprint,
                "seed": seed,
                "train_fraction": o.train_fraction,
                "versions_json": json.dumps(_versions(), sort_keys=True),
                "skipped_json": json.dumps(sorted([[p.recording_id or "", p.path, p.message] for p in skipped])),
                "n_folds": len(folds),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": o.command,
            },
        )
        done = store.done_folds(key)
        notes: dict[str, Any] = {}
        if done:
            self.console.print(f"[dim]{name}: {len(done)}/{len(folds)} folds already in the store, reusing them[/]")
        aggregate = AGGREGATES[self.protocol.clips.aggregate]
        for fold in folds:
            if fold.index in done:
                continue
            train = self._batch(self._train_clips(cls, clips, fold.train), cls.roi_scheme, labels=True)
            if o.train_fraction < 1:
                train = train.subset(spread_subset(train.recording_ids, o.train_fraction, seed + 7919 * fold.index))
            test_rc = [clips[i] for i in fold.test]
            test = self._batch(test_rc, cls.roi_scheme, labels=False)
            method = cls(ctx, profile=profile, **self._params_for(cls))
            self.console.print(f"[bold]{name}[/] fold {fold.index + 1}/{len(folds)}: train {len(fold.train)} videos / {len(train)} clips, test {len(fold.test)} videos")
            t0 = time.perf_counter()
            if cls.supervised:
                method.fit(train)
            t1 = time.perf_counter()
            pred = np.asarray(method.predict(test), dtype=np.float64)
            t2 = time.perf_counter()
            if pred.shape != (len(test),):
                raise HrbenchError(f"method {name} returned {pred.shape} predictions for {len(test)} clips")
            notes.update(method.run_notes)
            res_clips, res_videos, k = [], [], 0
            for uid, rc in zip(fold.test, test_rc, strict=True):
                n = len(rc.hr_ref)
                p = pred[k : k + n]
                k += n
                # A method may decline a clip (NaN); the video's HR is the protocol's
                # aggregate (mean or median) of the clips it did predict, and a video
                # with none is counted, not faked.
                res_clips += [(rc.recording_id, j, float(rc.starts_s[j]), float(p[j]) if np.isfinite(p[j]) else None, float(rc.hr_ref[j])) for j in range(n)]
                if np.isfinite(p).any():
                    res_videos.append((rc.recording_id, rc.subject, float(aggregate(p)), float(rc.hr_ref.mean()), meta.get(uid, {})))
                else:
                    notes["videos_without_prediction"] = notes.get("videos_without_prediction", 0) + 1
            train_hr = [float(clips[i].hr_ref.mean()) for i in fold.train]
            store.write_fold(key, FoldResult(fold.index, len(fold.train), len(train), train_hr, t1 - t0, t2 - t1, res_clips, res_videos))
        if notes:
            store.update_run(key, notes_json=json.dumps(notes, sort_keys=True, default=str))
        store.update_run(key, complete=1)
        return key

    def _batch(self, rcs: list[RecordingClips], scheme: str, labels: bool) -> Clips:
        if not rcs:
            raise HrbenchError("a fold has no usable recordings")
        length = min(rc.traces[scheme].shape[2] for rc in rcs)
        return Clips(
            traces=np.concatenate([rc.traces[scheme][:, :, :length] for rc in rcs]),
            fps=self.protocol.clips.fps,
            hr_settings=self.protocol.hr,
            recording_ids=np.concatenate([[rc.recording_id] * len(rc.hr_ref) for rc in rcs]),
            subjects=np.concatenate([[rc.subject] * len(rc.hr_ref) for rc in rcs]),
            hr=np.concatenate([rc.hr_ref for rc in rcs]) if labels else None,
            starts=np.concatenate([rc.starts_s for rc in rcs]),
        )


def _display_path(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        base = Path(__file__).resolve().parent.parent
        try:
            return str(p.resolve().relative_to(base))
        except ValueError:
            return str(p)


def command_line() -> str:
    return " ".join(["hrbench", *sys.argv[1:]])
