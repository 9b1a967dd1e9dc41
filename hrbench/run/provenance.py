"""What a run records about where its numbers came from.

Library versions, the thread count (the same seed on the same thread count
gives the same numbers; across thread counts float reductions may differ),
the CPU kernels torch used (:mod:`hrbench.run.cpu_pinning`), the device, the
dataset's content fingerprint and the command line -- stored with every run
so a board can say how to reproduce it.  :class:`RunIdentity` names a
(method, seed) run by everything that changes its numbers (its ``key``), and
its ``row`` is the record the store keeps of it, with the run-wide facts of
:class:`RunRecord`.

The dataset fingerprint covers every input of every usable recording
(:func:`recording_inputs`): the video's content (and the landmarker that
measured it), the frame times it is measured against, the ground truth as
loaded, and the recording's subject, session, window and metadata.  Ids and
file sizes are not enough: a same-size edit of a ground-truth file, or a
corrected frame rate, must start a new run rather than reuse the stored
folds of the old data.  Ground truth and frame times are hashed from the
values a run loads anyway (nothing is read twice); a video's content
fingerprint is remembered per file until it changes
(:func:`hrbench.fsutil.memo_file_fingerprint`).  ``RunIdentity.base_key`` names a
run by everything *but* the data, so a run on changed data finds the
stored one it replaces and can say what changed (:func:`describe_changes`).
"""

from __future__ import annotations

import contextlib
import json
import platform
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import TRACE_CODE_VERSION, __version__
from ..data.recording import Recording, Signal
from ..errors import ConfigError
from ..fsutil import arrays_checksum, stable_hash
from .cpu_pinning import kernels_in_use

if TYPE_CHECKING:
    from ..clips.protocol import Protocol

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
INPUT_PARTS = {"video": "video", "frame_times": "frame times", "ground_truth": "ground truth",
               "recording": "recording details"}


def _arrays_hash(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    return arrays_checksum({k: np.asarray(v) for k, v in arrays.items()}, meta)[:16]


def recording_inputs(rec: Recording, video_fp: str, landmarker: str, times: np.ndarray, gt: Signal) -> dict[str, str]:
    """Hashes of everything a recording contributes to a run's numbers, one per :data:`INPUT_PARTS` key.

    ``video_fp``: the content fingerprint of its frames, hashed with what
    measured them (``landmarker``: its tag with version, and the trace code
    version; :func:`hrbench.traces.traces.landmarker_tag`); ``times``:
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
        base = Path(__file__).resolve().parents[2]
        try:
            return str(p.resolve().relative_to(base))
        except ValueError:
            return str(p)


def command_line() -> str:
    return " ".join(["hrbench", *sys.argv[1:]])


@dataclass(frozen=True)
class RunIdentity:
    """Everything that changes the numbers of one (method, seed) run: its store key is a hash of this.

    One value instead of seven arguments repeated by every function that
    names a run: :attr:`key` (the store's key), :attr:`base_key` (the same
    without the data's content, so a run on changed data finds the one it
    replaces) and :meth:`row` (the store's record) cannot disagree on what a
    run is.  ``params`` are the method's resolved parameters
    (``get_params()``); ``roi_scheme`` its ROI scheme with the scheme's
    version (``"face_skin@2"``; a new version measures other traces), or ""
    for a method without one; ``fingerprint`` covers the content of every
    input (:func:`inputs_fingerprint`); ``label`` is the test dataset's board
    label (it changes no number, but two labelled copies are two boards).
    """

    method: str
    params: Mapping[str, Any]
    profile: str
    protocol_sha256: str
    dataset: str
    train_on: str  # "" within a database
    fingerprint: str
    seed: int
    train_fraction: float
    label: str
    roi_scheme: str = ""

    def fields(self) -> dict[str, Any]:
        """What the key hashes (the store's run keys depend on every name and value here)."""
        ident = {
            "method": self.method,
            "params": dict(self.params),
            "profile": self.profile,
            "protocol_sha256": self.protocol_sha256,
            "dataset": self.dataset,
            "train_on": self.train_on,
            "fingerprint": self.fingerprint,
            "seed": self.seed,
            "train_fraction": self.train_fraction,
            "hrbench": __version__,
        }
        if self.label != self.dataset:
            ident["label"] = self.label
        if self.roi_scheme:
            ident["roi_scheme"] = self.roi_scheme
        return ident

    @property
    def key(self) -> str:
        """The store key of the run: a hash of :meth:`fields`."""
        return stable_hash(self.fields(), 20)

    @property
    def base_key(self) -> str:
        """:attr:`key` without the data's content: the same run on another state of the same dataset."""
        ident = self.fields()
        del ident["fingerprint"]
        return stable_hash(ident, 20)

    def row(self, record: RunRecord) -> dict[str, Any]:
        """The store's record of the run: what ran, on what, and how to reproduce it.

        ``base_key`` lets a later run on changed data find this one; the
        per-recording inputs behind ``dataset_fingerprint`` are stored once
        per fingerprint (:meth:`hrbench.store.store.Store.record_inputs`).
        """
        protocol = record.protocol
        return {
            "base_key": self.base_key,
            "method": self.method,
            "profile": self.profile,
            "params_json": json.dumps(dict(self.params), sort_keys=True, default=str),
            "protocol": protocol.name,
            "protocol_path": display_path(protocol.path),
            "protocol_sha256": protocol.sha256,
            "protocol_desc": protocol.describe(),
            "dataset": self.dataset,
            "train_dataset": record.train_label if protocol.scope == "cross" else self.label,
            "dataset_label": self.label,
            "dataset_fingerprint": self.fingerprint,
            "seed": self.seed,
            "train_fraction": self.train_fraction,
            "versions_json": json.dumps({**versions(), "thread_plan": dict(record.thread_plan),
                                         "cpu_kernels": kernels_in_use(),
                                         **({"executor": record.executor} if record.executor != "local" else {})},
                                        sort_keys=True, default=str),
            "skipped_json": json.dumps(sorted([list(s) for s in record.skipped])),
            "n_folds": record.n_folds,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": record.command,
        }


@dataclass(frozen=True)
class RunRecord:
    """What the store keeps of a run beyond its identity; the same for every (method, seed) of one run.

    ``skipped``: (recording id or "", path, message) of each recording left
    out; ``thread_plan``: :meth:`hrbench.run.threads.ThreadPlan.as_dict`;
    ``executor``: ``local`` or ``ray`` (recorded only when not local).
    """

    protocol: Protocol
    train_label: str
    skipped: tuple[tuple[str, str, str], ...]
    n_folds: int
    thread_plan: Mapping[str, Any]
    executor: str
    command: str
