"""MAHNOB-HCI adapter (Soleymani et al., 2012; the rPPG protocol of Li et al., CVPR 2014 and SynRhythm).

On-disk layout read here (``ROOT`` holds ``Sessions/``; pointing at ``Sessions/`` also works)::

    ROOT/Sessions/<sessionId>/
        session.xml                                              <session sessionId=.. cutLenSec=.. vidRate=..
                                                                   mediaFile=.. isStim=..><subject id=".."/>...
        P<subj>-Rec<k>-<date>_C1 trigger _C_Section_<n>.avi      colour camera (61 fps); note the spaces
        P<subj>-Rec<k>-<date>_C2 trigger ... .avi                other cameras (ignored)
        Part_<subj>_<S|N>_Trial<t>_emotion.bdf                   BioSemi physiology (256 Hz)

Verified against public code (search corpus):

* ``bioidiap/bob.db.hci_tagging`` (Idiap's rPPG benchmark interface):
  ``create.py`` selects ``fnmatch(files, '*.bdf')`` and ``'*C1 trigger*.avi'``
  per session folder; ``metadata.csv`` lists pairs such as
  ``Sessions/526, Part_5_S_Trial3_emotion, P5-Rec1-2009.07.22.12.05.44_C1 trigger
  _C_Section_6``; ``utils.bdf_load_signal`` reads channels by label
  (``getSignalTextLabels().index(name)``), documents EXG1/EXG2 (upper chest)
  and EXG3 (abdomen, "very clean") as the ECG leads, and takes the video span
  as the first to last non-zero sample of the rounded ``Status`` channel.
* Two pyEDFlib-based loaders whose repository the index does not name: a
  ``MahnobDatasetLoader`` (``EdfReader(..).getSignalLabels().index('EXG1')``,
  ``session.xml`` root attributes such as ``cutLenSec``, subject from the
  ``P<subj>-`` video prefix) and a ``MAHNOBLoader`` documenting folders such as
  ``2/P1-Rec1-2009.07.09.17.53.46_C1 trigger _C_Section_2.avi`` +
  ``Part_1_S_Trial1_emotion.bdf`` (it reads ``readSignal(33)``: by position).
* ``phuselab/pyVHR`` ``pyVHR/datasets/mahnob.py``: ``*emotion*.bdf`` at 256 Hz,
  but the ECG read as ``getData(channels=[33])`` -- by position, which is EXG2
  in the 32 EEG + EXG1..8 + ... + Status order; here channels are found by label.
* torcheeg ``MAHNOBDataset`` and an ``emosm`` session parser: ``session.xml``
  root ``<session>`` with ``@sessionId @cutNr @cutLenSec @vidRate @mediaFile
  @isStim @feltEmo ...``, child ``<subject id=..>``, ``<track type="Physiological"
  filename=..>``; torcheeg skips sessions without ``@feltArsl`` ("isStim == '0'
  and other exception"), i.e. self-reports exist for the stimulus sessions.

Choices:

* Sessions: the emotion-elicitation stimulus sessions, recognised by the BDF
  name ``Part_<subj>_S_Trial<t>_emotion.bdf`` (527 of them from 27 subjects
  in the common protocol).  ``include_neutral=True`` adds the ``_N_`` neutral
  clips (no protocol window: they are about 20 s long).  Tagging sessions are
  ignored.  A stimulus session (per session.xml) without a BDF is reported.
* Ground truth: the ECG channel (``EXG3`` by default, read by label, never by
  index) as Signal kind ``ecg`` at the header's sample rate, HR from R-peaks.
  Its ``offset`` puts BDF sample ``i`` at ``(i - first) / fs`` s on the video
  clock, ``first`` being the first non-zero ``Status`` sample (the camera
  trigger), as in bob.db.hci_tagging.  If the rounded physical ``Status`` is
  never zero (raw BioSemi status bits), its low 16 trigger bits are used.
* Protocol window: frames 306-2135 of Li et al. (1-based, 1830 frames = 30 s
  at 61 fps) = 0-based frames 305..2134 = seconds [5.0, 35.0) -- the first
  5 s are skipped.  ``window_frames=None`` keeps the whole video.  A video
  shorter than 35 s keeps 5 s to its end (a run keeps the frames inside the
  window; ``check`` warns, giving the frame counts before and after the
  cut); whether what is left holds one of the protocol's clips is reported
  by ``hrbench datasets check --protocol``.
* Coverage tolerance: the ECG runs before and after the video; ``check``
  requires the Status channel's span to match the video's length within
  1 s or 2 % (:data:`SPAN_TOLERANCE_S`, :data:`SPAN_TOLERANCE_REL`) and
  the ECG to cover the window on the video clock.
* Left out by design (listed by ``hrbench datasets check``,
  :meth:`MahnobHCIAdapter.left_out`): neutral trials (unless
  ``include_neutral``) and implicit-tagging sessions.
* fps from ``vidRate`` in session.xml (61 when absent); no per-frame timestamps.
* Subject id from ``<subject id>`` in session.xml (the person); recording id
  the ``sessionId``; ``session`` is ``trial<t>``; the stimulus ``mediaFile`` is
  kept in ``meta``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyedflib

from hrbench.api import (
    FrameSource,
    HrbenchError,
    LeftOut,
    Problem,
    RecordedAdapter,
    Recording,
    RecordingError,
    Signal,
    checked_signal,
    flatness_problems,
    hookimpl,
    problem_of,
    require_dir,
    signal_hr,
    verify_frames,
)

VIDEO_PATTERN = "*C1 trigger*.avi"
ECG_CHANNEL = "EXG3"
STATUS_CHANNEL = "Status"
DEFAULT_FPS = 61.0
#: Li et al. (CVPR 2014) frames 306-2135 (1-based, inclusive) as a 0-based half-open range.
PROTOCOL_FRAMES = (305, 2135)
#: ``check`` reads the ECG's HR over the window, or over at least this many seconds (the default clip).
CHECK_SPAN_S = 10.0
#: How far the Status span and the video's length may disagree before ``check`` reports it.
SPAN_TOLERANCE_S = 1.0
SPAN_TOLERANCE_REL = 0.02

_BDF = re.compile(r"^Part_(\d+)_([SN])_Trial(\d+)_emotion\.bdf$", re.IGNORECASE)
_LAYOUT = (
    "Sessions/<id>/ with session.xml, '*C1 trigger*.avi' and Part_<subj>_S_Trial<t>_emotion.bdf"
)


@contextmanager
def _open_bdf(path: Path, recording_id: str | None) -> Iterator[pyedflib.EdfReader]:
    if not Path(path).is_file():
        raise RecordingError("BDF file not found", path, recording_id)
    try:
        reader = pyedflib.EdfReader(str(path))
    except Exception as exc:  # noqa: BLE001 - pyEDFlib raises OSError and others for a damaged file
        raise RecordingError(
            f"cannot read BDF ({type(exc).__name__}: {exc})", path, recording_id
        ) from None
    try:
        yield reader
    finally:
        reader.close()


def _labels(reader: pyedflib.EdfReader) -> list[str]:
    return [str(s).strip() for s in reader.getSignalLabels()]


def _channel(reader: pyedflib.EdfReader, label: str, path: Path, recording_id: str | None) -> int:
    labels = _labels(reader)
    if label not in labels:
        listing = ", ".join(labels[:60]) + (" ..." if len(labels) > 60 else "")
        raise RecordingError(f"channel {label!r} absent (channels: {listing})", path, recording_id)
    return labels.index(label)


def status_span(
    reader: pyedflib.EdfReader, path: Path, recording_id: str | None = None
) -> tuple[int, int, float]:
    """(first, last) sample of the video span (non-zero Status) and the Status sample rate."""
    idx = _channel(reader, STATUS_CHANNEL, path, recording_id)
    fs = float(reader.getSampleFrequency(idx))
    status = reader.readSignal(idx)
    nz = np.flatnonzero(np.round(status))
    if len(nz) == len(status):
        # A raw BioSemi Status word carries device bits above the 16 trigger bits.
        trig = reader.readSignal(idx, digital=True).astype(np.int64) & 0xFFFF
        nz_trig = np.flatnonzero(trig)
        if 0 < len(nz_trig) < len(status):
            nz = nz_trig
    if len(nz) == 0:
        raise RecordingError(
            "Status channel is zero throughout: the video span is unknown", path, recording_id
        )
    return int(nz[0]), int(nz[-1]), fs


def load_mahnob_ecg(
    bdf_path: str, channel: str = ECG_CHANNEL, recording_id: str | None = None
) -> Signal:
    """Ground truth of one session: the ECG lead on the video clock (offset from the Status channel)."""
    path = Path(bdf_path)
    with _open_bdf(path, recording_id) as reader:
        idx = _channel(reader, channel, path, recording_id)
        first, _, fs_status = status_span(reader, path, recording_id)
        ecg = reader.readSignal(idx)
        fs = float(reader.getSampleFrequency(idx))
    if len(ecg) < 2 or fs <= 0:
        raise RecordingError(f"channel {channel!r} holds no samples", path, recording_id)
    return checked_signal(Signal("ecg", ecg, fs, offset=-first / fs_status), path, recording_id)


def _parse_session_xml(path: Path, recording_id: str | None) -> tuple[dict[str, str], str]:
    """Root attributes and subject id of a session.xml."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise RecordingError(f"cannot parse session.xml ({exc})", path, recording_id) from None
    except OSError as exc:
        raise RecordingError(
            f"cannot read session.xml ({exc.strerror or exc})", path, recording_id
        ) from None
    if root.tag != "session":
        raise RecordingError(
            f"root element is <{root.tag}>, expected <session>", path, recording_id
        )
    subject = root.find("subject")
    sid = subject.get("id", "").strip() if subject is not None else ""
    if not sid:
        raise RecordingError("no <subject id=...> element", path, recording_id)
    return dict(root.attrib), sid


def _is_stimulus_session(attrs: dict[str, str]) -> bool:
    """Emotion sessions carry felt* self-reports; isStim tells stimulus from neutral clips."""
    return "feltEmo" in attrs and attrs.get("isStim", "").strip() == "1"


def _float(value: str | None, default: float) -> float:
    try:
        v = float(value) if value is not None else default
    except ValueError:
        return default
    return v if np.isfinite(v) and v > 0 else default


def _sessions_dir(root: Path) -> Path:
    sessions = root / "Sessions"
    if sessions.is_dir():
        return sessions
    if any((d / "session.xml").is_file() for d in root.iterdir() if d.is_dir()):
        return root
    raise HrbenchError(f"not a MAHNOB-HCI copy: no Sessions/ folder (expected {_LAYOUT})", root)


def _session_key(d: Path) -> tuple[int, str]:
    return (int(d.name), d.name) if d.name.isdigit() else (10**9, d.name)


class MahnobHCIAdapter(RecordedAdapter):
    """MAHNOB-HCI emotion sessions: C1 colour video at 61 fps, ECG (EXG3) ground truth."""

    name: ClassVar[str] = "mahnob_hci"
    description: ClassVar[str] = (
        "MAHNOB-HCI (licensed copy): Sessions/*/ C1 video + BDF ECG (EXG3), frames 306-2135"
    )

    def __init__(
        self,
        ecg_channel: str = ECG_CHANNEL,
        include_neutral: bool = False,
        window_frames: tuple[int, int] | None = PROTOCOL_FRAMES,
    ) -> None:
        self.ecg_channel = ecg_channel
        self.include_neutral = include_neutral
        self.window_frames = window_frames

    # -- scanning ----------------------------------------------------------
    def _scan_session(self, d: Path, bdf: Path, m: re.Match[str]) -> Recording:
        rid = d.name
        xml = d / "session.xml"
        if not xml.is_file():
            raise RecordingError(
                "session.xml missing (subject id and frame rate live there)", xml, rid
            )
        attrs, subject = _parse_session_xml(xml, rid)
        rid = attrs.get("sessionId", "").strip() or d.name
        videos = sorted(d.glob(VIDEO_PATTERN))
        if not videos:
            raise RecordingError(f"no colour video matching {VIDEO_PATTERN!r}", d, rid)
        if videos[0].stat().st_size == 0:
            raise RecordingError("video file is empty", videos[0], rid)
        with _open_bdf(bdf, rid) as reader:  # header only: labels, no samples
            _channel(reader, self.ecg_channel, bdf, rid)
            _channel(reader, STATUS_CHANNEL, bdf, rid)
        fps = _float(attrs.get("vidRate"), DEFAULT_FPS)
        stimulus = m.group(2).upper() == "S"
        window = None
        if self.window_frames is not None and stimulus:
            window = (self.window_frames[0] / fps, self.window_frames[1] / fps)
        meta: dict[str, Any] = {
            "session_id": rid,
            "trial": int(m.group(3)),
            "stimulus": stimulus,
            "media_file": attrs.get("mediaFile", ""),
            "cut_len_s": _float(attrs.get("cutLenSec"), 0.0),
            "ecg_channel": self.ecg_channel,
        }
        return Recording(
            dataset=self.name,
            id=rid,
            subject=subject,
            session=f"trial{int(m.group(3))}",
            fps=fps,
            frames=FrameSource(videos[0], "video"),
            ground_truth=partial(load_mahnob_ecg, str(bdf), self.ecg_channel, rid),
            meta=meta,
            window=window,
            gt_path=bdf,
        )

    def scan_with_problems(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        root = require_dir(root, "MAHNOB-HCI", _LAYOUT)
        sessions = _sessions_dir(root)
        recs: list[Recording] = []
        problems: list[Problem] = []
        n_dirs = 0
        for d in sorted((p for p in sessions.iterdir() if p.is_dir()), key=_session_key):
            n_dirs += 1
            bdfs = sorted(d.glob("*.bdf"))
            emotion = [(b, m) for b in bdfs if (m := _BDF.match(b.name))]
            wanted = [
                (b, m) for b, m in emotion if m.group(2).upper() == "S" or self.include_neutral
            ]
            if not bdfs:
                # No physiology: report it only for a session that should have some.
                xml = d / "session.xml"
                if xml.is_file():
                    try:
                        attrs, _ = _parse_session_xml(xml, d.name)
                    except HrbenchError:
                        continue
                    if _is_stimulus_session(attrs):
                        problems.append(
                            Problem(
                                str(d),
                                "stimulus session without a Part_<subj>_S_Trial<t>_emotion.bdf",
                                d.name,
                            )
                        )
                continue
            if not wanted:
                continue  # tagging or (by default) neutral session
            bdf, m = wanted[0]
            self.scan_into(recs, problems, partial(self._scan_session, d, bdf, m), d.name, d)
        if n_dirs == 0:
            raise HrbenchError(f"no session folders (expected {_LAYOUT})", sessions)
        return recs, problems

    def left_out(self, root: Path) -> list[LeftOut]:
        """Neutral trials (unless ``include_neutral``) and implicit-tagging sessions, with the reason."""
        sessions = _sessions_dir(require_dir(root, "MAHNOB-HCI", _LAYOUT))
        out: list[LeftOut] = []
        for d in sorted((p for p in sessions.iterdir() if p.is_dir()), key=_session_key):
            bdfs = sorted(d.glob("*.bdf"))
            if not bdfs:
                continue
            kinds = {m.group(2).upper() for b in bdfs if (m := _BDF.match(b.name))}
            if not kinds:
                out.append(
                    LeftOut(
                        str(d),
                        "implicit-tagging session (no Part_<subj>_<S|N>_Trial<t>_emotion.bdf): "
                        "not part of the emotion protocol",
                        d.name,
                    )
                )
            elif kinds == {"N"} and not self.include_neutral:
                out.append(
                    LeftOut(
                        str(d),
                        "neutral trial (Part_<subj>_N_Trial<t>_emotion.bdf, about 20 s, no protocol "
                        "window): MahnobHCIAdapter(include_neutral=True) keeps it",
                        d.name,
                    )
                )
        return out

    # -- deep validation ---------------------------------------------------
    def check_recording(self, rec: Recording, deep: bool = False) -> list[Problem]:
        # Frames first, as a run reads them: a truncated container is an error, not a short video.
        n, frame_problems = verify_frames(rec.frames, rec.id, deep)
        if frame_problems:
            return frame_problems
        video_s = n / (rec.fps or rec.frames.frame_rate())
        bdf = Path(rec.gt_path or "")
        problems = status_span_problems(bdf, rec.id, n, video_s)
        t0, t1, cut = window_cut(rec, n, video_s, self.window_frames)
        problems += cut
        if any(p.is_error for p in cut):
            return problems
        return problems + ecg_problems(rec, bdf, t0, t1, self.ecg_channel)


def status_span_problems(bdf: Path, recording_id: str, n: int, video_s: float) -> list[Problem]:
    """An error when the Status channel marks a video span of another length than the video's."""
    with _open_bdf(bdf, recording_id) as reader:
        first, last, fs_status = status_span(reader, bdf, recording_id)
    span_s = (last - first + 1) / fs_status
    if abs(span_s - video_s) <= max(SPAN_TOLERANCE_S, SPAN_TOLERANCE_REL * video_s):
        return []
    return [
        Problem(
            str(bdf),
            f"Status channel marks {span_s:.1f} s of video but the video lasts {video_s:.1f} s ({n} frames)",
            recording_id,
        )
    ]


def window_cut(
    rec: Recording, n: int, video_s: float, window_frames: tuple[int, int] | None
) -> tuple[float, float, list[Problem]]:
    """The span a run reads -- the protocol window, cut at the video's end -- and the problem of a cut.

    A run keeps the frames inside the window, so a shorter video is cut at its
    end: a warning, or an error when no frame is left after the cut.
    """
    t0, t1 = rec.window if rec.window is not None else (0.0, video_s)
    if rec.window is None or video_s >= t1 - 0.5 / rec.fps:
        return t0, t1, []
    lo, hi = window_frames or (0, 0)
    kept = max(0, n - lo)
    what = (
        f"video lasts {video_s:.1f} s ({n} frames), shorter than the protocol window "
        f"{t0:.1f}-{t1:.1f} s (frames {lo + 1}-{hi})"
    )
    where = str(rec.frames.path)
    if kept < 2:
        return t0, t1, [Problem(where, f"{what}: no frame is left after the cut", rec.id)]
    message = f"{what}: the window is cut at the video's end, {t0:.1f}-{video_s:.1f} s ({kept} frames after the cut)"
    return t0, video_s, [Problem(where, message, rec.id, "warning")]


def ecg_problems(rec: Recording, bdf: Path, t0: float, t1: float, channel: str) -> list[Problem]:
    """Whether the ECG is flat, covers ``t0``-``t1`` on the video clock, and gives a heart rate there."""
    try:
        sig = rec.load_ground_truth()
    except HrbenchError as exc:
        return [problem_of(exc, rec.id)]
    problems = flatness_problems(sig, bdf, rec.id)
    if any(p.is_error for p in problems):
        return problems
    if t1 - t0 < CHECK_SPAN_S:
        # Too short a cut to read an HR from: the ECG is checked over the video's last
        # seconds instead; whether the protocol can score so short a window is
        # `hrbench datasets check --protocol`'s question, not the data's.
        t0 = max(0.0, t1 - CHECK_SPAN_S)
    times = sig.sample_times()
    if times[0] > t0 + 1.0 / sig.fs or times[-1] < t1 - 1.0 / sig.fs:
        what = f"{channel} covers {times[0]:.1f}-{times[-1]:.1f} s of the video clock, not {t0:.1f}-{t1:.1f} s"
        return problems + [Problem(str(bdf), what, rec.id)]
    try:
        signal_hr(sig, t0, t1)
    except ValueError as exc:
        problems.append(Problem(str(bdf), f"{channel} unusable over {t0:.1f}-{t1:.1f} s: {exc}", rec.id))
    return problems


@hookimpl
def register_datasets(register):  # noqa: ANN001 - pluggy hook signature
    register(MahnobHCIAdapter)
