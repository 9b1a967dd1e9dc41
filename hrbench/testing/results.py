"""Running checks and reporting them: the outcome types every ``check_*`` of the kit shares.

Why a module of its own: methods, adapters, landmarkers and ROI schemes are
checked by different harnesses, but a check is reported the same way for all
of them -- passed, failed with the reason, or skipped with the reason -- so
``hrbench plugins --check`` and a plugin's own pytest read alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ..plugin.host import RegistrationError, validate_registration

Status = Literal["passed", "failed", "skipped"]
#: One check: its name and the callable that raises on failure.
Check = tuple[str, Callable[[], None]]


class CheckSkipped(Exception):  # noqa: N818 - reads as an outcome, like pytest's Skipped
    """A check that does not apply (or was not run in ``fast`` mode); carries the reason."""


class ConformanceError(AssertionError):
    """One or more conformance checks failed; the message lists each with its reason."""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check on one plugin class."""

    kind: str
    name: str
    check: str
    status: Status
    detail: str = ""

    def __str__(self) -> str:
        tail = f": {self.detail}" if self.detail else ""
        return f"{self.kind} {self.name!r} {self.check} {self.status}{tail}"


def fail(message: str) -> None:
    """Fail the running check with ``message`` (what is wrong and, where it helps, how to fix it)."""
    raise AssertionError(message)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def run_checks(kind: str, name: str, checks: Iterable[Check]) -> list[CheckResult]:
    """Run each check; a raised CheckSkipped skips it, any other exception fails it."""
    out: list[CheckResult] = []
    for check, fn in checks:
        try:
            fn()
        except CheckSkipped as exc:
            out.append(CheckResult(kind, name, check, "skipped", _one_line(exc) or "skipped without a reason"))
        except AssertionError as exc:
            out.append(CheckResult(kind, name, check, "failed", _one_line(exc)))
        except Exception as exc:  # noqa: BLE001 - a crash is a failed check, reported
            out.append(CheckResult(kind, name, check, "failed", f"raised {type(exc).__name__}: {_one_line(exc)}"))
        else:
            out.append(CheckResult(kind, name, check, "passed"))
    return out


def raise_if_failed(results: list[CheckResult]) -> list[CheckResult]:
    """``results``, or ConformanceError listing every failed check with its reason."""
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise ConformanceError(
            f"{len(failed)} of {len(results)} conformance checks failed:\n" + "\n".join(f"  - {r}" for r in failed)
        )
    return results


def name_of(cls: Any) -> str:
    """The registry name of a plugin class, else its qualified name (for a class without one)."""
    name = getattr(cls, "name", None)
    return name if isinstance(name, str) else getattr(cls, "__qualname__", repr(cls))


def registration(kind: str, cls: Any) -> None:
    """Fail unless the host would accept ``cls`` as a ``kind`` (the rules of :mod:`hrbench.plugin.host`)."""
    try:
        validate_registration(kind, cls)
    except RegistrationError as exc:
        fail(exc.message)
