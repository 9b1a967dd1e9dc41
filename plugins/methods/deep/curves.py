"""Learning curves for the learned methods: a subject-exclusive held-out part of the training set.

Why: a net that "trains" (its training L1 falls) while predicting close to
the training mean has memorised clips instead of learning to read a pulse;
only a loss on *other people* shows that, epoch by epoch.  The fold's test
subjects must not be looked at during ``fit``, so the held-out subjects come
from the training set: a share of its subjects (drawn with the run seed) is
set aside, the held-out L1 is measured after every epoch, and the weights of
the best epoch are kept -- ``epochs`` is then a maximum, as in SynRhythm's
"a maximum of 30 epochs".  With ``holdout`` 0 the net trains on everything
and keeps its last epoch (the papers' recipe); the curve then has the
training loss only.

The curve is stored with the run (``run_notes["learning_curve"]``: epoch,
train_l1, heldout_l1 lists) and drawn for the learned rows of a board.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: Salt of the generator that picks the held-out subjects (independent of other draws of the seed).
HOLDOUT_SALT = 0x4E1D


def heldout_split(subjects: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(fit, held)`` of clips: ``share`` of the subjects held out, whole subjects only.

    At least one subject is held out when ``share`` > 0 and the training set
    has three subjects or more; at least two always remain to fit on.
    """
    subjects = np.asarray(subjects).astype(str)
    everyone = np.arange(len(subjects))
    people = np.unique(subjects)
    if share <= 0 or len(people) < 3:
        return everyone, np.empty(0, dtype=np.int64)
    n_held = min(len(people) - 2, max(1, int(round(share * len(people)))))
    held_people = np.random.default_rng([seed, HOLDOUT_SALT]).choice(people, size=n_held, replace=False)
    held = np.isin(subjects, held_people)
    return everyone[~held], everyone[held]


def fit_with_curve(
    method: Any,
    model: Any,
    data: Callable[[int], tuple[np.ndarray, np.ndarray]],
    *,
    heldout: tuple[np.ndarray, np.ndarray] | None,
    advance: Callable[..., None] | None = None,
) -> list[float]:
    """Train ``model`` with the method's settings and record its learning curve in ``method.run_notes``.

    ``method`` supplies ``epochs``, ``batch_size``, ``lr`` and its run context
    (seed, device).  Returns the training L1 of every epoch.
    """
    from .train import train_regressor

    history: list[float] = []
    losses = train_regressor(
        model, data, epochs=method.epochs, batch_size=method.batch_size, lr=method.lr,
        seed=method.context.seed, device=method.context.device, advance=advance,
        validation=heldout, val_history=history if heldout is not None else None,
    )
    curve: dict[str, list[float]] = {
        "epoch": list(range(1, len(losses) + 1)),
        "train_l1": [round(float(v), 3) for v in losses],
    }
    if heldout is not None:
        curve["heldout_l1"] = [round(float(v), 3) for v in history]
        method.run_notes["best_epoch"] = int(np.argmin(history)) + 1
        method.run_notes["heldout_maps"] = len(heldout[1])
    method.run_notes["learning_curve"] = curve
    return losses
