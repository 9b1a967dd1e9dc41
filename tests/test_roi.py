"""ROI schemes measure the regions they claim to, on a synthetic face-like frame."""

import numpy as np

from hrbench.plugin.host import get_scheme
from hrbench.plugin.roi import CheekGrid, FaceGrid, FaceSkin, rgb_to_yuv


def canonical_landmarks(cx=160.0, cy=120.0, scale=1.0, angle=0.0):
    """A plausible iBUG-68 layout (upright face ~100 px wide), rotated/scaled about its centre."""
    pts = np.zeros((68, 2))
    jaw_t = np.linspace(-np.pi * 0.95, -np.pi * 0.05, 17)
    pts[0:17] = np.c_[-50 * np.cos(jaw_t), 10 - 60 * np.sin(jaw_t) * 0.9] * [1, 1]
    pts[0:17, 0] = -pts[0:17, 0]
    pts[0:17, 0] = np.linspace(-50, 50, 17) * np.sqrt(np.clip(1 - (np.linspace(-1, 1, 17) ** 2) * 0.3, 0, 1))
    pts[0:17, 1] = 5 + 55 * (1 - np.abs(np.linspace(-1, 1, 17)) ** 1.5)
    pts[17:22] = np.c_[np.linspace(-40, -10, 5), np.full(5, -35)]
    pts[22:27] = np.c_[np.linspace(10, 40, 5), np.full(5, -35)]
    pts[27:31] = np.c_[np.zeros(4), np.linspace(-25, 5, 4)]
    pts[31:36] = np.c_[np.linspace(-10, 10, 5), np.full(5, 12)]
    eye = np.c_[np.cos(np.linspace(0, 2 * np.pi, 6, endpoint=False)) * 8,
                np.sin(np.linspace(0, 2 * np.pi, 6, endpoint=False)) * 3]
    pts[36:42] = eye + [-25, -22]
    pts[42:48] = eye + [25, -22]
    mouth = np.c_[np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False)) * 18,
                  np.sin(np.linspace(0, 2 * np.pi, 12, endpoint=False)) * 6]
    pts[48:60] = mouth + [0, 32]
    pts[60:68] = mouth[::3].repeat(2, axis=0)[:8] * 0.6 + [0, 32]
    c, s = np.cos(angle), np.sin(angle)
    return (pts * scale) @ np.array([[c, -s], [s, c]]).T + [cx, cy]


def test_face_skin_measures_the_face_not_the_background():
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:] = (0, 0, 255)  # blue background
    pts = canonical_landmarks()
    x0, y0 = pts.min(axis=0).astype(int)
    x1, y1 = pts.max(axis=0).astype(int)
    frame[y0 - 30 : y1, x0:x1] = (200, 140, 120)  # skin-coloured face box incl. forehead
    rgb = FaceSkin().measure(frame, pts)[0]
    np.testing.assert_allclose(rgb, [200, 140, 120], atol=3)


def test_cheek_grid_has_200_blocks_in_row_major_order():
    frame = np.zeros((240, 320, 3), np.uint8)
    pts = canonical_landmarks()
    x0, y0, x1, y1 = CheekGrid().box(pts)
    assert pts[36:48, 1].mean() < y0 < y1 <= pts[48:60, 1].max() + 1  # below the eyes, down to the mouth
    # Left half of the cheek rectangle red, right half green.
    xm = int((x0 + x1) / 2)
    frame[:, :xm] = (255, 0, 0)
    frame[:, xm:] = (0, 255, 0)
    blocks = CheekGrid().measure(frame, pts).reshape(10, 20, 3)
    assert blocks.shape == (10, 20, 3)
    assert (blocks[:, :9, 0] > 200).all() and (blocks[:, 11:, 1] > 200).all()


def test_face_grid_is_rotation_invariant():
    rng = np.random.default_rng(0)
    tex = rng.integers(0, 255, (24, 32, 3)).astype(np.uint8)
    import cv2

    big = cv2.resize(tex, (640, 480), interpolation=cv2.INTER_NEAREST)
    pts = canonical_landmarks(320, 240, scale=1.5)
    upright = FaceGrid().measure(big, pts)
    ang = np.deg2rad(20)
    # rotate image by +20 deg (counter-clockwise in pixels)
    m = cv2.getRotationMatrix2D((320, 240), np.rad2deg(-ang), 1.0)
    rotated = cv2.warpAffine(big, m, (640, 480), flags=cv2.INTER_NEAREST)
    pts_r = np.c_[pts, np.ones(68)] @ m.T
    again = FaceGrid().measure(rotated, pts_r)
    assert upright.shape == (25, 3)
    assert np.abs(upright - again).mean() < 12  # same blocks despite the rotation
    unrotated = FaceGrid().measure(big, canonical_landmarks(300, 240, 1.5))
    assert np.abs(upright - unrotated).mean() > np.abs(upright - again).mean()


def test_full_frame_mode_and_registry():
    frame = np.full((20, 40, 3), 100, np.uint8)
    for name in ("face_skin", "cheek_grid", "face_grid"):
        s = get_scheme(name)
        out = s.measure(frame, None)
        assert out.shape == (s.n_rois, 3) and np.allclose(out, 100)


def test_yuv_of_block_means_equals_block_mean_of_yuv():
    rng = np.random.default_rng(1)
    px = rng.uniform(0, 255, (100, 3)).astype(np.float32)
    np.testing.assert_allclose(rgb_to_yuv(px.mean(axis=0)), rgb_to_yuv(px).mean(axis=0), rtol=1e-4, atol=1e-3)
    assert abs(rgb_to_yuv(np.array([255.0, 255, 255], np.float32))[0] - 255) < 0.1
