"""What a planner sees in the browser: the map, a click into a district, filters, language, pages.

Each test opens a fresh browser context (a new Streamlit session) against one ``streamlit run``
for the whole session (see conftest.py). Load and redraw times are recorded in
``test-artifacts/timings.json``, not asserted; screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from needsmap import settings, taxonomy
from needsmap.i18n import t

from .browser_helpers import (
    E2E_MARKS,
    EXCEPTION,
    HEADING,
    MAP_IFRAME,
    SIDEBAR,
    TIMEOUT_MS,
    XSS_DESCRIPTION,
    XSS_DISTRICT,
    BrowserLog,
    Page,
    as_int,
    assert_only_localhost,
    clickable_district,
    dataframe_cells_matching,
    db_scalar,
    district_paths,
    expect,
    frames_with_element,
    frames_with_script_containing,
    goto,
    map_frame,
    metric_values,
    rerun_after,
    shot,
    wait_for_app,
    wait_for_districts,
)

pytestmark = E2E_MARKS

ZHEJIANG_DISTRICTS = 90
FILTER_CATEGORY = "elderly_care"  # 养老服务


def _district_names() -> dict[str, str]:
    """adcode → Chinese name, from the bundled boundaries the app draws."""
    features = json.loads(settings.DISTRICTS_GEOJSON.read_text(encoding="utf-8"))["features"]
    return {f["properties"]["adcode"]: f["properties"]["name"] for f in features}


DISTRICT_NAMES = _district_names()


def _name_in_properties(properties: dict) -> str | None:
    """The district's name from a map feature's properties, whatever the keys are called."""
    values = [str(v) for v in properties.values()]
    return next((v for v in values if v in DISTRICT_NAMES.values()), None) or next(
        (DISTRICT_NAMES[v] for v in values if v in DISTRICT_NAMES), None)


def _open_home(page: Page, app_server: str, timings: dict[str, float] | None = None) -> None:
    seconds = goto(page, app_server + "/")
    if timings is not None:
        timings["load / (app idle)"] = seconds


# --- Home ------------------------------------------------------------------------------------


def test_home_title_and_records_kpi(page: Page, app_server: str, app_db: Path, timings: dict[str, float]) -> None:
    _open_home(page, app_server, timings)
    expect(page).to_have_title(re.compile("需求地图"))
    expect(page.locator(HEADING).filter(has_text="需求地图").first).to_be_visible()
    values = metric_values(page)
    assert len(values) >= 4, f"expected a KPI strip of st.metric elements, got {values}"
    assert as_int(values[0]) == db_scalar(app_db, "SELECT count(*) FROM demands")
    assert page.locator(EXCEPTION).count() == 0


def test_home_map_draws_all_90_districts_from_localhost_only(
    page: Page, app_server: str, browser_log: BrowserLog, timings: dict[str, float]
) -> None:
    started = time.perf_counter()
    _open_home(page, app_server)
    wait_for_districts(page, ZHEJIANG_DISTRICTS)
    timings["load / (90 districts drawn)"] = time.perf_counter() - started
    shot(page, "home")
    assert district_paths(page).count() == ZHEJIANG_DISTRICTS
    assert any("/component/streamlit_folium" in url for url in browser_log.requests)
    assert_only_localhost(browser_log.requests)


def test_hovering_a_district_shows_its_name(page: Page, app_server: str) -> None:
    _open_home(page, app_server)
    wait_for_districts(page, ZHEJIANG_DISTRICTS)
    index, properties = clickable_district(page)
    name = _name_in_properties(properties)
    assert name, f"the map feature carries no district name or adcode: {properties}"
    district_paths(page).nth(index).hover()
    expect(map_frame(page).locator(".leaflet-tooltip")).to_contain_text(name, timeout=10_000)


def test_clicking_a_district_drills_down_in_place_and_links_to_its_page(
        page: Page, app_server: str, app_db: Path, timings: dict[str, float]) -> None:
    _open_home(page, app_server)
    wait_for_districts(page, ZHEJIANG_DISTRICTS)
    index, properties = clickable_district(page)
    name = _name_in_properties(properties)
    assert name, f"the map feature carries no district name or adcode: {properties}"
    adcode = next(code for code, district in DISTRICT_NAMES.items() if district == name)
    started = time.perf_counter()
    rerun_after(page, lambda: district_paths(page).nth(index).click())
    # Still the home page, the district chosen: in the URL, its outline on the kept map, its records counted.
    expect(page).to_have_url(re.compile(rf"/\?(.*&)?district={adcode}(&|$)"))
    wait_for_app(page)
    wait_for_districts(page, ZHEJIANG_DISTRICTS)
    timings["click district → in-place drill-down idle"] = time.perf_counter() - started
    expect(page.locator(HEADING).first).to_have_text("需求地图")
    expect(map_frame(page).locator(".needsmap-label")).to_have_count(1)  # only the chosen district is named
    expect(map_frame(page).locator(".needsmap-label")).to_have_text(name)
    records = db_scalar(app_db, "SELECT count(*) FROM demands WHERE district_adcode = ?", [adcode])
    assert as_int(metric_values(page)[0]) == records
    shot(page, "home-district-in-place")
    # Its own page is one click away.
    rerun_after(page, lambda: page.get_by_role("link", name=re.compile(f"{name}详情")).click())
    expect(page).to_have_url(re.compile(rf"/district\?(.*&)?district={adcode}(&|$)"))
    expect(page.locator(HEADING).filter(has_text=name).first).to_be_visible(timeout=TIMEOUT_MS)
    wait_for_app(page)
    shot(page, "district-from-home-link")
    assert page.locator(EXCEPTION).count() == 0


NAVIGATION = (  # sidebar link → URL path and the heading the page shows
    ("区县详情", "/district", "区县详情"),
    ("优先清单", "/priorities", "优先解决清单"),
    ("城乡差距", "/gap", "城乡差距"),
    ("服务闭环", "/loop", "服务闭环"),
    ("数据", "/data", "数据导入与质量"),
    ("需求地图", "/", "需求地图"),
)


def test_sidebar_links_reach_every_page(page: Page, app_server: str, timings: dict[str, float]) -> None:
    """Moving between pages inside the app (no reload), as a planner does; each move is timed."""
    _open_home(page, app_server)
    for label, path, heading in NAVIGATION:
        link = page.locator(SIDEBAR).get_by_role("link", name=label, exact=True)
        timings[f"navigate → {path}"] = rerun_after(page, link.click)
        assert page.url.split("?")[0].rstrip("/").endswith(path.rstrip("/")) or path == "/"
        expect(page.locator(HEADING).filter(has_text=heading).first).to_be_visible()
        assert page.locator(EXCEPTION).count() == 0


def test_district_page_opens_from_its_url(page: Page, app_server: str, timings: dict[str, float]) -> None:
    timings["load /district?district=330106"] = goto(page, f"{app_server}/district?district={XSS_DISTRICT}")
    expect(page.locator(HEADING).filter(has_text="西湖区").first).to_be_visible()
    assert page.locator(EXCEPTION).count() == 0
    shot(page, "district-330106")


# --- Filters and language --------------------------------------------------------------------


def test_category_filter_changes_records_kpi_and_url_restores_it(
    page: Page, new_page: Callable[[], Page], app_server: str, app_db: Path, timings: dict[str, float]
) -> None:
    _open_home(page, app_server)
    before = as_int(metric_values(page)[0])
    label = taxonomy.label(taxonomy.CATEGORIES, FILTER_CATEGORY, "zh")
    page.locator(SIDEBAR).get_by_role("combobox", name="类别", exact=True).click()
    option = page.get_by_role("option", name=label, exact=True)

    def choose() -> None:
        option.click()
        page.keyboard.press("Escape")

    timings["filter 类别 → redraw idle"] = rerun_after(page, choose)
    after = as_int(metric_values(page)[0])
    expected = db_scalar(app_db, "SELECT count(*) FROM demands WHERE category = ?", [FILTER_CATEGORY])
    assert after == expected
    assert after != before
    expect(page).to_have_url(re.compile(rf"[?&]cat={FILTER_CATEGORY}(&|$)"))
    shot(page, "home-filtered-category")

    fresh = new_page()
    goto(fresh, page.url)
    assert as_int(metric_values(fresh)[0]) == after


def test_english_switch_relabels_the_page(page: Page, app_server: str) -> None:
    _open_home(page, app_server)
    english = page.locator(SIDEBAR).locator('[data-testid="stRadio"], [data-testid="stCheckbox"]').get_by_text(
        "English", exact=True).first
    rerun_after(page, english.click)
    expect(page).to_have_title(re.compile("Needs map"))
    expect(page.locator(HEADING).filter(has_text="Needs map").first).to_be_visible()
    shot(page, "home-english")


# --- The other pages -------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["priorities", "gap", "loop", "data"])
def test_page_loads_without_exception_from_localhost_only(
    page: Page, app_server: str, browser_log: BrowserLog, timings: dict[str, float], slug: str
) -> None:
    timings[f"load /{slug}"] = goto(page, f"{app_server}/{slug}")
    heading = t(f"{slug}_title", "zh")
    expect(page.locator(HEADING).filter(has_text=heading).first).to_be_visible()
    shot(page, slug)
    exceptions = page.locator(EXCEPTION)
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert_only_localhost(browser_log.requests)


# --- Hostile text ----------------------------------------------------------------------------


def test_hostile_description_shows_as_text_in_district_records(page: Page, app_server: str,
                                                                  browser_log: BrowserLog) -> None:
    goto(page, f"{app_server}/district?district={XSS_DISTRICT}")
    rerun_after(page, lambda: page.get_by_text(t("show_records", "zh")).click())  # the record table comes when asked
    assert XSS_DESCRIPTION in dataframe_cells_matching(page, "onerror")
    shot(page, "district-330106-xss-search")
    assert browser_log.dialogs == []
    assert frames_with_element(page, 'img[src="x"]') == []


@pytest.mark.parametrize("path", ["/", f"/district?district={XSS_DISTRICT}", "/data"])
def test_hostile_record_runs_no_script(page: Page, app_server: str, browser_log: BrowserLog, path: str) -> None:
    goto(page, app_server + path)
    if path == "/":
        wait_for_districts(page, ZHEJIANG_DISTRICTS)
    elif page.locator(MAP_IFRAME).count():
        expect(district_paths(page).first).to_be_attached()
    page.wait_for_timeout(500)  # give an injected onerror/script the chance to fire
    assert browser_log.dialogs == []
    assert frames_with_element(page, 'img[src="x"]') == []
    # Hostile HTML copied raw into an inline script (not through an escaping JSON encoder) could
    # close the script element; folium's tojson writes "<" as \u003c, so raw text means trouble.
    assert frames_with_script_containing(page, ["<script>alert('addr')", "<img src=x onerror"]) == []
