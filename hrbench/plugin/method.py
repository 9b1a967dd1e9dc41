"""The method contract: what a method plugin implements.

Modelled on scikit-learn's estimator: parameters are declared up front and
validated in ``__init__`` (a typo fails before an hour of training, not
after), ``fit(clips)`` learns (a no-op for unsupervised methods) and
``predict(clips)`` returns one heart rate in bpm per clip.

A method declares what it consumes -- the ROI scheme of its traces -- and the
runner hands it :class:`hrbench.plugin.clips.Clips` cut from cached traces.  It never
sees a video, a dataset or a fold.  ``--profile NAME`` picks a named set of
parameter overrides from :attr:`Method.profiles` (e.g. the paper's settings
versus a CPU-friendly default); ``--param key=value`` overrides single values.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from rich.console import Console

from ..errors import ConfigError
from .clips import Clips

#: ``Param.legacy`` when the parameter existed from the start (it is always part of a run's identity).
NO_LEGACY: Any = type("NoLegacy", (), {"__repr__": lambda self: "NO_LEGACY"})()


@dataclass(frozen=True)
class Param:
    """A declared method parameter: default, type, help, optional choices/bounds.

    ``legacy``, for a parameter added to a method that already has stored
    runs: the value those runs used (the behaviour before the parameter
    existed).  At that value the parameter stays out of the run's identity
    -- its store key and recorded parameters -- so adding an option does not
    orphan every stored row and recompute it to the same numbers; any other
    value is keyed and recorded as usual.  Declare it only for a value that
    reproduces the earlier code exactly.
    """

    default: Any
    help: str
    type: type = float
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    legacy: Any = NO_LEGACY

    def validate(self, name: str, value: Any) -> Any:
        try:
            if self.type is bool and isinstance(value, str):
                if value.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                    raise ValueError(value)
                value = value.lower() in {"true", "1", "yes"}
            elif self.type is tuple and isinstance(value, list):
                value = tuple(value)
            elif self.type is int and isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
                if not float(value).is_integer():  # int(1.5) == 1 would hide a typo
                    raise ValueError(value)
                value = int(value)
            elif value is not None and not isinstance(value, self.type):
                value = self.type(value)
        except (TypeError, ValueError):
            raise ConfigError(f"parameter {name}={value!r}: expected {self.type.__name__}") from None
        # NaN passes every range check (all comparisons are False) and inf passes an
        # open-ended one; neither is a setting, and both would fail deep inside a fold.
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isfinite(value):
            raise ConfigError(f"parameter {name}={value!r}: must be a finite number")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"parameter {name}={value!r}: choose one of {list(self.choices)}")
        if self.low is not None and value < self.low:
            raise ConfigError(f"parameter {name}={value!r}: must be >= {self.low}")
        if self.high is not None and value > self.high:
            raise ConfigError(f"parameter {name}={value!r}: must be <= {self.high}")
        return value


@dataclass
class RunContext:
    """What the runner lends a method: seed, caches, device, progress reporting.

    ``progress(description, total)`` returns a callable ``advance(n=1)`` so that
    long fits show a rich progress bar without depending on rich directly.
    """

    seed: int = 0
    clip_len: int = 300  # the protocol's clip length: what predict() will receive
    # --train-fraction (SynRhythm Fig. 6): the runner has already kept this share of the
    # training clips; a method that caps its training clips should scale its cap by it,
    # so the reduction still shows when the cap is smaller than the training set.
    train_fraction: float = 1.0
    cache_dir: Path = field(default_factory=lambda: Path(".hrbench-cache"))
    device: str = "cpu"
    profile: str = "default"
    console: Console = field(default_factory=lambda: Console(stderr=True, emoji=False))
    progress: Callable[[str, int], Callable[[int], None]] = field(
        default=lambda description, total: (lambda n=1: None)
    )

    def say(self, message: str) -> None:
        """One line to the user (stderr), e.g. a fallback that changes results."""
        self.console.print(message, highlight=False, soft_wrap=True)


class Method(ABC):
    """Base class of every method plugin.

    Class attributes:
        name: registry name, used on the command line and in leaderboards.
        description: one line for ``hrbench plugins`` and ``--help``.
        citation: the paper the method implements.
        roi_scheme: name of the ROI scheme whose traces it consumes.
        supervised: whether ``fit`` learns from labelled clips.
        train_clip_factor: training clips this many times the protocol length.
        params: declared parameters (validated in ``__init__``).
        profiles: named parameter overrides; ``default`` must fit a CPU budget.
        produces_pulse: the method implements :meth:`predict_pulse`, so the
            whole-video and windowed evaluation rules estimate its HR once
            per evaluation window from its pulse (the field's rule), instead
            of aggregating per-clip predictions.
        pulse_prefiltered: its pulse is already band-passed to the
            protocol's HR band; the estimator must not filter it again.
        explains: the method implements :meth:`explain` (``hrbench
            explain``: what a trained model looks at in a few test clips).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    roi_scheme: ClassVar[str] = "face_skin"
    supervised: ClassVar[bool] = False
    params: ClassVar[dict[str, Param]] = {}
    profiles: ClassVar[dict[str, dict[str, Any]]] = {}
    # Training clips are cut this many times longer than the protocol's clip
    # length (capped by the video), for methods that resample time during
    # training (HR-balancing augmentation); test clips are never changed.
    train_clip_factor: ClassVar[float] = 1.0
    produces_pulse: ClassVar[bool] = False
    pulse_prefiltered: ClassVar[bool] = False
    explains: ClassVar[bool] = False

    def __init__(self, context: RunContext | None = None, profile: str = "default", **overrides: Any) -> None:
        self.context = context or RunContext()
        if profile != "default" and profile not in self.profiles:
            raise ConfigError(
                f"method {self.name}: unknown profile {profile!r}; known: {['default', *self.profiles]}"
            )
        values = {k: p.default for k, p in self.params.items()}
        values.update(self.profiles.get(profile, {}))
        unknown = set(overrides) - set(self.params)
        if unknown:
            raise ConfigError(
                f"method {self.name}: unknown parameter(s) {sorted(unknown)}; known: {sorted(self.params)}"
            )
        values.update(overrides)
        self.profile = profile
        self._params = {k: self.params[k].validate(k, v) for k, v in values.items()}
        # Facts about how the run actually went that change its meaning
        # (e.g. {"init": "random"} when ImageNet weights were missing).
        self.run_notes: dict[str, Any] = {}

    def get_params(self) -> dict[str, Any]:
        """Effective parameters after profile and overrides (recorded with the run)."""
        return dict(self._params)

    def __getattr__(self, item: str) -> Any:
        params = self.__dict__.get("_params")
        if params is not None and item in params:
            return params[item]
        raise AttributeError(item)

    def fit(self, clips: Clips) -> Method:
        """Learn from labelled clips; unsupervised methods keep this no-op."""
        return self

    @abstractmethod
    def predict(self, clips: Clips) -> np.ndarray:
        """Heart rate in bpm for each clip, shape ``(len(clips),)``."""

    def predict_pulse(self, clips: Clips) -> np.ndarray:
        """Pulse waveforms ``(len(clips), clip_len)`` for methods with ``produces_pulse``.

        Clips may be as long as a whole recording.  A row the method cannot
        produce (too few valid frames) is all NaN.  The core turns a row into
        a heart rate with :func:`hrbench.pulse.hr.spectral_hr` -- the estimator that
        reads the ground truth -- so a method never carries its own peak picker.
        """
        raise NotImplementedError(f"method {self.name} produces no pulse waveform")

    def explain(self, clips: Clips, out_dir: Path) -> list[Path]:
        """For methods with ``explains``: save explanations of ``clips`` (e.g. attention maps) under ``out_dir``.

        Called after :meth:`fit` on one fold; returns the files written.
        """
        raise NotImplementedError(f"method {self.name} has no explanations to show")
