"""What a run records about where its numbers came from.

Library versions, the thread count (the same seed on the same thread count
gives the same numbers; across thread counts float reductions may differ),
the device, a cheap dataset fingerprint and the command line -- stored with
every run so a board can say how to reproduce it.  :func:`run_key` names a
(method, seed) run by everything that changes its numbers, and
:func:`run_row` is the record the store keeps of it.
"""

from __future__ import annotations

import contextlib
import json
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import TRACE_CODE_VERSION, __version__
from .errors import ConfigError
from .fsutil import stable_hash
from .recording import Recording

if TYPE_CHECKING:
    from .prepare import Prepared
    from .protocol import Protocol
    from .runner import RunOptions
    from .threads import ThreadPlan

_PACKAGES = ("numpy", "scipy", "scikit-learn", "torch", "torchvision", "opencv-python-headless", "ai-edge-litert")


def versions() -> dict[str, str]:
    """Versions of hrbench, Python and the numerical libraries a result depends on."""
    out = {"hrbench": __version__, "python": platform.python_version(), "trace_code": TRACE_CODE_VERSION}
    for pkg in _PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def torch_threads() -> int:
    """torch's intra-op thread count if torch is loaded (0: torch played no part)."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else 0


def resolve_device(requested: str | None) -> str:
    """``cpu``/``cuda[:n]``; an explicit CUDA request on a machine without one is a one-line error."""
    try:
        import torch
    except ImportError:
        if requested and requested != "cpu":
            raise ConfigError(f"--device {requested}: torch is not installed") from None
        return "cpu"
    if not requested:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cpu":
        return "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {requested}: no CUDA device is available on this machine (use --device cpu)")
        index = requested.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise ConfigError(f"--device {requested}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return requested
    raise ConfigError(f"--device {requested!r}: use cpu, cuda or cuda:N")


def dataset_fingerprint(recs: Sequence[Recording]) -> str:
    """Cheap identity of a dataset copy: ids, subjects and file sizes (no decoding)."""
    items = []
    for r in sorted(recs, key=lambda r: r.id):
        p = r.frames.path
        size = p.stat().st_size if p.is_file() else len(r.frames.image_files()) if p.is_dir() else -1
        gsize = r.gt_path.stat().st_size if r.gt_path and r.gt_path.is_file() else -1
        items.append([r.id, r.subject, size, gsize])
    return stable_hash(items)


def display_path(p: Path) -> str:
    """A path relative to the working directory or the checkout when it is inside one."""
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        base = Path(__file__).resolve().parent.parent
        try:
            return str(p.resolve().relative_to(base))
        except ValueError:
            return str(p)


def command_line() -> str:
    return " ".join(["hrbench", *sys.argv[1:]])


def run_key(o: RunOptions, name: str, profile: str, params: dict[str, Any], seed: int, protocol: Protocol,
            prep: Prepared) -> str:
    """The store key of one (method, seed) run: a hash of everything that changes its numbers.

    ``params`` are the method's resolved parameters (``get_params()``).
    """
    ident = {
        "method": name,
        "params": params,
        "profile": profile,
        "protocol_sha256": protocol.sha256,
        "dataset": o.dataset,
        "train_on": o.train_on or "",
        "fingerprint": prep.fingerprint,
        "seed": seed,
        "train_fraction": o.train_fraction,
        "hrbench": __version__,
    }
    if prep.label != o.dataset:  # a label changes no number, but two labelled copies are two boards
        ident["label"] = prep.label
    return stable_hash(ident, 20)


def run_row(o: RunOptions, name: str, profile: str, params: dict[str, Any], seed: int, protocol: Protocol,
            prep: Prepared, thread_plan: ThreadPlan) -> dict[str, Any]:
    """The store's record of one (method, seed) run: what ran, on what, and how to reproduce it."""
    return {
        "method": name,
        "profile": profile,
        "params_json": json.dumps(params, sort_keys=True, default=str),
        "protocol": protocol.name,
        "protocol_path": display_path(protocol.path),
        "protocol_sha256": protocol.sha256,
        "protocol_desc": protocol.describe(),
        "dataset": o.dataset,
        "train_dataset": prep.train_label if protocol.scope == "cross" else prep.label,
        "dataset_label": prep.label,
        "dataset_fingerprint": prep.fingerprint,
        "seed": seed,
        "train_fraction": o.train_fraction,
        "versions_json": json.dumps({**versions(), "thread_plan": thread_plan.as_dict(),
                                     **({"executor": o.executor} if o.executor != "local" else {})}, sort_keys=True, default=str),
        "skipped_json": json.dumps(sorted([[p.recording_id or "", p.path, p.message] for p in prep.skipped])),
        "n_folds": len(prep.folds),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": o.command,
    }
