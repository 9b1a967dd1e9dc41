"""Hook specifications: what a plugin may contribute.

Each hook hands the plugin a ``register`` callback (the pattern of Simon
Willison's ``llm``) instead of asking it to return values: a plugin may
register zero, one or many things, and the host records which plugin
registered what, so ``hrbench plugins`` can say where every name comes from.

A plugin is any module or object with ``@hookimpl``-decorated functions,
advertised in its distribution's metadata under the entry-point group
``hrbench``::

    [project.entry-points.hrbench]
    my_method = "my_package.my_module"

Plugins run in an order pluggy chooses; names must be unique across plugins
(a duplicate is an error naming both plugins).
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("hrbench")
hookimpl = pluggy.HookimplMarker("hrbench")


@hookspec
def register_methods(register: Callable[[type], None]) -> None:
    """Register heart-rate estimation methods.

    Call ``register(MethodClass)`` once per method, where ``MethodClass`` is a
    subclass of :class:`hrbench.method.Method` with a unique ``name``.  The
    class declares its ROI scheme, whether it is supervised, its parameters
    and profiles; the runner instantiates it once per fold.
    """


@hookspec
def register_datasets(register: Callable[[type], None]) -> None:
    """Register dataset adapters.

    Call ``register(AdapterClass)`` where ``AdapterClass`` subclasses
    :class:`hrbench.dataset.DatasetAdapter`.  An adapter knows one on-disk
    layout: ``scan(root)`` lists recordings without decoding video, and
    ``check(root)`` reports every missing or malformed file.
    """


@hookspec
def register_landmarkers(register: Callable[[type], None]) -> None:
    """Register face landmarkers.

    Call ``register(LandmarkerClass)`` where ``LandmarkerClass`` subclasses
    :class:`hrbench.landmarks.Landmarker` and returns 68 iBUG points per
    frame.  A landmarker that needs weights must load them from disk only
    (never download at run time) and say in ``available()`` what is missing.
    """


@hookspec
def register_protocols(register: Callable[[str], None]) -> None:
    """Register directories holding protocol TOML files (e.g. official folds).

    Call ``register(path)`` with a directory; its ``*.toml`` files are
    offered alongside the built-in ``protocols/``.
    """
