"""Which training clips a supervised method uses: a cap and a fraction, spread over videos.

Learned methods on a CPU budget cannot use every clip of every training video
(SynRhythm samples 100 per 30-s video), and the paper's Fig. 6 trains on 1/2
and 1/4 of the clips.  :func:`select_training` keeps clips with a finite
reference HR, shuffles them within each recording with the run seed and deals
them out one recording at a time, so any prefix -- the cap first, then the
fraction -- keeps every video represented as evenly as possible.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def select_training(recording_ids: np.ndarray, labels: np.ndarray, max_maps: int, fraction: float, seed: int) -> np.ndarray:
    """Indices of the training clips to use: finite labels, round-robin over recordings.

    Clips are shuffled within each recording and taken one per recording in
    turn, so a cap keeps every video represented; ``fraction`` is applied
    after the cap.
    """
    ok = np.flatnonzero(np.isfinite(labels))
    rng = np.random.default_rng([seed, 0xC11F])
    perm = ok[rng.permutation(len(ok))]
    rank = np.empty(len(perm), dtype=np.int64)
    seen: dict[Any, int] = {}
    for i, rid in enumerate(recording_ids[perm]):
        rank[i] = seen.get(rid, 0)
        seen[rid] = rank[i] + 1
    order = perm[np.argsort(rank, kind="stable")]
    if max_maps > 0:
        order = order[:max_maps]
    keep = max(1, math.ceil(fraction * len(order))) if len(order) else 0
    return np.sort(order[:keep])
