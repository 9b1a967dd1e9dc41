"""Why the learned methods predicted the training mean, and what the chosen recipe changed (issue #19).

Measured on ``synthetic-dev`` (no board reports on it), from two sources, then
checked against the committed boards:

* the dataset's own clips: every map a learned method would see is built
  from them, as the paper's per-channel RGB map and as the POS chrominance
  map (``plugins/methods/deep/stmap.py``), and the share of each map's power
  at the reference HR (and its harmonic) is compared with that of the
  synthetic rhythm maps stage III pretrains on -- the "do the two kinds of
  map look alike" question, in numbers and in a figure;
* the recipe runs of ``benchmarks/tune_defaults.py --only`` :data:`ONLY`
  in the dev store: per candidate, the MAE, the spread of the predictions against the spread of the references
  (a net that regresses to the mean has a ratio near 0), the zero-shot error
  of the synthetic-pretrained net on the face maps, the training and
  held-out losses and their curves;
* the committed store (``results/hrbench.sqlite``): stmap_transfer against
  issue #19's targets on each board and, where one is missed, the evidence
  computed from its rows (:func:`miss_evidence`).

Writes ``leaderboards/studies/learned-methods.md`` and two figures beside it.

    python benchmarks/learned_study.py [--dataset synthetic-dev] [--data-root DIR] [--store DEV_STORE]
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from rich.console import Console

from hrbench.boards.boards import Board, Row, build_boards
from hrbench.boards.inference import (
    ALPHA,
    SubjectTest,
    board_power,
    detectable_difference,
    format_p,
    holm,
    paired_abs_errors,
    subject_permutation_test,
)
from hrbench.boards.plots import mean_curve
from hrbench.errors import HrbenchError
from hrbench.plugin.host import get_registry
from hrbench.run.runner import Runner, RunOptions
from hrbench.store.results import Results, VideoSet
from hrbench.store.store import Store
from hrbench_plugins.datasets.synthetic.settings import DEV
from hrbench_plugins.methods.deep.facemaps import face_maps
from hrbench_plugins.methods.deep.stmap import MapSpec, maps_from_traces
from hrbench_plugins.methods.deep.synrhythm import SynRhythmSettings, face_like, rhythm_maps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune_defaults import (  # noqa: E402
    ENSEMBLE_RECIPES,
    FINETUNE_LR_RECIPES,
    FREEZE_RECIPES,
    GEOMETRY_RECIPES,
    MIX_RECIPES,
    READOUT_RECIPES,
    RHYTHM_DA_RECIPES,
    RHYTHM_HEAD_RECIPES,
    RHYTHM_PRETRAIN_RECIPES,
    RHYTHM_RECIPES,
    STMAP_RECIPES,
    TRAINING_RECIPES,
    _store_path,
)

FPS_MAP = 15.0  # 30-fps clips pooled by 2, as the default profile
BAND = (42.0, 180.0)
#: Map layouts compared: (name, spec, channel that carries the pulse, stage III's generator for them).
LAYOUTS = (
    ("rgb, paper's rhythms", MapSpec(2, 4, 2, 0.5, "rgb"), 1, SynRhythmSettings(hr_bpm=BAND)),
    ("pos, face-matched rhythms (default)", MapSpec(2, 4, 2, 0.5, "pos"), 0,
     face_like(BAND, "pos")),
)


def pulse_share_db(maps: np.ndarray, channel: int, hr: np.ndarray, fps: float = FPS_MAP) -> np.ndarray:
    """Per map: power within 6 bpm of the HR and its 2nd harmonic over the rest of the band, in dB.

    The row spectra of a map are averaged first: what a network could read
    from the whole map, not from one row.
    """
    x = maps[:, channel].astype(np.float32)
    x = x - x.mean(axis=-1, keepdims=True)
    n_fft = 2048
    power = (np.abs(np.fft.rfft(x, n=n_fft, axis=-1)) ** 2).mean(axis=1)  # (n, F)
    f = np.fft.rfftfreq(n_fft, 1 / fps) * 60
    band = (f >= BAND[0]) & (f <= BAND[1] * 2)
    near = (np.abs(f[None] - hr[:, None]) <= 6) | (np.abs(f[None] - 2 * hr[:, None]) <= 6)
    signal = (power * (near & band)).sum(axis=1)
    rest = (power * (~near & band)).sum(axis=1)
    return 10 * np.log10(np.maximum(signal, 1e-12) / np.maximum(rest, 1e-12))


def _iqr(v: np.ndarray) -> str:
    """Median and interquartile range, signed, one decimal: "+1.2 [-0.3, +2.0]"."""
    return f"{np.median(v):+.1f} [{np.percentile(v, 25):+.1f}, {np.percentile(v, 75):+.1f}]"


def dev_clips(dataset: str, data_root: Path | None, per_recording: int, seed: int,
              scheme: str = "cheek_grid") -> tuple[np.ndarray, np.ndarray]:
    """Clips of one ROI scheme (cached traces), a few per recording: ``(n, n_rois, 300, 3)`` and their HRs.

    The same seed picks the same clips whatever the scheme.
    """
    method = {"cheek_grid": "stmap_transfer", "face_grid": "rhythm_resnet"}[scheme]
    opts = RunOptions(methods=[method], dataset=dataset, data_root=data_root, protocol="subject_exclusive")
    runner = Runner(opts, console=Console(stderr=True))
    prepared = runner._prep(runner._hub()).run({})
    rng = np.random.default_rng(seed)
    traces, hrs = [], []
    for uid in sorted(prepared.clips):
        rc = prepared.clips[uid]
        ok = np.flatnonzero(np.isfinite(rc.hr_ref))
        take = rng.choice(ok, size=min(per_recording, len(ok)), replace=False)
        traces.append(rc.traces[scheme][np.sort(take)])
        hrs.append(rc.hr_ref[np.sort(take)])
    return np.concatenate(traces), np.concatenate(hrs)


def map_figure(face: dict[str, np.ndarray], synth: dict[str, np.ndarray], hr_face: float,
               hr_synth: float, path: Path) -> Path:
    """One face map and one synthetic map in each layout, side by side (pulse channel, rows x time)."""
    fig = Figure(figsize=(10.0, 4.8), dpi=100, layout="constrained")
    axes = fig.subplots(2, 2)
    for col, (name, _spec, channel, _rgb) in enumerate(LAYOUTS):
        for row, (kind, maps, hr) in enumerate((("face", face, hr_face), ("synthetic", synth, hr_synth))):
            ax = axes[row, col]
            ax.imshow(maps[name][channel].astype(np.float32), aspect="auto", cmap="gray", interpolation="nearest",
                      extent=(0, maps[name].shape[-1] / FPS_MAP, maps[name].shape[-2], 0))
            label = "G" if channel == 1 else "h"
            ax.set_title(f"{kind}, {name}: channel {label}, HR {hr:.0f} bpm", fontsize=9)
            ax.set_xlabel("time (s)", fontsize=8)
            ax.set_ylabel("map row", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def map_section(dataset: str, data_root: Path | None, out: Path, per_recording: int = 5, seed: int = 0) -> list[str]:
    traces, hr = dev_clips(dataset, data_root, per_recording, seed)
    rng = np.random.default_rng(seed)
    lines = ["## Do face maps and synthetic maps look alike?", "",
             f"{len(hr)} clips of `{dataset}` ({per_recording} per recording), cheek blocks pooled 2 x 4 -> 25 rows, "
             "frames pooled 2 -> 15 fps, rows detrended at 0.5 Hz "
             "(the geometry the colour and training studies ran with). *Pulse share*: "
             "power within 6 bpm of the reference HR and of its 2nd harmonic over the rest of the 42-360 bpm band, "
             "averaged over a map's rows, in dB (median and interquartile range over maps). Synthetic maps: 2,000 "
             "of stage III's rhythms with the generator settings that go with each layout (the paper's plain formula "
             "for rgb maps; skin's pulse colour and face-matched noise for the default pos maps). The paper's "
             "synthetic maps show the pulse plainly where a face map shows almost none in any single row: a net "
             "pretrained on them meets, on faces, maps unlike anything it has seen, and falls back on the mean; "
             "the pos face maps carry the pulse coherently across rows (the row average reads it), and the "
             "face-matched rhythms are made to look like them.", "",
             "| Map layout | face maps: pulse share (dB) | synthetic maps: pulse share (dB) |", "|---|---:|---:|"]
    face_examples, synth_examples = {}, {}
    synth_hr_example = 0.0
    for name, spec, channel, settings in LAYOUTS:
        face = maps_from_traces(traces, spec, fps=30.0)
        synth, synth_hr = rhythm_maps(2000, 25, 300, 30.0, np.random.default_rng([seed, 1]), settings, time_pool=2,
                                      highpass_hz=0.5, colour=spec.colour)
        a, b = pulse_share_db(face, channel, hr), pulse_share_db(synth, channel, synth_hr)
        lines.append(f"| {name} | {_iqr(a)} | {_iqr(b)} |")
        i = int(rng.integers(len(hr)))
        j = int(np.argmin(np.abs(synth_hr - hr[i])))
        face_examples[name], synth_examples[name], synth_hr_example = face[i], synth[j], float(synth_hr[j])
        hr_example = float(hr[i])
    fig = map_figure(face_examples, synth_examples, hr_example, synth_hr_example, out / "learned-methods-maps.png")
    lines += ["", f"![face and synthetic maps]({fig.name})", ""]
    return lines


def rows_section(dataset: str, data_root: Path | None, per_recording: int = 5, seed: int = 0) -> list[str]:
    """How much pulse one map row carries, by geometry: the stmap rows and the FG 2019 variants' face grid."""
    cheek, hr = dev_clips(dataset, data_root, per_recording, seed)
    face, hr_face = dev_clips(dataset, data_root, per_recording, seed, scheme="face_grid")
    if not np.array_equal(hr, hr_face):
        raise HrbenchError(f"{dataset}: the cheek-grid and face-grid clips differ; the rows table compares them")
    layouts = [(f"cheek grid, {n} row{'s' if n != 1 else ''} ({h} x {w} blocks each){note}",
                maps_from_traces(cheek, MapSpec(h, w, 2, 0.5, "pos"), fps=30.0), hr)
               for h, w, note in ((2, 4, ""), (5, 4, ", stmap_* default"), (10, 20, "")) for n in [10 // h * (20 // w)]]
    layouts.append(("face grid, 25 rows (5 x 5 blocks of the aligned face), rhythm_* default",
                    face_maps(face, "pos", 2, fps=30.0, highpass_hz=0.5), hr_face))
    lines = ["## Which map rows carry the pulse?", "",
             f"The same {len(hr)} clips of `{dataset}`, POS chrominance maps at 15 fps, rows detrended at 0.5 Hz; "
             "pulse share of the pulse channel as above: with the rows' spectra averaged (what the rows hold one by "
             "one) and of the mean row's spectrum (what they hold together, in step); median and interquartile range "
             "over maps. The FG 2019 variants read the face grid, whose blocks include eyes, brows, mouth "
             "and hairline.", "",
             "| Rows | rows one by one: pulse share (dB) | mean row: pulse share (dB) |", "|---|---:|---:|"]
    for name, maps, ref in layouts:
        per_row = pulse_share_db(maps, 0, ref)
        mean_row = pulse_share_db(maps.astype(np.float32).mean(axis=2, keepdims=True), 0, ref)
        lines.append(f"| {name} | {_iqr(per_row)} | {_iqr(mean_row)} |")
    return lines + [""]


def _ratio(row: Row) -> float:
    v = row.videos
    return float(np.std(v.pred) / np.std(v.ref)) if v is not None and np.std(v.ref) > 0 else float("nan")


def _note(row: Row, key: str) -> str:
    """A run note as a table cell: the seeds' values apart with " / " (a "|" would split the markdown cell)."""
    value = row.notes.get(key)
    return "–" if value is None else str(value).replace(" | ", " / ").replace("|", "/")


#: The recipe studies in the dev store: (method, candidates, run-name tag, which dev copy they ran on).
RECIPE_STUDIES = (
    ("stmap_transfer", STMAP_RECIPES, "dev-stmap-recipe", "v3"),
    ("rhythm_resnet", RHYTHM_RECIPES, "dev-rhythm-recipe", "v3"),
    ("stmap_transfer", TRAINING_RECIPES, "dev-stmap-training", "v4"),
    ("stmap_transfer", GEOMETRY_RECIPES, "dev-stmap-geometry", "v4"),
    ("stmap_transfer", ENSEMBLE_RECIPES, "dev-stmap-ensemble", "v4"),
    ("stmap_transfer", MIX_RECIPES, "dev-stmap-mix", "v4"),
    ("rhythm_resnet", RHYTHM_HEAD_RECIPES, "dev-rhythm-head", "v4"),
    ("rhythm_da", RHYTHM_DA_RECIPES, "dev-rhythm-da", "v4"),
    ("rhythm_resnet", RHYTHM_PRETRAIN_RECIPES, "dev-rhythm-pretrain", "v4"),
    ("stmap_transfer", FINETUNE_LR_RECIPES, "dev-stmap-finetune-lr", "v4"),
    ("stmap_transfer", FREEZE_RECIPES, "dev-stmap-freeze", "v4"),
    ("stmap_transfer", READOUT_RECIPES, "dev-stmap-readout", "v4"),
    ("rhythm_resnet", READOUT_RECIPES, "dev-rhythm-readout", "v4"),
)


#: The ``tune_defaults.py --only`` groups whose runs the recipe table reads.
ONLY = ("maps,training,geometry,ensemble,mix,rhythm-head,rhythm-da,rhythm-pretrain,finetune-lr,freeze,readout,"
        "rhythm-readout")


def _recipe_rows(store_path: Path) -> list[tuple[str, str, str, str, Row]]:
    """(method, dev copy, study tag, recipe, row) of every recipe run found in the dev store."""
    store = Store(store_path, readonly=True)
    found = []
    try:
        for method, recipes, tag, copy in RECIPE_STUDIES:
            for i, (name, _params) in enumerate(recipes):
                boards = build_boards(store, f"{tag}{i}", "subject_exclusive")
                rows = [r for b in boards for r in b.rows if r.method == method and r.run_key]
                if rows:
                    found.append((method, copy, tag, name, rows[0]))
    finally:
        store.close()
    if not found:
        raise HrbenchError(f"no recipe runs in the dev store: run `python benchmarks/tune_defaults.py --only {ONLY}` "
                           "first", store_path)
    return found


def study_curves(studies: dict[str, dict[str, list]], path: Path) -> Path:
    """One panel per recipe study: each candidate's training (solid) and held-out (dashed) L1, mean of its curves.

    Why panels: the studies together hold some 20 candidates, too many for
    one legend beside one plot.
    """
    fig = Figure(figsize=(11.0, 2.6 * len(studies)), dpi=100, layout="constrained")
    for ax, (study, cands) in zip(fig.subplots(len(studies), 1, squeeze=False)[:, 0], studies.items(), strict=True):
        for i, (name, cs) in enumerate(cands.items()):
            for key, style in (("train_l1", "-"), ("heldout_l1", "--")):
                x, y = mean_curve(cs, key)
                if len(x):
                    ax.plot(x, y, style, color=f"C{i % 10}", marker="o", ms=2.5,
                            label=textwrap.shorten(name, 60) if key == "train_l1" else None)
        ax.set_title(f"{study}: training (solid) and held-out (dashed) L1", fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel("L1 (bpm)", fontsize=8)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.savefig(path)
    return path


def recipe_section(store_path: Path, dataset: str, out: Path) -> list[str]:
    found = _recipe_rows(store_path)
    v4 = ", ".join(tag.removeprefix("dev-").removeprefix("stmap-") for _, _, tag, c in RECIPE_STUDIES if c == "v4")
    lines = [f"## The recipe runs (`benchmarks/tune_defaults.py --only {ONLY}`)", "",
             f"`{dataset}`, subject_exclusive, SynRhythm's clip rule; numbers per candidate are means over its seeds. "
             "The first studies ran on the dev copy of generator v3 (10 subjects), the later ones "
             f"({v4}) "
             "on v4 (20 subjects, the copy that goes with the current boards); each study's rule and "
             "candidates were fixed before its runs (`benchmarks/tune_defaults.py`). "
             "*Spread ratio*: SD of the per-video predictions over SD of the references (a model that predicts the "
             "training mean has 0). *Zero-shot*: MAE of the synthetic-pretrained net on the training face maps before "
             "fine-tuning (stage III only): the first net's, except in runs made after the note became the pretrained "
             "ensemble's mean prediction (the mix study's), so rows sharing a first net can differ here. "
             "Losses are L1 in bpm: the last training epoch, and the held-out subjects' "
             "loss at the kept epoch where the recipe holds subjects out.", "",
             "| Method | dev copy | Recipe | MAE (bpm) | r | spread ratio | zero-shot MAE (bpm) | train L1 "
             "| best epoch | seeds |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    curves: dict[str, dict[str, list]] = {}
    for method, copy, tag, name, row in found:
        m = row.metrics
        lines.append(f"| {method} | {copy} | {name} | {m.mae:.2f} | {m.r:.3f} | {_ratio(row):.2f} | "
                     f"{_note(row, 'zero_shot_mae_bpm')} | {_note(row, 'train_l1_bpm')} | {_note(row, 'best_epoch')} | "
                     f"{len(row.seeds) or 1} |")
        if row.curves and copy == "v4":
            curves.setdefault(f"{method}, {tag.removeprefix('dev-')}", {})[name] = list(row.curves)
    if curves:
        fig = study_curves(curves, out / "learned-methods-curves.png")
        lines += ["", f"![learning curves]({fig.name})"]
    return lines + [""]


BOARD_STORE = Path("results/hrbench.sqlite")


@dataclass(frozen=True)
class MissEvidence:
    """What the committed store says about why a board's target is missed (all computed, none asserted)."""

    board: str
    train_people: float  # training subjects per fold, before the held-out share is set aside
    gap: tuple[float, float] | None  # last-epoch training / held-out L1 (bpm), mean over the learning curves
    hard: list[tuple[str, int, float]]  # (scenario, recordings, MAE) where the net's MAE is >= 2x its overall MAE
    hard_share: float  # share of the net's absolute error that falls in those recordings
    fractions: list[tuple[float, float]]  # (share of the training clips, MAE) of the Fig. 6 runs, one seed
    test: Subjects | None = None  # the comparison with the baseline, and the board size it would need
    page: str = ""  # the board's file name without .md (default: synthetic-<board>)


@dataclass(frozen=True)
class Subjects:
    """The comparison with the baseline as measured, and how many subjects the same effect would need."""

    n: int  # subjects the board pairs
    mean_diff: float  # mean per-subject MAE difference, stmap_transfer - baseline (bpm)
    sd_diff: float  # its SD over subjects (bpm)
    comparisons: int  # the board's Holm family
    needed: int | None  # the fewest subjects with 80 % power at Holm's first step; None: more than SUBJECTS_MAX


#: The largest board size :func:`subjects_needed` tries.
SUBJECTS_MAX = 1000


def subjects_needed(mean_diff: float, sd_diff: float, comparisons: int) -> int | None:
    """Fewest subjects at which the board's own power rule detects ``mean_diff`` (80 % power, α = 0.05 / comparisons).

    The same rule as each board's power line (:func:`hrbench.boards.inference.detectable_difference`),
    solved for the subject count: per-subject differences normal with the
    measured mean and SD, the Holm family unchanged.  It projects the test
    side only -- what more *test* subjects from the same population would
    call -- not what more *training* subjects would change.
    """
    if not (np.isfinite(mean_diff) and np.isfinite(sd_diff)) or mean_diff == 0:
        return None
    alpha = ALPHA / comparisons
    for n in range(2, SUBJECTS_MAX + 1):
        if detectable_difference(n, sd_diff, alpha) <= abs(mean_diff):
            return n
    return None


def _curve_ends(row: Row) -> tuple[float, float] | None:
    """Last-epoch training and held-out L1 (bpm), mean over the row's learning curves; None without curves."""
    last = [(c["train_l1"][-1], c["heldout_l1"][-1]) for c in row.curves if "heldout_l1" in c]
    return (float(np.mean([a for a, _ in last])), float(np.mean([b for _, b in last]))) if last else None


def _train_people(vids: VideoSet) -> float:
    """Training people per fold (everyone not tested in it), mean over folds."""
    subjects = set(vids.subjects)
    return float(np.mean([len(subjects - {s for s, f in zip(vids.subjects, vids.folds, strict=True) if f == k})
                          for k in sorted(set(vids.folds))]))


def miss_evidence(board: Board, row: Row, results: Results) -> MissEvidence:
    """Compute :class:`MissEvidence` for ``row`` (stmap_transfer) on ``board``."""
    vids = row.videos
    gap = _curve_ends(row)
    err = np.nan_to_num(np.asarray(vids.abs_err, float), nan=0.0)  # a video without frames adds no error
    scen = np.array([str(m.get("scenario", "")) for m in vids.meta])
    hard = [(s, int((scen == s).sum()), float(err[scen == s].mean())) for s in sorted(set(scen))
            if s and err[scen == s].mean() >= 2 * err.mean()]
    in_hard = np.isin(scen, [s for s, _, _ in hard])
    seed = row.seeds[0] if row.seeds else 0
    fractions = [(1.0, float(np.nanmean(results.videos(row.run_key).abs_err)))] if row.run_key else []
    for run in board.fraction_runs:
        if (run["method"] == row.method and run["seed"] == seed and run["profile"] == row.profile
                and float(run["train_fraction"]) < 1.0):
            fractions.append((float(run["train_fraction"]), float(np.nanmean(results.videos(run["run_key"]).abs_err))))
    test = None
    cmp_ = board.tests.against_baseline(row.label) if board.tests is not None else None
    power = board_power(board.tests) if board.tests is not None else None
    if cmp_ is not None and power is not None:
        t = cmp_.test
        test = Subjects(t.n_subjects, t.mean_diff, t.sd_diff, power.n_comparisons,
                        subjects_needed(t.mean_diff, t.sd_diff, power.n_comparisons))
    label = board.protocol if board.dataset == "synthetic" else f"{board.protocol} ({board.dataset})"
    return MissEvidence(label, _train_people(vids), gap, hard,
                        float(err[in_hard].sum() / max(err.sum(), 1e-9)), sorted(fractions, reverse=True), test,
                        board.name)


def _evidence_text(ev: MissEvidence) -> str:
    parts = [f"On {ev.board}, {ev.train_people:.1f} training people per fold (before the held-out share)."]
    if ev.gap is not None:
        parts.append(f"The learning curves end at a training L1 of {ev.gap[0]:.2f} bpm against {ev.gap[1]:.2f} on "
                     "held-out subjects" + (": the net fits its training people better than new ones."
                                            if ev.gap[0] < ev.gap[1] else "."))
    if ev.hard:
        where = ", ".join(f"{s} ({n} recordings, MAE {m:.1f})" for s, n, m in ev.hard)
        parts.append(f"The scenarios where its MAE is at least twice its overall MAE -- {where} -- hold "
                     f"{100 * ev.hard_share:.0f} % of its absolute error "
                     f"([{ev.board} by scenario](../{ev.page or 'synthetic-' + ev.board}-by-scenario.md)).")
    if len(ev.fractions) > 1:
        steps = ", ".join(f"{f:g}: {m:.2f}" for f, m in ev.fractions)
        parts.append(f"Per-video MAE by share of the training clips (Fig. 6 runs, one seed) {steps} bpm.")
    if ev.test is not None:
        t = ev.test
        size = (f"a board of {t.needed} subjects would call it with 80 % power" if t.needed is not None
                else f"no board of up to {SUBJECTS_MAX} subjects would call it with 80 % power")
        parts.append(f"Against the baseline its per-subject MAE differs by {t.mean_diff:+.2f} bpm on average "
                     f"(SD {t.sd_diff:.2f} over {t.n} subjects); at that effect and spread, with the board's "
                     f"{t.comparisons} comparisons, {size} (the board's own power rule, solved for the subject "
                     "count; more training people would also change the effect, which this does not project).")
    return " ".join(parts)


def _pointers(people: MorePeople | None, larger_met: list[str] | None = None) -> str:
    """The closing "what would reach it", following the measured results: training people, the larger boards."""
    helped = people is not None and people.vs_board_net.p_value < ALPHA and people.vs_board_net.mean_diff < 0
    if larger_met:
        sizes = ("more test subjects: the boards of a larger preset built to the projected size meet the target "
                 f"({', '.join(larger_met)}; other people than `synthetic`'s, so their gain over the baseline is "
                 "their own draw's, not `synthetic`'s measured again)")
    else:
        sizes = ("more test subjects (the board sizes above; the `synthetic-large` preset has 40, but its 11 GB "
                 "did not fit this machine's free disk)")
    point = [sizes]
    if people is None:
        point.append("more training people per fold (not measured here)")
    elif helped:
        point.append("more training people (they lowered the error, above)")
    text = ("What these point to: " + ", ".join(point) + ", or the `paper` profile's full-size maps and net on a "
            "GPU (none was lent; not measured).")
    if people is not None and not helped:
        text += " Training on more people, as measured above, did not lower the error distinguishably."
    return text


def _verdict(met: dict[str, bool], evidence: dict[str, MissEvidence] | None = None,
             people: MorePeople | None = None) -> list[str]:
    """The closing sentences: which boards meet #19's headline target, and the measured evidence where one does not."""
    if not met:
        return []
    evidence = evidence or {}
    hit = [b for b, ok in met.items() if ok]
    miss = [b for b, ok in met.items() if not ok]
    lines = []
    if hit:
        lines.append(f"Met on {', '.join(hit)}: stmap_transfer beats the training-mean baseline at the subject level "
                     "after Holm, with r >= 0.7 over >= 3 seeds.")
    if miss:
        lines.append(f"Missed on {', '.join(miss)}.")
        found = [_evidence_text(evidence[b]) for b in miss if b in evidence]
        lines += found
        if found and people is not None:
            lines.append(more_people_text(people))
        if found:
            lines.append(_pointers(people, [b for b in hit if "(" in b]))
    return [" ".join(lines), ""]


@dataclass(frozen=True)
class MorePeople:
    """stmap_transfer trained on all of ``synthetic-dev`` against the whole_video board's net, on the same videos."""

    people: int  # training people of the cross-database run
    board_people: float  # training people per fold on the whole_video board
    maps: tuple[float, float]  # mean training maps per net: cross-database run, board
    mae: tuple[float, float]  # cross-database row, board row
    r: tuple[float, float]
    vs_board_net: SubjectTest  # cross-database net - board net
    vs_baseline: tuple[SubjectTest, SubjectTest]  # each net - the board's baseline predictions
    comparisons: int  # the whole_video board's Holm family
    own_baseline: tuple[float, float, float]  # the cross-database board's baseline: MAE, HRme; its p_holm for the net


def _mean_note(row: Row, key: str) -> float:
    vals = [float(v) for v in str(row.notes.get(key, "")).replace("|", ",").replace("[", "").replace("]", "")
            .split(",") if v.strip()]
    return float(np.mean(vals)) if vals else math.nan


def more_people(cross: Board, board: Board, people: int) -> MorePeople | None:
    """Compare the two stmap_transfer rows and test both against ``board``'s baseline, on the videos both scored."""
    (net_x, base_x), (net_b, base_b) = ((next((r for r in b.rows if r.method == "stmap_transfer" and r.run_key), None),
                                         next((r for r in b.rows if r.is_baseline), None)) for b in (cross, board))
    if None in (net_x, base_x, net_b, base_b) or board.tests is None or cross.tests is None:
        return None
    power = board_power(board.tests)
    own = cross.tests.against_baseline(net_x.label)
    if power is None or own is None:
        return None
    vs_net = subject_permutation_test(*paired_abs_errors(net_x, net_b))
    vs_base = tuple(subject_permutation_test(*paired_abs_errors(n, base_b)) for n in (net_x, net_b))
    maps = (_mean_note(net_x, "train_maps"), _mean_note(net_b, "train_maps"))
    return MorePeople(people, _train_people(net_b.videos), maps,
                      (net_x.metrics.mae, net_b.metrics.mae), (net_x.metrics.r, net_b.metrics.r), vs_net, vs_base,
                      power.n_comparisons, (base_x.metrics.mae, base_x.metrics.hr_me, own.p_holm))


def _reach(p_more: float, p_board: float, level: float) -> str:
    if p_more < level and p_board < level:
        return "both reach"
    if p_more < level:
        return "only the net trained on more people reaches"
    return "the board's net reaches and the other does not" if p_board < level else "neither reaches"


def more_people_text(mp: MorePeople) -> str:
    """What training on more people changed, in sentences computed from :class:`MorePeople`."""
    t, (tx, tb) = mp.vs_board_net, mp.vs_baseline
    same = "not distinguishable" if t.p_value >= ALPHA else ("better" if t.mean_diff < 0 else "worse")
    return (f"Trained on more people (stage `people`: `hrbench run --protocol cross_database_whole --train-on "
            f"synthetic-dev --dataset synthetic`, "
            f"[its board](../synthetic-cross_database_whole-from-synthetic-dev.md)): "
            f"all {mp.people} people of `synthetic-dev` instead of {mp.board_people:.1f} per fold, scored on the same "
            f"videos by the same whole-video rule. Maps per net are capped (`max_train_maps`), so the nets saw "
            f"{mp.maps[0]:.0f} maps against {mp.maps[1]:.0f}, drawn from more people. MAE {mp.mae[0]:.2f} "
            f"(r {mp.r[0]:.3f}) against the whole_video board's {mp.mae[1]:.2f} (r {mp.r[1]:.3f}): per subject "
            f"{t.mean_diff:+.2f} bpm, p = {t.p_value:.2g}, {same}. Against the whole_video board's own baseline "
            f"predictions the raw p is {tx.p_value:.2g} (per subject {tx.mean_diff:+.2f}, SD {tx.sd_diff:.2f}) "
            f"against {tb.p_value:.2g} for the board's net; Holm's first-step level on that board "
            f"({mp.comparisons} comparisons) is {ALPHA / mp.comparisons:.2g}, which "
            f"{_reach(tx.p_value, tb.p_value, ALPHA / mp.comparisons)}. "
            f"Its own board calls it "
            f"(p_holm {mp.own_baseline[2]:.2g}) because that board's baseline, the training mean of `synthetic-dev`, "
            f"is weaker (MAE {mp.own_baseline[0]:.2f}, HRme {mp.own_baseline[1]:+.2f}).")


#: The boards #19's target is checked on: the embedded board set, and the larger one where its runs exist.
TARGET_BOARDS = (("synthetic", "subject_exclusive"), ("synthetic", "whole_video"),
                 ("synthetic-46", "subject_exclusive"), ("synthetic-46", "whole_video"))


def _unsupervised_range(board: Board, registry: Any) -> str:
    """Best-worst MAE of the board's unsupervised rows where the board scores clips (as the zero-shot note does)."""
    if board.rule != "clips":
        return "–"
    maes = [r.metrics.mae for r in board.rows
            if not r.is_baseline and r.method in registry.methods and not registry.methods[r.method].supervised]
    return f"{min(maes):.1f}–{max(maes):.1f}" if maes else "–"


def target_boards(store: Store) -> list[tuple[str, Board]]:
    """The boards #19's targets are judged on, each built once, named as the study's tables name them."""
    return [(protocol if dataset == "synthetic" else f"{protocol} ({dataset})", board)
            for dataset, protocol in TARGET_BOARDS for board in build_boards(store, dataset, protocol)]


def board_section(store: Store, targets: list[tuple[str, Board]]) -> list[str]:
    """stmap_transfer on the committed boards against #19's targets, with its learning-curve gap."""
    lines = ["## On the committed boards (`synthetic`, and `synthetic-46` where built; the rebuilt store)", "",
             "Targets of issue #19: beat the training-mean baseline at the subject level (p_holm < 0.05, >= 3 seeds) "
             "with r >= 0.7, and a zero-shot MAE of the pretrained net below 10 bpm on the embedded face maps.", "",
             "*Unsupervised, same rule*: the MAE range of the board's unsupervised methods where the board scores "
             "clips, as the zero-shot MAE does (the same people's clips, read by methods that learn nothing from "
             "them: how hard the clips are); on whole-video boards they are scored otherwise (–).", "",
             "| Board | MAE (bpm) | r | vs baseline (p_holm) | baseline MAE | zero-shot MAE (mean of folds) | "
             "unsupervised, same rule (bpm) | last-epoch train / held-out L1 (bpm) | seeds |",
             "|---|---:|---:|---|---:|---:|---:|---|---:|"]
    registry = get_registry()
    met: dict[str, bool] = {}
    zero_shot: dict[str, tuple[float, str]] = {}
    evidence: dict[str, MissEvidence] = {}
    people: MorePeople | None = None
    for name, board in targets:
        row = next((r for r in board.rows if r.method == "stmap_transfer" and r.run_key), None)
        base = next((r for r in board.rows if r.is_baseline), None)
        if row is None or base is None or board.tests is None:
            continue
        cmp_ = board.tests.against_baseline(row.label)
        met[name] = bool(cmp_ is not None and cmp_.significant and cmp_.a_better
                             and row.metrics.r >= 0.7 and len(row.seeds) >= 3)
        if not met[name] and row.videos is not None:
            evidence[name] = miss_evidence(board, row, Results(store))
        verdict = "–" if cmp_ is None else (f"{'yes' if cmp_.significant and cmp_.a_better else 'no'} "
                                            f"({cmp_.p_holm:.2g})")
        zs = _mean_note(row, "zero_shot_mae_bpm")
        zero_shot[name] = (zs, _unsupervised_range(board, registry))
        ends = _curve_ends(row)
        gap = "–" if ends is None else f"{ends[0]:.2f} / {ends[1]:.2f}"
        lines.append(f"| {name} | {row.metrics.mae:.2f} | {row.metrics.r:.3f} | {verdict} | "
                     f"{base.metrics.mae:.2f} | {'–' if math.isnan(zs) else f'{zs:.1f}'} | "
                     f"{zero_shot[name][1]} | {gap} | {len(row.seeds) or 1} |")
    cross = [b for b in build_boards(store, "synthetic", "cross_database_whole") if b.train_dataset == "synthetic-dev"]
    whole = [b for name, b in targets if name == "whole_video"]
    if cross and whole:
        people = more_people(cross[0], whole[0], DEV.n_subjects)
    lines += ["", *_verdict(met, evidence, people), *_zero_shot_verdict(zero_shot)]
    return lines


def _zero_shot_verdict(zero_shot: dict[str, tuple[float, str]], target: float = 10.0) -> list[str]:
    """Where the pretrained net's zero-shot MAE is below #19's 10 bpm, and where not, beside the clips' difficulty."""
    known = {b: v for b, v in zero_shot.items() if not math.isnan(v[0])}
    if not known:
        return []
    below = [f"{b} ({zs:.1f})" for b, (zs, _) in known.items() if zs < target]
    above = [f"{b} ({zs:.1f} bpm; the board's unsupervised methods read the same clips at {rng} bpm)"
             if rng != "–" else f"{b} ({zs:.1f} bpm)" for b, (zs, rng) in known.items() if zs >= target]
    text = f"Zero-shot MAE below {target:g} bpm on " + (", ".join(below) if below else "no board") + "."
    if above:
        text += " Not on " + "; ".join(above) + "."
    return [text, ""]


@dataclass(frozen=True)
class TransferTest:
    """SynRhythm's question on one board: stage III (stmap_transfer) against stage I (stmap_scratch), per subject."""

    board: str
    mae: tuple[float, float]  # transfer, scratch (per-video MAE, mean over seeds)
    test: SubjectTest  # transfer - scratch
    p_holm: float = math.nan
    detectable: float = math.nan  # the smallest mean per-subject difference found with 80 % power at Holm's first step


def transfer_tests(pairs: list[tuple[str, Row, Row]]) -> list[TransferTest]:
    """One planned sign-flip test per board (transfer vs scratch), Holm over the boards: the seed paper's question.

    Why its own family: on a board the learned rows are compared with the
    board's best and its baseline, so whether pretraining helps is asked only
    where stmap_transfer happens to lead; here it is asked on every board,
    with the correction the number of boards needs.
    """
    raw = []
    for name, transfer, scratch in pairs:
        ea, eb, subjects = paired_abs_errors(transfer, scratch)
        raw.append(TransferTest(name, (transfer.metrics.mae, scratch.metrics.mae),
                                subject_permutation_test(ea, eb, subjects)))
    adjusted = holm([t.test.p_value for t in raw])
    level = ALPHA / max(len(raw), 1)
    return [TransferTest(t.board, t.mae, t.test, float(p),
                         detectable_difference(t.test.n_subjects, t.test.sd_diff, level)
                         if t.test.n_subjects > 2 and math.isfinite(t.test.sd_diff) else math.nan)
            for t, p in zip(raw, adjusted, strict=True)]


def transfer_text(tests: list[TransferTest]) -> list[str]:
    """The section's table and its verdict, every word from the tests."""
    if not tests:
        return []
    lines = ["## Does synthetic-rhythm pretraining help? (stage III against stage I, every board)", "",
             "SynRhythm's claim is that pretraining on synthetic rhythms (`stmap_transfer`) beats the same net "
             "trained from random initialisation on the face maps alone (`stmap_scratch`). Asked on each board "
             "below with the sign-flip permutation test on per-subject MAE (mean over seeds), Holm over the boards "
             "(the boards of one dataset share their people; Holm holds under any dependence). *Detectable*: the "
             "smallest mean per-subject difference the test finds with 80 % power at Holm's first step, at the "
             "spread measured.", "",
             "| Board | stmap_transfer MAE | stmap_scratch MAE | per subject, mean (SD) | subjects | p | p_holm | "
             "detectable (bpm) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for t in tests:
        lines.append(f"| {t.board} | {t.mae[0]:.2f} | {t.mae[1]:.2f} | {t.test.mean_diff:+.2f} ({t.test.sd_diff:.2f}) "
                     f"| {t.test.n_subjects} | {format_p(t.test.p_value)} | {format_p(t.p_holm)} | "
                     f"{t.detectable:.2f} |")
    better = [t.board for t in tests if t.p_holm < ALPHA and t.test.mean_diff < 0]
    worse = [t.board for t in tests if t.p_holm < ALPHA and t.test.mean_diff > 0]
    neither = [t.board for t in tests if not t.p_holm < ALPHA]
    said = []
    if better:
        said.append("Pretraining lowers the error on " + ", ".join(better) + ".")
    if worse:
        said.append("Pretraining raises the error on " + ", ".join(worse) + ".")
    if neither:
        said.append("Not distinguishable on " + ", ".join(neither) + ".")
    return [*lines, "", " ".join(said), ""]


def transfer_section(targets: list[tuple[str, Board]]) -> list[str]:
    pairs = []
    for name, board in targets:
        rows = {r.method: r for r in board.rows if r.run_key and r.profile == "default"}
        if {"stmap_transfer", "stmap_scratch"} <= set(rows):
            pairs.append((name, rows["stmap_transfer"], rows["stmap_scratch"]))
    return transfer_text(transfer_tests(pairs))


def committed_sections(store_path: Path) -> list[str]:
    """The sections computed from the committed boards' store (none when it is absent)."""
    if not store_path.exists():
        return []
    store = Store(store_path, readonly=True)
    try:
        targets = target_boards(store)
        return board_section(store, targets) + transfer_section(targets)
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="synthetic-dev")
    ap.add_argument("--data-root", type=Path, default=None)
    ap.add_argument("--store", type=Path, default=_store_path())
    ap.add_argument("--per-recording", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("leaderboards/studies"))
    ap.add_argument("--committed-only", action="store_true",
                    help="rewrite only the sections computed from the committed store (from the committed-boards "
                         "heading on) and keep the page's dev-store sections: after a board rebuild on a machine "
                         "without the dev store tune_defaults.py filled")
    args = ap.parse_args(argv)
    path = args.out / "learned-methods.md"
    if args.committed_only:
        return _rewrite_committed(path)
    if not args.store.exists():
        print(f"learned_study: error: {args.store}: no dev store (tune_defaults.py fills it); without it the "
              "recipe table would be empty -- use --committed-only to refresh the board sections", file=sys.stderr)
        return 2
    lines = ["<!-- Written by benchmarks/learned_study.py. Do not edit by hand. -->", "",
             "# Learned methods: why they predicted the training mean, and what changed", "",
             "Issue #19: on the committed boards every learned row but SVR sat at or below the training-mean "
             "baseline. Everything here is measured on `synthetic-dev`; the defaults it led to were chosen by the "
             "rule of [synthetic-dev-defaults.md](synthetic-dev-defaults.md) (lowest dev MAE, fixed before the runs).",
             ""]
    try:
        lines += map_section(args.dataset, args.data_root, args.out, args.per_recording)
        lines += rows_section(args.dataset, args.data_root, args.per_recording)
        lines += recipe_section(args.store, args.dataset, args.out)
        lines += committed_sections(BOARD_STORE)
    except HrbenchError as exc:
        print(f"learned_study: error: {exc}", file=sys.stderr)
        return 2
    path.write_text("\n".join(lines), encoding="utf-8")
    print(path)
    return 0


def _rewrite_committed(path: Path) -> int:
    """The page with its committed-store sections recomputed, the sections before them kept as they are."""
    heading = "\n## On the committed boards"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"learned_study: error: {path}: {exc.strerror}", file=sys.stderr)
        return 2
    if heading not in text:
        print(f"learned_study: error: {path}: no '{heading.strip()}' section to rewrite", file=sys.stderr)
        return 2
    try:
        committed = committed_sections(BOARD_STORE)
    except HrbenchError as exc:
        print(f"learned_study: error: {exc}", file=sys.stderr)
        return 2
    if not committed:  # the store is absent (a relative path: run from the repository's root)
        print(f"learned_study: error: {BOARD_STORE}: no committed store here; the page is left as it was",
              file=sys.stderr)
        return 2
    path.write_text(text[: text.index(heading) + 1] + "\n".join(committed), encoding="utf-8")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
