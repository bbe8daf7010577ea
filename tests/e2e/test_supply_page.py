"""The supply page (供需对比) in the browser, on the demo: the facilities of a district drawn with
their catchments, and a click on the map placing a trial facility whose coverage figure shows."""

from __future__ import annotations

import duckdb
import numpy as np

from needsmap import supply
from needsmap.filters import Filter

from .browser_helpers import (
    E2E_MARKS,
    EXCEPTION,
    MAP_IFRAME,
    TIMEOUT_MS,
    Page,
    assert_only_localhost,
    expect,
    goto,
    map_frame,
    metric_values,
    rerun_after,
    settle_map,
    shot,
    wait_for_app,
)

pytestmark = E2E_MARKS


def _uncovered_spot(db) -> tuple[str, float, float, int]:
    """(district adcode, lon, lat, uncovered records within the catchment of that point) for the
    district with the most elderly-care records outside every 15-minute circle — computed here,
    without the app, from the same database."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        state = supply.build(con, Filter(), "elderly_care")
    finally:
        con.close()
    uncovered = state.demand[~state.covered]
    district = uncovered["district_adcode"].value_counts().index[0]
    here = uncovered[uncovered["district_adcode"] == district]
    xy = supply.project(here["lon"].to_numpy(), here["lat"].to_numpy())
    # The uncovered record with the most uncovered neighbours within the catchment.
    near = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2) <= supply.catchment_radius_m(15) ** 2
    best = int(np.argmax(near.sum(axis=1)))
    return district, float(here["lon"].iloc[best]), float(here["lat"].iloc[best]), int(near[best].sum())


def test_a_click_places_a_facility_and_the_coverage_figure_changes(page: Page, app_server: str, app_db, browser_log) -> None:
    district, lon, lat, uncovered_near = _uncovered_spot(app_db)
    assert uncovered_near >= 1
    goto(page, f"{app_server}/supply?city={district[:4]}00&district={district}")
    expect(page.get_by_text("演示数据：设施为合成数据", exact=False).first).to_be_visible(timeout=TIMEOUT_MS)
    # Facilities are drawn in the district view, beside the 90 district shapes (their catchment
    # circles are not interactive, so they are counted apart).
    expect(map_frame(page).locator("path.leaflet-interactive").nth(90)).to_be_attached(timeout=TIMEOUT_MS)
    before = metric_values(page)[0]
    shot(page, "supply-district")
    settle_map(page)  # after the screenshot, which resizes the viewport
    frame = page.locator(MAP_IFRAME).first.element_handle().content_frame()
    x, y = frame.evaluate("([lat, lon]) => { const p = window.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
                          [lat, lon])
    box = map_frame(page).locator(".leaflet-container").first.bounding_box()
    assert 0 < x < box["width"] and 0 < y < box["height"], "the uncovered spot is outside the district view"
    # A real mouse click where Leaflet draws the uncovered spot.
    rerun_after(page, lambda: page.mouse.click(box["x"] + x, box["y"] + y))
    wait_for_app(page)
    result = page.get_by_text("其中", exact=False).filter(has_text="原本未被覆盖").first
    expect(result).to_be_visible(timeout=TIMEOUT_MS)
    values = metric_values(page)
    # The place's figure stays; the what-if figure beside it is higher, and says by how much.
    assert values[0] == before
    after = values[5]
    assert float(after.rstrip("%")) > float(before.rstrip("%")), (values[5:], result.inner_text(), lon, lat)
    placed_lon, placed_lat = (float(v) for v in values[7].split(", "))
    assert abs(placed_lon - lon) < 0.001 and abs(placed_lat - lat) < 0.001  # within a pixel or two (~100 m)
    expect(page.locator('[data-testid="stMetricDelta"]').first).to_contain_text("+")
    assert page.locator(EXCEPTION).count() == 0
    shot(page, "supply-what-if")
    assert_only_localhost(browser_log.requests)
