"""The plugin host: load entry points in group ``hrbench`` and collect registrations.

* Every plugin -- first-party ones in ``plugins/`` included -- arrives through
  entry-point metadata; the core never imports a plugin by name.  The core
  registers its own built-ins (ROI schemes) through the same hooks.
* Loading is strict, because a plugin that silently registers nothing (a
  hook-name typo, a forgotten ``@hookimpl``) costs its author an afternoon:
  pluggy's ``check_pending`` rejects unknown hook names, every ``register``
  call is validated on the spot (a class, of the right base, concrete, with a
  ``name``, unique), and the error names the plugin.
* A plugin that fails -- to import, or any of the above -- is reported by name
  (``hrbench plugins`` shows the error, and "unknown method" errors name it)
  and contributes nothing; the others still load.
* A name registered by two plugins fails the second and becomes unusable
  (lookups say which two plugins claim it) rather than resolving to whichever
  loaded first.
* ``HRBENCH_PLUGINS`` (comma-separated entry-point names) restricts which
  plugins load, for reproducible runs; an empty string loads none.  As in
  ``llm``'s ``LLM_LOAD_PLUGINS``.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy

from .. import __version__
from ..data.dataset import DatasetAdapter
from ..errors import ConfigError
from . import hookspecs, roi
from .landmarks import Landmarker
from .method import Method
from .roi import RoiScheme

GROUP = "hrbench"

#: hook name -> the kind it registers (the Registry table and PluginInfo key).
HOOKS: dict[str, str] = {
    "register_methods": "methods",
    "register_datasets": "datasets",
    "register_landmarkers": "landmarkers",
    "register_protocols": "protocols",
    "register_roi_schemes": "roi_schemes",
}

#: Singular of each kind, for messages.
SINGULAR = {
    "methods": "method",
    "datasets": "dataset",
    "landmarkers": "landmarker",
    "protocols": "protocol directory",
    "roi_schemes": "ROI scheme",
}


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
    roi_schemes: dict[str, type] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    owner: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (kind, name) -> the plugins that all registered it; lookups refuse it.
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    #: The core's own registrations (built-in ROI schemes); not an entry point.
    core: PluginInfo | None = None

    def method(self, name: str) -> type:
        return self._get("methods", name)

    def dataset(self, name: str) -> type:
        return self._get("datasets", name)

    def landmarker(self, name: str) -> type:
        return self._get("landmarkers", name)

    def roi_scheme(self, name: str) -> type:
        return self._get("roi_schemes", name)

    def failed(self) -> list[PluginInfo]:
        """Plugins that failed to load (import error, bad registration, hook typo)."""
        return [p for p in self.plugins if p.error]

    def _get(self, kind: str, name: str) -> type:
        table: dict[str, type] = getattr(self, kind)
        what = SINGULAR[kind]
        if (kind, name) in self.conflicts:
            who = " and ".join(repr(p) for p in self.conflicts[(kind, name)])
            raise ConfigError(
                f"{what} {name!r} is registered by both {who}; uninstall one, or load one with "
                f"HRBENCH_PLUGINS (see `hrbench plugins`)"
            )
        if name not in table:
            known = ", ".join(sorted(table)) or "none loaded"
            # A failed plugin may be the one that would have registered it: say so.
            failed = "".join(f"; plugin {p.name!r} failed to load: {p.error}" for p in self.failed())
            raise ConfigError(f"unknown {what} {name!r}{failed}; known: {known} (see `hrbench plugins`)")
        return table[name]


class RegistrationError(ConfigError):
    """A plugin broke the registration contract (raised inside its hook, recorded on it)."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


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


#: The base class each kind must subclass.
BASES: dict[str, type] = {
    "methods": Method, "datasets": DatasetAdapter, "landmarkers": Landmarker, "roi_schemes": RoiScheme,
}


def validate_registration(kind: str, obj: Any) -> str:
    """The name ``obj`` registers under, or RegistrationError saying what is wrong with it.

    Public so :mod:`hrbench.testing` applies the same rules to a class before
    it is ever installed.
    """
    what = SINGULAR[kind]
    if kind == "protocols":
        if not isinstance(obj, str | os.PathLike):
            raise RegistrationError(f"register_protocols: expected a directory path, got {type(obj).__name__} {obj!r}")
        if not Path(obj).is_dir():
            raise RegistrationError(f"register_protocols: {str(obj)!r} is not a directory")
        return str(obj)
    base = BASES[kind]
    hook = next(h for h, k in HOOKS.items() if k == kind)
    if not isinstance(obj, type):
        if inspect.isroutine(obj):
            got = f"function {getattr(obj, '__qualname__', obj)!r}"
        elif isinstance(obj, str | os.PathLike):
            got = f"{type(obj).__name__} {str(obj)!r}"
        else:
            got = f"an instance of {type(obj).__qualname__} (register the class, not an object)"
        raise RegistrationError(f"{hook}: expected a {base.__name__} subclass (the class itself), got {got}")
    if not issubclass(obj, base):
        raise RegistrationError(
            f"{hook}: {obj.__qualname__} does not subclass {base.__module__}.{base.__name__}"
        )
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name.strip():
        raise RegistrationError(f"{hook}: {obj.__qualname__} has no {what} name (set the class attribute `name`)")
    if name != name.strip() or "," in name:
        raise RegistrationError(f"{hook}: {what} name {name!r} of {obj.__qualname__} has spaces around it or a comma")
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(getattr(obj, "__abstractmethods__", ())))
        raise RegistrationError(f"{hook}: {obj.__qualname__} is abstract (implement {missing})")
    if kind == "roi_schemes":
        n = getattr(obj, "n_rois", None)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise RegistrationError(f"{hook}: {obj.__qualname__}.n_rois must be a positive integer, got {n!r}")
    return name


def _hook_problems(pm: pluggy.PluginManager, module: Any, plugin: str) -> str | None:
    """Why ``module`` cannot be a plugin (hook typos, undecorated hooks, no hooks), or None."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError:
        unknown = sorted(
            hc.name for hc in (pm.get_hookcallers(module) or []) if not hc.has_spec()
        )
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(HOOKS), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return f"unknown hook {', '.join(hints)}; hrbench hooks are {', '.join(HOOKS)}"
    marker = f"{GROUP}_impl"
    for attr in dir(module):
        if not attr.startswith("register_"):
            continue
        fn = getattr(module, attr, None)
        if not callable(fn) or hasattr(fn, marker):
            continue
        if attr in HOOKS:
            return (f"{attr} is not decorated with @hookimpl (from hrbench.api import hookimpl), "
                    "so hrbench would never call it")
        close = difflib.get_close_matches(attr, list(HOOKS), n=1, cutoff=0.85)
        if close:
            return f"function {attr!r} looks like hook {close[0]!r} but is neither named nor decorated as one"
    if not pm.get_hookcallers(module):
        return f"defines no @hookimpl function (hooks: {', '.join(HOOKS)})"
    return None


def _registrar(kind: str, info: PluginInfo, reg: Registry, staged: list[tuple[str, str, Any]],
               errors: list[str]) -> Callable[[Any], None]:
    """The ``register`` callback one hook of one plugin gets: validate, refuse duplicates, stage."""

    def register(obj: Any) -> None:
        try:
            name = validate_registration(kind, obj)
            if kind != "protocols":
                table: dict[str, Any] = getattr(reg, kind)
                if name in table or (kind, name) in reg.conflicts:
                    other = reg.owner.get((kind, name), "?")
                    reg.conflicts.setdefault((kind, name), [other]).append(info.name)
                    raise RegistrationError(f"{SINGULAR[kind]} {name!r} is already registered by plugin {other!r}")
                if any(k == kind and n == name for k, n, _ in staged):
                    raise RegistrationError(f"{SINGULAR[kind]} {name!r} registered twice")
        except RegistrationError as exc:
            errors.append(exc.message)
            raise
        staged.append((kind, name, obj))

    return register


def _call_hooks(pm: pluggy.PluginManager, module: Any, info: PluginInfo, reg: Registry,
                staged: list[tuple[str, str, Any]]) -> list[str]:
    """Call each of the plugin's hooks with its ``register`` callback; the errors, one line each."""
    errors: list[str] = []
    for hc in pm.get_hookcallers(module) or []:
        kind = HOOKS[hc.name]
        for impl in hc.get_hookimpls():
            if impl.plugin is not module:
                continue
            args = {"register": _registrar(kind, info, reg, staged, errors)}
            try:
                impl.function(**{a: args[a] for a in impl.argnames})
            except RegistrationError:
                pass  # recorded in `errors`
            except Exception as exc:  # noqa: BLE001 - a plugin's bug must not stop the others
                errors.append(f"{hc.name} failed: {type(exc).__name__}: {exc}")
    return errors


def _load_plugin(pm: pluggy.PluginManager, module: Any, info: PluginInfo, reg: Registry) -> None:
    """Register one plugin's hooks and commit its registrations, all or nothing."""
    try:
        pm.register(module, name=info.name)
    except Exception as exc:  # noqa: BLE001 - pluggy validates hookimpl signatures here
        info.error = _one_line(f"{type(exc).__name__}: {exc}")
        return
    problem = _hook_problems(pm, module, info.name)
    if problem:
        pm.unregister(name=info.name)
        info.error = _one_line(problem)
        return
    staged: list[tuple[str, str, Any]] = []
    errors = _call_hooks(pm, module, info, reg, staged)
    if errors:  # all or nothing: a half-registered plugin is harder to reason about
        info.error = _one_line(f"plugin {info.name!r}: {errors[0]}")
        pm.unregister(name=info.name)
        return
    for kind, name, obj in staged:
        if kind == "protocols":
            reg.protocol_dirs.append(name)
        else:
            getattr(reg, kind)[name] = obj
            reg.owner[(kind, name)] = info.name
        info.registered.setdefault(kind, []).append(name)


def _check_roi_schemes(reg: Registry) -> None:
    """A method whose ROI scheme nobody registered fails its plugin now, not mid-run."""
    infos = {p.name: p for p in reg.plugins}
    for name, cls in list(reg.methods.items()):
        scheme = getattr(cls, "roi_scheme", None)
        if scheme in reg.roi_schemes:
            continue
        owner = reg.owner.get(("methods", name), "?")
        info = infos.get(owner)
        if info is None:
            continue
        known = ", ".join(sorted(reg.roi_schemes))
        info.error = info.error or _one_line(
            f"plugin {owner!r}: method {name!r} uses ROI scheme {scheme!r}, which no plugin registers "
            f"(known: {known})"
        )
        for kind, names in info.registered.items():
            for n in names:
                table = getattr(reg, kind, None)
                if isinstance(table, dict):
                    table.pop(n, None)
                    reg.owner.pop((kind, n), None)
        info.registered = {}


def load_registry(only: set[str] | None = None) -> Registry:
    """Load plugins from entry points and collect what each registers.

    ``only`` restricts loading to the named entry points (worker processes
    load just the landmarker's plugin instead of importing torch for nothing).
    The core's built-ins are always registered first.
    """
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    reg = Registry()
    reg.core = PluginInfo(name="hrbench", module="hrbench.plugin.roi", distribution="hrbench", version=__version__)
    _load_plugin(pm, roi, reg.core, reg)
    if reg.core.error:  # pragma: no cover - the core's own hooks are tested
        raise ConfigError(f"hrbench core registration failed: {reg.core.error}")
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
        except Exception as exc:  # noqa: BLE001 - report, keep loading the rest
            info.error = _one_line(f"{type(exc).__name__}: {exc}")
            continue
        _load_plugin(pm, module, info, reg)
    if only is None:  # a partial load (one worker's landmarker) cannot judge the others
        _check_roi_schemes(reg)
    return reg


_REGISTRY: Registry | None = None


def get_registry(refresh: bool = False) -> Registry:
    """The process-wide registry, loaded on first use."""
    global _REGISTRY
    if _REGISTRY is None or refresh:
        _REGISTRY = load_registry()
    return _REGISTRY


class UnknownRoiScheme(ConfigError, KeyError):
    """No registered scheme has this name (a KeyError too: it is a failed lookup by name)."""

    __str__ = ConfigError.__str__  # KeyError would quote the message


def scheme_class(name: str) -> type[RoiScheme]:
    """The registered ROI scheme class called ``name``.

    Why here and not in :mod:`hrbench.plugin.roi`: a plugin's scheme is known only
    to the host, and the host imports :mod:`hrbench.plugin.roi` (for the base class
    and the built-ins), so the lookup by name sits above both.  Built-ins are
    answered without loading the plugin registry: worker processes (spawned,
    fresh) measure them on every video, and no plugin can register a
    built-in's name, so the answer is the registry's.
    """
    cls = roi.ROI_SCHEMES.get(name)
    if cls is not None:
        return cls
    reg = get_registry()
    if name in reg.roi_schemes:
        return reg.roi_schemes[name]
    known = ", ".join(sorted(reg.roi_schemes)) or ", ".join(sorted(roi.ROI_SCHEMES))
    failed = "".join(f"; plugin {p.name!r} failed to load: {p.error}" for p in reg.failed())
    raise UnknownRoiScheme(f"unknown ROI scheme {name!r}; known: {known}{failed}")


def get_scheme(name: str) -> RoiScheme:
    """An instance of the registered scheme ``name`` (UnknownRoiScheme, a KeyError, if none)."""
    return scheme_class(name)()
