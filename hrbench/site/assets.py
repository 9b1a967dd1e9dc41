"""The scripts and styles the site ships with: nothing is fetched from a CDN, everything works from ``file://``.

* ``plotly.min.js``: plotly.js exactly as the installed ``plotly`` package
  bundles it.
* ``datatables.js`` / ``datatables.css``: DataTables (sorting, filtering),
  from the bundle the installed ``itables`` package ships.  That bundle is
  an ES module, and Chromium refuses to load module scripts from
  ``file://`` (a CORS error: the origin of a local file is ``null``), so
  it is written as a classic script: the module's one ``export { a as b,
  ... }`` statement becomes ``window.hrbenchDataTables = {b: a, ...}`` and
  the code runs inside a strict-mode function (modules are strict), which
  keeps its names out of the page's globals.  Anything else in the bundle
  that only a module may contain would fail in the browser tests.
* ``site.css`` and ``site.js`` (the one DataTables call) from this package.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from ..errors import HrbenchError

GLOBAL = "hrbenchDataTables"
_EXPORT = re.compile(r"export\s*\{([^{}]*)\}\s*;?")
_NAME = re.compile(r"[A-Za-z_$][\w$]*")


def classic_script(module_js: str, source: str = "bundle") -> str:
    """An ES-module bundle with a single ``export {...}`` as a classic script exposing its exports on ``window``."""
    found = list(_EXPORT.finditer(module_js))
    if len(found) != 1:
        raise HrbenchError(
            f"expected one `export {{...}}` statement in the DataTables bundle, found {len(found)}", source
        )
    m = found[0]
    pairs = []
    for part in m.group(1).split(","):
        names = [p.strip() for p in part.strip().split(" as ")]
        local, alias = (names[0], names[-1])
        if len(names) > 2 or not _NAME.fullmatch(local):
            raise HrbenchError(f"cannot read the DataTables bundle's export {part.strip()!r}", source)
        pairs.append(f"{json.dumps(alias)}: {local}")
    body = module_js[: m.start()] + module_js[m.end() :]
    return f'(function () {{\n"use strict";\n{body}\nwindow.{GLOBAL} = {{{", ".join(pairs)}}};\n}})();\n'


def _read(package: str, name: str) -> bytes:
    try:
        return resources.files(package).joinpath(name).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise HrbenchError(
            f"the site needs {name} from the Python package {package.split('.')[0]!r} ({exc}); "
            "reinstall hrbench's dependencies"
        ) from None


def assets() -> dict[str, bytes]:
    """File name -> bytes of every asset, in name order."""
    dt_js = _read("itables", "html/dt_bundle.js").decode("utf-8")
    out = {
        "datatables.css": _read("itables", "html/dt_bundle.css"),
        "datatables.js": classic_script(dt_js, "itables/html/dt_bundle.js").encode("utf-8"),
        "plotly.min.js": _read("plotly", "package_data/plotly.min.js"),
        "site.css": _read("hrbench.site", "static/site.css"),
        "site.js": _read("hrbench.site", "static/site.js"),
    }
    return dict(sorted(out.items()))


def write_assets(folder: Path) -> list[Path]:
    """Write every asset into ``folder`` (created); returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in assets().items():
        path = folder / name
        path.write_bytes(data)
        written.append(path)
    return written
