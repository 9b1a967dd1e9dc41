"""The FG 2019 ablation table: with / without attention x with / without DA.

Reads the results store (runs of ``rhythm_resnet``, ``rhythm_attention``,
``rhythm_da`` and ``rhythm_attention_da``) and writes, for every dataset x
protocol where all four ran (``--dataset`` / ``--protocol`` narrow it), the
poster's 2 x 2 ablation:

* **Rows**: one per variant, pooling its seeds (the store's runs that differ
  only by ``seed``, as the leaderboards pool them): MAE and RMSE are means
  over seeds with 95 % subject-bootstrap intervals pooled over seeds, and
  each video's error is the mean over seeds of its absolute error.  Next to
  MAE, the **final training loss** (mean training L1 of the last epoch,
  ``run_notes["train_l1_bpm"]``) and the training budget actually spent
  (optimiser steps per fold, share of resampled maps): a variant that did
  not fit its training set, or had another budget, shows it in the same row.
  A second table gives the final training loss per fold and seed.
* **Tests at the subject level** (:mod:`hrbench.boards.inference`), not per video:
  a subject's videos share a face, so per-video tests overstate the
  evidence.  Each component is tested as a main effect (per subject, its
  MAE with the component minus without, averaged over both settings of the
  other component) and within each setting of the other (four pairs), all
  with the sign-flip permutation test; the six p-values form one Holm
  family.  The prose is generated from the tests and claims no more than
  they support ("attention: not distinguishable (p_holm = ...)").
* **HR histogram** of the first training fold before and after the
  resampling augmentation as the run drew it (``da_factors``: log-uniform
  factors, or the HR-balancing water-filling rule of ``deep/augment.py``),
  with the run's ``da_prob`` share of copies, as one DA epoch draws them.

``--run`` first trains the four variants through ``hrbench run`` (the same
runner, store and caches; ``--seeds``, default 3, is passed through, as are
``--dataset``, ``--protocol``, ``--data-root``, ``--param`` ...).  Folds
already in the store are reused.

The method names live here, in a script, not in the core: hrbench's
leaderboards know nothing of any plugin.

    python benchmarks/rhythm_ablation.py                  # results/hrbench.sqlite -> leaderboards/studies/
    python benchmarks/rhythm_ablation.py --run --seeds 3 --dataset synthetic --protocol subject_exclusive
    python benchmarks/rhythm_ablation.py --store /tmp/r.sqlite --out /tmp/ablation

Deterministic for a given store.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hrbench.boards.boards import Board, Row, build_boards
from hrbench.boards.inference import ALPHA, format_p, holm, subject_errors, subject_permutation_test
from hrbench.errors import HrbenchError
from hrbench.store.store import Store
from hrbench_plugins.methods.deep.augment import balancing_factors, histogram_edges, uniform_factors

VARIANTS = {  # (attention, DA) -> method
    (False, False): "rhythm_resnet",
    (True, False): "rhythm_attention",
    (False, True): "rhythm_da",
    (True, True): "rhythm_attention_da",
}
METHODS = tuple(VARIANTS.values())
# Each component: (without, with) pairs, one per setting of the other component.
EFFECTS = {
    "attention": [("without DA", "rhythm_resnet", "rhythm_attention"), ("with DA", "rhythm_da", "rhythm_attention_da")],
    "DA": [("without attention", "rhythm_resnet", "rhythm_da"),
           ("with attention", "rhythm_attention", "rhythm_attention_da")],
}
DA_DEFAULTS = {"da_low_bpm": 45.0, "da_high_bpm": 150.0, "da_bin_bpm": 10.0, "da_factor_min": 2 / 3,
               "da_factor_max": 1.5, "da_prob": 0.5, "da_factors": "balance"}  # runs from before da_factors: balance


def fail(message: str) -> NoReturn:
    """A one-line error on stderr and exit status 2 (as the hrbench CLI does)."""
    print(f"rhythm_ablation: error: {message}", file=sys.stderr)
    raise SystemExit(2)


# --------------------------------------------------------------------------- tests


@dataclass(frozen=True)
class Effect:
    """One component comparison: MAE without vs with it (per subject), and its Holm-adjusted p-value."""

    component: str
    context: str  # "" for the main effect, else the other component's setting
    pairs: tuple[tuple[str, str], ...]  # (without, with) methods
    mae_without: float  # mean over subjects of per-subject MAE
    mae_with: float
    n_subjects: int
    p: float
    p_holm: float = math.nan

    @property
    def significant(self) -> bool:
        return bool(np.isfinite(self.p_holm) and self.p_holm < ALPHA)

    def sentence(self) -> str:
        """The comparison in words, claiming exactly what the test supports."""
        what = self.component + (f" {self.context}" if self.context else "")
        pairs = ", ".join(f"`{a}` → `{b}`" for a, b in self.pairs)
        stats = f"p_holm = {format_p(self.p_holm)}, {self.n_subjects} subjects"
        mae = f"MAE {self.mae_without:.2f} → {self.mae_with:.2f} bpm"
        if not np.isfinite(self.p_holm):
            return f"{what}: not testable (no recordings in common)"
        if not self.significant:
            return f"{what}: not distinguishable ({stats}; {mae}; {pairs})"
        verb = "lowers" if self.mae_with < self.mae_without else "raises"
        return f"{what}: {verb} the error ({mae}, {stats}; {pairs})"


def common_errors(rows: dict[str, Row]) -> tuple[pd.DataFrame, list[str]]:
    """Per-video absolute errors (mean over seeds) of the four variants on the recordings all four predicted."""
    errs = pd.DataFrame({m: pd.Series(rows[m].videos.abs_err,
                                      index=rows[m].videos.ids) for m in METHODS}).dropna().sort_index()
    subj = rows[METHODS[0]].videos.subject_of()
    return errs, [subj[i] for i in errs.index]


def effects(rows: dict[str, Row]) -> list[Effect]:
    """Main effect and the two simple effects of each component; one Holm family over all six."""
    errs, subjects = common_errors(rows)
    raw: list[Effect] = []
    for component, pairs in EFFECTS.items():
        tests = [("", tuple((a, b) for _, a, b in pairs))] + [(ctx, ((a, b),)) for ctx, a, b in pairs]
        for context, used in tests:
            ea = np.concatenate([errs[a].to_numpy() for a, _ in used]) if len(errs) else np.empty(0)
            eb = np.concatenate([errs[b].to_numpy() for _, b in used]) if len(errs) else np.empty(0)
            subj = subjects * len(used)
            t = subject_permutation_test(ea, eb, subj)
            mae_a = float(subject_errors(ea, subj).mean()) if len(ea) else math.nan
            mae_b = float(subject_errors(eb, subj).mean()) if len(eb) else math.nan
            raw.append(Effect(component, context, used, mae_a, mae_b, t.n_subjects, t.p_value))
    adjusted = holm([e.p for e in raw])
    return [replace(e, p_holm=float(p)) for e, p in zip(raw, adjusted, strict=True)]


# --------------------------------------------------------------------------- training record


@dataclass(frozen=True)
class Training:
    """What one variant's runs recorded about training, per seed and fold."""

    seeds: tuple[int, ...]
    l1: dict[int, list[float]]  # seed -> final training L1 (bpm) per fold
    steps: dict[int, list[int | None]]  # seed -> optimiser steps per fold (None: not recorded)
    maps: dict[int, list[int | None]]  # seed -> maps per epoch per fold
    resampled: list[float]  # DA: share of resampled maps, every fold and seed
    epochs: int | None


def training(store: Store, row: Row) -> Training:
    l1: dict[int, list[float]] = {}
    steps: dict[int, list[int | None]] = {}
    maps: dict[int, list[int | None]] = {}
    resampled: list[float] = []
    for key, seed in zip(row.run_keys, row.seeds, strict=True):
        notes = store.fold_notes(key)
        l1[seed] = [float(n.get("train_l1_bpm", math.nan)) for n in notes]
        steps[seed] = [n.get("train_steps") for n in notes]
        maps[seed] = [n.get("train_maps") for n in notes]
        resampled += [float(n["da_resampled_share"]) for n in notes if "da_resampled_share" in n]
    params = json.loads(store.query("SELECT params_json FROM runs WHERE run_key = ?", (row.run_key,))[0]["params_json"])
    return Training(row.seeds, l1, steps, maps, resampled, params.get("epochs"))


def _loss_cell(t: Training) -> str:
    v = np.array([x for xs in t.l1.values() for x in xs], dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return "–"
    return f"{v.mean():.2f}" + (f" [{v.min():.2f}–{v.max():.2f}]" if len(v) > 1 else "")


def _steps_cell(t: Training) -> str:
    s = sorted({x for xs in t.steps.values() for x in xs if x is not None})
    if not s:
        return "not recorded"
    return str(s[0]) if len(s) == 1 else f"{s[0]}–{s[-1]}"


def budget_line(train: dict[str, Training]) -> str:
    """Whether the four variants spent the same training budget, from what their runs recorded."""
    per = {m: (t.epochs, {s: (t.steps[s], t.maps[s]) for s in t.seeds}) for m, t in train.items()}
    if any(x is None for _, by_seed in per.values() for st, _ in by_seed.values() for x in st):
        return ("Training budgets: **not recorded** for some runs (they predate step counting); "
                "their epochs: " + ", ".join(f"`{m}` {e}" for m, (e, _) in per.items()) + ".")
    first = next(iter(per.values()))
    if all(v == first for v in per.values()):
        t = next(iter(train.values()))
        steps = sorted({x for xs in t.steps.values() for x in xs})
        return (f"Training budgets: **matched** -- every variant took {first[0]} epoch(s) and the same optimiser steps "
                f"({', '.join(map(str, steps))} per fold) over the same number of maps, fold by fold and seed by seed.")
    return ("Training budgets: **differ** -- " + "; ".join(f"`{m}`: {e} epochs, steps per fold "
            + ", ".join(f"s{s}: {st}" for s, (st, _) in by_seed.items()) for m, (e, by_seed) in per.items())
            + ". The comparison confounds the components with the budget.")


# --------------------------------------------------------------------------- histogram


def da_histogram(train_hr: list[float], out: Path, params: dict | None = None, seed: int = 0) -> tuple[Path, str]:
    """Before/after histogram of one fold's training labels under the run's DA settings.

    "After" is the label mixture one DA epoch draws from: each clip's own
    label with probability ``1 - da_prob``, its resampled copy's with
    ``da_prob`` (weights, so the two histograms have the same total).
    """
    p = {**DA_DEFAULTS, **{k: v for k, v in (params or {}).items() if k in DA_DEFAULTS}}
    labels = np.asarray(train_hr, dtype=np.float64)
    edges = histogram_edges((p["da_low_bpm"], p["da_high_bpm"]), p["da_bin_bpm"])
    rng = np.random.default_rng([seed, 0xDA])
    if p["da_factors"] == "balance":
        factors = balancing_factors(labels, edges, factor_range=(p["da_factor_min"], p["da_factor_max"]), rng=rng)
    else:
        factors = uniform_factors(len(labels), (p["da_factor_min"], p["da_factor_max"]), rng)
    share = float(p["da_prob"])
    after = np.concatenate([labels, labels * factors])
    weights = np.concatenate([np.full(len(labels), 1 - share), np.full(len(labels), share)])
    fig = Figure(figsize=(6.4, 3.2), dpi=100, layout="constrained")
    ax = fig.subplots()
    bins = np.arange(40, 165, 5)
    ax.hist(after, bins=bins, weights=weights, color="tab:orange", alpha=0.6,
            label=f"one DA epoch ({share:.0%} resampled)")
    ax.hist(labels, bins=bins, color="tab:blue", alpha=0.8, label=f"training labels (n = {len(labels)})")
    ax.set_xlabel("reference HR (bpm)")
    ax.set_ylabel("count (expected, per epoch)")
    ax.legend(fontsize=8)
    how = "HR-balancing" if p["da_factors"] == "balance" else "log-uniform"
    ax.set_title(f"{how} resampling: each clip's map resampled with probability da_prob", fontsize=9)
    fig.savefig(out, metadata={"Software": None})

    def spread(x: np.ndarray, w: np.ndarray) -> str:
        h = np.histogram(x, bins=edges, weights=w)[0]
        q = h[h > 0] / h.sum()
        mean = np.average(x, weights=w)
        sd = math.sqrt(np.average((x - mean) ** 2, weights=w))
        return f"SD {sd:.1f} bpm, entropy {-(q * np.log2(q)).sum():.2f} bits"

    ones = np.ones(len(labels))
    return out, (f"{how} factors in [{p['da_factor_min']:.2f}, {p['da_factor_max']:.2f}]; "
                 f"before: {spread(labels, ones)}; after: {spread(after, weights)} "
                 f"({p['da_bin_bpm']:g}-bpm bins over {p['da_low_bpm']:g}–{p['da_high_bpm']:g} bpm, "
                 f"{share:g} of the maps resampled)")


# --------------------------------------------------------------------------- report


def _cell(row: Row, field: str) -> str:
    v = getattr(row.metrics, field)
    iv = row.ci.get(field)
    if iv is None or np.isnan(iv.low):
        return f"{v:.2f}"
    return f"{v:.2f} [{iv.low:.2f}, {iv.high:.2f}]"


def _seeds_cell(row: Row) -> str:
    n = len(row.seeds)
    return f"{n} ({', '.join(map(str, row.seeds))})" + (f", SD {row.mae_sd:.2f}" if row.mae_sd is not None else "")


def report(board: Board, rows: dict[str, Row], store: Store, out: Path) -> str:
    """The study's markdown for one board (writes the histogram PNG next to it)."""
    base = f"{board.base}-rhythm-ablation"
    train = {m: training(store, rows[m]) for m in METHODS}
    da = rows["rhythm_da"]
    first = store.query("SELECT train_hr_json FROM folds WHERE run_key = ? ORDER BY fold LIMIT 1", (da.run_key,))
    da_params = json.loads(store.query("SELECT params_json FROM runs WHERE run_key = ?",
                                       (da.run_key,))[0]["params_json"])
    hist_png, hist_note = da_histogram(json.loads(first[0]["train_hr_json"]),
                                       out / f"{base}-da-histogram.png", da_params)
    tested = effects(rows)
    _, subjects = common_errors(rows)
    baseline = board.baseline
    seeds = sorted({len(rows[m].seeds) for m in METHODS})
    pooled = (f"each row pools {seeds[0]} seed(s)" if len(seeds) == 1
              else "**the variants have different numbers of seeds** "
                   f"({', '.join(f'`{m}` {len(rows[m].seeds)}' for m in METHODS)})")
    md = [
        "<!-- Generated by `python benchmarks/rhythm_ablation.py` from the results store. Do not edit by hand. -->",
        "",
        f"# Ablation (Niu et al., FG 2019) · {board.dataset} · {board.protocol}"
        + (f" (trained on {board.train_dataset})" if board.train_dataset != board.dataset else ""),
        "",
        "MAE (bpm) per video, 95 % subject-bootstrap interval in brackets "
        f"(from the [leaderboard](../{board.filename})); {pooled}: per-video errors are means over seeds.",
        "",
        "| | without DA | with DA |",
        "|---|---:|---:|",
        f"| without attention | {_cell(rows[VARIANTS[(False, False)]], 'mae')} | "
        f"{_cell(rows[VARIANTS[(False, True)]], 'mae')} |",
        f"| with attention | {_cell(rows[VARIANTS[(True, False)]], 'mae')} | "
        f"{_cell(rows[VARIANTS[(True, True)]], 'mae')} |",
        "",
        "| variant | attention | DA | MAE (bpm) | RMSE (bpm) | seeds (SD of MAE) "
        "| final training L1 (bpm), mean [range over folds × seeds] | optimiser steps per fold | resampled maps |",
        "|---|:-:|:-:|---:|---:|---:|---:|---:|---:|",
    ]
    for (att, aug), m in VARIANTS.items():
        t = train[m]
        share = f"{np.mean(t.resampled):.0%}" if t.resampled else ("–" if not aug else "not recorded")
        md.append(f"| `{m}` | {'yes' if att else 'no'} | {'yes' if aug else 'no'} | {_cell(rows[m], 'mae')} | "
                  f"{_cell(rows[m], 'hr_rmse')} | {_seeds_cell(rows[m])} | {_loss_cell(t)} | {_steps_cell(t)} | "
                  f"{share} |")
    if baseline is not None:
        md.append(f"| *baseline: training-set mean HR* | | | {_cell(baseline, 'mae')} | "
                  f"{_cell(baseline, 'hr_rmse')} | | | | |")
    md += ["", budget_line(train), "", "## Effect of each component (subject level)", "",
           f"Sign-flip permutation tests on per-subject MAE ({len(set(subjects))} subjects, {len(subjects)} videos "
           "every variant predicted); main effects average both settings of the other component; Holm over the six "
           "tests.", ""]
    md += [f"- {e.sentence()}" for e in tested if not e.context]
    md += [f"  - {e.sentence()}" for e in tested if e.context]
    n_folds = max(len(v) for t in train.values() for v in t.l1.values())
    md += ["", "## Final training loss per fold and seed", "",
           "Mean training L1 (bpm) of the last epoch (`train_l1_bpm`).", "",
           "| variant | seed | " + " | ".join(f"fold {k + 1}" for k in range(n_folds)) + " |",
           "|---|---:|" + "---:|" * n_folds]
    for m in METHODS:
        for s in train[m].seeds:
            cells = [f"{x:.2f}" if np.isfinite(x) else "–" for x in train[m].l1[s]]
            md.append(f"| `{m}` | {s} | " + " | ".join(cells + ["–"] * (n_folds - len(cells))) + " |")
    md += ["", "## HR histogram before and after augmentation", "",
           f"First fold's training labels (per video); {hist_note}.", "",
           f"![HR histogram before and after DA]({hist_png.name})", ""]
    return "\n".join(md)


def scoped(kv: str) -> list[str]:
    """A bare ``KEY=VALUE`` applies to every variant that has ``KEY``: the four must stay matched.

    (``hrbench run`` refuses a bare key several selected methods share; a
    ``method.key=value`` passes through unchanged.)
    """
    from hrbench.plugin.host import get_registry

    key, _, value = kv.partition("=")
    if "." in key:
        return [kv]
    reg = get_registry()
    owners = [m for m in METHODS if key in reg.method(m).params]
    return [f"{m}.{key}={value}" for m in owners] or [kv]  # no owner: hrbench names the typo


def run_variants(args: argparse.Namespace) -> None:
    """Train the four variants into the store with ``hrbench run`` (folds already stored are reused)."""
    from hrbench.cli import main as hrbench

    argv = ["run", "--method", ",".join(METHODS), "--store", str(args.store), "--seeds", str(args.seeds),
            "--profile", args.profile]
    for flag in ("dataset", "data_root", "protocol", "seed", "workers", "device", "cache"):
        value = getattr(args, flag)
        if value is not None:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    for kv in args.param or []:
        for one in scoped(kv):
            argv += ["--param", one]
    rc = hrbench(argv)
    if rc != 0:
        raise SystemExit(rc)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, default=Path("results/hrbench.sqlite"),
                    help="results store; default: %(default)s")
    ap.add_argument("--out", type=Path, default=Path("leaderboards/studies"),
                    help="output folder; default: %(default)s")
    ap.add_argument("--dataset", help="only this dataset (adapter name or label); with --run: the dataset to run on")
    ap.add_argument("--protocol", help="only this protocol; with --run: the protocol to run")
    ap.add_argument("--profile", default="default",
                    help="which profile's runs to compare (and run); default: %(default)s")
    ap.add_argument("--run", action="store_true", help="first train the four variants with `hrbench run` into --store")
    ap.add_argument("--seeds", type=int, default=3, metavar="N",
                    help="with --run: training seeds per variant; default: %(default)s")
    ap.add_argument("--seed", type=int, help="with --run: first training seed (default: the protocol's)")
    ap.add_argument("--data-root", help="with --run: where the dataset lives")
    ap.add_argument("--param", action="append", metavar="KEY=VALUE", help="with --run: a method parameter (repeatable)")
    ap.add_argument("--workers", type=int, help="with --run: trace-extraction processes")
    ap.add_argument("--device", help="with --run: cpu, cuda or cuda:N")
    ap.add_argument("--cache", help="with --run: cache directory")
    args = ap.parse_args(argv)
    if args.run:
        run_variants(args)
    try:
        store = Store(args.store, readonly=True)
    except HrbenchError as exc:
        fail(str(exc))
    try:
        placeholders = ",".join("?" * len(METHODS))
        if not store.query(f"SELECT 1 FROM runs WHERE method IN ({placeholders}) LIMIT 1", METHODS):
            fail(f"{args.store}: no rhythm_* runs in the store; run them first (`python benchmarks/rhythm_ablation.py "
                 "--run`)")
        written = []
        for board in build_boards(store, args.dataset, args.protocol):
            rows = {r.method: r for r in board.ranked if r.profile == args.profile and r.method in METHODS}
            if len(rows) < len(METHODS):
                continue
            args.out.mkdir(parents=True, exist_ok=True)
            path = args.out / f"{board.base}-rhythm-ablation.md"
            path.write_text(report(board, rows, store, args.out), encoding="utf-8")
            written.append(path)
            print(path.read_text(encoding="utf-8"))
        if not written:
            where = " · ".join(x for x in (args.dataset, args.protocol) if x) or "any dataset x protocol"
            fail(f"{args.store}: no board ({where}, profile {args.profile}) has runs of all four {', '.join(METHODS)}")
    finally:
        store.close()


if __name__ == "__main__":
    main()
