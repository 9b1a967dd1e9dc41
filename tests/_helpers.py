"""Small helpers shared by several test modules (data builders live in ``miniature``).

Why a module: each adapter's test file checked its entry point with the same
five lines; the loading is shared here, while every test keeps its own
assertion about what was registered.
"""

from __future__ import annotations


def registered_datasets(entry_point: str) -> list[type]:
    """Adapter classes that the ``hrbench`` entry point named ``entry_point`` registers.

    Loads the entry point as ``hrbench`` does (the declared module) and calls
    its ``register_datasets`` hook with a recording ``register``.
    """
    from importlib.metadata import entry_points

    ep = next(e for e in entry_points(group="hrbench") if e.name == entry_point)
    got: list[type] = []
    ep.load().register_datasets(register=got.append)
    return got
