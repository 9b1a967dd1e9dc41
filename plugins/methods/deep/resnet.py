"""ResNet-18 heart-rate regressor and offline ImageNet initialisation.

SynRhythm (IV-A) regresses HR with a ResNet-18 whose classifier is replaced by
one output.  :class:`HRRegressor` wraps ``torchvision.models.resnet18`` so
that a checkpoint carries everything needed to turn a map into bpm:

* input: a map in the paper's 0..255 units, divided by 255 and normalised with
  the ImageNet mean/std per channel (what ImageNet weights expect);
* output (``head="regression"``, the paper's): ``centre + half_width *
  fc(features)`` with the centre and half width of the HR band, so a freshly
  initialised head predicts the band centre and the L1 loss is in bpm from
  the first step.
* output (``head="bins"``): ``fc`` scores one bin per bpm of the band, the
  prediction is the softmax-weighted mean of the bin centres, and training
  minimises the cross-entropy against a Gaussian label distribution
  (sigma 3 bpm) around the reference -- reading HR as *which frequency*
  rather than regressing a number.  ``readout="peak"`` takes the
  softmax-weighted mean of the bins within 3 sigma of the most probable bin
  instead of all of them.  Why: an L1 regressor that cannot yet
  read the pulse is pulled to the median label, and its gradient says
  nothing about which frequency was right; the distribution target rewards
  mass near the right frequency from the first step (measured in
  ``leaderboards/studies/learned-methods.md``).  Why a peak readout: the
  mean of the whole distribution is pulled towards the band's centre by
  whatever mass lies away from the answer -- a second mode at a harmonic or
  at a noise peak, or a flat floor when the map is noisy -- so an uncertain
  net reads high on a band that reaches 240 bpm; the peak's neighbourhood
  answers with the mode the net ranks first.  Training is the same either
  way (the cross-entropy does not read the prediction).

``width`` scales every layer (64 = the real ResNet-18; 32 = half width, ~4x
fewer FLOPs) for CPU budgets; the topology (4 stages x 2 basic blocks) is
unchanged.

ImageNet weights are never downloaded.  :func:`imagenet_weights_path` is the
file torchvision would have cached (``ResNet18_Weights.IMAGENET1K_V1`` under
``torch.hub.get_dir()/checkpoints``); when it exists it is loaded with
``torch.load(weights_only=True)``.  For ``width < 64`` each tensor is sliced to
its first channels (conv filters, their input channels, batch-norm
statistics), which keeps the residual streams consistent because every block
of a stage keeps the same leading channels.  That is an ImageNet-*derived*
initialisation, not the paper's, and is reported as ``init = imagenet-sliced``.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torchvision.models import ResNet18_Weights, resnet18
from torchvision.models.resnet import BasicBlock

from hrbench.api import HrbenchError

from .heads import HEADS, READOUTS
from .stmap import IMAGENET_MEAN, IMAGENET_STD


def imagenet_weights_path() -> Path:
    """Where torchvision caches ResNet-18 ImageNet weights (never downloaded here)."""
    filename = ResNet18_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


#: Width (bpm) of the Gaussian label distribution the ``bins`` head is trained against.
LABEL_SIGMA_BPM = 3.0
#: ``readout="peak"`` averages the bins this close (bpm) to the most probable one: the label distribution's 3 sigma.
PEAK_HALF_WIDTH_BPM = 3.0 * LABEL_SIGMA_BPM


def bin_centres(band_bpm: tuple[float, float]) -> torch.Tensor:
    """Centres of the ``bins`` head: every whole bpm of the band, ends included."""
    lo, hi = band_bpm
    return torch.arange(math.ceil(lo), math.floor(hi) + 1, dtype=torch.float32)


def soft_label_loss(logits: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the bin scores against a Gaussian around each label (sigma :data:`LABEL_SIGMA_BPM`)."""
    target = torch.softmax(-0.5 * ((centres[None] - labels[:, None]) / LABEL_SIGMA_BPM) ** 2, dim=-1)
    return -(target * torch.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


class HRHeadMixin:
    """Turns the backbone's ``fc`` output into bpm and a training loss, for either head."""

    head: str
    readout: str
    width: int
    centre: torch.Tensor
    half_width: torch.Tensor
    centres: torch.Tensor

    def _setup_head(self, backbone: nn.Module, band_bpm: tuple[float, float], head: str, readout: str = "mean") -> None:
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        self.head = head
        # Not a buffer: the readout changes no weight, so checkpoints (and their keys) are shared across readouts.
        self.readout = readout
        lo, hi = band_bpm
        self.register_buffer("centre", torch.tensor(0.5 * (lo + hi)))  # type: ignore[attr-defined]
        self.register_buffer("half_width", torch.tensor(0.5 * (hi - lo)))  # type: ignore[attr-defined]
        if head == "bins":
            centres = bin_centres(band_bpm)
            backbone.fc = nn.Linear(backbone.fc.in_features, len(centres))
            nn.init.zeros_(backbone.fc.weight)
            nn.init.zeros_(backbone.fc.bias)
            self.register_buffer("centres", centres)  # type: ignore[attr-defined]

    def to_bpm(self, out: torch.Tensor) -> torch.Tensor:
        """The ``fc`` output of a batch -> HR in bpm."""
        if self.head == "bins":
            prob = torch.softmax(out, dim=-1)
            if self.readout == "peak":
                peak = self.centres[prob.argmax(dim=-1)]
                prob = prob * ((self.centres[None] - peak[:, None]).abs() <= PEAK_HALF_WIDTH_BPM)
                return (prob @ self.centres) / prob.sum(dim=-1)
            return prob @ self.centres
        return self.centre + self.half_width * out.squeeze(-1)

    def training_loss(self, out: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss to minimise, prediction in bpm)`` for a batch's ``fc`` output."""
        hr = self.to_bpm(out)
        if self.head == "bins":
            return soft_label_loss(out, labels, self.centres), hr
        return nn.functional.l1_loss(hr, labels), hr


def _resnet18(width: int) -> nn.Module:
    model = resnet18(weights=None)
    if width != 64:
        model.inplanes = width
        model.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        model.bn1 = nn.BatchNorm2d(width)
        model.layer1 = model._make_layer(BasicBlock, width, 2)
        model.layer2 = model._make_layer(BasicBlock, 2 * width, 2, stride=2)
        model.layer3 = model._make_layer(BasicBlock, 4 * width, 2, stride=2)
        model.layer4 = model._make_layer(BasicBlock, 8 * width, 2, stride=2)
        for m in model.modules():  # torchvision's own initialisation, re-applied
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
    model.fc = nn.Linear(8 * width, 1)
    nn.init.zeros_(model.fc.weight)
    nn.init.zeros_(model.fc.bias)
    return model


#: The backbone's stages in input order: the stem, then the four residual stages.
STAGES: tuple[tuple[str, ...], ...] = (("conv1", "bn1"), ("layer1",), ("layer2",), ("layer3",), ("layer4",))


def freeze_stages(backbone: nn.Module, n: int) -> None:
    """Keep the weights of the backbone's first ``n`` stages (:data:`STAGES`) fixed from now on.

    Why: a pretrained net fine-tuned on a handful of people can rewrite its
    early filters to recognise them; fixed early stages keep what the
    synthetic rhythms taught them, and the later stages and the head adapt.
    Batch-norm statistics of the fixed stages still follow the new data.
    """
    if not 0 <= n <= len(STAGES):
        raise ValueError(f"n must be in 0..{len(STAGES)}, got {n}")
    for names in STAGES[:n]:
        for name in names:
            for param in getattr(backbone, name).parameters():
                param.requires_grad_(False)


class HRRegressor(HRHeadMixin, nn.Module):
    """ResNet-18 mapping a ``(B, 3, rows, frames)`` map in 0..255 to HR in bpm."""

    def __init__(
        self, width: int = 64, band_bpm: tuple[float, float] = (42.0, 240.0), head: str = "regression",
        readout: str = "mean",
    ) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be positive, got {width}")
        self.width = width
        self.backbone = _resnet18(width)
        self._setup_head(self.backbone, band_bpm, head, readout)
        self.register_buffer("mean", 255.0 * torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", 255.0 * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def raw(self, maps: torch.Tensor) -> torch.Tensor:
        """The backbone's ``fc`` output (one number, or one score per bin)."""
        return self.backbone((maps.float() - self.mean) / self.std)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.to_bpm(self.raw(maps))


def load_imagenet(model: HRRegressor, path: Path) -> str:
    """Load ImageNet ResNet-18 weights (all but ``fc``) into ``model.backbone``.

    Returns ``"imagenet"`` at width 64 and ``"imagenet-sliced"`` for narrower
    models.  A file that cannot be read is a one-line :class:`HrbenchError`.
    """
    try:
        src = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file: the user must replace it
        raise HrbenchError(f"cannot read ResNet-18 ImageNet weights ({exc.__class__.__name__}: {exc})", path) from None
    target = model.backbone.state_dict()
    loaded = {}
    for key, dst in target.items():
        if key.startswith("fc."):
            continue
        if key not in src:
            raise HrbenchError(f"not ResNet-18 ImageNet weights: no tensor {key!r}", path)
        t = src[key]
        if t.ndim != dst.ndim or any(s < d for s, d in zip(t.shape, dst.shape, strict=True)):
            raise HrbenchError(f"tensor {key!r} has shape {tuple(t.shape)}, expected {tuple(dst.shape)}", path)
        loaded[key] = t[tuple(slice(0, d) for d in dst.shape)].clone() if t.ndim else t.clone()
    model.backbone.load_state_dict(loaded, strict=False)
    return "imagenet" if model.width == 64 else "imagenet-sliced"
