"""Drill-down one level deeper in the browser: province → city → district → township on the demo's
synthetic township layer (西湖区), by clicks on the maps, as a planner at a 1440×900 screen does it.

Screenshots: ``test-artifacts/screenshots/unit-1-province.png`` … ``unit-4-township.png`` (full pages), and
``unit-5-present-1440x900.png`` and ``unit-6-present-map-1440x900.png`` (a township in presentation mode,
screens as the room sees them).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import shapely

from .browser_helpers import (
    E2E_MARKS,
    EXCEPTION,
    MAP_IFRAME,
    SCREENSHOTS,
    SIDEBAR,
    Page,
    PlaywrightTimeoutError,
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

HANGZHOU, XIHU, LAYER = "330100", "330106", "township"

# Container pixel of a lon/lat in the map, if the shape drawn there carries ``code`` (else null).
_PIXEL_OF = """([lat, lng, code]) => {
    const p = window.map.latLngToContainerPoint([lat, lng]);
    const box = window.map.getContainer().getBoundingClientRect();
    const x = box.left + p.x, y = box.top + p.y;
    const hit = document.elementFromPoint(x, y);
    let found = null;
    window.map.eachLayer((layer) => { if (layer._path === hit && layer.feature) found = layer.feature.properties.adcode; });
    return found === code ? {x, y} : null;
}"""


def _inside(db: Path, sql: str, params: list[object]) -> tuple[float, float]:
    """(lon, lat) safely inside the shape the query returns (GeoJSON text)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        point = shapely.from_geojson(con.execute(sql, params).fetchone()[0]).representative_point()
    finally:
        con.close()
    return point.x, point.y


def _click_shape(page: Page, lon: float, lat: float, code: str) -> None:
    """Click the map (the first map iframe) at lon/lat, after checking that the shape there is ``code``."""
    settle_map(page)
    iframe = page.locator(MAP_IFRAME).first
    pixel = iframe.element_handle().content_frame().evaluate(_PIXEL_OF, [lat, lon, code])
    assert pixel is not None, f"the map does not draw {code} at {lon:.4f}, {lat:.4f}"
    box = iframe.bounding_box()
    rerun_after(page, lambda: page.mouse.click(box["x"] + pixel["x"], box["y"] + pixel["y"]))


def _choose(page: Page, label: str, option_name: str) -> None:
    """Choose ``option_name`` in the sidebar select box ``label`` (its list reopened if a rerun closed it)."""
    wait_for_app(page)
    box = page.locator(SIDEBAR).get_by_role("combobox", name=label, exact=True)
    option = page.get_by_role("option", name=option_name, exact=True)
    for _ in range(3):
        box.click()
        try:
            option.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeoutError:
            wait_for_app(page)
    rerun_after(page, option.click)


def _db_rows(db: Path, sql: str, params: list[object]) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_a_planner_drills_from_the_province_to_a_township(page: Page, app_server: str, app_db: Path) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    # The province: the district page without a place.
    goto(page, f"{app_server}/district")
    shot(page, "unit-1-province")

    # The city: chosen in the sidebar; its districts on the city map.
    _choose(page, "城市", "杭州市")
    assert f"city={HANGZHOU}" in page.url
    expect(map_frame(page).locator(".needsmap-label").filter(has_text="西湖区")).to_have_count(1)
    shot(page, "unit-2-city")

    # The district: a click on 西湖区 in the city map; its townships are drawn, outlined and named.
    lon, lat = _inside(app_db, "SELECT geometry_geojson FROM districts WHERE adcode = ?", [XIHU])
    _click_shape(page, lon, lat, XIHU)
    assert f"district={XIHU}" in page.url
    units = _db_rows(app_db, "SELECT unit_code, name FROM boundary_units WHERE layer_id = ? AND district_adcode = ? "
                             "ORDER BY unit_code", [LAYER, XIHU])
    assert len(units) == 11
    labels = map_frame(page).locator(".needsmap-label")
    expect(labels).to_have_count(len(units))
    assert sorted(labels.all_inner_texts()) == sorted(name for _, name in units)
    expect(page.get_by_text("下一级：乡镇街道（点击地图上的一个查看详情）")).to_be_visible()
    expect(page.get_by_text("合成边界：演示用，并非真实的乡镇街道界线。")).to_be_visible()
    settle_map(page)
    shot(page, "unit-3-district")

    # The township: a click on the unit with the most records opens it one level deeper.
    (code, name, records), = _db_rows(
        app_db,
        "SELECT u.unit_code, u.name, count(r.record_id) FROM boundary_units u "
        "JOIN record_units r ON r.layer_id = u.layer_id AND r.unit_code = u.unit_code "
        "WHERE u.layer_id = ? AND u.district_adcode = ? GROUP BY ALL ORDER BY 3 DESC, 1 LIMIT 1", [LAYER, XIHU])
    lon, lat = _inside(app_db, "SELECT geometry FROM boundary_units WHERE layer_id = ? AND unit_code = ?", [LAYER, code])
    _click_shape(page, lon, lat, code)
    wait_for_app(page)
    assert f"unit={code}" in page.url and f"layer={LAYER}" in page.url
    expect(page.get_by_role("heading", name=f"{name} · 区县详情")).to_be_visible()
    assert metric_values(page)[0] == f"{records:,}"
    # Breadcrumb: 浙江省 › 杭州市 › 西湖区 (buttons back up) › the township.
    for crumb in ("浙江省", "杭州市", "西湖区"):
        expect(page.get_by_role("button", name=crumb, exact=True)).to_be_visible()
    shot(page, "unit-4-township")
    assert page.locator(EXCEPTION).count() == 0


def test_presentation_mode_opens_a_township_from_its_link(page: Page, app_server: str, app_db: Path) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    (code, name), = _db_rows(app_db, "SELECT unit_code, name FROM boundary_units WHERE layer_id = ? AND district_adcode = ? "
                                     "ORDER BY unit_code LIMIT 1", [LAYER, XIHU])
    goto(page, f"{app_server}/district?present=1&township={code}&from=2025-07-01&to=2025-09-30")
    expect(page.get_by_role("heading", name=f"西湖区 · {name} · 2025年7–9月")).to_be_visible()
    expect(page.locator(SIDEBAR)).to_be_hidden()
    assert f"layer={LAYER}" in page.url and f"unit={code}" in page.url and "present=1" in page.url
    expect(map_frame(page).locator(".needsmap-label")).to_have_count(11)
    # The screens the room sees: the title and key figures, then the township map.
    page.get_by_role("heading", name=f"西湖区 · {name} · 2025年7–9月").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "unit-5-present-1440x900.png"))
    settle_map(page)
    page.screenshot(path=str(SCREENSHOTS / "unit-6-present-map-1440x900.png"))
    assert page.locator(EXCEPTION).count() == 0
