"""``python -m needsmap bench --browser``: what a person waits for, timed in Debian's Chromium.

Starts ``streamlit run app.py`` on the bench database and, in the same run, an empty Streamlit
app (the floor nothing built on Streamlit can beat on this machine), drives them with Playwright
and reports the median of ``repeat`` tries of:

* ``browser_filter_ms``: a category chosen in the sidebar → the home page idle with the map
  recoloured (a new category each try, so the server computes it afresh);
* ``browser_drilldown_ms``: a click on a district of the home map → that district chosen (in the
  URL), the page idle and the map redrawn with it (a different district each try). The home page
  drills down in place (the map kept and moved to the district, the KPIs following it);
* ``browser_page_ms``: the sidebar link to the priorities page → that page idle;
* ``browser_fresh_ms``: a new tab on the home page → its map drawn and the page idle;
* ``browser_floor_ms``: a new tab on the empty app → idle.

"Idle" is Streamlit's own signal: the app element's ``data-test-script-state`` is
``notRunning``, the websocket ``CONNECTED``, and no element is stale or still a skeleton. "Map
drawn" means the Leaflet map in the component iframe holds GeoJSON layers that were not there
before the action (layers present earlier are marked), so a kept iframe whose features were
replaced counts as redrawn, and an iframe still loading does not count as done.

The browser is Debian's ``/usr/bin/chromium``, never a downloaded one; the page is told not to
reach any other host.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from needsmap import taxonomy
from needsmap.errors import NeedsmapError
from needsmap.i18n import t, term

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run",
                 # Nothing may leave the machine: every host but localhost fails to resolve. (Not
                 # Playwright's request routing: routing turns the HTTP cache off, and a browser that
                 # fetched Streamlit's 4.8 MB of scripts afresh for every tab measured no real visit.)
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]
VIEWPORT = {"width": 1440, "height": 900}
TIMEOUT_MS = 180_000  # a loaded 2-core machine has taken over 60 s for one page
EMPTY_APP = 'import streamlit as st\n\nst.title("needsmap")\n'

APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
SETTLED_JS = f"""() => document.querySelector('{APP_IDLE}') !== null
    && document.querySelector('[data-stale="true"], [data-testid="stSkeleton"]') === null"""

# Marks every GeoJSON layer of every map on the page as seen.
MARK_LAYERS_JS = """() => {
    for (const frame of document.querySelectorAll('iframe')) {
        let map = null;
        try { map = frame.contentWindow.map; } catch (e) { continue; }
        if (map && map.eachLayer) map.eachLayer((layer) => { layer.__needsmapSeen = true; });
    }
}"""

# True once the app is idle and a map holds at least `min` feature layers not marked as seen,
# and the page path ends with `path` (when given).
MAP_READY_JS = f"""([min, path]) => {{
    if (!({SETTLED_JS})()) return false;
    if (path !== null && !window.location.pathname.replace(/\\/$/, '').endsWith(path)) return false;
    for (const frame of document.querySelectorAll('iframe')) {{
        let map = null;
        try {{ map = frame.contentWindow.map; }} catch (e) {{ continue; }}
        if (!map || !map.eachLayer) continue;
        let fresh = 0;
        map.eachLayer((layer) => {{ if (layer.feature && !layer.__needsmapSeen) fresh += 1; }});
        if (fresh >= min) return true;
    }}
    return false;
}}"""

# Notes whether a script run started since now (a quick run can pass running → notRunning
# between two polls, so each mutation's old value is read too).
WATCH_RUN_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const run = window.__needsmapRun = {seen: false};
    new MutationObserver((records) => {
        for (const record of records) {
            if (record.oldValue !== 'notRunning' || app.getAttribute('data-test-script-state') !== 'notRunning') run.seen = true;
        }
    }).observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
}"""
RUN_DONE_JS = f"""() => (window.__needsmapRun === undefined || window.__needsmapRun.seen) && ({SETTLED_JS})()"""

# The first district shape, from index `start` on, whose bounding-box centre and the points `margin`
# pixels around it all hit that shape: a click there is inside the district for sure. Returns its
# index, that centre (in the map frame's pixels) and its GeoJSON properties. (The browser tests use it too.)
CLICKABLE_DISTRICT_JS = """([start, margin]) => {
    const paths = [...document.querySelectorAll('path.leaflet-interactive')];
    for (let k = 0; k < paths.length; k++) {
        const index = (start + k) % paths.length;
        const box = paths[index].getBoundingClientRect();
        const cx = box.left + box.width / 2, cy = box.top + box.height / 2;
        const probes = [[0, 0], [margin, 0], [-margin, 0], [0, margin], [0, -margin]];
        if (!probes.every(([dx, dy]) => document.elementFromPoint(cx + dx, cy + dy) === paths[index])) continue;
        let properties = null;
        if (window.map && window.map.eachLayer) {
            window.map.eachLayer((layer) => {
                if (layer._path === paths[index] && layer.feature) properties = layer.feature.properties;
            });
        }
        return {index, x: cx, y: cy, properties};
    }
    return null;
}"""

HOME_MAP_FEATURES = 80  # Zhejiang has 90 districts; fewer than this means the map is not drawn yet


def browser_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return CHROMIUM.exists()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(base_url: str) -> bool:
    """Streamlit at ``base_url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def _streamlit(script: Path, env_extra: dict[str, str], log: Path) -> Iterator[str]:
    """``streamlit run script`` on a free localhost port; yields its base URL, stops it after."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **env_extra}
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, cwd=REPO_ROOT if script.parent == REPO_ROOT else script.parent, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while not healthy(base_url):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise NeedsmapError(f"streamlit did not start for the browser bench; see {log}")
                time.sleep(0.25)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _wait_settled(page) -> None:
    page.wait_for_selector('[data-testid="stApp"]', state="attached", timeout=TIMEOUT_MS)
    page.wait_for_function(SETTLED_JS, timeout=TIMEOUT_MS, polling=50)


def _open_home(context, base_url: str):
    """A new tab on the home page with its map drawn; returns (page, ms)."""
    page = context.new_page()
    start = time.perf_counter()
    page.goto(base_url + "/", wait_until="commit", timeout=TIMEOUT_MS)
    page.wait_for_function(MAP_READY_JS, arg=[HOME_MAP_FEATURES, None], timeout=TIMEOUT_MS, polling=50)
    return page, _ms(start)


def _fresh_tab(context, url: str) -> float:
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    _wait_settled(page)
    elapsed = _ms(start)
    page.close()
    return elapsed


def _choose_category(page, label: str, option: str) -> float:
    """Pick ``option`` in the sidebar's category multiselect; ms until the map is recoloured."""
    box = page.get_by_role("combobox", name=label)
    box.click()
    choice = page.get_by_role("option", name=option, exact=True)
    choice.wait_for(timeout=TIMEOUT_MS)
    page.evaluate(MARK_LAYERS_JS)
    page.evaluate(WATCH_RUN_JS)
    start = time.perf_counter()
    choice.click()
    page.wait_for_function(f"""(args) => ({RUN_DONE_JS})() && ({MAP_READY_JS})(args)""",
                           arg=[HOME_MAP_FEATURES, None], timeout=TIMEOUT_MS, polling=50)
    elapsed = _ms(start)
    page.keyboard.press("Escape")
    return elapsed


def _clear_categories(page) -> None:
    """Back to all categories (untimed): the multiselect's clear-all button."""
    clear = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.get_by_role("button", name="Clear all")
    if clear.count():
        page.evaluate(WATCH_RUN_JS)
        clear.first.click()
        page.wait_for_function(RUN_DONE_JS, timeout=TIMEOUT_MS, polling=50)


def _click_district(page, start_index: int) -> float:
    """Click the ``start_index``-th clickable district of the home map; ms until its view is drawn."""
    iframe = page.locator("iframe").first
    iframe.evaluate("(e) => e.scrollIntoView({block: 'center', behavior: 'instant'})")
    page.wait_for_timeout(300)
    frame = iframe.element_handle().content_frame()
    found = frame.evaluate(CLICKABLE_DISTRICT_JS, [start_index, 6])
    if found is None:
        raise NeedsmapError("browser bench: no district of the home map can be clicked safely")
    page.evaluate(MARK_LAYERS_JS)
    box = iframe.bounding_box()
    start = time.perf_counter()
    page.mouse.click(box["x"] + found["x"], box["y"] + found["y"])
    # The district's view: the district in the URL, and a map with at least one layer that was
    # not there before the click.
    adcode = str((found.get("properties") or {}).get("adcode", ""))
    page.wait_for_function(f"""(adcode) => new URLSearchParams(window.location.search).get('district') === adcode
        && ({SETTLED_JS})() && document.querySelectorAll('iframe').length > 0
        && ({MAP_READY_JS})([1, null])""", arg=adcode, timeout=TIMEOUT_MS, polling=50)
    return _ms(start)


def _page_link(page, label: str, path: str) -> float:
    link = page.locator('[data-testid="stSidebar"]').get_by_role("link", name=label)
    page.evaluate(WATCH_RUN_JS)
    start = time.perf_counter()
    link.click()
    page.wait_for_function(f"""() => window.location.pathname.replace(/\\/$/, '').endsWith('{path}')
        && ({RUN_DONE_JS})()""", timeout=TIMEOUT_MS, polling=50)
    return _ms(start)


def measure(db: Path, repeat: int = 5, echo: Callable[[str], None] = print) -> dict[str, float]:
    """Median milliseconds of each browser interaction (see the module docstring)."""
    if not browser_available():
        raise NeedsmapError(f"the browser bench needs Debian's Chromium at {CHROMIUM} and the playwright package "
                            "(apt-get install chromium; never `playwright install`)")
    from playwright.sync_api import sync_playwright

    categories = [c.code for c in taxonomy.CATEGORIES]
    label = t("category", "zh")
    timings: dict[str, list[float]] = {"filter": [], "drilldown": [], "page": [], "fresh": [], "floor": []}
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty_app.py"
        empty.write_text(EMPTY_APP, encoding="utf-8")
        env = {"NEEDSMAP_DB": str(db)}
        with _streamlit(REPO_ROOT / "app.py", env, Path(tmp) / "app.log") as app_url, \
                _streamlit(empty, {}, Path(tmp) / "empty.log") as empty_url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
            context.set_default_timeout(TIMEOUT_MS)
            # Warm-up (untimed): the HTTP cache holds Streamlit's and Leaflet's files, the server
            # has loaded its modules, boundaries and the unfiltered figures — as after a first visit.
            warm, _ = _open_home(context, app_url)
            warm.close()
            _fresh_tab(context, empty_url)
            for attempt in range(repeat):
                timings["floor"].append(_fresh_tab(context, empty_url))
                page, fresh = _open_home(context, app_url)
                timings["fresh"].append(fresh)
                timings["filter"].append(_choose_category(page, label, term("category", categories[attempt % len(categories)], "zh")))
                _clear_categories(page)
                timings["page"].append(_page_link(page, t("nav_priorities", "zh"), "/priorities"))
                page.close()
                page, _ = _open_home(context, app_url)
                timings["drilldown"].append(_click_district(page, 7 + 13 * attempt))
                page.close()
                echo(f"browser try {attempt + 1}/{repeat}: " + ", ".join(f"{name} {values[-1]:,.0f} ms"
                                                                         for name, values in timings.items()))
            browser.close()
    return {f"browser_{name}_ms": round(statistics.median(values), 1) for name, values in timings.items()}
