"""Imports only go down the stages of ``hrbench/``.

Each top-level module or package of ``hrbench/`` is a stage with a level (:data:`LEVELS`); a module may
import its own stage or one at a lower level, never one at its own level or above.  Why a test on top of
the cycle check: no cycle only says the modules can be ordered; this says *which* order, so the layout
reads the way data flows (dataset -> recordings -> traces -> clips -> run -> store -> boards) and a new
import that runs back up (``data/`` reaching into ``run/``) fails with both modules named, before it
tangles two stages that were apart.  Every import counts, as in :mod:`test_import_graph`: inside
functions and under ``if TYPE_CHECKING:`` too.
"""

from __future__ import annotations

from pathlib import Path

from test_import_graph import ROOT, import_graph

# The level of each stage (a top-level module or package of hrbench/; "" is the package face, __init__).
# Stages at one level are siblings that must not import each other.
LEVELS = {
    "": 0, "errors": 0, "fsutil": 0,  # the version, the errors users see, filesystem helpers
    "data": 1,  # the dataset-adapter contract: recordings, video, text, timing
    "pulse": 2,  # HR estimation, gap filling, overlap-add, ground-truth checks
    "plugin": 3,  # the plugin contract (Clips, Method, ROI schemes, landmarkers, RecordedAdapter) and its host
    "traces": 4,  # face -> ROI traces, cached (looks schemes and landmarkers up through the host)
    "clips": 5,  # the protocol; traces -> clips and evaluation windows; training subsets
    "check": 6, "store": 6,  # hrbench datasets check; the results store
    "run": 7, "boards": 7,  # a run: prepared data -> stored predictions; boards: the store -> leaderboards
    "roi_view": 8, "site": 8,  # hrbench inspect; hrbench site
    "api": 9, "testing": 9,  # the facades plugins import (any level below the CLI)
    "docs_api": 10, "cli": 10,  # the API reference page; the hrbench command
    "__main__": 11,
}


def stage(module: str) -> str:
    """``hrbench.run.folds`` -> ``run``; ``hrbench.errors`` -> ``errors``; ``hrbench`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward_imports(graph: dict[str, set[str]], levels: dict[str, int]) -> list[str]:
    """One line per import of a stage at the importer's level or above, or of a stage without a level."""
    bad = []
    for module, targets in sorted(graph.items()):
        own = stage(module)
        if own not in levels:
            bad.append(f"{module}: stage {own!r} has no level in LEVELS")
            continue
        for target in sorted(targets):
            other = stage(target)
            if other == own:
                continue
            if other not in levels:
                bad.append(f"{module} imports {target}: stage {other!r} has no level in LEVELS")
            elif levels[other] >= levels[own]:
                bad.append(f"{module} (level {levels[own]}, {own or 'face'}) imports {target} "
                           f"(level {levels[other]}, {other or 'face'})")
    return bad


def test_imports_only_go_down_the_stages() -> None:
    bad = upward_imports(import_graph(), LEVELS)
    assert not bad, "imports that run up the stages of hrbench/:\n" + "\n".join(bad)


def test_every_level_names_a_stage_that_exists() -> None:
    stages = {stage(m) for m in import_graph()}
    assert set(LEVELS) == stages, (
        f"no such stage: {sorted(set(LEVELS) - stages)}; no level: {sorted(stages - set(LEVELS))}"
    )


# -- the check itself: a test that cannot fail proves nothing ------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_check_names_an_import_that_runs_up_or_sideways(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "", "low.py": "def f():\n    from .high import mod\n",
        "high/__init__.py": "", "high/mod.py": "from . import other\n", "high/other.py": "",
        "side.py": "from .high.mod import x\n",
    })
    graph = import_graph(root, "pkg")
    assert upward_imports(graph, {"": 0, "low": 0, "high": 1, "side": 2}) == [
        "pkg.low (level 0, low) imports pkg.high.mod (level 1, high)",
    ]
    assert upward_imports(graph, {"": 0, "low": 0, "high": 1, "side": 1}) == [
        "pkg.low (level 0, low) imports pkg.high.mod (level 1, high)",
        "pkg.side (level 1, side) imports pkg.high.mod (level 1, high)",
    ]
    assert upward_imports(graph, {"": 0, "low": 0, "high": 1})[1:] == ["pkg.side: stage 'side' has no level in LEVELS"]
    assert upward_imports(graph, {"": 0, "low": 2, "high": 1, "side": 3}) == []  # the same code, levels that fit


def test_hrbench_is_walked_through_its_packages() -> None:
    graph = import_graph()
    assert stage("hrbench.run.folds") == "run" and "hrbench.run.folds" in graph
    assert "hrbench.plugin.host" in graph["hrbench.run.folds"]
    assert ROOT.name == "hrbench"


def test_every_package_of_hrbench_is_shipped() -> None:
    """pyproject lists packages by name: a stage package missing there is absent from a non-editable install."""
    import tomllib

    listed = set(tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
                 ["packages"])
    packages = {".".join(p.parent.relative_to(ROOT.parent).parts) for p in ROOT.rglob("__init__.py")}
    assert packages <= listed, f"add to [tool.setuptools] packages: {sorted(packages - listed)}"
