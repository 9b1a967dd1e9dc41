"""The one import a plugin needs: ``from hrbench.api import ...``.

Why a facade: plugins used to reach into whichever module held a name
(``hrbench.plugin.hookspecs``, ``hrbench.data.video``, even private first-party plugin
modules), so every internal move broke someone else's package.  Everything
here is re-exported, never copied (``hrbench.api.Method is
hrbench.plugin.method.Method``), and is the supported surface: names in this module
keep working across releases; anything imported from elsewhere may move.
hrbench's own plugins (``hrbench_plugins``) import nothing else from hrbench,
and a test keeps it so.

By kind of plugin (``docs/`` has one page each, with a worked example):

* every plugin: :data:`hookimpl`; errors :class:`HrbenchError`,
  :class:`RecordingError`, :class:`ConfigError`, :class:`PrerequisiteMissing`.
* methods: :class:`Method`, :class:`Param`, :class:`RunContext`,
  :class:`Clips`; :class:`PulseMethod`, the base of a method whose heart
  rate is the spectral peak of its pulse (it writes ``predict``);
  the heart-rate estimator (:func:`spectral_hr` a.k.a. :func:`estimate_hr`,
  :func:`hr_spectrum`, :func:`bandpass`, :class:`HRSettings`); the NaN
  contract's helpers :func:`fill_missing_frames` (the one gap filler) and
  :func:`without_frames`; windowed pulses with overlap-add
  (:func:`window_param`, :func:`window_frames`, :func:`even_window`,
  :func:`ola_starts`, :func:`overlap_add`, :func:`windowed_pulse`);
  supervised methods' training-set caps (:func:`training_clips`,
  :func:`select_training`); colour spaces (:func:`rgb_to_yuv`).
* dataset adapters: :class:`DatasetAdapter`, :class:`Recording`,
  :class:`FrameSource` (its ``frame_count()``/``duration()`` read a video's
  length without decoding), :class:`Signal`, :class:`Problem`,
  :class:`LeftOut`, :func:`errors_only`; :class:`RecordedAdapter`, the base
  of an adapter of a recorded dataset (it writes ``scan`` and ``check``),
  with :func:`recording_checks` (every check a run makes on a recording),
  :func:`require_dir`, :func:`problem_of`, :func:`checked_signal` (a flat
  ground truth is an error), :func:`coverage_error` (one that does not span
  the video), :func:`flatness_problems`, :func:`signal_hr` and
  :func:`verify_frames`; strict text reading (:func:`read_column`,
  :func:`read_text`, :data:`OPTIONAL_HEADER`); frame-time repair
  (:func:`repair_times`, :class:`Repaired`, :class:`TimingFault`).
* landmarkers: :class:`Landmarker`, :data:`N_LANDMARKS`.
* ROI schemes: :class:`RoiScheme`, :func:`get_scheme`.
* long jobs of a plugin's own (generating a dataset, pretraining): a
  progress bar (:func:`phase`), silencing native libraries' stderr
  (:func:`quiet_native_stderr`), hrbench's cache folder (:func:`cache_dir`),
  content hashes (:func:`stable_hash`), crash-safe writes
  (:func:`atomic_write_bytes`), one-line notices (:func:`notice`), and a
  worker pool that stops cleanly on Ctrl-C or SIGTERM
  (:func:`handle_termination`, :func:`worker_initializer`,
  :func:`stop_pool`, and :func:`deferred_termination` with
  :func:`as_completed` while waiting on the pool).
* results in pandas: :func:`read_results` (runs, per-video and per-window
  predictions of a results store as tidy DataFrames, :class:`ResultFrames`;
  see :mod:`hrbench.boards.frames`).  Loaded on first use, so importing this module
  for a plugin does not import pandas.

Optional capabilities are declared on the base classes, never probed:
``Method.produces_pulse``/``pulse_prefiltered``/``explains``,
``DatasetAdapter.label_from_root``/``reads_manifest``/``official_folds()``,
``Landmarker.version``/``reads_bgr``.

Conformance checks live in :mod:`hrbench.testing` (imported separately: it
builds synthetic data and is only needed in tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .clips.subsets import select_training, training_clips
from .data.dataset import DatasetAdapter, LeftOut, Problem, errors_only
from .data.recording import FrameSource, Recording, Signal
from .data.textio import OPTIONAL_HEADER, read_column, read_text
from .data.timing import Repaired, TimingFault, repair_times
from .data.video import verify_frames
from .errors import ConfigError, HrbenchError, PrerequisiteMissing, RecordingError
from .fsutil import atomic_write_bytes, cache_dir, notice, stable_hash
from .plugin.clips import Clips
from .plugin.hookspecs import hookimpl
from .plugin.host import get_scheme
from .plugin.landmarks import N_LANDMARKS, Landmarker
from .plugin.method import Method, Param, RunContext
from .plugin.pulse_method import PulseMethod, window_param
from .plugin.recorded import (
    RecordedAdapter,
    checked_signal,
    coverage_error,
    problem_of,
    recording_checks,
    require_dir,
)
from .plugin.roi import RoiScheme, rgb_to_yuv
from .pulse.gt_checks import flatness_problems
from .pulse.hr import HRSettings, bandpass, estimate_hr, hr_spectrum, signal_hr, spectral_hr
from .pulse.overlap import even_window, ola_starts, overlap_add, window_frames, windowed_pulse
from .pulse.signals import fill_missing_frames, without_frames
from .run.executor import as_completed, deferred_termination, handle_termination, stop_pool, worker_initializer
from .run.progress import phase, quiet_native_stderr

if TYPE_CHECKING:  # imported on first use by __getattr__ below (pandas is heavy for a plugin import)
    from .boards.frames import ResultFrames, read_results

__all__ = [
    "N_LANDMARKS",
    "OPTIONAL_HEADER",
    "Clips",
    "ConfigError",
    "DatasetAdapter",
    "FrameSource",
    "HRSettings",
    "HrbenchError",
    "Landmarker",
    "LeftOut",
    "Method",
    "Param",
    "PrerequisiteMissing",
    "Problem",
    "PulseMethod",
    "RecordedAdapter",
    "Recording",
    "RecordingError",
    "Repaired",
    "ResultFrames",
    "RoiScheme",
    "RunContext",
    "Signal",
    "TimingFault",
    "as_completed",
    "atomic_write_bytes",
    "bandpass",
    "cache_dir",
    "checked_signal",
    "coverage_error",
    "deferred_termination",
    "errors_only",
    "estimate_hr",
    "even_window",
    "fill_missing_frames",
    "flatness_problems",
    "get_scheme",
    "handle_termination",
    "hookimpl",
    "hr_spectrum",
    "notice",
    "ola_starts",
    "overlap_add",
    "phase",
    "problem_of",
    "quiet_native_stderr",
    "read_column",
    "read_results",
    "read_text",
    "recording_checks",
    "repair_times",
    "require_dir",
    "rgb_to_yuv",
    "select_training",
    "signal_hr",
    "spectral_hr",
    "stable_hash",
    "stop_pool",
    "training_clips",
    "verify_frames",
    "window_frames",
    "window_param",
    "windowed_pulse",
    "without_frames",
    "worker_initializer",
]

_LAZY = {"read_results": "boards.frames", "ResultFrames": "boards.frames"}


def __getattr__(name: str) -> object:
    """The pandas read API, imported on first use (the very objects of :mod:`hrbench.boards.frames`)."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
