"""No script from data: hostile district names and record texts show as text on every page.

The app runs on its own database: the demo data with seven districts renamed to HTML, script,
markdown, LaTeX and template-literal text, and the records, sub-categories, rejected rows and
import history of 西湖区 made hostile too. Every page is opened; on each, no dialog may fire,
no element from the data may exist in any frame (main document or folium/plotly iframes), and
the hostile text must be readable, literally, somewhere (a heading, a tooltip, a table cell,
an axis label).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from .browser_helpers import (
    DEMO_RECORDS,
    DEMO_SEED,
    E2E_MARKS,
    EXCEPTION,
    HEADING,
    MAP_IFRAME,
    SCREENSHOTS,
    SIDEBAR,
    TIMEOUT_MS,
    BrowserLog,
    Page,
    assert_only_localhost,
    dataframe_cells_matching,
    district_paths,
    expect,
    frames_with_element,
    frames_with_script_containing,
    goto,
    map_frame,
    rerun_after,
    settle_map,
    shot,
    wait_for_districts,
)

pytestmark = E2E_MARKS

# adcode → hostile name (each keeps a bit of the real name, so a person could still tell them apart)
HOSTILE_NAMES = {
    "330106": "<img src=x onerror=alert(1)>西湖区",
    "330127": "<script>alert(2)</script>淳安县",
    "330102": "上城`区` `code`",
    "330105": "${alert(3)}拱墅区",
    "330108": "</script><b>x</b>滨江区",
    "330109": "[萧山区](javascript:alert(4))",
    "330110": "**余杭区** $x^2$ :red[红]",
}
XSS_DISTRICT = "330106"
HOSTILE_DESCRIPTION = "<img src=x onerror=alert(5)>楼道灯坏了"
HOSTILE_ADDRESS = "<script>alert(6)</script>`${alert(7)}`文三路"
HOSTILE_SUBCATEGORY = "</b><b>x</b><img src=x onerror=alert(8)>路灯"
HOSTILE_FILE_NAME = "<img src=x onerror=alert(9)>.csv"
HOSTILE_RAW_ROW = "GD1,<script>alert(10)</script>,<img src=x onerror=alert(11)>"
# Raw fragments that must never appear inside an inline <script> (escaped JSON would read \u003c…).
RAW_FRAGMENTS = ["<img src=x", "<script>alert", "</script><b>", "<b>x</b>"]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from needsmap import demo, store

    db = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    demo.build_demo_database(db, records=DEMO_RECORDS, seed=DEMO_SEED)
    with store.writing(db) as con:
        con.executemany("UPDATE districts SET name = ? WHERE adcode = ?", [(n, a) for a, n in HOSTILE_NAMES.items()])
        con.execute(
            "UPDATE demands SET description = ?, address = ?, subcategory = ? "
            "WHERE record_id IN (SELECT record_id FROM demands WHERE district_adcode = ? ORDER BY record_id LIMIT 40)",
            [HOSTILE_DESCRIPTION, HOSTILE_ADDRESS, HOSTILE_SUBCATEGORY, XSS_DISTRICT],
        )
        con.execute("INSERT INTO imports (batch_id, file_name, source, crs, rows_read, accepted, rejected, skipped_existing) "
                    "VALUES (99, ?, ?, 'wgs84', 1, 0, 1, 0)", [HOSTILE_FILE_NAME, HOSTILE_DESCRIPTION])
        con.execute("INSERT INTO rejects VALUES (99, 1, '缺少位置 (no location)', ?)", [HOSTILE_RAW_ROW])
    return db


@pytest.fixture(scope="module")
def hostile_server(hostile_db: Path, serve: Callable) -> Iterator[str]:
    with serve(hostile_db, "hostile") as base_url:
        yield base_url


def _open(page: Page, url: str) -> None:
    goto(page, url)
    if page.locator(MAP_IFRAME).count():
        expect(district_paths(page).first).to_be_attached()
    page.wait_for_timeout(700)  # give an injected onerror/script the chance to fire


def _assert_nothing_from_the_data_ran(page: Page, log: BrowserLog) -> None:
    assert log.dialogs == []
    assert [e for e in log.page_errors if "alert" in e] == []
    for selector in ('img[src="x"]', 'a[href^="javascript:"]'):
        assert frames_with_element(page, selector) == [], selector
    bold_x = [frame.url for frame in page.frames if _has_bold_x(frame)]
    assert bold_x == [], "an injected <b>x</b> became an element"
    assert frames_with_script_containing(page, RAW_FRAGMENTS) == []
    assert page.locator(EXCEPTION).count() == 0
    assert_only_localhost(log.requests)


def _has_bold_x(frame) -> bool:
    try:
        return frame.evaluate("() => [...document.querySelectorAll('b, strong')].some((e) => e.textContent === 'x')")
    except Exception:  # noqa: BLE001 - a frame detached meanwhile holds nothing
        return False


def _heading_texts(page: Page) -> list[str]:
    return page.locator(HEADING).all_inner_texts()


def _inside_point(page: Page, adcode: str) -> tuple[int, dict[str, float]]:
    """(index of the district's shape, a point inside it relative to the shape's box)."""
    settle_map(page)
    frame = page.locator(MAP_IFRAME).first.element_handle().content_frame()
    found = frame.evaluate("""(adcode) => {
        const paths = [...document.querySelectorAll('path.leaflet-interactive')];
        let target = null;
        window.map.eachLayer((layer) => {
            if (layer.feature && layer.feature.properties.adcode === adcode && layer._path) target = layer._path;
        });
        if (!target) return null;
        const box = target.getBoundingClientRect();
        for (let fy = 0.5; fy < 1; fy += 0.05) for (const sy of [1, -1]) for (let fx = 0.5; fx < 1; fx += 0.05) for (const sx of [1, -1]) {
            const x = box.left + box.width * (0.5 + sx * (fx - 0.5)), y = box.top + box.height * (0.5 + sy * (fy - 0.5));
            if (document.elementFromPoint(x, y) === target) {
                return {index: paths.indexOf(target), x: x - box.left, y: y - box.top};
            }
        }
        return null;
    }""", adcode)
    assert found is not None, f"no point inside district {adcode} is reachable on the map"
    return found["index"], {"x": found["x"], "y": found["y"]}


# --- The needs map (home) ---------------------------------------------------------------------------


@pytest.mark.parametrize("adcode", ["330106", "330127", "330105", "330108", "330110"])
def test_home_map_tooltip_shows_a_hostile_district_name_as_text(page: Page, hostile_server: str, browser_log: BrowserLog,
                                                               adcode: str) -> None:
    _open(page, hostile_server + "/")
    wait_for_districts(page, 90)
    index, position = _inside_point(page, adcode)
    district_paths(page).nth(index).hover(position=position)
    tooltip = map_frame(page).locator(".leaflet-tooltip")
    expect(tooltip).to_contain_text(HOSTILE_NAMES[adcode], timeout=10_000)
    if adcode == XSS_DISTRICT:  # the map alone: a full-page shot moves the mouse off the district
        page.locator(MAP_IFRAME).first.screenshot(path=str(SCREENSHOTS / "hostile-home-tooltip.png"))
    page.wait_for_timeout(300)
    _assert_nothing_from_the_data_ran(page, browser_log)


def test_home_ranking_table_shows_hostile_names_as_text(page: Page, hostile_server: str, browser_log: BrowserLog) -> None:
    _open(page, hostile_server + "/")
    wait_for_districts(page, 90)
    assert HOSTILE_NAMES["330106"] in dataframe_cells_matching(page, "onerror")
    _assert_nothing_from_the_data_ran(page, browser_log)


# --- District drill-down ----------------------------------------------------------------------------


@pytest.mark.parametrize("adcode", list(HOSTILE_NAMES))
def test_district_page_of_a_hostile_named_district_shows_the_name_literally(
    page: Page, hostile_server: str, browser_log: BrowserLog, adcode: str
) -> None:
    _open(page, f"{hostile_server}/district?district={adcode}")
    name = HOSTILE_NAMES[adcode]
    headings = _heading_texts(page)
    assert any(text.startswith(f"{name} · ") for text in headings), headings
    expect(page.locator(SIDEBAR).get_by_role("combobox", name="区县", exact=True)).to_have_value(name)
    shot(page, f"hostile-district-{adcode}")
    _assert_nothing_from_the_data_ran(page, browser_log)


def test_district_records_show_hostile_description_address_and_subcategory_as_text(
    page: Page, hostile_server: str, browser_log: BrowserLog
) -> None:
    _open(page, f"{hostile_server}/district?district={XSS_DISTRICT}")
    rerun_after(page, lambda: page.get_by_text("显示记录明细").click())  # the record table comes when asked
    assert HOSTILE_DESCRIPTION in dataframe_cells_matching(page, "楼道灯坏了")
    assert HOSTILE_ADDRESS in dataframe_cells_matching(page, "文三路")
    assert HOSTILE_SUBCATEGORY in dataframe_cells_matching(page, "路灯")
    _assert_nothing_from_the_data_ran(page, browser_log)


# --- Priorities, gap, loop, data --------------------------------------------------------------------


def test_priorities_table_and_chart_show_hostile_text_literally(page: Page, hostile_server: str,
                                                                browser_log: BrowserLog) -> None:
    # Single callers listed too (min_req=1): the hostile records are each a need of one requester.
    _open(page, f"{hostile_server}/priorities?district={XSS_DISTRICT}&ranking=structural&min_req=1")
    # A need's label carries its district's and sub-category's names, as typed.
    assert any(HOSTILE_SUBCATEGORY in cell for cell in dataframe_cells_matching(page, "路灯"))
    # Plotly reads <b>, <a href>, <br> in labels as markup: the chart's axis must show them as typed.
    rerun_after(page, lambda: page.get_by_text("显示得分构成图（前 20 项）").click())
    page.locator(".js-plotly-plot .ytick text").first.wait_for(timeout=TIMEOUT_MS)
    labels = page.locator(".js-plotly-plot .ytick text").all_text_contents()
    assert any(HOSTILE_NAMES[XSS_DISTRICT] in label for label in labels), labels
    shot(page, "hostile-priorities")
    _assert_nothing_from_the_data_ran(page, browser_log)


def test_a_hostile_subcategory_in_the_url_is_described_literally(page: Page, hostile_server: str,
                                                                 browser_log: BrowserLog) -> None:
    _open(page, f"{hostile_server}/priorities?sub={quote(HOSTILE_SUBCATEGORY)}")
    captions = page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
    assert any(HOSTILE_SUBCATEGORY in caption for caption in captions), captions
    _assert_nothing_from_the_data_ran(page, browser_log)


def test_gap_page_runs_nothing_from_the_data(page: Page, hostile_server: str, browser_log: BrowserLog) -> None:
    _open(page, f"{hostile_server}/gap?district={XSS_DISTRICT}")
    assert any(text.startswith("城乡差距") for text in _heading_texts(page))
    _assert_nothing_from_the_data_ran(page, browser_log)


def test_loop_tables_show_hostile_names_as_text(page: Page, hostile_server: str, browser_log: BrowserLog) -> None:
    _open(page, f"{hostile_server}/loop?city=330100")
    assert HOSTILE_NAMES["330127"] in dataframe_cells_matching(page, "alert(2)")
    shot(page, "hostile-loop")
    _assert_nothing_from_the_data_ran(page, browser_log)


def test_data_page_shows_hostile_file_names_and_rejected_rows_as_text(page: Page, hostile_server: str,
                                                                      browser_log: BrowserLog) -> None:
    _open(page, f"{hostile_server}/data")
    assert HOSTILE_FILE_NAME in dataframe_cells_matching(page, "alert(9)")
    assert HOSTILE_RAW_ROW in dataframe_cells_matching(page, "alert(10)")
    shot(page, "hostile-data")
    _assert_nothing_from_the_data_ran(page, browser_log)
