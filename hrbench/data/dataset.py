"""The dataset-adapter contract.

An adapter knows one on-disk layout.  ``scan`` is lazy: it lists files and
parses small metadata, but decodes no video and (ideally) reads no large
signal, so listing thousands of recordings is instant.  Ground truth is loaded
later through each Recording's callable.  ``check`` goes further and reports
*every* problem with its file path, for ``hrbench datasets check``, and
``left_out`` lists what the adapter skips by design (with the reason).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from .recording import Recording

Severity = Literal["error", "warning"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset copy, with the file it concerns.

    ``severity`` is ``"error"`` (the recording is unusable; the default, so
    existing ``Problem(path, message, rid)`` calls keep their meaning) or
    ``"warning"`` (reported, not blocking).
    """

    path: str
    message: str
    recording_id: str | None = None
    severity: Severity = "error"

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        tag = "" if self.is_error else "warning: "
        return f"{self.path}: {tag}{self.message}"


@dataclass(frozen=True)
class LeftOut:
    """A recording an adapter leaves out by design, and why (not a fault of the copy).

    Why a type of its own: MAHNOB-HCI's neutral trials or VIPL-HR's
    near-infrared source are present on disk but not part of the protocol the
    adapter implements; ``hrbench datasets check`` lists them so that a
    recording never disappears without a word, while runs and
    ``scan_with_problems`` (whose problems can stop a run) never see them.
    """

    path: str
    reason: str
    recording_id: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: left out: {self.reason}"


def errors_only(problems: list[Problem]) -> list[Problem]:
    """The problems that make a recording unusable (what a run stops on)."""
    return [p for p in problems if p.is_error]


class DatasetAdapter(ABC):
    """Base class of dataset plugins.

    Class attributes:
        name: registry name (``--dataset``).
        description: one line for ``hrbench plugins``.
        needs_root: False for datasets hrbench can build itself (synthetic).
        label_from_root: two data folders served by this adapter are two
            datasets (a generic adapter such as ``folder``): the board label
            is ``<name>-<folder name>`` unless ``--name`` gives one.
        reads_manifest: the adapter reads a user's manifest of paths, and its
            constructor takes ``allow_outside=True`` (``--allow-outside``) to
            accept paths that lead outside the manifest's folder.

    Optional capabilities are declared here, with their defaults, rather than
    probed: the core reads these attributes and calls :meth:`official_folds`
    and :meth:`left_out` on every adapter.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    needs_root: ClassVar[bool] = True
    label_from_root: ClassVar[bool] = False
    reads_manifest: ClassVar[bool] = False

    def default_root(self) -> Path | None:
        """Where the data lives when ``--data-root`` is not given (None: must be given)."""
        return None

    def prepare(self, root: Path) -> None:  # noqa: B027 - optional hook
        """Make the data available at ``root`` (generate it, for synthetic sets)."""

    @abstractmethod
    def scan(self, root: Path) -> list[Recording]:
        """All recordings under ``root``; raise HrbenchError naming the file when the layout is wrong.

        Implementations may raise RecordingError for a malformed recording; the
        runner collects those via ``check``/``scan_with_problems``.
        """

    def scan_with_problems(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        """Recordings that look usable, and the problems of those that do not.

        The default calls :meth:`scan` and reports no problems; adapters of
        real datasets override it to validate each recording's files.
        """
        return self.scan(root), []

    def left_out(self, root: Path) -> list[LeftOut]:
        """Recordings under ``root`` this adapter leaves out by design, with the reason.

        The default leaves nothing out.  Called by ``hrbench datasets check``
        only; it should be as cheap as a scan (list folders, read no signal).
        """
        return []

    def official_folds(self, root: Path) -> list[list[str]] | None:
        """The dataset's own folds: the subject ids of each fold, in fold order; None when it ships none.

        Protocols with ``split: official`` need them; the default ships none.
        """
        return None

    def check(self, root: Path, deep: bool = False) -> tuple[list[Recording], list[Problem]]:
        """Deep validation for ``hrbench datasets check`` (may read signals).

        Returns the recordings without an error-severity problem (warnings do
        not make a recording unusable) and every problem found, errors and
        warnings.  ``deep`` asks for the expensive checks too (decoding every
        frame); adapters without any may ignore it.
        """
        return self.scan_with_problems(root)
