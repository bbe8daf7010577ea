"""The needs map on a phone (390×844, touch): a first tap shows a district's values, a second drills down.

Screenshots go to ``test-artifacts/screenshots/phone-*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from .browser_helpers import (
    E2E_MARKS,
    EXCEPTION,
    METRIC_VALUE,
    TIMEOUT_MS,
    Browser,
    BrowserLog,
    Page,
    assert_only_localhost,
    clickable_district,
    district_paths,
    expect,
    goto,
    map_frame,
    rerun_after,
    shot,
    wait_for_districts,
)

pytestmark = E2E_MARKS

ZHEJIANG_DISTRICTS = 90
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser, browser_log: BrowserLog) -> Iterator[Page]:
    """A touch phone's page (its own context): 390×844, zh-CN, Asia/Shanghai."""
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2,
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    context.on("request", lambda request: browser_log.requests.append(request.url))
    yield context.new_page()
    context.close()


def test_a_first_tap_shows_the_values_and_a_second_tap_drills_down(phone: Page, app_server: str,
                                                                         browser_log: BrowserLog) -> None:
    goto(phone, app_server)
    wait_for_districts(phone, ZHEJIANG_DISTRICTS)
    expect(map_frame(phone).locator(".needsmap-legend")).to_have_count(1)
    # Nothing wider than the phone: no sideways scrolling.
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    # Key figures two to a row (Streamlit would stack all eight before the map).
    first, second, third = (phone.locator(METRIC_VALUE).nth(i).bounding_box() for i in range(3))
    assert abs(first["y"] - second["y"]) < 2 and third["y"] > first["y"] + first["height"]
    assert second["x"] > first["x"] + first["width"] and second["x"] + second["width"] <= PHONE["width"]
    index, properties = clickable_district(phone)
    target = district_paths(phone).nth(index)

    target.tap()
    tooltip = map_frame(phone).locator(".leaflet-tooltip:not(.needsmap-label)")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(properties["name"])
    # The whole tooltip (labels and values) inside the map, not cut at its edge.
    inside = map_frame(phone).locator("body").evaluate("""(body) => {
        const tip = body.querySelector('.leaflet-tooltip:not(.needsmap-label)').getBoundingClientRect();
        return tip.left >= 0 && tip.right <= window.innerWidth && tip.top >= 0 && tip.bottom <= window.innerHeight
            && tip.width > 150; }""")
    assert inside, "the tooltip runs off the map"
    phone.wait_for_timeout(1_000)  # a drill-down would have started by now
    assert "district=" not in phone.url
    shot(phone, "phone-first-tap-390x844")

    rerun_after(phone, target.tap)
    # The drill-down (in place on the home page): the district is chosen.
    expect(phone).to_have_url(re.compile(rf"[?&]district={properties['adcode']}(&|$)"), timeout=20_000)
    assert phone.locator(EXCEPTION).count() == 0
    shot(phone, "phone-second-tap-district-390x844")
    assert_only_localhost(browser_log.requests)
