"""docs/api.md is built from hrbench.api's code: the committed page is what the generator gives today."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import hrbench.api as api
from hrbench import docs_api
from hrbench.pulse.hr import signal_hr

PAGE = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_committed_page_is_what_the_code_gives():
    assert PAGE.read_text(encoding="utf-8") == docs_api.render_page(), (
        "docs/api.md is out of date: run `python -m hrbench.docs_api`"
    )
    assert docs_api.main(["--check", "--out", str(PAGE)]) == 0


def test_check_fails_on_a_stale_page(tmp_path, capsys):
    stale = tmp_path / "api.md"
    stale.write_text(docs_api.render_page().replace("## Contracts", "## Contract"), encoding="utf-8")
    assert docs_api.main(["--check", "--out", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert docs_api.main(["--out", str(stale)]) == 0 and docs_api.main(["--check", "--out", str(stale)]) == 0


def test_every_exported_name_has_its_signature_and_docstring():
    page = docs_api.render_page()
    sections = dict(re.findall(r"^### `(\w+)`\n(.*?)(?=^### |\Z)", page, flags=re.M | re.S))
    assert list(sections) == list(api.__all__)
    for name in api.__all__:
        obj = getattr(api, name)
        if callable(obj) and not isinstance(obj, type(api.hookimpl)):
            assert docs_api.signature(obj, name) in sections[name], name
        doc = docs_api.docstring(obj) if docs_api.kind_of(obj) not in ("constant", "decorator") else ""
        if doc:
            assert docs_api.clean(doc).strip().split("\n")[0] in sections[name], name
    assert "0x" not in page  # no object addresses: the page is the same on every machine


def test_the_contracts_are_read_from_the_code():
    page = docs_api.render_page()
    contracts = page.split("## Contracts", 1)[1].split("## Index", 1)[0]
    assert "`bvp`, `ecg`, `hr`" in contracts
    frozen = [n for n in api.__all__ if isinstance(getattr(api, n), type) and docs_api.frozen(getattr(api, n))]
    assert "Recording" in frozen and all(f"`{n}`" in contracts for n in frozen)
    assert "dataclasses.replace(" in contracts and "NaN" in contracts and "Timestamps" in contracts


def test_the_documented_constant_hr_recipe_works():
    """The page's one-HR-per-video signal, run as written, reads that HR over any window of the video."""
    page = docs_api.render_page()
    code = re.search(r"one HR per video.*?```python\n(.*?)```", page, flags=re.S).group(1)
    scope = {"Signal": api.Signal, "np": np, "hr": 72.5, "duration_s": 30.0}
    exec(code, scope)  # noqa: S102 - the documented snippet itself
    for t0, t1 in ((0.0, 10.0), (12.3, 22.3), (20.0, 30.0)):
        assert signal_hr(scope["signal"], t0, t1) == pytest.approx(72.5)
    rec = api.Recording("d", "r", "s", "", 30.0, api.FrameSource(Path("v.avi")), lambda: scope["signal"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.window = (5.0, 35.0)  # type: ignore[misc]
    assert dataclasses.replace(rec, window=(5.0, 35.0)).window == (5.0, 35.0)
