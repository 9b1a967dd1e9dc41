"""Miniature copies of the dataset layouts hrbench reads, written into a temporary folder.

The licensed datasets (MAHNOB-HCI, MMSE-HR, VIPL-HR) cannot ship with the
project, so tests build their exact on-disk layout -- folder and file names
(spaces included), file formats (BioSemi BDF written by pyEDFlib, CRLF CSVs,
MATLAB ``.mat`` folds, ``%03d.jpg`` frame folders, MJPG ``.avi``) -- with tiny
content: 16 x 16 frames and a few seconds of signal.  Each writer returns the
root to hand to the adapter and also writes :data:`TRUTH_FILE` there (read it
with :func:`read_mini_truth`): recording id -> subject, heart rate, frame
count, fps.  Real datasets carry stray files too, so adapters must ignore it.

Every recording gets its own heart rate (``hr_bpm + hr_step * k``), so a test
also catches ground truth paired with the wrong video.  Frames are a flat
skin colour whose green channel pulses at that heart rate, so a pipeline run
on a ``full-frame`` recording can recover it from the pixels; the face
datasets' frames contain no face.

Writers (all return the root ``Path``):

* :func:`write_mini_mahnob` -- ``Sessions/<id>/`` with ``session.xml``, the
  ``..._C1 trigger _C_Section_<n>.avi`` colour video, a ``C2 trigger`` video,
  and ``Part_<subj>_S_Trial<t>_emotion.bdf`` (47 labelled channels, ECG in
  EXG3 at the recording's HR; EXG1/EXG2 carry a *different* rate, so reading
  the wrong lead shows; ``Status`` non-zero over the video span), plus one
  neutral and one tagging session that the adapter must skip by default.
* :func:`write_mini_mmse` -- ``first 10 subjects 2D/<F013>/<T1>/000.jpg ..``
  with ``first 10 subjects Phydata released/Phydata/<F013>/<T1>/Pulse
  Rate_BPM.txt`` (1000 Hz) and ``BP_mmHg.txt``, and the
  ``T10_T11_30Subjects`` / ``T10_T11_30PhyBPHRData`` pair.
* :func:`write_mini_vipl` -- ``data/p<N>/v<K>/source<S>/`` with ``video.avi``,
  CRLF ``wave.csv`` (60 Hz BVP), ``gt_HR.csv``, ``gt_SpO2.csv``, ``time.txt``
  (jittered ms timestamps; none for source2), a ``v1-2`` task, an NIR
  source4, and ``fold/fold1..5.mat``.
* :func:`write_mini_folder` -- ``manifest.csv`` listing a video with an
  ``hr`` value, a PNG frame folder with a BVP CSV, and a ``full-frame``
  video with an ECG ``.npy``.
* :func:`write_mini_ubfc` -- ``DATASET_2/subject<N>/vid.avi`` +
  ``ground_truth.txt`` (PPG, HR and time rows, one value per frame, written
  like the originals in scientific notation) and ``DATASET_1/<N>-gt/vid.avi``
  + ``gtdump.xmp`` (time ms, HR, SpO2, PPG at about 62 Hz).
* :func:`write_mini_pure` -- ``NN-MM/Image<ns>.png`` frames + ``NN-MM.json``
  (``/FullPackage`` at 60 Hz starting a little before the first image,
  ``/Image`` per frame); ``nested=True`` writes rPPG-Toolbox's
  ``NN-MM/NN-MM/`` + ``NN-MM/NN-MM.json`` nesting instead.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import cv2
import numpy as np

TRUTH_FILE = "hrbench_mini_truth.json"
FRAME_SIZE = (16, 16)
#: Skin colour (B, G, R) of the miniature frames.
_SKIN_BGR = np.array([110.0, 140.0, 190.0])


def read_mini_truth(root: Path) -> dict[str, dict]:
    """Recording id -> {"subject", "hr", "n_frames", "fps", ...} of a miniature dataset."""
    return json.loads((Path(root) / TRUTH_FILE).read_text())


def _write_truth(root: Path, truth: dict[str, dict]) -> None:
    (root / TRUTH_FILE).write_text(json.dumps(truth, indent=1, sort_keys=True))


# -- signals and frames -------------------------------------------------------
def pulse_wave(t: np.ndarray, hr_bpm: float) -> np.ndarray:
    """A PPG-like pulse (fundamental plus a weaker second harmonic), zero mean, about unit amplitude."""
    ph = 2 * np.pi * hr_bpm / 60.0 * t
    return np.sin(ph) + 0.35 * np.sin(2 * ph + 0.8)


def synth_ecg(
    n: int, fs: float, hr_bpm: float, rng: np.random.Generator, amplitude: float = 1200.0
) -> np.ndarray:
    """An ECG-like trace in microvolts: narrow R spikes, S dips and T waves at ``hr_bpm``, plus wander and noise."""
    t = np.arange(n) / fs
    rr = 60.0 / hr_bpm
    x = np.zeros(n)
    for b in np.arange(0.3 * rr, t[-1] + rr, rr):
        lo, hi = np.searchsorted(t, [b - 0.2, b + 0.5])
        tt = t[lo:hi] - b
        x[lo:hi] += amplitude * (
            np.exp(-0.5 * (tt / 0.008) ** 2)
            - 0.15 * np.exp(-0.5 * ((tt - 0.03) / 0.01) ** 2)
            + 0.2 * np.exp(-0.5 * ((tt - 0.25) / 0.04) ** 2)
        )
    return x + 60.0 * np.sin(2 * np.pi * 0.25 * t) + rng.normal(0.0, 15.0, n)


_FACE: dict[str, np.ndarray] = {}


@contextlib.contextmanager
def use_faces(size: tuple[int, int] = (128, 96)):
    """Inside this block, miniature videos show a real face (scikit-image's astronaut)
    whose colour pulses, so the default landmarker finds it and a whole run works."""
    from skimage import data

    img = cv2.cvtColor(data.astronaut()[20:300, 110:390], cv2.COLOR_RGB2BGR)
    _FACE["bgr"] = cv2.resize(img, size, interpolation=cv2.INTER_AREA).astype(np.float64)
    global FRAME_SIZE
    old = FRAME_SIZE
    FRAME_SIZE = size
    try:
        yield
    finally:
        FRAME_SIZE = old
        _FACE.clear()


def pulse_frames(n: int, fps: float, hr_bpm: float, times: np.ndarray | None = None) -> np.ndarray:
    """``n`` BGR uint8 frames (n, H, W, 3) of flat skin (or a face, see
    :func:`use_faces`) whose green channel pulses at ``hr_bpm``."""
    t = np.arange(n) / fps if times is None else np.asarray(times)
    g = 5.0 * pulse_wave(t, hr_bpm)
    if "bgr" in _FACE:
        delta = np.stack([np.zeros(n), g, 0.3 * g], axis=1)
        frames = _FACE["bgr"][None] + delta[:, None, None, :]
        return np.clip(np.round(frames), 0, 255).astype(np.uint8)
    px = _SKIN_BGR[None, :] + np.stack([np.zeros(n), g, 0.3 * g], axis=1)
    frames = np.broadcast_to(px[:, None, None, :], (n, FRAME_SIZE[1], FRAME_SIZE[0], 3))
    return np.ascontiguousarray(np.clip(np.round(frames), 0, 255).astype(np.uint8))


def write_avi(
    path: Path, n_frames: int, fps: float, hr_bpm: float, times: np.ndarray | None = None
) -> Path:
    """A tiny MJPG ``.avi`` of pulsing skin."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), float(fps), FRAME_SIZE)
    if not w.isOpened():  # pragma: no cover - OpenCV without an MJPG encoder
        raise RuntimeError(f"OpenCV cannot write MJPG to {path}")
    for f in pulse_frames(n_frames, fps, hr_bpm, times):
        w.write(f)
    w.release()
    return path


def _hr(hr_bpm: float, hr_step: float, k: int) -> float:
    return float(hr_bpm + hr_step * (k % 12))


def _crlf(header: str, values) -> bytes:
    return ("\r\n".join([header, *[str(v) for v in values]]) + "\r\n").encode()


# -- MAHNOB-HCI ---------------------------------------------------------------
#: The 32 EEG electrodes of the MAHNOB-HCI BDF files (bob.db.hci_tagging's list), in BioSemi order.
MAHNOB_EEG = [
    "Fp1",
    "AF3",
    "F3",
    "F7",
    "FC5",
    "FC1",
    "C3",
    "T7",
    "CP5",
    "CP1",
    "P3",
    "P7",
    "PO3",
    "O1",
    "Oz",
    "Pz",
    "Fp2",
    "AF4",
    "Fz",
    "F4",
    "F8",
    "FC6",
    "FC2",
    "Cz",
    "C4",
    "T8",
    "CP6",
    "CP2",
    "P4",
    "P8",
    "PO4",
    "O2",
]
#: 47 channels: 32 EEG, EXG1..EXG8, six other sensors, Status last.
MAHNOB_CHANNELS = (
    *MAHNOB_EEG,
    *(f"EXG{i}" for i in range(1, 9)),
    "GSR1",
    "GSR2",
    "Erg1",
    "Erg2",
    "Resp",
    "Temp",
    "Status",
)


def write_bdf(path: Path, channels: dict[str, np.ndarray], fs: float) -> Path:
    """A BioSemi-style BDF (24-bit) with the given labelled channels, written by pyEDFlib."""
    import pyedflib

    path.parent.mkdir(parents=True, exist_ok=True)
    headers, data = [], []
    for label, x in channels.items():
        if label == "Status":
            pmin, pmax, dim = -8388608, 8388607, "Boolean"
        else:
            pmin, pmax, dim = -262144, 262143, "uV"
        headers.append(
            {
                "label": label,
                "dimension": dim,
                "sample_frequency": fs,
                "physical_min": pmin,
                "physical_max": pmax,
                "digital_min": -8388608,
                "digital_max": 8388607,
                "transducer": "",
                "prefilter": "",
            }
        )
        data.append(np.asarray(x, dtype=np.float64))
    w = pyedflib.EdfWriter(str(path), len(headers), file_type=pyedflib.FILETYPE_BDF)
    try:
        w.setSignalHeaders(headers)
        w.writeSamples(data)
    finally:
        w.close()
    return path


def _mahnob_bdf(
    path: Path,
    hr: float,
    duration_s: float,
    fs: int,
    pre_s: float,
    post_s: float,
    rng: np.random.Generator,
    status_value: int = 1,
) -> Path:
    total_s = int(np.ceil(pre_s + duration_s + post_s))
    n = total_s * fs
    ecg = synth_ecg(n, fs, hr, rng)
    other = synth_ecg(n, fs, hr + 25.0, rng, amplitude=500.0)
    status = np.zeros(n)
    a = int(round(pre_s * fs))
    status[a : a + int(round(duration_s * fs))] = status_value
    chans: dict[str, np.ndarray] = {}
    for label in MAHNOB_CHANNELS:
        if label == "EXG3":
            chans[label] = ecg
        elif label in ("EXG1", "EXG2"):
            chans[label] = other * (1 if label == "EXG1" else -1) + rng.normal(0, 30, n)
        elif label == "Status":
            chans[label] = status
        else:
            chans[label] = np.zeros(n)  # EEG and other sensors: flat
    return write_bdf(path, chans, fs)


def _session_xml(
    session_id: int,
    subject: int,
    trial: int,
    bdf: str,
    video: str,
    stim: bool,
    duration_s: float,
    fps: float,
) -> str:
    felt = 'feltEmo="4" feltArsl="3" feltVlnc="6" feltCtrl="5" feltPred="5" ' if stim else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<session sessionId="{session_id}" date="22-07-2009" time="12:05:44" experimentType="emotion" '
        f'isStim="{1 if stim else 0}" {felt}cutNr="{trial}" cutLenSec="{duration_s:.2f}" vidRate="{fps:g}" '
        f'audRate="44100" mediaFile="{52 + trial}.avi">\n'
        f'  <subject id="{subject}" />\n'
        f'  <track type="Physiological" filename="{bdf}" />\n'
        f'  <track type="Video" filename="{video}" />\n'
        "</session>\n"
    )


def write_mini_mahnob(
    root: Path,
    n_subjects: int = 2,
    trials_per_subject: int = 2,
    duration_s: float = 36.0,
    hr_bpm: float = 62.0,
    hr_step: float = 5.0,
    fps: float = 61.0,
    fs: int = 256,
    pre_s: float = 3.0,
    post_s: float = 2.0,
    extras: bool = True,
    seed: int = 0,
) -> Path:
    """MAHNOB-HCI in miniature; ``duration_s`` >= 35 keeps the protocol window (frames 306-2135) inside."""
    root = Path(root)
    sessions = root / "Sessions"
    rng = np.random.default_rng(seed)
    truth: dict[str, dict] = {}
    k = 0
    for i in range(n_subjects):
        subj = 2 * i + 3
        for t in range(1, trials_per_subject + 1):
            sid = 100 * subj + 2 * t
            d = sessions / str(sid)
            hr = _hr(hr_bpm, hr_step, k)
            n_frames = int(round(duration_s * fps))
            stem = f"P{subj}-Rec1-2009.07.22.12.05.44"
            video = f"{stem}_C1 trigger _C_Section_{2 * t}.avi"
            bdf = f"Part_{subj}_S_Trial{t}_emotion.bdf"
            write_avi(d / video, n_frames, fps, hr)
            write_avi(d / f"{stem}_C2 trigger _C_Section_{2 * t}.avi", 3, fps, hr)
            _mahnob_bdf(d / bdf, hr, duration_s, fs, pre_s, post_s, rng)
            (d / "session.xml").write_text(
                _session_xml(sid, subj, t, bdf, video, True, duration_s - 1.0, fps)
            )
            truth[str(sid)] = {
                "subject": str(subj),
                "hr": hr,
                "n_frames": n_frames,
                "fps": fps,
                "trial": t,
            }
            k += 1
    if extras:
        subj = 3
        # A neutral clip (about 20 s in the real data) and an implicit-tagging session: skipped by default.
        d = sessions / "9001"
        write_avi(d / f"P{subj}-Rec1-2009.07.22.12.05.44_C1 trigger _C_Section_1.avi", 6, fps, 70.0)
        _mahnob_bdf(d / f"Part_{subj}_N_Trial1_emotion.bdf", 70.0, 2.0, fs, 1.0, 1.0, rng)
        (d / "session.xml").write_text(
            _session_xml(
                9001, subj, 1, f"Part_{subj}_N_Trial1_emotion.bdf", "x.avi", False, 2.0, fps
            )
        )
        d = sessions / "9002"
        write_avi(d / f"P{subj}-Rec2-2009.07.22.13.04.36_C1 trigger _C_Section_2.avi", 6, fps, 70.0)
        _mahnob_bdf(d / f"Part_{subj}_Trial1_taggingImages1.bdf", 70.0, 2.0, fs, 1.0, 1.0, rng)
        (d / "session.xml").write_text(
            f'<?xml version="1.0"?>\n<session sessionId="9002" cutNr="1" vidRate="{fps:g}">\n'
            f'  <subject id="{subj}" />\n</session>\n'
        )
    _write_truth(root, truth)
    return root


# -- MMSE-HR ------------------------------------------------------------------
MMSE_PARTS = (
    ("first 10 subjects 2D", "first 10 subjects Phydata released/Phydata", ("T1", "T8")),
    ("T10_T11_30Subjects", "T10_T11_30PhyBPHRData", ("T10", "T11")),
)


def write_mini_mmse(
    root: Path,
    n_subjects: int = 3,
    tasks_per_subject: int = 2,
    duration_s: float = 6.0,
    hr_bpm: float = 64.0,
    hr_step: float = 5.0,
    fps: float = 25.0,
    seed: int = 0,
) -> Path:
    """MMSE-HR in miniature: the first half of the subjects in the 'first 10' part, the rest in the 'T10_T11' part."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    truth: dict[str, dict] = {}
    n_first = (n_subjects + 1) // 2
    k = 0
    for i in range(n_subjects):
        frames_part, phys_part, tasks = MMSE_PARTS[0] if i < n_first else MMSE_PARTS[1]
        subj = f"{'FM'[i % 2]}{13 + i:03d}"
        for task in tasks[:tasks_per_subject]:
            hr = _hr(hr_bpm, hr_step, k)
            n_frames = int(round(duration_s * fps))
            fdir = root / frames_part / subj / task
            fdir.mkdir(parents=True, exist_ok=True)
            for j, frame in enumerate(pulse_frames(n_frames, fps, hr)):
                cv2.imwrite(str(fdir / f"{j:03d}.jpg"), frame)
            pdir = root / phys_part / subj / task
            pdir.mkdir(parents=True, exist_ok=True)
            t = np.arange(int(round(duration_s * 1000))) / 1000.0
            # The device's beat-to-beat rate wanders around hr (a whole sine period: mean exactly hr).
            rate = hr + 2.0 * np.sin(2 * np.pi * t / duration_s) + rng.normal(0, 0.2, len(t))
            (pdir / "Pulse Rate_BPM.txt").write_text("".join(f"{v:.4f}\n" for v in rate))
            bp = 85.0 + 25.0 * pulse_wave(t, hr)
            (pdir / "BP_mmHg.txt").write_text("".join(f"{v:.3f}\n" for v in bp))
            truth[f"{subj}_{task}"] = {
                "subject": subj,
                "hr": hr,
                "n_frames": n_frames,
                "fps": fps,
                "part": frames_part,
            }
            k += 1
    _write_truth(root, truth)
    return root


# -- VIPL-HR ------------------------------------------------------------------
def write_mini_vipl(
    root: Path,
    n_subjects: int = 5,
    tasks: tuple[str, ...] = ("v1",),
    sources: tuple[str, ...] = ("source1", "source2", "source3", "source4"),
    duration_s: float = 6.0,
    hr_bpm: float = 66.0,
    hr_step: float = 4.0,
    fps: float = 30.0,
    wave_hz: float = 60.0,
    n_folds: int = 5,
    extra_task: str | None = "v1-2",
    seed: int = 0,
) -> Path:
    """VIPL-HR in miniature; subject 1 also gets ``extra_task`` (the real data has ``v1-2`` folders).

    Subjects go round-robin into ``n_folds`` official folds (``fold/fold<i>.mat``,
    variable ``fold<i>`` of shape 1 x N, stored as doubles like MATLAB does).
    """
    import scipy.io

    root = Path(root)
    rng = np.random.default_rng(seed)
    truth: dict[str, dict] = {}
    k = 0
    for p in range(1, n_subjects + 1):
        subject_tasks = list(tasks) + ([extra_task] if extra_task and p == 1 else [])
        for task in subject_tasks:
            for source in sources:
                d = root / "data" / f"p{p}" / task / source
                d.mkdir(parents=True, exist_ok=True)
                hr = _hr(hr_bpm, hr_step, k)
                n_frames = int(round(duration_s * fps))
                # Frame times: jittered around 1/fps, in ms from an arbitrary first value.
                ms = np.round(
                    40.0 + np.cumsum(np.r_[0.0, 1000.0 / fps + rng.uniform(-3, 3, n_frames - 1)])
                )
                times = (ms - ms[0]) / 1000.0
                has_time = source != "source2"
                write_avi(d / "video.avi", n_frames, fps, hr, times if has_time else None)
                video_s = n_frames / fps if not has_time else n_frames * times[-1] / (n_frames - 1)
                n_wave = int(round(wave_hz * video_s))
                tw = np.arange(n_wave) / (n_wave / video_s)
                wave = np.round(50 + 30 * pulse_wave(tw, hr)).astype(int)
                (d / "wave.csv").write_bytes(_crlf("Wave", wave))
                secs = int(np.ceil(video_s))
                (d / "gt_HR.csv").write_bytes(_crlf("HR", [int(round(hr))] * secs))
                (d / "gt_SpO2.csv").write_bytes(_crlf("SpO2", [97] * secs))
                if has_time:
                    (d / "time.txt").write_bytes(
                        ("\r\n".join(f"{v:.0f}" for v in ms) + "\r\n").encode()
                    )
                rid = f"p{p}_{task}_{source}"
                truth[rid] = {
                    "subject": f"p{p}",
                    "hr": hr,
                    "n_frames": n_frames,
                    "fps": (n_frames - 1) / times[-1] if has_time else fps,
                    "time_txt": has_time,
                    "fold": (p - 1) % n_folds + 1,
                }
                k += 1
    fold_dir = root / "fold"
    fold_dir.mkdir(parents=True, exist_ok=True)
    for i in range(1, n_folds + 1):
        members = [p for p in range(1, n_subjects + 1) if (p - 1) % n_folds + 1 == i]
        scipy.io.savemat(
            str(fold_dir / f"fold{i}.mat"), {f"fold{i}": np.array([members], dtype=np.float64)}
        )
    _write_truth(root, truth)
    return root


# -- folder adapter -----------------------------------------------------------
def write_mini_folder(
    root: Path, duration_s: float = 8.0, fps: float = 30.0, seed: int = 0
) -> Path:
    """A manifest with three kinds of rows: video + hr, PNG frame folder + BVP CSV, full-frame video + ECG .npy."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fps))
    truth: dict[str, dict] = {}

    write_avi(root / "videos" / "anna_rest.avi", n, fps, 71.0)
    truth["videos/anna_rest"] = {
        "subject": "anna",
        "hr": 71.0,
        "n_frames": n,
        "fps": fps,
        "roi": "face",
    }

    fdir = root / "frames" / "ben run"
    fdir.mkdir(parents=True, exist_ok=True)
    for j, frame in enumerate(pulse_frames(n, fps, 84.0)):
        cv2.imwrite(str(fdir / f"{j:04d}.png"), frame)
    sig_fs = 64.0
    t = np.arange(int(duration_s * sig_fs)) / sig_fs
    bvp = pulse_wave(t, 84.0) + rng.normal(0, 0.05, len(t))
    (root / "signals").mkdir(parents=True, exist_ok=True)
    (root / "signals" / "ben_run_ppg.csv").write_text("ppg\n" + "".join(f"{v:.5f}\n" for v in bvp))
    truth["frames/ben run"] = {
        "subject": "ben",
        "hr": 84.0,
        "n_frames": n,
        "fps": fps,
        "roi": "face",
    }

    write_avi(root / "skin" / "patch_01.avi", n, fps, 96.0)
    ecg_fs = 250.0
    np.save(
        root / "signals" / "patch_01_ecg.npy",
        synth_ecg(int(duration_s * ecg_fs), ecg_fs, 96.0, rng),
    )
    truth["skin/patch_01"] = {
        "subject": "carl",
        "hr": 96.0,
        "n_frames": n,
        "fps": fps,
        "roi": "full-frame",
    }

    (root / "manifest.csv").write_text(
        "path,subject,hr,signal_path,signal_kind,signal_fs,session,fps,roi\n"
        "videos/anna_rest.avi,anna,71,,,,rest,,face\n"
        f"frames/ben run,ben,,signals/ben_run_ppg.csv,bvp,{sig_fs:g},exercise,{fps:g},\n"
        f"skin/patch_01.avi,carl,,signals/patch_01_ecg.npy,ecg,{ecg_fs:g},,,full-frame\n"
    )
    _write_truth(root, truth)
    return root


# -- UBFC-rPPG ----------------------------------------------------------------
def write_mini_ubfc(
    root: Path,
    n_subjects: int = 3,
    n_dataset1: int = 1,
    duration_s: float = 12.0,
    hr_bpm: float = 68.0,
    hr_step: float = 7.0,
    fps: float = 30.0,
    seed: int = 0,
) -> Path:
    """UBFC-rPPG in miniature: ``n_subjects`` DATASET_2 folders and ``n_dataset1`` DATASET_1 folders."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    truth: dict[str, dict] = {}
    k = 0
    n = int(round(duration_s * fps))
    for i in range(n_subjects):
        sid = f"subject{2 * i + 1}"
        hr = _hr(hr_bpm, hr_step, k)
        d = root / "DATASET_2" / sid
        # Frame times jitter around 1/fps, as the camera's do; one GT sample per frame.
        t = np.cumsum(np.r_[0.0, 1.0 / fps + rng.uniform(-0.002, 0.002, n - 1)])
        write_avi(d / "vid.avi", n, fps, hr, t)
        ppg = pulse_wave(t, hr) + rng.normal(0, 0.05, n)
        hr_row = hr + rng.normal(0, 0.8, n)
        rows = [" ".join(f"{v:.7e}" for v in row) for row in (ppg, hr_row, t)]
        (d / "ground_truth.txt").write_text("\n".join(rows) + "\n")
        truth[sid] = {"subject": sid, "hr": hr, "n_frames": n, "fps": fps, "part": "DATASET_2"}
        k += 1
    for i in range(n_dataset1):
        sid = f"{10 + i}-gt"
        hr = _hr(hr_bpm, hr_step, k)
        d = root / "DATASET_1" / sid
        write_avi(d / "vid.avi", n, fps, hr)
        gt_fs = 62.0
        m = int(duration_s * gt_fs)
        t_ms = 1000.0 * np.arange(m) / gt_fs + 1234.0  # the clock does not start at 0
        ppg = 200 + 60 * pulse_wave((t_ms - t_ms[0]) / 1000.0, hr) + rng.normal(0, 2, m)
        lines = [
            f"{tm:.0f},{hr + rng.normal(0, 0.8):.0f},97,{v:.1f}" for tm, v in zip(t_ms, ppg, strict=True)
        ]
        (d / "gtdump.xmp").write_text("\r\n".join(lines) + "\r\n")
        truth[sid] = {"subject": sid, "hr": hr, "n_frames": n, "fps": fps, "part": "DATASET_1"}
        k += 1
    _write_truth(root, truth)
    return root


# -- PURE ---------------------------------------------------------------------
def write_mini_pure(
    root: Path,
    n_subjects: int = 2,
    setups: tuple[str, ...] = ("01", "02"),
    duration_s: float = 12.0,
    hr_bpm: float = 72.0,
    hr_step: float = 6.0,
    fps: float = 30.0,
    gt_hz: float = 60.0,
    nested: bool = False,
    seed: int = 0,
) -> Path:
    """PURE in miniature; frame names carry their ``/Image`` timestamps (ns)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    truth: dict[str, dict] = {}
    k = 0
    n = int(round(duration_s * fps))
    for s_ in range(1, n_subjects + 1):
        for setup in setups:
            rid = f"{s_:02d}-{setup}"
            hr = _hr(hr_bpm, hr_step, k)
            base = root / rid if nested else root
            fdir = base / rid
            fdir.mkdir(parents=True, exist_ok=True)
            t0 = 1_392_643_993_642_449_000 + k * 10**12
            t_img = np.cumsum(np.r_[0.0, 1.0 / fps + rng.uniform(-0.003, 0.003, n - 1)])
            img_ns = [t0 + int(round(v * 1e9)) for v in t_img]
            for ns, frame in zip(img_ns, pulse_frames(n, fps, hr, t_img), strict=True):
                cv2.imwrite(str(fdir / f"Image{ns}.png"), frame)
            # The oximeter starts 0.2 s before the camera and stops with it.
            t_gt = np.arange(-0.2, t_img[-1] + 1.0 / fps, 1.0 / gt_hz)
            wave = np.round(128 + 40 * pulse_wave(t_gt, hr) + rng.normal(0, 1, len(t_gt)))
            package = [
                {
                    "Timestamp": t0 + int(round(t * 1e9)),
                    "Value": {
                        "waveform": int(w),
                        "pulseRate": int(round(hr + rng.normal(0, 0.8))),
                        "o2saturation": 98,
                        "signalStrength": 4,
                    },
                }
                for t, w in zip(t_gt, wave, strict=True)
            ]
            data = {"/FullPackage": package, "/Image": [{"Timestamp": ns} for ns in img_ns]}
            (base / f"{rid}.json").write_text(json.dumps(data))
            truth[rid] = {"subject": f"{s_:02d}", "hr": hr, "n_frames": n, "fps": fps, "setup": setup}
            k += 1
    _write_truth(root, truth)
    return root
