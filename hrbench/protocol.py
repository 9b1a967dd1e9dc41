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
import tomllib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError
from .hr import HRSettings
from .recording import Recording

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "protocols"
_SCOPES = {"within", "cross"}
_SPLITS = {"random", "subject", "official"}
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
            split = f"{self.k}-fold {'subject-exclusive' if self.split == 'subject' else 'random'} split, seed {self.seed}"
        c = self.clips
        lo, hi = self.hr.band_bpm
        text = (
            f"{split}; clips of {c.length} frames at {c.fps:g} fps, {c.per_video} per video; "
            f"HR band {lo:g}-{hi:g} bpm"
        )
        # The default is left unsaid, so descriptions stored before the option existed stay true.
        return text if c.aggregate == "mean" else text + f"; per-video HR = {c.aggregate} of its clip predictions"


def _get(table: dict[str, Any], key: str, kind: type, default: Any, path: Path) -> Any:
    value = table.get(key, default)
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"key {key!r} must be {kind.__name__}, got {value!r}", path)
    return value


def load_protocol(path: Path) -> Protocol:
    """Parse and validate one protocol file."""
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError("protocol file not found", path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid TOML: {exc}", path) from None
    known = {"name", "description", "scope", "split", "k", "seed", "clips", "hr"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)}; known: {sorted(known)}", path)
    scope = _get(data, "scope", str, "within", path)
    split = _get(data, "split", str, "subject", path)
    if scope not in _SCOPES:
        raise ConfigError(f"scope must be one of {sorted(_SCOPES)}, got {scope!r}", path)
    if split not in _SPLITS:
        raise ConfigError(f"split must be one of {sorted(_SPLITS)}, got {split!r}", path)
    k = _get(data, "k", int, 3, path)
    if scope == "within" and split != "official" and k < 2:
        raise ConfigError(f"k must be at least 2, got {k}", path)
    c = data.get("clips", {})
    h = data.get("hr", {})
    clips = ClipSettings(
        length=_get(c, "length", int, 300, path),
        per_video=_get(c, "per_video", int, 20, path),
        fps=_get(c, "fps", float, 30.0, path),
        max_lost_fraction=_get(c, "max_lost_fraction", float, 0.1, path),
        aggregate=_get(c, "aggregate", str, "mean", path),
    )
    if clips.aggregate not in AGGREGATES:
        raise ConfigError(f"clips.aggregate must be one of {sorted(AGGREGATES)}, got {clips.aggregate!r}", path)
    if clips.length < 32 or clips.per_video < 1 or clips.fps <= 0:
        raise ConfigError("clips.length must be >= 32, clips.per_video >= 1 and clips.fps > 0", path)
    band = h.get("band_bpm", [42, 240])
    try:
        hr = HRSettings(
            band_bpm=(float(band[0]), float(band[1])),
            resolution_bpm=_get(h, "resolution_bpm", float, 0.25, path),
        )
    except (ValueError, TypeError, IndexError) as exc:
        raise ConfigError(f"[hr]: {exc}", path) from None
    return Protocol(
        name=_get(data, "name", str, path.stem, path),
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        description=_get(data, "description", str, "", path),
        scope=scope,
        split=split,
        k=k,
        seed=_get(data, "seed", int, 0, path),
        clips=clips,
        hr=hr,
    )


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
