"""``signals.png``: the raw ``face_skin`` trace, the method's pulse and the ground truth, each beside its spectrum."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal as sps

from ..data.recording import Recording
from ..pulse import hr as hrmod
from ..pulse.hr import HRSettings, hr_spectrum
from ..pulse.signals import fill_missing_frames
from .figures import mark_rates, note, plt, save, shade_lost
from .signals import Pulse, Reference

#: The scheme whose mean RGB feeds the classic methods, and the one shown in the first row.
SIGNAL_SCHEME = "face_skin"
RGB_COLOURS = ("#dc2626", "#16a34a", "#2563eb")


@dataclass(frozen=True)
class Span:
    """The part of the recording drawn: frame times, raw mean RGB (NaN where lost), validity, frame rate."""

    times: np.ndarray
    rgb: np.ndarray
    valid: np.ndarray
    fps: float


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / max(x.std(), 1e-12)


def _raw_row(ax: Any, sx: Any, span: Span, settings: HRSettings) -> None:
    """Raw ``face_skin`` mean RGB, each channel relative to its own mean, and the channels' spectra."""
    rgb, valid = span.rgb, span.valid
    mean = np.nanmean(np.where(np.isfinite(rgb), rgb, np.nan), axis=0) if valid.any() else np.ones(3)
    rel = 100.0 * (rgb / np.maximum(mean, 1e-9) - 1.0)
    for k, (name, col) in enumerate(zip("RGB", RGB_COLOURS, strict=True)):
        ax.plot(span.times, rel[:, k], color=col, lw=0.8, label=f"{name} (mean {mean[k]:.1f})")
    shade_lost(ax, span.times, valid, 1.0 / span.fps)
    ax.set_ylabel("change from mean (%)")
    lost_pct = 100.0 * (1.0 - valid.mean())
    ax.set_title(f"{SIGNAL_SCHEME} mean RGB, raw (face lost in {lost_pct:.1f} % of frames, shaded)", fontsize=9)
    ax.legend(fontsize=7, loc="upper right", ncol=3)
    if valid.any():
        filled = fill_missing_frames(rgb[None])[0][0]
        try:
            bpm, power = hr_spectrum((filled / np.maximum(mean, 1e-9)).T, span.fps, settings)
            for k, col in enumerate(RGB_COLOURS):
                sx.plot(bpm, power[k] / max(power[k].max(), 1e-30), color=col, lw=0.8)
        except ValueError as exc:
            note(sx, str(exc))
    sx.set_title("RGB spectra (each scaled to its peak)", fontsize=9)


def _pulse_row(ax: Any, sx: Any, span: Span, pulse: Pulse, method: str, settings: HRSettings) -> None:
    """The method's pulse (z-scored, and band-passed as the estimator sees it) and its spectrum."""
    band = settings.band_bpm
    if pulse.values is not None and np.isfinite(pulse.values).all():
        x = pulse.values
        bp = hrmod.bandpass(sps.detrend(x), span.fps, settings.band_hz, settings.filter_order)
        ax.plot(span.times, _z(x), color="0.7", lw=0.7, label="pulse")
        ax.plot(span.times, bp / max(bp.std(), 1e-12), color="#7c3aed", lw=0.9,
                label=f"band-passed {band[0]:g}-{band[1]:g} bpm")
        shade_lost(ax, span.times, span.valid, 1.0 / span.fps)
        ax.legend(fontsize=7, loc="upper right")
        ax.set_ylabel("z-score")
        bpm, power = hr_spectrum(x, span.fps, settings, filtered=pulse.prefiltered)
        sx.plot(bpm, power / max(power.max(), 1e-30), color="#7c3aed", lw=1)
        ax.set_title(f"{method} pulse · HR {pulse.hr:.1f} bpm", fontsize=9)
    else:
        note(ax, pulse.note or "no pulse")
        ax.set_title(f"{method} pulse", fontsize=9)
    sx.set_title("pulse spectrum", fontsize=9)


def _reference_spectrum(ax: Any, sx: Any, ref: Reference, settings: HRSettings) -> None:
    """A waveform reference: R-peaks and beat-to-beat rates for ECG, the spectrum for a pulse wave."""
    band, v = settings.band_bpm, ref.values
    bins = np.arange(band[0], band[1] + 2, 2)
    if ref.kind == "ecg":
        peaks = hrmod.r_peaks(v, ref.fs, band[1])
        ax.plot(ref.times[peaks], _z(v)[peaks], "v", color="#dc2626", ms=4, label="R-peaks")
        ax.legend(fontsize=7, loc="upper right")
        if len(peaks) > 1:
            sx.hist(60.0 * ref.fs / np.diff(peaks), bins=bins, color="0.5")
        sx.set_title("beat-to-beat rates (ECG)", fontsize=9)
        return
    try:
        bpm, power = hr_spectrum(v, ref.fs, settings)
        sx.plot(bpm, power / max(power.max(), 1e-30), color="k", lw=1)
    except ValueError as exc:
        note(sx, str(exc))
    sx.set_title("reference spectrum", fontsize=9)


def _reference_row(ax: Any, sx: Any, ref: Reference, settings: HRSettings) -> None:
    """The ground truth over the span: an HR track and its values, or a waveform and its rate."""
    if len(ref.values) < 2:
        note(ax, ref.note or "the ground truth has no samples in this span")
        ax.set_title(f"ground truth ({ref.kind})", fontsize=9)
        return
    band = settings.band_bpm
    if ref.kind == "hr":
        ax.plot(ref.times, ref.values, color="k", lw=1)
        ax.set_ylabel("bpm")
        sx.hist(ref.values, bins=np.arange(band[0], band[1] + 2, 2), color="0.5")
        sx.set_title("reference HR values", fontsize=9)
    else:
        ax.plot(ref.times, _z(ref.values), color="k", lw=0.8)
        ax.set_ylabel("z-score")
        _reference_spectrum(ax, sx, ref, settings)
    ref_txt = f"HR {ref.hr:.1f} bpm" if np.isfinite(ref.hr) else ref.note
    ax.set_title(f"ground truth ({ref.kind}) · {ref_txt}", fontsize=9)


def signals_figure(rec: Recording, span: Span, pulse: Pulse, ref: Reference, method: str, settings: HRSettings,
                   path: Path) -> Path:
    """Three rows (raw trace, pulse, ground truth), each beside its in-band spectrum with both HRs marked."""
    dt = 1.0 / span.fps
    fig, axes = plt.subplots(3, 2, figsize=(12, 8.5), gridspec_kw={"width_ratios": [2.2, 1]})
    _raw_row(*axes[0], span, settings)
    _pulse_row(*axes[1], span, pulse, method, settings)
    _reference_row(*axes[2], ref, settings)
    for sx in axes[:, 1]:
        mark_rates(sx, pulse.hr, ref.hr)
        sx.set_xlim(*settings.band_bpm)
    for a in axes[:, 0]:
        a.set_xlim(span.times[0], span.times[-1] + dt)
    axes[2, 0].set_xlabel("time (s, video clock)")
    axes[2, 1].set_xlabel("bpm")
    head = f"{rec.dataset} · {rec.id} · {span.times[0]:.1f}-{span.times[-1] + dt:.1f} s · {method}"
    err = pulse.hr - ref.hr
    if np.isfinite(err):
        head += f" · error {err:+.1f} bpm"
    fig.suptitle(head, fontsize=10)
    fig.tight_layout()
    return save(fig, path)
