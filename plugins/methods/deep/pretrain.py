"""Synthetic-rhythm pretraining (SynRhythm stage III, second step; the FG 2019 variants' start), cached on disk.

Pretraining does not depend on the face data, so it runs once and is reused
by every fold and every later run: the checkpoint lives under
``<cache_dir>/checkpoints/synrhythm-<key>.pt`` where ``key`` is a
:func:`hrbench.fsutil.stable_hash` of everything that changes its weights --
generator settings, map geometry (rows, frames, fps, temporal pooling, the
map code: SynRhythm's cheek maps or the FG 2019 face-grid maps), model
(topology, width, HR band, starting weights: ImageNet or random), training
settings, seed and :data:`CODE_VERSION`.  It is written atomically, so concurrent folds
at worst train it twice and one identical file wins; it is read with
``torch.load(weights_only=True)``.

The checkpoint's metadata carries its key and a SHA-256 of the weights.  A
file that does not load (truncated, random bytes), whose weights do not
match that checksum, whose key is another configuration's, or that does not
fit the model, is reported in one line and trained again: the cache must
never make a run fail or, worse, silently start from the wrong weights.
Checkpoints from before the checksum count as stale.

Each pretraining epoch draws ``maps_per_epoch`` *fresh* maps from a generator
seeded by (seed, epoch): the synthetic database of the paper is effectively
``maps_per_epoch * epochs`` maps, each seen once, which generalises better per
step than revisiting a fixed set and costs nothing to store.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hrbench.api import HrbenchError, RunContext, notice, stable_hash

from .resnet import LABEL_SIGMA_BPM, HRHeadMixin
from .synrhythm import SynRhythmSettings, face_grid_rhythm_maps, rhythm_maps
from .train import load_checkpoint, save_checkpoint, seeded, train_regressor

#: Bump when the generator, map code or training loop changes the weights.
CODE_VERSION = "1"  # keys of checkpoints whose recipe did not change stay valid


@dataclass(frozen=True)
class PretrainConfig:
    maps_per_epoch: int
    epochs: int
    batch_size: int = 32
    lr: float = 1e-3
    settings: SynRhythmSettings = field(default_factory=SynRhythmSettings)


#: Which map code lays out the synthetic maps: the SynRhythm cheek maps or the FG 2019 face-grid maps.
MAP_MAKERS = {"stmap": rhythm_maps, "face_grid": face_grid_rhythm_maps}


@dataclass(frozen=True)
class MapGeometry:
    """Size and time base of the maps: rows, raw clip frames, fps, temporal pooling, and the map code."""

    n_rows: int
    clip_len: int
    fps: float
    time_pool: int
    highpass_hz: float = 0.0
    colour: str = "rgb"
    maker: str = "stmap"

    def __post_init__(self) -> None:
        if self.maker not in MAP_MAKERS:
            raise ValueError(f"unknown map maker {self.maker!r}; choose one of {sorted(MAP_MAKERS)}")


def checkpoint_key(
    model: HRHeadMixin, init: str, geometry: MapGeometry, config: PretrainConfig, seed: int
) -> dict[str, Any]:
    """Everything that changes the pretrained weights.

    Fields added after checkpoints were cached (the map maker, the model's
    ``arch``) enter the key only when they differ from the first design, so
    the SynRhythm checkpoints keep their keys.
    """
    band = [float(model.centre - model.half_width), float(model.centre + model.half_width)]
    loss = "l1" if model.head == "regression" else f"bins-sigma{LABEL_SIGMA_BPM:g}"
    return {
        "code": CODE_VERSION,
        "generator": config.settings.key(),
        "map": {"rows": geometry.n_rows, "clip_len": geometry.clip_len, "fps": round(float(geometry.fps), 6),
                "time_pool": geometry.time_pool, "highpass_hz": geometry.highpass_hz,
                **({"colour": geometry.colour} if geometry.colour != "rgb" else {}),
                **({"maker": geometry.maker} if geometry.maker != "stmap" else {})},
        "model": {"arch": getattr(model, "arch", "resnet18"), "width": model.width, "band": band, "init": init},
        "train": {"maps_per_epoch": config.maps_per_epoch, "epochs": config.epochs, "batch_size": config.batch_size,
                  "lr": config.lr, "loss": loss, "optim": "adam"},
        "seed": int(seed),
    }


def checkpoint_path(cache_dir: Path, key: dict[str, Any]) -> Path:
    return Path(cache_dir) / "checkpoints" / f"synrhythm-{stable_hash(key)}.pt"


def state_checksum(state: dict[str, Any]) -> str:
    """SHA-256 of a state dict (names, dtypes, shapes, values), independent of the file format."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"|{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())  # raw bytes: any dtype, bf16 included
    return h.hexdigest()


def load_cached(path: Path, model: HRHeadMixin, key: dict[str, Any]) -> str | None:
    """Load a cached checkpoint into ``model``; None on success, else why it cannot be used.

    ``model`` is left untouched unless the checkpoint is accepted.
    """
    try:
        state, meta = load_checkpoint(path)
    except HrbenchError:
        return "unreadable (truncated or not a checkpoint)"
    if not isinstance(meta, dict) or "state_sha256" not in meta:
        return "written by an older hrbench (no checksum)"
    if meta.get("key") != key:
        return "computed for another configuration"
    try:
        if state_checksum(state) != meta["state_sha256"]:
            return "checksum mismatch (damaged file)"
    except (RuntimeError, TypeError, AttributeError, ValueError):
        return "damaged weights"
    # load_state_dict copies what fits before it raises: keep the starting weights to restore.
    backup = {k: v.detach().clone() for k, v in model.state_dict().items()}
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, ValueError) as exc:
        model.load_state_dict(backup)
        return f"does not fit the model ({type(exc).__name__})"
    return None


def synthetic_pretrain(
    model: HRHeadMixin,
    *,
    init: str,
    geometry: MapGeometry,
    config: PretrainConfig,
    context: RunContext,
    label: str = "synthetic rhythm pretraining",
) -> tuple[Path, bool]:
    """Bring ``model`` to its synthetic-pretrained state: from the cache, or train and cache it.

    Returns the checkpoint path and whether it was trained now (False = reused).
    """
    key = checkpoint_key(model, init, geometry, config, context.seed)
    path = checkpoint_path(context.cache_dir, key)
    if path.exists():
        why = load_cached(path, model, key)
        if why is None:
            return path, False
        notice(f"{path}: pretrained checkpoint {why}; training it again")

    context.say(
        f"{label}: {config.epochs} epochs x {config.maps_per_epoch} maps "
        f"({geometry.n_rows}x{geometry.clip_len // geometry.time_pool}); cached afterwards at {path}"
    )

    def data(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([context.seed, epoch, 0x5EED])
        return MAP_MAKERS[geometry.maker](
            config.maps_per_epoch, geometry.n_rows, geometry.clip_len, geometry.fps, rng,
            config.settings, time_pool=geometry.time_pool, highpass_hz=geometry.highpass_hz, colour=geometry.colour,
        )

    advance = context.progress(label, config.epochs)
    start = time.perf_counter()
    with seeded(context.seed + 7919, context.device):
        losses = train_regressor(
            model, data, epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
            seed=context.seed + 7919, device=context.device, advance=advance,
        )
    seconds = time.perf_counter() - start
    state_sha = state_checksum(model.state_dict())
    save_checkpoint(path, model, {"key": key, "state_sha256": state_sha, "epoch_l1_bpm": losses, "seconds": seconds})
    context.say(f"{label}: done in {seconds:.0f} s, last-epoch L1 {losses[-1]:.1f} bpm")
    return path, True
