"""Spatial-temporal attention and HR-balancing augmentation (Niu et al., FG 2019): the ablation.

Four methods share one pipeline -- ``face_grid`` clips (aligned face, 5 x 5
blocks) -> face-grid maps of 25 rows x T frames (the poster's 6 channels,
RGB + YUV, or by default 3 chrominance channels;
:mod:`~hrbench_plugins.methods.deep.facemaps`) -> ResNet-18 reading HR (the
poster's L1 regression, or by default a distribution over 1-bpm bins after
synthetic-rhythm pretraining; :mod:`~hrbench_plugins.methods.deep.attention`)
-- and differ in
the poster's two components (its ablation table):

==========================  =====================  ========================
method                      attention (CBAM x 4)   resampling DA
==========================  =====================  ========================
``rhythm_resnet``           no                     no
``rhythm_attention``        yes                    no
``rhythm_da``               no                     yes
``rhythm_attention_da``     yes                    yes (the poster's model)
==========================  =====================  ========================

The attention variants also implement ``explain(clips, out_dir)``
(``hrbench explain --method rhythm_attention``): one PNG per clip with the
map and the spatial (ROI x time) attention of each stage overlaid on it.

Clips and budget -- the four variants are matched, so that the ablation
compares components, not training budgets.  Every variant sets
``train_clip_factor = 1.5``: the runner hands each ``fit`` the same training
clips of 1.5x the protocol length (450 frames for 300), and
:func:`~hrbench_plugins.methods.deep.selection.select_training` picks the
same clips from them for one seed.  Every epoch makes exactly **one map per
selected clip**: a ``T``-frame crop at a random offset, drawn from a
generator seeded by (run seed, epoch) that all four variants share, so they
crop every clip at the same offsets.  The DA variants
(:mod:`~hrbench_plugins.methods.deep.augment`) replace, per clip and epoch
with probability ``da_prob`` = 0.5, the crop by the clip's copy resampled in
time by a factor ``f`` in [0.67, 1.5] (label ``HR * f``), chosen to
flatten the HR histogram (the poster's draw, in both profiles).  The
poster *adds* the augmented videos to the training set; at 0.5 every epoch
is drawn, in expectation, from exactly that set (originals plus one copy
each, half and half) while keeping one map per clip -- the reasons are in
``deep/augment.py``.  So all four variants take the same epochs, maps per
epoch and optimiser steps; with ``da_prob=0`` a DA variant trains exactly as
its plain twin.  Each run notes ``train_maps`` (maps per epoch),
``train_steps`` (optimiser steps), ``train_l1_bpm`` (mean training L1 of the
last epoch) and, for DA, ``da_resampled_share`` (the share of maps that were
resampled copies, over all epochs).  ``predict`` receives normal protocol
clips and never resamples.  ``T`` is the protocol's clip length
(``RunContext.clip_len``); when a video is shorter than 1.5 clips the runner
caps the long clips by it, and the crop offsets and the augmentation's range
narrow accordingly (``run_notes["map_frames"]`` records the length used).

Initialisation: ImageNet ResNet-18 weights from torchvision's hub cache when
present (the poster's and RhythmNet's start), else random init with
``run_notes["init"] = "random"`` -- the SynRhythm methods' loader
(:func:`~hrbench_plugins.methods.deep.resnet.load_imagenet`) is reused; the
6-channel stem is inflated from the RGB filters.  Training and inference
reuse :mod:`~hrbench_plugins.methods.deep.train` (seeded, Adam + L1, lr
0.001) and :func:`~hrbench_plugins.methods.deep.selection.select_training`.

Profiles
--------
``paper``: 25 x 300 maps (no temporal pooling), full-width ResNet-18, every
training clip, 50 epochs, Adam lr 0.001 (RhythmNet's ResNet-18 training
settings as we read them; the poster gives none).  Meant for a GPU.  It keeps
the matched design of ``default``: all four variants take 50 epochs of one
map per clip from the same 1.5x clips, so a DA variant takes as many
optimiser steps as a plain one (RhythmNet's literal recipe, 50 epochs over
a training set doubled by the copies, would give DA twice the steps).

``default`` (CPU, 2 cores; from ``benchmarks/bench_rhythm.py``): frames
pooled by 2 (150 columns, 15 fps), a quarter-width ResNet-18 (``width`` 16),
at most 600 training clips per fold and 10 epochs, for every variant.  Same
reductions as the SynRhythm ``default`` profile, so the two families compare
at equal budget.

The default maps differ from the poster's in colour: each block's R, G, B
are projected as POS does (``colour = "pos"``, rows detrended at 0.5 Hz) so
the intensity changes common to the three channels cancel before scaling,
and a share of the training subjects is held out to measure the held-out
loss per epoch and keep the best epoch (``holdout`` 0.15).  Both were chosen
on ``synthetic-dev`` by the rule of ``benchmarks/tune_defaults.py`` (lowest
dev MAE, fixed before the runs).

Every variant first learns to read a pulse from synthetic rhythms
(``synth_epochs`` 12 x ``synth_maps`` 2000 fresh maps; RhythmNet pretrains
on synthetic rhythms too, the poster is silent): stage III's face-like
rhythms (:func:`~hrbench_plugins.methods.deep.synrhythm.face_like`) laid out
by the face-grid map code, so the synthetic and the face maps differ only in
what they show.  The checkpoint is cached per seed and topology
(:mod:`~hrbench_plugins.methods.deep.pretrain`): a DA variant starts from
its plain twin's weights, an attention variant from its own, so pretraining
is matched across the ablation as the fine-tuning is.  With pretraining the
nets read HR with stage III's distribution over 1-bpm bins (``head =
"bins"``).  Without pretraining neither the bins head
(``synthetic-dev-defaults-rhythm-head.md``) nor three times the epochs
helped: the nets learned the training people, not their pulse; pretraining
with the bins head did (``synthetic-dev-defaults-rhythm-pretrain.md``, both
in ``leaderboards/studies/``).  Pretraining steps are not counted in
``train_steps``; the run notes ``zero_shot_mae_bpm``, the pretrained net's
error on the held-out subjects' maps before fine-tuning.

The DA variants draw their resampling factors by the poster's HR-balancing
rule (``da_factors = "balance"``), which moves labels towards the empty bins,
mostly upwards.  On unshifted ``synthetic-dev`` clips the log-uniform draw
had won (``leaderboards/studies/synthetic-dev-defaults-rhythm-da.md``); study
12 judged the draw on heart rates the training set did not hold, what other
people's video brings, and the balancing draw won there
(``leaderboards/studies/synthetic-dev-hr-shift.md``).  The ``paper`` profile
keeps the poster's RGB+YUV maps, no detrending, L1 regression, no
pretraining and the last epoch.

Where the poster is silent the choices follow RhythmNet and are documented in
the module docstrings of ``deep/facemaps.py`` (map), ``deep/attention.py``
(attention) and ``deep/augment.py`` (DA).  Predictions are clipped to the
protocol's HR band.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hrbench.api import (
    Clips,
    ConfigError,
    HrbenchError,
    Method,
    Param,
    fill_missing_frames,
    hookimpl,
    training_clips,
    without_frames,
)

from .deep.augment import histogram_edges, label_histogram
from .deep.facemaps import COLOURS, channel_stats, face_maps, n_channels
from .deep.params import training_params
from .deep.stmap import SERIES_FILL
from .deep.synrhythm import face_like

if TYPE_CHECKING:
    from .deep.attention import AttentionResNet

# torch (deep.attention, deep.resnet, deep.train) is imported inside the methods
# that train, predict or explain: listing plugins must not pay for importing torch.

CITATION = (
    "X. Niu, X. Zhao, H. Han, A. Das, A. Dantcheva, S. Shan, X. Chen. Robust remote heart rate "
    "estimation from face utilizing spatial-temporal attention. FG 2019."
)

_COMMON: dict[str, Param] = {
    **training_params({
        "epochs": "training epochs, each of one map per selected training clip (paper profile: 50)",
        "lr": "RhythmNet: 0.001",
        "batch_size": "not stated in the paper",
        "detrend_hz": "as RhythmNet",
        "holdout": "",
        "head": "RhythmNet",
    }, head="bins"),
    "colour": Param("pos", "map channels: the POS chrominance channels (3; default), the poster's RGB+YUV (6), "
                           "RhythmNet's YUV (3) or RGB (3)", str, choices=tuple(COLOURS)),
    "synth_epochs": Param(12, "epochs of synthetic-rhythm pretraining before the face maps, on face-grid maps of "
                              "stage III's face-like rhythms (0 = none, the poster, which is silent on it; RhythmNet "
                              "pretrains)", int, low=0, high=10000),
    "synth_maps": Param(2000, "fresh synthetic maps per pretraining epoch", int, low=10),
}
_ATTENTION: dict[str, Param] = {
    "reduction": Param(16, "channel-attention bottleneck ratio (CBAM: 16)", int, choices=(2, 4, 8, 16, 32)),
}
_DA: dict[str, Param] = {
    "da_factor_min": Param(2 / 3, "smallest resampling factor (HR * f; 1/1.5)", float, low=0.4, high=1.0),
    "da_factor_max": Param(1.5, "largest resampling factor (at most train_clip_factor = 1.5)", float,
                           low=1.0, high=1.5),
    "da_low_bpm": Param(45.0, "lower end of the HR range the augmentation levels", float, low=1.0, high=400.0),
    "da_high_bpm": Param(150.0, "upper end of the HR range the augmentation levels", float, low=1.0, high=400.0),
    "da_bin_bpm": Param(10.0, "histogram bin width used to pick the factors", float, low=0.5, high=100.0),
    "da_factors": Param("balance", "how resampling factors are drawn: 'uniform' (log-uniform in da_factor_min-"
                                   "da_factor_max, the labels' centre stays put) or 'balance' (the poster: towards the "
                                   "emptiest bin of da_low_bpm-da_high_bpm)", str, choices=("balance", "uniform")),
    "da_prob": Param(0.5, "probability that a clip's map in an epoch is its resampled copy instead of its plain crop "
                          "(0.5: epochs drawn from the poster's originals + copies; 0: no augmentation)", float,
                    low=0.0, high=1.0),
}
_PAPER: dict[str, Any] = {"epochs": 50, "width": 64, "time_pool": 1, "max_train_maps": 0, "detrend_hz": 0.0,
                          "colour": "rgb+yuv", "holdout": 0.0, "head": "regression", "synth_epochs": 0}

#: The DA variants' paper profile: the poster's HR-balancing draw.
_PAPER_DA: dict[str, Any] = {**_PAPER, "da_factors": "balance"}

# ImageNet-missing messages already given in this process (one line per run, not per fold).
_SAID_MISSING: set[str] = set()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("_") or "clip"


def _imagenet(method: Method) -> Path | None:
    """The ImageNet ResNet-18 weights when present; else None, said once per process (random init)."""
    from .deep.resnet import imagenet_weights_path

    path = imagenet_weights_path()
    if path.is_file():
        return path
    if str(path) not in _SAID_MISSING:
        _SAID_MISSING.add(str(path))
        method.context.say(
            f"{method.name}: no ImageNet ResNet-18 weights at {path} (hrbench never downloads; "
            f"copy resnet18-f37072fd.pth from download.pytorch.org/models there); using random init"
        )
    return None


@contextmanager
def _counted_steps(model: Any) -> Iterator[list[int]]:
    """``[n]``: the optimiser steps taken on ``model`` inside the block.

    Real steps, counted by a hook, not a formula that could drift from the
    trainer's batching.
    """
    from torch.optim.optimizer import register_optimizer_step_post_hook

    first = next(model.parameters())
    steps = [0]

    def count(opt: Any, *_: Any) -> None:
        if opt.param_groups[0]["params"][0] is first:
            steps[0] += 1

    hook = register_optimizer_step_post_hook(count)
    try:
        yield steps
    finally:
        hook.remove()


def _clip_ids(train: Clips, idx: np.ndarray) -> list[str]:
    """Names of training clips: ``recording@start s``, or ``recording#index`` when starts are unknown."""
    if train.starts is None:
        return [f"{rid}#{i}" for rid, i in zip(train.recording_ids, idx, strict=True)]
    return [f"{rid}@{float(st):.3f}" for rid, st in zip(train.recording_ids, train.starts, strict=True)]


def _da_notes(plans: list[Any], labels: np.ndarray, edges: np.ndarray) -> dict[str, Any]:
    """Run notes of the HR-balancing augmentation: how much was resampled, and the first epoch's histogram."""
    return {
        "da_resampled_share": round(float(np.mean([p.resampled for p in plans])), 3),
        "da_hist_edges_bpm": [round(float(e), 2) for e in edges],
        "da_hist_epoch0": {"before": label_histogram(labels, edges).tolist(),
                           "after": label_histogram(plans[0].labels(labels), edges).tolist()},
    }


def _da_edges(method: Any, band: tuple[float, float]) -> np.ndarray:
    """The 10-bpm histogram edges of a DA variant's range, clipped to the protocol's HR band."""
    lo = max(method.da_low_bpm, band[0])
    hi = min(method.da_high_bpm, band[1])
    if lo >= hi:
        raise ConfigError(
            f"method {method.name}: DA range {method.da_low_bpm}-{method.da_high_bpm} bpm lies outside the HR band "
            f"{band}"
        )
    return histogram_edges((lo, hi), method.da_bin_bpm)


def _pretrain(method: Any, model: AttentionResNet, clips: Clips, frames: int,
              band: tuple[float, float]) -> dict[str, str]:
    """Synthetic-rhythm pretraining of ``model`` on face-grid maps (cached per seed and topology); its run notes.

    The DA variants share their plain twins' checkpoints (augmentation does
    not touch pretraining); the attention variants have their own.
    """
    from .deep.pretrain import MapGeometry, PretrainConfig, synthetic_pretrain

    geometry = MapGeometry(clips.n_rois, frames, clips.fps, method.time_pool, method.detrend_hz, method.colour,
                           maker="face_grid")
    config = PretrainConfig(maps_per_epoch=method.synth_maps, epochs=method.synth_epochs,
                            batch_size=method.batch_size, lr=method.lr, settings=face_like(band, method.colour))
    path, trained = synthetic_pretrain(model, init=model.init, geometry=geometry, config=config,
                                       context=method.context, label=f"{method.name}: synthetic rhythm pretraining")
    return {"synthetic_pretrain": "trained" if trained else "cached", "synthetic_checkpoint": path.name}


def _zero_shot_mae(model: AttentionResNet, maps: np.ndarray, truth: np.ndarray, device: str) -> float:
    """The pretrained net's MAE (bpm) on ``maps`` before fine-tuning."""
    from .deep.train import predict_maps

    return round(float(np.mean(np.abs(predict_maps(model, maps, device=device) - truth))), 3)


class _RhythmResNet(Method):
    """Shared pipeline of the four ablation variants."""

    citation = CITATION
    roi_scheme = "face_grid"
    supervised = True
    params: ClassVar[dict[str, Param]] = _COMMON
    profiles: ClassVar[dict[str, dict[str, Any]]] = {"paper": _PAPER}
    use_attention: ClassVar[bool] = False
    use_da: ClassVar[bool] = False
    # Every variant, not only DA, trains on the same 1.5x clips: a matched ablation.
    train_clip_factor: ClassVar[float] = 1.5

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.use_da:
            if self.da_low_bpm >= self.da_high_bpm:
                raise ConfigError(
                    f"method {self.name}: da_low_bpm={self.da_low_bpm} must be below da_high_bpm={self.da_high_bpm}"
                )
            if self.da_bin_bpm > self.da_high_bpm - self.da_low_bpm:
                raise ConfigError(f"method {self.name}: da_bin_bpm={self.da_bin_bpm} is wider than the DA range")
            if self.da_factor_max > self.train_clip_factor + 1e-9:
                raise ConfigError(
                    f"method {self.name}: da_factor_max={self.da_factor_max} exceeds the training clips' "
                    f"length factor {self.train_clip_factor}"
                )
        self._model: AttentionResNet | None = None
        self._frames: int | None = None
        #: Mean training L1 (bpm) of each epoch of the last fit.
        self.train_losses_: list[float] = []
        #: The last fit's selected training clips ("recording@start s") and each epoch's plan of maps over them.
        self.train_clip_ids_: list[str] = []
        self.epoch_plans_: list[Any] = []  # deep.augment.EpochPlan (not imported at module level)

    # -- model -------------------------------------------------------------
    def _new_model(self, band: tuple[float, float]) -> AttentionResNet:
        from .deep.attention import AttentionResNet

        mean, std = channel_stats(self.colour)
        model = AttentionResNet(
            self.width, band, in_channels=n_channels(self.colour), channel_mean=mean, channel_std=std,
            attention=self.use_attention, reduction=self._params.get("reduction", 16), imagenet=_imagenet(self),
            head=self.head, readout=self.readout,
        )
        self.run_notes["init"] = model.init
        return model

    # -- data --------------------------------------------------------------
    def _map_frames(self, clips: Clips) -> int:
        """Frames of one training map before pooling: the protocol's clip length."""
        if self.train_clip_factor == 1.0:
            return clips.clip_len
        # The runner tells the protocol's clip length (what predict() gets);
        # long training clips are capped by short videos, hence the min().
        return max(8, min(clips.clip_len, self.context.clip_len))

    def _maps(self, traces: np.ndarray, fps: float) -> np.ndarray:
        return face_maps(traces, self.colour, self.time_pool, fps=fps, highpass_hz=self.detrend_hz)

    def _epoch_data(
        self, traces: np.ndarray, labels: np.ndarray, frames: int, edges: np.ndarray | None, fps: float
    ) -> Any:
        """``data(epoch) -> (maps, labels)`` for the trainer: one map per clip, the plain crop or (DA) its resampled
        copy.

        The crop offsets come from their own generator, seeded by (seed,
        epoch) alone, so all four variants crop alike; the augmentation draws
        from another.  Each epoch's plan is kept in ``epoch_plans_`` -- the
        record the matched-budget tests and the run notes read.
        """
        from .deep.augment import epoch_maps

        self.epoch_plans_ = []
        # The histogram edges always describe a DA run (notes); the factors aim at them only for the balancing draw.
        balance_edges = edges if edges is not None and self.da_factors == "balance" else None

        def data(epoch: int) -> tuple[np.ndarray, np.ndarray]:
            maps, out_labels, plan = epoch_maps(
                traces, labels, frames, lambda windows: self._maps(windows, fps), seed=self.context.seed, epoch=epoch,
                edges=balance_edges, augment=edges is not None,
                **({} if edges is None else {"factor_range": (self.da_factor_min, self.da_factor_max),
                                             "p_resample": self.da_prob}),
            )
            self.epoch_plans_.append(plan)
            return maps, out_labels

        return data

    # -- Method API --------------------------------------------------------
    def fit(self, clips: Clips) -> _RhythmResNet:
        from .deep.curves import fit_with_curve, heldout_split
        from .deep.train import seeded

        train, idx = training_clips(self, clips, self.max_train_maps)
        fit_part, held = heldout_split(train.subjects, self.holdout, self.context.seed)
        heldout = None
        if len(held):  # plain crops of the held-out subjects' clips, the length the net is trained on
            frames = self._map_frames(train)
            heldout = (self._maps(fill_missing_frames(np.asarray(train.traces[held][:, :, :frames], dtype=np.float32),
                                                       **SERIES_FILL)[0], clips.fps),
                       np.asarray(train.hr[held], dtype=np.float32))
            train, idx = train.subset(fit_part), idx[fit_part]
        labels = np.asarray(train.hr, dtype=np.float64)
        band = tuple(float(b) for b in clips.hr_settings.band_bpm)
        frames = self._map_frames(train)
        traces = fill_missing_frames(np.asarray(train.traces, dtype=np.float32), **SERIES_FILL)[0]
        edges = _da_edges(self, band) if self.use_da else None
        data = self._epoch_data(traces, labels, frames, edges, clips.fps)
        self.train_clip_ids_ = _clip_ids(train, idx)
        with seeded(self.context.seed, self.context.device):
            model = self._new_model(band)
            if self.synth_epochs > 0:
                self.run_notes.update(_pretrain(self, model, clips, frames, band))
                # How well the synthetic rhythms alone taught the net to read a face map: on the held-out
                # subjects' maps when there are some, else on the first window of every training clip.
                maps, truth = heldout or (self._maps(traces[:, :, :frames], clips.fps), labels)
                self.run_notes["zero_shot_mae_bpm"] = _zero_shot_mae(model, maps, truth, self.context.device)
            with _counted_steps(model) as steps:
                advance = self.context.progress(f"{self.name}: training on {len(train)} maps/epoch", self.epochs)
                losses = fit_with_curve(self, model, data, heldout=heldout, advance=advance)
        self.run_notes["train_maps"] = len(train)
        self.run_notes["train_steps"] = steps[0]
        self.run_notes["map_frames"] = frames
        self.run_notes["train_l1_bpm"] = round(losses[-1], 3)
        if edges is not None:
            self.run_notes.update(_da_notes(self.epoch_plans_, labels, edges))
        self._model, self._frames, self.train_losses_ = model, frames, losses
        return self

    def _check_fitted(self) -> AttentionResNet:
        if self._model is None:
            raise HrbenchError(f"method {self.name}: predict called before fit")
        return self._model

    def predict(self, clips: Clips) -> np.ndarray:
        from .deep.train import predict_maps

        model = self._check_fitted()
        if clips.clip_len != self._frames:
            self.run_notes["test_map_frames"] = clips.clip_len
        out = np.empty(len(clips))
        for a in range(0, len(clips), 512):
            maps = self._maps(clips.traces[a : a + 512], clips.fps)
            out[a : a + 512] = predict_maps(model, maps, device=self.context.device)
        lo, hi = clips.hr_settings.band_bpm
        return np.where(without_frames(clips.traces), np.nan, np.clip(out, lo, hi))


class _Explains:
    """``explain()`` for the attention variants: spatial attention overlaid on the map, as PNGs."""

    explains: ClassVar[bool] = True

    def explain(self, clips: Clips, out_dir: Path) -> list[Path]:
        """Save one PNG per clip: the map, then each stage's ROI x time attention over it."""
        import torch
        from matplotlib.figure import Figure  # Agg via savefig; no pyplot global state

        model = self._check_fitted()  # type: ignore[attr-defined]
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        maps = self._maps(clips.traces, clips.fps)  # type: ignore[attr-defined]
        device = self.context.device  # type: ignore[attr-defined]
        model.to(device).eval()
        with torch.inference_mode():
            x = torch.from_numpy(maps.astype(np.float32)).to(device)
            hr, spatial = model(x, return_attention=True)
            rows, cols = maps.shape[2], maps.shape[3]
            att = [
                torch.nn.functional.interpolate(s, size=(rows, cols), mode="bilinear", align_corners=False)[:, 0]
                .cpu().numpy()
                for s in spatial
            ]
        hr = np.clip(hr.cpu().numpy(), *clips.hr_settings.band_bpm)
        seconds = cols * self.time_pool / clips.fps  # type: ignore[attr-defined]
        extent = (0.0, seconds, rows - 0.5, -0.5)
        channels = COLOURS[self.colour]  # type: ignore[attr-defined]
        paths: list[Path] = []
        for i in range(len(clips)):
            m = maps[i].astype(np.float32) / 255.0
            if "R" in channels:
                rgb = np.stack([m[channels.index(c)] for c in ("R", "G", "B")], -1)
            else:
                rgb = np.stack([m[0]] * 3, -1)
            grey = m.mean(axis=0)
            fig = Figure(figsize=(8.0, 1.6 * (1 + len(att))), dpi=100, layout="constrained")
            axes = fig.subplots(1 + len(att), 1, sharex=True)
            ref = "" if clips.hr is None else f", reference {float(clips.hr[i]):.1f} bpm"
            axes[0].imshow(rgb, aspect="auto", extent=extent, interpolation="nearest")
            start = 0 if clips.starts is None else float(clips.starts[i])
            axes[0].set_title(f"{clips.recording_ids[i]} @ {start:.1f} s: predicted {hr[i]:.1f} bpm{ref}", fontsize=9)
            axes[0].set_ylabel("ROI\n(R,G,B)", fontsize=8)
            for k, a in enumerate(att):
                ax = axes[k + 1]
                ax.imshow(grey, aspect="auto", extent=extent, cmap="gray", interpolation="nearest")
                im = ax.imshow(a[i], aspect="auto", extent=extent, cmap="jet", alpha=0.5, vmin=0.0, vmax=1.0,
                               interpolation="bilinear")
                ax.set_ylabel(f"ROI\nstage {k + 1}", fontsize=8)
                fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01)
            axes[-1].set_xlabel("time in clip (s)")
            path = out_dir / f"{self.name}_{i:02d}_{_safe(clips.recording_ids[i])}.png"  # type: ignore[attr-defined]
            fig.savefig(path, metadata={"Software": None})
            paths.append(path)
        return paths


class RhythmResNet(_RhythmResNet):
    name = "rhythm_resnet"
    description = "Niu et al. FG 2019 ablation: ResNet-18 on face-grid RGB+YUV maps, no attention, no DA"


class RhythmAttention(_Explains, _RhythmResNet):
    name = "rhythm_attention"
    description = "Niu et al. FG 2019 ablation: ResNet-18 + spatial-temporal (CBAM) attention, no DA"
    use_attention = True
    params: ClassVar[dict[str, Param]] = {**_COMMON, **_ATTENTION}


class RhythmDA(_RhythmResNet):
    name = "rhythm_da"
    description = "Niu et al. FG 2019 ablation: ResNet-18 with time-resampling augmentation, no attention"
    use_da = True
    params: ClassVar[dict[str, Param]] = {**_COMMON, **_DA}
    profiles: ClassVar[dict[str, dict[str, Any]]] = {"paper": _PAPER_DA}


class RhythmAttentionDA(_Explains, _RhythmResNet):
    name = "rhythm_attention_da"
    description = "Niu et al. FG 2019: ResNet-18 + spatial-temporal attention + time-resampling augmentation"
    use_attention = True
    use_da = True
    params: ClassVar[dict[str, Param]] = {**_COMMON, **_ATTENTION, **_DA}
    profiles: ClassVar[dict[str, dict[str, Any]]] = {"paper": _PAPER_DA}


@hookimpl
def register_methods(register) -> None:  # noqa: ANN001 - pluggy passes a callable
    for cls in (RhythmResNet, RhythmAttention, RhythmDA, RhythmAttentionDA):
        register(cls)
