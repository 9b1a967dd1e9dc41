"""The plugin host: load entry points in group ``hrbench`` and collect registrations.

* Every plugin -- first-party ones in ``plugins/`` included -- arrives through
  entry-point metadata; the core never imports a plugin by name.
* A plugin that fails to import is reported by name (``hrbench plugins``
  shows the error) and the others still load.
* ``HRBENCH_PLUGINS`` (comma-separated entry-point names) restricts which
  plugins load, for reproducible runs; an empty string loads none.  As in
  ``llm``'s ``LLM_LOAD_PLUGINS``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .errors import ConfigError

GROUP = "hrbench"


@dataclass
class PluginInfo:
    """What ``hrbench plugins`` reports about one entry point."""

    name: str
    module: str
    distribution: str
    version: str
    error: str | None = None
    registered: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Registry:
    """Everything the loaded plugins registered, by kind and name."""

    methods: dict[str, type] = field(default_factory=dict)
    datasets: dict[str, type] = field(default_factory=dict)
    landmarkers: dict[str, type] = field(default_factory=dict)
    protocol_dirs: list[str] = field(default_factory=list)
    plugins: list[PluginInfo] = field(default_factory=list)
    owner: dict[tuple[str, str], str] = field(default_factory=dict)

    def method(self, name: str) -> type:
        return self._get("method", self.methods, name)

    def dataset(self, name: str) -> type:
        return self._get("dataset", self.datasets, name)

    def landmarker(self, name: str) -> type:
        return self._get("landmarker", self.landmarkers, name)

    @staticmethod
    def _get(kind: str, table: dict[str, type], name: str) -> type:
        if name not in table:
            known = ", ".join(sorted(table)) or "none loaded"
            raise ConfigError(f"unknown {kind} {name!r}; known: {known} (see `hrbench plugins`)")
        return table[name]


def _entry_points() -> list[metadata.EntryPoint]:
    eps = list(metadata.entry_points(group=GROUP))
    # The same distribution may be visible twice (e.g. an editable install and
    # a build directory); keep the first occurrence of each name.
    seen: dict[str, metadata.EntryPoint] = {}
    for ep in eps:
        seen.setdefault(ep.name, ep)
    return [seen[k] for k in sorted(seen)]


def _selected(names: list[str]) -> set[str] | None:
    env = os.environ.get("HRBENCH_PLUGINS")
    if env is None:
        return None
    wanted = {n.strip() for n in env.split(",") if n.strip()}
    unknown = wanted - set(names)
    if unknown:
        raise ConfigError(f"HRBENCH_PLUGINS names unknown plugin(s): {sorted(unknown)}; installed: {sorted(names)}")
    return wanted


def load_registry(only: set[str] | None = None) -> Registry:
    """Load plugins from entry points and collect what each registers.

    ``only`` restricts loading to the named entry points (worker processes
    load just the landmarker's plugin instead of importing torch for nothing).
    """
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    reg = Registry()
    eps = _entry_points()
    wanted = _selected([ep.name for ep in eps]) if only is None else only
    for ep in eps:
        if wanted is not None and ep.name not in wanted:
            continue
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            module=ep.value,
            distribution=dist.metadata["Name"] if dist else "?",
            version=dist.version if dist else "?",
        )
        reg.plugins.append(info)
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # noqa: BLE001 - report, keep loading the rest
            info.error = f"{type(exc).__name__}: {exc}"
            continue
        _collect(pm, module, info, reg)
    return reg


def _collect(pm: pluggy.PluginManager, module: Any, info: PluginInfo, reg: Registry) -> None:
    def make(kind: str, table: dict[str, Any]) -> Callable[[Any], None]:
        def register(obj: Any) -> None:
            name = obj if isinstance(obj, str) else obj.name
            if kind != "protocols" and name in table:
                other = reg.owner[(kind, name)]
                raise ConfigError(f"{kind[:-1]} {name!r} registered by both {other!r} and {info.name!r}")
            if kind == "protocols":
                reg.protocol_dirs.append(str(obj))
            else:
                table[name] = obj
                reg.owner[(kind, name)] = info.name
            info.registered.setdefault(kind, []).append(str(name))

        return register

    hooks = {
        "register_methods": ("methods", reg.methods),
        "register_datasets": ("datasets", reg.datasets),
        "register_landmarkers": ("landmarkers", reg.landmarkers),
        "register_protocols": ("protocols", {}),
    }
    for hook_name, (kind, table) in hooks.items():
        impl = getattr(module, hook_name, None)
        if impl is None:
            continue
        try:
            impl(register=make(kind, table))
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001
            info.error = f"{hook_name} failed: {type(exc).__name__}: {exc}"


_REGISTRY: Registry | None = None


def get_registry(refresh: bool = False) -> Registry:
    """The process-wide registry, loaded on first use."""
    global _REGISTRY
    if _REGISTRY is None or refresh:
        _REGISTRY = load_registry()
    return _REGISTRY
