"""One level below the district: a unit (乡镇街道, grid cell) of a boundary layer in the Filter, the
URL, the queries, saved views and every page (AppTest; the map itself in tests/e2e/test_unit_drilldown.py).

The layers are crafted in the test (``tests/unit_layers.py``): 上城区's real outline cut into
rectangles, records assigned to them with shapely, and every figure a page shows is checked
against a count made here from the records and the shapes.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from needsmap import demo, formatting, layer_queries, queries, store, views
from needsmap.filters import Filter
from tests.apptest_pages import metrics, open_page
from tests.unit_layers import add_layer, expected_units

DISTRICT, CITY = "330102", "330100"  # 上城区: not one of the demo's own layer districts
NO_LAYER = "330108"  # 滨江区: no layer at all
TOWNSHIPS = ("望江街道", "南星街道", "紫阳街道", "湖滨街道", "清波街道", "小营街道")


@pytest.fixture(scope="module")
def layered(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("units") / "demo.duckdb"
    demo.build_demo_database(db, records=4_000, seed=11)
    township = add_layer(db, "tw1", "township", DISTRICT, columns=3, rows=2, names=TOWNSHIPS, name="上城区乡镇街道")
    grid = add_layer(db, "grid1", "grid", DISTRICT, columns=3, rows=3, name="规划网格", imported_at="2026-02-01 00:00")
    return db, township, grid


@pytest.fixture
def page_db(layered, monkeypatch):
    monkeypatch.setenv("NEEDSMAP_DB", str(layered[0]))
    return layered


def _district_records(db) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM demands WHERE district_adcode = ?", [DISTRICT]).fetchone()[0]
    finally:
        con.close()


# --- The Filter ---------------------------------------------------------------------------------------------

def test_a_unit_round_trips_through_the_url():
    f = Filter(date_from=date(2025, 7, 1), city_adcode=CITY, district_adcode=DISTRICT, layer_id="township-2",
               unit_code="330102004")
    params = f.to_query_params()
    assert params == {"from": "2025-07-01", "city": CITY, "district": DISTRICT, "layer": "township-2", "unit": "330102004"}
    assert Filter.from_query_params(params) == f


def test_the_township_shorthand_means_the_newest_township_layer():
    f = Filter.from_query_params({"township": "330102004"}, layers_by_level={"township": "tw1", "grid": "grid1"})
    assert (f.layer_id, f.unit_code) == ("tw1", "330102004")
    # Explicit layer and unit win over the shorthand.
    f = Filter.from_query_params({"township": "330102004", "layer": "grid1", "unit": "330102009"},
                                 layers_by_level={"township": "tw1"})
    assert (f.layer_id, f.unit_code) == ("grid1", "330102009")
    # No township layer: the unit names nothing (the page says why).
    orphan = Filter.from_query_params({"township": "330102004"})
    assert (orphan.layer_id, orphan.unit_code) == (None, "330102004")
    assert orphan.where_sql() == ("FALSE", {})


@pytest.mark.parametrize("value", ["1 OR 1=1", "'; DROP TABLE demands; --", "_", "-1", "33０１", "330102\n", "a" * 65,
                                   "tw1/330102001", "<b>"])
def test_unit_and_layer_values_outside_the_pattern_are_dropped(value):
    f = Filter.from_query_params({"layer": value, "unit": value, "township": value}, layers_by_level={"township": "tw1"})
    assert (f.layer_id, f.unit_code) == (None, None)


def test_a_unit_is_a_bound_semi_join_on_record_units():
    sql, params = Filter(district_adcode=DISTRICT, layer_id="tw1", unit_code="330102004").where_sql("d")
    assert sql == ("d.district_adcode = $f_district AND d.record_id IN (SELECT u.record_id FROM record_units u"
                   " WHERE u.layer_id = $f_layer AND u.unit_code = $f_unit)")
    assert params == {"f_district": DISTRICT, "f_layer": "tw1", "f_unit": "330102004"}
    # A layer alone (the district's drill-down choice) filters nothing.
    assert Filter(layer_id="tw1").where_sql() == ("TRUE", {})


def test_a_unit_is_named_after_its_district():
    f = Filter(date_from=date(2025, 7, 1), date_to=date(2025, 9, 30), district_adcode=DISTRICT, layer_id="tw1",
               unit_code="330102004")
    names = {DISTRICT: "上城区", "tw1/330102004": "湖滨街道"}
    assert f.describe("zh", names) == "上城区 · 湖滨街道 · 2025年7–9月"
    assert f.without_place() == Filter(date_from=date(2025, 7, 1), date_to=date(2025, 9, 30))


# --- The queries --------------------------------------------------------------------------------------------

def test_unit_counts_and_smoothed_rates_match_an_independent_count(layered):
    db, township, _ = layered
    expected = expected_units(db, township).set_index("unit_code")
    with store.open_readonly(db) as con:
        measures = layer_queries.unit_measures(con, Filter(city_adcode=CITY, district_adcode=DISTRICT), "tw1",
                                               queries.as_of(con), 15, 1).set_index("unit_code")
        unplaced = layer_queries.unplaced_records(con, Filter(district_adcode=DISTRICT), "tw1")
    assert list(measures.index) == list(expected.index)
    assert list(measures["name"]) == list(TOWNSHIPS)
    assert measures["records"].tolist() == expected["records"].astype(int).tolist()
    assert measures["distinct_requesters"].tolist() == expected["distinct_requesters"].astype(int).tolist()
    assert sum(measures["records"]) > 0
    pd.testing.assert_series_equal(measures["per_10k"], expected["per_10k"], check_names=False)
    pd.testing.assert_series_equal(measures["smoothed_per_10k"], expected["smoothed_per_10k"], check_names=False)
    assert unplaced == _district_records(db) - int(expected["records"].sum())


def test_unit_kpis_count_the_units_records_over_its_own_residents(layered):
    db, township, _ = layered
    row = expected_units(db, township).iloc[1]
    with store.open_readonly(db) as con:
        kpis = queries.kpis(con, Filter(district_adcode=DISTRICT, layer_id="tw1", unit_code=row["unit_code"]),
                            queries.as_of(con), 15)
    assert (kpis["records"], kpis["distinct_requesters"], kpis["population"]) == (
        row["records"], row["distinct_requesters"], row["population"])
    assert kpis["per_10k"] == pytest.approx(row["per_10k"])


def test_a_unit_is_checked_against_the_layers(layered):
    db, _, _ = layered
    with store.open_readonly(db) as con:
        found, why = layer_queries.resolve(con, Filter(layer_id="tw1", unit_code="330102002"))
        assert (found, why) == (Filter(city_adcode=CITY, district_adcode=DISTRICT, layer_id="tw1", unit_code="330102002"), None)
        assert layer_queries.resolve(con, Filter(district_adcode=DISTRICT, layer_id="old", unit_code="330102002")) == (
            Filter(district_adcode=DISTRICT), "layer_gone")
        assert layer_queries.resolve(con, Filter(district_adcode=DISTRICT, layer_id="tw1", unit_code="330102099")) == (
            Filter(district_adcode=DISTRICT, layer_id="tw1"), "unit_gone")
        assert layer_queries.resolve(con, Filter(unit_code="330102002")) == (Filter(), "level_missing")
        assert layer_queries.resolve(con, Filter(district_adcode=DISTRICT)) == (Filter(district_adcode=DISTRICT), None)


def test_a_code_another_township_layer_has_is_taken_from_it(layered):
    db, _, _ = layered
    with store.open_readonly(db) as con:
        # The demo's own township layer ("township", the newest) has no 上城区 units; tw1 has.
        assert layer_queries.layers_by_level(con)["township"] == "township"
        assert layer_queries.resolve(con, Filter(layer_id="township", unit_code="330102002"))[0].layer_id == "tw1"


def test_a_database_made_before_layers_has_none(empty_db):
    con = duckdb.connect(str(empty_db))
    con.execute("DROP TABLE record_units; DROP TABLE boundary_units; DROP TABLE boundary_layers")
    con.close()
    with store.open_readonly(empty_db) as con:
        assert not layer_queries.has_layers(con)
        assert layer_queries.layers(con).empty and layer_queries.layers_by_level(con) == {}
        assert layer_queries.unit(con, "tw1", "1") is None and layer_queries.unit_names(con) == {}
        assert layer_queries.district_layers(con, DISTRICT).empty
        assert layer_queries.resolve(con, Filter(layer_id="tw1", unit_code="1")) == (Filter(), "layer_gone")


# --- The district page --------------------------------------------------------------------------------------

def test_the_district_page_lists_its_townships_with_their_counts(page_db):
    db, township, grid = page_db
    expected = expected_units(db, township)
    app = open_page("pages/1_district.py", city=CITY, district=DISTRICT)
    assert not app.exception, [e.value for e in app.exception]
    assert "下一级：乡镇街道（点击地图上的一个查看详情）" in [s.value for s in app.subheader]
    # Two layers here: the chooser offers both, townships first.
    chooser = app.selectbox(key="units_layer")
    assert chooser.options == ["上城区乡镇街道 · 乡镇街道 · 6", f"规划网格 · 网格 · {len(grid.units)}"]
    assert chooser.value == "tw1"
    table = app.dataframe[-1].value  # the units' ranking (the record table comes only when asked)
    wanted = expected.sort_values(["records", "unit_code"], ascending=[False, True])
    assert table["单元"].tolist() == wanted["name"].tolist()
    assert table["诉求数"].tolist() == wanted["records"].astype(int).tolist()
    assert table["独立诉求人"].tolist() == wanted["distinct_requesters"].astype(int).tolist()
    assert table["人口"].tolist() == wanted["population"].tolist()
    unplaced = _district_records(db) - int(expected["records"].sum())
    caption = " ".join(c.value for c in app.caption)
    if unplaced:
        assert f"{unplaced} 条记录不在任何乡镇街道内" in caption
    # The sidebar offers the townships one level below the district.
    assert app.sidebar.selectbox[2].label == "乡镇街道"
    assert app.sidebar.selectbox[2].options == ["全部", *TOWNSHIPS]


def test_choosing_a_township_shows_its_own_figures_and_breadcrumb(page_db):
    db, township, _ = page_db
    row = expected_units(db, township).set_index("name").loc["湖滨街道"]
    app = open_page("pages/1_district.py", city=CITY, district=DISTRICT)
    app.sidebar.selectbox[2].select("330102004").run()
    assert not app.exception, [e.value for e in app.exception]
    assert dict(app.query_params) == {"city": CITY, "district": DISTRICT, "layer": "tw1", "unit": "330102004"}
    assert app.title[0].value == "湖滨街道 · 区县详情"
    assert app.caption[0].value == "上城区 · 湖滨街道"
    shown = metrics(app)
    assert shown["诉求总数"] == formatting.fmt_int(row["records"])
    assert shown["独立诉求人"] == formatting.fmt_int(row["distinct_requesters"])
    assert f"每万人 {formatting.fmt_num(row['per_10k'], 2)}" in [c.value for c in app.caption]
    # Breadcrumb: 浙江省 › 杭州市 › 上城区 (a button back up) › 湖滨街道.
    assert [b.label for b in app.button][:3] == ["浙江省", "杭州市", "上城区"]
    assert "**湖滨街道**" in [m.value for m in app.markdown]
    app.button(key="crumb_district").click().run()
    # Back at the district, which keeps the layer it was drilled through.
    assert dict(app.query_params) == {"city": CITY, "district": DISTRICT, "layer": "tw1"}
    assert app.title[0].value == "上城区 · 区县详情"


def test_the_layer_chooser_drills_into_the_grid(page_db):
    db, _, grid = page_db
    expected = expected_units(db, grid)
    app = open_page("pages/1_district.py", city=CITY, district=DISTRICT)
    app.selectbox(key="units_layer").select("grid1").run()
    assert not app.exception, [e.value for e in app.exception]
    assert dict(app.query_params) == {"city": CITY, "district": DISTRICT, "layer": "grid1"}
    assert "下一级：网格（点击地图上的一个查看详情）" in [s.value for s in app.subheader]
    table = app.dataframe[-1].value
    wanted = expected.sort_values(["records", "unit_code"], ascending=[False, True])
    assert table["诉求数"].tolist() == wanted["records"].astype(int).tolist()
    assert app.sidebar.selectbox[2].label == "网格" and len(app.sidebar.selectbox[2].options) == len(grid.units) + 1


def test_a_district_without_a_layer_says_so_once(page_db):
    app = open_page("pages/1_district.py", city=CITY, district=NO_LAYER)
    assert not app.exception
    notes = [c.value for c in app.caption if "下一级边界" in c.value]
    assert notes == ["本区县没有下一级边界（乡镇街道等），可在“数据”页导入边界图层。"]
    assert [s.label for s in app.sidebar.selectbox] == ["城市", "区县"]  # no deeper chooser


@pytest.mark.parametrize("page, wanted", [
    ("pages/2_priorities.py", "上城区 · 湖滨街道"),
    ("pages/3_gap.py", "上城区 · 湖滨街道"),
    ("pages/4_loop.py", "上城区 · 湖滨街道"),
    ("pages/6_supply.py", "上城区 · 湖滨街道"),
    (None, "上城区 · 湖滨街道"),
])
def test_every_page_follows_the_township_shorthand(page_db, page, wanted):
    app = open_page(page, township="330102004")
    assert not app.exception, [e.value for e in app.exception]
    assert app.caption[0].value == wanted
    assert dict(app.query_params) == {"city": CITY, "district": DISTRICT, "layer": "tw1", "unit": "330102004"}


def test_the_loop_page_counts_only_the_townships_records(page_db):
    db, township, _ = page_db
    row = expected_units(db, township).set_index("name").loc["湖滨街道"]
    app = open_page("pages/4_loop.py", township="330102004")
    assert f"/ {int(row['records'])} 条" in " ".join(c.value for c in app.caption)


def test_presentation_mode_titles_the_township(page_db):
    app = open_page("pages/1_district.py", present="1", township="330102004", **{"from": "2025-07-01", "to": "2025-09-30"})
    assert not app.exception
    assert app.title[0].value == "上城区 · 湖滨街道 · 2025年7–9月"


# --- Saved views and old links ------------------------------------------------------------------------------

def test_a_saved_view_of_a_replaced_layer_says_why(page_db):
    db = page_db[0]
    views.save_view(db, "旧图层", "pages/1_district.py", {"city": CITY, "district": DISTRICT, "layer": "old-layer",
                                                            "unit": "330102004"})
    view = {v.name: v for v in views.list_views(db)}["旧图层"]
    app = open_page(view.page, **view.params)
    assert not app.exception
    assert [w.value for w in app.warning] == [
        "链接或已保存视图中的边界图层“old-layer”已被替换或删除，现显示上一级。"]
    assert dict(app.query_params) == {"city": CITY, "district": DISTRICT}
    assert app.title[0].value == "上城区 · 区县详情"


def test_a_link_to_a_unit_the_layer_no_longer_has_says_why(page_db):
    app = open_page("pages/1_district.py", city=CITY, district=DISTRICT, layer="tw1", unit="330102077")
    assert [w.value for w in app.warning] == [
        "边界图层中已没有“330102077”这一单元（图层可能已被替换），现显示上一级。"]
    assert dict(app.query_params) == {"city": CITY, "district": DISTRICT, "layer": "tw1"}


def test_saved_views_keep_the_unit_and_old_views_still_open(page_db):
    db = page_db[0]
    saved = views.save_view(db, "湖滨", "pages/2_priorities.py", {"township": "330102004", "cat": "water", "evil": "x"})
    assert saved.params == {"township": "330102004", "cat": "water"}
    assert saved.url() == "/priorities?township=330102004&cat=water"
    old = views.save_view(db, "老视图", "pages/1_district.py", {"city": CITY, "district": DISTRICT})
    app = open_page(old.page, **old.params)
    assert not app.exception and not app.warning
    assert app.title[0].value == "上城区 · 区县详情"


# --- Public mode at unit level ------------------------------------------------------------------------------

def test_public_mode_lists_only_units_of_k_records_and_k_people(page_db):
    db, township, _ = page_db
    expected = expected_units(db, township)
    big_enough = expected[(expected["records"] >= 5) & (expected["distinct_requesters"] >= 5)]
    assert 0 < len(big_enough) < len(expected), "the layer should have units on both sides of k"
    app = open_page("pages/1_district.py", present="1", city=CITY, district=DISTRICT)
    assert not app.exception
    table = app.dataframe[-1].value  # public: no record table, so the units' list is last
    assert sorted(table["单元"]) == sorted(big_enough["name"])


# One person's five records in one unit of 西湖区 (养老服务 · 助餐, rated 5), six people's in another.
_SIX_PEOPLE = [dict(record_id=f"W{i}", created_at=f"2025-06-0{i} 09:00", status="dispatched", requester_hash=f"h{i}",
                    responded_at=f"2025-06-0{i} 10:00", satisfaction=3) for i in range(1, 7)]
_ONE_PERSON = [dict(record_id=f"E{i}", created_at=f"2025-06-1{i} 09:00", category="elderly_care", subcategory="助餐",
                    status="in_progress", requester_hash="solo", urgency=4, people_affected=40,
                    responded_at=f"2025-06-1{i} 10:00", satisfaction=5) for i in range(5)]
TRACES = ("养老服务", "助餐", "5.00")


@pytest.fixture
def one_person_unit(make_db, monkeypatch):
    import shapely

    db = make_db([*_SIX_PEOPLE, *_ONE_PERSON], name="one_person_unit.duckdb")
    con = duckdb.connect(str(db))
    try:
        outline = shapely.from_geojson(con.execute("SELECT geometry_geojson FROM districts WHERE adcode = '330106'").fetchone()[0])
        west, south, east, north = outline.bounds
        halves = [shapely.intersection(outline, shapely.box(west, south, (west + east) / 2, north)),
                  shapely.intersection(outline, shapely.box((west + east) / 2, south, east, north))]
        for prefix, half in (("W", halves[0]), ("E", halves[1])):
            point = half.representative_point()
            con.execute("UPDATE demands SET lon = ?, lat = ? WHERE starts_with(record_id, ?)", [point.x, point.y, prefix])
    finally:
        con.close()
    layer = add_layer(db, "tw", "township", "330106", columns=2, rows=1, names=("西半街道", "东半街道"))
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    monkeypatch.setenv("NEEDSMAP_MIN_RECORDS_TO_RANK", "1")
    return db, layer


def _shown(app) -> str:
    import json

    parts = [m.label + " " + m.value for m in app.metric]
    parts += [frame.value.to_string() for frame in app.dataframe]
    parts += [json.dumps(json.loads(e.proto.spec), ensure_ascii=False) for e in app.get("plotly_chart")]
    parts += [e.value for kind in ("markdown", "caption", "info", "warning", "subheader", "header", "title")
              for e in getattr(app, kind)]
    return "\n".join(parts)


def test_a_public_page_of_one_persons_unit_shows_no_figure_of_it(one_person_unit):
    db, layer = one_person_unit
    assert expected_units(db, layer)[["name", "records", "distinct_requesters"]].values.tolist() == [
        ["西半街道", 6, 6], ["东半街道", 5, 1]]
    staff = open_page("pages/1_district.py", township="330106002")
    assert metrics(staff)["诉求总数"] == "5" and "养老服务" in _shown(staff)
    for page in (None, "pages/1_district.py", "pages/2_priorities.py", "pages/4_loop.py"):
        app = open_page(page, present="1", township="330106002")
        assert not app.exception, [e.value for e in app.exception]
        assert app.title[0].value.startswith("西湖区 · 东半街道")
        assert not [trace for trace in TRACES if trace in _shown(app)], page
        for label, value in metrics(app).items():
            assert value in ("–", "<5", "0", "– 小时"), (label, value)
    # The district's units in public: the one-person unit is not listed.
    district = open_page("pages/1_district.py", present="1", city="330100", district="330106")
    assert district.dataframe[-1].value["单元"].tolist() == ["西半街道"]


def test_the_briefing_of_one_persons_unit_gives_no_figure_of_it(one_person_unit):
    from needsmap import brief

    db, _ = one_person_unit
    with store.open_readonly(db) as con:
        briefing = brief.build(con, brief.unit_filter(con, "330106002"))
    assert briefing.place == "西湖区 · 东半街道"
    assert {row[1] for row in briefing.kpi_rows} <= {"–", "<5", "0"}
    assert briefing.priority_rows == ()
    assert not [trace for trace in TRACES if trace in brief.to_html(briefing)]


def test_the_bench_times_the_refresh_at_township_level(demo_db):
    from needsmap import bench

    lines = []
    with store.open_readonly(demo_db) as con:
        figures = bench._township_refresh(con, 2, queries.as_of(con), 15, 30, lines.append)
    assert 0 < figures["township_refresh_median_ms"] <= figures["township_refresh_p95_ms"]
    assert lines and lines[0].startswith("township refresh (330106 unit 330106")


def test_the_units_map_measure_lives_in_the_url_and_orders_the_list(page_db, monkeypatch):
    monkeypatch.setenv("NEEDSMAP_MIN_RECORDS_TO_RANK", "10")
    db, township, _ = page_db
    expected = expected_units(db, township)
    rankable = expected[expected["records"] >= 10].sort_values("smoothed_per_10k", ascending=False)
    assert 0 < len(rankable) < len(expected)
    app = open_page("pages/1_district.py", city=CITY, district=DISTRICT, umeasure="smoothed_per_10k")
    assert not app.exception
    assert app.selectbox(key="units_measure@zh").value == "smoothed_per_10k"
    assert app.query_params["umeasure"] == "smoothed_per_10k"
    table = app.dataframe[-1].value
    assert table["单元"].tolist() == rankable["name"].tolist()
    assert table["每万人诉求数（平滑）"].tolist() == rankable["smoothed_per_10k"].round(2).tolist()


def test_choosing_another_district_leaves_the_township(page_db):
    app = open_page("pages/1_district.py", township="330102004")
    app.sidebar.selectbox[1].select("330106").run()  # 西湖区: units of the demo's own layer
    assert not app.exception
    assert dict(app.query_params) == {"city": CITY, "district": "330106"}
    assert app.title[0].value == "西湖区 · 区县详情"
    assert app.sidebar.selectbox[2].value == "" and app.sidebar.selectbox[2].options[1] == "示例一街道"


def test_a_townships_hot_spot_map_studies_the_township_alone(layered):
    from needsmap import hotspot_queries

    db, township, _ = layered
    with store.open_readonly(db) as con:
        texts = hotspot_queries.study_geometries(con, Filter(district_adcode=DISTRICT, layer_id="tw1", unit_code="330102004"))
    assert len(texts) == 1
    import shapely

    assert shapely.equals(shapely.from_geojson(texts[0]), township.units.set_index("unit_code").loc["330102004", "shape"])


def test_the_briefing_command_names_a_township_or_says_why_not(layered, tmp_path):
    import subprocess
    import sys

    db = layered[0]
    out = tmp_path / "湖滨街道.html"
    done = subprocess.run([sys.executable, "-m", "needsmap", "brief", "--db", str(db), "--township", "330102004",
                           "--layer", "tw1", "--format", "html", "--out", str(out)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "上城区 · 湖滨街道" in done.stdout and "上城区 · 湖滨街道" in out.read_text(encoding="utf-8")
    missing = subprocess.run([sys.executable, "-m", "needsmap", "brief", "--db", str(db), "--township", "330102099",
                              "--layer", "tw1", "--out", str(tmp_path / "x.pdf")], capture_output=True, text=True,
                             timeout=300, check=False)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "错误 error: 边界图层 tw1 中没有单元 '330102099'（用 --layer 指定图层；没有图层时先导入乡镇街道边界） "
        "(no unit of that code in the boundary layer (name the layer with --layer; import township boundaries first if "
        "there is none))"]
