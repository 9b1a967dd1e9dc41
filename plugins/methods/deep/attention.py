"""Spatial-temporal attention ResNet-18 (Niu et al., FG 2019) for face-grid maps.

The poster adds an "attention mechanism" to the ResNet-18 regressor so that
the network can down-weight polluted parts of a map (a block hidden by hair, a
few seconds of head motion).  Its figure shows attention over the map's
channels and over its ROI x time plane; the full text is not available, so we
read it as CBAM (Woo et al., ECCV 2018), the standard pairing of exactly those
two attentions:

* :class:`ChannelAttention` -- ``sigmoid(MLP(avgpool(x)) + MLP(maxpool(x)))``,
  one weight in [0, 1] per feature channel, the MLP shared by both pooled
  descriptors with a bottleneck of ``channels / reduction`` (reduction 16 as
  in CBAM, but at least 4 units so that narrow CPU models keep a usable
  bottleneck).
* :class:`SpatialAttention` -- ``sigmoid(BN(conv7x7([mean_c(x), max_c(x)])))``,
  one weight in [0, 1] per position of the feature map, i.e. per (ROI row,
  time) cell: the "spatial-temporal" attention of the poster.
* :class:`CBAM` applies them in sequence (channel, then spatial) and returns
  the spatial weights as well, for :meth:`AttentionResNet.forward` to expose.

Placement: one CBAM module after each of the four residual stages of
ResNet-18 (not inside every basic block, as CBAM's own ResNet does) -- the
poster draws attention between stages, and four modules add < 1 % FLOPs.
Trained end to end with the regressor (L1 loss), no extra supervision.

The same class with ``attention=False`` is the plain ResNet-18 of the
``rhythm_resnet`` baseline, so the ablation differs in nothing else.

Backbone and head come from :class:`.resnet.HRRegressor` (same topology,
width scaling, zero-initialised head predicting the band centre, ImageNet
loading through :func:`.resnet.load_imagenet`).  The map has 6 channels
(RGB + YUV) where ImageNet filters take 3: the first convolution gets the
ImageNet RGB filters tiled over each group of three channels and scaled by
``3 / channels`` -- the response to an input that is equal in every group is
then exactly the ImageNet response (the usual way to inflate a pretrained
stem to more input channels).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .resnet import HRHeadMixin, HRRegressor, load_imagenet


class ChannelAttention(nn.Module):
    """CBAM channel attention: a weight in [0, 1] per channel, shape ``(B, C, 1, 1)``."""

    def __init__(self, channels: int, reduction: int = 16, min_hidden: int = 4) -> None:
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"channels and reduction must be positive, got {channels}, {reduction}")
        hidden = max(channels // reduction, min(min_hidden, channels))
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = x.mean(dim=(2, 3), keepdim=True)
        mx = x.amax(dim=(2, 3), keepdim=True)
        return torch.sigmoid(self.mlp(avg) + self.mlp(mx))


class SpatialAttention(nn.Module):
    """CBAM spatial attention: a weight in [0, 1] per (row, column), shape ``(B, 1, H, W)``."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.bn(self.conv(pooled)))


class CBAM(nn.Module):
    """Channel then spatial attention; returns the re-weighted features and the spatial weights."""

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x * self.channel(x)
        s = self.spatial(x)
        return x * s, s


class AttentionResNet(HRHeadMixin, nn.Module):
    """ResNet-18 (optionally with CBAM after each stage) mapping ``(B, C, rows, frames)`` in 0..255 to bpm."""

    def __init__(
        self,
        width: int = 64,
        band_bpm: tuple[float, float] = (42.0, 240.0),
        *,
        in_channels: int = 6,
        channel_mean: tuple[float, ...] | None = None,
        channel_std: tuple[float, ...] | None = None,
        attention: bool = True,
        reduction: int = 16,
        imagenet: Path | None = None,
        head: str = "regression",
        readout: str = "mean",
    ) -> None:
        """``imagenet``: ResNet-18 ImageNet weights to start from (None = random init)."""
        super().__init__()
        if in_channels < 1:
            raise ValueError(f"in_channels must be positive, got {in_channels}")
        base = HRRegressor(width, band_bpm)
        self.init = "random" if imagenet is None else load_imagenet(base, imagenet)
        self.width = width
        self.in_channels = in_channels
        self.reduction = reduction
        self.backbone = base.backbone
        self.backbone.conv1 = self._inflate(base.backbone.conv1, in_channels, pretrained=imagenet is not None)
        self._setup_head(self.backbone, band_bpm, head, readout)
        mean = channel_mean or (0.45,) * in_channels
        std = channel_std or (0.225,) * in_channels
        if len(mean) != in_channels or len(std) != in_channels:
            raise ValueError(f"channel_mean/std need {in_channels} values")
        self.register_buffer("mean", 255.0 * torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", 255.0 * torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        widths = (width, 2 * width, 4 * width, 8 * width)
        self.attention = nn.ModuleList([CBAM(c, reduction) for c in widths]) if attention else None

    @staticmethod
    def _inflate(conv: nn.Conv2d, in_channels: int, *, pretrained: bool) -> nn.Conv2d:
        if in_channels == conv.in_channels:
            return conv
        new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=False)
        with torch.no_grad():
            if pretrained:
                idx = torch.arange(in_channels) % conv.in_channels
                new.weight.copy_(conv.weight[:, idx] * (conv.in_channels / in_channels))
            else:
                nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")
        return new

    @property
    def has_attention(self) -> bool:
        return self.attention is not None

    @property
    def arch(self) -> str:
        """Names the topology in pretrained-checkpoint keys: plain and attention nets never share a checkpoint."""
        cbam = f"-cbam{self.reduction}" if self.has_attention else ""
        return f"resnet18-in{self.in_channels}{cbam}"

    def raw(self, maps: torch.Tensor, spatial: list[torch.Tensor] | None = None) -> torch.Tensor:
        """The ``fc`` output (one number, or one score per bin); the stages' spatial attention goes to ``spatial``."""
        b = self.backbone
        x = (maps.float() - self.mean) / self.std
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        for i, layer in enumerate((b.layer1, b.layer2, b.layer3, b.layer4)):
            x = layer(x)
            if self.attention is not None:
                x, s = self.attention[i](x)
                if spatial is not None:
                    spatial.append(s)
        return b.fc(torch.flatten(b.avgpool(x), 1))

    def forward(self, maps: torch.Tensor, return_attention: bool = False):  # noqa: ANN201 - tensor or tuple
        spatial: list[torch.Tensor] = []
        hr = self.to_bpm(self.raw(maps, spatial))
        return (hr, spatial) if return_attention else hr
