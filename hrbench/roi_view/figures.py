"""Shared by the two figures: the non-interactive backend, colours, byte-stable saving, small annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .frames import lost_runs  # noqa: E402

#: PNGs carry no software/timestamp metadata: the same inputs give the same bytes.
_META = {"Software": None}
COLOURS = {"face_skin": "#ffd21f", "cheek_grid": "#22d3ee", "face_grid": "#f472b6", "lost": "#e11d48"}


def save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata=_META)
    plt.close(fig)
    return path


def shade_lost(ax: Any, times: np.ndarray, valid: np.ndarray, dt: float) -> None:
    """Shade the stretches where the run lost the face."""
    for s, e in lost_runs(~valid):
        ax.axvspan(times[s], times[e - 1] + dt, color=COLOURS["lost"], alpha=0.18, lw=0)


def mark_rates(ax: Any, pulse_hr: float, ref_hr: float) -> None:
    """Vertical lines at the reference and pulse heart rates on a spectrum."""
    if np.isfinite(ref_hr):
        ax.axvline(ref_hr, color="k", ls="--", lw=1.2, label=f"reference {ref_hr:.1f}")
    if np.isfinite(pulse_hr):
        ax.axvline(pulse_hr, color="#7c3aed", ls="-", lw=1.2, label=f"pulse {pulse_hr:.1f}")
    if np.isfinite(ref_hr) or np.isfinite(pulse_hr):
        ax.legend(fontsize=7, loc="upper right")


def note(ax: Any, text: str) -> None:
    """A panel that says why it is empty."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=8, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
