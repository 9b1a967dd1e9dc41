"""No import cycle inside ``hrbench/``: imports only go down the stages.

Why a walk of the source instead of importing: a cycle hidden by an import
inside a function, or by one under ``if TYPE_CHECKING:``, still ties two
modules together (neither can be read, moved or tested without the other),
yet Python only trips over it at run time in some import orders.  So every
``import`` statement counts, wherever it stands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "hrbench"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE


def module_name(path: Path, root: Path = ROOT, package: str = PACKAGE) -> str:
    """``hrbench/site/build.py`` -> ``hrbench.site.build``; a package's ``__init__`` is the package."""
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (``from . import x`` in ``hrbench.a`` -> ``hrbench``)."""
    if not node.level:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, modules: set[str], root: Path = ROOT, package: str = PACKAGE) -> set[str]:
    """Modules of ``modules`` that the file imports, at any depth of its code."""
    current = module_name(path, root, package)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(current, is_package, node)
            # ``from pkg import mod`` imports the submodule when there is one, else a name of pkg.
            names = [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names]
        for name in names:
            while name and name not in modules:  # ``import hrbench.a.b`` -> the deepest module that exists
                name = name.rpartition(".")[0]
            if name and name != current:
                found.add(name)
    return found


def missing_modules(root: Path = ROOT, package: str = PACKAGE) -> list[str]:
    """``file:line module`` of each import of the package naming a module the package does not have.

    Why: the graph above keeps only the modules that exist, so an import of a module that moved away
    would pass it silently -- and still run wherever an older copy of the package is importable.
    """
    files = sorted(root.rglob("*.py"))
    modules = {module_name(p, root, package) for p in files}
    found = []
    for path in files:
        current = module_name(path, root, package)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom):
                targets = [_resolve(current, path.name == "__init__.py", node)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found += [f"{path.relative_to(root.parent)}:{node.lineno} {t}" for t in targets
                      if t.split(".")[0] == package and t not in modules]
    return found


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    files = {module_name(p, root, package): p for p in sorted(root.rglob("*.py"))}
    modules = set(files)
    return {m: imports_of(p, modules, root, package) for m, p in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected component of more than one module, as one of its cycles (Tarjan, then a path)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_one_cycle(graph, set(c)) for c in comps]


def _one_cycle(graph: dict[str, set[str]], comp: set[str]) -> list[str]:
    """A shortest cycle through the component's first module, e.g. ``[a, b, c, a]``."""
    start = min(comp)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & comp):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"not a cycle: {sorted(comp)}")


def describe(graph: dict[str, set[str]]) -> list[str]:
    """One line per tangle: a cycle through it and, when more modules are caught in it, all of them."""
    lines = []
    for c in cycles(graph):
        comp = _component(graph, c[0])
        more = f"  (tangled: {', '.join(sorted(comp))})" if len(comp) > len(c) - 1 else ""
        lines.append(" -> ".join(c) + more)
    return lines


def _component(graph: dict[str, set[str]], v: str) -> set[str]:
    """The modules that both reach ``v`` and are reached from it."""
    def reach(start: str, edges: dict[str, set[str]]) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for w in edges.get(todo.pop(), ()):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen

    back: dict[str, set[str]] = {}
    for a, bs in graph.items():
        for b in bs:
            back.setdefault(b, set()).add(a)
    return reach(v, graph) & reach(v, back)


def test_no_import_cycle_in_hrbench() -> None:
    found = describe(import_graph())
    assert not found, "import cycles in hrbench/:\n" + "\n".join(found)


def test_every_import_of_hrbench_names_a_module_it_has() -> None:
    found = missing_modules()
    assert not found, "imports of modules hrbench/ does not have:\n" + "\n".join(found)


# -- the walker itself: a test that cannot fail proves nothing ---------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("how", [
    "from .b import x\n",  # top level
    "def f():\n    from . import b\n",  # inside a function
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import X\n",  # type-only
    "import pkg.b\n",  # absolute
])
def test_walker_sees_every_kind_of_import(tmp_path: Path, how: str) -> None:
    root = _package(tmp_path, {"__init__.py": "", "a.py": how, "b.py": "from .c import y\n",
                               "c.py": "from .a import z\n"})
    found = cycles(import_graph(root, "pkg"))
    assert found == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    assert describe(import_graph(root, "pkg")) == ["pkg.a -> pkg.b -> pkg.c -> pkg.a"]


def test_walker_names_every_module_of_a_tangle(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__init__.py": "", "a.py": "from . import b\n", "b.py": "from . import a, c\n",
                               "c.py": "from . import a\n"})
    assert describe(import_graph(root, "pkg")) == ["pkg.a -> pkg.b -> pkg.a  (tangled: pkg.a, pkg.b, pkg.c)"]


def test_walker_resolves_subpackages_and_accepts_a_dag(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "", "a.py": "from .sub import mod\nfrom .sub.mod import f\n",
        "sub/__init__.py": "", "sub/mod.py": "from ..b import g\n", "b.py": "import os\n",
    })
    graph = import_graph(root, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.mod"}
    assert graph["pkg.sub.mod"] == {"pkg.b"}
    assert cycles(graph) == []


def test_an_import_of_a_module_that_is_not_there_is_named(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__init__.py": "", "a.py": "from .gone import x\nfrom . import b\n", "b.py": "",
                               "sub/__init__.py": "", "sub/c.py": "def f():\n    import pkg.sub.gone\n"})
    assert missing_modules(root, "pkg") == ["pkg/a.py:1 pkg.gone", "pkg/sub/c.py:2 pkg.sub.gone"]
