"""The FG 2019 ablation table: with / without attention x with / without DA.

Reads the results store (runs of ``rhythm_resnet``, ``rhythm_attention``,
``rhythm_da`` and ``rhythm_attention_da``; ``bash
benchmarks/run_leaderboards.sh`` makes them) and writes, for every dataset x
protocol where all four ran, the poster's 2 x 2 ablation: MAE and RMSE with
95 % subject-bootstrap intervals (the leaderboards' own, same seed), and the
paired Wilcoxon test of each component's effect on per-video absolute errors
(attention: resnet vs attention and da vs attention_da; DA: resnet vs da and
attention vs attention_da).  It also draws the HR histogram of each board's
first training fold before and after the HR-balancing augmentation (the
water-filling rule of ``deep/augment.py`` applied to the fold's training
labels, one augmented copy per label, as one DA epoch does).

The method names live here, in a script, not in the core: hrbench's
leaderboards know nothing of any plugin.

    python benchmarks/rhythm_ablation.py                  # results/hrbench.sqlite -> leaderboards/studies/
    python benchmarks/rhythm_ablation.py --store /tmp/r.sqlite --out /tmp/ablation

Deterministic for a given store.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from hrbench.leaderboard import build_boards, paired_errors
from hrbench.stats import wilcoxon_pair
from hrbench.store import Store
from hrbench_plugins.methods.deep.augment import balancing_factors, histogram_edges, label_histogram

VARIANTS = {  # (attention, DA) -> method
    (False, False): "rhythm_resnet",
    (True, False): "rhythm_attention",
    (False, True): "rhythm_da",
    (True, True): "rhythm_attention_da",
}
EFFECTS = {
    "attention": [("rhythm_resnet", "rhythm_attention"), ("rhythm_da", "rhythm_attention_da")],
    "DA": [("rhythm_resnet", "rhythm_da"), ("rhythm_attention", "rhythm_attention_da")],
}


def _cell(row, field: str) -> str:
    v = getattr(row.metrics, field)
    iv = row.ci.get(field)
    if iv is None or np.isnan(iv.low):
        return f"{v:.2f}"
    return f"{v:.2f} [{iv.low:.2f}, {iv.high:.2f}]"


def _paired(rows: dict, a: str, b: str) -> str:
    ea, eb = paired_errors(rows[a], rows[b])
    t = wilcoxon_pair(a, ea, b, eb)
    better = b if np.mean(np.abs(eb)) < np.mean(np.abs(ea)) else a
    return (f"`{a}` → `{b}`: MAE {np.mean(np.abs(ea)):.2f} → {np.mean(np.abs(eb)):.2f} bpm "
            f"(n = {t.n}, Wilcoxon p = {t.p_value:.3g}; lower: `{better}`"
            + ("" if t.p_value < 0.05 else ", not significant") + ")")


DA_DEFAULTS = {"da_low_bpm": 45.0, "da_high_bpm": 150.0, "da_bin_bpm": 10.0, "da_factor_min": 2 / 3, "da_factor_max": 1.5}


def da_histogram(train_hr: list[float], out: Path, params: dict | None = None, seed: int = 0) -> tuple[Path, str]:
    """Before/after histogram of one fold's training labels under the run's DA settings."""
    p = {**DA_DEFAULTS, **{k: v for k, v in (params or {}).items() if k in DA_DEFAULTS}}
    labels = np.asarray(train_hr, dtype=np.float64)
    edges = histogram_edges((p["da_low_bpm"], p["da_high_bpm"]), p["da_bin_bpm"])
    factors = balancing_factors(labels, edges, factor_range=(p["da_factor_min"], p["da_factor_max"]),
                                rng=np.random.default_rng([seed, 0xDA]))
    after = np.concatenate([labels, labels * factors])
    fig = Figure(figsize=(6.4, 3.2), dpi=100, layout="constrained")
    ax = fig.subplots()
    bins = np.arange(40, 165, 5)
    ax.hist(after, bins=bins, color="tab:orange", alpha=0.6, label=f"with DA (n = {len(after)})")
    ax.hist(labels, bins=bins, color="tab:blue", alpha=0.8, label=f"training labels (n = {len(labels)})")
    ax.set_xlabel("reference HR (bpm)")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    ax.set_title("HR-balancing augmentation: one resampled copy per label", fontsize=9)
    fig.savefig(out, metadata={"Software": None})

    def spread(x: np.ndarray) -> str:
        h = label_histogram(x, edges).astype(float)
        p = h[h > 0] / h.sum()
        return f"SD {np.std(x):.1f} bpm, entropy {-(p * np.log2(p)).sum():.2f} bits"

    return out, (f"before: {spread(labels)}; after: {spread(after)} "
                 f"({p['da_bin_bpm']:g}-bpm bins over {p['da_low_bpm']:g}–{p['da_high_bpm']:g} bpm)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, default=Path("results/hrbench.sqlite"))
    ap.add_argument("--out", type=Path, default=Path("leaderboards/studies"))
    args = ap.parse_args()
    store = Store(args.store)
    try:
        boards = build_boards(store)
        args.out.mkdir(parents=True, exist_ok=True)
        written = []
        for board in boards:
            # Default-profile runs only (a label carries the profile otherwise).
            rows = {r.method: r for r in board.rows if r.run_key is not None and r.label.rstrip(" †") == r.method}
            if not all(m in rows for m in VARIANTS.values()):
                continue
            base = f"{board.base}-rhythm-ablation"
            first = store.query("SELECT train_hr_json FROM folds WHERE run_key = ? ORDER BY fold LIMIT 1",
                                (rows["rhythm_da"].run_key,))
            da_params = json.loads(store.query("SELECT params_json FROM runs WHERE run_key = ?",
                                               (rows["rhythm_da"].run_key,))[0]["params_json"])
            hist_png, hist_note = da_histogram(json.loads(first[0]["train_hr_json"]), args.out / f"{base}-da-histogram.png",
                                               da_params)
            baseline = board.rows[-1]
            md = [
                "<!-- Generated by `python benchmarks/rhythm_ablation.py` from the results store. Do not edit by hand. -->",
                "",
                f"# Ablation (Niu et al., FG 2019) · {board.dataset} · {board.protocol}"
                + (f" (trained on {board.train_dataset})" if board.train_dataset != board.dataset else ""),
                "",
                "MAE (bpm) per video, 95 % subject-bootstrap interval in brackets "
                f"(from the [leaderboard](../{board.filename})).",
                "",
                "| | without DA | with DA |",
                "|---|---:|---:|",
                f"| without attention | {_cell(rows[VARIANTS[(False, False)]], 'mae')} | {_cell(rows[VARIANTS[(False, True)]], 'mae')} |",
                f"| with attention | {_cell(rows[VARIANTS[(True, False)]], 'mae')} | {_cell(rows[VARIANTS[(True, True)]], 'mae')} |",
                "",
                "RMSE (HRrmse, bpm):",
                "",
                "| | without DA | with DA |",
                "|---|---:|---:|",
                f"| without attention | {_cell(rows[VARIANTS[(False, False)]], 'hr_rmse')} | {_cell(rows[VARIANTS[(False, True)]], 'hr_rmse')} |",
                f"| with attention | {_cell(rows[VARIANTS[(True, False)]], 'hr_rmse')} | {_cell(rows[VARIANTS[(True, True)]], 'hr_rmse')} |",
                "",
                f"Baseline (predict the training-set mean HR): MAE {_cell(baseline, 'mae')}, RMSE {_cell(baseline, 'hr_rmse')}.",
                "",
                "## Effect of each component (paired on the same videos)",
                "",
            ]
            for name, pairs in EFFECTS.items():
                for a, b in pairs:
                    md.append(f"- {name}: {_paired(rows, a, b)}")
            md += [
                "",
                "## HR histogram before and after augmentation",
                "",
                f"First fold's training labels (per video); {hist_note}.",
                "",
                f"![HR histogram before and after DA]({hist_png.name})",
                "",
            ]
            path = args.out / f"{base}.md"
            path.write_text("\n".join(md), encoding="utf-8")
            written.append(path)
            print(path.read_text(encoding="utf-8"))
        if not written:
            raise SystemExit("no dataset x protocol has runs of all four rhythm_* methods in the store")
    finally:
        store.close()


if __name__ == "__main__":
    main()
