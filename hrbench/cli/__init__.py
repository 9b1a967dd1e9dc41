"""The ``hrbench`` command line.

Every failure a user can cause ends in one line on stderr naming the file and
what is wrong (exit status 2), never a traceback; ``HRBENCH_DEBUG=1`` shows
the traceback for bug reports.  An interrupted run is resumed by running the
same command again.

One module per group of commands (``cmd_*``), the argument definitions in
:mod:`.parser`, the entry point in :mod:`.entry`.  Commands import what they
need when they run, so ``hrbench plugins`` does not import torch.
"""

from __future__ import annotations

from .entry import main
from .parser import build_parser

__all__ = ["build_parser", "main"]
