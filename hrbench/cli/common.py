"""What every command shares: one-line argument errors, consoles that never emojify, the results store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from ..errors import HrbenchError


def err_console() -> Console:
    """Messages to stderr; they carry user text (paths, ids): never turn ":x:" into an emoji."""
    return Console(stderr=True, emoji=False)


def out_console(width: int = 160) -> Console:
    """Tables to stdout: the terminal's width, or ``width`` columns when piped (so nothing is cut)."""
    return Console(emoji=False) if sys.stdout.isatty() else Console(width=width, emoji=False)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage block is one ``--help`` away)."""

    def error(self, message: str) -> Any:
        sys.stderr.write(f"hrbench: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def int_arg(flag: str) -> Any:
    """argparse type: an integer, with a one-line error for '1e20', '1.5' or 'x'."""

    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes a whole number, got {text!r}") from None

    return parse


def store_path(args: argparse.Namespace) -> Path:
    """The results store named by --store, else the default one."""
    from ..store.store import default_store_path

    return Path(args.store) if getattr(args, "store", None) else default_store_path()


def read_store(args: argparse.Namespace) -> Any:
    """The results store opened read-only (a reader never migrates or locks it); a missing one is one line."""
    from ..store.store import Store

    path = store_path(args)
    if not path.exists():
        raise HrbenchError("results store not found; run `hrbench run` first or pass --store", path)
    return Store(path, readonly=True)
