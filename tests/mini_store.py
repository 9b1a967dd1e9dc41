"""A miniature results store written through :class:`hrbench.store.store.Store` (no videos): what the site and
frames tests read.

Two boards on one dataset (``mini``): ``mini-subject_exclusive`` with three
methods (one of them with two training seeds and learning curves), a
not-run stage and the training-mean baseline, so the board has tests, a
Friedman/critical-difference diagram and notes; and ``mini-windowed`` with
per-window rows (some declined).  Method names are chosen so that their
alphabetical order differs from their rank by MAE (``zeta`` best, ``alpha``
worst), which is what a sorting test needs to see rows move.  Every video
carries ``meta``: a categorical ``scenario`` and ``skin_tone`` and a numeric
``light_level``.  One more run (``se-zeta-5``) was interrupted before any
fold: it is not complete, so it is on no board.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hrbench.store.store import FoldResult, Store

N_SUBJECTS = 8
SCENARIOS = ("still", "talking")
TONES = ("II", "V")
REF = {f"s{s:02d}v{v}": 62.0 + 5.0 * s + 3.0 * v for s in range(N_SUBJECTS) for v in range(2)}
TRAIN_HR = [70.0, 90.0]  # the baseline predicts 80
CLIPS_DESC = "2-fold subject-exclusive split, seed 0; per-video HR = median of its clip predictions"
WINDOWED_DESC = ("2-fold subject-exclusive split, seed 0; evaluation rule: windowed -- HR over each 10-s window "
                 "(hop 5 s); "
                 "per-video HR = median of its windows")
#: method -> typical |error| (bpm); zeta is best, alpha worst.
SCALE = {"zeta": 0.8, "mid": 3.0, "alpha": 9.0}


def subject(rid: str) -> str:
    return f"p{rid[1:3]}"


def meta(rid: str) -> dict[str, object]:
    s, v = int(rid[1:3]), int(rid[-1])
    return {"scenario": SCENARIOS[v], "skin_tone": TONES[s % 2], "light_level": round(0.2 + 0.1 * s + 0.05 * v, 3)}


def _run_row(method: str, protocol: str, desc: str, seed: int, created: str,
             notes: dict | None = None) -> dict[str, object]:
    return {
        "method": method, "profile": "default", "params_json": json.dumps({"window_s": 6.0} if method == "mid" else {}),
        "protocol": protocol, "protocol_path": f"protocols/{protocol}.toml", "protocol_sha256": (protocol[0] * 64),
        "protocol_desc": desc, "dataset": "mini", "dataset_label": "", "train_dataset": "mini",
        "dataset_fingerprint": "0123456789abcdef", "seed": seed, "train_fraction": 1.0,
        "versions_json": json.dumps({"hrbench": "0.1.0", "numpy": "2.0",
                                     "thread_plan": {"cpus": 2, "workers": 2, "threads": 1}},
                                    sort_keys=True),
        "notes_json": json.dumps(notes or {}), "skipped_json": "[]", "n_folds": 2, "complete": 1, "created_at": created,
        "command": f"hrbench run --method {method} --protocol {protocol} --seeds {seed + 1}", "threads": 2,
    }


def _errors(method: str, seed: int, rng: np.random.Generator) -> dict[str, float]:
    out = {}
    for rid in sorted(REF):
        sign = 1.0 if (int(rid[1:3]) + seed) % 2 else -1.0
        out[rid] = float(sign * SCALE[method] * (0.5 + rng.random()))
    return out


def _folds(rid: str) -> int:
    return int(rid[1:3]) % 2


def write_mini_store(path: Path) -> Path:
    """Write the miniature store at ``path`` (a new file) and return ``path``."""
    store = Store(path)
    rng = np.random.default_rng(7)
    minute = 0

    def created() -> str:
        nonlocal minute
        minute += 1
        return f"2024-01-01T00:{minute:02d}:00+00:00"

    try:
        for method, seeds in (("zeta", (0,)), ("mid", (0,)), ("alpha", (0, 1))):
            for seed in seeds:
                key = f"se-{method}-{seed}"
                notes = {"init": "random", "train_maps": [8, 8]} if method == "alpha" else {}
                store.ensure_run(key, _run_row(method, "subject_exclusive", CLIPS_DESC, seed, created(), notes))
                err = _errors(method, seed, rng)
                for fold in (0, 1):
                    ids = [rid for rid in sorted(REF) if _folds(rid) == fold]
                    videos = [(rid, subject(rid), REF[rid] + err[rid], REF[rid], meta(rid)) for rid in ids]
                    clips = [(rid, j, 10.0 * j, REF[rid] + err[rid], REF[rid]) for rid in ids for j in range(2)]
                    fold_notes = {"fold_note": fold}
                    if method == "alpha":
                        fold_notes["learning_curve"] = {"epoch": [1, 2, 3], "train_l1": [9.0, 6.0, 5.0 + seed],
                                                        "heldout_l1": [10.0, 8.0, 7.5]}
                    store.write_fold(key, FoldResult(fold, 4, 40, TRAIN_HR, 1.5, 0.25, clips, videos, fold_notes))
        store.ensure_run("se-deep-0", _run_row("deep", "subject_exclusive", CLIPS_DESC, 0, created(),
                                               {"not_run": "deep needs weights at /nowhere/w.pth (hrbench never "
                                                           "downloads)"}))
        interrupted = _run_row("zeta", "subject_exclusive", CLIPS_DESC, 5, created())
        store.ensure_run("se-zeta-5", {**interrupted, "complete": 0})  # stopped before its folds: on no board
        for method in ("zeta", "alpha"):
            key = f"win-{method}-0"
            store.ensure_run(key, _run_row(method, "windowed", WINDOWED_DESC, 0, created()))
            err = _errors(method, 0, rng)
            for fold in (0, 1):
                ids = [rid for rid in sorted(REF) if _folds(rid) == fold]
                units = [(rid, j, 5.0 * j,
                          None if (j == 2 and rid.endswith("1")) else REF[rid] + err[rid] * (1 + 0.1 * j), REF[rid])
                         for rid in ids for j in range(3)]
                videos = [(rid, subject(rid), REF[rid] + err[rid], REF[rid], meta(rid)) for rid in ids]
                store.write_fold(key, FoldResult(fold, 4, 40, TRAIN_HR, 0.5, 0.1, units, videos))
    finally:
        store.close()
    return path
