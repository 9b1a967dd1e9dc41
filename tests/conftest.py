"""Shared fixtures: isolated caches/stores, and a third-party plugin on sys.path."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    """Never touch the user's cache or results store from tests."""
    base = tmp_path_factory.mktemp("hrbench-home")
    monkeypatch.setenv("HRBENCH_CACHE", str(base / "cache"))
    monkeypatch.setenv("HRBENCH_STORE", str(base / "store.sqlite"))
    monkeypatch.delenv("HRBENCH_PLUGINS", raising=False)
    yield


@pytest.fixture
def thirdparty_site(tmp_path, monkeypatch):
    """Install tests/fixtures/thirdparty_hr.py as a distribution visible via entry points."""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(FIXTURES / "thirdparty_hr.py", site / "thirdparty_hr.py")
    dist = site / "thirdparty_hr-1.2.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-hr\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text("[hrbench]\nthirdparty = thirdparty_hr\n")
    monkeypatch.syspath_prepend(str(site))
    from hrbench.plugin import host

    host.get_registry(refresh=True)
    yield site
    sys.modules.pop("thirdparty_hr", None)
    host.get_registry(refresh=True)
