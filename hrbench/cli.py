"""The ``hrbench`` command line.

Every failure a user can cause ends in one line on stderr naming the file and
what is wrong (exit status 2), never a traceback; ``HRBENCH_DEBUG=1`` shows
the traceback for bug reports.  An interrupted run is resumed by running the
same command again.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__
from .errors import HrbenchError

EPILOG_RUN = """\
examples:
  hrbench run                                   # the main job: stmap_transfer, subject-exclusive, embedded data
  hrbench run --method green,ica,chrom,pos --protocol subject_exclusive
  hrbench run --method stmap_transfer --profile paper        # the paper's settings (slow on CPU)
  hrbench run --dataset vipl_hr --data-root /data/VIPL-HR --method chrom --protocol vipl_hr_5fold
  hrbench run --protocol cross_database --train-on synthetic-large --dataset synthetic --method svr

Results go to the store (--store); `hrbench leaderboard` turns them into markdown.
Re-running the same command reuses cached traces and stored folds.
"""


def _console() -> Console:
    # Messages carry user text (paths, ids): never turn ":x:" into an emoji.
    return Console(stderr=True, emoji=False)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage block is one ``--help`` away)."""

    def error(self, message: str) -> Any:
        sys.stderr.write(f"hrbench: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def _int_arg(flag: str) -> Any:
    """argparse type: an integer, with a one-line error for '1e20', '1.5' or 'x'."""

    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes a whole number, got {text!r}") from None

    return parse


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import Runner
    from .store import default_store_path
    from .summary import run_table

    opts = _run_options(args)
    console = _console()
    summary = Runner(opts, console=console).run()
    out = Console(emoji=False) if sys.stdout.isatty() else Console(width=160, emoji=False)
    out.print(run_table(opts.store_path or default_store_path(), summary))
    if summary.not_run:
        for name, why in summary.not_run.items():
            console.print(f"[yellow]{name}: not run[/]: {escape(why)}", highlight=False, soft_wrap=True)
    if summary.skipped:
        console.print(f"[yellow]skipped {len(summary.skipped)} recording(s):[/]")
        for p in summary.skipped:
            console.print(f"  {escape(str(p))}", highlight=False, soft_wrap=True)
    console.print(
        f"[dim]done in {summary.timings['total_s']:.1f} s (traces {summary.timings.get('traces_s', 0):.1f} s); "
        f"store: {escape(str(opts.store_path or default_store_path()))}[/]",
        highlight=False,
    )
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from .leaderboard import default_out_dir, write_boards
    from .store import Store, default_store_path

    path = Path(args.store) if args.store else default_store_path()
    if not path.exists():
        raise HrbenchError("results store not found; run `hrbench run` first or pass --store", path)
    store = Store(path, readonly=True)  # a reader never migrates or locks the store

    def removed(p: Path) -> None:
        print(f"removed {p} (its runs are no longer in the store)", file=sys.stderr)

    try:
        out = Path(args.out) if args.out else default_out_dir()
        written = write_boards(store, out, args.dataset, args.protocol, args.by, on_remove=removed)
    finally:
        store.close()
    if not any(p.name != "README.md" for p in written):
        raise HrbenchError("no complete runs in the store match", path)
    for p in written:
        print(p)
    return 0


def _run_options(args: argparse.Namespace) -> Any:
    from .runner import RunOptions, command_line

    params: dict[str, str] = {}
    for kv in args.param or []:
        if "=" not in kv:
            raise HrbenchError(f"--param expects key=value, got {kv!r}")
        k, v = kv.split("=", 1)
        params[k.strip()] = v.strip()
    return RunOptions(
        methods=[m.strip() for m in args.method.split(",") if m.strip()],
        dataset=args.dataset,
        data_root=Path(args.data_root) if args.data_root else None,
        protocol=args.protocol,
        train_on=getattr(args, "train_on", None),
        train_root=Path(args.train_root) if getattr(args, "train_root", None) else None,
        profile=args.profile,
        params=params,
        seed=args.seed,
        seeds=getattr(args, "seeds", 1),
        name=getattr(args, "name", None),
        train_fraction=getattr(args, "train_fraction", 1.0),
        skip_invalid=args.skip_invalid,
        allow_outside=getattr(args, "allow_outside", False),
        landmarker=args.landmarker,
        workers=args.workers,
        threads=getattr(args, "threads", None),
        store_path=Path(args.store) if getattr(args, "store", None) else None,
        cache_root=Path(args.cache) if args.cache else None,
        device=args.device,
        command=command_line(),
        executor=getattr(args, "executor", "local"),
        ray_address=getattr(args, "ray_address", None),
        verbosity="quiet" if getattr(args, "quiet", False) else "verbose" if getattr(args, "verbose", False) else "normal",
    )


def cmd_explain(args: argparse.Namespace) -> int:
    from .runner import Runner

    opts = _run_options(args)
    paths = Runner(opts, console=_console()).explain(args.fold - 1, args.n_clips, Path(args.out))
    for p in paths:
        print(p)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    """Write the ROI / signal / HR pictures of one recording and print their paths.

    The quickest way to tell whether a bad number comes from the face (lost,
    mis-framed), the signal (no pulse in the trace) or the estimator (wrong
    peak): see :mod:`hrbench.roi_view`.
    """
    import math

    from .roi_view import inspect_recording

    res = inspect_recording(
        args.dataset,
        args.recording,
        data_root=Path(args.data_root) if args.data_root else None,
        out=Path(args.out) if args.out else None,
        method=args.method,
        n_frames=args.frames,
        landmarker=args.landmarker,
        seconds=args.seconds,
        protocol=args.protocol,
        cache_root=Path(args.cache) if args.cache else None,
    )
    _console().print(
        f"[dim]{res.recording_id}: pulse HR {res.hr_pulse:.1f} bpm, reference {res.hr_ref:.1f} bpm, "
        f"face lost in {100 * res.lost_fraction:.1f} % of {res.span[0]:.1f}-{res.span[1]:.1f} s[/]"
        if math.isfinite(res.hr_pulse) and math.isfinite(res.hr_ref)
        else f"[dim]{res.recording_id}: see {res.summary}[/]",
        highlight=False,
        soft_wrap=True,
    )
    for p in res.paths:
        print(p)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .leaderboard import compare
    from .store import Store, default_store_path

    path = Path(args.store) if args.store else default_store_path()
    if not path.exists():
        raise HrbenchError("results store not found; run `hrbench run` first or pass --store", path)
    store = Store(path, readonly=True)
    try:
        # Subject-level paired test; an unpairable request (unknown method, different protocol
        # hash or fingerprint, no common recordings) is a one-line ConfigError, exit status 2.
        print(compare(store, args.methods[0], args.methods[1], args.dataset, args.protocol))
    finally:
        store.close()
    return 0


def _read_store(args: argparse.Namespace) -> Any:
    """The results store named by --store (else the default one), opened read-only; a missing one is one line."""
    from .store import Store, default_store_path

    path = Path(args.store) if args.store else default_store_path()
    if not path.exists():
        raise HrbenchError("results store not found; run `hrbench run` first or pass --store", path)
    return Store(path, readonly=True)


def cmd_site(args: argparse.Namespace) -> int:
    """``hrbench site``: the store as a static, offline website (boards, plots, one page per run)."""
    from .site import build_site

    store = _read_store(args)
    try:
        written = build_site(store, Path(args.out))
    finally:
        store.close()
    print(f"{Path(args.out) / 'index.html'} ({len(written)} files)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``hrbench export``: runs, per-video and per-window predictions as CSV or Parquet tables."""
    from .frames import export_frames, read_results

    store = _read_store(args)
    try:
        frames = read_results(store)
    finally:
        store.close()
    for p in export_frames(frames, Path(args.out), args.format):
        print(p)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """List plugins; with ``--check``, run the conformance kit over everything they register.

    Exit status 1 when a plugin failed to load or (with ``--check``) a check failed,
    so CI of a plugin package can run ``hrbench plugins --check``.
    """
    from .plugins import get_registry

    reg = get_registry()
    t = Table(title="hrbench plugins (entry-point group 'hrbench')")
    for col in ("Plugin", "Distribution", "Version", "Registers", "Status"):
        t.add_column(col)
    rows = ([reg.core] if reg.core else []) + list(reg.plugins)
    for p in rows:
        regs = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(p.registered.items()))
        name = f"{p.name} (core)" if p is reg.core else p.name
        t.add_row(name, p.distribution, p.version, regs, f"[red]failed: {escape(p.error)}[/]" if p.error else "[green]ok[/]")
    Console(width=200, emoji=False).print(t)
    failed = bool(reg.failed())
    if not getattr(args, "check", False):
        return 0
    from .testing import check_registry

    results = check_registry(fast_supervised=not getattr(args, "full", False))
    ct = Table(title="conformance checks (hrbench.testing)" + ("" if getattr(args, "full", False) else "; supervised methods: class contract only (--full trains them)"))
    for col in ("Kind", "Name", "Passed", "Skipped", "Failed"):
        ct.add_column(col, justify="right" if col in ("Passed", "Skipped", "Failed") else "left")
    by: dict[tuple[str, str], list[Any]] = {}
    for r in results:
        by.setdefault((r.kind, r.name), []).append(r)
    for (kind, name), rs in by.items():
        n = {s: sum(r.status == s for r in rs) for s in ("passed", "skipped", "failed")}
        ct.add_row(kind, name, str(n["passed"]), str(n["skipped"]), f"[red]{n['failed']}[/]" if n["failed"] else "0")
    out = Console(width=200, emoji=False)
    out.print(ct)
    bad = [r for r in results if r.status == "failed"]
    for r in bad:
        out.print(f"[red]FAILED[/] {r.kind} {escape(r.name)} {r.check}: {escape(r.detail)}", highlight=False, soft_wrap=True)
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


def cmd_methods(args: argparse.Namespace) -> int:
    """List methods, or describe one: what it needs, its parameters and profiles."""
    from .plugins import get_registry

    reg = get_registry()
    out = Console(width=160, emoji=False) if not sys.stdout.isatty() else Console(emoji=False)
    if not args.name:
        t = Table(title="hrbench methods (`hrbench methods NAME` for details)")
        for col in ("Method", "Supervised", "ROI scheme", "Plugin", "Description"):
            t.add_column(col)
        for name, cls in sorted(reg.methods.items()):
            t.add_row(name, "yes" if cls.supervised else "no", cls.roi_scheme, reg.owner.get(("methods", name), "?"), escape(cls.description))
        out.print(t)
        return 0
    cls = reg.method(args.name)
    out.print(f"[bold]{escape(cls.name)}[/]  (plugin {escape(reg.owner.get(('methods', cls.name), '?'))})", highlight=False)
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
    profiles = {"default": {}, **cls.profiles}
    for prof, overrides in profiles.items():
        sets = ", ".join(f"{k}={v!r}" for k, v in overrides.items()) or "the parameter defaults"
        out.print(f"  profile [bold]{escape(prof)}[/]: {escape(sets)}", highlight=False, soft_wrap=True)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """List stored runs, or delete some (with their folds and predictions) in one transaction."""
    from .runs import list_runs, remove_runs
    from .store import Store, default_store_path

    path = Path(args.store) if args.store else default_store_path()
    if args.action == "rm":
        if not args.keys:
            raise HrbenchError("usage: hrbench runs rm KEY [KEY ...] --store PATH (see `hrbench runs list`)")
        if not args.store:
            raise HrbenchError("hrbench runs rm needs --store PATH (deleting is never done on an implied store)")
        if not path.is_file():
            raise HrbenchError("results store not found", path)
        store = Store(path)
        try:
            counts = remove_runs(store, args.keys)
        finally:
            store.close()
        n_runs = counts.get("runs", 0)
        rest = ", ".join(f"{n} {t}" for t, n in counts.items() if t != "runs")
        print(f"deleted {n_runs} run(s) ({rest}) from {path}")
        return 0
    if not path.exists():
        raise HrbenchError("results store not found; run `hrbench run` first or pass --store", path)
    store = Store(path, readonly=True)
    try:
        rows = list_runs(store)
    finally:
        store.close()
    t = Table(title=f"runs in {path}")
    for col in ("Key", "Method", "Dataset", "Protocol", "Seed", "Complete", "Created"):
        t.add_column(col)
    for r in rows:
        t.add_row(r.key, escape(r.method), escape(r.dataset), escape(r.protocol), str(r.seed), "yes" if r.complete else "[yellow]no[/]", r.created)
    Console(width=200, emoji=False).print(t)
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from .plugins import get_registry

    reg = get_registry()
    if args.action == "list" or args.action is None:
        for name, cls in sorted(reg.datasets.items()):
            print(f"{name:16s} {cls.description}")
        return 0
    if not args.name:
        raise HrbenchError("usage: hrbench datasets check NAME [ROOT] [--protocol P]")
    from .prepare import make_adapter

    adapter = make_adapter(reg, args.name, getattr(args, "allow_outside", False))
    root = Path(args.root) if args.root else adapter.default_root()
    if root is None:
        raise HrbenchError(f"dataset {args.name} needs a ROOT directory")
    # The protocol's requirements too: "no problems found" means that protocol scores every recording.
    from .dataset_check import check_dataset, print_report
    from .protocol import find_protocol

    protocol = find_protocol(args.protocol or "subject_exclusive", reg.protocol_dirs)  # `run`'s default
    if not adapter.needs_root:
        adapter.prepare(root)
    report = check_dataset(adapter, root, protocol, bool(getattr(args, "deep", False)))
    out = Console(width=160, emoji=False)
    return print_report(report, args.name, root, out, default_protocol=not args.protocol)


def cmd_protocols(args: argparse.Namespace) -> int:
    from .plugins import get_registry
    from .protocol import available_protocols, load_protocol

    for name, path in sorted(available_protocols(get_registry().protocol_dirs).items()):
        p = load_protocol(path)
        print(f"{name:20s} {p.short_hash}  {p.describe()}")
    return 0


def _common_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default="stmap_transfer", help="comma-separated method names (see `hrbench plugins`); default: %(default)s")
    p.add_argument("--dataset", default="synthetic", help="dataset to test on; default: the embedded %(default)s dataset, generated on first use")
    p.add_argument("--data-root", help="where your copy of the dataset lives")
    p.add_argument("--protocol", default="subject_exclusive", help="protocol name (see `hrbench protocols`) or path to a .toml; default: %(default)s")
    p.add_argument("--profile", default="default", help="method profile: 'default' (CPU budget) or e.g. 'paper' (the paper's settings)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="override a method parameter (repeatable)")
    p.add_argument("--seed", type=_int_arg("--seed"), help="training seed, 0..2147483647 (default: the protocol's seed)")
    p.add_argument("--seeds", type=_int_arg("--seeds"), default=1, metavar="N",
                   help="train supervised methods with N seeds (--seed, --seed+1, ...); boards show mean and spread; default 1")
    p.add_argument("--name", metavar="LABEL", help="board label of the dataset (default: the adapter's name; the folder adapter adds the data folder's name)")
    p.add_argument("--skip-invalid", action="store_true", help="skip malformed recordings (recorded with the run) instead of stopping")
    p.add_argument("--allow-outside", action="store_true", help="let a dataset manifest (folder adapter) name files outside its folder")
    p.add_argument("--landmarker", default="mediapipe_litert", help="face landmarker plugin; default: %(default)s")
    p.add_argument("--workers", type=_int_arg("--workers"), help="processes for trace extraction (default: one per usable CPU; capped at the CPUs)")
    p.add_argument("--threads", type=_int_arg("--threads"), help="threads per process for torch/BLAS/OpenCV (default: CPUs shared out so workers x threads <= CPUs)")
    p.add_argument("--cache", help="cache directory (default: $HRBENCH_CACHE or ~/.cache/hrbench)")
    p.add_argument("--device", help="device for deep methods: cpu, cuda or cuda:N (default: cuda if available)")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="where extraction and folds run: local processes, or a Ray cluster (pip install 'hrbench[ray]'; docs/scale.md)")
    p.add_argument("--ray-address", metavar="ADDR", help="with --executor ray: the cluster to join (default: $RAY_ADDRESS, else a local Ray)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hrbench",
        description="Benchmark remote-photoplethysmography (heart rate from face video) methods fairly: same data, splits, ground truth and metrics.",
    )
    parser.add_argument("--version", action="version", version=f"hrbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run methods under a protocol and store the results", epilog=EPILOG_RUN, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_run_args(run)
    run.add_argument("--train-on", help="training dataset for cross-database protocols")
    run.add_argument("--train-root", help="data root of --train-on")
    run.add_argument("--train-fraction", type=float, default=1.0, help="use this fraction of training clips (SynRhythm Fig. 6); default 1")
    run.add_argument("--store", help="results database (default: $HRBENCH_STORE or ~/.local/share/hrbench/results.sqlite)")
    talk = run.add_mutually_exclusive_group()
    talk.add_argument("--quiet", action="store_true", help="no progress output (warnings and errors still shown)")
    talk.add_argument("--verbose", action="store_true", help="a progress line per item (video, epoch) and native libraries' messages")
    run.set_defaults(func=cmd_run)

    ex = sub.add_parser("explain", help="train a method on one fold and save its explanations (e.g. attention maps) of a few test clips")
    _common_run_args(ex)
    ex.add_argument("--fold", type=int, default=1, help="which fold to train on (1-based); default 1")
    ex.add_argument("--n-clips", type=int, default=4, help="how many test clips to explain; default 4")
    ex.add_argument("--out", default="explain", help="output directory; default: %(default)s")
    ex.set_defaults(func=cmd_explain)

    ins = sub.add_parser("inspect", help="draw one recording's landmarks, ROI regions, signals and spectra (is it the face, the signal or the estimator?)")
    ins.add_argument("--dataset", default="synthetic", help="dataset name; default: %(default)s")
    ins.add_argument("--data-root", help="where your copy of the dataset lives")
    ins.add_argument("--recording", required=True, metavar="ID", help="recording id (as in results; a wrong id lists valid ones)")
    ins.add_argument("--out", help="output directory; default: ./hrbench-inspect/<dataset>-<recording>/")
    ins.add_argument("--method", default="pos", help="method whose pulse() is shown; default: %(default)s")
    ins.add_argument("--frames", type=int, default=4, help="how many frames to draw; default: %(default)s")
    ins.add_argument("--landmarker", default="mediapipe_litert", help="face landmarker plugin; default: %(default)s")
    ins.add_argument("--seconds", metavar="A:B", help="only this span of the recording, in seconds (e.g. 10:40); default: all")
    ins.add_argument("--protocol", default="subject_exclusive", help="protocol whose HR settings are used; default: %(default)s")
    ins.add_argument("--cache", help="cache directory (default: $HRBENCH_CACHE or ~/.cache/hrbench)")
    ins.set_defaults(func=cmd_inspect)


    lb = sub.add_parser("leaderboard", help="render markdown leaderboards from the results store")
    lb.add_argument("--dataset", help="only this dataset")
    lb.add_argument("--protocol", help="only this protocol")
    lb.add_argument("--all", action="store_true", help="every dataset x protocol in the store (the default)")
    lb.add_argument("--by", choices=["scenario", "skin_tone", "subject", "hr_range"], help="also write a breakdown table by this field")
    lb.add_argument("--store", help="results database (default: $HRBENCH_STORE or ~/.local/share/hrbench/results.sqlite)")
    lb.add_argument("--out", help="output directory; default: leaderboards/ in the user's data directory "
                    "($XDG_DATA_HOME or ~/.local/share, then hrbench), beside the default store")
    lb.set_defaults(func=cmd_leaderboard)

    si = sub.add_parser("site", help="build a static leaderboard website from the results store (sortable tables, plots, a page per run)")
    si.add_argument("--out", required=True, help="output folder (a site it wrote before is replaced; any other non-empty folder is refused)")
    si.add_argument("--store", help="results database (default: $HRBENCH_STORE or ~/.local/share/hrbench/results.sqlite)")
    si.set_defaults(func=cmd_site)

    xp = sub.add_parser("export", help="write runs, per-video and per-window predictions as tidy tables (CSV or Parquet)")
    xp.add_argument("--format", choices=["csv", "parquet"], default="csv", help="table format; default: %(default)s")
    xp.add_argument("--out", required=True, help="output folder: runs, videos and windows tables are written there")
    xp.add_argument("--store", help="results database (default: $HRBENCH_STORE or ~/.local/share/hrbench/results.sqlite)")
    xp.set_defaults(func=cmd_export)

    cmp_ = sub.add_parser("compare", help="subject-level paired test of two methods (sign-flip permutation; Wilcoxon on subjects)")
    cmp_.add_argument("methods", nargs=2, metavar="METHOD")
    cmp_.add_argument("--dataset", default="synthetic")
    cmp_.add_argument("--protocol", default="subject_exclusive")
    cmp_.add_argument("--store", help="results database (default: $HRBENCH_STORE or ~/.local/share/hrbench/results.sqlite)")
    cmp_.set_defaults(func=cmd_compare)

    pl = sub.add_parser("plugins", help="list loaded plugins, their distributions and what they register")
    pl.add_argument("--check", action="store_true", help="also run the conformance kit (hrbench.testing) over every registered plugin")
    pl.add_argument("--full", action="store_true", help="with --check: also train supervised methods (slow for deep ones)")
    pl.set_defaults(func=cmd_plugins)

    me = sub.add_parser("methods", help="list methods, or show one's description, citation, ROI scheme, parameters and profiles")
    me.add_argument("name", nargs="?", help="method name")
    me.set_defaults(func=cmd_methods)

    ru = sub.add_parser("runs", help="list stored runs, or delete runs with their folds and predictions")
    ru.add_argument("action", nargs="?", choices=["list", "rm"], default="list")
    ru.add_argument("keys", nargs="*", metavar="KEY", help="rm: run keys (or unique prefixes) from `hrbench runs list`")
    ru.add_argument("--store", help="results database (default for list: $HRBENCH_STORE or ~/.local/share/hrbench/results.sqlite; rm requires it)")
    ru.set_defaults(func=cmd_runs)

    ds = sub.add_parser("datasets", help="list dataset adapters, or check a copy of a dataset")
    ds.add_argument("action", nargs="?", choices=["list", "check"], default="list")
    ds.add_argument("name", nargs="?", help="adapter name, e.g. mahnob_hci")
    ds.add_argument("root", nargs="?", help="dataset root directory")
    ds.add_argument("--deep", action="store_true", help="check: decode every frame too (slow; default decodes a few per recording)")
    ds.add_argument("--allow-outside", action="store_true", help="let a dataset manifest (folder adapter) name files outside its folder")
    ds.add_argument("--protocol", help="check: apply this protocol's requirements too (clip length, window, evaluation rule, folds); name or .toml path; default: subject_exclusive, as `hrbench run`")
    ds.set_defaults(func=cmd_datasets)

    pr = sub.add_parser("protocols", help="list protocols and their hashes")
    pr.set_defaults(func=cmd_protocols)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    from .executor import handle_termination
    from .fsutil import set_cache_root

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
