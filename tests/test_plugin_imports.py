"""First-party plugins and the example plugin live by the public API: they import hrbench only through
``hrbench.api`` (and their conformance tests through ``hrbench.testing``).

Why a test: a plugin that reaches into ``hrbench.data.video`` or ``hrbench.pulse.gt_checks`` breaks whenever the core
moves a module, and hides from a plugin author what the supported surface is.  Every import form counts:
``from hrbench.x import y``, ``import hrbench.x``, ``from hrbench import x`` and imports inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {"hrbench.api", "hrbench.testing"}
FILES = sorted(p for top in ("plugins", "examples") for p in (ROOT / top).rglob("*.py"))


def outside_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of each import of hrbench outside :data:`ALLOWED` in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from hrbench import x` imports the module hrbench.x (or a name of the package)
            modules = [f"{node.module}.{a.name}" for a in node.names] if node.module == "hrbench" else [node.module]
        else:
            continue
        found += [(node.lineno, m) for m in modules if m.split(".")[0] == "hrbench" and m not in ALLOWED]
    return sorted(found)


def test_the_check_sees_every_import_form():
    source = (
        "import hrbench.data.video\nfrom hrbench import pulse\nfrom hrbench.fsutil import notice\n"
        "def f():\n    from hrbench.run.progress import phase\n"
        "import hrbench\nfrom hrbench.api import Method\nfrom hrbench.testing import check_method\n"
        "import hrbench_plugins\nfrom hrbench import api\nfrom hrbench.pulse.gt_checks import coverage_problems\n"
    )
    assert [m for _, m in outside_imports(source)] == [
        "hrbench.data.video", "hrbench.pulse", "hrbench.fsutil", "hrbench.run.progress", "hrbench",
        "hrbench.pulse.gt_checks",
    ]


def test_there_are_plugin_files_to_check():
    assert len(FILES) > 40 and any(p.parts[-2] == "hrbench_example_plugin" for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugin_imports_only_the_public_api(path):
    bad = outside_imports(path.read_text(encoding="utf-8"))
    where = path.relative_to(ROOT)
    assert not bad, "; ".join(f"{where}:{line} imports {m} (import it from hrbench.api)" for line, m in bad)
