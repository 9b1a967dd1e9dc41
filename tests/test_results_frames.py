"""Results in pandas (hrbench.api.read_results) and `hrbench export`: tidy frames that give the boards' numbers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mini_store import REF, meta, subject, write_mini_store

from hrbench.api import ResultFrames, read_results
from hrbench.boards.boards import build_boards
from hrbench.cli import main
from hrbench.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_STORE = ROOT / "results" / "hrbench.sqlite"


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return write_mini_store(tmp_path_factory.mktemp("frames") / "mini.sqlite")


def board_row_mae(frames: ResultFrames, board: str, method: str, profile: str = "default") -> float:
    """What a notebook does: the board's newest seed group of one method at full data, mean over seeds of each run's
    MAE."""
    runs = frames.runs
    mine = runs[(runs.board == board) & (runs.method == method) & (runs.profile == profile)
                & (runs.train_fraction == 1.0) & runs.not_run.isna()].sort_values(["created_at", "run_key"])
    newest = mine.iloc[-1]
    group = mine[(mine.params_json == newest.params_json) & (mine.hrbench_version == newest.hrbench_version)]
    keys = group.groupby("seed").tail(1).run_key  # the newest run of each seed
    videos = frames.videos
    return float(videos[videos.run_key.isin(keys)].groupby("run_key").abs_error.mean().mean())


def test_frames_are_tidy_with_references_and_meta(mini):
    f = read_results(mini)
    assert list(f.tables()) == ["runs", "videos", "windows"]
    runs, videos, windows = f.runs, f.videos, f.windows
    assert runs.run_key.is_unique and len(runs) == 7 and runs.complete.all()
    assert set(runs.board) == {"mini-subject_exclusive", "mini-windowed"}
    assert runs.set_index("run_key").loc["se-deep-0", "not_run"].startswith("deep needs weights")
    assert runs.set_index("run_key").loc["se-alpha-1", "seed"] == 1
    ran = runs[runs.not_run.isna()]
    assert len(videos) == len(ran) * len(REF) and not videos.duplicated(["run_key", "recording_id"]).any()
    assert {"meta.scenario", "meta.skin_tone", "meta.light_level"} <= set(videos.columns)
    row = videos[(videos.run_key == "se-zeta-0") & (videos.recording_id == "s03v1")].iloc[0]
    assert row.subject == subject("s03v1") and row.hr_ref == REF["s03v1"]
    assert row["meta.scenario"] == meta("s03v1")["scenario"] and row["meta.light_level"] == meta("s03v1")["light_level"]
    assert np.allclose(videos.error, videos.hr_pred - videos.hr_ref)
    assert np.allclose(videos.abs_error, videos.error.abs())
    position = {k: i for i, k in enumerate(runs.run_key)}  # runs oldest first; each run's videos by recording
    assert list(zip(videos.run_key.map(position), videos.recording_id, strict=True)) == sorted(
        zip(videos.run_key.map(position), videos.recording_id, strict=True))
    # Windows: three per video on the windowed board, the declined ones NaN, each with its recording's meta.
    win = windows[windows.run_key == "win-zeta-0"]
    assert len(win) == 3 * len(REF)
    assert win.window.tolist()[:3] == [0, 1, 2] and win.start_s.tolist()[:3] == [0.0, 5.0, 10.0]
    declined = win[win.hr_pred.isna()]
    assert len(declined) == len(REF) // 2 and (declined.window == 2).all() and declined.abs_error.isna().all()
    assert (win["meta.skin_tone"] == [meta(r)["skin_tone"] for r in win.recording_id]).all()
    # Incomplete runs are left out unless asked for.
    everything = read_results(mini, complete=False).runs
    assert set(everything.run_key) - set(runs.run_key) == {"se-zeta-5"} and not everything.complete.all()


def test_every_board_row_mae_is_reproduced_from_the_frames(mini):
    f = read_results(mini)
    store = Store(mini, readonly=True)
    try:
        boards = build_boards(store)
    finally:
        store.close()
    checked = 0
    for board in boards:
        for row in board.ranked:
            mae = board_row_mae(f, board.name, row.method)
            assert mae == pytest.approx(row.metrics.mae, abs=1e-12), (board.name, row.label)
            checked += 1
    assert checked == 5  # zeta, mid, alpha (two seeds) on one board; zeta, alpha on the other


def test_export_writes_csv_and_parquet_that_read_back_equal(mini, tmp_path, capsys):
    frames = read_results(mini)
    assert main(["export", "--store", str(mini), "--format", "csv", "--out", str(tmp_path / "csv")]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "csv" / f"{n}.csv")
                                               for n in ("runs", "videos", "windows")]
    back = pd.read_csv(tmp_path / "csv" / "videos.csv")
    pd.testing.assert_frame_equal(back, frames.videos, check_dtype=False)
    first = (tmp_path / "csv" / "windows.csv").read_bytes()
    assert main(["export", "--store", str(mini), "--out", str(tmp_path / "csv")]) == 0  # csv is the default
    assert (tmp_path / "csv" / "windows.csv").read_bytes() == first
    assert main(["export", "--store", str(mini), "--format", "parquet", "--out", str(tmp_path / "pq")]) == 0
    for name, frame in frames.tables().items():
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "pq" / f"{name}.parquet"), frame, check_dtype=False)
    capsys.readouterr()
    assert main(["export", "--store", str(tmp_path / "nope.sqlite"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert "results store not found" in err and len(err.splitlines()) == 1
    (tmp_path / "file").write_text("")
    assert main(["export", "--store", str(mini), "--out", str(tmp_path / "file")]) == 2
    assert "cannot create the export folder" in capsys.readouterr().err


@pytest.mark.skipif(not COMMITTED_STORE.exists(), reason="no committed store")
def test_notebook_reproduces_a_committed_board_rows_mae():
    """Read the committed store through the pandas API and get each row's MAE as the committed markdown board prints
    it."""
    f = read_results(COMMITTED_STORE)
    board = "synthetic-whole_video"
    lines = (ROOT / "leaderboards" / f"{board}.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Method | Profile |"))
    col = [c.strip() for c in lines[start].strip("|").split("|")].index("MAE (bpm)")
    rows = 0
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break  # end of the leaderboard table
        cells = [c.strip() for c in line.strip("|").split("|")]
        if "baseline" in cells[0]:
            continue
        m = re.fullmatch(r"(\S+?)(?: \((\S+)\))?(?: †)?", cells[0])
        assert m, cells[0]
        printed = float(cells[col].split()[0])
        assert round(board_row_mae(f, board, m.group(1), m.group(2) or "default"), 2) == printed, cells[0]
        rows += 1
    assert rows >= 5
