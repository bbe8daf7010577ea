"""Hot spots and surges in the browser, on the bundled demo (50,000 records, seed 2025): the
surge list names the planted water outage in its week and links to the district; the district
page draws significant hexagons with the plain-words explanation. Screenshots:
``hotspots-surges``, ``hotspots-surges-present``, ``hotspots-district`` and ``hotspots-map``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from needsmap import maps

from .browser_helpers import (
    E2E_MARKS,
    EXCEPTION,
    MAP_IFRAME,
    SCREENSHOTS,
    BrowserLog,
    Page,
    assert_only_localhost,
    expect,
    goto,
    shot,
)

pytestmark = E2E_MARKS


@pytest.fixture(scope="module")
def demo_server(serve, bundled_demo_db: Path) -> Iterator[str]:
    with serve(bundled_demo_db, "hotspots") as base_url:
        yield base_url


def test_surge_list_names_the_water_outage_in_its_week_and_opens_the_district(
        page: Page, demo_server: str, browser_log: BrowserLog) -> None:
    goto(page, demo_server + "/?to=2025-09-14")
    surges = page.get_by_text("本周异常", exact=True)
    expect(surges.first).to_be_visible()
    item = page.locator("li").filter(has_text="宁波市 · 鄞州区 · 供水").first
    expect(item).to_contain_text("本周诉求人 679")
    item.scroll_into_view_if_needed()
    shot(page, "hotspots-surges")
    # Streamlit opens markdown links in a new tab (a new session): follow the link's address here.
    href = item.get_by_role("link", name="区县详情").get_attribute("href")
    assert href == "./district?from=2025-09-08&to=2025-09-14&cat=water&city=330200&district=330212"
    goto(page, demo_server + href[1:])
    expect(page.get_by_text("统计显著的热点：在 95% 置信水平下", exact=False).first).to_be_visible()
    assert "cat=water" in page.url and "district=330212" in page.url  # the filter survived the page's own URL write
    assert page.locator(EXCEPTION).count() == 0
    assert_only_localhost(browser_log.requests)


def test_presentation_mode_keeps_the_surge_list(page: Page, demo_server: str) -> None:
    goto(page, demo_server + "/?to=2025-08-17&present=1")
    item = page.locator("li").filter(has_text="北仑区 · 污水").first
    expect(item).to_be_visible()
    shot(page, "hotspots-surges-present")


def test_district_page_draws_significant_hexagons_and_explains_them(page: Page, demo_server: str) -> None:
    goto(page, demo_server + "/district?city=330200&district=330212")
    expect(page.get_by_text("统计显著的热点：在 95% 置信水平下，且已控制多重检验", exact=False).first).to_be_visible()
    expect(page.get_by_text("六边形网格（等面积）", exact=False).first).to_be_visible()
    # The district page has several maps (its townships where a layer exists, its records, the hot
    # spots): the hot-spot map is the one whose legend names hot spots.
    maps_on_page = page.locator(MAP_IFRAME)
    expect(maps_on_page.nth(1)).to_be_attached(timeout=60_000)

    def legends() -> list[str]:
        return [" ".join(maps_on_page.nth(i).content_frame.locator(".needsmap-legend").all_text_contents())
                for i in range(maps_on_page.count())]

    for _ in range(120):  # the maps draw one after another
        if any("热点 99%" in text for text in legends()):
            break
        page.wait_for_timeout(500)
    hot_map = maps_on_page.nth(next(i for i, text in enumerate(legends()) if "热点 99%" in text))
    hot_map.scroll_into_view_if_needed()
    frame = hot_map.content_frame
    hot = frame.locator(f'path.leaflet-interactive[fill="{maps.HOT_SPOT_COLOURS[("hot", 99)]}"]')
    expect(hot.first).to_be_attached(timeout=60_000)
    assert hot.count() >= 1
    expect(frame.locator(".needsmap-legend")).to_contain_text("热点 99%")
    page.wait_for_timeout(500)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    hot_map.screenshot(path=str(SCREENSHOTS / "hotspots-map.png"))
    shot(page, "hotspots-district")
    assert page.locator(EXCEPTION).count() == 0
