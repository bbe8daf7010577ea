"""The needs map follows the place and keeps its frame: what a planner and a presenter see.

Screenshots at 1440×900 (a planner's screen), 1920×1080 in presentation mode (a projector) and
390×844 (a phone) go to ``test-artifacts/screenshots/place-*.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import shapely

from needsmap import taxonomy

from .browser_helpers import (
    E2E_MARKS,
    EXCEPTION,
    MAP_IFRAME,
    SIDEBAR,
    Page,
    clickable_district,
    db_scalar,
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
HANGZHOU = "330100"


def _city_bounds(db: Path, city: str) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a city's districts, from the database's own geometries."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        texts = [g for (g,) in con.execute("SELECT geometry_geojson FROM districts WHERE city_adcode = ?", [city]).fetchall()]
    finally:
        con.close()
    return tuple(shapely.union_all(shapely.from_geojson(texts)).bounds)


def _map_view(page: Page) -> dict:
    frame = page.locator(MAP_IFRAME).first.element_handle().content_frame()
    return frame.evaluate("""() => { const c = window.map.getCenter(), b = window.map.getBounds();
        return {lat: c.lat, lng: c.lng, west: b.getWest(), east: b.getEast(), south: b.getSouth(), north: b.getNorth()}; }""")


def test_home_map_moves_to_the_chosen_city_outlines_and_names_its_districts(page: Page, app_server: str, app_db: Path) -> None:
    goto(page, f"{app_server}/?city={HANGZHOU}")
    wait_for_districts(page, ZHEJIANG_DISTRICTS)
    hangzhou_districts = db_scalar(app_db, "SELECT count(*) FROM districts WHERE city_adcode = ?", [HANGZHOU])
    labels = map_frame(page).locator(".needsmap-label")
    expect(labels).to_have_count(hangzhou_districts)
    names = {name for (name,) in [(n,) for n in labels.all_inner_texts()]}
    assert "西湖区" in names and "淳安县" in names and "温岭市" not in names
    page.wait_for_timeout(500)  # fitBounds animates
    view = _map_view(page)
    west, south, east, north = _city_bounds(app_db, HANGZHOU)
    assert west <= view["lng"] <= east and south <= view["lat"] <= north
    # Zoomed in on the city: the view is far narrower than the province (about 5° of longitude).
    assert view["east"] - view["west"] < 2 * (east - west) + 0.5
    shot(page, "place-hangzhou-1440x900")
    assert page.locator(EXCEPTION).count() == 0


def test_a_filter_change_recolours_the_map_in_the_same_frame(page: Page, app_server: str) -> None:
    goto(page, app_server)
    wait_for_districts(page, ZHEJIANG_DISTRICTS)
    frame = page.locator(MAP_IFRAME).first.element_handle().content_frame()
    frame.evaluate("() => { window.__sameFrame = true; }")
    fills_before = frame.evaluate("() => [...document.querySelectorAll('path.leaflet-interactive')].map(p => p.getAttribute('fill'))")
    page.locator(SIDEBAR).get_by_role("combobox", name="类别", exact=True).click()
    option = page.get_by_role("option", name=taxonomy.label(taxonomy.CATEGORIES, "elderly_care", "zh"), exact=True)
    rerun_after(page, lambda: (option.click(), page.keyboard.press("Escape")))
    wait_for_districts(page, ZHEJIANG_DISTRICTS)
    frame = page.locator(MAP_IFRAME).first.element_handle().content_frame()
    expect(district_paths(page)).to_have_count(ZHEJIANG_DISTRICTS)
    page.wait_for_function("""() => { const f = document.querySelector('iframe[title="streamlit_folium.st_folium"]');
        return f && f.contentWindow.document.querySelectorAll('.needsmap-legend').length === 1; }""")
    assert frame.evaluate("() => window.__sameFrame === true"), "the map's iframe was re-created"
    fills_after = frame.evaluate("() => [...document.querySelectorAll('path.leaflet-interactive')].map(p => p.getAttribute('fill'))")
    assert fills_after != fills_before


def test_presentation_and_phone_screens_show_the_city_map_with_its_legend(new_page, app_server: str) -> None:
    for name, viewport, query in (("place-present-1920x1080", {"width": 1920, "height": 1080}, f"present=1&city={HANGZHOU}"),
                                  ("place-phone-390x844", {"width": 390, "height": 844}, f"city={HANGZHOU}")):
        page = new_page()
        page.set_viewport_size(viewport)
        goto(page, f"{app_server}/?{query}")
        wait_for_districts(page, ZHEJIANG_DISTRICTS)
        expect(map_frame(page).locator(".needsmap-legend")).to_have_count(1)
        expect(map_frame(page).locator(".needsmap-label").first).to_be_attached()
        page.wait_for_timeout(500)
        page.screenshot(path=str(Path(shot(page, name)).with_name(f"{name}-viewport.png")))
        assert page.locator(EXCEPTION).count() == 0


def test_the_city_level_has_its_map_and_a_click_opens_a_district(page: Page, app_server: str, app_db: Path) -> None:
    goto(page, f"{app_server}/district?city={HANGZHOU}")
    wait_for_districts(page, ZHEJIANG_DISTRICTS)
    hangzhou_districts = db_scalar(app_db, "SELECT count(*) FROM districts WHERE city_adcode = ?", [HANGZHOU])
    expect(map_frame(page).locator(".needsmap-label")).to_have_count(hangzhou_districts)
    shot(page, "place-city-level-1440x900")
    index, properties = clickable_district(page)
    rerun_after(page, lambda: district_paths(page).nth(index).click())
    expect(page).to_have_url(re.compile(rf"/district\?(.*&)?district={properties['adcode']}(&|$)"))
    assert page.locator(EXCEPTION).count() == 0
