"""The supply page (供需对比) on the crafted city of ``test_supply`` (answers worked out there):
its figures, the province row, presentation mode's k rule, English, and a database without
facilities."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from needsmap.ingest.facilities import import_facilities
from tests.apptest_pages import metrics, open_page
from tests.conftest import write_records
from tests.ingest_files import write_csv
from tests.test_supply import RECORDS, at

PAGE = "pages/6_supply.py"


@pytest.fixture
def crafted_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    records = [dict(record_id=f"R{n}", category="elderly_care", lon=at(*xy)[0], lat=at(*xy)[1], district_adcode="330106",
                    requester_hash=person) for n, (xy, person) in enumerate(RECORDS, 1)]
    db = write_records(tmp_path / "crafted.duckdb", records)
    facilities = pd.DataFrame([
        {"设施编号": "A", "名称": "甲颐养中心", "类型": "养老院", "床位": 10, "经度": at(0, 0)[0], "纬度": at(0, 0)[1]},
        {"设施编号": "B", "名称": "乙颐养中心", "类型": "养老院", "床位": 30, "经度": at(1400, 0)[0], "纬度": at(1400, 0)[1]},
    ])
    import_facilities(write_csv(tmp_path / "设施.csv", facilities, "gbk"), db)
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    return db


def test_the_page_shows_the_hand_worked_coverage_and_2sfca(crafted_db):
    app = open_page(PAGE)
    assert not app.exception, [e.value for e in app.exception]
    shown = metrics(app)
    assert shown["生活圈内的诉求占比"] == "55.6%"  # 5 of 9 records
    assert shown["生活圈内的诉求人占比"] == "57.1%"  # 4 of 7 requesters
    assert shown["可达性（2SFCA，容量/诉求）"] == "4.44"  # 40 / 9
    crowded = app.dataframe[0].value
    assert list(crowded["设施"]) == ["甲颐养中心", "乙颐养中心"]
    assert list(crowded["范围内诉求"]) == [4, 2] and list(crowded["拥挤度"]) == [0.4, 0.067]
    districts = app.dataframe[-1].value
    assert districts["区县"][0] == "浙江省" and districts["设施数"][0] == 2
    assert not app.warning  # not demo data: no demo label


def test_presentation_mode_hides_figures_over_fewer_than_k(crafted_db, monkeypatch):
    monkeypatch.setenv("NEEDSMAP_K_ANONYMITY", "8")  # 9 records, but 7 requesters < 8 if people count
    app = open_page(PAGE, present="1")
    assert not app.exception
    shown = metrics(app)
    from needsmap import presentation

    if "distinct_requesters" in presentation.PUBLIC_COUNT_COLUMNS:
        assert shown["生活圈内的诉求占比"] == "记录过少"
    else:
        assert shown["生活圈内的诉求占比"] == "55.6%"
    # Facilities whose catchment holds fewer than k records are left out of the public tables.
    assert all(len(frame.value) == 0 for frame in app.dataframe[:2])


def test_english_and_the_url_carry_the_category_and_circle(crafted_db):
    app = open_page(PAGE, lang="en", circle="5")
    assert not app.exception
    # 5-minute circle: 300 / 1.3 = 230.8 m; only r1 (100 m from A) and r9 (200 m) are within it.
    assert metrics(app)["Records within a life circle"] == "22.2%"
    assert app.query_params["circle"] == "5"


def test_a_database_without_facilities_says_how_to_bring_them(small_db):
    app = open_page(PAGE)
    assert not app.exception
    assert any("facilities import" in info.value for info in app.info)


def test_the_briefing_gains_a_supply_section(crafted_db):
    from needsmap import brief, store
    from needsmap.formatting import place_names

    con = store.open_readonly(crafted_db)
    try:
        f = brief.place_filter(con, "330106")
        districts = con.execute("SELECT adcode, population_2020, name, city, city_adcode FROM districts").df()
        placed = dict(con.execute("SELECT facility_id, district_adcode FROM facilities").fetchall())
        lines, note = brief._supply(con, f, place_names(districts), 1, "zh")
        hidden, _ = brief._supply(con, f, place_names(districts), 10, "zh")  # 9 records < k = 10
    finally:
        con.close()
    assert placed == {"A": "330106", "B": "330106"}
    population = float(districts.set_index("adcode").loc["330106", "population_2020"])
    assert lines[0] == (f"养老服务：55.6% 的诉求在 15 分钟生活圈内（全省 55.6%）；每万人容量 "
                        f"{40 / population * 10_000:,.1f}。")
    assert lines[1] == "最拥挤：甲颐养中心（拥挤度 0.40）"  # 4 records for 10 beds
    # The uncovered requesters p5 (two records) and p6 lie within 300 m of each other: one 500 m
    # grid cell's centre reaches both (≤ 354 m + 300 m < 769 m); p7 is alone, 9 km away.
    assert lines[2].startswith("养老服务 · 建议新址：") and lines[2].endswith("可新覆盖 2 位诉求人")
    assert "绕行系数 1.3" in note and "演示" not in note
    assert hidden == ()


def test_every_briefing_format_carries_the_supply_section(crafted_db):
    import io

    from pptx import Presentation

    from needsmap import brief, store

    con = store.open_readonly(crafted_db)
    try:
        briefing = brief.build(con, brief.place_filter(con, "330106"))
    finally:
        con.close()
    assert briefing.supply_lines[0].startswith("养老服务：55.6% 的诉求在 15 分钟生活圈内")
    page = brief.render(briefing, "html").decode("utf-8")
    assert "<h2>供需对比</h2>" in page and "55.6%" in page
    deck = Presentation(io.BytesIO(brief.render(briefing, "pptx")))
    texts = [shape.text_frame.text for shape in deck.slides[-1].shapes if shape.has_text_frame]
    assert texts[0] == "西湖区 · 供需对比" and "55.6%" in texts[1]


def test_best_sites_button_lists_the_sites_covering_the_uncovered_requesters(crafted_db):
    app = open_page(PAGE)
    app.button(key="supply_best_run").click().run()
    assert not app.exception, [e.value for e in app.exception]
    sites = app.dataframe[2].value
    # p5 and p6 share one 500 m cell's reach; p7 is alone 9 km west; nothing is left for a third.
    assert list(sites["新覆盖诉求人"]) == [2, 1] and list(sites["累计"]) == [2, 3]
    assert any("精确解，CBC 求解器" in caption.value for caption in app.caption)
