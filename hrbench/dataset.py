"""The dataset-adapter contract.

An adapter knows one on-disk layout.  ``scan`` is lazy: it lists files and
parses small metadata, but decodes no video and (ideally) reads no large
signal, so listing thousands of recordings is instant.  Ground truth is loaded
later through each Recording's callable.  ``check`` goes further and reports
*every* problem with its file path, for ``hrbench datasets check``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from .recording import Recording


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset copy, with the file it concerns."""

    path: str
    message: str
    recording_id: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DatasetAdapter(ABC):
    """Base class of dataset plugins.

    Class attributes:
        name: registry name (``--dataset``).
        description: one line for ``hrbench plugins``.
        needs_root: False for datasets hrbench can build itself (synthetic).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    needs_root: ClassVar[bool] = True

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

    def check(self, root: Path) -> tuple[list[Recording], list[Problem]]:
        """Deep validation for ``hrbench datasets check`` (may read signals)."""
        return self.scan_with_problems(root)
