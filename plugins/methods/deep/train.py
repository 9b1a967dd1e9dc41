"""Seeded training and inference loops for map regressors, plus checkpoint I/O.

* **Reproducible**: everything random inside :func:`seeded` -- weight
  initialisation, the per-epoch shuffling (a ``torch.Generator`` seeded from
  the run seed and the epoch) -- derives from the run seed, and
  ``torch.use_deterministic_algorithms`` is on (``warn_only`` so that a CUDA
  kernel without a deterministic variant warns instead of failing).  The
  global RNG and determinism flags are restored afterwards, so a method never
  changes the state its host sees.  On CPU two runs with one seed give
  bit-identical weights.
* **Memory format**: channels-last speeds up CPU inference (measured in
  ``benchmarks/bench_stmap.py``) but not training, where it is no faster at
  width 16-32 and much slower, with erratic first steps, for tiny models.
* **Manual batching** over in-memory numpy maps instead of a DataLoader:
  the maps are small, already built, and worker processes would only compete
  for the two cores.
* **Optimiser**: Adam, learning rate 0.001 and L1 loss (SynRhythm IV-A) for
  the regression head; a model with the ``bins`` head
  (:mod:`.resnet`) minimises its own label-distribution loss, and the
  losses returned (and drawn as learning curves) are L1 in bpm either way;
  constant learning rate, as the paper names no schedule (``schedule="cosine"``
  decays it per epoch to lr/20; on short fits of synthetic maps it made no
  clear difference, so the methods keep the paper's constant rate).
* **Progress**: one ``advance`` per epoch on the runner's progress bar.
* **Checkpoints** hold tensors and plain values only: written with
  ``torch.save`` into :func:`hrbench.fsutil.atomic_write_bytes`, read with
  ``torch.load(weights_only=True)`` -- never a pickle of code.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hrbench.api import HrbenchError, atomic_write_bytes

EpochData = Callable[[int], tuple[np.ndarray, np.ndarray]]
Advance = Callable[..., None]


@contextmanager
def seeded(seed: int, device: str = "cpu") -> Iterator[None]:
    """Run the body with torch RNGs seeded from ``seed`` and deterministic kernels."""
    devices = [torch.device(device).index or 0] if str(device).startswith("cuda") else []
    was_det = torch.are_deterministic_algorithms_enabled()
    was_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    was_bench = torch.backends.cudnn.benchmark
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(was_det, warn_only=was_warn)
            torch.backends.cudnn.benchmark = was_bench


def _batch(x: np.ndarray, device: str, channels_last: bool = False) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


def _train_epoch(
    model: nn.Module, opt: torch.optim.Optimizer, maps: np.ndarray, labels: np.ndarray, order: np.ndarray,
    batch_size: int, device: str,
) -> float:
    """One pass over ``maps`` in ``order``, a step per mini-batch; the mean training L1 (bpm)."""
    model.to(memory_format=torch.contiguous_format).train()
    total, count = 0.0, 0
    for a in range(0, len(order), batch_size):
        idx = np.sort(order[a : a + batch_size])
        if len(idx) < 2 and count:  # a lone sample breaks batch norm; drop it
            continue
        x = _batch(maps[idx], device)
        y = torch.as_tensor(labels[idx], dtype=torch.float32, device=device)
        if getattr(model, "head", "regression") == "regression":  # the paper's L1 on the regressed bpm
            loss = l1 = nn.functional.l1_loss(model(x), y)
        else:  # a distribution head trains on its own loss; the curve still reports L1 in bpm
            loss, hr = model.training_loss(model.raw(x), y)
            l1 = nn.functional.l1_loss(hr.detach(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += float(l1.detach()) * len(idx)
        count += len(idx)
    return total / max(count, 1)


def train_regressor(
    model: nn.Module,
    data: EpochData,
    *,
    epochs: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    schedule: str = "constant",
    seed: int = 0,
    device: str = "cpu",
    advance: Advance | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    val_history: list[float] | None = None,
) -> list[float]:
    """Train ``model`` with Adam + L1; returns the mean training loss (bpm) of each epoch.

    ``data(epoch)`` gives that epoch's ``(maps, labels)``: the same arrays
    every epoch for face clips, fresh draws for synthetic rhythms.  With
    ``validation`` = ``(maps, labels)`` the mean absolute error on it is
    measured after every epoch (appended to ``val_history`` when given) and
    the weights of the best epoch are restored at the end -- ``epochs`` is
    then a maximum, as in the paper's "a maximum of 30 epochs".
    """
    model.to(device).to(memory_format=torch.contiguous_format)
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"unknown learning-rate schedule {schedule!r}")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses: list[float] = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    for epoch in range(epochs):
        maps, labels = data(epoch)
        if len(maps) == 0:
            raise HrbenchError("no training maps")
        if schedule == "cosine":  # per epoch, from lr down to lr/20 in the last epoch
            frac = epoch / max(1, epochs - 1)
            for group in opt.param_groups:
                group["lr"] = lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(len(maps), generator=gen).numpy()
        losses.append(_train_epoch(model, opt, maps, labels, order, batch_size, device))
        if validation is not None:
            mae = float(np.mean(np.abs(predict_maps(model, validation[0], device=device) - validation[1])))
            if val_history is not None:
                val_history.append(mae)
            if best is None or mae < best[0]:
                best = (mae, {k: v.detach().clone() for k, v in model.state_dict().items()})
        if advance is not None:
            advance(1)
    if best is not None:
        model.load_state_dict(best[1])
    return losses


def predict_maps(model: nn.Module, maps: np.ndarray, *, batch_size: int = 128, device: str = "cpu") -> np.ndarray:
    """Model output (bpm) for each map, in order.

    Uses ``no_grad`` rather than ``inference_mode``: converting the weights to
    channels-last inside inference mode would turn them into inference tensors
    and a later ``train_regressor`` on the same model would fail.
    """
    model.to(device).to(memory_format=torch.channels_last).eval()
    with torch.no_grad():
        out = [
            model(_batch(maps[a : a + batch_size], device, True)).float().cpu().numpy()
            for a in range(0, len(maps), batch_size)
        ]
    return np.concatenate(out).astype(np.float64) if out else np.empty(0)


def save_checkpoint(path: Path, model: nn.Module, meta: dict[str, Any]) -> None:
    """Write weights and JSON-like metadata atomically."""
    buf = io.BytesIO()
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "meta": meta}, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint` (weights only, no pickle)."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        return blob["state_dict"], blob["meta"]
    except Exception as exc:
        raise HrbenchError(f"unreadable checkpoint ({exc.__class__.__name__}); delete it to retrain", path) from None
