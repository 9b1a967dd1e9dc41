"""Strict plugin loading: typos, bad registrations and duplicates fail loudly, naming the plugin."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hrbench.cli import main
from hrbench.errors import ConfigError

HEADER = """\
import numpy as np
from hrbench.api import Method, DatasetAdapter, RoiScheme, hookimpl, spectral_hr

class Good(Method):
    name = "{prefix}_good"
    def predict(self, clips):
        return spectral_hr(clips.traces[:, :, :, 1].mean(axis=1), clips.fps, clips.hr_settings)

class NoName(Good):
    name = ""

class Abstract(Method):
    name = "abstract_x"
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A sys.path folder where each test writes plugin modules + dist-info, found via entry points."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    added: list[str] = []

    def install(name: str, body: str, prefix: str | None = None) -> None:
        (root / f"{name}.py").write_text(HEADER.format(prefix=prefix or name) + textwrap.dedent(body))
        dist = root / f"{name}-0.1.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        (dist / "entry_points.txt").write_text(f"[hrbench]\n{name} = {name}\n")
        added.append(name)

    yield install
    for name in added:
        sys.modules.pop(name, None)
    from hrbench.plugin import host

    # Reload lazily, once sys.path no longer holds this site (a reload now would re-import these).
    host._REGISTRY = None


def load(*names: str):
    from hrbench.plugin.host import load_registry

    return load_registry({*names, "green"})


def errors(reg) -> dict[str, str | None]:
    return {p.name: p.error for p in reg.plugins}


def test_hook_name_typo_fails_the_plugin_naming_it_and_the_hook(site):
    site("typo_hr", """
        @hookimpl
        def register_method(register):
            register(Good)
    """)
    reg = load("typo_hr")
    err = errors(reg)["typo_hr"]
    assert "register_method" in err and "did you mean 'register_methods'" in err
    assert "typo_hr_good" not in reg.methods and "green" in reg.methods
    with pytest.raises(ConfigError, match=r"unknown method 'typo_hr_good'; plugin 'typo_hr' failed to load: "
                                          r".*register_method"):
        reg.method("typo_hr_good")


def test_undecorated_hook_is_an_error_not_silence(site):
    site("nodeco_hr", """
        def register_methods(register):
            register(Good)
    """)
    assert "not decorated with @hookimpl" in errors(load("nodeco_hr"))["nodeco_hr"]


def test_plugin_without_hooks_is_an_error(site):
    site("empty_hr", "")
    assert "defines no @hookimpl" in errors(load("empty_hr"))["empty_hr"]


@pytest.mark.parametrize("body, message", [
    ("register(Good())", "an instance of Good"),
    ("register(len)", "function 'len'"),
    ("register(int)", "int does not subclass hrbench.plugin.method.Method"),
    ("register(NoName)", "has no method name"),
    ("register(Abstract)", "is abstract (implement predict)"),
    ("register(Good)", "registered twice"),
])
def test_bad_registrations_fail_the_plugin_and_register_nothing(site, body, message):
    site("bad_hr", f"""
        @hookimpl
        def register_methods(register):
            register(Good)  # valid, but the plugin is all or nothing
            {body}
    """)
    reg = load("bad_hr")
    err = errors(reg)["bad_hr"]
    assert err is not None and "plugin 'bad_hr'" in err and message in err, err
    assert "bad_hr_good" not in reg.methods and "green" in reg.methods
    assert not next(p for p in reg.plugins if p.name == "bad_hr").registered


def test_dataset_registration_must_subclass_the_adapter_base(site):
    site("ds_hr", """
        @hookimpl
        def register_datasets(register):
            register(Good)
    """)
    assert "does not subclass hrbench.data.dataset.DatasetAdapter" in errors(load("ds_hr"))["ds_hr"]


def test_protocol_directory_must_exist(site, tmp_path):
    site("proto_hr", f"""
        @hookimpl
        def register_protocols(register):
            register({str(tmp_path / 'nope')!r})
    """)
    assert "is not a directory" in errors(load("proto_hr"))["proto_hr"]


def test_duplicate_name_fails_the_second_plugin_and_poisons_the_name(site):
    site("dup_a", """
        @hookimpl
        def register_methods(register):
            register(Good)
    """, prefix="dup")
    site("dup_b", """
        @hookimpl
        def register_methods(register):
            register(Good)
    """, prefix="dup")
    reg = load("dup_a", "dup_b")
    assert errors(reg)["dup_a"] is None
    assert "already registered by plugin 'dup_a'" in errors(reg)["dup_b"]
    with pytest.raises(ConfigError, match="registered by both 'dup_a' and 'dup_b'"):
        reg.method("dup_good")


def test_hook_that_raises_is_reported(site):
    site("boom_hr", """
        @hookimpl
        def register_methods(register):
            raise RuntimeError("kaboom")
    """)
    assert "register_methods failed: RuntimeError: kaboom" in errors(load("boom_hr"))["boom_hr"]


def test_plugin_roi_scheme_is_found_through_the_registry(site):
    site("roi_hr", """
        class Forehead(RoiScheme):
            name = "roi_hr_forehead"
            n_rois = 2
            def measure(self, frame, landmarks):
                return np.zeros((2, 3), np.float32)

        class UsesIt(Good):
            name = "roi_hr_method"
            roi_scheme = "roi_hr_forehead"

        @hookimpl
        def register_roi_schemes(register):
            register(Forehead)

        @hookimpl
        def register_methods(register):
            register(UsesIt)
    """)
    from hrbench.plugin import host, roi

    host.get_registry(refresh=True)
    reg = host.get_registry()
    assert errors(reg)["roi_hr"] is None and reg.owner[("roi_schemes", "roi_hr_forehead")] == "roi_hr"
    assert host.get_scheme("roi_hr_forehead").n_rois == 2
    assert reg.core is not None and reg.core.registered["roi_schemes"] == ["face_skin", "cheek_grid", "face_grid"]
    assert host.get_scheme("face_skin").__class__ is roi.FaceSkin  # built-ins unchanged
    with pytest.raises(KeyError, match="unknown ROI scheme 'nope'"):
        host.get_scheme("nope")


def test_method_with_unregistered_roi_scheme_fails_its_plugin(site):
    site("noroi_hr", """
        class Lost(Good):
            name = "noroi_hr_lost"
            roi_scheme = "no_such_scheme"

        @hookimpl
        def register_methods(register):
            register(Lost)
    """)
    from hrbench.plugin.host import load_registry

    reg = load_registry()  # the full load judges ROI schemes (a partial one cannot)
    assert "uses ROI scheme 'no_such_scheme'" in errors(reg)["noroi_hr"]
    assert "noroi_hr_lost" not in reg.methods


def test_plugins_command_names_the_failure_and_exits_1(site, capsys):
    site("typo2_hr", """
        @hookimpl
        def register_methodz(register):
            register(Good)
    """)
    from hrbench.plugin import host

    host.get_registry(refresh=True)
    assert main(["plugins"]) == 1  # CI of a plugin package fails on a plugin that does not load
    captured = capsys.readouterr()
    assert "typo2_hr" in captured.out and "failed" in captured.out and "hrbench (core)" in captured.out
    assert "hrbench: plugin 'typo2_hr' failed to load: unknown hook 'register_methodz'" in captured.err
    assert main(["run", "--method", "typo2_hr_good", "--store", "/nonexistent/s.sqlite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "plugin 'typo2_hr' failed to load" in err[0]


def test_listing_plugins_does_not_import_torch_or_sklearn():
    code = ("import sys; from hrbench.cli import main; main(['plugins']); print(sorted(m for m in ('torch', "
            "'torchvision', 'sklearn.svm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent).stdout
    assert "'torch'" not in out and "torchvision" not in out, out


def test_roi_never_imports_the_plugin_host():
    """The host imports :mod:`hrbench.plugin.roi` (base class, built-ins); the reverse import would be a cycle."""
    import ast

    import hrbench.plugin.roi

    tree = ast.parse(Path(hrbench.plugin.roi.__file__).read_text())
    imported = {f"{n.module or ''}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.lstrip(".").split(".")[-1] == "host"}
