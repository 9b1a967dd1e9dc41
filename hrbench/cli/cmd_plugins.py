"""``hrbench plugins`` (what is installed, does it load, does it conform) and ``hrbench methods``."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .common import out_console


def _plugins_table(reg: Any) -> Table:
    t = Table(title="hrbench plugins (entry-point group 'hrbench')")
    for col in ("Plugin", "Distribution", "Version", "Registers", "Status"):
        t.add_column(col)
    for p in ([reg.core] if reg.core else []) + list(reg.plugins):
        regs = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(p.registered.items()))
        name = f"{p.name} (core)" if p is reg.core else p.name
        status = f"[red]failed: {escape(p.error)}[/]" if p.error else "[green]ok[/]"
        t.add_row(name, p.distribution, p.version, regs, status)
    return t


def _checks_table(results: list[Any], full: bool) -> Table:
    title = "conformance checks (hrbench.testing)"
    if not full:
        title += "; supervised methods: class contract only (--full trains them)"
    t = Table(title=title)
    for col in ("Kind", "Name", "Passed", "Skipped", "Failed"):
        t.add_column(col, justify="left" if col in ("Kind", "Name") else "right")
    by: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in results:
        by[(r.kind, r.name)].append(r)
    for (kind, name), rs in by.items():
        n = {s: sum(r.status == s for r in rs) for s in ("passed", "skipped", "failed")}
        t.add_row(kind, name, str(n["passed"]), str(n["skipped"]), f"[red]{n['failed']}[/]" if n["failed"] else "0")
    return t


def skip_lines(results: list[Any]) -> list[str]:
    """One line per plugin and reason, naming the checks skipped for it (a skip is never silent)."""
    by: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for r in results:
        if r.status == "skipped":
            by[(r.kind, r.name, r.detail)].append(r.check)
    return [f"skipped {kind} {name} ({', '.join(checks)}): {why}" for (kind, name, why), checks in by.items()]


def cmd_plugins(args: argparse.Namespace) -> int:
    """List plugins; with ``--check``, run the conformance kit over everything they register.

    Exit status 1 when a plugin failed to load or (with ``--check``) a check failed,
    so CI of a plugin package can run ``hrbench plugins`` or ``hrbench plugins --check``.
    """
    from ..plugin.host import get_registry

    reg = get_registry()
    out = Console(width=200, emoji=False)
    out.print(_plugins_table(reg))
    failed = reg.failed()
    for p in failed:
        print(f"hrbench: plugin {p.name!r} failed to load: {p.error}", file=sys.stderr)
    if not getattr(args, "check", False):
        return 1 if failed else 0
    from ..testing import check_registry

    full = bool(getattr(args, "full", False))
    results = check_registry(fast_supervised=not full)
    out.print(_checks_table(results, full))
    for line in skip_lines(results):
        out.print(escape(line), highlight=False, soft_wrap=True)
    bad = [r for r in results if r.status == "failed"]
    for r in bad:
        out.print(f"[red]FAILED[/] {r.kind} {escape(r.name)} {r.check}: {escape(r.detail)}",
                  highlight=False, soft_wrap=True)
    return 1 if bad or failed else 0


def _describe_param(p: Any) -> tuple[str, str, str]:
    """(default, type, range) of a Param, as `hrbench methods NAME` prints them."""
    if p.choices is not None:
        rng = "one of " + ", ".join(map(repr, p.choices))
    elif p.low is not None or p.high is not None:
        rng = f"{'' if p.low is None else p.low} .. {'' if p.high is None else p.high}"
    else:
        rng = ""
    return repr(p.default), getattr(p.type, "__name__", str(p.type)), rng


def _methods_table(reg: Any) -> Table:
    t = Table(title="hrbench methods (`hrbench methods NAME` for details)")
    for col in ("Method", "Supervised", "ROI scheme", "Plugin", "Description"):
        t.add_column(col)
    for name, cls in sorted(reg.methods.items()):
        t.add_row(name, "yes" if cls.supervised else "no", cls.roi_scheme, reg.owner.get(("methods", name), "?"),
                  escape(cls.description))
    return t


def _describe_method(out: Console, reg: Any, cls: Any) -> None:
    owner = reg.owner.get(("methods", cls.name), "?")
    out.print(f"[bold]{escape(cls.name)}[/]  (plugin {escape(owner)})", highlight=False)
    facts = [
        ("description", cls.description or "-"),
        ("citation", cls.citation or "-"),
        ("supervised", "yes" if cls.supervised else "no"),
        ("produces_pulse", "yes" if cls.produces_pulse else "no"),
        ("ROI scheme", cls.roi_scheme),
    ]
    if getattr(cls, "train_clip_factor", 1.0) != 1.0:
        facts.append(("train_clip_factor", str(cls.train_clip_factor)))
    for k, v in facts:
        out.print(f"  {k + ':':18s}{escape(str(v))}", highlight=False, soft_wrap=True)
    if cls.params:
        t = Table(title="parameters (--param KEY=VALUE)")
        for col in ("Name", "Default", "Type", "Range", "Help"):
            t.add_column(col)
        for k, p in cls.params.items():
            default, typ, rng = _describe_param(p)
            t.add_row(k, escape(default), typ, escape(rng), escape(p.help))
        out.print(t)
    else:
        out.print("  no parameters")
    for prof, overrides in {"default": {}, **cls.profiles}.items():
        sets = ", ".join(f"{k}={v!r}" for k, v in overrides.items()) or "the parameter defaults"
        out.print(f"  profile [bold]{escape(prof)}[/]: {escape(sets)}", highlight=False, soft_wrap=True)


def cmd_methods(args: argparse.Namespace) -> int:
    """List methods, or describe one: what it needs, its parameters and profiles."""
    from ..plugin.host import get_registry

    reg = get_registry()
    out = out_console()
    if not args.name:
        out.print(_methods_table(reg))
    else:
        _describe_method(out, reg, reg.method(args.name))
    return 0
