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

Loading is strict (:mod:`hrbench.plugin.host`), because a plugin that silently
registers nothing is the hardest failure to debug:

* a ``@hookimpl`` whose name is not one of the hooks below (``register_method``
  for ``register_methods``) fails the plugin, naming it and the hook it
  probably meant (pluggy's ``check_pending``); so does a function named like a
  hook but not decorated with ``@hookimpl``, and a plugin with no hook at all;
* every ``register(obj)`` call is validated on the spot: ``obj`` must be a
  class (not an instance), subclass the kind's base class, be concrete and
  carry a non-empty string ``name``.  The error names the plugin;
* names are unique per kind across plugins: a second registration fails the
  second plugin and makes the name unusable until one is uninstalled (or
  ``HRBENCH_PLUGINS`` picks one), so a run never silently gets the other one;
* a failed plugin contributes nothing (its registrations are all-or-nothing),
  is listed by ``hrbench plugins`` with its error, and is named in every
  "unknown method/dataset/..." error.

Plugins run in an order pluggy chooses.  The core registers its own built-ins
(the ROI schemes of :mod:`hrbench.plugin.roi`) through these same hooks.  A plugin
imports what it needs from :mod:`hrbench.api` only, and checks itself with
:mod:`hrbench.testing`; ``docs/`` has one page per kind of plugin.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

#: Marks the hook declarations below (hrbench's own; plugins never use it).
hookspec = pluggy.HookspecMarker("hrbench")
#: Decorates a plugin's hook functions (``@hookimpl def register_methods(register): ...``); without it
#: hrbench never calls the function, and a function named like a hook but undecorated fails the plugin.
hookimpl = pluggy.HookimplMarker("hrbench")


@hookspec
def register_methods(register: Callable[[type], None]) -> None:
    """Register heart-rate estimation methods.

    Call ``register(MethodClass)`` once per method, where ``MethodClass`` is a
    subclass of :class:`hrbench.plugin.method.Method` with a unique ``name``.  The
    class declares its ROI scheme, whether it is supervised, its parameters
    and profiles; the runner instantiates it once per fold.

    Why a class and not an instance: parameters are validated when the
    runner instantiates it with the user's ``--profile`` / ``--param``, and a
    fresh instance per fold and seed keeps folds independent.  A method whose
    ``roi_scheme`` is not registered fails its plugin at load time.
    Contract details (shapes, NaN, determinism): ``docs/methods.md``;
    check with :func:`hrbench.testing.check_method`.
    """


@hookspec
def register_datasets(register: Callable[[type], None]) -> None:
    """Register dataset adapters.

    Call ``register(AdapterClass)`` where ``AdapterClass`` subclasses
    :class:`hrbench.data.dataset.DatasetAdapter`.  An adapter knows one on-disk
    layout: ``scan(root)`` lists recordings without decoding video, and
    ``check(root)`` reports every missing or malformed file.

    Recordings must be picklable (they travel to worker processes), ids
    unique and stable across scans (results are keyed on them), ground truth
    as long as the video, and ``timestamps`` -- when given -- strictly rising,
    one per frame, starting at the first frame (otherwise the run stops with
    an error naming the recording).  See ``docs/datasets.md``; check with
    :func:`hrbench.testing.check_adapter` and ``hrbench datasets check``,
    which runs the core's checks of every recording after the adapter's own.
    """


@hookspec
def register_landmarkers(register: Callable[[type], None]) -> None:
    """Register face landmarkers.

    Call ``register(LandmarkerClass)`` where ``LandmarkerClass`` subclasses
    :class:`hrbench.plugin.landmarks.Landmarker` and returns 68 iBUG points per
    frame.  A landmarker that needs weights must load them from disk only
    (never download at run time) and say in ``available()`` what is missing.
    ``version`` is part of the trace-cache key: bump it when outputs change.
    See ``docs/landmarkers.md``; check with :func:`hrbench.testing.check_landmarker`.
    """


@hookspec
def register_protocols(register: Callable[[str], None]) -> None:
    """Register directories holding protocol TOML files (e.g. official folds).

    Call ``register(path)`` with a directory; its ``*.toml`` files are
    offered alongside the built-in ``protocols/``.  The path must be an
    existing directory (checked at registration).  See ``docs/protocols.md``.
    """


@hookspec
def register_roi_schemes(register: Callable[[type], None]) -> None:
    """Register ROI schemes: how a frame and its 68 landmarks become region means.

    Call ``register(SchemeClass)`` where ``SchemeClass`` subclasses
    :class:`hrbench.plugin.roi.RoiScheme`, with a unique ``name``, a positive
    integer ``n_rois`` and ``measure(frame, landmarks) -> (n_rois, 3)``
    float32 mean RGB (``landmarks`` is ``None`` for ``full-frame``
    recordings: measure the whole frame).  A method selects a scheme by name
    (``Method.roi_scheme``); traces are cached per scheme name and
    ``version`` -- bump ``version`` when ``measure`` changes.

    Why a hook: the built-in ``face_skin``, ``cheek_grid`` and ``face_grid``
    are registered through it by the core itself (:mod:`hrbench.plugin.roi`), so a
    plugin's scheme is found exactly as they are.  See ``docs/roi_schemes.md``;
    check with :func:`hrbench.testing.check_roi_scheme`.
    """
