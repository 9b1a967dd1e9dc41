"""The study scripts in benchmarks/: verdicts computed from numbers, ablation histogram."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _videos(err_by: dict[tuple[str, str], float]) -> list[dict]:
    return [{"id": f"{sc}-{tone}", "scenario": sc, "tone": tone, "err": e} for (sc, tone), e in err_by.items()]


def _results(still: float, light_change: dict[str, float], motion: dict[str, float]) -> dict[str, list[dict]]:
    tones = ("I", "II", "III", "IV", "V", "VI")
    out = {}
    for m in ("green", "ica", "chrom", "pos"):
        errs = {("still", t): still + 0.5 * k for k, t in enumerate(tones)}
        errs[("light_change", "II")] = light_change[m]
        errs[("head_motion", "III")] = motion[m]
        errs[("talking", "III")] = motion[m]
        errs[("far", "IV")] = still + 10.0
        out[m] = _videos(errs)
    return out


def test_realism_verdicts_follow_the_numbers():
    realism = _load("synthetic_realism")
    good = _results(0.5, {"green": 20.0, "ica": 5.0, "chrom": 4.0, "pos": 3.0},
                    {"green": 15.0, "ica": 12.0, "chrom": 2.0, "pos": 3.0})
    lines = realism.expectations(good)
    assert all("**holds**" in line for line in lines), lines
    bad = _results(4.0, {"green": 1.0, "ica": 5.0, "chrom": 9.0, "pos": 3.0},
                   {"green": 15.0, "ica": 1.0, "chrom": 2.0, "pos": 3.0})
    lines = realism.expectations(bad)
    assert "does not hold" in lines[0]  # still error 4 bpm > 2.5
    assert "does not hold" in lines[1] and "most: chrom" in lines[1]
    assert "does not hold" in lines[2]  # ICA beats CHROM and POS under motion
    assert "**holds**" in lines[4]  # darker skin: still error grows with the type


def test_da_histogram_spreads_labels(tmp_path):
    ablation = _load("rhythm_ablation")
    rng = np.random.default_rng(0)
    labels = list(rng.normal(75, 8, 60).clip(55, 100))
    sd = lambda s: float(s.split("SD ")[1].split(" bpm")[0])  # noqa: E731
    for how, gain in (("balance", 1.3), ("uniform", 1.1)):
        png, note = ablation.da_histogram(labels, tmp_path / f"h-{how}.png", {"da_factors": how})
        assert png.exists() and png.stat().st_size > 1000
        before, after = note.split("; after: ")
        assert sd(after) > sd(before) * gain, (how, note)


@pytest.mark.parametrize("script", ["synthetic_realism", "rhythm_ablation", "landmark_rate",
                                    "landmarker_prefilter", "bench_ica", "zero_shot_readout", "hr_shift_probe"])
def test_scripts_have_help(script, capsys):
    mod = _load(script)
    sys.argv = [script, "--help"]
    with pytest.raises(SystemExit) as exc:
        mod.main()
    assert exc.value.code == 0 and "usage" in capsys.readouterr().out


def test_zero_shot_summary_counts_gross_and_harmonic_errors():
    study = _load("zero_shot_readout")
    ref = np.array([60.0, 70.0, 80.0, 100.0])
    text = study.summary(np.array([61.0, 140.0, 80.0, 95.0]), ref)  # errors +1, +70 (2x), 0, -5
    assert "MAE 19.00" in text and "mean error +16.50" in text and "|error| > 10:  25%" in text
    assert "x >= 1.8:  25%" in text


def test_vipl_estimate_costs_capped_training_at_the_cap():
    est = _load("estimate_vipl")
    deep = {"fit_a": 5.0, "fit_b": 0.01, "predict_a": 1.0, "predict_b": 0.002, "supervised": 1.0, "train_cap": 600.0}
    assert est.task_seconds(deep, 50_000, 500) == est.task_seconds(deep, 600, 500) == 5.0 + 6.0 + 1.0 + 1.0
    assert est.task_seconds(deep, 300, 500) == 5.0 + 3.0 + 2.0
    svr = {**deep, "train_cap": 0.0}  # no cap: linear all the way
    assert est.task_seconds(svr, 50_000, 500) == 5.0 + 500.0 + 2.0
    unsupervised = {**deep, "supervised": 0.0}
    assert est.task_seconds(unsupervised, 50_000, 500) == 2.0


def test_learned_study_note_cells_never_split_the_table():
    """Several seeds' run notes are joined with " | " on a board; inside a markdown cell that adds columns."""
    study = _load("learned_study")

    class _Row:
        notes = {"best_epoch": "[5, 3, 2] | [9, 7, 9]", "train_l1_bpm": 3.5}

    cells = [study._note(_Row(), k) for k in ("best_epoch", "train_l1_bpm", "missing")]
    assert cells == ["[5, 3, 2] / [9, 7, 9]", "3.5", "–"]
    assert all("|" not in c for c in cells)


def test_learned_study_verdict_names_the_boards_that_meet_the_target():
    study = _load("learned_study")
    assert study._verdict({}) == []
    both = study._verdict({"subject_exclusive": True, "whole_video": True})[0]
    assert both.startswith("Met on subject_exclusive, whole_video") and "Missed" not in both
    one = study._verdict({"subject_exclusive": False, "whole_video": True})[0]
    assert "Met on whole_video" in one and "Missed on subject_exclusive" in one


def test_learned_study_zero_shot_verdict_sets_each_board_beside_its_unsupervised_rows():
    import math

    study = _load("learned_study")

    class _Metrics:
        def __init__(self, mae):
            self.mae = mae

    class _Row:
        def __init__(self, method, mae, baseline=False):
            self.method, self.metrics, self.is_baseline = method, _Metrics(mae), baseline

    class _Board:
        rule = "clips"
        rows = [_Row("pos", 6.2), _Row("green", 11.04), _Row("svr", 4.0), _Row("baseline", 9.5, baseline=True)]

    class _Registry:
        methods = {"pos": type("P", (), {"supervised": False}), "green": type("G", (), {"supervised": False}),
                   "svr": type("S", (), {"supervised": True})}

    assert study._unsupervised_range(_Board(), _Registry()) == "6.2–11.0"  # learned rows and the baseline left out
    _Board.rule = "whole"
    assert study._unsupervised_range(_Board(), _Registry()) == "–"  # scored by another rule than the clips
    assert study._zero_shot_verdict({"a": (math.nan, "–")}) == []
    text = study._zero_shot_verdict({"a": (8.3, "–"), "b (synthetic-46)": (11.8, "6.2–11.0")})[0]
    assert text.startswith("Zero-shot MAE below 10 bpm on a (8.3).")
    assert "Not on b (synthetic-46) (11.8 bpm; the board's unsupervised methods read the same clips at 6.2–11.0" in text


def test_learned_study_transfer_tests_are_one_holm_family_over_the_boards():
    import numpy as np

    from hrbench.store.results import VideoSet

    study = _load("learned_study")
    rng = np.random.default_rng(0)
    n = 30
    ids, subjects, ref = [f"v{i}" for i in range(2 * n)], [f"s{i // 2}" for i in range(2 * n)], np.full(2 * n, 70.0)

    def row(err):
        vids = VideoSet(ids, subjects, ref + err, ref, [0] * (2 * n), [{}] * (2 * n))
        return type("R", (), {"videos": vids, "metrics": type("M", (), {"mae": float(np.abs(err).mean())})})()

    scratch = rng.uniform(4, 8, 2 * n)
    clear = row(scratch - 3.0 + rng.normal(0, 0.5, 2 * n))  # about 3 bpm better on every subject
    tie = row(scratch[rng.permutation(2 * n)])  # the same errors, shuffled: no effect
    tests = study.transfer_tests([("a", clear, row(scratch)), ("b", tie, row(scratch))])
    assert tests[0].test.mean_diff == pytest.approx(-3.0, abs=0.3) and tests[0].p_holm < 0.001
    assert tests[1].p_holm >= 0.05 and tests[1].p_holm >= tests[1].test.p_value
    assert 0 < tests[0].detectable < 3.0
    text = study.transfer_text(tests)
    assert "Pretraining lowers the error on a." in text[-2] and "Not distinguishable on b." in text[-2]


def test_learned_study_miss_evidence_is_computed_from_the_rows():
    """Training people per fold, the curve gap, the scenarios holding the error and the Fig. 6 runs: all computed."""
    import numpy as np

    from hrbench.store.results import VideoSet

    study = _load("learned_study")
    scen = ["still"] * 6 + ["far"] * 2
    vids = VideoSet([f"v{i}" for i in range(8)], [f"s{i % 4}" for i in range(8)], np.full(8, 70.0),
                    np.array([71, 69, 72, 68, 71, 69, 90, 50.0]), [i % 2 for i in range(8)],
                    [{"scenario": s} for s in scen])

    class _Row:
        method, profile, run_key, seeds, videos = "stmap_transfer", "default", "full", (0,), vids
        curves = ({"train_l1": [5.0, 2.0], "heldout_l1": [6.0, 4.0]},)

    class _Board:
        protocol, tests, dataset, name = "subject_exclusive", None, "synthetic", "synthetic-subject_exclusive"
        fraction_runs = [{"method": "stmap_transfer", "seed": 0, "profile": "default", "train_fraction": 0.5,
                          "run_key": "half"},
                         {"method": "stmap_transfer", "seed": 1, "profile": "default", "train_fraction": 0.25,
                          "run_key": "other-seed"}]

    class _Results:
        def videos(self, key):
            return vids if key == "full" else VideoSet(vids.ids, vids.subjects, vids.ref + 3, vids.ref, vids.folds,
                                                       vids.meta)

    ev = study.miss_evidence(_Board(), _Row(), _Results())
    assert ev.train_people == 2.0  # 4 people, 2 tested in each fold
    assert ev.gap == (2.0, 4.0)
    assert [(s, n) for s, n, _ in ev.hard] == [("far", 2)] and ev.hard_share == 40 / 48
    assert ev.fractions == [(1.0, vids.abs_err.mean()), (0.5, 3.0)]  # the other seed's run is left out
    _Board.dataset, _Board.name = "synthetic-46", "synthetic-46-subject_exclusive"
    other = study.miss_evidence(_Board(), _Row(), _Results())
    assert other.board == "subject_exclusive (synthetic-46)"
    assert "(../synthetic-46-subject_exclusive-by-scenario.md)" in study._evidence_text(other)
    text = study._verdict({"subject_exclusive": False}, {"subject_exclusive": ev})[0]
    assert "Missed on subject_exclusive" in text and "far (2 recordings, MAE 20.0)" in text
    assert "83 % of its absolute error" in text and "0.5: 3.00" in text


def test_learned_study_board_size_is_the_power_rule_solved_for_subjects():
    from hrbench.boards.inference import ALPHA, detectable_difference

    study = _load("learned_study")
    n = study.subjects_needed(-4.25, 6.18, 27)
    assert detectable_difference(n, 6.18, ALPHA / 27) <= 4.25 < detectable_difference(n - 1, 6.18, ALPHA / 27)
    assert study.subjects_needed(4.25, 6.18, 27) == n  # either direction
    assert study.subjects_needed(-8.5, 6.18, 27) < n < study.subjects_needed(-4.25, 6.18, 60)
    assert study.subjects_needed(0.0, 6.18, 27) is None and study.subjects_needed(-0.01, 6.18, 27) is None
    ev = study.MissEvidence("whole_video", 13.0, None, [], 0.0, [], study.Subjects(20, -4.25, 6.18, 27, n))
    assert f"a board of {n} subjects would call it" in study._evidence_text(ev)


def test_learned_study_more_people_text_follows_the_tests():
    from hrbench.boards.inference import SubjectTest

    study = _load("learned_study")

    def t(diff: float, p: float) -> SubjectTest:
        return SubjectTest(20, 40, diff, p, True, "sign-flip permutation", 6.0)

    mp = study.MorePeople(20, 13.3, (510.0, 453.0), (4.68, 4.98), (0.706, 0.644), t(-0.3, 0.74),
                          (t(-4.3, 0.0059), t(-4.0, 0.011)), 19, (9.25, -4.7, 0.00069))
    text = study.more_people_text(mp)
    assert "all 20 people of `synthetic-dev` instead of 13.3 per fold" in text and "510 maps against 453" in text
    assert "p = 0.74, not distinguishable" in text and "(19 comparisons) is 0.0026, which neither reaches" in text
    better = study.more_people_text(study.MorePeople(20, 13.3, (510.0, 453.0), (3.0, 4.98), (0.8, 0.644),
                                                     t(-2.0, 0.001), (t(-6.0, 0.0001), t(-4.0, 0.011)), 19,
                                                     (9.25, -4.7, 0.0001)))
    assert "p = 0.001, better" in better and "only the net trained on more people reaches" in better
    verdict = study._verdict({"whole_video": False}, {"whole_video": study.MissEvidence(
        "whole_video", 13.3, None, [], 0.0, [])}, mp)[0]
    assert text in verdict and "did not lower the error distinguishably" in verdict
    assert "more training people per fold (not measured here)" in study._pointers(None)
    helped = study.MorePeople(20, 13.3, (510.0, 453.0), (3.0, 4.98), (0.8, 0.644), t(-2.0, 0.001),
                              (t(-6.0, 0.0001), t(-4.0, 0.011)), 19, (9.25, -4.7, 0.0001))
    assert "they lowered the error" in study._pointers(helped)
    larger = study._pointers(mp, ["whole_video (synthetic-46)"])
    assert "built to the projected size meet the target (whole_video (synthetic-46);" in larger
    assert "synthetic-large" not in larger
    both = study._verdict({"whole_video": False, "whole_video (synthetic-46)": True},
                          {"whole_video": study.MissEvidence("whole_video", 13.3, None, [], 0.0, [])}, mp)[0]
    assert both.startswith("Met on whole_video (synthetic-46)")
    assert "meet the target (whole_video (synthetic-46)" in both


def test_learned_study_evidence_text_without_curves_or_hard_scenarios():
    study = _load("learned_study")
    ev = study.MissEvidence("whole_video", 13.0, None, [], 0.0, [(1.0, 4.0)])
    text = study._evidence_text(ev)
    assert text == "On whole_video, 13.0 training people per fold (before the held-out share)."
    flat = study.MissEvidence("whole_video", 13.0, (5.0, 4.0), [], 0.0, [])
    assert "better than new ones" not in study._evidence_text(flat)  # held-out no worse: no memorising claim
    assert "What these point to" not in study._verdict({"whole_video": False})[0]  # no evidence, no conclusion


def test_hr_shift_probe_moves_a_pulse_by_the_factor_and_reads_slopes():
    probe = _load("hr_shift_probe")
    from hrbench.plugin.clips import Clips

    fps, n_long, length, hr = 30.0, 450, 300, 72.0
    t = np.arange(n_long) / fps
    wave = np.sin(2 * np.pi * hr / 60 * t)
    traces = np.broadcast_to(wave[None, None, :, None], (2, 1, n_long, 3)).astype(np.float32)
    clips = Clips(traces=traces, fps=fps, recording_ids=np.array(["a", "b"]), subjects=np.array(["s", "s"]),
                  hr=np.array([hr, hr]), starts=np.zeros(2))
    for f in (0.8, 1.0, 1.4):
        out = probe.shifted(clips, f, length)
        assert out.traces.shape == (2, 1, length, 3) and np.allclose(out.hr, hr * f)
        spec = np.abs(np.fft.rfft(out.traces[0, 0, :, 0], n=30 * length))
        peak = np.fft.rfftfreq(30 * length, 1 / fps)[np.argmax(spec)] * 60
        assert abs(peak - hr * f) < 0.5, (f, peak)
    ref = np.array([60.0, 80.0, 100.0, 60.0, 80.0, 100.0])
    subjects = np.array(["a"] * 3 + ["b"] * 3)
    slopes = probe.tracking_slopes(np.concatenate([ref[:3], np.full(3, 77.0)]), ref, subjects)
    assert slopes == pytest.approx({"a": 1.0, "b": 0.0})
    med, lo, hi = probe.bootstrap_median(np.array([0.2, 0.4, 0.6, 0.8, 1.0]))
    assert med == 0.6 and 0.2 <= lo <= med <= hi <= 1.0


def test_hr_shift_study_applies_its_declared_rule_per_family():
    probe = _load("hr_shift_probe")
    rng = np.random.default_rng(0)
    subjects = np.repeat([f"s{i}" for i in range(8)], 4)
    ref = rng.uniform(60, 100, len(subjects))
    preds = {"m": ref + 6.0, "m:x=1": ref + rng.normal(0, 0.5, len(ref)), "m:x=2": ref + 8.0}
    p = probe.Predictions(preds, ref, subjects, np.ones(len(ref)), np.full(len(ref), 80.0))
    text = "\n".join(probe.family_verdict(p, "m", ("m", "m:x=1", "m:x=2")))
    assert "By the rule **m:x=1** wins" in text and "lower than the default's" in text
    assert "needs a rebuild" in text and "| m (default when declared) | 6.00 |" in text
    adopted = "\n".join(probe.family_verdict(p, "m", ("m", "m:x=1", "m:x=2"), current={"m:x=1"}))
    assert "It is the default now" in adopted
    assert "| m:x=2 | 8.00 | +2.00 |" in text
    keep = "\n".join(probe.family_verdict(p, "m", ("m:x=1", "m")))
    assert "nothing to adopt" in keep
    both = probe.pooled([p, p])
    assert len(both.ref) == 2 * len(ref) and set(both.pred) == set(preds)


def test_hr_shift_probe_knows_which_variants_are_todays_defaults():
    probe = _load("hr_shift_probe")
    w = probe.get_registry().method("pos").params["window_s"].default
    same, other = f"pos:window_s={w}", f"pos:window_s={2 * w}"
    assert probe.current_defaults(("pos", same, other)) == {"pos", same}
    with pytest.raises(probe.HrbenchError, match="expected METHOD"):
        probe.parse_variant("pos:window_s")


def test_learned_study_refreshes_its_board_sections_without_the_dev_store(tmp_path, monkeypatch, capsys):
    study = _load("learned_study")
    page = tmp_path / "learned-methods.md"
    page.write_text("# Learned\n\nrecipe table from the dev store\n\n## On the committed boards (old)\n\nold rows",
                    encoding="utf-8")
    monkeypatch.setattr(study, "committed_sections", lambda store: ["## On the committed boards (new)", "", "rows"])
    assert study.main(["--committed-only", "--out", str(tmp_path)]) == 0
    assert page.read_text(encoding="utf-8") == ("# Learned\n\nrecipe table from the dev store\n\n"
                                                "## On the committed boards (new)\n\nrows")
    # A full run without the dev store would empty the recipe table: refused, page untouched.
    assert study.main(["--store", str(tmp_path / "absent.sqlite"), "--out", str(tmp_path)]) == 2
    assert "absent.sqlite: no dev store" in capsys.readouterr().err
    page.write_text("# no board section\n", encoding="utf-8")
    assert study.main(["--committed-only", "--out", str(tmp_path)]) == 2
    assert "no '## On the committed boards' section" in capsys.readouterr().err
    # Without the committed store there is nothing to put in: the page is kept, not cut short.
    page.write_text("# Learned\n\n## On the committed boards (old)\n\nold rows", encoding="utf-8")
    monkeypatch.setattr(study, "committed_sections", lambda store: [])
    assert study.main(["--committed-only", "--out", str(tmp_path)]) == 2
    assert "no committed store here" in capsys.readouterr().err
    assert page.read_text(encoding="utf-8").endswith("old rows")


def test_vipl_estimate_costs_only_runs_made_with_todays_defaults():
    import json

    from hrbench.plugin.host import get_registry

    est = _load("estimate_vipl")
    svr = get_registry().method("svr")
    today = svr().get_params()  # as a default run stores them (da_copies 3 differs from its legacy 0)
    assert today["da_copies"] != 0
    assert est._is_default(svr, json.dumps(today, sort_keys=True))
    # A run from before the copies (da_copies 0 is its legacy value: absent from the stored parameters).
    assert not est._is_default(svr, json.dumps({k: v for k, v in today.items() if k != "da_copies"}))
    assert not est._is_default(svr, json.dumps({**today, "C": 1.0}))
