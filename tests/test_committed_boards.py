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


@pytest.mark.skipif(not STORE.exists(), reason="no committed store")
def test_the_committed_default_rows_are_what_the_current_defaults_key():
    """Each learned method's newest default-profile row on the main job's board was keyed by today's defaults.

    Fails when a parameter is added or a default changes without the boards
    being rebuilt (or, for an added parameter, without its ``legacy`` value):
    the committed rows would then be orphans no run of this code reuses.
    """
    import json
    import sqlite3

    from hrbench.plugin.host import get_registry
    from hrbench.plugin.method import RunContext
    from hrbench.run.plan import identity_params

    reg = get_registry()
    con = sqlite3.connect(f"file:{STORE}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT method, params_json FROM runs r WHERE dataset = 'synthetic' AND protocol = 'subject_exclusive' "
        "AND profile = 'default' AND train_fraction = 1.0 AND train_dataset IN ('', 'synthetic') AND created_at = "
        "(SELECT MAX(created_at) FROM runs q WHERE q.method = r.method AND q.dataset = r.dataset "
        "AND q.protocol = r.protocol AND q.profile = r.profile AND q.train_fraction = r.train_fraction)").fetchall()
    con.close()
    learned = {m: json.loads(p) for m, p in rows if reg.methods[m].supervised}
    assert {"stmap_transfer", "rhythm_attention_da", "svr"} <= set(learned)
    for method, stored in learned.items():
        cls = reg.methods[method]
        assert stored == identity_params(cls, cls(RunContext()).get_params()), method
