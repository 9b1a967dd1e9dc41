"""What a run will do, decided from its options before any data is read: the run plan.

Why a value of its own: the fold loop (:mod:`hrbench.run.folds`) needs a few
facts about the run -- which methods, with which validated parameters and
seeds, on which device, under which protocol -- and nothing else of the
runner.  Handing it this frozen plan instead of the runner keeps the stages
one-way (runner -> folds, never back) and says in one place everything a
fold may depend on.  :class:`MethodPlan` holds a method's parameters as
validated once (by the instance that checked them, :mod:`hrbench.run.runner`),
so each fold builds exactly one instance from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from ..clips.protocol import Protocol
from ..plugin.method import NO_LEGACY, Method, RunContext
from .provenance import RunIdentity


@dataclass(frozen=True)
class MethodPlan:
    """One selected method as the run builds it: class, profile, validated parameters, seeds, device.

    ``params`` are the effective parameters (defaults, then the profile's,
    then ``--param`` values), validated; building from them gives the
    instance those values described.  ``plugin`` is the distribution that
    registers the method (a remote worker loads it from there; None for a
    built-in); ``roi_scheme`` the scheme with its version, as the run key
    records it ("" for a method without one).
    """

    name: str
    cls: type[Method]
    profile: str
    params: Mapping[str, Any]
    seeds: tuple[int, ...]
    device: str
    plugin: str | None = None
    roi_scheme: str = ""

    @property
    def supervised(self) -> bool:
        return self.cls.supervised

    def build(self, ctx: RunContext) -> Method:
        """The method instance of one fold."""
        return self.cls(ctx, profile=self.profile, **self.params)


@dataclass(frozen=True)
class RunPlan:
    """The run as the fold loop sees it; built by :class:`hrbench.run.runner.Runner` from checked options.

    ``threads``: ``--threads`` (a cluster task asks for that many CPUs,
    default 1); ``main_threads``: threads of this process once the
    extraction pool is closed; ``thread_plan``: the decision recorded with
    each run (:meth:`hrbench.run.threads.ThreadPlan.as_dict`).
    """

    protocol: Protocol
    methods: tuple[MethodPlan, ...]
    dataset: str
    train_on: str  # "" within a database
    train_fraction: float
    cache_root: Path
    executor: str
    command: str
    threads: int | None
    main_threads: int
    thread_plan: Mapping[str, Any]

    def context(self, m: MethodPlan, seed: int, console: Console | None = None,
                progress: Callable[[str, int], Callable[[int], None]] | None = None) -> RunContext:
        """What a method instance of this run is lent: seed, clip length, caches, device, progress."""
        extra: dict[str, Any] = {"console": console} if console is not None else {}
        if progress is not None:
            extra["progress"] = progress
        return RunContext(seed=seed, clip_len=self.protocol.clips.length, cache_dir=self.cache_root, device=m.device,
                          profile=m.profile, train_fraction=self.train_fraction, **extra)

    def identity(self, m: MethodPlan, seed: int, fingerprint: str, label: str) -> RunIdentity:
        """The (method, seed) run's identity on data of this ``fingerprint`` and board ``label``.

        Its parameters are the plan's less those at their declared ``legacy``
        value (:class:`~hrbench.plugin.method.Param`): the fold instances are
        still built from all of them.
        """
        return RunIdentity(m.name, identity_params(m.cls, m.params), m.profile, self.protocol.sha256, self.dataset,
                           self.train_on, fingerprint, seed, self.train_fraction, label, m.roi_scheme)


def identity_params(cls: type[Method], params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` without those a method added later, where they hold the value every earlier run used."""
    declared = cls.params or {}
    return {name: value for name, value in params.items()
            if name not in declared or declared[name].legacy is NO_LEGACY or value != declared[name].legacy}
