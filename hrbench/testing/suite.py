"""The kit over many plugins: pytest parametrisation, and every registered plugin (``hrbench plugins --check``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..data.dataset import DatasetAdapter
from ..plugin.host import get_registry
from ..plugin.landmarks import Landmarker
from ..plugin.roi import RoiScheme
from .adapters import adapter_checks, adapter_class_check
from .landmarkers import landmarker_checks
from .methods import method_checks
from .results import Check, CheckResult, CheckSkipped, name_of, run_checks
from .roi_schemes import roi_scheme_checks


def _kind_and_checks(item: Any, fast: bool) -> tuple[Any, str, list[Check]]:
    if isinstance(item, tuple):
        cls, root = item
        return cls, "dataset", adapter_checks(cls, root)
    if isinstance(item, type) and issubclass(item, Landmarker):
        return item, "landmarker", landmarker_checks(item)
    if isinstance(item, type) and issubclass(item, RoiScheme):
        return item, "roi_scheme", roi_scheme_checks(item)
    if isinstance(item, type) and issubclass(item, DatasetAdapter):
        raise TypeError(f"{item.__name__}: pass an adapter as (AdapterClass, data_root)")
    return item, "method", method_checks(item, fast=fast)


def iter_checks(items: Iterable[Any], *, fast: bool = False) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(id, check)`` for every check of every item, ids like ``"method-green-recovers_clean_pulse"``.

    An item is a Method, Landmarker or RoiScheme subclass, or ``(AdapterClass, root)``.
    """
    for item in items:
        cls, kind, checks = _kind_and_checks(item, fast)
        for name, fn in checks:
            yield f"{kind}-{name_of(cls)}-{name}", fn


def parametrize_with_checks(items: Iterable[Any], *, fast: bool = False) -> Any:
    """A ``pytest.mark.parametrize("check", ...)`` over :func:`iter_checks`, one case per check.

    A skipped check (fast mode, landmarker unavailable, not applicable)
    becomes a skipped test with the reason.
    """
    import pytest

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def check() -> None:
            try:
                fn()
            except CheckSkipped as exc:
                pytest.skip(str(exc))

        return check

    params = [pytest.param(wrap(fn), id=cid) for cid, fn in iter_checks(items, fast=fast)]
    return pytest.mark.parametrize("check", params)


def _data_root(cls: type[DatasetAdapter], given: Path | None) -> tuple[Path | None, str]:
    """Where to check an adapter's recordings, or None and why there is no data to check."""
    if given is not None:
        return (Path(given), "") if Path(given).is_dir() else (None, f"data root {given} is not a directory")
    try:
        root = cls().default_root()
    except Exception as exc:  # noqa: BLE001 - a default_root that fails is just "no data"
        return None, f"default_root() failed ({type(exc).__name__}: {exc})"
    if root is None:
        return None, "no default data root: check a copy with check_adapter(cls, root)"
    if not Path(root).is_dir():
        return None, f"no data at its default root {root} (the kit never generates or downloads data)"
    return Path(root), ""


def _adapter_results(name: str, cls: type[DatasetAdapter], given: Path | None) -> list[CheckResult]:
    root, why = _data_root(cls, given)
    if root is not None:
        return run_checks("dataset", name, adapter_checks(cls, root, max_recordings=5))

    def no_data() -> None:
        raise CheckSkipped(why)

    return run_checks("dataset", name, [("subclass_and_name", lambda: adapter_class_check(cls)),
                                        ("recordings", no_data)])


def check_registry(*, fast_supervised: bool = True, data_roots: dict[str, Path] | None = None) -> list[CheckResult]:
    """Check every registered method, landmarker, ROI scheme and adapter; never raises.

    What ``hrbench plugins --check`` runs.  Adapters without a root in
    ``data_roots`` (name -> root) are checked at their ``default_root()``
    when it exists; otherwise only their class is checked and the checks of
    their recordings are skipped with the reason: the kit never generates
    or downloads data.
    """
    reg = get_registry()
    results: list[CheckResult] = []
    for name, cls in sorted(reg.methods.items()):
        results += run_checks("method", name, method_checks(cls, fast=fast_supervised and cls.supervised))
    for name, cls in sorted(reg.landmarkers.items()):
        results += run_checks("landmarker", name, landmarker_checks(cls))
    for name, cls in sorted(reg.roi_schemes.items()):
        results += run_checks("roi_scheme", name, roi_scheme_checks(cls))
    for name, cls in sorted(reg.datasets.items()):
        results += _adapter_results(name, cls, (data_roots or {}).get(name))
    return results
