"""Presentation mode on a 1920×1080 projector: each page's essentials on one screen, projector type.

Checked by element bounding boxes in the page as Chromium lays it out (no scrolling): the title,
the key figures, the map and every entry of its legend lie above the fold. Screenshots of the
viewport go to ``test-artifacts/screenshots/fit-*.png``.
"""

from __future__ import annotations

import pytest

from needsmap.i18n import t

from .browser_helpers import (
    E2E_MARKS,
    EXCEPTION,
    HEADING,
    MAP_IFRAME,
    METRIC_VALUE,
    SCREENSHOTS,
    Page,
    expect,
    goto,
    map_frame,
    wait_for_districts,
)

pytestmark = E2E_MARKS

PROJECTOR = {"width": 1920, "height": 1080}
ZHEJIANG_DISTRICTS = 90
HANGZHOU = "330100"

# The legend's box in the page: its box in the iframe moved by the iframe's own offset.
_LEGEND_IN_PAGE = """() => {
    const frame = document.querySelector('iframe[title="streamlit_folium.st_folium"]');
    const at = frame.getBoundingClientRect();
    const legend = frame.contentDocument.querySelector('.needsmap-legend');
    const box = legend.getBoundingClientRect();
    const rows = [...legend.querySelectorAll('div > div')].map((row) => row.getBoundingClientRect());
    return {top: at.top + box.top, bottom: at.top + box.bottom, right: at.left + box.right, rows: rows.length,
            // a row counts as shown when it lies inside both the legend's box and the window
            rowsShown: rows.filter((r) => r.top >= box.top && r.bottom <= box.bottom + 1
                                        && at.top + r.bottom <= window.innerHeight).length};
}"""


def _box(page: Page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not laid out"
    return box


def _above_the_fold(box: dict) -> bool:
    return box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"] and box["x"] + box["width"] <= PROJECTOR["width"]


@pytest.mark.parametrize(("name", "query"), [("province", ""), ("hangzhou", f"&city={HANGZHOU}")])
def test_the_home_page_fits_one_projector_screen_with_the_whole_legend(new_page, app_server: str, name: str,
                                                                       query: str) -> None:
    page = new_page()
    page.set_viewport_size(PROJECTOR)
    goto(page, f"{app_server}/?present=1{query}")
    wait_for_districts(page, ZHEJIANG_DISTRICTS)
    expect(map_frame(page).locator(".needsmap-legend")).to_have_count(1)
    page.wait_for_timeout(500)  # the map fits its bounds with an animation
    page.screenshot(path=str(SCREENSHOTS / f"fit-home-{name}-1920x1080.png"))
    assert page.locator(EXCEPTION).count() == 0

    # Nothing scrolled: what is checked is what the room sees first.
    assert page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTop") == 0
    assert _above_the_fold(_box(page, f"{HEADING} h1"))
    metrics = page.locator(METRIC_VALUE)
    assert metrics.count() == 8
    for index in range(8):
        assert _above_the_fold(metrics.nth(index).bounding_box()), f"key figure {index + 1} is below the fold"
    assert _above_the_fold(_box(page, MAP_IFRAME)), "the map is cut by the fold"

    legend = page.evaluate(_LEGEND_IN_PAGE)
    assert legend["bottom"] <= PROJECTOR["height"] and legend["top"] >= 0, legend
    assert legend["right"] <= PROJECTOR["width"], legend
    # Every class and the no-data entry, each one in view (the old layout cut it after four).
    assert legend["rows"] >= 3 and legend["rowsShown"] == legend["rows"], legend
    last_row = map_frame(page).locator(".needsmap-legend div > div").last
    expect(last_row).to_have_text(t("legend_no_data", "zh"))
    # Projector type in the legend, the key figures and the demo-data badge.
    badge = page.get_by_text(t("demo_badge", "zh")).first
    assert _above_the_fold(badge.bounding_box())
    assert float(badge.evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)")) >= 20
    assert float(map_frame(page).locator(".needsmap-legend > div").first.evaluate(
        "(e) => parseFloat(getComputedStyle(e).fontSize)")) >= 20
    assert float(metrics.first.evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)")) >= 40


def test_a_district_in_presentation_mode_has_projector_type_and_says_what_it_leaves_out(new_page, app_server: str) -> None:
    page = new_page()
    page.set_viewport_size(PROJECTOR)
    goto(page, f"{app_server}/district?present=1&district=330127")  # 淳安县: few records in the e2e demo
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "fit-district-330127-1920x1080.png"))
    assert page.locator(EXCEPTION).count() == 0
    assert _above_the_fold(_box(page, f"{HEADING} h1"))
    for index in range(8):
        assert _above_the_fold(page.locator(METRIC_VALUE).nth(index).bounding_box())
    # Chart ticks at projector size (Streamlit's plotly theme had them at 12 px).
    tick_sizes = page.locator(".js-plotly-plot .xtick text, .js-plotly-plot .ytick text").evaluate_all(
        "(ticks) => ticks.map((tick) => parseFloat(getComputedStyle(tick).fontSize))")
    assert tick_sizes and min(tick_sizes) >= 18, tick_sizes


def test_tables_and_the_funnel_are_projector_sized_and_fit_the_width(new_page, app_server: str) -> None:
    page = new_page()
    page.set_viewport_size(PROJECTOR)
    goto(page, f"{app_server}/loop?present=1")
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible()
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "fit-loop-table-1920x1080.png"))
    # The grid draws on a canvas: it is zoomed as a whole, and still fits the page's width.
    assert float(grid.evaluate("(e) => parseFloat(getComputedStyle(e.parentElement).zoom)")) >= 1.4
    box = grid.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PROJECTOR["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PROJECTOR["width"]
    sizes = page.locator(".js-plotly-plot text.bartext").evaluate_all(
        "(texts) => texts.map((text) => parseFloat(getComputedStyle(text).fontSize))")
    assert sizes and min(sizes) >= 18, sizes
