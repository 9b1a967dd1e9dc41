"""face-alignment (Bulat & Tzimiropoulos, FAN) as an hrbench landmarker.

Why: FAN is the reference 68-point iBUG landmarker used by much of the rPPG
literature, so a run can be reproduced with it when its weights are at hand.
It emits the iBUG-300W 68 points natively; no mapping is involved.

Offline by construction.  face-alignment downloads its weights into the torch
hub cache (``torch.hub.get_dir()/checkpoints``) on first use.  hrbench must
never download at run time, so this plugin:

* imports ``face_alignment`` lazily (the package is optional; this module
  imports and registers without it);
* resolves the exact file names the installed face-alignment release would
  fetch (the basename of its 2DFAN-4 URL -- ``2DFAN4-11f355bf06.pth.tar`` in
  1.5.0, a ``.zip`` in 1.3/1.4 -- and ``s3fd-619a316812.pth``) and checks that
  both files exist *before* constructing ``FaceAlignment``;
* passes the detector file explicitly (``path_to_detector``) and, while the
  constructor runs, replaces face-alignment's ``load_file_from_url`` with a
  lookup that raises :class:`HrbenchError` instead of downloading.

Choices where face-alignment leaves options open: the S3FD detector (its
default, and what its published accuracy used), CPU, ``flip_input=False``
(flip averaging doubles the cost for a sub-pixel gain), ``compile=False`` where
the release supports it (``torch.compile`` writes a cache under ``~/.cache``
and costs a long warm-up per worker).  Detection runs on every frame: FAN's
crop is defined relative to an S3FD box, and a box re-derived from the previous
landmarks would not match that convention.  With several faces, the one with
the largest landmark extent is kept (datasets show one subject).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from hrbench.api import N_LANDMARKS, HrbenchError, Landmarker, hookimpl

# File names of the current face-alignment release (1.5.0), used in messages when
# the package itself is not installed (an installed package is asked instead).
DEFAULT_FAN_FILE = "2DFAN4-11f355bf06.pth.tar"
DEFAULT_S3FD_FILE = "s3fd-619a316812.pth"


def checkpoints_dir() -> Path:
    """Where face-alignment looks for (and would download) its weights."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def _basename(url: str) -> str:
    return os.path.basename(urlparse(url).path)


def _import_face_alignment() -> Any | None:
    try:
        import face_alignment  # noqa: PLC0415 - optional dependency
    except ImportError:
        return None
    return face_alignment


def weight_files(fa: Any | None) -> tuple[str, str]:
    """(FAN file name, S3FD file name) that ``fa`` (the imported package, or None) would load."""
    if fa is None:
        return DEFAULT_FAN_FILE, DEFAULT_S3FD_FILE
    api = fa.api
    urls = getattr(api, "models_urls", {})
    fan_url = urls.get("2DFAN-4")
    if fan_url is None:  # 1.3/1.4: URLs keyed by torch "major.minor", with a default table
        import torch

        torch_mm = ".".join(torch.__version__.split("+")[0].split(".")[:2])
        fan_url = urls.get(torch_mm, getattr(api, "default_model_urls", {})).get("2DFAN-4")
    try:
        from face_alignment.detection.sfd import sfd_detector  # noqa: PLC0415

        s3fd_url = sfd_detector.models_urls["s3fd"]
    except (ImportError, AttributeError, KeyError):
        s3fd_url = DEFAULT_S3FD_FILE
    return (_basename(fan_url) if fan_url else DEFAULT_FAN_FILE), _basename(s3fd_url)


def _missing(fa: Any | None) -> tuple[Path, Path, list[str]]:
    ck = checkpoints_dir()
    fan, s3fd = (ck / f for f in weight_files(fa))
    return fan, s3fd, [p.name for p in (fan, s3fd) if not p.is_file()]


class FaceAlignmentLandmarker(Landmarker):
    """FAN 2D (2DFAN-4) landmarks on S3FD detections, CPU, weights from the torch hub cache."""

    name = "face_alignment"
    version = "1"

    @classmethod
    def available(cls) -> tuple[bool, str]:
        fa = _import_face_alignment()
        fan, s3fd, missing = _missing(fa)
        if fa is None:
            return False, (
                f"pip install face-alignment, and put {fan.name} and {s3fd.name} "
                f"(the files face-alignment downloads) in {fan.parent}"
            )
        if missing:
            return False, (
                f"put {' and '.join(missing)} (face-alignment's weights) in {fan.parent}; hrbench never downloads them"
            )
        return True, ""

    def __init__(self, device: str = "cpu") -> None:
        ok, why = self.available()
        if not ok:
            raise HrbenchError(f"face_alignment landmarker unavailable: {why}")
        self.device = device
        self._fa: Any | None = None  # built lazily (and rebuilt after unpickling in a worker)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_fa"] = None
        return state

    def _build(self) -> Any:
        fa = _import_face_alignment()
        if fa is None:
            raise HrbenchError("face_alignment landmarker: the face-alignment package is not installed")
        fan, s3fd, missing = _missing(fa)
        if missing:
            raise HrbenchError(f"face_alignment landmarker: missing {', '.join(missing)} in {fan.parent}")

        def no_download(url: str, *args: Any, **kwargs: Any) -> str:
            path = checkpoints_dir() / _basename(url)
            if not path.is_file():
                raise HrbenchError(f"face-alignment wanted to download {url}; put {path.name} in {path.parent}")
            return str(path)

        lt = fa.LandmarksType
        kwargs: dict[str, Any] = {
            "device": self.device,
            "flip_input": False,
            "face_detector": "sfd",
            "face_detector_kwargs": {"path_to_detector": str(s3fd)},
        }
        if "compile" in inspect.signature(fa.FaceAlignment.__init__).parameters:
            kwargs["compile"] = False
        guard = (
            _patched(fa.api, "load_file_from_url", no_download)
            if hasattr(fa.api, "load_file_from_url")
            else contextlib.nullcontext()
        )
        with guard:
            try:
                return fa.FaceAlignment(getattr(lt, "TWO_D", None) or lt._2D, **kwargs)
            except HrbenchError:
                raise
            except Exception as exc:  # noqa: BLE001 - corrupt weights, version mismatch
                first = (str(exc).strip().splitlines() or [""])[0]
                raise HrbenchError(
                    f"face-alignment failed to load its weights ({type(exc).__name__}: {first})", fan.parent
                ) from None

    def __call__(self, frame_rgb: np.ndarray) -> np.ndarray | None:
        if self._fa is None:
            self._fa = self._build()
        frame = np.asarray(frame_rgb)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise HrbenchError(f"face_alignment: expected an HxWx3 RGB frame, got array of shape {frame.shape}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "No faces were detected." is our None
            faces = self._fa.get_landmarks_from_image(frame)
        if not faces:
            return None
        faces = [np.asarray(f, dtype=np.float32)[:, :2] for f in faces if f is not None and len(f) == N_LANDMARKS]
        if not faces:
            return None
        return max(faces, key=lambda p: float(np.prod(p.max(0) - p.min(0))))


@contextlib.contextmanager
def _patched(obj: Any, attr: str, value: Any):
    old = getattr(obj, attr)
    setattr(obj, attr, value)
    try:
        yield
    finally:
        setattr(obj, attr, old)


@hookimpl
def register_landmarkers(register):  # noqa: ANN001 - pluggy callback
    register(FaceAlignmentLandmarker)
