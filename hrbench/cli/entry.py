"""The entry point: parse, run the command, turn a user's error into one line and an exit status."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ..errors import HrbenchError
from .parser import build_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hrbench`` with ``argv`` (default: the command line); the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    from ..fsutil import set_cache_root
    from ..run.executor import handle_termination

    try:
        if getattr(args, "cache", None):
            set_cache_root(args.cache)  # every cache, the embedded dataset included
        with handle_termination():
            return int(args.func(args) or 0)
    except HrbenchError as exc:
        if os.environ.get("HRBENCH_DEBUG"):
            raise
        print(f"hrbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("hrbench: interrupted; run the same command again to resume (finished work is kept)", file=sys.stderr)
        return int(getattr(exc, "exit_code", 130))
    finally:
        if getattr(args, "cache", None):
            set_cache_root(None)  # a library caller's next call starts from its own environment


if __name__ == "__main__":
    sys.exit(main())
