"""``hrbench compare``: a subject-level paired test of two methods on one board.

Why on subjects: a subject's videos share a face, a camera and a recording
session, so their errors are not independent; pairing the two methods'
errors video by video and testing on subjects keeps the unit of
independence the boards use (:mod:`hrbench.boards.inference`).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..store.store import Store
from .boards import Board, Row, build_boards
from .inference import (
    MC_RESAMPLES,
    PERM_SEED,
    format_p,
    paired_abs_errors,
    subject_errors,
    subject_permutation_test,
    subject_wilcoxon,
)


def _check_pairable(ra: Row, rb: Row) -> None:
    for field in ("protocol_sha256", "fingerprint"):
        va, vb = getattr(ra, field), getattr(rb, field)
        if va and vb and va != vb:
            raise ConfigError(f"{ra.label} and {rb.label} ran under different {field.replace('_', ' ')}s "
                              f"({va[:12]} vs {vb[:12]}); their errors cannot be paired")


def paired_errors(ra: Row, rb: Row) -> tuple[np.ndarray, np.ndarray]:
    """Absolute errors of two rows on the videos both predicted, aligned by recording id.

    For a row averaged over training seeds each video's error is the mean
    over seeds of its absolute error.  Refuses (ConfigError) rows from
    different protocol hashes or dataset fingerprints, and rows with no
    recording in common: an empty or mismatched pairing is a mistake, not a
    result.
    """
    _check_pairable(ra, rb)
    ea, eb, _ = paired_abs_errors(ra, rb)
    if len(ea) == 0:
        raise ConfigError(f"{ra.label} and {rb.label} have no recordings in common; nothing to pair")
    return ea, eb


def _find(board: Board, method: str) -> Row | None:
    rows = board.ranked
    exact = [r for r in rows if r.label.rstrip(" †") == method]
    if exact:
        return exact[0]
    named = [r for r in rows if r.method == method]
    if len(named) > 1:
        labels = ", ".join(r.label.rstrip(" †") for r in named)
        raise ConfigError(f"{method!r} has several rows on {board.name}: {labels}; name one of them")
    return named[0] if named else None


def compare(store: Store, a: str, b: str, dataset: str, protocol: str) -> str:
    """``hrbench compare``: a paired, subject-level test of two methods' errors on one board.

    Both methods must sit on one board (same protocol hash and dataset
    fingerprint).  Where several boards hold both (e.g. cross-database ones),
    the within-dataset board comes first, then the newest.  Every refusal is
    a one-line :class:`~hrbench.errors.ConfigError` (exit status 2).
    """
    boards = build_boards(store, dataset, protocol)
    if not boards:
        raise ConfigError(f"no runs for {dataset} · {protocol} in the store")
    for m in (a, b):
        for board in boards:
            nr = next((n for n in board.not_run if n.method == m or f"{n.method} ({n.profile})" == m), None)
            if nr is not None and _find(board, m) is None:
                raise ConfigError(f"{m} was not run on {board.name}: {nr.reason}")
    found = {m: [bd for bd in boards if _find(bd, m) is not None] for m in (a, b)}
    for m in (a, b):
        if not found[m]:
            have = sorted({r.label.rstrip(" †") for bd in boards for r in bd.ranked})
            raise ConfigError(f"method {m!r} has no run on {dataset} · {protocol}; have: {have}")
    both = [bd for bd in found[a] if bd in found[b]]
    if not both:
        raise ConfigError(
            f"{a} ({found[a][0].name}) and {b} ({found[b][0].name}) never ran under the same protocol hash and dataset "
            "fingerprint; their errors cannot be paired"
        )
    both.sort(key=lambda bd: (max((r["created_at"], r["run_key"]) for r in bd.runs), bd.name), reverse=True)
    board = sorted(both, key=lambda bd: bd.cross)[0]  # stable: newest within-dataset board first
    ra, rb = _find(board, a), _find(board, b)
    assert ra is not None and rb is not None
    _check_pairable(ra, rb)
    ea, eb, subjects = paired_abs_errors(ra, rb)
    if len(ea) == 0:
        raise ConfigError(f"{a} and {b} have no recordings in common on {board.name}; nothing to pair")
    perm = subject_permutation_test(ea, eb, subjects)
    wil = subject_wilcoxon(ea, eb, subjects, a, b)
    sa, sb = subject_errors(ea, subjects).mean(), subject_errors(eb, subjects).mean()
    if perm.p_value < 0.05:
        better, worse = (a, b) if perm.mean_diff < 0 else (b, a)
        verdict = f"{better} is better than {worse} (p = {format_p(perm.p_value)}, {perm.n_subjects} subjects)"
    else:
        verdict = f"not distinguishable (p = {format_p(perm.p_value)}, {perm.n_subjects} subjects)"
    seeds = "".join(f"; {r.label.rstrip(' †')}: mean of {len(r.seeds)} seeds" for r in (ra, rb) if len(r.seeds) > 1)
    kind = "exact" if perm.exact else f"Monte Carlo, {MC_RESAMPLES} resamples, seed {PERM_SEED}"
    return (
        f"{a} vs {b} on {board.name}: {len(ea)} paired recordings of {perm.n_subjects} subjects{seeds}\n"
        f"  MAE {a} = {np.mean(ea):.2f} bpm, MAE {b} = {np.mean(eb):.2f} bpm over videos; "
        f"mean per-subject MAE {sa:.2f} vs {sb:.2f} bpm (difference {perm.mean_diff:.2f} bpm)\n"
        f"  subject sign-flip permutation test ({kind}): p = {perm.p_value:.3g}\n"
        f"  Wilcoxon signed-rank on per-subject MAE: W = {wil.statistic:.1f}, p = {wil.p_value:.3g}\n"
        f"  verdict: {verdict}"
    )
