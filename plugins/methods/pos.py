"""POS: plane-orthogonal-to-skin rPPG (Wang, den Brinker, Stuijk & de Haan, 2017).

Why it works: after temporal normalisation (each channel divided by its
mean) an intensity change moves the colour along ``[1, 1, 1]``; POS projects
onto the plane orthogonal to it with

    P = [[0, 1, -1], [-2, 1, 1]]        (both rows sum to zero)

and combines the two projections ``h = S1 + (std(S1) / std(S2)) * S2`` so
that the residual distortion, in-phase in both, is cancelled "alpha-tuned"
as in CHROM -- but without CHROM's assumption of a standardised skin tone.

Algorithm 1 of the paper slides a window of ``l`` frames (32 at 20 fps =
1.6 s, hence the default ``window_s`` = 1.6) one frame at a time; for every
window ``[m, m + l)`` it normalises by the window mean ``mu_w``, projects,
tunes, and overlap-adds ``h - mean(h)`` into the output ``H``.  No band-pass
or taper is applied inside the algorithm; :func:`hrbench.pulse.hr.spectral_hr`
band-passes the result.

Closed form used here (exact, not an approximation), so that all clips and
all ``T - l + 1`` windows are computed at once in ``O(n T)``:

* within window ``w`` the projections are linear in the raw colour,
  ``S_k(t) = a_wk . C(t)`` with ``a_wk = P_k / mu_w``; hence
  ``var(S_k) = a_wk' Cov_w a_wk`` where ``Cov_w`` is the window covariance of
  ``C``, obtained from cumulative sums of ``C`` and ``C C'`` (computed on the
  clip-centred colour for numerical accuracy);
* ``h_w(t) - mean_w(h) = b_w . (C(t) - mu_w)`` with
  ``b_w = a_w1 + alpha_w a_w2``, and ``b_w . mu_w = P_1 . 1 + alpha P_2 . 1 = 0``,
  so the mean-removal term vanishes;
* therefore ``H(t) = B(t) . C(t)`` where ``B(t)`` is the sum of ``b_w`` over
  the windows covering frame ``t`` -- one more cumulative sum.

The test suite checks this against a literal per-frame loop of Algorithm 1.
A ``window_s`` at least as long as the clip gives a single window per clip.
"""

from __future__ import annotations

import numpy as np

from hrbench.api import HRSettings, hookimpl, window_frames, window_param

from ._classic import DEFAULT_HR, EPS, ClassicMethod

#: The projection plane orthogonal to the (normalised) skin tone [1, 1, 1].
P = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])

#: Fewest frames per window: a standard deviation needs a few samples.
MIN_WINDOW_FRAMES = 4


def _window_sums(a: np.ndarray, L: int) -> np.ndarray:
    """Sums over every window of ``L`` consecutive samples along the last axis."""
    c = np.cumsum(a, axis=-1)
    c = np.concatenate([np.zeros_like(c[..., :1]), c], axis=-1)
    return c[..., L:] - c[..., :-L]


def pos_pulse(rgb: np.ndarray, L: int) -> np.ndarray:
    """POS pulse ``(n, T)`` of RGB traces ``(n, T, 3)`` with sliding windows of ``L`` frames."""
    n, T, _ = rgb.shape
    L = min(L, T)
    W = T - L + 1  # number of windows, one per start frame
    c = np.ascontiguousarray(np.moveaxis(rgb, -1, 0), dtype=np.float64)  # (3, n, T)
    clip_mean = c.mean(axis=-1, keepdims=True)
    r, g, b = c - clip_mean  # centred: window moments without cancellation
    # Window means and (co)variances of the centred colour, all (n, W).
    m = _window_sums(np.stack([r, g, b, r * r, g * g, b * b, r * g, r * b, g * b]), L) / L
    mr, mg, mb = m[:3]
    crr, cgg, cbb = m[3] - mr * mr, m[4] - mg * mg, m[5] - mb * mb
    crg, crb, cgb = m[6] - mr * mg, m[7] - mr * mb, m[8] - mg * mb
    mu_r, mu_g, mu_b = (np.maximum(mk + cm, EPS) for mk, cm in zip((mr, mg, mb), clip_mean, strict=True))
    # var(S1), var(S2) with S1 = G/mu_g - B/mu_b and S2 = -2 R/mu_r + G/mu_g + B/mu_b.
    gg, bb, gb = cgg / mu_g**2, cbb / mu_b**2, cgb / (mu_g * mu_b)
    rr, rg, rb = crr / mu_r**2, crg / (mu_r * mu_g), crb / (mu_r * mu_b)
    var1 = gg + bb - 2 * gb
    var2 = 4 * rr + gg + bb - 4 * rg - 4 * rb + 2 * gb
    alpha = np.sqrt(np.maximum(var1, 0.0)) / np.maximum(np.sqrt(np.maximum(var2, 0.0)), EPS)
    # h_w(t) - mean_w(h) = b_w . (C(t) - mu_w) = b_w . C(t), with b_w = (P1 + alpha P2) / mu_w.
    bw = np.stack([P[0, k] + alpha * P[1, k] for k in range(3)]) / np.stack([mu_r, mu_g, mu_b])
    # B(t): sum of b_w over the windows [w, w + L) that contain frame t.
    cb = np.concatenate([np.zeros((3, n, 1)), np.cumsum(bw, axis=-1)], axis=-1)
    t = np.arange(T)
    B = cb[..., np.minimum(t, W - 1) + 1] - cb[..., np.maximum(t - L + 1, 0)]  # (3, n, T)
    return (B * c).sum(axis=0)


class PosMethod(ClassicMethod):
    name = "pos"
    description = "Plane-orthogonal-to-skin projection, 1.6 s sliding-window overlap-add (Wang 2017)"
    citation = (
        "W. Wang, A. C. den Brinker, S. Stuijk, G. de Haan. Algorithmic principles of remote PPG. "
        "IEEE Transactions on Biomedical Engineering 64(7):1479-1491, 2017."
    )
    params = {"window_s": window_param("sliding", 1.6, low=0.2, note="paper: 32 frames at 20 fps; >= clip: one window")}

    def pulse(self, rgb: np.ndarray, fps: float, settings: HRSettings = DEFAULT_HR) -> np.ndarray:
        T = rgb.shape[1]
        return pos_pulse(rgb, window_frames(self.window_s, fps, T, minimum=MIN_WINDOW_FRAMES))


@hookimpl
def register_methods(register):
    register(PosMethod)
