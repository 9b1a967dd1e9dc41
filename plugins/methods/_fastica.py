"""Symmetric FastICA (logcosh contrast) of many small problems at once.

Why a batched FastICA: the ICA-based methods (``ica``, ``svr``) unmix the
three colour traces of every clip, and a benchmark run has thousands of
clips.  Fitting one ``sklearn.decomposition.FastICA`` estimator per clip
costs milliseconds, mostly Python overhead for a problem of a few thousand
numbers (``benchmarks/bench_ica.py`` measures it); :func:`fastica_batch` runs
the same fixed-point iteration on all clips at once with array operations,
so the overhead is paid once per batch.

The algorithm is scikit-learn's ``FastICA(algorithm="parallel",
fun="logcosh", whiten="unit-variance")`` (Hyvarinen 1999, symmetric
decorrelation ``W <- (W W^T)^(-1/2) W``, contrast ``G(u) = log cosh u`` so
``g = tanh``, stop when ``max_i | |<w_i, w_i_old>| - 1 | < tol``).  By
default two details differ from scikit-learn without changing the model:
the data are whitened with the eigenvectors of the sample covariance in
``numpy.linalg.eigh`` order, and the initial unmixing matrix is drawn with
``numpy.random.default_rng(seed)`` (``svr``'s features were built that way).
``like_sklearn=True`` whitens in scikit-learn's basis and draws its initial
matrix, so each problem follows the iterates of ``FastICA(random_state=seed)``
up to rounding -- including where it converges or not, which matters: on
traces with two near-Gaussian sources (noise, motion) FastICA may wander
between equally good rotations and stop at ``max_iter`` from one start but
not from another (``ica`` uses it, so its results stay those of the
per-clip scikit-learn estimator it replaced).

Batch independence: every problem starts from the same ``w0`` (drawn once
from ``seed``), is iterated with per-problem arithmetic only, and is frozen
as soon as it converges, so a problem's result does not depend on which
other problems share its batch.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, overload

import numpy as np


class FastICAResult(NamedTuple):
    """What :func:`fastica_batch` returns with ``return_info=True``."""

    #: Unit-variance components ``(n, c, T)``; for a degenerate problem, its
    #: whitened data (0 where not finite) -- not a separation.
    sources: np.ndarray
    #: ``(n,)`` True where the iteration met ``tol`` within ``max_iter``
    #: (always False for a degenerate problem).
    converged: np.ndarray
    #: ``(n,)`` True where the input is not finite or its channels have rank < c.
    degenerate: np.ndarray
    #: ``(n,)`` fixed-point iterations run (0 for a degenerate problem).
    n_iter: np.ndarray


def _sym_decorrelate(w: np.ndarray) -> np.ndarray:
    """W <- (W W^T)^(-1/2) W for a batch of square matrices."""
    vals, vecs = np.linalg.eigh(w @ np.swapaxes(w, -1, -2))
    inv_sqrt = (vecs / np.sqrt(np.clip(vals, 1e-12, None))[..., None, :]) @ np.swapaxes(vecs, -1, -2)
    return inv_sqrt @ w


def _whitened(z: np.ndarray, like_sklearn: bool) -> tuple[np.ndarray, np.ndarray]:
    """Whitened ``(n, c, T)`` channels (identity covariance) and ``(n,)`` True where that was possible.

    A clip whose channels are not finite or of rank < c is left unusable (False).
    ``like_sklearn`` orders the basis as scikit-learn does: decreasing variance,
    the first entry of each eigenvector positive.
    """
    T = z.shape[-1]
    finite = np.isfinite(z).all(axis=(1, 2))
    x = z - z.mean(axis=-1, keepdims=True)
    xs = x if finite.all() else np.where(finite[:, None, None], x, 0.0)
    vals, vecs = np.linalg.eigh(xs @ np.swapaxes(xs, -1, -2) / T)  # (n, c), (n, c, c)
    ok = finite & (vals.min(axis=-1) > 1e-10 * np.maximum(vals.max(axis=-1), 1e-30))
    if like_sklearn:
        vals, vecs = vals[..., ::-1], vecs[..., ::-1]
        vecs = vecs * np.where(vecs[..., :1, :] < 0, -1.0, 1.0)
    k = np.swapaxes(vecs, -1, -2) / np.sqrt(np.clip(vals, 1e-30, None))[..., :, None]  # whitening D^-1/2 E^T
    return k @ x, ok


def _iterate(w: np.ndarray, xw: np.ndarray, ok: np.ndarray, max_iter: int, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Run the symmetric fixed-point iteration on ``w`` in place; ``(converged, n_iter)`` per problem.

    Only the usable problems (``ok``) iterate, each until its own change drops below ``tol``.
    """
    n, T = len(w), xw.shape[-1]
    active = ok.copy()
    converged = np.zeros(n, dtype=bool)
    n_iter = np.zeros(n, dtype=np.int64)
    for _ in range(max_iter):
        if not active.any():
            break
        wa, xa = w[active], xw[active]
        g = np.tanh(wa @ xa)  # (m, c, T)
        w_new = (g @ np.swapaxes(xa, -1, -2)) / T - (1 - g**2).mean(axis=-1)[..., None] * wa
        w_new = _sym_decorrelate(w_new)
        lim = np.abs(np.abs(np.einsum("mij,mij->mi", w_new, wa)) - 1).max(axis=-1)
        idx = np.flatnonzero(active)
        w[idx] = w_new
        n_iter[idx] += 1
        done = idx[lim < tol]
        converged[done] = True
        active[done] = False
    return converged, n_iter


@overload
def fastica_batch(
    z: np.ndarray, seed: int = ..., max_iter: int = ..., tol: float = ..., *,
    return_info: Literal[False] = ..., like_sklearn: bool = ...,
) -> np.ndarray: ...
@overload
def fastica_batch(
    z: np.ndarray, seed: int = ..., max_iter: int = ..., tol: float = ..., *,
    return_info: Literal[True], like_sklearn: bool = ...,
) -> FastICAResult: ...
def fastica_batch(
    z: np.ndarray,
    seed: int = 0,
    max_iter: int = 200,
    tol: float = 1e-4,
    *,
    return_info: bool = False,
    like_sklearn: bool = False,
) -> np.ndarray | FastICAResult:
    """Symmetric FastICA (logcosh contrast) of many small problems at once.

    ``z`` is ``(n, c, T)``: n independent clips of c mixed channels.  Returns
    unit-variance components ``(n, c, T)`` -- the algorithm of
    ``sklearn.decomposition.FastICA(algorithm="parallel", fun="logcosh",
    whiten="unit-variance")`` vectorised over clips, because fitting one
    estimator per clip costs several milliseconds and a benchmark run has
    thousands of clips.  Clips whose channels are degenerate (rank < c, or not finite) are
    returned whitened only.

    With ``return_info=True`` returns a :class:`FastICAResult`, which also
    says which problems converged within ``max_iter`` and which were
    degenerate.  ``like_sklearn=True`` reproduces scikit-learn's whitening
    basis (principal components by decreasing variance, each eigenvector's
    first entry positive) and initial matrix (``RandomState(seed).normal``),
    so a problem's iterates are those of ``FastICA(random_state=seed)`` up to
    rounding.  Each problem's result is independent of the others in the
    batch (same initial matrix for all, per-problem stopping).
    """
    z = np.ascontiguousarray(z, dtype=np.float64)  # one memory layout: the same arithmetic for any caller
    n, c, T = z.shape
    xw, ok = _whitened(z, like_sklearn)
    if like_sklearn:
        w0 = np.random.RandomState(seed).normal(size=(c, c))
    else:
        w0 = np.random.default_rng(seed).standard_normal((c, c))
    w = _sym_decorrelate(np.broadcast_to(w0, (n, c, c)).copy())
    converged, n_iter = _iterate(w, xw, ok, max_iter, tol)
    s = w @ xw
    s /= np.maximum(s.std(axis=-1, keepdims=True), 1e-12)
    s[~ok] = np.where(np.isfinite(xw[~ok]), xw[~ok], 0.0)
    if return_info:
        return FastICAResult(s, converged, ~ok, n_iter)
    return s
