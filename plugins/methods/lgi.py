"""LGI: local group invariance (Pilz, Zaunseder, Krajewski & Blazek, CVPRW 2018).

Why it works: over a short window the RGB samples of a face lie close to one
direction -- the skin colour scaled by the illumination intensity -- so
intensity changes (shading, motion towards or away from the light) move the
colour along that direction.  LGI estimates it as the principal direction of
the window, the first left singular vector ``u`` of the ``3 x L`` matrix
``X`` of raw (uncentred) RGB samples, and projects every sample onto the
plane orthogonal to it, ``Y = (I - u u') X``; a change along ``u`` leaves no
trace in ``Y``, while the blood-volume pulse, whose colour direction differs
from the skin's, keeps its component in that plane.  The pulse is read from
the green row of ``Y``, where haemoglobin's absorption is strongest.

What is followed: the code of pyVHR (``pyVHR/BVP/methods.py``, ``cpu_LGI``)
and rPPG-Toolbox (``unsupervised_methods/methods/LGI.py``), which are the
same computation: SVD of the raw window, ``P = I - u u'``, ``bvp = (P X)[1]``.
The paper presents the projection as invariance to a local transformation
group and is not specific about the window or the output row beyond what the
toolboxes do; hrbench uses the toolboxes' form because that is what
published LGI numbers come from.

Windowing: the toolboxes project one window at a time -- pyVHR's pipeline
cuts 6 s windows (1 s stride) and reads a heart rate from each;
rPPG-Toolbox projects whatever chunk it is given.  One projection over a
recording of several minutes would assume a single skin/illumination
direction for all of it, a different method.  So ``window_s`` defaults to
pyVHR's 6 s; the windows (hop of half a window) are made zero-mean and
stitched by Hann overlap-add into one pulse per clip
(:func:`hrbench.api.windowed_pulse`), since hrbench reads
one heart rate per clip.  The stitching is hrbench's; each window's
projection is the toolboxes'.  A ``window_s`` at least as long as the clip
gives the toolboxes' single projection per clip.

Vectorised over clips and windows: ``u`` is the top eigenvector of the
``3 x 3`` Gram matrix ``X X'`` (the same vector as the SVD's, up to a sign
that ``u u'`` cancels), from one batched ``eigh``; then
``y = g - u_g (u . c)`` frame by frame.
"""

from __future__ import annotations

import numpy as np

from hrbench.api import hookimpl, window_param

from ._overlap import WindowedProjection


def lgi_windows(seg: np.ndarray) -> np.ndarray:
    """LGI pulse ``(..., L)`` of raw RGB windows ``(..., L, 3)``: green row of ``(I - u u') X``."""
    gram = np.einsum("...lc,...ld->...cd", seg, seg)
    u = np.linalg.eigh(gram)[1][..., -1]  # (..., 3) eigenvector of the largest eigenvalue
    along = np.einsum("...lc,...c->...l", seg, u)
    return seg[..., 1] - u[..., 1:2] * along


class LgiMethod(WindowedProjection):
    name = "lgi"
    description = "Project out the window's principal colour direction, green row (Pilz 2018)"
    citation = (
        "C. S. Pilz, S. Zaunseder, J. Krajewski, V. Blazek. Local group invariance for heart rate "
        "estimation from face videos in the wild. IEEE/CVF CVPR Workshops, 1254-1262, 2018."
    )
    params = {"window_s": window_param("projection")}
    project = staticmethod(lgi_windows)


@hookimpl
def register_methods(register):
    register(LgiMethod)
