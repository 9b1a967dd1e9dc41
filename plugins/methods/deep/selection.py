"""Which training clips a supervised method uses: a cap, spread over videos.

Learned methods on a CPU budget cannot use every clip of every training video
(SynRhythm samples 100 per 30-s video).  :func:`select_training` keeps clips
with a finite reference HR, shuffles them within each recording with the run
seed and deals them out one recording at a time, so any prefix keeps every
video represented as evenly as possible.  (The paper's Fig. 6 fractions are
the runner's ``--train-fraction``, applied to every method alike.)

The policy itself -- the round-robin order, the fraction subset and the
capped selection -- lives in the core, :mod:`hrbench.clips.subsets`, so the
runner's fraction and the methods' caps cannot drift apart.
"""

from __future__ import annotations

from hrbench.api import select_training

__all__ = ["select_training"]
