"""OMIT: orthogonal matrix image transformation (Álvarez Casado & Bordallo López, IEEE JBHI 2023).

Why it works: like LGI, OMIT removes one colour direction from the RGB
samples of a window and reads the pulse from what is left: it takes an
orthonormal basis of the window's colour samples by QR decomposition, uses
the first basis vector ``q`` as the direction to cancel, projects with
``Y = (I - q q') X`` and keeps the green row of ``Y``.  The paper motivates
the QR basis by its robustness to compression artefacts.

What is followed: the code of pyVHR (``pyVHR/BVP/methods.py``, ``cpu_OMIT``,
contributed with the Face2PPG paper) and rPPG-Toolbox
(``unsupervised_methods/methods/OMIT.py``), which agree: ``Q, R =
qr(X)`` of the ``3 x L`` raw RGB matrix ``X``, ``S = Q[:, 0]``,
``P = I - S S'``, ``bvp = (P X)[1]``.  Note what this computes: for a
``3 x L`` matrix the first column of ``Q`` is the first column of ``X``
normalised, so ``q`` is the colour of the window's *first frame* -- where LGI
uses the window's principal direction.  hrbench reproduces the toolboxes'
arithmetic exactly (and says so here) rather than re-interpreting the paper,
because the published OMIT results come from that code; one consequence is
that noise in a window's first frame tilts the cancelled direction for the
whole window.

Windowing: as for LGI (see :mod:`hrbench_plugins.methods.lgi`): pyVHR's 6 s
windows by default, each made zero-mean and stitched by Hann overlap-add;
``window_s`` at least as long as the clip gives one projection per clip, as
rPPG-Toolbox does.  A window whose first frame has no colour (all zero) is
skipped.

Vectorised over clips and windows: ``y = g - q_g (q . c)`` with ``q`` the
normalised first frame of each window.
"""

from __future__ import annotations

import numpy as np

from hrbench.api import hookimpl, window_param

from ._classic import EPS
from ._overlap import WindowedProjection


def omit_windows(seg: np.ndarray) -> np.ndarray:
    """OMIT pulse ``(..., L)`` of raw RGB windows ``(..., L, 3)``; ``NaN`` where the first frame is black."""
    first = seg[..., 0, :]
    norm = np.linalg.norm(first, axis=-1, keepdims=True)
    q = first / np.where(norm > EPS, norm, np.nan)  # Q[:, 0] of qr(X), up to its sign
    along = np.einsum("...lc,...c->...l", seg, q)
    return seg[..., 1] - q[..., 1:2] * along


class OmitMethod(WindowedProjection):
    name = "omit"
    description = "QR-based projection removing the window's first colour basis vector, green row (Casado 2023)"
    citation = (
        "C. Álvarez Casado, M. Bordallo López. Face2PPG: An unsupervised pipeline for blood-volume-pulse "
        "extraction from faces. IEEE Journal of Biomedical and Health Informatics 27(11):5530-5541, 2023."
    )
    params = {"window_s": window_param("projection")}
    project = staticmethod(omit_windows)


@hookimpl
def register_methods(register):
    register(OmitMethod)
