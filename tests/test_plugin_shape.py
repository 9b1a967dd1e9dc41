"""No class over 150 lines and no function over 60 lines: in the core (``hrbench/``) and in the plugins
(``plugins/``, ``examples/``) alike.

Why a test: an adapter that parses its layout, reads ground truth and checks recordings in one 200-line class,
or a fold loop that prepares, trains, scores and stores in one function, is hard to follow and to change; the
limit keeps each job in a piece of its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_CLASS, MAX_FUNCTION = 150, 60


def oversized(source: str) -> list[str]:
    """``kind name (lines)`` of each class or function of ``source`` above the limits."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        n = (node.end_lineno or node.lineno) - node.lineno + 1
        if isinstance(node, ast.ClassDef) and n > MAX_CLASS:
            found.append(f"class {node.name} ({n} lines, line {node.lineno})")
        elif not isinstance(node, ast.ClassDef) and n > MAX_FUNCTION:
            found.append(f"function {node.name} ({n} lines, line {node.lineno})")
    return found


def test_the_limits_are_measured_on_whole_definitions():
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    assert oversized(f"def f():\n{body}\n") == ["function f (61 lines, line 1)"]
    assert oversized(f"def f():\n{body[: body.rindex(chr(10))]}\n") == []  # 60 lines: at the limit


@pytest.mark.parametrize("top", ["hrbench", "plugins", "examples"])
def test_no_class_or_function_is_over_the_limits(top):
    files = sorted((ROOT / top).rglob("*.py"))
    assert files
    bad = [f"{p.relative_to(ROOT)}: {what}" for p in files for what in oversized(p.read_text(encoding="utf-8"))]
    assert not bad, "split along jobs: " + "; ".join(bad)
