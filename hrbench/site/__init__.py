"""``hrbench site``: the results store as a static website people can browse.

Why: the markdown boards render as static text, so a reader cannot sort a
board, filter it by scenario or skin tone, look at one subject's videos or
follow a row to how it was produced.  The site shows the same boards (the
same :func:`hrbench.boards.boards.build_boards` rows, tests, power line and
verdicts) with sortable, filterable tables (DataTables), interactive plots
(plotly) and one page per run (command, protocol hash, dataset fingerprint,
versions, thread plan, per-fold notes, per-video predictions).

It is a pure function of the store -- same store, byte-identical site --
and works offline from ``file://``: every script and style is copied from
an installed package into ``assets/``, nothing is fetched from a CDN.
Modules: :mod:`.pages` (what each page shows), :mod:`.figures` (the plots),
:mod:`.assets` (the shipped scripts), :mod:`.build` (the output folder);
layout is in ``templates/`` (Jinja2).
"""

from __future__ import annotations

from .build import HEADER, build_site, is_generated_site, render_pages

__all__ = ["HEADER", "build_site", "is_generated_site", "render_pages"]
