"""The committed leaderboards and README headline are what the committed store gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hrbench.cli import main

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "results" / "hrbench.sqlite"


@pytest.mark.skipif(not STORE.exists(), reason="no committed store")
def test_headline_board_regenerates_byte_identical(tmp_path):
    committed = ROOT / "leaderboards" / "synthetic-whole_video.md"
    assert committed.exists()
    assert main(["leaderboard", "--store", str(STORE), "--dataset", "synthetic",
                 "--protocol", "whole_video", "--out", str(tmp_path)]) == 0
    assert (tmp_path / committed.name).read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")


@pytest.mark.skipif(not STORE.exists(), reason="no committed store")
def test_readme_headline_is_what_the_store_says():
    rc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "readme_headline.py"), "--store", str(STORE),
                         "--readme", str(ROOT / "README.md"), "--check"], cwd=ROOT, capture_output=True, text=True)
    assert rc.returncode == 0, rc.stderr or "README headline differs from the store: run benchmarks/readme_headline.py"
