"""SynRhythm (Niu et al., ICPR 2018): ResNet-18 on spatial-temporal maps, three training stages.

Three methods share one pipeline -- ``cheek_grid`` clips -> spatial-temporal
maps (:mod:`hrbench_plugins.methods.deep.stmap`) -> ResNet-18 regressing HR
with L1 loss, Adam, lr 0.001 -- and differ only in where training starts
(Table III of the paper):

* ``stmap_scratch``  -- stage I: random initialisation, then the face clips;
* ``stmap_imagenet`` -- stage II: ImageNet initialisation, then the face clips;
* ``stmap_transfer`` -- stage III: ImageNet initialisation, then synthetic-rhythm
  pretraining (:mod:`~hrbench_plugins.methods.deep.synrhythm`, cached by
  :mod:`~hrbench_plugins.methods.deep.pretrain`), then the face clips.

ImageNet weights are read from torchvision's hub cache and never downloaded.
When the file is missing, stage II is *not run* (it raises
:class:`~hrbench.errors.PrerequisiteMissing`, and the board lists it as not
run with the reason): without its ImageNet start it would be stage I again,
published twice.  Stage III says so once, continues from random
initialisation before its synthetic pretraining and records
``run_notes["init"] = "random"``.  Narrower models
(``width < 64``) get channel-sliced ImageNet weights (``init =
"imagenet-sliced"``; see :mod:`~hrbench_plugins.methods.deep.resnet`).

Profiles
--------
``paper``: the paper's settings -- 200 block rows x 300 frames, full-width
ResNet-18, every training clip, 30 epochs; a large synthetic set.  Hours on a
CPU; meant for a GPU.

``default`` (CPU, 2 cores): the 10 x 20 cheek blocks pooled 5 x 4 -> 10 rows
(chosen on ``synthetic-dev`` among 25, 10, 4 and 1 rows and a wider net:
``leaderboards/studies/synthetic-dev-defaults-geometry.md``; a row then
averages enough pixels of a small face to carry its pulse, while the net still
sees where on the cheeks it is), frames pooled 2 -> 150 columns (15 fps,
Nyquist 7.5 Hz, well above the 4 Hz band edge), a quarter-width ResNet-18
(``width`` 16; speeds from ``benchmarks/bench_stmap.py``), at most 600
training maps per fold (spread over the
training videos) for at most 10 epochs, and synthetic pretraining on 12 x 2000
fresh maps.  Map rows are detrended (``detrend_hz`` 0.5: a high-pass below the
0.7 Hz band edge, before the min-max scaling; see
:mod:`~hrbench_plugins.methods.deep.stmap`), synthetic and face maps alike.

Six departures from the paper's recipe make the nets learn heart rate
instead of the training mean; each was chosen on ``synthetic-dev`` by the
rule of ``benchmarks/tune_defaults.py`` (lowest dev MAE, fixed before the
runs), and the diagnosis that led to them is
``leaderboards/studies/learned-methods.md``:

* **chrominance maps** (``colour = "pos"``): each row's R, G, B are divided by
  their mean and projected as POS does, so the intensity changes common to
  the three channels -- most of a face block's variation -- cancel before the
  min-max scaling that would otherwise give them a different gain per channel;
* **synthetic rhythms that look like face maps**: the heart terms follow
  skin's pulse colour and the noise is mostly common to R, G and B, as
  measured on face-map rows (``synth_noise`` 4, ``synth_noise_common`` 0.8,
  ``synth_gain_min`` 0.5), then go through the same chrominance projection;
* **a distribution head** (``head = "bins"``, :mod:`~hrbench_plugins.methods.deep.resnet`):
  one score per bpm, trained against a Gaussian around the reference;
* **held-out subjects** (``holdout`` 0.15): a share of the training subjects
  measures the held-out loss after every epoch (the learning curve stored with
  the run) and the best epoch is kept;
* **face clips resampled in time** (``da_prob`` 1.0, ``da_factors`` uniform):
  training clips are 1.5x the protocol's length, and every epoch each map is
  a window resampled by a log-uniform factor in [2/3, 1.5] with the label
  scaled alike, so each person is seen at many heart rates and the net
  cannot key its answer on who it sees.  FG 2019's HR-balancing draw
  (``da_factors = "balance"``) moves labels towards the empty bins, mostly
  upwards, and shifted dev predictions up by 3.3 bpm; the log-uniform draw
  keeps the labels' centre (``leaderboards/studies/synthetic-dev-defaults-training.md``).
  The share was 0.5 until study 12 judged it on heart rates the training set
  did not hold (``leaderboards/studies/synthetic-dev-hr-shift.md``);
* **an ensemble** (``members`` 3): three nets per fold, each with its own
  seed -- its own held-out subjects, resampling draws and synthetic
  pretraining -- and the prediction is their mean in bpm.  Between training
  seeds a board's MAE can move as much as the recipe changes above did (the
  boards print the spread over seeds); that seed-dependent part of the error
  averages out
  (``leaderboards/studies/synthetic-dev-defaults-ensemble.md``).  The run's
  notes and learning curve are the first net's; the zero-shot error is the
  pretrained ensemble's.

Tried on ``synthetic-dev`` and not adopted (the rule kept the default each
time; the studies are ``leaderboards/studies/synthetic-dev-defaults-*.md``):
fresh synthetic rhythms mixed into every fine-tuning epoch (``synth_mix``,
``-mix``), whose labels spread over the whole HR band and pulled the
predictions upwards; a smaller fine-tuning rate than pretraining's (``lr``
with ``synth_lr`` 0.001, ``-finetune-lr``), which leaves the bins head near
its band-wide pretrained prior; and the first pretrained stages kept fixed
(``freeze``, ``-freeze``).  The parameters stay for users whose own videos
sit far from the embedded faces.

The ``paper`` profile keeps the paper's raw RGB maps, the plain formula, L1
regression, no resampling, the last epoch and one net.

Why detrend: on face maps a row's min-max range is set by slow drift
(illumination, motion), not by the pulse, while the synthetic rhythm maps of
stage III show the pulse plainly -- raw maps make the two kinds of map look
different to the network, which is what the transfer needs them not to be.
The value is chosen on ``synthetic-dev``, a separately seeded copy of the
embedded set that no board reports (``benchmarks/tune_defaults.py``; the
comparison is in ``leaderboards/studies/synthetic-dev-defaults.md``).  The
``paper`` profile keeps the paper's raw maps.  Speeds are printed by
``benchmarks/bench_stmap.py``; on cores shared with other busy processes
give torch one thread (``--threads 1``).

Training-set size: ``max_train_maps`` caps the clips used per fold (0 = all),
picked round-robin over the training videos with the run seed, so every
video stays represented.  The paper's Fig. 6 (training with 1/2 and 1/4 of
the clips) is the runner's ``--train-fraction``: the runner keeps that share
of every method's training clips (also round-robin over videos) and the cap
shrinks by the same factor, so the reduction holds even where the cap is
below the training set's size (e.g. 6,400 clips of ``synthetic-large``).

Predictions are clipped to the protocol's HR band, the range every spectral
method searches as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hrbench.api import (
    Clips,
    ConfigError,
    HrbenchError,
    Method,
    Param,
    PrerequisiteMissing,
    hookimpl,
    training_clips,
    without_frames,
)

from .deep.curves import fit_with_curve, heldout_split
from .deep.ensemble import fit_members
from .deep.params import training_params
from .deep.stmap import COLOURS, MapSpec, maps_from_series, maps_from_traces, pooled_series
from .deep.synrhythm import (
    FACE_GAIN_MIN,
    FACE_NOISE_COMMON,
    FACE_NOISE_MAX,
    SynRhythmSettings,
    face_like,
    with_rhythms,
)

if TYPE_CHECKING:
    from .deep.resnet import HRRegressor
    from .deep.train import EpochData

# torch/torchvision (deep.pretrain, deep.resnet, deep.train) are imported inside the
# methods that train or predict: listing plugins (`hrbench plugins`) must not pay
# for importing torch.

CITATION = (
    "X. Niu, H. Han, S. Shan, X. Chen. Synrhythm: Learning a deep heart rate estimator "
    "from general to specific. ICPR 2018."
)

_COMMON: dict[str, Param] = {
    # The shared training parameters (deep/params.py); a default of stmap's own goes in as a keyword.
    **training_params({
        "epochs": "fine-tuning epochs on the face clips (paper: at most 30)",
        "lr": "paper: 0.001",
        "batch_size": "paper: not stated",
        "detrend_hz": "the paper",
        "holdout": ", as the paper",
        "head": "the paper",
    }, head="bins"),
    "pool_h": Param(5, "average this many neighbouring cheek-block rows (of 10) into one map row group", int,
                    choices=(1, 2, 5, 10)),
    "pool_w": Param(4, "average this many neighbouring cheek-block columns (of 20)", int, choices=(1, 2, 4, 5, 10, 20)),
    "colour": Param("pos", "map channels: 'rgb' (the paper: R, G, B scaled apart) or 'pos' (chrominance: POS pulse, "
                           "S1, S2 of every row; cancels intensity changes common to R, G, B)", str, choices=COLOURS),
    "members": Param(3, "nets trained per fold, each with its own seed (held-out subjects, draws, pretraining); "
                        "predictions are their mean (1 = one net, the paper)", int, low=1, high=16),
    "da_prob": Param(1.0, "probability that a training map is its clip resampled in time to another HR, label "
                          "scaled alike (factors 2/3-1.5; 0 = off, the paper)", float, low=0.0, high=1.0),
    "da_factors": Param("uniform", "how resampling factors are drawn: 'uniform' (log-uniform, the labels' centre "
                                   "stays put) or 'balance' (FG 2019: towards the emptiest 10-bpm bin of 45-150 bpm)",
                        str, choices=("balance", "uniform")),
}
_SYNTH: dict[str, Param] = {
    "synth_maps": Param(2000, "fresh synthetic maps per pretraining epoch", int, low=10),
    "synth_epochs": Param(12, "synthetic pretraining epochs", int, low=1, high=10000),
    "synth_noise": Param(FACE_NOISE_MAX, "maximum Gaussian noise sigma of the synthetic rhythms (per map U[0, max]; "
                              "the paper's reading: 0.5)", float, low=0.0, high=10.0),
    "synth_step_p": Param(0.5, "Bernoulli probability of each of the two steps P1, P2", float, low=0.0, high=1.0),
    "synth_noise_common": Param(FACE_NOISE_COMMON, "share of the synthetic noise variance common to R, G, B of a "
                                                   "row (the paper: 0)", float, low=0.0, high=1.0),
    "synth_gain_min": Param(FACE_GAIN_MIN, "per-channel pulse gains ~ U[synth_gain_min, 1] (1 = equal in R, G, B, "
                                           "the paper)", float, low=0.0, high=1.0),
    "synth_lr": Param(1e-3, "Adam learning rate of the synthetic pretraining (paper: 0.001); `lr` is the "
                            "fine-tuning's", float, low=1e-6, high=1.0),
    "freeze": Param(0, "stages of the pretrained backbone kept fixed while fine-tuning on the face maps (0 = none, "
                       "the paper; 1 = the stem; 2 = the stem and the first residual stage; ... 5 = all, only the "
                       "head learns)", int, low=0, high=5),
    "synth_mix": Param(0.0, "fresh synthetic maps mixed into every fine-tuning epoch, as a share of the face maps "
                            "(0 = face maps only, the paper); the training L1 then covers both", float,
                       low=0.0, high=4.0),
}
_PAPER: dict[str, Any] = {
    "epochs": 30, "width": 64, "pool_h": 1, "pool_w": 1, "time_pool": 1, "max_train_maps": 0, "detrend_hz": 0.0,
    "colour": "rgb", "holdout": 0.0, "head": "regression", "da_prob": 0.0, "members": 1,
}
#: HR-balancing augmentation (``da_prob``): the FG 2019 variants' default range and bins (deep/augment.py).
DA_TARGET_BPM, DA_BIN_BPM = (45.0, 150.0), 10.0
_PAPER_SYNTH: dict[str, Any] = {"synth_maps": 20000, "synth_epochs": 30, "synth_noise": 0.5, "synth_noise_common": 0.0,
                                 "synth_gain_min": 1.0, "synth_mix": 0.0}

# ImageNet-missing messages already given in this process (one line per run, not per fold).
_SAID_MISSING: set[str] = set()


def start_weights(method: Any, model: HRRegressor) -> str:
    """Load the stage's initial weights into ``model``; returns the ``init`` note ("random" without ImageNet)."""
    from .deep.resnet import imagenet_weights_path, load_imagenet

    if not method.imagenet_init:
        return "random"
    path = imagenet_weights_path()
    if path.is_file():
        return load_imagenet(model, path)
    if method.imagenet_required:
        raise PrerequisiteMissing(
            f"{method.name} needs ImageNet ResNet-18 weights at {path} (hrbench never downloads; copy "
            f"resnet18-f37072fd.pth from download.pytorch.org/models there); without them it is stmap_scratch"
        )
    if str(path) not in _SAID_MISSING:
        _SAID_MISSING.add(str(path))
        method.context.say(
            f"{method.name}: no ImageNet ResNet-18 weights at {path} (hrbench never downloads; "
            f"copy resnet18-f37072fd.pth from download.pytorch.org/models there); using random init"
        )
    return "random"


def _synth_settings(method: Any, band_bpm: tuple[float, float]) -> SynRhythmSettings:
    """Stage III's synthetic rhythms (pretraining's, and those ``synth_mix`` adds to fine-tuning) from its params."""
    return face_like(band_bpm, method.colour, step_p=method.synth_step_p, noise_max=method.synth_noise,
                     noise_common=method.synth_noise_common, pulse_gain_min=method.synth_gain_min)


class _StmapResNet(Method):
    """Shared pipeline of the three SynRhythm stages."""

    citation = CITATION
    roi_scheme = "cheek_grid"
    supervised = True
    params: ClassVar[dict[str, Param]] = _COMMON
    profiles: ClassVar[dict[str, dict[str, Any]]] = {"paper": _PAPER}
    imagenet_init: ClassVar[bool] = False
    #: Without ImageNet weights this stage is another stage: refuse to run.
    imagenet_required: ClassVar[bool] = False
    synthetic_init: ClassVar[bool] = False
    #: Training clips 1.5x the protocol length: room for the resampled windows of ``da_prob``.
    train_clip_factor: ClassVar[float] = 1.5

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            self.spec = MapSpec(self.pool_h, self.pool_w, self.time_pool, self.detrend_hz, self.colour)
        except HrbenchError as exc:
            raise ConfigError(f"method {self.name}: {exc.message}") from None
        self._models: list[HRRegressor] = []

    def _initial_model(self, clips: Clips) -> HRRegressor:
        from .deep.pretrain import MapGeometry, PretrainConfig, synthetic_pretrain
        from .deep.resnet import HRRegressor

        model = HRRegressor(self.width, clips.hr_settings.band_bpm, head=self.head, readout=self.readout)
        init = start_weights(self, model)
        self.run_notes["init"] = init
        if self.synthetic_init:
            # The maps' length is the protocol's clip length, not that of the longer training clips.
            geometry = MapGeometry(self.spec.n_rows(clips.n_rois), self._map_frames(clips), clips.fps, self.time_pool,
                                   self.detrend_hz, self.colour)
            config = PretrainConfig(
                maps_per_epoch=self.synth_maps,
                epochs=self.synth_epochs,
                batch_size=self.batch_size,
                lr=self.synth_lr,
                settings=_synth_settings(self, clips.hr_settings.band_bpm),
            )
            path, trained = synthetic_pretrain(
                model, init=init, geometry=geometry, config=config, context=self.context,
                label=f"{self.name}: synthetic rhythm pretraining",
            )
            self.run_notes["synthetic_pretrain"] = "trained" if trained else "cached"
            self.run_notes["synthetic_checkpoint"] = path.name
        return model

    # -- Method API ------------------------------------------------------
    def _map_frames(self, clips: Clips) -> int:
        """Frames of one map: the protocol's clip length (long training clips are cut to it)."""
        return max(8, min(clips.clip_len, self.context.clip_len))

    def _training_data(self, train: Clips, fps: float) -> tuple[np.ndarray, EpochData]:
        """Pooled series of the training clips (protocol length) and ``data(epoch)`` for the trainer.

        Training clips are ``train_clip_factor`` times the protocol's length;
        every epoch takes one protocol-length window of each, its plain crop or
        (``da_prob``) a resampled copy with the label scaled alike, so the net
        sees each person's face at several heart rates and cannot key its
        answer on the person.  The first protocol-length window of each clip
        is what the zero-shot error is measured on.
        """
        from .deep.augment import epoch_maps, histogram_edges

        frames = self._map_frames(train)
        series = pooled_series(train.traces, self.spec)
        labels = np.asarray(train.hr, dtype=np.float32)
        band = train.hr_settings.band_bpm
        lo, hi = max(DA_TARGET_BPM[0], band[0]), min(DA_TARGET_BPM[1], band[1])
        if self.da_factors == "balance" and self.da_prob > 0 and lo >= hi:
            raise ConfigError(f"method {self.name}: the HR band {band} leaves nothing of the balancing range "
                              f"{DA_TARGET_BPM} bpm; use da_factors=uniform")
        edges = histogram_edges((lo, hi), DA_BIN_BPM) if self.da_factors == "balance" else None

        def data(epoch: int) -> tuple[np.ndarray, np.ndarray]:
            maps, out, _ = epoch_maps(series, labels, frames, lambda w: maps_from_series(w, self.spec, fps=fps),
                                      seed=self.context.seed, epoch=epoch, edges=edges, p_resample=self.da_prob,
                                      augment=self.da_prob > 0)
            return maps, out

        if self.synthetic_init:
            data = with_rhythms(data, self.synth_mix, _synth_settings(self, train.hr_settings.band_bpm),
                                n_frames=frames, fps=fps, spec=self.spec, seed=self.context.seed)
        return series[:, :, :frames], data

    def fit(self, clips: Clips) -> _StmapResNet:
        """Train ``members`` nets, each with its own seed (own held-out subjects, draws and pretraining).

        The run's notes (learning curve, best epoch) are the first member's;
        the zero-shot error is the pretrained members' mean prediction's.
        """
        train, _ = training_clips(self, clips, self.max_train_maps)
        fitted = fit_members(self, self.members, lambda m: self._fit_member(train, clips, m))
        self._models = [model for model, _ in fitted]
        if self.synthetic_init:  # the pretrained ensemble's error: its members' mean, as predict() reads them
            before = np.mean([z for _, z in fitted], axis=0)
            self.run_notes["zero_shot_mae_bpm"] = round(float(np.mean(np.abs(before - np.asarray(train.hr)))), 3)
        return self

    def _fit_member(self, train: Clips, clips: Clips, member: int) -> tuple[HRRegressor, np.ndarray | None]:
        """One net: held-out split, initial weights (pretraining for stage III), fine-tuning; notes as it goes.

        Also returns stage III's predictions before fine-tuning on the first
        window of every training clip (in ``train``'s order), None otherwise.
        """
        from .deep.train import predict_maps, seeded

        fit_part, held = heldout_split(train.subjects, self.holdout, self.context.seed)
        first_windows, data = self._training_data(train.subset(fit_part), clips.fps)
        heldout = None
        if len(held):
            held_clips = train.subset(held)
            frames = self._map_frames(held_clips)
            heldout = (maps_from_traces(held_clips.traces[:, :, :frames], self.spec, fps=clips.fps),
                       np.asarray(held_clips.hr, dtype=np.float32))
        zero_shot = None
        with seeded(self.context.seed, self.context.device):
            model = self._initial_model(clips)
            if self.synthetic_init:  # how well the synthetic rhythms alone taught the net to read a face map
                plain = maps_from_series(first_windows, self.spec, fps=clips.fps)
                face = plain if heldout is None else np.concatenate([plain, heldout[0]])
                zero_shot = np.empty(len(train))
                zero_shot[np.concatenate([fit_part, held])] = predict_maps(model, face, device=self.context.device)
            if self.synthetic_init and self.freeze:
                from .deep.resnet import freeze_stages

                freeze_stages(model.backbone, self.freeze)
            which = f" (net {member + 1} of {self.members})" if self.members > 1 else ""
            advance = self.context.progress(f"{self.name}: training on {len(fit_part)} maps{which}", self.epochs)
            losses = fit_with_curve(self, model, data, heldout=heldout, advance=advance)
        self.run_notes["train_maps"] = len(fit_part)
        self.run_notes["train_l1_bpm"] = round(losses[-1], 3)
        return model, zero_shot

    def predict(self, clips: Clips) -> np.ndarray:
        from .deep.train import predict_maps

        if not self._models:
            raise HrbenchError(f"method {self.name}: predict called before fit")
        out = np.empty(len(clips))
        step = 512
        for a in range(0, len(clips), step):
            maps = maps_from_traces(clips.traces[a : a + step], self.spec, fps=clips.fps)
            # The members' mean in bpm: their errors differ where their draws did, and averaging cancels that part.
            out[a : a + step] = np.mean([predict_maps(m, maps, device=self.context.device) for m in self._models],
                                        axis=0)
        lo, hi = clips.hr_settings.band_bpm
        return np.where(without_frames(clips.traces), np.nan, np.clip(out, lo, hi))


class StmapScratch(_StmapResNet):
    name = "stmap_scratch"
    description = "SynRhythm stage I: ResNet-18 on cheek spatial-temporal maps, random init"


class StmapImagenet(_StmapResNet):
    name = "stmap_imagenet"
    description = "SynRhythm stage II: ResNet-18 on cheek spatial-temporal maps, ImageNet init"
    imagenet_init = True
    imagenet_required = True


class StmapTransfer(_StmapResNet):
    name = "stmap_transfer"
    description = "SynRhythm stage III: ImageNet init, synthetic-rhythm pretraining, then face maps"
    imagenet_init = True
    synthetic_init = True
    params: ClassVar[dict[str, Param]] = {**_COMMON, **_SYNTH}
    profiles: ClassVar[dict[str, dict[str, Any]]] = {"paper": {**_PAPER, **_PAPER_SYNTH}}


@hookimpl
def register_methods(register) -> None:  # noqa: ANN001 - pluggy passes a callable
    for cls in (StmapScratch, StmapImagenet, StmapTransfer):
        register(cls)
