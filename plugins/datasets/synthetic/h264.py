"""H.264 in MP4 through PyAV (libx264): the compressed recordings of the embedded set.

Why: real face video is mostly compressed with H.264 or the like (phones,
video calls, screen recorders), and compression is not neutral for rPPG:
the pulse is a change of a fraction of a grey level, and an inter-frame
codec quantises small temporal changes away (a block coded as "skip" copies
the previous frame, pulse and all) and smooths skin texture.  The MJPG of
the other recordings codes every frame on its own and never shows that.
PyAV's wheel ships FFmpeg with libx264, so encoding needs no download and
no system FFmpeg; OpenCV's wheel decodes the files (``hrbench.data.video``).

Settings (:data:`PRESET`, the dataset's ``h264_crf``): ``veryfast`` is what
real-time software encoders run at (OBS Studio's default).  CRF 16 gives
~1 Mbit/s on a still 640x480 face, a webcam recorder's or a video call's
rate; the bitrate falls off a cliff above it, and so does the pulse.
Measured on the same 60-s recording (DEV's ``s21_still``, skin type III,
HR 83.8 bpm), POS over the whole video: MJPG 83.8; CRF 16 (7.5 MB/min)
84.6; CRF 20 (0.9 MB/min, 0.12 Mbit/s: most skin blocks coded as skip)
45.8, with or without the competing light.  On DEV's six long recordings
with the competitor switched off, CRF 16 left POS at 1.75 bpm MAE over whole
videos (real UBFC-rPPG: 1.34); on six others, CRF 20 alone put one that
MJPG scored within 0.1 bpm 42 bpm off.  Compressed, not destroyed.

Determinism (the same bytes on every x86-64 CPU, like the rest of the
generator): libx264 picks assembly per CPU at run time, and its output is
*not* the same for every choice.  Measured with this wheel (``asm=`` flag
sets, i.e. what x264 would pick on CPUs with those instruction sets): SSSE3
and everything above it (SSE4.2, AVX, AVX2, this machine's AVX-512) give one
bitstream, SSE2 another, and plain C sometimes a third -- x264 takes other
coding decisions once its SSSE3 functions are there.  So the encoder is
pinned to the SSE2 set that every x86-64 CPU has (:data:`X264_PARAMS`;
encoding ~15-20 % slower than with this machine's best), with one thread
(x264's threads split frames and the lookahead, which changes decisions).
glibc's CPU-specific maths (FMA/AVX2 variants, switched off with
``GLIBC_TUNABLES``) changed nothing.  Decoding H.264 is exactly specified
(integer transforms), so decoded YUV planes are the same on every machine
(:func:`update_hash`, used by the fingerprint); the BGR that OpenCV hands to
trace extraction goes through FFmpeg's colour conversion, as for every
other video.  Colour conversion on the way in is OpenCV's fixed-point
BT.601 limited-range ``BGR2YUV_I420``, run in
:func:`.render.deterministic_opencv`'s mode by the caller; the stream is
tagged BT.601 limited range so decoders invert it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

PRESET = "veryfast"
#: The instruction sets every x86-64 CPU has (see the module docstring), one thread.
X264_PARAMS = "asm=MMX2,SSE,SSE2:threads=1:lookahead-threads=1:sliced-threads=0"
VIDEO_FILE = "video.mp4"


def _av():
    """PyAV, imported on first use (only H.264 recordings need it), with a one-line error if missing."""
    try:
        import av
    except ImportError:  # pragma: no cover - a dependency of hrbench
        from hrbench.api import PrerequisiteMissing

        raise PrerequisiteMissing("the embedded dataset's H.264 recordings need PyAV: pip install av") from None
    return av


class H264Writer:
    """Frames (BGR or BGRA uint8, all of one size) in, an MP4 file with one H.264 stream out.

    Frames are encoded as they come (a 60-s recording is ~800 MB as raw
    frames); the file is complete only after :meth:`close` (or leaving the
    ``with`` block without an error).
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float, crf: int = 16, preset: str = PRESET) -> None:
        av = _av()
        w, h = size
        if w % 2 or h % 2:
            raise ValueError(f"H.264 4:2:0 needs an even frame size, got {size}")
        self.size = size
        self._container = av.open(str(path), mode="w", format="mp4")
        stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        cc = stream.codec_context
        cc.thread_count = 1
        cc.color_range = 1  # MPEG / limited ("tv") range
        cc.colorspace = 6  # SMPTE 170M (BT.601), as cv2's BGR2YUV_I420
        cc.color_primaries = 6
        cc.color_trc = 6
        cc.options = {"preset": preset, "crf": str(int(crf)), "x264-params": X264_PARAMS}
        self._stream = stream
        self._frame_cls = av.VideoFrame
        self.n = 0

    def write(self, frame: np.ndarray) -> None:
        w, h = self.size
        if frame.shape[:2] != (h, w):
            raise ValueError(f"frame of shape {frame.shape} in a {w}x{h} stream")
        code = cv2.COLOR_BGRA2YUV_I420 if frame.shape[2] == 4 else cv2.COLOR_BGR2YUV_I420
        vf = self._frame_cls.from_ndarray(cv2.cvtColor(frame, code), format="yuv420p")
        vf.pts = self.n
        self.n += 1
        for packet in self._stream.encode(vf):
            self._container.mux(packet)

    def close(self) -> None:
        if self._container is None:
            return
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def iter_planes(path: Path) -> Iterator[np.ndarray]:
    """Every frame's decoded YUV 4:2:0 planes, as one (H * 3/2, W) uint8 array per frame.

    The same on every machine (H.264 decoding is bit-exact by specification),
    unlike the BGR frames that pass through a CPU-dispatched colour conversion.
    """
    av = _av()
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="yuv420p")


def update_hash(h: hashlib._Hash, path: Path) -> int:
    """Feed every frame's decoded planes into ``h`` (a recording's fingerprint); returns the frame count."""
    n = 0
    for planes in iter_planes(path):
        h.update(f"{planes.shape}".encode())
        h.update(np.ascontiguousarray(planes).tobytes())
        n += 1
    return n
