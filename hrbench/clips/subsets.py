"""Which training clips are used: the whole training-subset policy, in one place.

Two things shrink a fold's training set, and both take a prefix of one
order, :func:`round_robin` (clips shuffled within each recording, then dealt
one recording at a time), so that a reduced set never loses a video by
chance:

* the run's ``--train-fraction`` (SynRhythm Fig. 6): the runner keeps that
  share of every fold's training clips for every method alike
  (:func:`fold_subset`, :func:`spread_subset`);
* a learned method's cap on its training clips (SynRhythm samples 100 per
  30-s video): :func:`select_training` keeps clips with a finite reference
  HR up to the cap, and shrinks the cap by the run's fraction -- otherwise a
  cap below the training set's size would hide the reduction (Fig. 6 would
  show a flat curve).

Each draw has its own seed stream (the run seed with a fixed salt), so the
two never pick the same clips by construction, and the same seed gives the
same subset on every machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, HrbenchError
from ..plugin.clips import Clips

#: Salts of the two draws' random streams (``default_rng([seed, salt])``).
FRACTION_SALT = 0xF6
CAP_SALT = 0xC11F
#: Fold ``k`` of a run with seed ``s`` draws its fraction with seed ``s + FOLD_STRIDE * k``.
FOLD_STRIDE = 7919


def round_robin(recording_ids: np.ndarray, candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``candidates`` (clip indices) reordered so any prefix spreads over recordings evenly.

    Clips are shuffled within each recording and dealt one recording at a
    time: the first k of the result hold about k / n_recordings clips of
    every recording.  The runner's ``--train-fraction`` and the learned
    methods' training-clip caps both take prefixes of it, so a reduced
    training set never loses a video by chance.
    """
    perm = np.asarray(candidates)[rng.permutation(len(candidates))]
    rank = np.empty(len(perm), dtype=np.int64)
    seen: dict[object, int] = {}
    for i, rid in enumerate(np.asarray(recording_ids)[perm]):
        rank[i] = seen.get(rid, 0)
        seen[rid] = rank[i] + 1
    return perm[np.argsort(rank, kind="stable")]


def spread_subset(recording_ids: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of ``fraction`` of the clips, dealt round-robin over recordings (see :func:`round_robin`)."""
    n = max(1, int(round(len(recording_ids) * fraction)))
    order = round_robin(recording_ids, np.arange(len(recording_ids)), np.random.default_rng([seed, FRACTION_SALT]))
    return np.sort(order[:n])


def fold_subset(recording_ids: np.ndarray, fraction: float, seed: int, fold: int) -> np.ndarray | None:
    """The ``--train-fraction`` share of fold ``fold``'s training clips (None: the fraction is 1, keep all)."""
    if fraction >= 1:
        return None
    return spread_subset(recording_ids, fraction, seed + FOLD_STRIDE * fold)


def scaled_cap(cap: int, fraction: float) -> int:
    """A method's training-clip cap under ``--train-fraction`` (0: no cap, unchanged)."""
    return max(1, round(cap * fraction)) if cap > 0 and fraction < 1 else cap


def select_training(
    recording_ids: np.ndarray, labels: np.ndarray, max_maps: int, seed: int, fraction: float = 1.0
) -> np.ndarray:
    """Indices of the training clips to use: finite labels, round-robin over recordings.

    Clips are shuffled within each recording and taken one per recording in
    turn, so a cap keeps every video represented.  ``fraction`` is the run's
    ``--train-fraction`` (``RunContext.train_fraction``): the runner has
    already kept that share of the clips, so the cap shrinks by it too
    (:func:`scaled_cap`).  ``max_maps`` 0: no cap.
    """
    max_maps = scaled_cap(max_maps, fraction)
    ok = np.flatnonzero(np.isfinite(labels))
    order = round_robin(recording_ids, ok, np.random.default_rng([seed, CAP_SALT]))
    if max_maps > 0:
        order = order[:max_maps]
    return np.sort(order)


def training_clips(method: Any, clips: Clips, cap: int) -> tuple[Clips, np.ndarray]:
    """The clips a supervised ``method`` trains on: labelled, finite, at most ``cap``, spread over videos.

    The preamble every learned method's ``fit`` shares (one place, one set of
    messages): labels are required, the run's seed and ``--train-fraction``
    come from its context, and fewer than two usable clips is a one-line error.
    Returns the selected clips and their indices in ``clips``.
    """
    if clips.hr is None:
        raise ConfigError(f"method {method.name} is supervised: fit needs labelled clips")
    ctx = method.context
    hr = np.asarray(clips.hr, dtype=np.float64)
    idx = select_training(clips.recording_ids, hr, cap, ctx.seed, ctx.train_fraction)
    if len(idx) < 2:
        raise HrbenchError(f"method {method.name}: needs at least 2 training clips with a finite reference HR, "
                           f"got {len(idx)}")
    return clips.subset(idx), idx
