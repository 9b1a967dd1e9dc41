"""Protocols: how recordings are split, clipped and scored -- as data.

A protocol is a TOML file in ``protocols/`` (or a directory a plugin
registers).  Its SHA-256 goes into every result row, so a leaderboard can
never mix numbers produced under different rules.  Example::

    name = "subject_exclusive"
    description = "3-fold cross-validation, no subject in both train and test"
    scope = "within"          # within | cross
    split = "subject"         # random | subject | official
    k = 3
    seed = 0

    [clips]
    length = 300              # frames per clip (SynRhythm: 300)
    per_video = 20            # clips sampled per video (SynRhythm: 100)
    fps = 30                  # traces resampled to this uniform rate
    max_lost_fraction = 0.1   # clips with more face-lost frames are not used
    aggregate = "mean"        # a video's HR from its clips' HRs: mean (SynRhythm) | median

    [hr]
    band_bpm = [42, 240]
    resolution_bpm = 0.25
    filter_order = 2          # Butterworth band-pass order (zero-phase; chosen on synthetic-dev)
    welch_segment_s = 8       # windows of two segments or more use Welch's method

    [evaluation]
    rule = "clips"            # clips | whole | windowed
    window_s = 30             # windowed only: evaluation window ...
    hop_s = 15                # ... and its hop
    window_peak = "plain"     # windowed only: plain | anchored (how a window's spectral peak is chosen)

Evaluation rules (how a video's HR is scored):

* ``clips`` -- SynRhythm's protocol for its network: ``per_video`` clips of
  ``length`` frames at random valid starts, one HR per clip, a video's HR
  the ``aggregate`` of its clip HRs; the reference is the same aggregate of
  the clips' reference HRs.  Kept for reproducing the papers' tables.
* ``whole`` -- the field's usual rule for unsupervised methods
  (rPPG-Toolbox, pyVHR): a method that produces a pulse waveform runs over
  the whole recording (its protocol window, e.g. MAHNOB-HCI's 30 s) and the
  HR is estimated once from that pulse; the reference HR is estimated from
  the ground truth over exactly the same span.
* ``windowed`` -- the same per evaluation window of ``window_s`` seconds
  every ``hop_s`` (a video shorter than one window is one window); a video's
  HR is the ``aggregate`` of its window HRs, and so is its reference.
  ``window_peak`` says how a pulse method's window HR is read:
  ``plain`` (each window's highest spectral peak) or ``anchored`` (the
  windows of a recording read jointly, so a competing component that owns
  some windows' highest peak does not take them; see
  :func:`hrbench.pulse.hr.window_hrs`).  It applies to methods' pulses only, not
  to the reference (read from the ground truth) nor to clip predictors.

Under ``whole`` and ``windowed``, methods that only predict one HR per clip
(the learned ones) are scored on clips tiled over each evaluation window
(hop of half a clip, the last clip ending at the window's end): the
window's HR is the ``aggregate`` of the clip predictions inside it.  Their
training clips are drawn as under ``clips``.  So every method sits in one
board, scored over the same windows against the same reference.

Every key is checked: an unknown key in any table, or a value out of range,
is an error naming the file.

Splits: ``random`` shuffles recordings into k folds; ``subject`` assigns whole
subjects to folds (greedy balancing of recording counts after a seeded
shuffle) so no subject is in both train and test; ``official`` uses the
fold lists the dataset ships (the adapter's ``official_folds(root)``);
``scope = "cross"`` trains on every recording of ``--train-on`` and tests on
every recording of ``--dataset`` (one fold).

``aggregate``: SynRhythm takes a video's HR as the *mean* of its clip
predictions, and so do the shipped protocols.  pyVHR takes the *median* of
its windows, which one bad clip (a harmonic, a noise peak) cannot move; a
protocol may choose it.  It applies to every method alike and, being in the
file, to the protocol's hash.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.recording import Recording
from ..errors import ConfigError
from ..pulse.hr import WINDOW_PEAKS, HRSettings

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "protocols"
_SCOPES = {"within", "cross"}
_SPLITS = {"random", "subject", "official"}
RULES = ("clips", "whole", "windowed")
#: How a video's HR is computed from its clips' predictions (NaN = a clip the method declined).
AGGREGATES = {"mean": np.nanmean, "median": np.nanmedian}


@dataclass(frozen=True)
class ClipSettings:
    length: int = 300
    per_video: int = 20
    fps: float = 30.0
    max_lost_fraction: float = 0.1
    aggregate: str = "mean"  # how a video's HR comes from its clips' HRs (see AGGREGATES)


@dataclass(frozen=True)
class EvalSettings:
    rule: str = "clips"  # clips | whole | windowed (see the module docstring)
    window_s: float = 30.0  # windowed only
    hop_s: float = 15.0  # windowed only
    window_peak: str = "plain"  # windowed only: how a pulse's window HR is read (hrbench.pulse.hr.WINDOW_PEAKS)


@dataclass(frozen=True)
class Fold:
    index: int
    train: tuple[str, ...]
    test: tuple[str, ...]


@dataclass(frozen=True)
class Protocol:
    name: str
    path: Path
    sha256: str
    description: str = ""
    scope: str = "within"
    split: str = "subject"
    k: int = 3
    seed: int = 0
    clips: ClipSettings = field(default_factory=ClipSettings)
    hr: HRSettings = field(default_factory=HRSettings)
    evaluation: EvalSettings = field(default_factory=EvalSettings)

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    def folds(self, recordings: Sequence[Recording], official: list[list[str]] | None = None) -> list[Fold]:
        """Within-database folds: each recording is tested exactly once."""
        if self.scope != "within":
            raise ConfigError(f"protocol {self.name} is cross-database: use cross_folds()")
        ids = [r.id for r in recordings]
        if len(set(ids)) != len(ids):
            raise ConfigError("recording ids are not unique in this dataset")
        rng = np.random.default_rng(self.seed)
        if self.split == "random":
            if len(ids) < self.k:
                raise ConfigError(f"{len(ids)} recordings cannot fill {self.k} folds")
            order = rng.permutation(len(ids))
            groups = [sorted(ids[i] for i in part) for part in np.array_split(order, self.k)]
        elif self.split == "subject":
            by_subject: dict[str, list[str]] = defaultdict(list)
            for r in recordings:
                by_subject[r.subject].append(r.id)
            subjects = sorted(by_subject)
            if len(subjects) < self.k:
                raise ConfigError(f"{len(subjects)} subjects cannot fill {self.k} subject-exclusive folds")
            shuffled = [subjects[i] for i in rng.permutation(len(subjects))]
            # Largest subjects first into the currently smallest fold keeps fold
            # sizes balanced; the seeded shuffle breaks ties reproducibly.
            shuffled.sort(key=lambda s: -len(by_subject[s]))
            groups_s: list[list[str]] = [[] for _ in range(self.k)]
            for s in shuffled:
                target = min(range(self.k), key=lambda i: (sum(len(by_subject[x]) for x in groups_s[i]), i))
                groups_s[target].append(s)
            groups = [sorted(rid for s in g for rid in by_subject[s]) for g in groups_s]
        else:  # official
            if official is None:
                raise ConfigError(f"protocol {self.name} needs official folds, but the dataset ships none")
            by_subject = defaultdict(list)
            for r in recordings:
                by_subject[r.subject].append(r.id)
            groups = [sorted(rid for s in fold for rid in by_subject.get(s, [])) for fold in official]
            covered = {rid for g in groups for rid in g}
            missing = sorted(set(ids) - covered)
            if missing:
                raise ConfigError(f"{len(missing)} recordings belong to no official fold (e.g. {missing[0]})")
        folds = []
        for i, test in enumerate(groups):
            train = tuple(sorted(rid for j, g in enumerate(groups) if j != i for rid in g))
            folds.append(Fold(i, train, tuple(test)))
        return folds

    def cross_folds(self, train: Sequence[Recording], test: Sequence[Recording]) -> list[Fold]:
        """Cross-database: one fold, train on all of one dataset, test on all of another."""
        return [Fold(0, tuple(sorted(r.id for r in train)), tuple(sorted(r.id for r in test)))]

    def describe(self) -> str:
        if self.scope == "cross":
            split = "cross-database (train on one dataset, test on another)"
        elif self.split == "official":
            split = "official folds of the dataset"
        else:
            kind = "subject-exclusive" if self.split == "subject" else "random"
            split = f"{self.k}-fold {kind} split, seed {self.seed}"
        c, e = self.clips, self.evaluation
        lo, hi = self.hr.band_bpm
        if e.rule == "clips":
            text = (
                f"{split}; clips of {c.length} frames at {c.fps:g} fps, {c.per_video} per video; "
                f"HR band {lo:g}-{hi:g} bpm"
            )
            # The default is left unsaid, so a protocol's description (stored with its runs) stays the same.
            return text if c.aggregate == "mean" else text + f"; per-video HR = {c.aggregate} of its clip predictions"
        span = "the whole video" if e.rule == "whole" else f"each {e.window_s:g}-s window (hop {e.hop_s:g} s)"
        text = (
            f"{split}; evaluation rule: {e.rule} -- HR estimated over {span} from a method's pulse "
            f"(Welch spectrum when at least {2 * self.hr.welch_segment_s:g} s long), "
            f"clip predictors scored by the {c.aggregate} of {c.length}-frame "
            f"clips tiled over it; reference over the same span; HR band {lo:g}-{hi:g} bpm"
        )
        if e.rule == "windowed":
            text += f"; per-video HR = {c.aggregate} of its windows"
            # The default is left unsaid, so stored descriptions of plain windowed runs stay the same.
            if e.window_peak != "plain":
                text += f"; window peaks: {e.window_peak} (a recording's windows read jointly)"
        return text


def _get(table: dict[str, Any], key: str, kind: type, default: Any, path: Path, where: str = "") -> Any:
    value = table.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"key {where}{key!r} must be {kind.__name__}, got {value!r}", path)
    return value


def _table(data: dict[str, Any], name: str, known: set[str], path: Path) -> dict[str, Any]:
    """A sub-table, refusing unknown keys (a typo such as ``lenght`` must not pass silently)."""
    t = data.get(name, {})
    if not isinstance(t, dict):
        raise ConfigError(f"[{name}] must be a table", path)
    unknown = set(t) - known
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)} in [{name}]; known: {sorted(known)}", path)
    return t


def _check(ok: bool, message: str, path: Path) -> None:
    if not ok:
        raise ConfigError(message, path)


def _read_toml(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes (its hash is the protocol's identity) and its TOML; one line when it is neither."""
    try:
        raw = path.read_bytes()
        return raw, tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError("protocol file not found", path) from None
    except IsADirectoryError:
        raise ConfigError("protocol path is a directory, not a TOML file", path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid TOML: {exc}", path) from None


def load_protocol(path: Path) -> Protocol:
    """Parse and validate one protocol file (every key and range is checked)."""
    raw, data = _read_toml(path)
    known = {"name", "description", "scope", "split", "k", "seed", "clips", "hr", "evaluation"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)}; known: {sorted(known)}", path)
    name = _get(data, "name", str, path.stem, path)
    _check(
        bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name)) and ".." not in name,
        f"name {name!r} must be 1-64 letters, digits, '_', '-' or '.' (it becomes a file name)",
        path,
    )
    scope = _get(data, "scope", str, "within", path)
    split = _get(data, "split", str, "subject", path)
    _check(scope in _SCOPES, f"scope must be one of {sorted(_SCOPES)}, got {scope!r}", path)
    _check(split in _SPLITS, f"split must be one of {sorted(_SPLITS)}, got {split!r}", path)
    k = _get(data, "k", int, 3, path)
    if scope == "within" and split != "official":
        _check(2 <= k <= 1000, f"k must be in 2..1000, got {k}", path)
    seed = _get(data, "seed", int, 0, path)
    _check(0 <= seed < 2**32, f"seed must be in 0..2**32-1, got {seed}", path)
    c = _table(data, "clips", {"length", "per_video", "fps", "max_lost_fraction", "aggregate"}, path)
    h = _table(data, "hr", {"band_bpm", "resolution_bpm", "filter_order", "welch_segment_s", "welch_overlap"}, path)
    e = _table(data, "evaluation", {"rule", "window_s", "hop_s", "window_peak"}, path)
    clips = _clip_settings(c, path)
    hr = _hr_settings(h, clips, path)
    ev = _eval_settings(e, clips, path)
    return Protocol(
        name=name,
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        description=_get(data, "description", str, "", path),
        scope=scope,
        split=split,
        k=k,
        seed=seed,
        clips=clips,
        hr=hr,
        evaluation=ev,
    )


def _clip_settings(c: dict[str, Any], path: Path) -> ClipSettings:
    """``[clips]``, every value in its range."""
    clips = ClipSettings(
        length=_get(c, "length", int, 300, path, "clips."),
        per_video=_get(c, "per_video", int, 20, path, "clips."),
        fps=_get(c, "fps", float, 30.0, path, "clips."),
        max_lost_fraction=_get(c, "max_lost_fraction", float, 0.1, path, "clips."),
        aggregate=_get(c, "aggregate", str, "mean", path, "clips."),
    )
    _check(clips.aggregate in AGGREGATES,
           f"clips.aggregate must be one of {sorted(AGGREGATES)}, got {clips.aggregate!r}", path)
    _check(32 <= clips.length <= 100_000, f"clips.length must be in 32..100000, got {clips.length}", path)
    _check(1 <= clips.per_video <= 10_000, f"clips.per_video must be in 1..10000, got {clips.per_video}", path)
    _check(1.0 <= clips.fps <= 1000.0, f"clips.fps must be in 1..1000, got {clips.fps:g}", path)
    _check(
        0.0 <= clips.max_lost_fraction <= 1.0,
        f"clips.max_lost_fraction must be in [0, 1], got {clips.max_lost_fraction:g}",
        path,
    )
    return clips


def _hr_settings(h: dict[str, Any], clips: ClipSettings, path: Path) -> HRSettings:
    """``[hr]``: the band must be two numbers whose upper edge the clips' frame rate can represent."""
    band = h.get("band_bpm", [42, 240])
    _check(
        isinstance(band, list) and len(band) == 2
        and all(isinstance(b, int | float) and not isinstance(b, bool) for b in band),
        f"hr.band_bpm must be two numbers [low, high], got {band!r}",
        path,
    )
    try:
        hr = HRSettings(
            band_bpm=(float(band[0]), float(band[1])),
            resolution_bpm=_get(h, "resolution_bpm", float, 0.25, path, "hr."),
            filter_order=_get(h, "filter_order", int, 2, path, "hr."),
            welch_segment_s=_get(h, "welch_segment_s", float, 8.0, path, "hr."),
            welch_overlap=_get(h, "welch_overlap", float, 0.5, path, "hr."),
        )
    except ValueError as exc:
        raise ConfigError(f"[hr]: {exc}", path) from None
    _check(hr.band_bpm[1] / 60.0 < clips.fps / 2,
           f"hr.band_bpm's upper edge must be below the Nyquist rate of clips.fps ({clips.fps:g} fps)", path)
    return hr


def _eval_settings(e: dict[str, Any], clips: ClipSettings, path: Path) -> EvalSettings:
    """``[evaluation]``: the rule, and for ``windowed`` windows of at least one clip."""
    ev = EvalSettings(
        rule=_get(e, "rule", str, "clips", path, "evaluation."),
        window_s=_get(e, "window_s", float, 30.0, path, "evaluation."),
        hop_s=_get(e, "hop_s", float, 15.0, path, "evaluation."),
        window_peak=_get(e, "window_peak", str, "plain", path, "evaluation."),
    )
    _check(ev.rule in RULES, f"evaluation.rule must be one of {list(RULES)}, got {ev.rule!r}", path)
    _check(
        ev.window_peak in WINDOW_PEAKS,
        f"evaluation.window_peak must be one of {list(WINDOW_PEAKS)}, got {ev.window_peak!r}",
        path,
    )
    _check(
        ev.window_peak == "plain" or ev.rule == "windowed",
        f"evaluation.window_peak = {ev.window_peak!r} applies to rule = \"windowed\" only, not {ev.rule!r}",
        path,
    )
    if ev.rule == "windowed":
        clip_s = clips.length / clips.fps
        _check(
            clip_s <= ev.window_s <= 3600,
            f"evaluation.window_s must be at least one clip ({clip_s:g} s) and at most 3600, got {ev.window_s:g}",
            path,
        )
        _check(0 < ev.hop_s <= ev.window_s, f"evaluation.hop_s must be in (0, window_s], got {ev.hop_s:g}", path)
    return ev


def protocol_dirs(extra: Sequence[str] = ()) -> list[Path]:
    return [BUILTIN_DIR, *(Path(p) for p in extra)]


def available_protocols(extra: Sequence[str] = ()) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in protocol_dirs(extra):
        if d.is_dir():
            for f in sorted(d.glob("*.toml")):
                found.setdefault(f.stem, f)
    return found


def find_protocol(name_or_path: str, extra: Sequence[str] = ()) -> Protocol:
    """A protocol by name (``subject_exclusive``) or by path to a TOML file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return load_protocol(p)
    table = available_protocols(extra)
    if name_or_path not in table:
        raise ConfigError(f"unknown protocol {name_or_path!r}; known: {', '.join(sorted(table))}")
    return load_protocol(table[name_or_path])
