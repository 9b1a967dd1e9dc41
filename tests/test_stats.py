"""Uncertainty and significance behave as statistics should."""

import numpy as np
import pandas as pd

from hrbench.boards.stats import bootstrap_ci, friedman_nemenyi, wilcoxon_pair


def test_subject_bootstrap_is_wider_than_video_bootstrap_for_correlated_videos():
    rng = np.random.default_rng(0)
    subjects = [f"s{i}" for i in range(8) for _ in range(10)]
    offset = {s: rng.normal(0, 6) for s in set(subjects)}  # per-subject bias: videos correlated
    ref = rng.uniform(60, 100, len(subjects))
    pred = ref + np.array([offset[s] for s in subjects]) + rng.normal(0, 1, len(subjects))
    by_subject = bootstrap_ci(pred, ref, subjects, n_boot=400, seed=1)["hr_me"]
    by_video = bootstrap_ci(pred, ref, [str(i) for i in range(len(subjects))], n_boot=400, seed=1)["hr_me"]
    assert by_subject.high - by_subject.low > 1.5 * (by_video.high - by_video.low)
    assert by_subject.low < np.mean(pred - ref) < by_subject.high


def test_bootstrap_is_reproducible_from_its_seed():
    rng = np.random.default_rng(3)
    ref = rng.uniform(60, 100, 30)
    pred = ref + rng.normal(0, 3, 30)
    subj = [f"s{i % 6}" for i in range(30)]
    assert bootstrap_ci(pred, ref, subj, seed=5) == bootstrap_ci(pred, ref, subj, seed=5)


def test_wilcoxon_detects_a_real_difference_and_not_a_fake_one():
    rng = np.random.default_rng(1)
    good = rng.normal(0, 1, 40)
    bad = rng.normal(0, 6, 40)
    assert wilcoxon_pair("good", good, "bad", bad).p_value < 0.01
    same = wilcoxon_pair("a", good, "b", good * rng.choice([-1, 1], 40))  # same |errors|
    assert same.p_value == 1.0


def test_friedman_nemenyi_ranks_methods():
    rng = np.random.default_rng(2)
    n = 30
    table = pd.DataFrame({"best": np.abs(rng.normal(0, 1, n)), "mid": np.abs(rng.normal(0, 4, n)),
                          "worst": np.abs(rng.normal(0, 12, n))})
    res = friedman_nemenyi(table)
    assert list(res.mean_ranks.index) == ["best", "mid", "worst"]
    assert res.friedman_p < 0.001
    assert res.nemenyi.loc["best", "worst"] < 0.01


def test_cd_diagram_bytes_do_not_depend_on_the_hash_seed(tmp_path):
    """Leaderboards regenerate byte-identically in a new process, so no set-order in figures."""
    import os
    import subprocess
    import sys

    script = (
        "import sys, numpy as np, pandas as pd; from pathlib import Path\n"
        "from hrbench.boards.stats import friedman_nemenyi; from hrbench.boards.plots import cd_diagram\n"
        "rng = np.random.default_rng(2)\n"
        "t = pd.DataFrame({k: np.abs(rng.normal(0, s, 30)) for k, s in zip('abcde', [1, 1.2, 2, 3, 4])})\n"
        "m = friedman_nemenyi(t); cd_diagram(m.mean_ranks, m.nemenyi, 'x', Path(sys.argv[1]))\n"
    )
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"cd{seed}.png"
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, env={**os.environ, "PYTHONHASHSEED": seed})
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
