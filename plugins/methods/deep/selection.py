"""Which training clips a supervised method uses: a cap, spread over videos.

Learned methods on a CPU budget cannot use every clip of every training video
(SynRhythm samples 100 per 30-s video).  :func:`select_training` keeps clips
with a finite reference HR, shuffles them within each recording with the run
seed and deals them out one recording at a time, so any prefix keeps every
video represented as evenly as possible.  (The paper's Fig. 6 fractions are
the runner's ``--train-fraction``, applied to every method alike.)
"""

from __future__ import annotations

import numpy as np

from hrbench.sampling import round_robin


def select_training(
    recording_ids: np.ndarray, labels: np.ndarray, max_maps: int, seed: int, fraction: float = 1.0
) -> np.ndarray:
    """Indices of the training clips to use: finite labels, round-robin over recordings.

    Clips are shuffled within each recording and taken one per recording in
    turn, so a cap keeps every video represented.  ``fraction`` is the run's
    ``--train-fraction`` (``RunContext.train_fraction``): the runner has
    already kept that share of the clips, so the cap shrinks by it too --
    otherwise a cap below the training set's size would hide the reduction
    (SynRhythm Fig. 6 would show a flat curve).
    """
    if max_maps > 0 and fraction < 1:
        max_maps = max(1, round(max_maps * fraction))
    ok = np.flatnonzero(np.isfinite(labels))
    order = round_robin(recording_ids, ok, np.random.default_rng([seed, 0xC11F]))
    if max_maps > 0:
        order = order[:max_maps]
    return np.sort(order)
