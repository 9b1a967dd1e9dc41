"""``hrbench run`` and ``hrbench explain``: the options of a run, from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape

from ..errors import HrbenchError
from .common import err_console, out_console, store_path


def _params(pairs: list[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for kv in pairs or []:
        if "=" not in kv:
            raise HrbenchError(f"--param expects key=value, got {kv!r}")
        k, v = kv.split("=", 1)
        params[k.strip()] = v.strip()
    return params


def _verbosity(args: argparse.Namespace) -> str:
    if getattr(args, "quiet", False):
        return "quiet"
    return "verbose" if getattr(args, "verbose", False) else "normal"


def run_options(args: argparse.Namespace) -> Any:
    """The :class:`hrbench.run.runner.RunOptions` of ``run``/``explain`` (explain has no --store, --seeds, ...)."""
    from ..run.provenance import command_line
    from ..run.runner import RunOptions

    def path(name: str) -> Path | None:
        value = getattr(args, name, None)
        return Path(value) if value else None

    return RunOptions(
        methods=[m.strip() for m in args.method.split(",") if m.strip()],
        dataset=args.dataset,
        data_root=path("data_root"),
        protocol=args.protocol,
        train_on=getattr(args, "train_on", None),
        train_root=path("train_root"),
        profile=args.profile,
        params=_params(args.param),
        seed=args.seed,
        seeds=getattr(args, "seeds", 1),
        name=getattr(args, "name", None),
        train_fraction=getattr(args, "train_fraction", 1.0),
        skip_invalid=args.skip_invalid,
        allow_outside=getattr(args, "allow_outside", False),
        landmarker=args.landmarker,
        workers=args.workers,
        threads=getattr(args, "threads", None),
        store_path=path("store"),
        cache_root=path("cache"),
        device=args.device,
        command=command_line(),
        executor=getattr(args, "executor", "local"),
        ray_address=getattr(args, "ray_address", None),
        verbosity=_verbosity(args),
    )


def cmd_run(args: argparse.Namespace) -> int:
    """``hrbench run``: run methods under a protocol, store the results, print the run's table."""
    from ..boards.summary import run_table
    from ..run.runner import Runner

    opts = run_options(args)
    console = err_console()
    summary = Runner(opts, console=console).run()
    store = opts.store_path or store_path(args)
    out_console().print(run_table(store, summary))
    for name, why in summary.not_run.items():
        console.print(f"[yellow]{name}: not run[/]: {escape(why)}", highlight=False, soft_wrap=True)
    if summary.skipped:
        console.print(f"[yellow]skipped {len(summary.skipped)} recording(s):[/]")
        for p in summary.skipped:
            console.print(f"  {escape(str(p))}", highlight=False, soft_wrap=True)
    console.print(
        f"[dim]done in {summary.timings['total_s']:.1f} s (traces {summary.timings.get('traces_s', 0):.1f} s); "
        f"store: {escape(str(store))}[/]",
        highlight=False,
    )
    if summary.failed:  # the other methods' runs are stored; the same command retries these
        failed = "; ".join(f"{name} ({why})" for name, why in summary.failed.items())
        print(f"hrbench: error: {len(summary.failed)} method(s) failed: {failed}", file=sys.stderr)
        return 2
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """``hrbench explain``: train on one fold and save the method's explanations of a few test clips."""
    from ..run.runner import Runner

    opts = run_options(args)
    paths = Runner(opts, console=err_console()).explain(args.fold - 1, args.n_clips, Path(args.out))
    for p in paths:
        print(p)
    return 0
