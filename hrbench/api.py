"""The one import a plugin needs: ``from hrbench.api import ...``.

Why a facade: plugins used to reach into whichever module held a name
(``hrbench.hookspecs``, ``hrbench.method``, even private first-party plugin
modules such as ``hrbench_plugins.methods._classic``), so every internal move
broke someone else's package.  Everything here is re-exported, never copied
(``hrbench.api.Method is hrbench.method.Method``), and is the supported
surface: names in this module keep working across releases; anything imported
from elsewhere may move.

By kind of plugin (``docs/`` has one page each, with a worked example):

* every plugin: :data:`hookimpl`; errors :class:`HrbenchError`,
  :class:`RecordingError`, :class:`ConfigError`, :class:`PrerequisiteMissing`;
* methods: :class:`Method`, :class:`Param`, :class:`RunContext`,
  :class:`Clips`, the heart-rate estimator (:func:`spectral_hr` a.k.a.
  :func:`estimate_hr`, :func:`hr_spectrum`, :func:`bandpass`,
  :class:`HRSettings`) and :func:`fill_missing_frames` (the NaN contract);
* dataset adapters: :class:`DatasetAdapter`, :class:`Recording`,
  :class:`FrameSource`, :class:`Signal`, :class:`Problem`, and strict text
  reading (:func:`read_column`, :func:`read_text`, :data:`OPTIONAL_HEADER`);
* landmarkers: :class:`Landmarker`, :data:`N_LANDMARKS`;
* ROI schemes: :class:`RoiScheme`, :func:`get_scheme`;
* results in pandas: :func:`read_results` (runs, per-video and per-window
  predictions of a results store as tidy DataFrames, :class:`ResultFrames`;
  see :mod:`hrbench.frames`).  Loaded on first use, so importing this module
  for a plugin does not import pandas.

Conformance checks live in :mod:`hrbench.testing` (imported separately: it
builds synthetic data and is only needed in tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .clips import Clips
from .dataset import DatasetAdapter, Problem
from .errors import ConfigError, HrbenchError, PrerequisiteMissing, RecordingError
from .hookspecs import hookimpl
from .hr import HRSettings, bandpass, estimate_hr, hr_spectrum, spectral_hr
from .landmarks import N_LANDMARKS, Landmarker
from .method import Method, Param, RunContext
from .plugins import get_scheme
from .recording import FrameSource, Recording, Signal
from .roi import RoiScheme
from .signals import fill_missing_frames
from .textio import OPTIONAL_HEADER, read_column, read_text

if TYPE_CHECKING:  # imported on first use by __getattr__ below (pandas is heavy for a plugin import)
    from .frames import ResultFrames, read_results

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
    "Method",
    "Param",
    "PrerequisiteMissing",
    "Problem",
    "Recording",
    "RecordingError",
    "ResultFrames",
    "RoiScheme",
    "RunContext",
    "Signal",
    "bandpass",
    "estimate_hr",
    "fill_missing_frames",
    "get_scheme",
    "hookimpl",
    "hr_spectrum",
    "read_column",
    "read_results",
    "read_text",
    "spectral_hr",
]

_LAZY = {"read_results": "frames", "ResultFrames": "frames"}


def __getattr__(name: str) -> object:
    """The pandas read API, imported on first use (the very objects of :mod:`hrbench.frames`)."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
