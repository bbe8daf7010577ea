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
                    requester_hash=person, cluster_id=n) for n, (xy, person) in enumerate(RECORDS, 1)]
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
