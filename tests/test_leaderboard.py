"""Boards from tiny stores written through hrbench.store.store.Store (no videos): grouping, seeds, not-run stages,
names, tests."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from hrbench.boards.board_files import write_boards
from hrbench.boards.boards import build_boards
from hrbench.boards.compare import compare, paired_errors
from hrbench.boards.inference import board_power, detectable_difference, verdicts
from hrbench.cli import main
from hrbench.errors import ConfigError
from hrbench.store.store import FoldResult, Store

N_SUBJ = 10
REF = {f"r{s:02d}{v}": 60.0 + 4 * s + 2 * v for s in range(N_SUBJ) for v in range(2)}  # 2 videos per subject
TRAIN_HR = [75.0, 85.0]  # baseline predicts 80


def subject(rid: str) -> str:
    return f"p{rid[1:3]}"


def _ensure_columns(store: Store) -> None:
    """Stores from before ``dataset_label``/``threads`` lack them; add them so tests run either way."""
    have = {r[1] for r in store.db.execute("PRAGMA table_info(runs)")}
    for col, decl in (("dataset_label", "TEXT NOT NULL DEFAULT ''"), ("threads", "INTEGER NOT NULL DEFAULT 0")):
        if col not in have:
            store.db.execute(f"ALTER TABLE runs ADD COLUMN {col} {decl}")


DESC = "3-fold subject-exclusive split, seed 0; per-video HR = median of its clip predictions"


def add_run(store: Store, key: str, method: str, errors: dict[str, float] | None, *, dataset="ds", label="",
            protocol="subject_exclusive", sha="a" * 64, fp="f" * 16, seed=0, profile="default",
            created="2024-01-01T00:00:00", notes=None, train=None, fraction=1.0, desc=DESC, meta=None):
    _ensure_columns(store)
    store.ensure_run(key, {
        "method": method, "profile": profile, "params_json": "{}", "protocol": protocol,
        "protocol_path": f"protocols/{protocol}.toml", "protocol_sha256": sha, "protocol_desc": desc,
        "dataset": dataset, "dataset_label": label, "train_dataset": train or dataset, "dataset_fingerprint": fp,
        "seed": seed, "train_fraction": fraction, "versions_json": json.dumps({"hrbench": "0"}),
        "notes_json": json.dumps(notes or {}),
        "skipped_json": "[]", "n_folds": 1, "complete": 1, "created_at": created, "command": "", "threads": 2,
    })
    if errors is not None:
        videos = [(rid, subject(rid), REF[rid] + e, REF[rid], meta(rid) if meta else {})
                  for rid, e in sorted(errors.items())]
        store.write_fold(key, FoldResult(0, 2, 20, TRAIN_HR, 0.0, 0.0, [], videos))


def errs(fn) -> dict[str, float]:
    return {rid: float(fn(i, rid)) for i, rid in enumerate(sorted(REF))}


GOOD = errs(lambda i, rid: 0.5 if i % 2 else -0.5)
BASELINE_LIKE = errs(lambda i, rid: 80.0 - REF[rid] + (0.3 if i % 3 else -0.3))  # as bad as predicting 80


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "s.sqlite")
    yield s
    s.close()


def test_seeds_collapse_into_one_row_whose_interval_includes_seed_variance(store, tmp_path):
    for seed, off in ((0, 1.0), (1, 5.0), (2, 9.0)):
        add_run(store, f"good{seed}", "good", errs(lambda i, rid, o=off: o), seed=seed)
    add_run(store, "other", "other", GOOD)
    (board,) = build_boards(store)
    rows = {r.method: r for r in board.ranked}
    good = rows["good"]
    assert good.seeds == (0, 1, 2) and set(good.run_keys) == {"good0", "good1", "good2"}
    assert good.metrics.mae == pytest.approx(5.0) and good.mae_sd == pytest.approx(4.0)
    # Each seed alone is error-free of sampling variance (constant errors); the pooled interval spans the seeds.
    assert good.ci["mae"].low == pytest.approx(1.0) and good.ci["mae"].high == pytest.approx(9.0)
    assert np.allclose(good.videos.abs_err, 5.0)  # tests use the mean over seeds of each video's |error|
    assert rows["other"].seeds == (0,) and rows["other"].mae_sd is None
    text = (write_boards(store, tmp_path / "lb")[0]).read_text()
    assert "| good | default |" in text and "| 3 (± 4.00) |" in text
    runs = text.split("## Runs")[1]
    assert all(f"`good{s}`" in runs for s in range(3))
    assert "per-video HR = median of its clip predictions" in text  # the protocol's own description


def test_not_run_stage_is_listed_and_never_ranked_or_tested(store, tmp_path):
    add_run(store, "g", "good", GOOD)
    add_run(store, "c", "chrom", BASELINE_LIKE)
    add_run(store, "imnet", "stmap_imagenet", None, notes={"not_run": "ImageNet weights not found"})
    (board,) = build_boards(store)
    assert [r.method for r in board.ranked] == ["good", "chrom"]
    assert [(n.method, n.reason) for n in board.not_run] == [("stmap_imagenet", "ImageNet weights not found")]
    assert all("stmap_imagenet" not in (c.a, c.b) for c in board.tests.comparisons)
    text = write_boards(store, tmp_path / "lb")[0].read_text()
    table, rest = text.split("\n\n## ", 1)[0], text
    assert "| stmap_imagenet" not in table.split("HRme:")[0]
    assert "not run: stmap_imagenet (default): ImageNet weights not found" in text
    assert "`imnet`" in rest.split("## Runs")[1] and "not run" in rest.split("## Runs")[1]
    # A board whose only stage did not run still says so, with no table and no tests.
    add_run(store, "lonely", "stmap_imagenet", None, protocol="random", notes={"not_run": "ImageNet weights not found"})
    lonely = next(b for b in build_boards(store) if b.protocol == "random")
    assert lonely.rows == [] and lonely.tests.comparisons == [] and verdicts(lonely) == []
    text = next(p for p in write_boards(store, tmp_path / "lb2", by="subject") if p.name == "ds-random.md").read_text()
    assert "not run: stmap_imagenet (default): ImageNet weights not found" in text
    assert "| Method | Profile | HRme" not in text


def test_board_tests_are_holm_corrected_and_the_baseline_column_says_no(store, tmp_path):
    add_run(store, "g", "good", GOOD)
    add_run(store, "b", "bad", BASELINE_LIKE)
    add_run(store, "m", "mid", errs(lambda i, rid: 3.0))
    (board,) = build_boards(store)
    comps = board.tests.comparisons
    assert len(comps) == 2 + 3  # (mid, bad) vs good; every method vs the baseline
    raw = [c.test.p_value for c in comps]
    assert np.allclose([c.p_holm for c in comps], multipletests(raw, method="holm")[1])
    assert all(c.p_holm >= c.test.p_value for c in comps)
    assert all(c.test.n_subjects == N_SUBJ for c in comps)
    vs_base = {c.a: c for c in comps if c.kind == "baseline"}
    assert vs_base["good"].a_better and not vs_base["bad"].significant
    text = write_boards(store, tmp_path / "lb")[0].read_text()
    bad_line = next(line for line in text.splitlines() if line.startswith("| bad |"))
    assert f"**no** (p_holm = {vs_base['bad'].p_holm:.2f})" in bad_line
    good_line = next(line for line in text.splitlines() if line.startswith("| good |"))
    assert "| yes (p_holm = " in good_line
    claims = verdicts(board)
    assert any(c.startswith("good: better than the training-mean baseline (") and "p_holm = " in c for c in claims)
    assert any(c.startswith("bad: not distinguishable from the training-mean baseline (p_holm = ") for c in claims)
    assert any(c.startswith("good better than bad (") for c in claims)
    assert all(c in text for c in claims)  # the board's prose is exactly these verdicts


def test_two_datasets_under_one_adapter_never_share_a_board(store, tmp_path):
    add_run(store, "old", "good", GOOD, dataset="folder", fp="1111aaaa2222bbbb", created="2024-01-01T00:00:00")
    add_run(store, "new", "good", GOOD, dataset="folder", fp="3333cccc4444dddd", created="2024-02-01T00:00:00")
    add_run(store, "newp", "good", GOOD, dataset="folder", fp="3333cccc4444dddd", sha="b" * 64,
            created="2023-01-01T00:00:00")
    add_run(store, "la", "good", GOOD, dataset="folder", label="clinic_a", fp="5555")
    add_run(store, "lb", "good", GOOD, dataset="folder", label="clinic_b", fp="6666")
    boards = {b.name: b for b in build_boards(store)}
    assert set(boards) == {
        "folder-subject_exclusive",  # the newest group keeps the plain name
        "folder-subject_exclusive-data-1111aaaa",  # older data under the same name: suffixed by its fingerprint
        "folder-subject_exclusive-proto-bbbbbbbb",  # another version of the protocol file
        "clinic_a-subject_exclusive",
        "clinic_b-subject_exclusive",
    }
    assert [r["run_key"] for r in boards["folder-subject_exclusive"].runs] == ["new"]
    for b in boards.values():
        assert len({r["dataset_fingerprint"] for r in b.runs}) == 1 and len({r["protocol_sha256"] for r in b.runs}) == 1
    # Filtering never renames: --dataset writes the same file names as --all.
    assert {b.name for b in build_boards(store, dataset="folder")} == set(boards)
    assert [b.name for b in build_boards(store, dataset="clinic_a")] == ["clinic_a-subject_exclusive"]


def test_protocol_and_label_names_cannot_escape_the_output_directory(store, tmp_path):
    add_run(store, "x", "good", GOOD, protocol="x/../../escaped", label="../up")
    out = tmp_path / "a" / "b" / "lb"
    written = write_boards(store, out, by="subject")
    assert written and all(p.resolve().parent == out.resolve() for p in written)
    outside = [p for p in tmp_path.rglob("*")
               if p.is_file() and out not in p.parents and p.name != "s.sqlite" and "sqlite" not in p.name]
    assert outside == []
    assert all(".." not in p.relative_to(out).parts for p in out.rglob("*"))


def test_regenerating_is_byte_identical_even_in_another_process(store, tmp_path):
    add_run(store, "g", "good", GOOD)
    add_run(store, "b", "bad", BASELINE_LIKE)
    add_run(store, "m", "mid", errs(lambda i, rid: 3.0))
    for seed in (1, 2):
        add_run(store, f"m{seed}", "mid", errs(lambda i, rid, s=seed: 3.0 + s), seed=seed)
    add_run(store, "n", "nope", None, notes={"not_run": "weights absent"})
    out1, out2 = tmp_path / "lb1", tmp_path / "lb2"
    write_boards(store, out1)
    env = {**os.environ, "PYTHONHASHSEED": "7"}
    code = "import sys; from pathlib import Path; from hrbench.store.store import Store; " \
           "from hrbench.boards.board_files import write_boards; " \
           "write_boards(Store(Path(sys.argv[1])), Path(sys.argv[2]))"
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.sqlite"), str(out2)], check=True, env=env)
    files = sorted(p.relative_to(out1) for p in out1.rglob("*") if p.is_file())
    assert Path("ds-subject_exclusive/critical_difference.png") in files
    assert files == sorted(p.relative_to(out2) for p in out2.rglob("*") if p.is_file())
    for f in files:
        assert (out1 / f).read_bytes() == (out2 / f).read_bytes(), f


def test_compare_is_subject_level_and_refuses_what_cannot_be_paired(store, tmp_path, capsys):
    add_run(store, "g", "good", GOOD)
    add_run(store, "b", "bad", BASELINE_LIKE)
    first = {k: v for k, v in GOOD.items() if k < "r05"}
    rest = {k: v for k, v in GOOD.items() if k >= "r05"}
    add_run(store, "h1", "half1", first)
    add_run(store, "h2", "half2", rest)
    add_run(store, "o", "elsewhere", GOOD, fp="9" * 16, created="2025-01-01T00:00:00")
    text = compare(store, "good", "bad", "ds", "subject_exclusive")
    assert f"20 paired recordings of {N_SUBJ} subjects" in text and "permutation" in text and "Wilcoxon" in text
    assert "good is better than bad" in text
    with pytest.raises(ConfigError, match="no recordings in common"):
        compare(store, "half1", "half2", "ds", "subject_exclusive")
    with pytest.raises(ConfigError, match="same protocol hash and dataset fingerprint"):
        compare(store, "good", "elsewhere", "ds", "subject_exclusive")
    boards = {b.name: b for b in build_boards(store)}
    main_board = boards["ds-subject_exclusive"]
    other = next(b for n, b in boards.items() if n != "ds-subject_exclusive")
    with pytest.raises(ConfigError, match="fingerprint"):
        paired_errors(main_board.ranked[0], other.ranked[0])
    db = str(tmp_path / "s.sqlite")
    for pair in (("half1", "half2"), ("good", "elsewhere")):
        capsys.readouterr()
        assert main(["compare", *pair, "--dataset", "ds", "--protocol", "subject_exclusive", "--store", db]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("hrbench: error:")


def test_every_board_states_its_power(store, tmp_path):
    """The smallest attainable p_holm from subjects and comparisons, and the detectable difference, under the header."""
    add_run(store, "g", "good", GOOD)
    add_run(store, "b", "bad", BASELINE_LIKE)
    add_run(store, "m", "mid", errs(lambda i, rid: 3.0))
    five = {k: v for k, v in GOOD.items() if subject(k) < "p05"}
    add_run(store, "g5", "good", five, protocol="random")
    add_run(store, "b5", "bad", {k: BASELINE_LIKE[k] for k in five}, protocol="random")
    boards = {b.protocol: b for b in build_boards(store)}
    power = board_power(boards["subject_exclusive"].tests)
    assert (power.n_subjects, power.n_comparisons) == (N_SUBJ, 5)
    assert power.min_p_holm == pytest.approx(5 * 2 / 2**N_SUBJ) and power.can_call
    sds = [c.test.sd_diff for c in boards["subject_exclusive"].tests.comparisons]
    assert power.paired_sd == pytest.approx(float(np.median(sds)))
    assert power.mde == pytest.approx(detectable_difference(N_SUBJ, power.paired_sd, 0.05 / 5))
    five_power = board_power(boards["random"].tests)
    assert five_power.min_p_holm == pytest.approx(min(1.0, 3 * 2 / 2**5))
    assert not five_power.can_call and five_power.mde == math.inf
    texts = {p.name: p.read_text() for p in write_boards(store, tmp_path / "lb")}
    header = texts["ds-subject_exclusive.md"].split("\n\n| Method")[0]
    line = next(x for x in header.splitlines() if x.startswith("- **Power**"))
    assert f"{N_SUBJ} subjects, 5 comparisons" in line and f"{5 * 2 / 2**N_SUBJ:.2g}" in line
    assert f"difference of {power.mde:.2f} bpm" in line and "sign-flip test, simulated" in line
    weak = texts["ds-random.md"].split("\n\n| Method")[0]
    assert "cannot call any difference" in weak and "0.19" in weak


def _curve(epochs, train, held=None):
    c = {"epoch": list(epochs), "train_l1": list(train)}
    return c if held is None else {**c, "heldout_l1": list(held)}


def test_learning_curves_are_drawn_for_learned_rows_and_kept_out_of_the_notes(store, tmp_path):
    """Per-fold curves stored through the normal store API: mean over folds and seeds per epoch, a figure, a clean
    notes line."""
    ids = sorted(REF)
    halves = [ids[: len(ids) // 2], ids[len(ids) // 2 :]]
    curves = {
        ("net", 0): [_curve([1, 2, 3], [9.0, 6.0, 4.0], [10.0, 8.0, 7.0]),
                     _curve([1, 2, 3], [7.0, 4.0, 2.0], [9.0, 7.0, 5.0])],
        ("net", 1): [_curve([1, 2, 3], [8.0, 5.0, 3.0]), _curve([1, 2], [6.0, 5.0], [8.0, None])],
    }
    for (method, seed), fold_curves in curves.items():
        notes = [{"learning_curve": c, "train_maps": 40, "hist": {"before": [1, 2]}} for c in fold_curves]
        # as aggregate_notes writes them
        run_level = {"learning_curve": fold_curves, "train_maps": 80, "hist": [n["hist"] for n in notes]}
        add_run(store, f"{method}{seed}", method, None, seed=seed, notes=run_level)
        for fold, (half, n) in enumerate(zip(halves, notes, strict=True)):
            videos = [(rid, subject(rid), REF[rid] + 2.0, REF[rid], {}) for rid in half]
            store.write_fold(f"{method}{seed}", FoldResult(fold, 10, 20, TRAIN_HR, 0.0, 0.0, [], videos, n))
    add_run(store, "c", "chrom", GOOD)
    add_run(store, "bad", "net2", GOOD, notes={"learning_curve": "not a curve"})
    store.write_fold("bad", FoldResult(1, 10, 20, TRAIN_HR, 0.0, 0.0, [], [],
                                       {"learning_curve": {"epoch": [1, 2], "train_l1": [1.0]}}))
    (board,) = build_boards(store)
    net = next(r for r in board.ranked if r.method == "net")
    assert len(net.curves) == 4 and net.notes == {"train_maps": "80"} and net.structured_notes == ("hist",)
    assert next(r for r in board.ranked if r.method == "chrom").curves == ()
    out = tmp_path / "lb"
    text = write_boards(store, out)[0].read_text()
    section = text.split("## Learning curves")[1].split("\n## ")[0]
    net_line = next(x for x in section.splitlines() if x.startswith("| net †"))
    # Last epoch 3: train mean over the three curves that reached it; held-out over the two that recorded it.
    assert net_line == f"| net † | 4 | 3 | {np.mean([4.0, 2.0, 3.0]):.2f} | {np.mean([7.0, 5.0]):.2f} |"
    assert "1 `learning_curve` notes were not curves" in section
    assert (out / board.name / "learning_curves.png").stat().st_size > 1000
    notes_line = next(x for x in text.splitlines() if x.startswith("† net,"))
    assert notes_line == ("† net, as recorded with the run: `train_maps=80`; tables kept in the store, not shown: "
                          "`hist`.")
    assert "epoch" not in text.split("## What the tests say")[0]


def test_learning_curve_means_align_on_epochs():
    from hrbench.boards.plots import mean_curve
    from hrbench.store.results import learning_curve

    cs = [learning_curve(_curve([0, 1, 2], [3.0, 2.0, 1.0])),
          learning_curve(_curve([1, 2, 3], [4.0, 2.0, 0.5], [5.0, None, 1.0]))]
    x, y = mean_curve(cs, "train_l1")
    assert list(x) == [0, 1, 2, 3] and np.allclose(y, [3.0, 3.0, 1.5, 0.5])
    hx, hy = mean_curve(cs, "heldout_l1")
    assert list(hx) == [1, 3] and np.allclose(hy, [5.0, 1.0])
    for bad in ("x", {"epoch": [1, 2]}, {"epoch": [1, 2], "train_l1": [1.0]}, {"epoch": [], "train_l1": []},
                {"epoch": [1], "train_l1": ["a"]}, {"epoch": [1], "train_l1": [1.0], "heldout_l1": [1.0, 2.0]}):
        assert learning_curve(bad) is None


WINDOWED_DESC = ("3-fold subject-exclusive split, seed 0; evaluation rule: windowed -- HR estimated over each 30-s "
                 "window (hop 15 s); "
                 "per-video HR = median of its windows")


def test_windowed_boards_report_window_level_metrics(store, tmp_path):
    """Per-window MAE and the share of windows within 5 bpm, from the per-window rows the store keeps (seeds
    averaged)."""
    ids = sorted(REF)
    rng = np.random.default_rng(3)
    win_err = {seed: {rid: rng.choice([0.5, -2.0, 7.0, -12.0, np.nan], size=3,
                                      p=[0.4, 0.3, 0.15, 0.1, 0.05]) for rid in ids}
               for seed in (0, 1)}
    for seed, per in win_err.items():
        key = f"w{seed}"
        add_run(store, key, "win", None, seed=seed, protocol="windowed", desc=WINDOWED_DESC)
        units, videos = [], []
        for rid in ids:
            e = per[rid]
            units += [(rid, j, 15.0 * j,
                       None if np.isnan(e[j]) else REF[rid] + float(e[j]), REF[rid]) for j in range(3)]
            videos.append((rid, subject(rid), REF[rid] + float(np.nanmedian(e)), REF[rid], {}))
        store.write_fold(key, FoldResult(0, 2, 20, TRAIN_HR, 0.0, 0.0, units, videos))
    (board,) = build_boards(store)
    assert board.rule == "windowed"
    row = board.ranked[0]
    all_err = [np.concatenate([per[rid] for rid in ids]) for per in win_err.values()]
    mae = np.mean([np.nanmean(np.abs(e)) for e in all_err])
    within = np.mean([np.sum(np.abs(e[np.isfinite(e)]) <= 5.0) / len(e) for e in all_err])
    assert row.windows.n_windows == 3 * len(ids)
    assert row.windows.mae == pytest.approx(mae) and row.windows.within == pytest.approx(within)
    base = board.baseline.windows  # the training mean (80) predicts every window
    assert base.mae == pytest.approx(np.mean([abs(80.0 - REF[rid]) for rid in ids]))
    text = write_boards(store, tmp_path / "lb")[0].read_text()
    section = text.split("## Window-level metrics")[1].split("\n## ")[0]
    assert f"| win | {3 * len(ids)} | {mae:.2f} | {within:.1%} |" in section
    assert "| *baseline: training-set mean HR* |" in section
    # Boards under other rules have no such section.
    add_run(store, "g", "good", GOOD)
    other = next(b for b in build_boards(store) if b.protocol == "subject_exclusive")
    assert other.rule == "clips" and all(r.windows is None for r in other.rows)


def test_reduced_data_table_uses_the_same_seeds_in_every_column_with_intervals(store, tmp_path):
    """Full data run with seeds 0-2, reduced fractions with seed 0 only: the full-data column shows seed 0 alone."""
    from hrbench.boards.metrics import compute_metrics
    from hrbench.boards.stats import bootstrap_distribution, pooled_intervals

    for seed in range(3):
        add_run(store, f"full{seed}", "net",
                errs(lambda i, rid, s=seed: (1.0 + 3 * s) * (1 if i % 2 else -1)), seed=seed)
    for f, scale in ((0.5, 5.0), (0.25, 8.0)):
        add_run(store, f"part{f}", "net", errs(lambda i, rid, k=scale: k * (1 if i % 3 else -1)), seed=0, fraction=f)
    (board,) = build_boards(store)
    assert board.ranked[0].seeds == (0, 1, 2)  # the main table keeps every seed
    text = write_boards(store, tmp_path / "lb")[0].read_text()
    section = text.split("## Reduced training data")[1].split("\n## ")[0]
    line = next(x for x in section.splitlines() if x.startswith("| net |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1] == "0"
    res_errors = {1.0: errs(lambda i, rid: 1.0 * (1 if i % 2 else -1)),
                  0.5: errs(lambda i, rid: 5.0 * (1 if i % 3 else -1)),
                  0.25: errs(lambda i, rid: 8.0 * (1 if i % 3 else -1))}
    for cell, (f, e) in zip(cells[2:], res_errors.items(), strict=True):
        rids = sorted(e)
        pred = np.array([REF[r] + e[r] for r in rids])
        ref = np.array([REF[r] for r in rids])
        iv = pooled_intervals([bootstrap_distribution(pred, ref, [subject(r) for r in rids], 1000, 0)])["hr_rmse"]
        assert cell == f"{compute_metrics(pred, ref).hr_rmse:.2f} [{iv.low:.2f}, {iv.high:.2f}]", f
    assert "same training seeds in every column" in section


def test_the_run_table_names_structured_notes_instead_of_printing_them(store, tmp_path):
    """`hrbench run`'s closing table: learning curves and histograms would swamp the Notes column."""
    from types import SimpleNamespace

    from rich.console import Console

    from hrbench.boards.summary import run_table

    curve = _curve(range(1, 41), np.linspace(20, 2, 40), np.linspace(22, 6, 40))
    add_run(store, "n0", "net", GOOD, notes={"learning_curve": [curve, curve], "train_maps": 80,
                                             "hist": {"before": [1, 2]}})
    summary = SimpleNamespace(label="ds", protocol=SimpleNamespace(name="subject_exclusive"),
                              run_keys={"net": ["n0"]}, not_run={})
    console = Console(record=True, width=250)
    console.print(run_table(tmp_path / "s.sqlite", summary))
    text = console.export_text()
    assert "train_maps=80, tables: hist, learning_curve" in text and "epoch" not in text and "{" not in text


def test_breakdown_by_any_meta_key_the_adapter_provides(store, tmp_path, capsys):
    def country(rid):
        return {"country": "FI" if int(rid[1:3]) < 5 else "JP", "scenario": "still"}

    add_run(store, "g", "good", GOOD, meta=country)
    add_run(store, "b", "bad", BASELINE_LIKE, meta=country)
    out = tmp_path / "lb"
    written = write_boards(store, out, by="country")
    breakdown = out / "ds-subject_exclusive-by-country.md"
    assert breakdown in written
    text = breakdown.read_text()
    assert "| country | n | good | bad |" in text and "| FI | 10 |" in text and "| JP | 10 |" in text
    # Breakdowns by any key survive a full rewrite and stay out of the index; they go with their board.
    write_boards(store, out)
    assert breakdown.exists() and "by-country" not in (out / "README.md").read_text()
    store.db.execute("DELETE FROM runs")
    store.db.commit()
    assert main(["leaderboard", "--store", str(tmp_path / "s.sqlite"), "--out", str(out)]) == 2
    assert not breakdown.exists()


def test_an_absent_breakdown_key_is_one_line_naming_the_keys(store, tmp_path, capsys):
    add_run(store, "g", "good", GOOD, meta=lambda rid: {"scenario": "still"})
    rc = main(["leaderboard", "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "lb"), "--by", "country"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "--by country" in err[0] and "available: hr_range, scenario, subject" in err[0]
    assert not (tmp_path / "lb").exists()  # refused before writing anything
