"""The embedded synthetic dataset: physiology, rendering, scenarios, on-disk form, adapters.

Every test generates its own small copy (a few subjects, seconds of video,
small frames) into a temporary folder; nothing touches the user's cache.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import pickle
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from hrbench.data.video import iter_frames, probe
from hrbench.errors import HrbenchError, RecordingError
from hrbench.fsutil import cache_dir
from hrbench.pulse.hr import signal_hr, spectral_hr
from hrbench_plugins.datasets.synthetic import (
    DEFAULT,
    LARGE,
    SCENARIO_NAMES,
    SyntheticAdapter,
    SyntheticLargeAdapter,
    SyntheticPowerAdapter,
    SyntheticSettings,
    camera,
    generate,
    optics,
    population,
    render,
)
from hrbench_plugins.datasets.synthetic.dynamics import make_trajectories
from hrbench_plugins.datasets.synthetic.physiology import (
    CardioSignal,
    harmonic_ratio,
    has_dicrotic_notch,
    pulse_template,
)
from hrbench_plugins.datasets.synthetic.scenarios import SCENARIOS

#: Four contrasting scenarios, two subjects, small frames: the workhorse fixture.
SCEN = SyntheticSettings(
    n_subjects=2, scenarios=("still", "dim_light", "head_motion", "far"), videos_per_subject=4,
    duration_s=8.0, size=(160, 120), seed=5,
)


@pytest.fixture(scope="module")
def scen_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic") / "scen"
    generate(SCEN, root, workers=1)
    return root


def _cardio(plan: population.RecordingPlan, duration: float) -> CardioSignal:
    return CardioSignal(plan.cardio, duration, np.random.default_rng([*plan.seed, 8]))


def _decoded(video: Path) -> np.ndarray:
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return np.stack(frames)


def _info(root: Path, rid: str) -> dict:
    subject, scenario = rid.split("_", 1)
    return json.loads((root / subject / scenario / "info.json").read_text())


# -- physiology and population (no rendering) ---------------------------------


def test_bvp_spectral_peak_is_the_hr_of_the_window():
    """Over every 10 s window the reference BVP's spectral peak is the intended HR."""
    settings = SyntheticSettings(n_subjects=8, videos_per_subject=len(SCENARIO_NAMES), seed=21)
    dur, fs = 30.0, settings.bvp_fs
    t = np.arange(int(dur * fs)) / fs
    hann_err, count_err = [], []
    w = np.hanning(int(10 * fs))
    for plan in population.plan_recordings(settings):
        c = _cardio(plan, dur)
        bvp = c.reference_bvp(t)
        d = plan.cardio.sensor_delay
        for t0 in np.arange(0.0, dur - 10.0 + 1e-9, 5.0):
            sel = slice(int(t0 * fs), int(t0 * fs) + len(w))
            est = float(spectral_hr(bvp[sel], fs))
            inst = c.instantaneous_hr(t[sel] - d)
            hann_err.append(est - float(np.sum(w * inst) / w.sum()))
            count_err.append(est - c.mean_hr(t0, t0 + 10.0, d))
    hann_err, count_err = np.abs(hann_err), np.abs(count_err)
    # The spectral peak is the (Hann-weighted) mean instantaneous HR of the window ...
    assert hann_err.max() < 1.0
    # ... and within RSA's spread of the beat count (HR varies inside a window).
    assert count_err.max() < 3.0
    assert count_err.mean() < 0.8


def test_pulse_shape_systolic_peak_notch_and_clear_fundamental():
    subjects = population.sample_subjects(SyntheticSettings(n_subjects=40, seed=3))
    for s in subjects:
        shape = s.pulse_shape
        phase = np.arange(1000) / 1000.0
        y = pulse_template(phase, shape)
        assert abs(phase[np.argmax(y)] - shape.systolic_phase) < 0.03  # systolic peak is the maximum
        assert has_dicrotic_notch(shape)
        assert harmonic_ratio(shape) <= population.MAX_HARMONIC_RATIO
        assert harmonic_ratio(shape, 3) <= population.MAX_THIRD_HARMONIC_RATIO
        assert y.max() - y.min() == pytest.approx(1.0, abs=1e-3)


def test_hr_varies_within_and_between_recordings():
    plans = population.plan_recordings(SyntheticSettings(n_subjects=6, scenarios=("still",), videos_per_subject=1))
    ranges, means = [], []
    for p in plans:
        c = _cardio(p, 30.0)
        hr = c.instantaneous_hr(np.linspace(0, 30, 300))
        ranges.append(np.ptp(hr))
        means.append(c.mean_hr(0, 30))
    assert min(ranges) > 2.0  # HRV and trends inside every video
    assert np.ptp(means) > 8.0  # subjects differ


def test_hr_distribution_imbalanced_and_subject_traits_dominate():
    settings = SyntheticSettings(n_subjects=50, videos_per_subject=len(SCENARIO_NAMES), seed=7)
    plans = population.plan_recordings(settings)
    hr = np.array([_cardio(p, 30.0).mean_hr(0, 30) for p in plans])
    scen = np.array([p.scenario for p in plans])
    assert np.mean((hr >= 60) & (hr <= 100)) > 0.75  # most recordings at 60-100 bpm
    high = hr > 110
    assert 0.005 < np.mean(high) < 0.12  # a thin tail above 110 ...
    assert set(scen[high]) == {"exercise"}  # ... from exercise only
    # Resting recordings of one subject resemble each other more than other subjects':
    by_subject = collections.defaultdict(list)
    for p, h in zip(plans, hr, strict=True):
        if p.scenario != "exercise":
            by_subject[p.subject.id].append(h)
    between = np.var([np.mean(v) for v in by_subject.values()], ddof=1)
    within = np.mean([np.var(v, ddof=1) for v in by_subject.values()])
    assert between > 3.0 * within


def test_skin_tones_cover_fitzpatrick_range_imbalanced():
    tones = population.assign_tones(10, np.random.default_rng(0))
    counts = collections.Counter(tones)
    assert set(counts) == set(optics.FITZPATRICK)
    assert max(counts.values()) >= 2
    assert [s.tone for s in population.sample_subjects(DEFAULT)].count("VI") >= 1


def test_default_plan_covers_every_scenario():
    plans = population.plan_recordings(DEFAULT)
    assert len(plans) == DEFAULT.n_subjects * DEFAULT.videos_per_subject >= 40
    assert set(p.scenario for p in plans) == set(SCENARIO_NAMES)
    assert len({p.id for p in plans}) == len(plans)


def test_frame_clock_jitters_around_nominal_rate():
    t = camera.frame_times(60.0, 30.0, np.random.default_rng(1), drop_prob=0.01)
    dt = np.diff(t)
    assert np.all(dt > 0)
    assert np.median(dt) == pytest.approx(1 / 30, rel=2e-3)
    assert dt.std() > 5e-4  # jitter
    assert dt.max() > 1.8 / 30  # a dropped frame leaves a double gap
    assert 1700 < len(t) < 1801


# -- optics: the pulse in the pixels ------------------------------------------


def _pulse_amplitude_rgb(tone: str) -> np.ndarray:
    """Relative pulse amplitude (B, G, R) of the face radiance of one subject re-coloured to ``tone``."""
    settings = SyntheticSettings(n_subjects=1, scenarios=("still",), videos_per_subject=1, size=(160, 120), seed=4)
    plan = population.plan_recordings(settings)[0]
    subj = plan.subject
    look = dataclasses.replace(subj.look, tone=tone)
    subj = dataclasses.replace(subj, look=look)
    rng = np.random.default_rng(0)
    cardio = _cardio(plan, 4.0)
    times = np.arange(120) / 30.0
    traj = make_trajectories(times, SCENARIOS["still"], subj, cardio, 4.0, rng)
    for name in ("tx", "ty", "yaw", "pitch", "roll", "body_tx", "body_ty", "jaw"):  # optics only: no motion
        getattr(traj, name)[:] = 0.0
    traj.scale[:] = 1.0
    amp = render.PULSE_AMPLITUDE * optics.MELANIN_PULSE_FACTOR[tone]
    canvas = render.build_canvas(render._subject_layers(look), (160, 120), 48.0, (80.0, 56.0),
                                 amp * np.asarray(subj.region_perfusion))
    kappa = optics.rgb_to_bgr(optics.pulse_direction_rgb(tone))
    r = render.FrameRenderer(canvas, traj, (160, 120), kappa)
    pulse = np.stack([cardio.blood_volume(times, d) for d in subj.region_delay])
    x, y, w, h = canvas.landmarks.face_box
    box = (slice(int(y + 0.3 * h), int(y + 0.8 * h)), slice(int(x + 0.2 * w), int(x + 0.8 * w)))
    trace = np.array([r.radiance(i, pulse[:, i], traj.colour[i])[box][..., :3].reshape(-1, 3).mean(0)
                      for i in range(len(times))])
    ref = pulse[1] - pulse[1].mean()
    rel = trace / trace.mean(0) - 1.0
    rel -= rel.mean(0)
    return rel.T @ ref / (ref @ ref)  # regression slope per channel (negative: blood absorbs)


def test_pulse_strongest_in_green_and_weaker_on_dark_skin():
    light = _pulse_amplitude_rgb("I")
    dark = _pulse_amplitude_rgb("VI")
    assert np.all(light < 0) and np.all(dark < 0)  # more blood, less reflected light
    assert abs(light[1]) > abs(light[0]) and abs(light[1]) > abs(light[2])  # green strongest
    ratio = abs(dark[1]) / abs(light[1])
    expected = optics.MELANIN_PULSE_FACTOR["VI"] / optics.MELANIN_PULSE_FACTOR["I"]
    assert ratio == pytest.approx(expected, rel=0.3)


def _tracked_skin_green(video: Path, face_box: list[float]) -> np.ndarray:
    """Mean green over the face's skin pixels, following the face by ECC translation tracking."""
    x, y, w, h = face_box
    cx, cy = x + w / 2, y + h / 2
    size = (int(w) // 2 * 2, int(h) // 2 * 2)
    pad = 8
    warp = np.float32([[1, 0, pad], [0, 1, pad]])
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-4)
    ref = mask = None
    out = []
    for rgb in iter_frames_bgr(video):
        gray = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_BGR2GRAY).astype(np.float32), (0, 0), 1.0)
        if ref is None:
            ref = cv2.getRectSubPix(gray, size, (cx, cy))
            ycc = cv2.cvtColor(cv2.getRectSubPix(rgb, size, (cx, cy)), cv2.COLOR_BGR2YCrCb)
            mask = (ycc[..., 1] >= 135) & (ycc[..., 1] <= 175) & (ycc[..., 2] >= 80) & (ycc[..., 2] <= 127)
            dx = dy = 0.0
        else:
            cur = cv2.getRectSubPix(gray, (size[0] + 2 * pad, size[1] + 2 * pad), (cx, cy))
            with contextlib.suppress(cv2.error):  # on failure keep the previous estimate
                _, warp = cv2.findTransformECC(ref, cur, warp, cv2.MOTION_TRANSLATION, crit, None, 1)
            dx, dy = float(warp[0, 2]) - pad, float(warp[1, 2]) - pad
        crop = cv2.getRectSubPix(rgb.astype(np.float32), size, (cx + dx, cy + dy))
        out.append(crop[mask][:, 1].mean())
    return np.asarray(out)


def iter_frames_bgr(video: Path):
    cap = cv2.VideoCapture(str(video))
    try:
        while True:
            ok, f = cap.read()
            if not ok:
                return
            yield f
    finally:
        cap.release()


def test_rendered_pulse_spectral_peak_matches_bvp_label(tmp_path):
    """Decoded frames of 'still' videos: skin green's spectral HR equals the BVP label."""
    settings = SyntheticSettings(n_subjects=2, scenarios=("still",), videos_per_subject=1, duration_s=16.0,
                                 size=(320, 240), seed=0)
    root = tmp_path / "still"
    generate(settings, root, workers=1)
    recs = SyntheticAdapter().scan(root)
    assert len(recs) == 2
    for rec in recs:
        info = _info(root, rec.id)
        green = _tracked_skin_green(rec.frames.path, info["face_box"])
        ts = rec.timestamps()
        fs = (len(ts) - 1) / (ts[-1] - ts[0])
        video_hr = float(spectral_hr(green, fs))
        label = signal_hr(rec.load_ground_truth(), 0.0, settings.duration_s)
        assert abs(video_hr - label) < 2.0, (rec.id, video_hr, label)


# -- scenarios ------------------------------------------------------------------


def _mean_flow(frames: np.ndarray, step: int = 4) -> float:
    """Mean optical-flow magnitude (pixels/frame) between consecutive frames (every ``step``-th pair)."""
    gray = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    mags = []
    for i in range(0, len(gray) - 1, step):
        flow = cv2.calcOpticalFlowFarneback(gray[i], gray[i + 1], None, 0.5, 3, 15, 3, 5, 1.2, 0)
        mags.append(np.linalg.norm(flow, axis=-1).mean())
    return float(np.mean(mags))


def _face_scale(template_frame: np.ndarray, face_box: list[float], frame: np.ndarray) -> float:
    """Size of the face in ``frame`` relative to ``template_frame``, by multi-scale template matching."""
    x, y, w, h = (int(round(v)) for v in face_box)
    face = cv2.cvtColor(template_frame[y : y + h, x : x + w], cv2.COLOR_BGR2GRAY)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    best = (-2.0, 0.0)
    for scale in np.arange(0.3, 1.31, 0.05):
        t = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if t.shape[0] < 8 or t.shape[0] >= gray.shape[0] or t.shape[1] >= gray.shape[1]:
            continue
        score = float(cv2.matchTemplate(gray, t, cv2.TM_CCOEFF_NORMED).max())
        best = max(best, (score, float(scale)))
    return best[1]


@pytest.mark.parametrize("subject", ["s01", "s02"])
def test_scenarios_take_effect(scen_root, subject):
    video = {s: _decoded(scen_root / subject / s / "video.avi") for s in SCEN.scenarios}
    # Dim light: darker frames despite auto exposure.
    assert video["dim_light"].mean() < 0.8 * video["still"].mean()
    # Head motion: much larger frame-to-frame displacement.
    assert _mean_flow(video["head_motion"]) > 3.0 * _mean_flow(video["still"])
    # Far: a smaller face, measured in the pixels (and recorded in info.json).
    far, still = _info(scen_root, f"{subject}_far"), _info(scen_root, f"{subject}_still")
    assert _face_scale(video["still"][0], still["face_box"], video["still"][0]) == pytest.approx(1.0, abs=0.06)
    assert _face_scale(video["still"][0], still["face_box"], video["far"][0]) < 0.7
    assert far["face_box"][2] < 0.7 * still["face_box"][2]
    assert far["scenario"] == "far" and still["skin_tone"] == far["skin_tone"]


# -- on-disk form and adapter -----------------------------------------------------


def test_scan_reads_back_what_was_written(scen_root):
    recs = SyntheticAdapter().scan(scen_root)
    assert [r.id for r in recs] == [p.id for p in population.plan_recordings(SCEN)]
    subjects = {line.split(",")[0]: line.split(",")[1]
                for line in (scen_root / "subjects.csv").read_text().splitlines()[1:]}
    for rec in recs:
        info = _info(scen_root, rec.id)
        assert rec.dataset == "synthetic"
        assert rec.subject == info["subject"] and rec.session == info["scenario"] == rec.meta["scenario"]
        assert rec.meta["skin_tone"] == subjects[rec.subject] == info["skin_tone"]
        assert rec.meta["base_hr"] == info["resting_hr"] and rec.meta["mean_hr"] == info["mean_hr"]
        assert rec.fps == 30.0 and rec.gt_path.name == "bvp.csv"
        ts = rec.timestamps()
        n_frames, fps = probe(rec.frames)
        assert n_frames == len(ts) == info["n_frames"] and fps == pytest.approx(30.0)
        sig = rec.load_ground_truth()
        assert sig.kind == "bvp" and sig.fs == pytest.approx(SCEN.bvp_fs, rel=1e-4)
        assert sig.duration == pytest.approx(SCEN.duration_s, abs=0.05)
        assert signal_hr(sig, 0.0, SCEN.duration_s) == pytest.approx(info["mean_hr"], abs=3.0)
        assert pickle.loads(pickle.dumps(rec)).id == rec.id  # travels to worker processes
    first = next(iter_frames(recs[0].frames, recs[0].id))
    assert first.shape == (120, 160, 3)


def test_missing_or_corrupt_files_name_the_file(scen_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(scen_root, root)
    adapter = SyntheticAdapter()
    # Missing BVP: scan fails naming it; scan_with_problems keeps the others.
    missing = root / "s01" / "still" / "bvp.csv"
    missing.unlink()
    with pytest.raises(HrbenchError) as exc:
        adapter.scan(root)
    assert exc.value.path == str(missing) and str(missing) in str(exc.value)
    recs, problems = adapter.scan_with_problems(root)
    assert len(recs) == len(SCEN.scenarios) * SCEN.n_subjects - 1
    assert [p.path for p in problems] == [str(missing)] and problems[0].recording_id == "s01_still"
    # Corrupt BVP: loading the ground truth is a one-line error naming file and line.
    bad = root / "s02" / "still" / "bvp.csv"
    lines = bad.read_text().splitlines()
    lines[5] = "0.0833,not-a-number"
    bad.write_text("\n".join(lines) + "\n")
    rec = next(r for r in recs if r.id == "s02_still")
    with pytest.raises(RecordingError) as exc:
        rec.load_ground_truth()
    assert exc.value.path == str(bad) and "line 6" in str(exc.value)
    # Wrong header, and corrupt timestamps.
    bad.write_text("t,v\n0,1\n")
    with pytest.raises(RecordingError, match="header"):
        rec.load_ground_truth()
    stamps = root / "s02" / "dim_light" / "timestamps.csv"
    stamps.write_text("frame,time_s\n0,0.0\n1,0.03\n3,0.06\n")
    rec = next(r for r in recs if r.id == "s02_dim_light")
    with pytest.raises(RecordingError) as exc:
        rec.timestamps()
    assert exc.value.path == str(stamps)
    # check() finds the damage too.
    _, problems = adapter.check(root)
    assert {Path(p.path).name for p in problems} >= {"bvp.csv", "timestamps.csv"}
    # No manifest: not a generated dataset.
    (root / "dataset.json").unlink()
    with pytest.raises(HrbenchError, match="dataset.json"):
        adapter.scan(root)


def test_generation_is_deterministic_and_independent_of_workers(tmp_path):
    settings = SyntheticSettings(n_subjects=2, scenarios=("talking", "bright_flicker"), videos_per_subject=1,
                                 duration_s=3.0, size=(96, 72), seed=2)
    a, b = tmp_path / "a", tmp_path / "b"
    generate(settings, a, workers=1)
    generate(settings, b, workers=2)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert {f.name for f in files} >= {"bvp.csv", "info.json", "timestamps.csv", "video.avi", "subjects.csv",
                                       "dataset.json"}
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    for video in a.rglob("video.avi"):
        assert np.array_equal(_decoded(video), _decoded(b / video.relative_to(a)))
    # Another seed is another dataset.
    c = tmp_path / "c"
    generate(dataclasses.replace(settings, seed=3), c, workers=1)
    assert (a / "s01" / "talking" / "bvp.csv").read_bytes() != (c / "s01" / "talking" / "bvp.csv").read_bytes()


def test_generation_is_atomic_and_cached(tmp_path, monkeypatch):
    settings = SyntheticSettings(n_subjects=1, scenarios=("still", "far"), videos_per_subject=2, duration_s=2.0,
                                 size=(64, 48), seed=1)
    root = tmp_path / "ds"
    real = render.render_recording
    calls = []

    def failing(plan, s, out):
        calls.append(plan.id)
        if len(calls) == 2:
            raise KeyboardInterrupt  # interrupted half-way
        return real(plan, s, out)

    monkeypatch.setattr(render, "render_recording", failing)
    with pytest.raises(KeyboardInterrupt):
        generate(settings, root, workers=1)
    assert not root.exists()
    assert not list(tmp_path.glob(".ds.tmp-*"))  # no half-written copy left behind
    monkeypatch.setattr(render, "render_recording", real)
    stats = generate(settings, root, workers=1)
    assert set(stats.recordings) == {"s01_still", "s01_far"} and stats.cpu_s > 0
    stamp = (root / "dataset.json").stat().st_mtime_ns
    assert generate(settings, root, workers=1) is None  # complete copy: not regenerated
    assert (root / "dataset.json").stat().st_mtime_ns == stamp
    # A foreign, incomplete folder is never overwritten.
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(HrbenchError, match="not a complete"):
        generate(settings, other, workers=1)
    assert (other / "keep.txt").exists()


def test_adapters_registered_with_cache_roots(monkeypatch):
    from hrbench.plugin.host import load_registry

    monkeypatch.setenv("HRBENCH_PLUGINS", "synthetic")  # load only this entry point (fast)
    reg = load_registry()
    assert reg.dataset("synthetic") is SyntheticAdapter
    assert reg.dataset("synthetic-large") is SyntheticLargeAdapter
    assert reg.dataset("synthetic-46") is SyntheticPowerAdapter
    assert SyntheticPowerAdapter.settings.n_subjects == 46  # the name says the size
    assert reg.owner[("datasets", "synthetic")] == "synthetic"
    small, large = SyntheticAdapter(), SyntheticLargeAdapter()
    assert not small.needs_root and not large.needs_root
    assert small.default_root() == cache_dir() / "datasets" / f"synthetic-{DEFAULT.digest()}"
    assert large.default_root().name == f"synthetic-large-{LARGE.digest()}"
    assert LARGE.n_subjects >= 40 and len(population.plan_recordings(LARGE)) == LARGE.n_subjects * len(SCENARIO_NAMES)
    # The directory name changes exactly when the settings do.
    assert dataclasses.replace(DEFAULT).digest() == DEFAULT.digest()
    assert dataclasses.replace(DEFAULT, duration_s=31.0).digest() != DEFAULT.digest()
    assert dataclasses.replace(DEFAULT, h264_crf=17).digest() != DEFAULT.digest()
    with pytest.raises(ValueError):
        SyntheticSettings(scenarios=("moonwalk",))


# -- the same bytes on every machine -----------------------------------------------------

#: A short recording (talking: motion, jaw, speech-paced AE changes) and its content checksum
#: (decoded frames + BVP + frame times).  Generator versions 3 and 4 (4 changed only the long
#: recordings: tests/test_synthetic_long.py); update both together, never the checksum alone:
#: a new value means every board's embedded dataset changes.
REPRO = SyntheticSettings(n_subjects=1, scenarios=("talking",), videos_per_subject=1, duration_s=3.0,
                          size=(160, 120), seed=11)
REPRO_SHA256 = "a2fa9014b02fc490f038daede93508ef386936f7fa77e2bcaf86d58ab2965802"

#: Environment that makes this machine compute like an older or different x86-64 CPU: OpenCV's
#: IPP on its SSE4.2 path and no AVX2/FMA kernels, NumPy without AVX-512/AVX2 loops, OpenBLAS's
#: generic SSE3 kernels, another hash seed.  Version 2 of the generator gave other bytes under it.
OTHER_CPU = {
    "OPENCV_IPP": "sse42", "OPENCV_CPU_DISABLE": "AVX2,FMA3,AVX,FP16,SSE4_2,SSE4_1,POPCNT,SSSE3",
    "NPY_DISABLE_CPU_FEATURES": "AVX512F,AVX512CD,AVX512_SKX,AVX512_CLX,AVX512_CNL,AVX512_ICL,AVX512_SPR,"
                                "AVX2,FMA3,F16C,AVX",
    "OPENBLAS_CORETYPE": "Prescott", "PYTHONHASHSEED": "3",
}


def test_rendering_matches_the_committed_checksum_and_restores_opencv(tmp_path):
    threads, optimized = cv2.getNumThreads(), cv2.useOptimized()
    cv2.setNumThreads(2)  # a caller's settings: multithreaded, CPU-dispatched OpenCV
    cv2.setUseOptimized(True)
    try:
        generate(REPRO, tmp_path / "r", workers=1)
        assert (cv2.getNumThreads(), cv2.useOptimized()) == (2, True)  # restored after rendering
    finally:
        cv2.setNumThreads(threads)
        cv2.setUseOptimized(optimized)
    assert (tmp_path / "r" / "s01" / "talking" / "video.avi").read_bytes()[8:12] == b"AVI "  # on-disk form kept
    assert len(camera.read_mjpeg_avi(tmp_path / "r" / "s01" / "talking" / "video.avi")) == _info(
        tmp_path / "r", "s01_talking")["n_frames"]
    assert render.recording_fingerprint(tmp_path / "r" / "s01" / "talking") == REPRO_SHA256


def test_rendering_does_not_depend_on_cpu_features(tmp_path):
    """Rendered in a process whose OpenCV, NumPy and BLAS take other CPU paths: same checksum."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\nfrom pathlib import Path\n"
        "from hrbench_plugins.datasets.synthetic import SyntheticSettings, generate, render\n"
        f"s = SyntheticSettings(**{dataclasses.asdict(REPRO)!r})\n"
        "generate(s, Path(sys.argv[1]), workers=1)\n"
        "print(render.recording_fingerprint(Path(sys.argv[1]) / 's01' / 'talking'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "other")], capture_output=True, text=True,
                         env={**os.environ, **OTHER_CPU}, timeout=300, check=True)
    assert out.stdout.strip() == REPRO_SHA256
