"""Ground truth must cover the video: in `datasets check`, in the adapters' scans and loaders, and so in runs.

The case that once gave a number: a VIPL-HR ``wave.csv`` cut to 80 % implies
48 Hz, inside the old 45-75 Hz tolerance, and was stretched over the whole
video (reference 70.12 bpm for a true 88.10, no note).  VIPL-HR states
60 Hz; the wave is held to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from miniature import read_mini_truth, write_mini_mmse, write_mini_ubfc, write_mini_vipl

from hrbench.cli import main
from hrbench.errors import RecordingError
from hrbench.pulse.hr import signal_hr
from hrbench_plugins.datasets.mmse_hr import MMSEHRAdapter
from hrbench_plugins.datasets.ubfc_rppg import UBFCrPPGAdapter
from hrbench_plugins.datasets.vipl_hr import VIPLHRAdapter


def _cut_wave(wave: Path, fraction: float) -> None:
    header, *values = wave.read_bytes().decode().split()
    keep = values[: int(round(fraction * len(values)))]
    wave.write_bytes(("\r\n".join([header, *keep]) + "\r\n").encode())


@pytest.fixture
def vipl(tmp_path) -> Path:
    return write_mini_vipl(
        tmp_path / "VIPL-HR", n_subjects=3, sources=("source1", "source2"), extra_task=None,
        n_folds=3, duration_s=11.0, hr_bpm=88.0,
    )


def test_stretching_a_cut_wave_would_read_the_wrong_hr(vipl):
    """The mechanism: spread over the video, an 80 % wave reads 20 % low -- which is why it must be refused."""
    rec = {r.id: r for r in VIPLHRAdapter().scan(vipl)}["p1_v1_source1"]
    sig = rec.load_ground_truth()
    true_hr = read_mini_truth(vipl)["p1_v1_source1"]["hr"]
    n = int(round(0.8 * len(sig.values)))
    stretched = type(sig)("bvp", sig.values[:n], n / (len(sig.values) / sig.fs))
    assert signal_hr(stretched, 0.0, 10.0) == pytest.approx(0.8 * true_hr, abs=1.5)


def test_vipl_wave_cut_to_80_percent_is_an_error_everywhere(vipl, tmp_path, capsys):
    wave = vipl / "data/p1/v1/source1/wave.csv"
    _cut_wave(wave, 0.8)
    # The adapter: scan (what a run calls first), and the loader (what a run calls per recording).
    recs, problems = VIPLHRAdapter().scan_with_problems(vipl)
    assert "p1_v1_source1" not in {r.id for r in recs}
    assert [(Path(p.path), p.severity) for p in problems] == [(wave, "error")]
    assert "the wave is 20 % shorter than the video (implied rate 48.0 Hz)" in problems[0].message
    # check: one line naming the file, exit status 1.
    assert main(["datasets", "check", "vipl_hr", str(vipl), "--protocol", "vipl_hr_5fold"]) == 1
    out = capsys.readouterr().out
    assert f"error: {wave}: " in out and "20 % shorter" in out and "no errors found" not in out
    # run: stops before any work, one line, naming the file.
    rc = main(["run", "--dataset", "vipl_hr", "--data-root", str(vipl), "--method", "pos",
               "--store", str(tmp_path / "s.sqlite"), "--workers", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert str(wave) in err and "20 % shorter" in err


def test_vipl_wave_at_its_stated_rate_reads_the_true_hr(vipl):
    truth = read_mini_truth(vipl)
    for rec in VIPLHRAdapter().scan(vipl):
        sig = rec.load_ground_truth()
        assert sig.fs == pytest.approx(60.0, rel=0.05)
        assert abs(signal_hr(sig, 0.0, 10.0) - truth[rec.id]["hr"]) < 1.0


def test_ubfc_ground_truth_shorter_than_the_video_is_an_error(tmp_path):
    """UBFC's PPG has its own time stamps: it is never stretched; under 90 % of the video it is refused."""
    root = write_mini_ubfc(tmp_path / "UBFC", n_subjects=1, n_dataset1=1, duration_s=12.0)
    gt = root / "DATASET_1" / "10-gt" / "gtdump.xmp"
    lines = gt.read_text().splitlines()
    gt.write_text("\n".join(lines[: int(0.85 * len(lines))]) + "\n")
    recs, problems = UBFCrPPGAdapter().scan_with_problems(root)
    assert [r.id for r in recs] == ["subject1"]
    assert [Path(p.path) for p in problems] == [gt]
    assert "covers 10.2 s of the video's 12.0 s (85 %, at least 90 % needed)" in problems[0].message


def test_mmse_track_ending_early_is_an_error(tmp_path):
    root = write_mini_mmse(tmp_path / "MMSE", n_subjects=1, tasks_per_subject=1, duration_s=6.0)
    gt = next(root.rglob("Pulse Rate_BPM.txt"))
    values = gt.read_text().split()
    gt.write_text("\n".join(values[: int(0.8 * len(values))]) + "\n")
    recs, problems = MMSEHRAdapter().scan_with_problems(root)
    assert recs == [] and [Path(p.path) for p in problems] == [gt]
    assert "ground truth covers 4.8 s but the 150 frames last 6.0 s" in problems[0].message
    with pytest.raises(RecordingError):
        MMSEHRAdapter().scan(root)


def test_tolerances_are_documented_per_adapter():
    """Each recorded-dataset adapter says how far its ground truth may be from the video."""
    import hrbench_plugins.datasets as pkg

    for mod in ("folder", "mahnob_hci", "mmse_hr", "pure", "ubfc_rppg", "vipl_hr"):
        doc = __import__(f"{pkg.__name__}.{mod}", fromlist=["_"]).__doc__ or ""
        assert "tolerance" in doc.lower(), mod
    assert np.isclose(VIPLHRAdapter().wave_hz, 60.0)
