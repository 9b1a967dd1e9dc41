"""``hrbench datasets`` (list adapters, check a copy) and ``hrbench protocols``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ..errors import HrbenchError


def _check(args: argparse.Namespace) -> int:
    """``datasets check NAME [ROOT]``: the copy, the core's per-recording checks and the protocol, in one report."""
    from ..check.dataset_check import check_dataset, print_report
    from ..clips.protocol import find_protocol
    from ..plugin.host import get_registry
    from ..run.prepare import make_adapter

    if not args.name:
        raise HrbenchError("usage: hrbench datasets check NAME [ROOT] [--protocol P]")
    reg = get_registry()
    adapter = make_adapter(reg, args.name, getattr(args, "allow_outside", False))
    root = Path(args.root) if args.root else adapter.default_root()
    if root is None:
        raise HrbenchError(f"dataset {args.name} needs a ROOT directory")
    # The protocol's requirements too: "no problems found" means that protocol scores every recording.
    protocol = find_protocol(args.protocol or "subject_exclusive", reg.protocol_dirs)  # `run`'s default
    if not adapter.needs_root:
        adapter.prepare(root)
    report = check_dataset(adapter, root, protocol, bool(getattr(args, "deep", False)))
    return print_report(report, args.name, root, Console(width=160, emoji=False), default_protocol=not args.protocol)


def cmd_datasets(args: argparse.Namespace) -> int:
    """List dataset adapters, or check a copy of a dataset."""
    from ..plugin.host import get_registry

    if args.action == "check":
        return _check(args)
    for name, cls in sorted(get_registry().datasets.items()):
        print(f"{name:16s} {cls.description}")
    return 0


def cmd_protocols(args: argparse.Namespace) -> int:
    """List protocols with their hashes and one-line descriptions."""
    from ..clips.protocol import available_protocols, load_protocol
    from ..plugin.host import get_registry

    for name, path in sorted(available_protocols(get_registry().protocol_dirs).items()):
        p = load_protocol(path)
        print(f"{name:20s} {p.short_hash}  {p.describe()}")
    return 0
