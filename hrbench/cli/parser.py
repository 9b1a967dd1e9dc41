"""The ``hrbench`` argument parser: one function per command, each naming the function that runs it."""

from __future__ import annotations

import argparse

from .. import __version__
from .cmd_boards import cmd_compare, cmd_export, cmd_leaderboard, cmd_runs, cmd_site
from .cmd_data import cmd_datasets, cmd_protocols
from .cmd_inspect import cmd_inspect
from .cmd_plugins import cmd_methods, cmd_plugins
from .cmd_run import cmd_explain, cmd_run
from .common import Parser, int_arg

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
STORE_HELP = "results database (default: $HRBENCH_STORE or ~/.local/share/hrbench/results.sqlite)"
CACHE_HELP = "cache directory (default: $HRBENCH_CACHE or ~/.cache/hrbench)"
OUTSIDE_HELP = "let a dataset manifest (folder adapter) name files outside its folder"


def _data_args(p: argparse.ArgumentParser) -> None:
    """What to run and on what: methods, dataset, protocol, parameters, seeds."""
    p.add_argument("--method", default="stmap_transfer",
                   help="comma-separated method names (see `hrbench plugins`); default: %(default)s")
    p.add_argument("--dataset", default="synthetic",
                   help="dataset to test on; default: the embedded %(default)s dataset, generated on first use")
    p.add_argument("--data-root", help="where your copy of the dataset lives")
    p.add_argument("--protocol", default="subject_exclusive",
                   help="protocol name (see `hrbench protocols`) or path to a .toml; default: %(default)s")
    p.add_argument("--profile", default="default",
                   help="method profile: 'default' (CPU budget) or e.g. 'paper' (the paper's settings)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="override a method parameter (repeatable)")
    p.add_argument("--seed", type=int_arg("--seed"),
                   help="training seed, 0..2147483647 (default: the protocol's seed)")
    p.add_argument("--seeds", type=int_arg("--seeds"), default=1, metavar="N",
                   help="train supervised methods with N seeds (--seed, --seed+1, ...); boards show mean and spread; "
                        "default 1")
    p.add_argument("--name", metavar="LABEL",
                   help="board label of the dataset (default: the adapter's name; the folder adapter adds the data "
                        "folder's name)")
    p.add_argument("--skip-invalid", action="store_true",
                   help="skip malformed recordings (recorded with the run) instead of stopping")
    p.add_argument("--allow-outside", action="store_true", help=OUTSIDE_HELP)
    p.add_argument("--landmarker", default="mediapipe_litert", help="face landmarker plugin; default: %(default)s")


def _machine_args(p: argparse.ArgumentParser) -> None:
    """Where and how it runs: processes, threads, caches, device, executor."""
    p.add_argument("--workers", type=int_arg("--workers"),
                   help="processes for trace extraction (default: one per usable CPU; capped at the CPUs)")
    p.add_argument("--threads", type=int_arg("--threads"),
                   help="threads per process for torch/BLAS/OpenCV (default: CPUs shared out so workers x threads "
                        "<= CPUs)")
    p.add_argument("--cache", help=CACHE_HELP)
    p.add_argument("--device", help="device for deep methods: cpu, cuda or cuda:N (default: cuda if available)")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="where extraction and folds run: local processes, or a Ray cluster "
                        "(pip install 'hrbench[ray]'; docs/scale.md)")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="with --executor ray: the cluster to join (default: $RAY_ADDRESS, else a local Ray)")


def _add_run(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run methods under a protocol and store the results", epilog=EPILOG_RUN,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    _data_args(run)
    _machine_args(run)
    run.add_argument("--train-on", help="training dataset for cross-database protocols")
    run.add_argument("--train-root", help="data root of --train-on")
    run.add_argument("--train-fraction", type=float, default=1.0,
                     help="use this fraction of training clips (SynRhythm Fig. 6); default 1")
    run.add_argument("--store", help=STORE_HELP)
    talk = run.add_mutually_exclusive_group()
    talk.add_argument("--quiet", action="store_true", help="no progress output (warnings and errors still shown)")
    talk.add_argument("--verbose", action="store_true",
                      help="a progress line per item (video, epoch) and native libraries' messages")
    run.set_defaults(func=cmd_run)

    ex = sub.add_parser("explain", help="train a method on one fold and save its explanations (e.g. attention maps) "
                                        "of a few test clips")
    _data_args(ex)
    _machine_args(ex)
    ex.add_argument("--fold", type=int, default=1, help="which fold to train on (1-based); default 1")
    ex.add_argument("--n-clips", type=int, default=4, help="how many test clips to explain; default 4")
    ex.add_argument("--out", default="explain", help="output directory; default: %(default)s")
    ex.set_defaults(func=cmd_explain)


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    ins = sub.add_parser("inspect", help="draw one recording's landmarks, ROI regions, signals and spectra "
                                         "(is it the face, the signal or the estimator?)")
    ins.add_argument("--dataset", default="synthetic", help="dataset name; default: %(default)s")
    ins.add_argument("--data-root", help="where your copy of the dataset lives")
    ins.add_argument("--recording", required=True, metavar="ID",
                     help="recording id (as in results; a wrong id lists valid ones)")
    ins.add_argument("--out", help="output directory; default: ./hrbench-inspect/<dataset>-<recording>/")
    ins.add_argument("--method", default="pos",
                     help="method whose pulse is shown (any method with produces_pulse); default: %(default)s")
    ins.add_argument("--frames", type=int, default=4, help="how many frames to draw; default: %(default)s")
    ins.add_argument("--landmarker", default="mediapipe_litert", help="face landmarker plugin; default: %(default)s")
    ins.add_argument("--seconds", metavar="A:B",
                     help="only this span of the recording, in seconds (e.g. 10:40); default: all")
    ins.add_argument("--protocol", default="subject_exclusive",
                     help="protocol whose HR settings are used; default: %(default)s")
    ins.add_argument("--cache", help=CACHE_HELP)
    ins.set_defaults(func=cmd_inspect)


def _add_store_readers(sub: argparse._SubParsersAction) -> None:
    lb = sub.add_parser("leaderboard", help="render markdown leaderboards from the results store")
    lb.add_argument("--dataset", help="only this dataset")
    lb.add_argument("--protocol", help="only this protocol")
    lb.add_argument("--all", action="store_true", help="every dataset x protocol in the store (the default)")
    lb.add_argument("--by", metavar="KEY",
                    help="also write a breakdown table by KEY: subject, hr_range, or any key of the recordings' "
                         "meta their adapter provides (e.g. scenario, skin_tone)")
    lb.add_argument("--store", help=STORE_HELP)
    lb.add_argument("--out", help="output directory; default: leaderboards/ in the user's data directory "
                    "($XDG_DATA_HOME or ~/.local/share, then hrbench), beside the default store")
    lb.set_defaults(func=cmd_leaderboard)

    si = sub.add_parser("site", help="build a static leaderboard website from the results store "
                                     "(sortable tables, plots, a page per run)")
    si.add_argument("--out", required=True,
                    help="output folder (a site it wrote before is replaced; any other non-empty folder is refused)")
    si.add_argument("--store", help=STORE_HELP)
    si.set_defaults(func=cmd_site)

    xp = sub.add_parser("export", help="write runs, per-video and per-window predictions as tidy tables "
                                       "(CSV or Parquet)")
    xp.add_argument("--format", choices=["csv", "parquet"], default="csv", help="table format; default: %(default)s")
    xp.add_argument("--out", required=True, help="output folder: runs, videos and windows tables are written there")
    xp.add_argument("--store", help=STORE_HELP)
    xp.set_defaults(func=cmd_export)

    cmp_ = sub.add_parser("compare", help="subject-level paired test of two methods "
                                          "(sign-flip permutation; Wilcoxon on subjects)")
    cmp_.add_argument("methods", nargs=2, metavar="METHOD")
    cmp_.add_argument("--dataset", default="synthetic")
    cmp_.add_argument("--protocol", default="subject_exclusive")
    cmp_.add_argument("--store", help=STORE_HELP)
    cmp_.set_defaults(func=cmd_compare)

    ru = sub.add_parser("runs", help="list stored runs, or delete runs with their folds and predictions")
    ru.add_argument("action", nargs="?", choices=["list", "rm"], default="list")
    ru.add_argument("keys", nargs="*", metavar="KEY",
                    help="rm: run keys (or unique prefixes) from `hrbench runs list`")
    ru.add_argument("--store", help="results database (default for list: $HRBENCH_STORE or "
                                    "~/.local/share/hrbench/results.sqlite; rm requires it)")
    ru.set_defaults(func=cmd_runs)


def _add_plugin_commands(sub: argparse._SubParsersAction) -> None:
    pl = sub.add_parser("plugins", help="list loaded plugins, their distributions and what they register "
                                        "(exit status 1 when one failed to load)")
    pl.add_argument("--check", action="store_true",
                    help="also run the conformance kit (hrbench.testing) over every registered plugin")
    pl.add_argument("--full", action="store_true",
                    help="with --check: also train supervised methods (slow for deep ones)")
    pl.set_defaults(func=cmd_plugins)

    me = sub.add_parser("methods", help="list methods, or show one's description, citation, ROI scheme, "
                                        "parameters and profiles")
    me.add_argument("name", nargs="?", help="method name")
    me.set_defaults(func=cmd_methods)

    ds = sub.add_parser("datasets", help="list dataset adapters, or check a copy of a dataset")
    ds.add_argument("action", nargs="?", choices=["list", "check"], default="list")
    ds.add_argument("name", nargs="?", help="adapter name, e.g. mahnob_hci")
    ds.add_argument("root", nargs="?", help="dataset root directory")
    ds.add_argument("--deep", action="store_true",
                    help="check: decode every frame too (slow; default decodes a few per recording)")
    ds.add_argument("--allow-outside", action="store_true", help=OUTSIDE_HELP)
    ds.add_argument("--protocol", help="check: apply this protocol's requirements too (clip length, window, "
                                       "evaluation rule, folds); name or .toml path; default: subject_exclusive, "
                                       "as `hrbench run`")
    ds.set_defaults(func=cmd_datasets)

    pr = sub.add_parser("protocols", help="list protocols and their hashes")
    pr.set_defaults(func=cmd_protocols)


def build_parser() -> argparse.ArgumentParser:
    """The ``hrbench`` parser; each subcommand's ``func`` runs it."""
    parser = Parser(
        prog="hrbench",
        description="Benchmark remote-photoplethysmography (heart rate from face video) methods fairly: "
                    "same data, splits, ground truth and metrics.",
    )
    parser.add_argument("--version", action="version", version=f"hrbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(sub)
    _add_inspect(sub)
    _add_store_readers(sub)
    _add_plugin_commands(sub)
    return parser
