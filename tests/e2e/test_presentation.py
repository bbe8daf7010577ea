"""Presentation mode as the meeting room sees it, and the offline map file as a laptop opens it.

* ``?present=1`` (and the sidebar switch): no sidebar, no Streamlit chrome, no table anywhere,
  a large title stating the place, the period and the filters; a way back out.
* The "离线地图 HTML" download, opened from disk in a Chromium that may not reach anything but
  the file itself, draws the district shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from needsmap.i18n import t

from .browser_helpers import (
    DATAFRAME,
    E2E_MARKS,
    EXCEPTION,
    HEADING,
    SIDEBAR,
    TIMEOUT_MS,
    Browser,
    BrowserLog,
    Page,
    assert_only_localhost,
    expect,
    goto,
    rerun_after,
    shot,
    wait_for_app,
    wait_for_districts,
)

pytestmark = E2E_MARKS

ZHEJIANG_DISTRICTS = 90
PRESENTATION_URL = "/?present=1&city=330100&cat=elderly_care&from=2025-07-01&to=2025-09-30"
PRESENTATION_TITLE = "杭州市 · 2025年7–9月 · 养老服务"
TABLES = f"{DATAFRAME}, [data-testid='stTable'], table"
# The home page's ranking under the map, titled by its measure (a staff view: a chart on a projector).
RANKING_TITLE = t("m_smoothed_per_10k", "zh")
# Columns only a table of single records has.
RECORD_HEADERS = {t("c_record_id", "zh"), t("c_description", "zh"), t("c_address", "zh"), t("c_phone", "zh")}
CHROME = "[data-testid='stHeader'], [data-testid='stToolbar'], [data-testid='stMainMenu'], [data-testid='stDecoration']"


def _assert_presentation(page: Page) -> None:
    expect(page.locator(SIDEBAR)).to_be_hidden()
    for index in range(page.locator(CHROME).count()):
        expect(page.locator(CHROME).nth(index)).to_be_hidden()
    # Aggregates may be tabled (a district's townships, each k or more); single records never.
    headers = set(page.locator(f"{TABLES} th").all_inner_texts())
    assert not headers & RECORD_HEADERS, f"a table of records is drawn in presentation mode: {headers}"
    assert page.locator(EXCEPTION).count() == 0
    expect(page.get_by_role("button", name=t("present_exit", "zh"))).to_be_visible()


def test_presentation_mode_from_the_url(page: Page, app_server: str, browser_log: BrowserLog) -> None:
    goto(page, app_server + PRESENTATION_URL)
    wait_for_districts(page, ZHEJIANG_DISTRICTS)
    _assert_presentation(page)
    title = page.locator(f"{HEADING} h1").first
    expect(title).to_have_text(PRESENTATION_TITLE)
    # Large type for the back of the room (Streamlit's own h1 is 2.75rem = 44 px).
    assert float(title.evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)")) >= 48
    path = shot(page, "presentation")
    assert path.stat().st_size > 50_000
    assert_only_localhost(browser_log.requests)


def test_presentation_mode_of_a_district_shows_no_records(page: Page, app_server: str) -> None:
    goto(page, app_server + "/district?present=1&district=330106")
    _assert_presentation(page)
    expect(page.locator(f"{HEADING} h1").first).to_have_text("西湖区 · 2024年1月–2025年12月")
    expect(page.get_by_text(t("public_mode_hidden", "zh"))).to_be_visible()
    shot(page, "presentation-district-330106")


def test_the_sidebar_switch_turns_presentation_on_and_the_button_turns_it_off(page: Page, app_server: str) -> None:
    goto(page, app_server + "/?cat=elderly_care")
    expect(page.locator(SIDEBAR)).to_be_visible()
    expect(page.get_by_role("heading", name=RANKING_TITLE)).to_have_count(1)
    rerun_after(page, lambda: page.locator(SIDEBAR).get_by_text(t("present_toggle", "zh")).click())
    wait_for_app(page)
    _assert_presentation(page)
    assert "present=1" in page.url
    expect(page.locator(f"{HEADING} h1").first).to_have_text("浙江省 · 2024年1月–2025年12月 · 养老服务")
    rerun_after(page, lambda: page.get_by_role("button", name=t("present_exit", "zh")).click())
    expect(page.locator(SIDEBAR)).to_be_visible()
    assert "present=1" not in page.url
    expect(page.get_by_role("heading", name=RANKING_TITLE)).to_have_count(1)


def _download_offline_map(page: Page, url: str, target: Path) -> Path:
    goto(page, url)
    page.get_by_text(t("export", "zh")).click()
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.get_by_role("button", name=t("x_map_html", "zh")).click()
    download.value.save_as(target)
    return target


def _open_offline(browser: Browser, path: Path) -> tuple[Page, list[str]]:
    """Open ``path`` from disk with every request that is not the file itself (or data:) refused."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    refused: list[str] = []

    def only_the_file(route) -> None:
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_file)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_selector("path.leaflet-interactive", timeout=TIMEOUT_MS)
    assert errors == []
    return page, refused


@pytest.mark.parametrize(("url", "name", "at_least"), [
    ("/?city=330100", "offline-map-province", ZHEJIANG_DISTRICTS),
    ("/district?district=330127", "offline-map-330127", 1),
])
def test_offline_map_file_draws_the_districts_with_no_network(
    new_page: Callable[[], Page], browser: Browser, app_server: str, artifacts: Path, tmp_path: Path,
    url: str, name: str, at_least: int,
) -> None:
    saved = _download_offline_map(new_page(), app_server + url, tmp_path / f"{name}.html")
    offline, refused = _open_offline(browser, saved)
    try:
        shapes = offline.locator("path.leaflet-interactive").count()
        assert shapes >= at_least
        if at_least == ZHEJIANG_DISTRICTS:
            assert shapes == ZHEJIANG_DISTRICTS
        assert refused == [], f"the file asked for: {refused[:5]}"
        offline.screenshot(path=str(artifacts / "screenshots" / f"{name}.png"))
    finally:
        offline.context.close()
