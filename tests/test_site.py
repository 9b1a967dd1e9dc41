"""``hrbench site``: a static site from a miniature store, opened in headless Chromium (Debian's chromium +
chromium-driver).

One browser session for the whole module.  The browser tests skip only when
Chromium or its driver is not installed (``.ci/install`` installs both, so
they run in CI).  A screenshot of a board page goes to ``$HRBENCH_ARTIFACTS``
when set (CI keeps it), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections import deque
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from mini_store import REF, meta, write_mini_store

from hrbench.cli import main
from hrbench.site import HEADER
from hrbench.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_STORE = ROOT / "results" / "hrbench.sqlite"
COMMITTED_SITE = ROOT / "leaderboards" / "site"
BOARD = "mini-subject_exclusive"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
#: The flags that keep Chromium from reaching the network (closed here) and from sharing state between runs.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1000")


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(store, site folder): the miniature store and the site `hrbench site` builds from it."""
    base = tmp_path_factory.mktemp("site")
    store = write_mini_store(base / "mini.sqlite")
    out = base / "site"
    assert main(["site", "--store", str(store), "--out", str(out)]) == 0
    return store, out


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM or not DRIVER:
        pytest.skip("headless Chromium not installed: apt-get install chromium chromium-driver (.ci/install does this "
                    "as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="hrbench-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(DRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(driver, path: Path) -> list[dict]:
    """Load a page and wait until its tables and plots are drawn; return the console errors it logged.

    A page whose tables or plots are not drawn within 20 s reports that as an error too.
    """
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(path.as_uri())
    try:
        WebDriverWait(driver, 20).until(lambda d: d.execute_script(
            "return document.readyState === 'complete'"
            " && [...document.querySelectorAll('table.datatable')].every(t => t.closest('.dt-container'))"
            " && [...document.querySelectorAll('.plotly-graph-div')].every(g => g.querySelector('svg.main-svg'))"))
        drawn = []
    except TimeoutException:
        drawn = [{"level": "SEVERE", "message": f"{path.name}: tables or plots not drawn within 20 s"}]
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] + drawn


def _first_cells(driver, table: str) -> list[str]:
    return driver.execute_script(
        f"return [...document.querySelectorAll('#{table} tbody tr')].map(r => r.cells[0].innerText.trim())")


def _column_orders(driver, table: str, header: str) -> list[float]:
    return driver.execute_script(
        "const t = document.getElementById(arguments[0]);"
        "const i = [...t.tHead.rows[0].cells].findIndex(c => c.innerText.trim() === arguments[1]);"
        "return [...t.tBodies[0].rows].map(r => parseFloat(r.cells[i].dataset.order));", table, header)


def _click_header(driver, table: str, header: str) -> None:
    from selenium.webdriver.common.by import By

    cells = driver.find_elements(By.CSS_SELECTOR, f"#{table} thead th")
    next(c for c in cells if c.text.strip() == header).click()


def _search(driver, table: str, text: str) -> None:
    box = driver.execute_script("return document.getElementById(arguments[0]).closest('.dt-container')"
                                ".querySelector('input[type=search]')", table)
    box.clear()
    box.send_keys(text)


def test_every_page_loads_without_console_errors_and_every_internal_link_resolves(built, browser):
    """Crawl from index.html: no console error anywhere, every link and resource is a file of the site, every page
    reached."""
    _, site = built
    root = site.resolve()
    seen, queue, errors, broken = set(), deque([root / "index.html"]), {}, []
    while queue:
        page = queue.popleft()
        if page in seen:
            continue
        seen.add(page)
        logged = _open(browser, page)
        if logged:
            errors[page.name] = logged
        urls = browser.execute_script(
            "return [...document.querySelectorAll('a[href]')].map(a => a.href)"
            ".concat([...document.querySelectorAll('script[src]')].map(s => s.src))"
            ".concat([...document.querySelectorAll('link[href]')].map(l => l.href))")
        for url in urls:
            parts = urlsplit(url)
            target = Path(unquote(parts.path))
            if parts.scheme != "file" or not target.is_file() or root not in target.resolve().parents:
                broken.append((page.relative_to(root).as_posix(), url))
            elif target.suffix == ".html":
                queue.append(target.resolve())
    assert not errors, errors
    assert not broken, broken
    pages = {p.resolve() for p in root.rglob("*.html")}
    assert seen == pages, f"pages no link reaches: {sorted(p.name for p in pages - seen)}"
    assert {p.parent.name for p in pages} == {"site", "boards", "runs"}


def _settled(driver, read, done, seconds: float = 10.0):
    """``read()`` once ``done(value)`` holds, or its last value after ``seconds`` (DataTables redraws after the
    event)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.1).until(
            lambda d: (lambda v: v if done(v) else None)(read()))
    except TimeoutException:
        return read()


def test_sorting_a_column_reorders_rows(built, browser):
    _, site = built
    assert not _open(browser, site / "boards" / f"{BOARD}.html")
    ranked = _first_cells(browser, "board-table")
    assert ranked == ["zeta", "mid", "alpha †", "baseline: training-set mean HR"]  # as the board ranks them (by MAE)
    _click_header(browser, "board-table", "Method")
    by_name = _settled(browser, lambda: _first_cells(browser, "board-table"), lambda v: v != ranked)
    assert by_name == sorted(ranked)
    sd = lambda: _column_orders(browser, "board-table", "HRsd (bpm)")  # noqa: E731
    assert sd() != sorted(sd())  # alphabetical is not by HRsd
    _click_header(browser, "board-table", "HRsd (bpm)")
    up = _settled(browser, sd, lambda v: v == sorted(v))
    assert up == sorted(up)
    _click_header(browser, "board-table", "HRsd (bpm)")
    down = _settled(browser, sd, lambda v: v != up)
    assert down == sorted(up, reverse=True)


def test_a_filter_hides_rows(built, browser):
    _, site = built
    assert not _open(browser, site / "boards" / f"{BOARD}.html")
    assert len(_first_cells(browser, "videos-table")) == len(REF)
    _search(browser, "videos-table", "talking")
    shown = _settled(browser, lambda: _first_cells(browser, "videos-table"), lambda v: len(v) < len(REF))
    assert shown == sorted(rid for rid in REF if meta(rid)["scenario"] == "talking")
    _search(browser, "board-table", "zeta")
    assert _settled(browser, lambda: _first_cells(browser, "board-table"), lambda v: len(v) == 1) == ["zeta"]


def test_every_plot_renders(built, browser):
    _, site = built
    assert not _open(browser, site / "boards" / f"{BOARD}.html")
    drawn = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('.plotly-graph-div')].map(g =>"
        " [g.id, g.data.length > 0 && g.querySelectorAll('svg.main-svg').length > 0"
        "  && g.querySelectorAll('.trace').length > 0]))")
    expected = {"fig-subjects", "fig-bland-altman", "fig-hr-distribution", "fig-critical-difference",
                "fig-learning-curves", "fig-by-hr_range", "fig-by-scenario", "fig-by-skin_tone", "fig-by-light_level"}
    assert set(drawn) == expected and all(drawn.values()), drawn
    points = browser.execute_script("return document.querySelectorAll('#fig-subjects .scatterlayer .point').length")
    # one point per subject for each of the 3 methods and the baseline
    assert points == 4 * len({rid[:3] for rid in REF})


def test_a_screenshot_of_a_board_page_is_saved(built, browser, tmp_path):
    _, site = built
    assert not _open(browser, site / "boards" / f"{BOARD}.html")
    out = Path(os.environ.get("HRBENCH_ARTIFACTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, min(int(height), 8000))
    shot = out / f"site-{BOARD}.png"
    assert browser.save_screenshot(str(shot))
    browser.set_window_size(1400, 1000)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_a_run_page_says_how_the_run_was_produced(built):
    _, site = built
    html = (site / "runs" / "se-alpha-1.html").read_text()
    for text in ("hrbench run --method alpha --protocol subject_exclusive --seeds 2", "s" * 64, "0123456789abcdef",
                 "thread-plan", "fold_note", "learning_curve", "s07v1", "light_level",
                 "../boards/mini-subject_exclusive.html"):
        assert text in html, text
    assert "deep needs weights" in (site / "runs" / "se-deep-0.html").read_text()


def test_building_twice_gives_byte_identical_sites_even_in_another_process(built, tmp_path):
    store, site = built
    other = tmp_path / "again"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    rc = subprocess.run([sys.executable, "-m", "hrbench", "site", "--store", str(store), "--out", str(other)],
                        capture_output=True, text=True, env=env, timeout=300)
    assert rc.returncode == 0, rc.stderr
    first, second = _tree(site), _tree(other)
    assert sorted(first) == sorted(second)
    assert [k for k in first if first[k] != second[k]] == []
    assert all(b"http://" not in v and b"https://" not in v for k, v in first.items() if k.endswith(".html"))


def test_rebuilding_replaces_its_own_site_and_refuses_anyone_elses_folder(built, tmp_path, capsys):
    store, _ = built
    out = tmp_path / "site"
    assert main(["site", "--store", str(store), "--out", str(out)]) == 0
    assert HEADER in (out / "index.html").read_text()
    (out / "mine.txt").write_text("kept")
    smaller = tmp_path / "smaller.sqlite"
    shutil.copy(store, smaller)
    assert main(["runs", "rm", "se-mid-0", "--store", str(smaller)]) == 0
    assert main(["site", "--store", str(smaller), "--out", str(out)]) == 0
    assert not (out / "runs" / "se-mid-0.html").exists() and (out / "runs" / "se-zeta-0.html").exists()
    assert (out / "mine.txt").read_text() == "kept"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.md").write_text("mine")
    capsys.readouterr()
    assert main(["site", "--store", str(store), "--out", str(foreign)]) == 2
    err = capsys.readouterr().err.strip()
    assert "refusing" in err and str(foreign) in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.md"]
    assert main(["site", "--store", str(store), "--out", str(foreign / "notes.md")]) == 2
    assert "not a folder" in capsys.readouterr().err
    empty = tmp_path / "empty.sqlite"
    Store(empty).close()
    assert main(["site", "--store", str(empty), "--out", str(tmp_path / "e")]) == 2
    assert "no complete runs" in capsys.readouterr().err
    assert main(["site", "--store", str(tmp_path / "missing.sqlite"), "--out", str(tmp_path / "m")]) == 2
    assert "results store not found" in capsys.readouterr().err


@pytest.mark.skipif(not COMMITTED_STORE.exists(), reason="no committed store")
def test_committed_site_is_what_the_committed_store_gives(tmp_path):
    """leaderboards/site is regenerated byte-identically by `hrbench site` from results/hrbench.sqlite."""
    assert COMMITTED_SITE.is_dir(), ("no committed site: run hrbench site --store results/hrbench.sqlite --out "
                                     "leaderboards/site")
    assert main(["site", "--store", str(COMMITTED_STORE), "--out", str(tmp_path / "site")]) == 0
    fresh, committed = _tree(tmp_path / "site"), _tree(COMMITTED_SITE)
    assert sorted(fresh) == sorted(committed), "pages differ: regenerate leaderboards/site with `hrbench site`"
    stale = [k for k in fresh if fresh[k] != committed[k]]
    assert not stale, ("stale pages (regenerate with `hrbench site --store results/hrbench.sqlite --out "
                       f"leaderboards/site`): {stale[:5]}")
