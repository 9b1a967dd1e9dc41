"""Overlap-add stitching (CHROM and the windowed projections), LGI, PBV, OMIT, long clips.

The reference implementations below work on one clip ``(T, 3)`` at a time
with plain loops over windows, written from the toolboxes' code (pyVHR
``cpu_LGI`` / ``cpu_PBV`` / ``cpu_OMIT``, rPPG-Toolbox ``LGI.py`` / ``PBV.py``
/ ``OMIT.py``: ``np.linalg.svd``, ``np.linalg.qr``, ``np.linalg.solve`` on
the ``3 x L`` window matrix) and share no code with the plugins, which are
vectorised over clips and windows (and use an eigen-decomposition instead
of the SVD, the first frame instead of a QR).  Synthetic traces and helpers
come from ``test_classic_methods``.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from scipy.signal.windows import hann
from test_classic_methods import (
    CLEAN_HRS,
    FPS,
    NOISY_HRS,
    PBV,
    SKIN,
    T,
    as_clips,
    damaged_traces,
    frame_rate_clips,
    hook_registered,
    make_traces,
    pulse_wave,
    realistic_motion,
    reference_windows,
    registry_of,
    two_roi_clips,
)

from hrbench.api import window_frames
from hrbench.errors import ConfigError
from hrbench.plugin.clips import Clips
from hrbench.pulse import overlap
from hrbench.pulse.hr import HRSettings, bandpass
from hrbench_plugins.methods import chrom, ica, lgi, omit, pbv, pos

NEW = [lgi.LgiMethod, pbv.PbvMethod, omit.OmitMethod]

# --------------------------------------------------------------------------------------
# 1. Overlap-add: window weights sum to a constant.
# --------------------------------------------------------------------------------------

OLA_CASES = [
    (T_, fps, win)
    for T_ in (97, 299, 300, 301, 600, 1234)
    for fps in (20.0, 25.0, 29.97, 30.0)
    for win in (1.6, 3.2, 6.0)
]


@pytest.mark.parametrize(("n_frames", "fps", "window_s"), OLA_CASES)
def test_overlap_add_weights_sum_to_one(n_frames, fps, window_s):
    L = overlap.even_window(window_frames(window_s, fps, n_frames, minimum=8), n_frames)
    if n_frames <= L:
        pytest.skip("one window covers the clip")
    starts = overlap.ola_starts(n_frames, L)
    H = L // 2
    assert starts[0] == 0 and starts[-1] + L == n_frames  # every frame covered, tail included
    wsum = overlap.ola_weight_sum(n_frames, starts, L)
    # On the half-window grid the raw tapers sum to one: nothing to divide out.
    grid = starts[starts % H == 0]
    end = min(grid[-1] + L - H, starts[-1] if starts[-1] % H else n_frames)
    np.testing.assert_allclose(wsum[H:end], 1.0, rtol=0, atol=1e-9)
    # After the division by the summed taper every frame past the first and
    # before the last half window has total weight exactly one.
    effective = wsum / np.maximum(wsum, 1.0)
    np.testing.assert_allclose(effective[H : n_frames - H], 1.0, rtol=0, atol=1e-9)


def test_previous_window_placement_fails_the_weight_test():
    """The evenly spread placement (hop 22.9 frames for 10 s at 30 fps) ripples by > 10 %.

    Shows the test above can fail: this is the placement CHROM used before.
    """
    L = 48
    n_win = int(np.ceil((T - L) / (L / 2))) + 1
    wsum = np.zeros(T)
    for s0 in np.round(np.linspace(0, T - L, n_win)).astype(int):
        wsum[s0 : s0 + L] += hann(L, sym=False)
    interior = wsum[L // 2 : T - L // 2]
    assert interior.max() - interior.min() > 0.1


@pytest.mark.parametrize("n_frames", [100, 299, 300, 301, 1000])
@pytest.mark.parametrize("L", [16, 48, 90])
def test_overlap_add_reconstructs_consistent_windows(n_frames, L):
    """Windows cut from one signal stitch back to that signal: no modulation at the hop rate."""
    rng = np.random.default_rng(n_frames + L)
    x = rng.normal(size=(3, n_frames))
    starts = overlap.ola_starts(n_frames, L)
    seg = x[:, starts[:, None] + np.arange(L)]
    out = overlap.overlap_add(seg, starts, n_frames)
    H = L // 2
    np.testing.assert_allclose(out[:, H : n_frames - H], x[:, H : n_frames - H], rtol=0, atol=1e-12)


def chrom_tone_envelope(module, monkeypatch, hr_bpm: float = 75.0) -> np.ndarray:
    """Output / input of CHROM on a pure tone, its in-window band-pass replaced by mean removal.

    75 bpm at 30 fps is exactly two periods per 1.6 s (48-frame) window, so
    removing a window's mean leaves the tone untouched; with the tone along a
    fixed colour direction every window's ``Xs - alpha Ys`` is then the tone
    times one and the same constant (alpha is equal in all windows).  A
    correct overlap-add returns the tone with a flat gain; uneven window
    weights show up as a gain rippling at the hop rate.
    """
    monkeypatch.setattr(module, "window_bandpass_matrix", lambda L, *args: np.eye(L) - 1.0 / L)
    t = np.arange(T) / FPS
    tone = np.sin(2 * np.pi * hr_bpm / 60 * t)
    rgb = SKIN * (1 + 1e-3 * PBV * tone[:, None])
    out = module.ChromMethod().pulse(rgb[None], FPS, HRSettings())[0]
    keep = np.abs(tone) > 0.5
    keep[:48] = keep[-48:] = False  # skip the fade-in/out of the first and last window
    gain = out[keep] / tone[keep]
    return gain / np.median(gain)


def test_chrom_tone_gain_is_flat(monkeypatch):
    """The previous evenly spread placement (23-frame hop) fails this with a ripple > 10 %."""
    gain = chrom_tone_envelope(chrom, monkeypatch)
    assert gain.max() - gain.min() < 1e-6


@pytest.mark.parametrize("L", [100, 600])
def test_window_bandpass_paths_agree(L):
    """Short windows go through the cached L x L matrix, long ones are filtered directly: same filter."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3, L))
    band, order = HRSettings().band_hz, HRSettings().filter_order
    via_matrix = x @ chrom.window_bandpass_matrix(L, FPS, band, order)
    np.testing.assert_allclose(chrom.window_bandpass(x, FPS, band, order), via_matrix, atol=1e-10)
    np.testing.assert_allclose(chrom.window_bandpass(x, FPS, band, order), bandpass(x, FPS, band, order), atol=1e-10)


def test_long_windows_use_the_direct_filter(monkeypatch):
    def no_matrix(*args):
        raise AssertionError("L x L matrix built for a long window")

    monkeypatch.setattr(chrom, "window_bandpass_matrix", no_matrix)
    x = np.random.default_rng(5).normal(size=(1, chrom.MAX_MATRIX_FRAMES + 1))
    chrom.window_bandpass(x, FPS, HRSettings().band_hz, 4)
    with pytest.raises(AssertionError, match="L x L"):
        chrom.window_bandpass(x[:, : chrom.MAX_MATRIX_FRAMES], FPS, HRSettings().band_hz, 4)


# --------------------------------------------------------------------------------------
# 2. Literal references: one clip, one window at a time.
# --------------------------------------------------------------------------------------


def stitch_reference(rgb: np.ndarray, window_s: float, per_window) -> np.ndarray:
    """Windows of an even L frames every L/2 frames (+ one ending at the clip end), each
    made zero-mean, periodic-Hann tapered, summed, divided by the taper sum where > 1."""
    n_frames = len(rgb)
    L, starts = reference_windows(n_frames, window_s)
    taper = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(L) / L)
    out, weight = np.zeros(n_frames), np.zeros(n_frames)
    for s0 in starts:
        X = rgb[s0 : s0 + L].T  # 3 x L, as the toolboxes hold it
        y = per_window(X)
        out[s0 : s0 + L] += taper * (y - y.mean())
        weight[s0 : s0 + L] += taper
    return out / np.maximum(weight, 1.0)


def lgi_window_reference(X: np.ndarray) -> np.ndarray:
    """pyVHR cpu_LGI / rPPG-Toolbox LGI for one window."""
    U, _, _ = np.linalg.svd(X)
    S = U[:, [0]]
    P = np.identity(3) - S @ S.T
    Y = P @ X
    return Y[1, :]


def omit_window_reference(X: np.ndarray) -> np.ndarray:
    """pyVHR cpu_OMIT / rPPG-Toolbox OMIT for one window."""
    Q, _ = np.linalg.qr(X)
    S = Q[:, 0].reshape(1, -1)
    P = np.identity(3) - S.T @ S
    Y = P @ X
    return Y[1, :]


def pbv_window_reference(X: np.ndarray) -> np.ndarray:
    """pyVHR cpu_PBV / rPPG-Toolbox PBV for one window."""
    mean = X.mean(axis=1)
    Cn = np.array([X[k] / mean[k] for k in range(3)])
    pbv_n = np.array([np.std(Cn[k]) for k in range(3)])
    pbv_d = np.sqrt(sum(np.var(Cn[k]) for k in range(3)))
    signature = pbv_n / pbv_d
    Q = Cn @ Cn.T
    W = np.linalg.solve(Q, signature)
    return (Cn.T @ W) / (signature @ W)


REFERENCES = {
    "lgi": lgi_window_reference,
    "pbv": pbv_window_reference,
    "omit": omit_window_reference,
}


@pytest.fixture(scope="module")
def noisy_rgb() -> np.ndarray:
    return make_traces(NOISY_HRS, seed=7, noise=0.3, intensity=realistic_motion)


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.name)
@pytest.mark.parametrize("window_s", [None, 1.6, 3.0, 20.0], ids=["default", "1.6s", "3s", "one-window"])
def test_matches_literal_reference(cls, window_s, noisy_rgb):
    method = cls() if window_s is None else cls(window_s=window_s)
    ours = method.pulse(noisy_rgb, FPS, HRSettings())
    assert ours.shape == noisy_rgb.shape[:2]
    for i, rgb in enumerate(noisy_rgb):
        ref = stitch_reference(rgb, method.window_s, REFERENCES[cls.name])
        np.testing.assert_allclose(ours[i], ref, rtol=0, atol=1e-8 * np.abs(ref).max())


def test_default_window_is_pyvhr_six_seconds():
    for cls in NEW:
        assert cls().window_s == 6.0


def test_methods_differ_from_each_other(noisy_rgb):
    """LGI and OMIT cancel different directions (principal vs first frame), PBV is no projection."""
    p = {cls.name: cls().pulse(noisy_rgb, FPS) for cls in NEW}
    for a, b in [("lgi", "omit"), ("lgi", "pbv"), ("omit", "pbv")]:
        assert not np.allclose(p[a], p[b] * (np.abs(p[a]).max() / np.abs(p[b]).max()), atol=1e-6)


# --------------------------------------------------------------------------------------
# 3. Behaviour: clean pulse, frame rate, intensity motion, NaN frames, determinism.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.name)
def test_recovers_clean_pulse(cls):
    pred = cls().predict(as_clips(make_traces(CLEAN_HRS, seed=1)))
    assert pred.shape == (len(CLEAN_HRS),)
    np.testing.assert_array_less(np.abs(pred - CLEAN_HRS), 1.5)


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.name)
def test_recovers_clean_pulse_single_window(cls):
    """window_s >= clip: one projection per clip, as rPPG-Toolbox applies it."""
    pred = cls(window_s=60.0).predict(as_clips(make_traces(CLEAN_HRS, seed=2)))
    np.testing.assert_array_less(np.abs(pred - CLEAN_HRS), 1.5)


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.name)
def test_different_frame_rate(cls):
    hrs = [60.0, 110.0]
    clips = frame_rate_clips(240, hrs)
    np.testing.assert_array_less(np.abs(cls().predict(clips) - hrs), 1.5)


@pytest.mark.parametrize("cls", [lgi.LgiMethod, omit.OmitMethod], ids=["lgi", "omit"])
def test_projections_cancel_intensity_changes(cls):
    """An intensity change moves the colour along the skin tone, which LGI/OMIT project out."""

    def nodding(rng, t):
        return 1 + 0.03 * np.sin(2 * np.pi * 1.9 * t + rng.uniform(0, 2 * np.pi))

    pred = cls().predict(as_clips(make_traces(CLEAN_HRS, seed=11, noise=0.05, intensity=nodding)))
    np.testing.assert_array_less(np.abs(pred - CLEAN_HRS), 1.5)


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.name)
def test_nan_frames_are_tolerated_and_empty_clips_are_nan(cls):
    method = cls()
    pred = method.predict(as_clips(damaged_traces()))
    assert abs(pred[0] - 64.0) < 1.5
    assert abs(pred[1] - 90.0) < 1.5
    assert np.isnan(pred[2]) and np.isnan(pred[3])
    assert method.run_notes["nan_clips"] == 2


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.name)
def test_deterministic(cls, noisy_rgb):
    a = cls().pulse(noisy_rgb, FPS)
    b = cls().pulse(noisy_rgb.copy(), FPS)
    np.testing.assert_array_equal(a, b)
    # A clip's pulse does not depend on the other clips in the batch.
    np.testing.assert_allclose(cls().pulse(noisy_rgb[2:3], FPS)[0], a[2], rtol=0, atol=1e-10 * np.abs(a[2]).max())


def test_pbv_degenerate_clip_is_nan_not_a_guess():
    """Channels in a fixed ratio make Q singular: PBV reports NaN instead of a made-up rate."""
    rng = np.random.default_rng(0)
    grey = (100 + rng.normal(0, 1, T))[:, None] * np.array([1.0, 0.8, 0.6])
    rgb = np.stack([grey, make_traces([70.0], seed=3)[0]])
    pred = pbv.PbvMethod().predict(as_clips(rgb))
    assert np.isnan(pred[0])
    assert abs(pred[1] - 70.0) < 1.5


def test_omit_uses_the_first_frame_direction():
    """OMIT (as the toolboxes compute it) cancels the colour of each window's first frame."""
    rng = np.random.default_rng(1)
    X = rng.uniform(50, 200, size=(3, 40))
    q = X[:, 0] / np.linalg.norm(X[:, 0])
    np.testing.assert_allclose(omit.omit_windows(X.T), X[1] - q[1] * (q @ X), atol=1e-9)
    np.testing.assert_allclose(omit.omit_windows(X.T), omit_window_reference(X), atol=1e-9)


# --------------------------------------------------------------------------------------
# 4. Whole recordings: memory linear in T (no T x T matrix anywhere).
# --------------------------------------------------------------------------------------

LONG_T = 20_000


@pytest.fixture(scope="module")
def long_rgb() -> np.ndarray:
    rng = np.random.default_rng(8)
    t = np.arange(LONG_T) / FPS
    rgb = SKIN * (1 + 0.004 * PBV * pulse_wave(75.0, t, 0.0)[:, None]) + rng.normal(0, 0.05, (LONG_T, 3))
    return rgb[None]


@pytest.mark.parametrize(
    "method",
    [
        lgi.LgiMethod(),
        pbv.PbvMethod(),
        omit.OmitMethod(),
        chrom.ChromMethod(),
        chrom.ChromMethod(window_s=600.0),  # two 18 000-frame windows: the direct-filter path
        ica.IcaMethod(),
        pos.PosMethod(),
    ],
    ids=["lgi", "pbv", "omit", "chrom", "chrom-600s", "ica", "pos"],
)
def test_long_clip_memory_is_linear(method, long_rgb):
    """A T x T float64 matrix at T = 20 000 is 3.2 GB; the whole pulse must stay far below."""
    tracemalloc.start()
    try:
        p = method.pulse(long_rgb, FPS, HRSettings())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert p.shape == (1, LONG_T) and np.isfinite(p).all()
    assert peak < 200 * LONG_T * 8 * 3, f"peak {peak / 1e6:.0f} MB"  # ~100 MB: far from T x T
    hr = method.predict(Clips(long_rgb[:, None].astype(np.float32), FPS, np.arange(1), np.arange(1)))
    assert abs(hr[0] - 75.0) < 1.5


# --------------------------------------------------------------------------------------
# 5. Contract, parameters, registration.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.name)
def test_declares_contract(cls):
    assert cls.roi_scheme == "face_skin"
    assert cls.supervised is False
    assert cls.description and cls.citation


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.name)
@pytest.mark.parametrize("bad", [0.1, -1.0, 1e6, "long"])
def test_invalid_window_raises_config_error(cls, bad):
    with pytest.raises(ConfigError):
        cls(window_s=bad)


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.name)
def test_refuses_multi_roi_clips(cls):
    with pytest.raises(ConfigError, match="1 ROI"):
        cls().predict(two_roi_clips())


@pytest.mark.parametrize("module", [lgi, pbv, omit], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_hook_registers_the_method(module):
    assert hook_registered(module) == [module.__name__.rsplit(".", 1)[-1]]


def test_entry_points_load(monkeypatch):
    reg = registry_of(monkeypatch, "lgi,pbv,omit")
    assert [p.error for p in reg.plugins] == [None] * 3
    assert reg.method("lgi") is lgi.LgiMethod
    assert reg.method("pbv") is pbv.PbvMethod
    assert reg.method("omit") is omit.OmitMethod
