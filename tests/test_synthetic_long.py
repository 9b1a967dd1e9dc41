"""The embedded set's long recordings: H.264 through PyAV, a competing light near 1 Hz, board power, progress lines.

Every test renders its own tiny copy (small frames, seconds of video) into a
temporary folder; nothing touches the user's cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from hrbench.data.recording import FrameSource
from hrbench.data.video import iter_frames, probe
from hrbench.pulse.hr import signal_hr
from hrbench_plugins.datasets.synthetic import (
    DEFAULT,
    DEV,
    LARGE,
    POWER,
    SyntheticAdapter,
    SyntheticSettings,
    generate,
    h264,
    interference,
    population,
    render,
)

#: One short MJPG recording and one long H.264 one with a competitor, small frames.
LONG = SyntheticSettings(n_subjects=2, scenarios=("still",), videos_per_subject=1, duration_s=4.0,
                         long_recordings=1, long_duration_s=40.0, size=(160, 120), seed=7)


@pytest.fixture(scope="module")
def long_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic-long") / "ds"
    generate(LONG, root, workers=1)
    return root


def _info(root: Path, rid: str) -> dict:
    subject, scenario = rid.split("_", 1)
    return json.loads((root / subject / scenario / "info.json").read_text())


# -- presets: the power and the budget the boards rely on -------------------------------


def test_default_preset_has_board_power_within_the_frame_budget():
    # Smallest two-sided p of the exact subject-level sign-flip test, Holm over 60 comparisons.
    assert 60 * 2.0 / 2.0**DEFAULT.n_subjects <= 0.001
    plans = population.plan_recordings(DEFAULT)
    frames = sum(p.duration_s * DEFAULT.fps for p in plans)
    assert frames <= 1.25 * 36_000  # generator version 3: 10 x 4 x 30 s
    longs = [p for p in plans if p.long]
    assert 4 <= len(longs) == DEFAULT.long_recordings <= 6
    assert all(p.scenario == "still" and p.duration_s >= 60.0 for p in longs)
    assert len({p.subject.id for p in longs}) == len(longs)
    # Every subject: still plus one other scenario; every scenario appears.
    assert all(sum(p.subject.id == s.id for p in plans) == 2 for s in population.sample_subjects(DEFAULT))
    assert {p.scenario for p in plans} == set(DEFAULT.scenarios)
    # DEV follows DEFAULT (other people); LARGE keeps its size and has no long recordings.
    assert dataclasses.replace(DEV, seed=DEFAULT.seed) == DEFAULT and DEV.seed != DEFAULT.seed
    assert LARGE.long_recordings == 0 and LARGE.n_subjects == 40
    # POWER: the default design with more (other) people and the same share of long recordings.
    assert dataclasses.replace(POWER, n_subjects=DEFAULT.n_subjects, long_recordings=DEFAULT.long_recordings,
                               seed=DEFAULT.seed) == DEFAULT
    assert POWER.seed not in (DEFAULT.seed, DEV.seed, LARGE.seed) and POWER.n_subjects > DEFAULT.n_subjects
    assert abs(POWER.long_recordings / POWER.n_subjects - DEFAULT.long_recordings / DEFAULT.n_subjects) < 0.02
    plans = population.plan_recordings(POWER)
    assert len(plans) == 2 * POWER.n_subjects and {p.scenario for p in plans} == set(DEFAULT.scenarios)
    assert f"{DEFAULT.n_subjects} subjects" in SyntheticAdapter.description


def test_long_recordings_are_spread_over_the_subjects():
    s = dataclasses.replace(DEFAULT, n_subjects=22, long_recordings=6)
    idx = sorted(population.long_subjects(s))
    assert len(idx) == 6 and idx[0] < 22 / 6 and idx[-1] >= 22 - 22 / 6
    assert len(population.long_subjects(dataclasses.replace(s, long_recordings=22))) == 22


@pytest.mark.parametrize("bad", [
    {"long_recordings": 3, "n_subjects": 2},
    {"long_recordings": 1, "long_duration_s": 10.0, "duration_s": 20.0},
    {"h264_crf": 60},
])
def test_bad_long_settings_are_one_line_errors(bad):
    with pytest.raises(ValueError, match="long_|h264_crf"):
        SyntheticSettings(**bad)


# -- on disk: what a long recording is and says ---------------------------------------


def test_long_recording_is_h264_and_says_what_it_carries(long_root):
    recs = {r.id: r for r in SyntheticAdapter().scan(long_root)}
    short, long = recs["s01_still"], recs["s02_still"]  # long_subjects(2 subjects, 1) = {1}
    assert short.frames.path.name == "video.avi" and long.frames.path.name == h264.VIDEO_FILE
    assert long.frames.path.read_bytes()[4:8] == b"ftyp"  # an MP4 container
    info = _info(long_root, "s02_still")
    assert info["codec"] == "h264" and info["competitor"] is True and info["duration_s"] == 40.0
    assert set(interference.COMPETITOR_FIELDS) <= set(info)
    assert 54.0 <= info["competitor_bpm"] <= 62.0 and info["competitor_chroma"] > 0
    assert _info(long_root, "s01_still")["codec"] == "mjpg" and not _info(long_root, "s01_still")["competitor"]
    # The recording's meta carries it too, so studies can break results down by it.
    assert long.meta["codec"] == "h264" and long.meta["competitor_bpm"] == info["competitor_bpm"]
    assert short.meta["codec"] == "mjpg" and "competitor_bpm" not in short.meta
    # OpenCV (hrbench.data.video) decodes every frame; the adapter's own check passes.
    frames = list(iter_frames(long.frames, long.id))
    assert len(frames) == info["n_frames"] == len(long.timestamps()) == probe(long.frames)[0]
    assert frames[0].shape == (120, 160, 3)
    good, problems = SyntheticAdapter().check(long_root)
    assert not problems and len(good) == 2
    # The reference covers the long recording.
    assert signal_hr(long.load_ground_truth(), 0.0, 40.0) == pytest.approx(info["mean_hr"], abs=3.0)


def _chroma_trace(video: Path) -> np.ndarray:
    """log(B / R) of the backdrop's mean colour per frame: the light's colour, not the subject's."""
    out = []
    for bgr in iter_frames(FrameSource(video), bgr=True):
        strip = bgr[:, :24].reshape(-1, 3).astype(np.float64).mean(axis=0)  # the left edge: backdrop
        out.append(np.log(strip[0] / strip[2]))
    return np.asarray(out)


def test_competitor_waxes_and_wanes_in_the_pixels(long_root):
    """The backdrop's colour oscillates at the competitor's frequency during its swell, not outside it."""
    info = _info(long_root, "s02_still")
    rec = next(r for r in SyntheticAdapter().scan(long_root) if r.id == "s02_still")
    t = rec.timestamps()
    x = _chroma_trace(rec.frames.path)
    env = interference.envelope(t, info["competitor_swell_s"], info["competitor_peak_s"])
    f = info["competitor_bpm"] / 60.0

    def amplitude(sel: np.ndarray) -> float:
        """Amplitude of the sinusoid at ``f`` fitted over the frames in ``sel`` (with a linear trend)."""
        tt = t[sel]
        a = np.column_stack([np.sin(2 * np.pi * f * tt), np.cos(2 * np.pi * f * tt), np.ones_like(tt), tt])
        coef = np.linalg.lstsq(a, x[sel], rcond=None)[0]
        return float(np.hypot(coef[0], coef[1]))

    strong, absent = env > 0.6, env == 0.0
    assert strong.sum() > 60 and absent.sum() > 60
    assert amplitude(strong) > 4.0 * amplitude(absent)


def test_envelope_is_one_smooth_swell():
    t = np.linspace(0.0, 60.0, 6001)
    e = interference.envelope(t, 20.0, 30.0)
    assert e.max() == pytest.approx(1.0) and e[t < 20.0].max() == 0.0 and e[t > 40.0].max() == 0.0
    assert np.abs(np.diff(e)).max() < 0.01  # no step
    assert np.mean(e**2 > 0.5) == pytest.approx(0.364 * 20.0 / 60.0, rel=0.02)  # power above half for 36 %


# -- the same bytes on every machine ------------------------------------------------------

#: A long recording's content checksum (decoded YUV planes + BVP + frame times); generator version 4.
#: Update only with GENERATOR_VERSION: a new value means every board's embedded dataset changes.
REPRO_LONG = SyntheticSettings(n_subjects=1, scenarios=("still",), videos_per_subject=1, duration_s=3.0,
                               long_recordings=1, long_duration_s=4.0, size=(160, 120), seed=11)
REPRO_LONG_SHA256 = "929b9554957f9e63c6c0876dbb01a86e88bd3c1a7c0cb03b5cf518a90793c4a4"


def test_h264_writer_is_deterministic_and_pinned(tmp_path):
    """Two encodes of the same frames give the same bytes; the pinned settings are in the stream."""
    rng = np.random.default_rng(0)
    frames = [np.clip(rng.normal(120, 20, (48, 64, 3)) + 4 * i, 0, 255).astype(np.uint8) for i in range(20)]
    paths = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    for p in paths:
        with render.deterministic_opencv(), h264.H264Writer(p, (64, 48), 30.0) as w:
            for f in frames:
                w.write(f)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    sei = paths[0].read_bytes()
    assert b"x264" in sei and b"threads=1" in sei and b"crf=" in sei
    assert len(list(h264.iter_planes(paths[0]))) == 20
    with pytest.raises(ValueError, match="even"):
        h264.H264Writer(tmp_path / "odd.mp4", (63, 48), 30.0)


@pytest.mark.skipif("ssse3" not in Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else True,
                    reason="needs an x86-64 CPU with SSSE3 to run x264's SSSE3 code")
def test_x264_is_pinned_to_the_code_every_x86_64_cpu_runs(tmp_path, monkeypatch, long_root):
    """libx264's SSSE3+ code takes other decisions than its SSE2 code; the writer runs the SSE2 code everywhere."""
    frames = list(iter_frames(FrameSource(long_root / "s01" / "still" / "video.avi"), bgr=True))[:90]

    def encode(params: str) -> bytes:
        monkeypatch.setattr(h264, "X264_PARAMS", params)
        path = tmp_path / f"{hashlib.sha1(params.encode()).hexdigest()}.mp4"
        with render.deterministic_opencv(), h264.H264Writer(path, (160, 120), 30.0) as w:
            for f in frames:
                w.write(f)
        return path.read_bytes()

    pinned = encode(h264.X264_PARAMS)
    assert pinned == encode("asm=MMX2,SSE,SSE2:threads=1")  # what a CPU with only SSE2 would run
    assert pinned != encode("asm=MMX2,SSE,SSE2,SSE3,SSSE3:threads=1")  # an SSSE3 CPU, unpinned: other bytes


def test_long_rendering_matches_the_committed_checksum(tmp_path):
    generate(REPRO_LONG, tmp_path / "r", workers=1)
    assert render.recording_fingerprint(tmp_path / "r" / "s01" / "still") == REPRO_LONG_SHA256


def test_long_rendering_does_not_depend_on_cpu_features(tmp_path):
    """Rendered and encoded where OpenCV, NumPy, BLAS and glibc's maths take other CPU paths: same checksum."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_synthetic import OTHER_CPU

    code = (
        "import sys\nfrom pathlib import Path\n"
        "from hrbench_plugins.datasets.synthetic import SyntheticSettings, generate, render\n"
        f"s = SyntheticSettings(**{dataclasses.asdict(REPRO_LONG)!r})\n"
        "generate(s, Path(sys.argv[1]), workers=1)\n"
        "print(render.recording_fingerprint(Path(sys.argv[1]) / 's01' / 'still'))\n"
    )
    env = {**os.environ, **OTHER_CPU, "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F,-AVX2,-FMA,-AVX"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "other")], capture_output=True, text=True,
                         env=env, timeout=300, check=True)
    assert out.stdout.strip() == REPRO_LONG_SHA256


def test_fingerprint_of_h264_is_its_decoded_planes(long_root):
    d = long_root / "s02" / "still"
    h = hashlib.sha256()
    n = h264.update_hash(h, d / h264.VIDEO_FILE)
    assert n == _info(long_root, "s02_still")["n_frames"]
    # BGR frames through OpenCV differ from the planes only by the colour conversion: same count, close values.
    planes = next(h264.iter_planes(d / h264.VIDEO_FILE))
    bgr = next(iter_frames(FrameSource(d / h264.VIDEO_FILE), bgr=True))
    back = cv2.cvtColor(planes, cv2.COLOR_YUV2BGR_I420)
    assert np.abs(back.astype(int) - bgr.astype(int)).mean() < 2.0


# -- first use prints progress lines to a log --------------------------------------------------


def test_first_use_generation_prints_plain_progress_lines(tmp_path, capsys):
    class Tiny(SyntheticAdapter):
        name = "synthetic-tiny"
        settings = SyntheticSettings(n_subjects=2, scenarios=("still", "far"), videos_per_subject=2, duration_s=2.0,
                                     size=(64, 48), seed=3)

    root = tmp_path / "tiny"
    Tiny().prepare(root)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "generating synthetic-tiny (first use): started, 4 items"
    assert err[-1].startswith("generating synthetic-tiny (first use): done, 4/4 in ")
    assert (root / "dataset.json").is_file()
    Tiny().prepare(root)  # complete: nothing generated, nothing printed
    assert capsys.readouterr().err == ""
