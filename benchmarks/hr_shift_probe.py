"""Do the learned methods follow heart rates their training set did not hold, or sit on its mean?

A diagnosis, not a choice (choices are made on ``synthetic-dev`` by
``tune_defaults.py``).  Real face video has another HR distribution than the
embedded dataset (``synthetic-dev``: most recordings at 60-100 bpm); a method
trained on the embedded set and run on real video meets HRs it saw rarely.
A method that reads the pulse follows them; one that learned the training
set's prior stays near its mean and is biased by the shift.

The probe makes the shift itself, on held-out people: each test clip of a
fold (subject_exclusive, ``synthetic-dev``) is resampled in time by a factor
``f`` -- the window of ``300 f`` frames played as 300 frames at the same
frame rate, so every frequency, the pulse's too, is multiplied by ``f`` and
the reference becomes ``HR f`` (clips of 1.5x the protocol's length leave
room for ``f`` up to 1.5).  The methods are fitted once per fold, on the
fold's unshifted training clips, exactly as a run fits them, and predict the
test clips at every factor.  Reported per method and factor: MAE, mean
error, and the same for the training-mean baseline (which cannot follow);
and the *tracking slope*: per subject, the least-squares slope of the
predictions on the references over all factors (1: the shift is followed in
full; 0: the method ignores it), its median over subjects with a bootstrap
interval.  Each learned method is tested against the baseline at the two
outermost factors (sign-flip on per-subject MAE, Holm over the family).

    python benchmarks/hr_shift_probe.py --seeds 2 --study da-shift \
        --out leaderboards/studies/synthetic-dev-hr-shift.md
    python benchmarks/hr_shift_probe.py --seeds 2 --study readout-copies \
        --out leaderboards/studies/synthetic-dev-hr-shift-readout-copies.md
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress

from hrbench.boards.inference import format_p, holm, subject_permutation_test
from hrbench.errors import HrbenchError
from hrbench.plugin.clips import Clips
from hrbench.plugin.host import get_registry
from hrbench.plugin.method import RunContext
from hrbench.run.evaluate import batch
from hrbench.run.runner import Runner, RunOptions, validated_params
from hrbench.run.threads import apply_threads
from hrbench_plugins.methods.deep.augment import resample_windows

FACTORS = (0.8, 1.0, 1.2, 1.4)
METHODS = ("pos", "svr", "stmap_transfer", "rhythm_resnet", "rhythm_da")
#: Declared before it ran (study 12, ``--study da-shift``): the resampling augmentation's draw
#: and share, read by the probe.  Each family's first entry is its default when the study was
#: declared, spelt out so that a rerun after the adoption asks the same question.
DA_SHIFT = {
    "stmap_transfer": ("stmap_transfer:da_prob=0.5", "stmap_transfer:da_prob=1.0",
                       "stmap_transfer:da_factors=balance:da_prob=0.5",
                       "stmap_transfer:da_factors=balance:da_prob=1.0"),
    "rhythm_da": ("rhythm_da:da_factors=uniform", "rhythm_da:da_factors=uniform:da_prob=1.0",
                  "rhythm_da:da_factors=balance"),
}
#: Declared 2026-12-08 before it ran (study 13, ``--study readout-copies``), same rule as study 12.
#: stmap_transfer's readout: study 11 kept the mean of every bin on unshifted clips (3.26 against the
#: peak's 3.35 bpm), where mass the head leaves on the training HRs costs nothing; the mean of a
#: distribution with mass away from its answer leans towards that mass, which on HRs the training
#: set did not hold is the training set (the probe's x1.4 bias was -13 bpm).  SVR's time-scaled
#: copies (``da_copies``, new): an RBF kernel answers a spectral peak unlike any training one with
#: something near the training mean (tracking slope 0.39 in study 12's first reading).
READOUT_COPIES = {
    "stmap_transfer": ("stmap_transfer:readout=mean", "stmap_transfer:readout=peak"),
    "svr": ("svr:da_copies=0", "svr:da_copies=1", "svr:da_copies=3"),
}
SHIFT_RULE = (
    "Rule, fixed before the runs: within each family the variant with the lowest MAE over all probe clips, "
    "pooled over the four factors and the seeds, wins. The defaults were chosen on unshifted clips, where the "
    "test HRs follow the training HRs and a prior fitted to them pays; this rule asks for what a method meets "
    "on other people's video. Each variant is tested against its family's default (sign-flip on per-subject "
    "pooled MAE, Holm over the family's variants). A winner other than the default changes every run key of "
    "its method: it is adopted with a rebuild of that method's committed rows, not by this page."
)
#: The declared studies, by ``--study`` name: their families and their section title.
STUDIES = {
    "da-shift": (DA_SHIFT, "Study 12: the augmentation's draw and share, judged on shifted heart rates"),
    "readout-copies": (READOUT_COPIES, "Study 13: the bins head's readout and SVR's time-scaled copies, judged on "
                                       "shifted heart rates"),
}
#: The probe's test clips are this many times the protocol's clip length (room for a factor up to 1.5).
LONG = 1.5


def shifted(clips: Clips, factor: float, length: int) -> Clips:
    """Each clip's centred window of ``length * factor`` frames played as ``length`` frames: HR times ``factor``."""
    span = (length - 1) * factor
    starts = np.full(len(clips), (clips.clip_len - 1 - span) / 2.0)
    traces = resample_windows(clips.traces, starts, np.full(len(clips), factor), length)
    hr = None if clips.hr is None else clips.hr * factor
    return Clips(traces=traces, fps=clips.fps, recording_ids=clips.recording_ids, subjects=clips.subjects,
                 hr_settings=clips.hr_settings, hr=hr, starts=clips.starts)


def tracking_slopes(pred: np.ndarray, ref: np.ndarray, subjects: np.ndarray) -> dict[str, float]:
    """Per subject, the least-squares slope of ``pred`` on ``ref`` (all of the subject's clips and factors)."""
    out = {}
    for s in np.unique(subjects):
        m = subjects == s
        x = ref[m] - ref[m].mean()
        out[str(s)] = float((x * (pred[m] - pred[m].mean())).sum() / (x * x).sum())
    return out


def bootstrap_median(values: np.ndarray, seed: int = 0, n: int = 2000) -> tuple[float, float, float]:
    """Median and its 95 % percentile-bootstrap interval."""
    rng = np.random.default_rng(seed)
    meds = np.median(rng.choice(values, size=(n, len(values)), replace=True), axis=1)
    return float(np.median(values)), float(np.percentile(meds, 2.5)), float(np.percentile(meds, 97.5))


@dataclass
class Predictions:
    """Every test clip of every fold at every factor, with its reference, subject, factor and baseline."""

    pred: dict[str, np.ndarray]
    ref: np.ndarray
    subjects: np.ndarray
    factor: np.ndarray
    baseline: np.ndarray


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    """``stmap_transfer:da_prob=1.0:da_factors=balance`` -> the method and its parameter overrides."""
    name, *pairs = spec.split(":")
    params = {}
    for kv in pairs:
        key, eq, value = kv.partition("=")
        if not eq or not key:
            raise HrbenchError(f"--methods: {spec!r}: expected METHOD[:KEY=VALUE...], got {kv!r}")
        params[key.strip()] = value.strip()
    return name.strip(), params


def predict_all(dataset: str, variants: tuple[str, ...], seed: int, console: Console) -> Predictions:
    specs = {v: parse_variant(v) for v in variants}
    methods = tuple(dict.fromkeys(name for name, _ in specs.values()))
    opts = RunOptions(methods=list(methods), dataset=dataset, data_root=None, protocol="subject_exclusive")
    runner = Runner(opts, console=console)
    classes = {m.name: m.cls for m in runner.plan.methods}
    built = {v: validated_params(RunOptions(methods=[name], params=params), {name: classes[name]})[name][1]
             for v, (name, params) in specs.items()}  # a typo fails here, before any fitting
    prep = runner._prep(runner._hub())
    prepared = prep.run({})
    apply_threads(runner.thread_plan.main_threads)
    protocol, length = runner.protocol, runner.protocol.clips.length

    pred: dict[str, list[np.ndarray]] = {v: [] for v in variants}
    ref, subjects, factor, baseline = [], [], [], []
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("fit and predict", total=len(prepared.folds) * len(variants))
        for fold in prepared.folds:
            long_test = prep.long_clips(prepared.clips, fold.test, LONG)
            # The boards' baseline: the mean reference of the fold's training clips (protocol length).
            train_mean = float(np.nanmean(np.concatenate([prepared.clips[i].hr_ref for i in fold.train])))
            # Built once per fold: the shifted test clips per ROI scheme, the training batch per method.
            tests = {scheme: {f: shifted(batch(long_test, scheme, protocol, labels=True), f, length) for f in FACTORS}
                     for scheme in {c.roi_scheme for c in classes.values()}}
            trains = {name: batch(prep.train_clips(cls, prepared.clips, fold.train), cls.roi_scheme, protocol,
                                  labels=True) for name, cls in classes.items() if cls.supervised}
            for variant, (name, _) in specs.items():
                cls = classes[name]
                method = cls(RunContext(seed=seed, clip_len=length, cache_dir=runner.cache_root), profile="default",
                             **built[variant])
                if cls.supervised:
                    method.fit(trains[name])
                for f in FACTORS:
                    pred[variant].append(np.asarray(method.predict(tests[cls.roi_scheme][f]), dtype=float))
                bar.advance(task)
            first = tests[classes[methods[0]].roi_scheme]
            for f in FACTORS:
                ref.append(first[f].hr)
                subjects.append(first[f].subjects)
                factor.append(np.full(len(first[f]), f))
                baseline.append(np.full(len(first[f]), train_mean))
    return Predictions({m: np.concatenate(v) for m, v in pred.items()}, np.concatenate(ref),
                       np.concatenate(subjects), np.concatenate(factor), np.concatenate(baseline))


def pooled(parts: list[Predictions]) -> Predictions:
    """Several seeds' predictions as one set (same clips, listed once per seed)."""
    return Predictions({v: np.concatenate([q.pred[v] for q in parts]) for v in parts[0].pred},
                       *(np.concatenate([getattr(q, f) for q in parts]) for f in ("ref", "subjects", "factor",
                                                                                     "baseline")))


def family_verdict(p: Predictions, family: str, variants: tuple[str, ...],
                   current: set[str] | None = None) -> list[str]:
    """The declared rule applied to one family: pooled MAE per variant, tests against the default, the winner.

    ``variants[0]`` is the default when the study was declared; ``current``, the variants that are the
    method's defaults now (an adopted winner is reported as such).
    """
    current = current or set()
    ok = np.isfinite(p.ref)
    mae = {v: float(np.mean(np.abs(p.pred[v][ok] - p.ref[ok]))) for v in variants}
    default, others = variants[0], variants[1:]
    tests = [subject_permutation_test(p.pred[v][ok] - p.ref[ok], p.pred[default][ok] - p.ref[ok], p.subjects[ok])
             for v in others]
    adjusted = holm([t.p_value for t in tests])
    lines = [f"### {family}", "", "| variant | pooled MAE | per subject vs it | p_holm |", "|---|---:|---:|---:|",
             f"| {default} (default when declared) | {mae[default]:.2f} | | |"]
    lines += [f"| {v} | {mae[v]:.2f} | {t.mean_diff:+.2f} | {format_p(q)} |"
              for v, t, q in zip(others, tests, adjusted, strict=True)]
    best = min(variants, key=lambda v: mae[v])
    if best == default:
        lines += ["", f"The default keeps the lowest pooled MAE ({mae[default]:.2f} bpm): nothing to adopt."]
    else:
        q = adjusted[others.index(best)]
        called = "lower than the default's" if q < 0.05 else "not distinguishable from the default's"
        now = ("It is the default now; the committed rows were rebuilt with it." if best in current else
               f"Adopting it needs a rebuild of {family}'s committed rows.")
        lines += ["", f"By the rule **{best}** wins: pooled MAE {mae[best]:.2f} against {mae[default]:.2f} bpm, "
                      f"{called} (p_holm = {format_p(q)}). {now}"]
    return lines + [""]


def current_defaults(variants: tuple[str, ...]) -> set[str]:
    """The variants whose parameters are their method's defaults today."""
    reg = get_registry()
    out = set()
    for v in variants:
        name, params = parse_variant(v)
        cls = {name: reg.method(name)}
        if (validated_params(RunOptions(methods=[name], params=params), cls)[name][1] ==
                validated_params(RunOptions(methods=[name]), cls)[name][1]):
            out.add(v)
    return out


def report(p: Predictions, dataset: str, seeds: list[int]) -> list[str]:
    ok = np.isfinite(p.ref)
    names = [*p.pred, "training mean"]
    preds = {**p.pred, "training mean": p.baseline}
    n_clips = ok.sum() // (len(FACTORS) * len(seeds))
    lines = [f"{n_clips} test clips of `{dataset}` (subject_exclusive, 3 folds, "
             f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}; each clip once per seed), "
             f"each at factors {', '.join(f'{f:g}' for f in FACTORS)}: reference HR "
             + ", ".join(f"{np.median(p.ref[ok & (p.factor == f)]):.0f}" for f in FACTORS) + " bpm (median).", "",
             "| method | " + " | ".join(f"MAE ×{f:g}" for f in FACTORS) + " | " +
             " | ".join(f"mean error ×{f:g}" for f in FACTORS) + " | tracking slope (95 % CI) |",
             "|---|" + "---:|" * (2 * len(FACTORS) + 1)]
    for name in names:
        err = preds[name] - p.ref
        mae = [np.mean(np.abs(err[ok & (p.factor == f)])) for f in FACTORS]
        bias = [np.mean(err[ok & (p.factor == f)]) for f in FACTORS]
        med, lo, hi = bootstrap_median(np.array(list(tracking_slopes(preds[name][ok], p.ref[ok],
                                                                     p.subjects[ok]).values())))
        lines.append(f"| {name} | " + " | ".join(f"{x:.2f}" for x in mae) + " | " +
                     " | ".join(f"{x:+.2f}" for x in bias) + f" | {med:.2f} ({lo:.2f}–{hi:.2f}) |")
    tests = []
    for name in p.pred:
        for f in (FACTORS[0], FACTORS[-1]):
            m = ok & (p.factor == f)
            t = subject_permutation_test(p.pred[name][m] - p.ref[m], p.baseline[m] - p.ref[m], p.subjects[m])
            tests.append((name, f, t))
    adjusted = holm([t.p_value for _, _, t in tests])
    lines += ["", f"Against the training-mean baseline, per-subject MAE, sign-flip test, Holm over {len(tests)}:", ""]
    for (name, f, t), q in zip(tests, adjusted, strict=True):
        word = ("lower" if t.mean_diff < 0 else "higher") if q < 0.05 else "not distinguishable"
        lines.append(f"- {name} at ×{f:g}: {word} (per subject {t.mean_diff:+.2f} bpm, p_holm = {format_p(q)}, "
                     f"{t.n_subjects} subjects)")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog="Fits every method on each fold (minutes on 2 cores, the deep ones most).")
    ap.add_argument("--dataset", default="synthetic-dev", help="adapter name (default: %(default)s)")
    ap.add_argument("--methods", default=",".join(METHODS),
                    help="comma-separated METHOD[:KEY=VALUE...], e.g. stmap_transfer:da_prob=1.0 beside "
                         "stmap_transfer (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="first training seed (default: %(default)s)")
    ap.add_argument("--seeds", type=int, default=1, help="training seeds, from --seed on (default: %(default)s)")
    ap.add_argument("--study", choices=list(STUDIES),
                    help="run a declared study instead of --methods, by the rule in SHIFT_RULE (use --seeds 2): "
                         "da-shift (study 12: the resampling augmentation's draw and share), readout-copies "
                         "(study 13: stmap_transfer's readout, SVR's time-scaled copies)")
    ap.add_argument("--out", type=Path, help="also write the report here (markdown)")
    args = ap.parse_args(argv)
    console = Console(stderr=True)
    if args.study:
        variants = tuple(v for family in STUDIES[args.study][0].values() for v in family)
    else:
        variants = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    seeds = list(range(args.seed, args.seed + args.seeds))
    try:
        p = pooled([predict_all(args.dataset, variants, s, console) for s in seeds])
    except HrbenchError as exc:
        console.print(f"error: {exc}", highlight=False)
        return 2
    lines = report(p, args.dataset, seeds)
    if args.study:
        families, title = STUDIES[args.study]
        lines += ["", f"## {title}", "", SHIFT_RULE, ""]
        current = current_defaults(variants)
        for family, members in families.items():
            lines += family_verdict(p, family, members, current)
    print("\n".join(lines))
    if args.out:
        command = " ".join(sys.argv[1:] if argv is None else argv)
        head = [f"<!-- Written by `python benchmarks/hr_shift_probe.py {command}`. Do not edit by hand. -->",
                "", "# Heart rates the training set did not hold: followed, or the training mean?", "",
                " ".join(__doc__.split("\n\n")[1].split()), ""]
        args.out.write_text("\n".join(head + lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
