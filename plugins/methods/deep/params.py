"""The training parameters the learned map methods share (SynRhythm stages, RhythmNet variants).

Why one declaration: both families train a width-scaled ResNet-18 on maps of
face clips with Adam, the same held-out subjects, the same cap on training
clips and the same heads, so their bounds, types and (mostly) defaults must
not drift apart.  What differs is what each paper says about a setting; a
method passes those remarks in ``notes`` (they end up in ``hrbench methods``)
and may give a shared parameter a default of its own.  Importable without
torch: listing plugins must not pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from hrbench.api import Param

from .heads import HEADS, READOUTS

#: The remarks a method writes about its paper, one per parameter that cites it.
NOTED = ("epochs", "lr", "batch_size", "detrend_hz", "holdout", "head")


def training_params(notes: Mapping[str, str], **defaults: Any) -> dict[str, Param]:
    """``epochs``, ``lr``, ``batch_size``, ``width``, ``time_pool``, ``detrend_hz``, ``max_train_maps``,
    ``holdout``, ``head`` and ``readout``, with each method's remarks and defaults.

    ``notes["epochs"]`` is that parameter's whole help text; the others are
    the remark in parentheses (``"paper: 0.001"``).  ``defaults`` overrides
    a shared default (e.g. ``head="bins"``).
    """
    if set(notes) != set(NOTED):
        raise ValueError(f"training_params: notes must name exactly {NOTED}, got {sorted(notes)}")
    n = notes
    params = {
        "epochs": Param(10, n["epochs"], int, low=1, high=1000),
        "lr": Param(1e-3, f"Adam learning rate ({n['lr']})", float, low=1e-6, high=1.0),
        "batch_size": Param(32, f"mini-batch size ({n['batch_size']})", int, low=2, high=4096),
        "width": Param(16, "ResNet-18 width: channels of the first stage (64 = the real ResNet-18)", int,
                       choices=(8, 16, 32, 64)),
        "time_pool": Param(2, "average this many consecutive frames (2: 30 fps -> 15 fps)", int, choices=(1, 2, 3)),
        "detrend_hz": Param(0.5, "high-pass every map row at this cut-off (Hz) before min-max scaling "
                                 f"(0 = off, {n['detrend_hz']})", float, low=0.0, high=0.7),
        "max_train_maps": Param(600, "at most this many training clips per fold, spread over videos (0 = all)", int,
                                low=0),
        "holdout": Param(0.15, "share of the training subjects held out to measure the held-out loss per epoch and "
                               f"keep the best epoch (0 = none: train on all, keep the last epoch{n['holdout']})",
                         float, low=0.0, high=0.5),
        "head": Param("regression", f"'regression' ({n['head']}: one output, L1 loss) or 'bins' (a distribution "
                                    "over 1-bpm bins trained against a Gaussian around the reference, read as "
                                    "`readout` says)", str, choices=HEADS),
        "readout": Param("mean", "how the bins head reads its distribution: 'mean' (of every bin) or 'peak' (of the "
                                 "bins within 9 bpm of the most probable one, so a second mode -- a harmonic, a "
                                 "noise peak -- does not pull the answer towards the band's centre); the "
                                 "regression head ignores it", str, choices=READOUTS, legacy="mean"),
    }
    unknown = set(defaults) - set(params)
    if unknown:
        raise ValueError(f"training_params: no shared parameter(s) {sorted(unknown)}")
    for name, value in defaults.items():
        p = params[name]
        params[name] = replace(p, default=value)
    return params
