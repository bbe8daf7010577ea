"""Map HTML is built without a browser and checked as a string (as folium's own tests do)."""

import json
import re

import numpy as np
import pandas as pd

from needsmap import maps, queries, store
from needsmap.filters import Filter

HOSTILE = "<img src=x onerror=alert(1)>`${alert(2)}`<script>alert(3)</script>"


def _choropleth(con, name_override=None, tiles="none"):
    geometries = queries.district_geometries(con)
    if name_override:
        geometries.loc[0, "name"] = name_override
    measures = queries.district_measures(con, Filter(), queries.as_of(con), 15, 1)
    measures["value_text"] = measures["records"].astype(str)
    measures["top_text"] = HOSTILE
    return maps.choropleth(geometries, measures[["adcode", "records", "value_text", "top_text"]], "records", title="诉求数",
                           field_labels=["区县", "城市", "诉求数", "类别"], no_data_label="无数据", tiles=tiles)


def test_choropleth_draws_90_districts_and_loads_nothing_from_the_internet(make_db):
    with store.open_readonly(make_db([{"record_id": "A"}])) as con:
        page = _choropleth(con).get_root().render()
    assert page.count('"adcode"') == 90
    assert re.findall(r"https?://", page) == []
    assert "/component/needsmap.ui.assets.leaflet/leaflet.js" in page
    assert len(page.encode()) < 1_500_000  # the bounded map payload


def test_hostile_names_and_labels_are_escaped_in_the_map(make_db):
    with store.open_readonly(make_db([{"record_id": "A"}])) as con:
        page = _choropleth(con, name_override=HOSTILE).get_root().render()
    assert "<img src=x" not in page and "<script>alert" not in page
    # Escaped for HTML, then JSON-encoded by folium into the GeoJSON data (a plain JS object, not a
    # template literal), from which GeoJsonTooltip reads it at run time.
    assert '"name": "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;`${alert(2)}`' in page


def test_amap_tiles_shift_shapes_to_gcj02(make_db):
    with store.open_readonly(make_db([{"record_id": "A"}])) as con:
        plain = _choropleth(con).get_root().render()
        shifted = _choropleth(con, tiles="amap").get_root().render()
    assert "autonavi" in shifted
    first_plain = re.search(r"\[(1[12]\d\.\d+), (\d\d\.\d+)\]", plain).groups()
    first_shifted = re.search(r"\[(1[12]\d\.\d+), (\d\d\.\d+)\]", shifted).groups()
    d_lon = float(first_shifted[0]) - float(first_plain[0])
    assert 0.002 < d_lon < 0.01  # GCJ-02 sits a few hundred metres east of WGS-84 in Zhejiang


def test_class_breaks_and_colours():
    values = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    breaks = maps.class_breaks(values, "quantiles", 5)
    assert len(breaks) == 5 and breaks[-1] == 10
    assert maps.colour_for(1.0, breaks) == maps.PALETTE[0]
    assert maps.colour_for(10.0, breaks) == maps.PALETTE[-1]
    assert maps.colour_for(float("nan"), breaks) == maps.NO_DATA_COLOUR
    assert maps.class_breaks(pd.Series([3.0, 3.0]), "natural_breaks") == [3.0]


def test_district_map_never_sends_one_marker_per_record_for_large_sets(make_db):
    rows = [{"record_id": f"R{i}", "lon": 120.10 + (i % 50) * 0.001, "lat": 30.24 + (i // 50) * 0.001} for i in range(400)]
    with store.open_readonly(make_db(rows)) as con:
        kind, cells = queries.map_points(con, Filter(district_adcode="330106"), cap=100)
        geometry = queries.district_geometries(con).set_index("adcode").loc["330106", "geometry_geojson"]
    assert kind == "cells" and len(cells) < 100 and cells["records"].sum() == 400
    cells["top_label"] = "供水"
    page = maps.district_map(geometry, kind, cells, point_labels={"urgency": "紧急", "records": "记录"}).get_root().render()
    assert page.count('"Point"') == len(cells)


def test_legend_shows_counts_as_whole_numbers_and_rates_with_decimals():
    counts = [label for _, label in maps.legend_entries([0.0, 6.0, 1200.0], "无数据")]
    rates = [label for _, label in maps.legend_entries([1.56, 27.84, 256.4], "无数据")]

    assert counts == ["≤ 0", "1 – 6", "7 – 1,200", "无数据"]
    assert rates == ["≤ 1.56", "1.56 – 27.8", "27.8 – 256", "无数据"]


def test_the_map_shows_a_metric_scale_and_no_flag_in_its_credit(make_db):
    with store.open_readonly(make_db([{"record_id": "A"}])) as con:
        page = _choropleth(con).get_root().render()
    assert "L.control.scale({imperial: false})" in page and "L.control.scale()" not in page
    assert 'attributionControl.setPrefix("Leaflet")' in page


def test_count_classes_have_whole_number_bounds_and_none_is_empty():
    counts = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    breaks = maps.class_breaks(counts, "quantiles", 5)
    # Quantiles at 20 % steps fall at 2.8, 4.6, 6.4, 8.2 and 10: rounded up to whole counts.
    assert breaks == [3.0, 5.0, 7.0, 9.0, 10.0]
    assert [label for _, label in maps.legend_entries(breaks, "无数据")] == ["≤ 3", "4 – 5", "6 – 7", "8 – 9", "10", "无数据"]

    rng = np.random.default_rng(5)
    for scheme in ("quantiles", "natural_breaks"):
        for _ in range(20):
            values = pd.Series(rng.negative_binomial(1, 0.05, size=90).astype(float))
            breaks = maps.class_breaks(values, scheme)
            assert all(b.is_integer() for b in breaks)
            assert breaks == sorted(set(breaks)) and breaks[-1] == values.max()
            lowers = [-np.inf, *breaks[:-1]]
            assert all(((values > lo) & (values <= hi)).any() for lo, hi in zip(lowers, breaks))


def test_rates_keep_their_decimal_bounds_and_no_class_is_empty():
    rates = pd.Series([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 2.25, 3.75])
    breaks = maps.class_breaks(rates, "quantiles", 5)
    lowers = [-np.inf, *breaks[:-1]]
    assert breaks[-1] == 3.75 and not all(b.is_integer() for b in breaks)
    assert all(((rates > lo) & (rates <= hi)).any() for lo, hi in zip(lowers, breaks))


def test_no_data_is_hatched_on_the_map_and_in_its_legend(make_db):
    with store.open_readonly(make_db([{"record_id": "A"}])) as con:
        page = _choropleth(con).get_root().render()
    assert 'pattern id=\\"needsmap-hatch\\"' in page  # the SVG pattern, inside the layer's script
    assert 'url(#needsmap-hatch)' in page
    assert "repeating-linear-gradient(45deg" in page


def test_district_points_have_a_legend_of_the_urgency_levels_they_show(make_db):
    rows = [{"record_id": f"R{i}", "lon": 120.10 + i * 0.001, "lat": 30.25, "urgency": 1 + (i % 2) * 3} for i in range(6)]
    with store.open_readonly(make_db(rows)) as con:
        kind, points = queries.map_points(con, Filter(district_adcode="330106"))
        geometry = queries.district_geometries(con).set_index("adcode").loc["330106", "geometry_geojson"]
    assert kind == "points" and sorted(set(points["urgency"])) == [1, 4]
    points["category_label"] = "供水"
    names = {1: "一般", 2: "较急", 3: "紧急", 4: "特急"}
    page = maps.district_map(geometry, kind, points, point_labels={"urgency": "紧急程度", "records": "记录"},
                             urgency_names=names).get_root().render()
    legend = json.loads('"' + re.search(r'innerHTML = "(.*?)";', page).group(1) + '"')
    # The two levels on the map, in their map colours; none of the others.
    assert maps.URGENCY_COLOURS[1] in legend and "一般" in legend and maps.URGENCY_COLOURS[4] in legend and "特急" in legend
    assert "较急" not in legend and "紧急程度" in legend
    # Circle markers with their tooltip.
    assert "new L.CircleMarker(latlng" in page and ".bindTooltip(" in page and 'fields = ["label", "detail"]' in page


def test_a_basemap_says_on_the_map_when_its_tiles_cannot_load():
    from needsmap.i18n import t

    page = maps.base_map("http://tiles.intranet.local/{z}/{x}/{y}.png").get_root().render()
    assert '.on("tileerror"' in page and t("tiles_failed", "zh") in page
    assert "tileerror" not in maps.base_map("none").get_root().render()  # no tiles, nothing to fail


def test_the_english_tooltip_gives_place_names_with_their_pinyin():
    from needsmap import presentation

    geometries = pd.DataFrame({"adcode": ["330106"], "name": ["西湖区"], "city": ["杭州市"],
                               "geometry_geojson": ['{"type":"Polygon","coordinates":[[[120,30],[120.1,30],[120.1,30.1],[120,30]]]}']})
    measures = pd.DataFrame({"adcode": ["330106"], "name": ["西湖区"], "city": ["杭州市"], "records": [40],
                             "distinct_requesters": [30], "unresolved": [3], "overdue": [1], "urgent": [5],
                             "rankable": [True], "top_categories": [["water", "roads"]]})
    english = presentation.map_frame(measures, "records", lang="en", public=False, k=5)
    assert list(english[["tip_name", "tip_city", "top_text"]].iloc[0]) == [
        "西湖区 (Xihu District)", "杭州市 (Hangzhou)", "Water supply, Roads"]
    page = maps.choropleth(geometries, english, "records", title="Records", field_labels=["District", "City", "Records", "Top"],
                           no_data_label="–").get_root().render()
    assert "西湖区 (Xihu District)" in page and '"name": "西湖区"' in page  # the label on the map stays as written
    chinese = presentation.map_frame(measures, "records", lang="zh", public=False, k=5)
    assert "tip_name" not in chinese and chinese["top_text"].iloc[0] == "供水、道路"


def test_on_a_projector_the_map_zooms_between_whole_levels_so_the_province_fills_it():
    assert '"zoomSnap": 0.25' in maps.base_map("none", large=True).get_root().render()
    assert "zoomSnap" not in maps.base_map("none").get_root().render()
