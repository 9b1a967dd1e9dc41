"""Several nets per fold, each with its own seed; the prediction is their mean (``members``).

Why: between training seeds a learned row's MAE moves by about as much as a
recipe change does -- held-out subjects, resampling draws, pretraining and
initialisation all come from the seed.  That seed-dependent part of a net's
error differs between nets and averages out over them.  Member 0 keeps the
run's seed, so one member is exactly the plain method; the others get seeds
hashed from (run seed, member) into 31 bits, so they practically never equal
another run seed (a member 0).  Importable without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

#: Salt of the seeds of ensemble members past the first.
MEMBER_SALT = 0xE45E

T = TypeVar("T")


def member_seed(seed: int, member: int) -> int:
    """The seed of ensemble member ``member``; member 0 keeps ``seed``, so one member is the plain method."""
    if member == 0:
        return seed
    return int(np.random.SeedSequence([seed, MEMBER_SALT, member]).generate_state(1)[0] >> 1)


def fit_members(method: Any, members: int, fit_one: Callable[[int], T]) -> list[T]:
    """Call ``fit_one(m)`` for every member, with ``method.context.seed`` set to the member's seed.

    The run's notes (``method.run_notes``) are the first member's: a learning
    curve or best epoch of several nets would not be one curve.  The
    method's context and notes are restored even if a member fails.
    """
    base, notes = method.context, method.run_notes
    out = []
    try:
        for m in range(members):
            if m:
                method.context, method.run_notes = replace(base, seed=member_seed(base.seed, m)), {}
            out.append(fit_one(m))
    finally:
        method.context, method.run_notes = base, notes
    return out
