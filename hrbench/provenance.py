"""What a run records about where its numbers came from.

Library versions, the thread count (the same seed on the same thread count
gives the same numbers; across thread counts float reductions may differ),
the CPU kernels torch used (:mod:`hrbench.cpu_pinning`), the device, the
dataset's content fingerprint and the command line -- stored with every run
so a board can say how to reproduce it.  :func:`run_key` names
a (method, seed) run by everything that changes its numbers, and
:func:`run_row` is the record the store keeps of it.

The dataset fingerprint covers every input of every usable recording
(:func:`recording_inputs`): the video's content (and the landmarker that
measured it), the frame times it is measured against, the ground truth as
loaded, and the recording's subject, session, window and metadata.  Ids and
file sizes are not enough: a same-size edit of a ground-truth file, or a
corrected frame rate, must start a new run rather than reuse the stored
folds of the old data.  Ground truth and frame times are hashed from the
values a run loads anyway (nothing is read twice); a video's content
fingerprint is remembered per file until it changes
(:func:`hrbench.fsutil.memo_file_fingerprint`).  :func:`base_key` names a
run by everything *but* the data, so a run on changed data finds the
stored one it replaces and can say what changed (:func:`describe_changes`).
"""

from __future__ import annotations

import contextlib
import json
import platform
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import TRACE_CODE_VERSION, __version__
from .cpu_pinning import kernels_in_use
from .errors import ConfigError
from .fsutil import arrays_checksum, stable_hash
from .recording import Recording, Signal

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


#: The parts of a recording's inputs (:func:`recording_inputs`), as a note names them.
INPUT_PARTS = {"video": "video", "frame_times": "frame times", "ground_truth": "ground truth", "recording": "recording details"}


def _arrays_hash(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    return arrays_checksum({k: np.asarray(v) for k, v in arrays.items()}, meta)[:16]


def recording_inputs(rec: Recording, video_fp: str, landmarker: str, times: np.ndarray, gt: Signal) -> dict[str, str]:
    """Hashes of everything a recording contributes to a run's numbers, one per :data:`INPUT_PARTS` key.

    ``video_fp``: the content fingerprint of its frames, hashed with what
    measured them (``landmarker``: its tag with version, and the trace code
    version; :func:`hrbench.traces.landmarker_tag`); ``times``:
    the frame times its traces are used with; ``gt``: its ground truth as
    loaded.  Values are hashed with their dtype and shape, so a changed file
    that parses to the same numbers changes nothing.
    """
    sig_times = {} if gt.times is None else {"times": np.asarray(gt.times, dtype=np.float64)}
    return {
        "video": stable_hash([video_fp, landmarker, TRACE_CODE_VERSION]),
        "frame_times": _arrays_hash({"times": np.asarray(times, dtype=np.float64)}, {"fps": float(rec.fps)}),
        "ground_truth": _arrays_hash({"values": np.asarray(gt.values), **sig_times},
                                     {"kind": gt.kind, "fs": float(gt.fs), "offset": float(gt.offset)}),
        "recording": stable_hash([rec.id, rec.subject, rec.session, rec.roi, list(rec.window or ()), rec.meta]),
    }


def inputs_fingerprint(inputs: Mapping[str, Mapping[str, str]], uids: Iterable[str]) -> str:
    """Identity of a dataset copy's content: the inputs (:func:`recording_inputs`) of the recordings ``uids``."""
    return stable_hash([[u, dict(inputs[u])] for u in sorted(uids)])


def describe_changes(old: Mapping[str, Mapping[str, str]], new: Mapping[str, Mapping[str, str]]) -> str:
    """What differs between two runs' inputs, in a phrase: "ground truth of mmse_hr/F013_T1 (and 1 more) changed"."""
    added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    changed: dict[tuple[str, ...], list[str]] = {}  # the parts that changed -> recordings where they did
    for u in sorted(set(new) & set(old)):
        parts = tuple(label for part, label in INPUT_PARTS.items() if old[u].get(part) != new[u].get(part))
        if parts:
            changed.setdefault(parts, []).append(u)
    bits = []
    for parts, uids in changed.items():
        more = f" (and {len(uids) - 1} more)" if len(uids) > 1 else ""
        bits.append(f"{' and '.join(parts)} of {uids[0]}{more}")
    phrase = " and ".join(bits) + " changed" if bits else ""
    for what, uids in (("added", added), ("left out", removed)):
        if uids:
            phrase += (", " if phrase else "") + f"{len(uids)} recording(s) {what} (e.g. {uids[0]})"
    return phrase or "its inputs changed"


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


def _identity(o: RunOptions, name: str, profile: str, params: dict[str, Any], seed: int, protocol: Protocol,
              prep: Prepared, scheme: str | None) -> dict[str, Any]:
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
    if scheme:  # a new version of the method's ROI scheme measures other traces
        from .plugins import get_scheme

        ident["roi_scheme"] = f"{scheme}@{get_scheme(scheme).version}"
    return ident


def run_key(o: RunOptions, name: str, profile: str, params: dict[str, Any], seed: int, protocol: Protocol,
            prep: Prepared, scheme: str | None = None) -> str:
    """The store key of one (method, seed) run: a hash of everything that changes its numbers.

    ``params`` are the method's resolved parameters (``get_params()``);
    ``scheme`` its ROI scheme (its version is part of the key);
    ``prep.fingerprint`` covers the content of every input
    (:func:`inputs_fingerprint`).
    """
    return stable_hash(_identity(o, name, profile, params, seed, protocol, prep, scheme), 20)


def base_key(o: RunOptions, name: str, profile: str, params: dict[str, Any], seed: int, protocol: Protocol,
             prep: Prepared, scheme: str | None = None) -> str:
    """:func:`run_key` without the data's content: the same run on another state of the same dataset."""
    ident = _identity(o, name, profile, params, seed, protocol, prep, scheme)
    del ident["fingerprint"]
    return stable_hash(ident, 20)


def run_row(o: RunOptions, name: str, profile: str, params: dict[str, Any], seed: int, protocol: Protocol,
            prep: Prepared, thread_plan: ThreadPlan, scheme: str | None = None) -> dict[str, Any]:
    """The store's record of one (method, seed) run: what ran, on what, and how to reproduce it.

    ``base_key`` (:func:`base_key`) lets a later run on changed data find
    this one; the per-recording inputs behind ``dataset_fingerprint`` are
    stored once per fingerprint (:meth:`hrbench.store.Store.record_inputs`).
    """
    return {
        "base_key": base_key(o, name, profile, params, seed, protocol, prep, scheme),
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
        "versions_json": json.dumps({**versions(), "thread_plan": thread_plan.as_dict(), "cpu_kernels": kernels_in_use(),
                                     **({"executor": o.executor} if o.executor != "local" else {})}, sort_keys=True, default=str),
        "skipped_json": json.dumps(sorted([[p.recording_id or "", p.path, p.message] for p in prep.skipped])),
        "n_folds": len(prep.folds),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": o.command,
    }
