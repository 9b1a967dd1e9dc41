"""PBV: blood-volume-pulse signature (de Haan & van Leest, Physiol. Meas. 2014).

Why it works: the pulse changes the three normalised colour channels in a
fixed ratio, the signature ``P_bv`` (how strongly blood absorbs in each
camera channel relative to the skin), while distortions such as motion and
specular changes come in other ratios.  PBV finds the weights ``W`` that
reproduce the signature and otherwise keep the output as small as possible:
``W = k P_bv Q^-1`` with ``Q = C_n C_n'`` the ``3 x 3`` matrix of the
normalised colour samples ``C_n`` and ``k`` such that ``W . P_bv = 1``; the
pulse is ``W C_n``.  Any signal that does not look like the signature is
suppressed in proportion to its power.

What is followed: the code of pyVHR (``pyVHR/BVP/methods.py``, ``cpu_PBV``)
and rPPG-Toolbox (``unsupervised_methods/methods/PBV.py``), which are the
same computation per window: ``C_n = X / mean(X)`` per channel (rows with
mean one, not centred), ``P_bv = std(C_n) / ||std(C_n)||`` per channel,
``W = Q^-1 P_bv``, ``pulse = C_n' W / (P_bv' W)``.  Where they differ from
the paper: the paper takes ``P_bv`` as a fixed, a-priori signature of the
camera, light and skin (determined once), whereas the toolboxes estimate it
from each window's own channel variations -- no calibration is needed, but
whatever dominates a window's variation (the pulse when the subject is
still, motion when not) sets the signature.  hrbench follows the toolboxes,
which is the PBV that benchmarks report; a calibrated signature would need
per-dataset camera knowledge that hrbench does not have.

Windowing: as for LGI (see :mod:`hrbench_plugins.methods.lgi`): pyVHR's 6 s
windows by default, each made zero-mean and stitched by Hann overlap-add;
``window_s`` at least as long as the clip gives one projection per clip, as
rPPG-Toolbox does.  A window without colour variation, or whose ``Q`` is
numerically singular (e.g. channels in a fixed ratio), is skipped.

Vectorised over clips and windows: ``Q`` from one ``einsum``, ``W`` from one
batched ``solve``.
"""

from __future__ import annotations

import numpy as np

from hrbench.api import hookimpl, window_param

from ._classic import EPS
from ._overlap import WindowedProjection

#: ``Q`` with a larger condition number is treated as singular: its solution
#: is dominated by rounding, not by the data.
MAX_CONDITION = 1e12


def pbv_windows(seg: np.ndarray) -> np.ndarray:
    """PBV pulse ``(..., L)`` of raw RGB windows ``(..., L, 3)``; ``NaN`` for degenerate windows."""
    cn = seg / np.maximum(seg.mean(axis=-2, keepdims=True), EPS)
    sd = cn.std(axis=-2)  # (..., 3)
    norm = np.sqrt((sd**2).sum(axis=-1, keepdims=True))
    signature = sd / np.where(norm > EPS, norm, np.nan)
    q = np.einsum("...lc,...ld->...cd", cn, cn)
    bad = ~np.isfinite(signature).all(axis=-1) | ~(np.linalg.cond(q) < MAX_CONDITION)
    q[bad] = np.eye(3)  # keeps the batched solve defined; those windows are discarded below
    w = np.linalg.solve(q, np.where(bad[..., None], 0.0, signature)[..., None])[..., 0]
    y = np.einsum("...lc,...c->...l", cn, w) / np.einsum("...c,...c->...", signature, w)[..., None]
    y[bad] = np.nan
    return y


class PbvMethod(WindowedProjection):
    name = "pbv"
    description = "Blood-volume-pulse signature weights W = k P_bv Q^-1 per window (de Haan 2014)"
    citation = (
        "G. de Haan, A. van Leest. Improved motion robustness of remote-PPG by using the blood volume "
        "pulse signature. Physiological Measurement 35(9):1913-1926, 2014."
    )
    params = {"window_s": window_param("signature")}
    project = staticmethod(pbv_windows)


@hookimpl
def register_methods(register):
    register(PbvMethod)
