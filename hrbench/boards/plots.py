"""Deterministic PNG figures for leaderboards (matplotlib, Agg backend).

Bland-Altman (SynRhythm Fig. 5), train vs test HR distributions per fold
(Fig. 7a), error against training-set fraction (Fig. 6), the learned
methods' learning curves and a critical-difference diagram (Friedman /
Nemenyi).  PNGs carry no timestamp
or software metadata, so regenerating them from the same store gives the
same bytes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

_META = {"Software": None}


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata=_META)
    plt.close(fig)
    return path


def bland_altman(pred: np.ndarray, ref: np.ndarray, title: str, path: Path) -> tuple[float, float, float]:
    """Plot and return (mean difference, lower and upper 95 % limits of agreement)."""
    mean = (pred + ref) / 2
    diff = pred - ref
    md = float(diff.mean())
    sd = float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
    lo, hi = md - 1.96 * sd, md + 1.96 * sd
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.scatter(mean, diff, s=14, alpha=0.7)
    for y, style in ((md, "-"), (lo, "--"), (hi, "--")):
        ax.axhline(y, color="k", ls=style, lw=1)
    ax.set_xlabel("(HR_est + HR_gt) / 2 (bpm)")
    ax.set_ylabel("HR_est − HR_gt (bpm)")
    ax.set_title(f"{title}\nmean {md:.2f}, 95% LoA [{lo:.2f}, {hi:.2f}] bpm", fontsize=9)
    fig.tight_layout()
    _save(fig, path)
    return md, lo, hi


def hr_distributions(folds: list[tuple[list[float], list[float]]], title: str, path: Path) -> Path:
    """Train vs test reference-HR histograms, one panel per fold."""
    k = len(folds)
    fig, axes = plt.subplots(1, k, figsize=(3.2 * k, 2.8), squeeze=False)
    bins = np.arange(40, 181, 5)
    for i, (train, test) in enumerate(folds):
        ax = axes[0, i]
        ax.hist(train, bins=bins, alpha=0.6, density=True, label="train")
        ax.hist(test, bins=bins, alpha=0.6, density=True, label="test")
        ax.set_title(f"fold {i + 1}", fontsize=9)
        ax.set_xlabel("HR (bpm)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def fraction_curve(series: dict[str, list[tuple[float, ...]]], title: str, path: Path) -> Path:
    """HRrmse against the fraction of training clips, one line per method.

    Points are ``(fraction, value)`` or ``(fraction, value, low, high)``; the
    latter draw the interval as an error bar.
    """
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    for name, pts in sorted(series.items()):
        pts = sorted(pts)
        x, y = [p[0] for p in pts], [p[1] for p in pts]
        if all(len(p) == 4 and np.isfinite(p[2:]).all() for p in pts):
            err = np.array([[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]])
            ax.errorbar(x, y, yerr=np.clip(err, 0, None), marker="o", capsize=3, label=name)
        else:
            ax.plot(x, y, marker="o", label=name)
    ax.set_xlabel("fraction of training clips")
    ax.set_ylabel("HRrmse (bpm)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def mean_curve(curves: list[dict[str, np.ndarray]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Per epoch, the mean of ``key`` over the curves that recorded that epoch (NaNs skipped): (epochs, means)."""
    values: dict[float, list[float]] = {}
    for c in curves:
        if key not in c:
            continue
        for e, v in zip(c["epoch"], c[key], strict=True):
            if np.isfinite(v):
                values.setdefault(float(e), []).append(float(v))
    epochs = np.array(sorted(values), dtype=float)
    return epochs, np.array([np.mean(values[e]) for e in epochs], dtype=float)


def learning_curves(curves: dict[str, list[dict[str, np.ndarray]]], title: str, path: Path) -> Path:
    """Training (solid) and held-out (dashed) L1 per epoch, one colour per method, mean over folds and seeds."""
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for i, (name, cs) in enumerate(sorted(curves.items())):
        colour = f"C{i % 10}"
        for key, style, what in (("train_l1", "-", "train"), ("heldout_l1", "--", "held-out")):
            x, y = mean_curve(cs, key)
            if len(x):
                n = sum(key in c for c in cs)
                ax.plot(
                    x,
                    y,
                    style,
                    color=colour,
                    marker="o" if len(x) < 30 else None,
                    ms=3,
                    label=f"{name} ({what}, mean of {n})",
                )
    ax.set_xlabel("epoch")
    ax.set_ylabel("L1 loss (bpm)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def nemenyi_cliques(names: list[str], sig) -> list[tuple[int, int]]:
    """Maximal runs of rank-ordered methods whose pairwise Nemenyi p >= 0.05.

    Deterministic (no set iteration), so the figure's bytes never depend on
    Python's hash seed -- scikit-posthocs' own diagram does.
    """
    runs: list[tuple[int, int]] = []
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and all(sig.loc[names[a], names[j + 1]] >= 0.05 for a in range(i, j + 1)):
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in runs):
            runs.append((i, j))
    return runs


def cd_diagram(ranks, sig_matrix, title: str, path: Path) -> Path:
    """Critical-difference diagram: mean ranks on an axis, bars join methods not significantly different."""
    order = list(ranks.sort_values().index)
    r = [float(ranks[m]) for m in order]
    n = len(order)
    half = (n + 1) // 2  # labels go half to the left, half to the right
    cliques = nemenyi_cliques(order, sig_matrix)
    depth = max(half, 0.4 + 0.25 * len(cliques)) + 0.8
    fig, ax = plt.subplots(figsize=(6.4, 1.0 + 0.32 * depth))
    lo, hi = np.floor(min(r)), np.ceil(max(r))
    hi = max(hi, lo + 1)
    ax.set_xlim(lo - 0.1, hi + 0.1)
    ax.set_ylim(-depth, 1.2)
    ax.axhline(0, color="k", lw=1)
    for t in np.arange(lo, hi + 0.01, 0.5):
        ax.plot([t, t], [0, 0.15], color="k", lw=1)
        ax.text(t, 0.3, f"{t:g}", ha="center", va="bottom", fontsize=8)
    for k, (m, x) in enumerate(zip(order, r, strict=True)):
        left = k < half
        y = -(k + 1) if left else -(n - k)
        xt = lo - 0.05 if left else hi + 0.05
        ax.plot([x, x, xt], [0, y, y], color="0.3", lw=1)
        ax.text(
            xt,
            y,
            f"{m} ({x:.2f})  " if left else f"  ({x:.2f}) {m}",
            ha="right" if left else "left",
            va="center",
            fontsize=8,
        )
    for level, (a, b) in enumerate(cliques):
        y = -0.4 - 0.25 * level
        ax.plot([r[a] - 0.03, r[b] + 0.03], [y, y], color="k", lw=3)
    ax.set_title(title + "\n(bars: Nemenyi p >= 0.05)", fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)
