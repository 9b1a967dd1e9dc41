"""Boards: which runs are compared with which, built from the results store.

A board holds runs that are comparable by construction: exactly one
protocol (by sha256, not by name) and one dataset fingerprint, so a number
on it never mixes two versions of a protocol file or two copies of a
dataset that happen to share an adapter name.

* **Name**: ``<dataset label>-<protocol>[-from-<train dataset>]``, every part
  sanitised to ``[A-Za-z0-9._+-]`` so no name can leave the output directory.
  When several (protocol hash, fingerprint) groups would get the same name,
  the *newest* group (the one holding the most recently created run) keeps
  the plain name -- links to a board keep showing current results -- and each
  older group gets a suffix naming what differs from the newest:
  ``-proto-<sha256[:8]>`` and/or ``-data-<fingerprint, 8 chars per part>``.
  Names are decided over the whole store before any filtering, so
  ``--dataset``/``--protocol`` write the same file names as ``--all``.
* **Rows**: per (method, profile), the most recent *seed group* at full
  training data: runs identical except for the training seed (same
  parameters, protocol hash, fingerprint, training data and fraction).  Its
  metrics are the mean over seeds, the spread is the SD of MAE over seeds,
  the intervals pool every seed's subject-bootstrap distribution (so they
  include seed variance), and its per-video errors are the mean over seeds
  of each video's absolute error.  Runs recorded as ``not_run`` are listed,
  never ranked or tested.  The last row is the training-mean baseline.
* **Notes**: scalar notes (and lists of them) go in the board's notes lines;
  structured ones (dicts, lists of dicts) would swamp them: a row keeps its
  folds' learning curves (:data:`hrbench.store.results.LEARNING_CURVE`) for the
  board's figure, and only the names of other structured notes.
* **Windows**: under the ``windowed`` rule each row also carries
  window-level scores (per-window MAE, share of windows within
  :data:`WITHIN_BPM`), from the per-window rows the store keeps.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..store.results import (
    LEARNING_CURVE,
    Results,
    VideoSet,
    dataset_label,
    display_notes,
    learning_curve,
    not_run_reason,
    run_notes,
)
from ..store.store import Store
from .inference import BoardTests, board_tests
from .metrics import Metrics, compute_metrics
from .stats import Interval, bootstrap_distribution, pooled_intervals

BOOT_SEED = 0
BOOT_N = 1000
WITHIN_BPM = 5.0
BASELINE_LABEL = "*baseline: training-set mean HR*"
SEED_FIELDS = (
    "method",
    "profile",
    "params_json",
    "protocol_sha256",
    "dataset_fingerprint",
    "train_dataset",
    "train_fraction",
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_name(text: str) -> str:
    """A file-name component that cannot be a path: no separators, never '.', '..' or hidden."""
    s = _UNSAFE.sub("_", str(text)).lstrip(".-")
    return s or "_"


@dataclass(frozen=True)
class WindowMetrics:
    """A row's window-level scores under the ``windowed`` rule (mean over its seeds)."""

    n_windows: int
    mae: float  # mean |error| over the windows the method predicted (bpm)
    within: float  # share of all windows predicted within WITHIN_BPM of their reference (a declined window is not)
    declined: float  # share of windows the method declined


def window_metrics(sets: list[VideoSet]) -> WindowMetrics:
    """Window-level scores of one row from each seed's per-window predictions."""
    maes, within, declined = [], [], []
    for u in sets:
        ok = np.isfinite(u.pred)
        err = np.abs(u.pred[ok] - u.ref[ok])
        maes.append(float(err.mean()) if ok.any() else math.nan)
        within.append(float((err <= WITHIN_BPM).sum() / len(u.pred)) if len(u.pred) else math.nan)
        declined.append(float((~ok).mean()) if len(u.pred) else math.nan)
    return WindowMetrics(
        len(sets[0].pred) if sets else 0, float(np.mean(maes)), float(np.mean(within)), float(np.mean(declined))
    )


@dataclass(frozen=True)
class Row:
    label: str
    method: str
    run_key: str | None  # the first seed's run (None for the baseline)
    metrics: Metrics  # mean over seeds
    ci: dict[str, Interval]  # pooled over seeds
    notes: dict[str, Any]
    videos: VideoSet | None
    profile: str = "default"
    run_keys: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()
    mae_sd: float | None = None  # SD of MAE over seeds (None with one seed)
    protocol_sha256: str = ""
    fingerprint: str = ""
    windows: WindowMetrics | None = None  # windowed rule only
    curves: tuple[dict[str, np.ndarray], ...] = ()  # learning curves, one per (seed, fold) that recorded one
    bad_curves: int = 0  # learning_curve notes that were not curves (not drawn)
    structured_notes: tuple[str, ...] = ()  # names of notes too structured for the notes line (not curves)

    @property
    def is_baseline(self) -> bool:
        return self.run_key is None

    @property
    def file_stem(self) -> str:
        """Distinct per (method, profile), safe as a file name."""
        return safe_name(self.method if self.profile == "default" else f"{self.method}-{self.profile}")


@dataclass(frozen=True)
class NotRun:
    method: str
    profile: str
    reason: str
    run_key: str


@dataclass(frozen=True)
class Board:
    dataset: str  # the adapter name
    protocol: str
    train_dataset: str
    rows: list[Row]  # ranked method rows, then the baseline row last
    runs: list[dict[str, Any]]  # every run shown: each seed of each row, and the not-run ones
    fraction_runs: list[dict[str, Any]]
    name: str = ""
    label: str = ""  # the dataset's board name (dataset_label, else the adapter name)
    protocol_sha256: str = ""
    fingerprint: str = ""
    not_run: list[NotRun] = field(default_factory=list)
    tests: BoardTests | None = None
    rule: str = "clips"  # the protocol's evaluation rule, as its stored description says

    @property
    def base(self) -> str:
        return self.name

    @property
    def filename(self) -> str:
        return self.name + ".md"

    @property
    def ranked(self) -> list[Row]:
        return [r for r in self.rows if not r.is_baseline]

    @property
    def baseline(self) -> Row | None:
        return next((r for r in self.rows if r.is_baseline), None)

    @property
    def cross(self) -> bool:
        return self.train_dataset not in (self.dataset, self.label)


def _newest(runs: list[dict[str, Any]]) -> tuple[str, str]:
    return max((r["created_at"], r["run_key"]) for r in runs)


def board_group(run: dict[str, Any]) -> tuple[str, str, str, str, str, str]:
    """What puts runs on one board: label, dataset, protocol, training data, protocol hash, fingerprint."""
    return (
        dataset_label(run),
        run["dataset"],
        run["protocol"],
        run["train_dataset"],
        run["protocol_sha256"],
        run["dataset_fingerprint"],
    )


def _plain_name(label: str, protocol: str, dataset: str, train: str) -> str:
    name = f"{safe_name(label)}-{safe_name(protocol)}"
    if train not in (dataset, label):
        name += f"-from-{safe_name(train)}"
    return name


def _short_fp(fp: str) -> str:
    return "+".join(part[:8] for part in fp.split("+"))


def board_names(runs: list[dict[str, Any]]) -> dict[tuple[str, ...], str]:
    """Name every board group; colliding names are resolved as the module docstring says."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        groups[board_group(run)].append(run)
    by_name: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for g in groups:
        by_name[_plain_name(g[0], g[2], g[1], g[3])].append(g)
    names: dict[tuple[str, ...], str] = {}
    for plain, gs in by_name.items():
        gs = sorted(gs, key=lambda g: _newest(groups[g]), reverse=True)
        newest = gs[0]
        names[newest] = plain
        for g in gs[1:]:
            parts = []
            if g[4] != newest[4]:
                parts.append(f"proto-{g[4][:8]}")
            if g[5] != newest[5]:
                parts.append(f"data-{_short_fp(g[5])}")
            if g[:4] != newest[:4] or not parts:  # same plain name from different labels: say both
                parts = [f"proto-{g[4][:8]}", f"data-{_short_fp(g[5])}"]
            names[g] = safe_name(plain + "-" + "-".join(parts))
    taken: dict[str, tuple[str, ...]] = {}
    for g in sorted(names):  # never two groups on one file, however unlikely a prefix clash is
        n = names[g]
        if n in taken:
            n = safe_name(f"{n}-{g[4]}-{g[5]}")
            names[g] = n
        taken[n] = g
    return names


def _seed_key(run: dict[str, Any]) -> tuple[Any, ...]:
    """What must match for runs to be seeds of one row: everything but the seed, code version included."""
    version = json.loads(run.get("versions_json") or "{}").get("hrbench", "")
    return (*(run[f] for f in SEED_FIELDS), version)


def _latest_seed_group(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of one (method, profile)'s runs: the seed group of the newest run, newest run per seed, by seed."""
    newest = max(runs, key=lambda r: (r["created_at"], r["run_key"]))
    group = [r for r in runs if _seed_key(r) == _seed_key(newest)]
    per_seed: dict[int, dict[str, Any]] = {}
    for r in sorted(group, key=lambda r: (r["created_at"], r["run_key"])):
        per_seed[r["seed"]] = r
    return [per_seed[s] for s in sorted(per_seed)]


def _merge_notes(runs: list[dict[str, Any]]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Notes of all seeds (a note whose value differs between seeds shows every value), and structured notes' names."""
    values: dict[str, list[str]] = defaultdict(list)
    structured: set[str] = set()
    for r in runs:
        notes = run_notes(r)
        structured |= set(notes) - set(display_notes(notes)) - {LEARNING_CURVE}
        for k, v in display_notes(notes).items():
            if str(v) not in values[k]:
                values[k].append(str(v))
    merged = {k: vs[0] if len(vs) == 1 else " | ".join(vs) for k, vs in sorted(values.items()) if k != LEARNING_CURVE}
    return merged, tuple(sorted(structured))


def _curves(res: Results, runs: list[dict[str, Any]]) -> tuple[list[dict[str, np.ndarray]], int]:
    """Every fold's learning curve over the seeds' runs, and how many such notes were malformed."""
    curves, bad = [], 0
    for r in runs:
        for notes in res.fold_notes(r["run_key"]):
            if LEARNING_CURVE in notes:
                c = learning_curve(notes[LEARNING_CURVE])
                curves += [c] if c is not None else []
                bad += c is None
    return curves, bad


_RULE = re.compile(r"evaluation rule: (\w+)")


def evaluation_rule(protocol_desc: str) -> str:
    """The evaluation rule a run was scored under, from its stored protocol description (``clips`` if unsaid)."""
    m = _RULE.search(protocol_desc or "")
    return m.group(1) if m else "clips"


def _mean_metrics(ms: list[Metrics]) -> Metrics:
    def mean(f: str) -> float:
        v = np.array([getattr(m, f) for m in ms], dtype=float)
        return float(np.mean(v)) if np.isfinite(v).all() else math.nan

    return Metrics(
        mean("hr_me"),
        mean("hr_sd"),
        mean("hr_rmse"),
        mean("hr_mer"),
        mean("mae"),
        mean("r"),
        int(round(np.mean([m.n for m in ms]))),
    )


def _seed_videos(sets: list[VideoSet]) -> VideoSet:
    """Per video (recordings every seed predicted): mean prediction, and mean absolute error over seeds."""
    if len(sets) == 1:
        return sets[0]
    common = sorted(set.intersection(*(set(v.ids) for v in sets)))
    pos = [{rid: i for i, rid in enumerate(v.ids)} for v in sets]
    first = sets[0]
    idx0 = [pos[0][rid] for rid in common]
    preds = np.array([[v.pred[p[rid]] for rid in common] for v, p in zip(sets, pos, strict=True)], dtype=float).reshape(
        len(sets), len(common)
    )
    ref = first.ref[idx0]
    return VideoSet(
        common,
        [first.subjects[i] for i in idx0],
        preds.mean(axis=0),
        ref,
        [first.folds[i] for i in idx0],
        [first.meta[i] for i in idx0],
        np.abs(preds - ref).mean(axis=0),
    )


def _row(res: Results, runs: list[dict[str, Any]], windowed: bool = False) -> Row:
    run0 = runs[0]
    sets = [res.videos(r["run_key"]) for r in runs]
    ms = [compute_metrics(v.pred, v.ref) for v in sets]
    ci = pooled_intervals([bootstrap_distribution(v.pred, v.ref, v.subjects, BOOT_N, BOOT_SEED) for v in sets])
    notes, structured = _merge_notes(runs)
    curves, bad = _curves(res, runs)
    label = run0["method"] if run0["profile"] == "default" else f"{run0['method']} ({run0['profile']})"
    if notes or structured:
        label += " †"
    maes = [m.mae for m in ms]
    return Row(
        label,
        run0["method"],
        run0["run_key"],
        _mean_metrics(ms),
        ci,
        notes,
        _seed_videos(sets),
        profile=run0["profile"],
        run_keys=tuple(r["run_key"] for r in runs),
        seeds=tuple(int(r["seed"]) for r in runs),
        mae_sd=float(np.std(maes, ddof=1)) if len(maes) > 1 else None,
        protocol_sha256=run0["protocol_sha256"],
        fingerprint=run0["dataset_fingerprint"],
        windows=window_metrics([res.units(r["run_key"]) for r in runs]) if windowed else None,
        curves=tuple(curves),
        bad_curves=bad,
        structured_notes=structured,
    )


def _baseline_row(res: Results, run: dict[str, Any], windowed: bool = False) -> Row:
    b = res.baseline(run["run_key"])
    ci = pooled_intervals([bootstrap_distribution(b.pred, b.ref, b.subjects, BOOT_N, BOOT_SEED)])
    windows = None
    if windowed:  # the training mean predicts every window of a fold alike
        u = res.units(run["run_key"])
        train = res.fold_train_hr(run["run_key"])
        pred = np.array([float(np.mean(train[f])) for f in u.folds], dtype=float)
        windows = window_metrics([VideoSet(u.ids, u.subjects, pred, u.ref, u.folds, u.meta)])
    return Row(
        BASELINE_LABEL,
        "baseline",
        None,
        compute_metrics(b.pred, b.ref),
        ci,
        {},
        b,
        profile="–",
        protocol_sha256=run["protocol_sha256"],
        fingerprint=run["dataset_fingerprint"],
        windows=windows,
    )


def _matches(run: dict[str, Any], dataset: str | None, protocol: str | None) -> bool:
    if dataset and dataset not in (run["dataset"], dataset_label(run)):
        return False
    return not (protocol and run["protocol"] != protocol)


def build_boards(store: Store, dataset: str | None = None, protocol: str | None = None) -> list[Board]:
    """Every board of the store (or those of one dataset -- adapter name or label -- and/or protocol name), by name."""
    res = Results(store)
    all_runs = res.runs()
    # A method whose run failed is listed as not run, unless a complete run of it is on the same board.
    done = {(r["method"], r["profile"], board_group(r)) for r in all_runs}
    all_runs += [r for r in res.runs(complete=False) if not r["complete"] and not_run_reason(r) is not None
                 and (r["method"], r["profile"], board_group(r)) not in done]
    names = board_names(all_runs)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for run in all_runs:
        if _matches(run, dataset, protocol):
            groups[board_group(run)].append(run)
    boards = []
    for g, runs in groups.items():
        boards.append(_board(res, g, names[g], runs))
    return sorted(boards, key=lambda b: b.name)


def _board(res: Results, g: tuple[str, ...], name: str, runs: list[dict[str, Any]]) -> Board:
    label, ds, proto, train, sha, fp = g
    full: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    partial: dict[tuple[str, str, float], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        partial[(run["method"], run["profile"], run["train_fraction"])].append(run)
        if run["train_fraction"] == 1.0:
            full[(run["method"], run["profile"])].append(run)
    rows: list[Row] = []
    shown: list[dict[str, Any]] = []
    not_run: list[NotRun] = []
    rule = evaluation_rule(runs[0]["protocol_desc"])
    windowed = rule == "windowed"
    for mp in sorted(full):
        seeds = _latest_seed_group(full[mp])
        shown += seeds
        reason = next((not_run_reason(r) for r in seeds if not_run_reason(r) is not None), None)
        if reason is not None:
            not_run.append(NotRun(mp[0], mp[1], reason, seeds[0]["run_key"]))
            continue
        rows.append(_row(res, seeds, windowed))
    rows.sort(key=lambda r: (r.metrics.mae if np.isfinite(r.metrics.mae) else math.inf, r.label))
    baseline = _baseline_row(res, next(r for r in shown if r["run_key"] == rows[0].run_key), windowed) if rows else None
    tests = board_tests(rows, baseline)
    fraction: list[dict[str, Any]] = []
    for key in sorted(partial, key=lambda k: (k[0], k[1], -k[2])):
        group = [r for r in _latest_seed_group(partial[key]) if not_run_reason(r) is None]
        fraction += group
    has_curve = any(r["train_fraction"] < 1 for r in fraction)
    shown.sort(key=lambda r: (r["method"], r["profile"], r["seed"], r["run_key"]))
    return Board(
        ds,
        proto,
        train,
        rows + ([baseline] if baseline else []),
        shown,
        fraction if has_curve else [],
        name=name,
        label=label,
        protocol_sha256=sha,
        fingerprint=fp,
        not_run=not_run,
        tests=tests,
        rule=rule,
    )
