"""Errors users see.

Every error that reaches the command line is an :class:`HrbenchError`: one
line, naming the file and what is wrong with it, never a traceback from deep
inside numpy.  Code that touches user files catches low-level exceptions and
re-raises them as one of these.
"""

from __future__ import annotations

from pathlib import Path


class HrbenchError(Exception):
    """A problem the user can fix, reported on one line."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class RecordingError(HrbenchError):
    """One recording cannot be used (missing video, bad ground truth, no face).

    Carries the recording id so a run can report it, or skip it when the user
    asked for ``--skip-invalid``.
    """

    def __init__(self, message: str, path: str | Path | None = None, recording_id: str | None = None) -> None:
        self.recording_id = recording_id
        super().__init__(message, path)


class ConfigError(HrbenchError):
    """A protocol file, method parameter or command-line option is invalid."""


class PrerequisiteMissing(HrbenchError):
    """A method cannot run as specified because something it needs is absent.

    E.g. SynRhythm's stage II without ImageNet weights on an offline machine.
    The runner records the run as *not run*, with this message as the reason,
    instead of publishing a row that silently is another method.
    """
