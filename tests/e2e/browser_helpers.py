"""Helpers for the browser tests: waiting for Streamlit, the folium map, screenshots, requests.

Streamlit 1.67 DOM facts these rely on (checked against a throwaway app):

* ``[data-testid="stApp"]`` carries ``data-test-script-state`` (``initial`` → ``running`` →
  ``notRunning``; also ``rerunRequested``, ``stopRequested``, ``compilationError``) and
  ``data-test-connection-state`` (``CONNECTED`` once the websocket is up). This is a steadier
  "app idle" signal than the status widget (``stStatusWidget``), which appears only after a delay.
* Elements left over from the previous run carry ``data-stale="true"`` until the run ends.
* streamlit-folium's map is ``iframe[title="streamlit_folium.st_folium"]``; inside it every
  GeoJSON feature is a ``path.leaflet-interactive``, the tooltip is ``.leaflet-tooltip`` and
  ``window.map`` is the Leaflet map.
* ``st.title``/``st.header`` are ``[data-testid="stHeading"]``; ``st.metric`` values are
  ``[data-testid="stMetricValue"]``; an uncaught exception is ``[data-testid="stException"]``.
* ``st.dataframe`` (``[data-testid="stDataFrame"]``) is a glide canvas mirrored by an accessible
  ``<table>`` whose ``td`` cells hold the text of the rows in view; its toolbar has a "Search"
  button whose Enter scrolls to the first match.
* A multiselect's text box is a ``combobox`` named by its label; its choices are ``option``s.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from needsmap.browser_bench import CLICKABLE_DISTRICT_JS

# The browser test files import Browser, Page and expect from here, and mark themselves with
# E2E_MARKS: without playwright they still import, and skip.
try:
    from playwright.sync_api import Browser, FrameLocator, Locator, Page, expect
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
except ImportError:  # pragma: no cover - the e2e tests skip themselves (see browser_available)
    Browser = Page = object
    expect = None
    PlaywrightTimeoutError = TimeoutError

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
TIMINGS_JSON = ARTIFACTS / "timings.json"
SERVER_LOG = ARTIFACTS / "streamlit-server.log"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
SKIP_REASON = (
    f"browser tests need Debian's Chromium at {CHROMIUM} and the Python playwright package "
    "(apt-get install chromium; never `playwright install`)"
)

DEMO_RECORDS = 6_000
DEMO_SEED = 7
XSS_RECORD_ID = "XSS-1"
XSS_DISTRICT = "330106"  # 西湖区
XSS_DESCRIPTION = "<img src=x onerror=alert(1)>"
XSS_ADDRESS = "<script>alert('addr')</script>`${alert(2)}`"

TIMEOUT_MS = 30_000
SERVER_START_TIMEOUT_S = 60

APP = '[data-testid="stApp"]'
APP_IDLE = f'{APP}[data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
SIDEBAR = '[data-testid="stSidebar"]'
METRIC_VALUE = '[data-testid="stMetricValue"]'
HEADING = '[data-testid="stHeading"]'
EXCEPTION = '[data-testid="stException"]'
DATAFRAME = '[data-testid="stDataFrame"]'
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
DISTRICT_PATH = "path.leaflet-interactive"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LOCAL_SCHEMES = {"data", "blob", "about"}




def browser_available() -> bool:
    """Debian's Chromium and the Python playwright package are both present."""
    return expect is not None and CHROMIUM.exists()


E2E_MARKS = [pytest.mark.e2e, pytest.mark.skipif(not browser_available(), reason=SKIP_REASON)]


def db_scalar(db: Path, sql: str, params: list[object] | None = None) -> object:
    """One value from the test database, read-only (safe while the app holds it open)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchone()[0]
    finally:
        con.close()


@dataclass
class BrowserLog:
    """What one test's pages did: every request URL, every JS dialog, every uncaught error."""

    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


def safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)[:120]


def assert_only_localhost(requests: list[str]) -> None:
    """Fail, listing them, if any request went to a host other than 127.0.0.1/localhost.

    ``data:``, ``blob:`` and ``about:`` URLs stay inside the browser and are allowed.
    """
    outside = sorted({
        url for url in requests
        if urlsplit(url).scheme not in LOCAL_SCHEMES and (urlsplit(url).hostname or "") not in LOCAL_HOSTS
    })
    assert not outside, "requests left localhost:\n  " + "\n  ".join(outside)


# --------------------------------------------------------------------------------------------
# Waiting for Streamlit
# --------------------------------------------------------------------------------------------


def wait_for_app(page: Page, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until Streamlit is done: connected, script ``notRunning``, nothing stale or loading.

    Right after a navigation the state is ``initial`` and then ``running``, so this does not
    return early. The run can end before every element is drawn: an element whose code is still
    being fetched shows an ``stSkeleton`` placeholder (st.metric's chunk can take a second on a
    cold page). After an interaction use ``rerun_after``: until the rerun message reaches the
    browser the state still says ``notRunning``.
    """
    page.wait_for_selector(APP, state="attached", timeout=timeout_ms)
    page.wait_for_function(_APP_SETTLED, timeout=timeout_ms, polling=50)


_APP_SETTLED = f"""() => document.querySelector('{APP_IDLE}') !== null
    && document.querySelector('[data-stale="true"], [data-testid="stSkeleton"]') === null"""


_WATCH_SCRIPT_STATE = """() => {
    // Notes whether a run started since now. Reads each record's old value too: a quick run can
    // go running → notRunning before the observer is called.
    const app = document.querySelector('[data-testid="stApp"]');
    const run = window.__e2eRun = {seen: false};
    new MutationObserver((records) => {
        for (const record of records) {
            if (record.oldValue !== 'notRunning' || app.getAttribute('data-test-script-state') !== 'notRunning') {
                run.seen = true;
            }
        }
    }).observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
}"""

_RERUN_DONE = f"""() => {{
    // A full reload loses the watcher; then an idle, freshly run app is as good.
    const reloaded = window.__e2eRun === undefined;
    return (reloaded || window.__e2eRun.seen) && ({_APP_SETTLED})();
}}"""


def rerun_after(page: Page, action: Callable[[], None], timeout_ms: int = TIMEOUT_MS) -> float:
    """Do ``action`` (a click, a key press) and wait for the rerun it causes to finish.

    Returns the seconds from the action to the app being idle again. Fails on timeout if the
    action caused no rerun.
    """
    page.evaluate(_WATCH_SCRIPT_STATE)
    started = time.perf_counter()
    action()
    page.wait_for_function(_RERUN_DONE, timeout=timeout_ms, polling=50)
    return time.perf_counter() - started


def goto(page: Page, url: str, timeout_ms: int = TIMEOUT_MS) -> float:
    """Open ``url`` and wait for the app to be idle; returns the seconds that took."""
    started = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    wait_for_app(page, timeout_ms)
    return time.perf_counter() - started


def metric_values(page: Page) -> list[str]:
    """The text of every ``st.metric`` value on the page, in order."""
    return page.locator(METRIC_VALUE).all_inner_texts()


def as_int(text: str) -> int:
    """``'6,001'`` → 6001 (metric values are formatted with thousands separators)."""
    digits = re.sub(r"[,\s\u00a0]", "", text)
    assert re.fullmatch(r"\d+", digits), f"not a whole number: {text!r}"
    return int(digits)


# --------------------------------------------------------------------------------------------
# The folium map
# --------------------------------------------------------------------------------------------


def map_frame(page: Page) -> FrameLocator:
    """The (first) streamlit-folium map iframe."""
    return page.frame_locator(MAP_IFRAME).first


def district_paths(page: Page) -> Locator:
    """Every interactive GeoJSON shape in the map (one per district on the home map)."""
    return map_frame(page).locator(DISTRICT_PATH)


def wait_for_districts(page: Page, count: int, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the map shows exactly ``count`` interactive shapes."""
    expect(district_paths(page)).to_have_count(count, timeout=timeout_ms)


def count_district_paths(page: Page) -> int:
    return district_paths(page).count()


_FIND_CLICKABLE_DISTRICT = CLICKABLE_DISTRICT_JS  # shared with the browser bench


_SETTLE = """(selector) => new Promise((resolve) => {
    // Resolves once the element's box has not moved for 5 animation frames in a row.
    const element = document.querySelector(selector);
    let last = null, same = 0;
    const tick = () => {
        const r = element.getBoundingClientRect();
        const key = [r.left, r.top, r.width, r.height].join(',');
        same = key === last ? same + 1 : 0;
        last = key;
        if (same >= 5) resolve(true); else requestAnimationFrame(tick);
    };
    tick();
})"""

_SETTLE_LEAFLET = """() => new Promise((resolve) => {
    // Resolves once the Leaflet view (centre, zoom, size) has not changed for 5 frames in a row.
    let last = null, same = 0;
    const tick = () => {
        const m = window.map;
        const key = m ? [m.getCenter().lat, m.getCenter().lng, m.getZoom(), m.getSize().x, m.getSize().y].join(',') : null;
        same = key !== null && key === last ? same + 1 : 0;
        last = key;
        if (same >= 5) resolve(true); else requestAnimationFrame(tick);
    };
    tick();
})"""


def settle_map(page: Page) -> None:
    """Centre the map iframe in the viewport and wait until neither the page nor the map moves.

    Playwright's own stability check looks at an element's box inside its frame, which does not
    change while the *page* around the iframe is still scrolling: a click on a district path can
    then land hundreds of pixels away (observed: a click meant for 象山县 reaching 新昌县 or
    falling outside Zhejiang). Scrolling first and waiting for stillness avoids that.
    """
    iframe = page.locator(MAP_IFRAME).first
    iframe.evaluate("(e) => e.scrollIntoView({block: 'center', inline: 'nearest', behavior: 'instant'})")
    page.evaluate(_SETTLE, MAP_IFRAME)
    iframe.element_handle().content_frame().evaluate(_SETTLE_LEAFLET)


def clickable_district(page: Page, start: int = 19, margin: int = 6) -> tuple[int, dict]:
    """``(index, GeoJSON properties)`` of a district shape whose centre is safely inside it.

    Settles the map first (see ``settle_map``). Starts at the ``start``-th shape (the 20th by
    default) and moves on while a shape's bounding-box centre falls outside it (concave or
    multi-part districts) or near its edge. Click it with ``district_paths(page).nth(index)``.
    """
    settle_map(page)
    frame = page.locator(MAP_IFRAME).first.element_handle().content_frame()
    found = frame.evaluate(_FIND_CLICKABLE_DISTRICT, [start, margin])
    assert found is not None, "no district shape has its bounding-box centre inside itself"
    return found["index"], found["properties"] or {}


def frames_with_element(page: Page, selector: str) -> list[str]:
    """URLs of every frame (main document and iframes) that contains ``selector``."""
    hits = []
    for frame in page.frames:
        try:
            if frame.locator(selector).count():
                hits.append(frame.url)
        except Exception:  # noqa: BLE001 - a frame detached meanwhile holds nothing
            pass
    return hits


def frames_with_script_containing(page: Page, fragments: list[str]) -> list[str]:
    """URLs of every frame with an inline ``<script>`` whose text contains one of ``fragments``."""
    hits = []
    for frame in page.frames:
        try:
            if frame.evaluate("(fragments) => [...document.scripts].some("
                              "(s) => fragments.some((f) => s.textContent.includes(f)))", fragments):
                hits.append(frame.url)
        except Exception:  # noqa: BLE001 - a frame detached meanwhile holds nothing
            pass
    return hits


def dataframe_cells_matching(page: Page, needle: str, timeout_ms: int = TIMEOUT_MS) -> list[str]:
    """Texts of ``st.dataframe`` cells containing ``needle``, found with each table's own Search.

    The glide grid draws on a canvas and mirrors only the rows in view into an accessible
    ``<table>``; its Search (toolbar button) scrolls to the first match on Enter, which brings
    that row into the mirror. Returns the full text of each matching cell in view, over all
    visible tables (a table in a tab not shown is skipped).
    """
    hits: list[str] = []
    grids = page.locator(DATAFRAME)
    for number in range(grids.count()):
        grid = grids.nth(number)
        if not grid.is_visible():
            continue
        grid.scroll_into_view_if_needed()
        grid.hover()
        search_button = grid.get_by_role("button", name="Search")
        try:
            search_button.wait_for(state="attached", timeout=5_000)
        except PlaywrightTimeoutError:
            continue  # a table with no Search in its toolbar (an editable table): nothing to look in
        try:
            search_button.click(timeout=5_000)
        except PlaywrightTimeoutError:
            # The toolbar floats above the table's top edge, where a table just above can cover it.
            search_button.dispatch_event("click")
        search = grid.locator('[data-testid="search-input"]')
        search.fill(needle)
        # Glide searches in steps; the progress bar reaches 100% when it is done. Enter before
        # that moves nowhere.
        expect(grid.locator(".gdg-search-progress")).to_have_attribute("style", re.compile(r"width: 100%"),
                                                                       timeout=timeout_ms)
        found = int(re.match(r"\d+", grid.locator('[data-testid="search-result-area"]').inner_text()).group())
        cells = grid.locator("td").filter(has_text=needle)
        if found:
            search.press("Enter")  # scroll to the first match
            expect(cells.first).to_be_attached(timeout=timeout_ms)
            hits.extend(cells.all_text_contents())
        grid.locator('[data-testid="search-close-button"]').click()
    return hits


# --------------------------------------------------------------------------------------------
# Screenshots and timings
# --------------------------------------------------------------------------------------------


def shot(page: Page, name: str) -> Path:
    """Save a full-page PNG as ``test-artifacts/screenshots/<name>.png``.

    Streamlit scrolls inside its main container, not the document, so a plain full-page
    screenshot stops at the viewport: the viewport is stretched to the content for the shot.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{safe_name(name)}.png"
    viewport = page.viewport_size or {"width": 1400, "height": 900}
    content_height = page.evaluate("""() => Math.max(
        ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"], body')]
            .map((e) => e.scrollHeight))""")
    height = max(viewport["height"], min(int(content_height), 8000))
    if height != viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": height})
        page.wait_for_timeout(300)  # let the layout settle; nothing reruns on a resize
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if height != viewport["height"]:
            page.set_viewport_size(viewport)
    return path


