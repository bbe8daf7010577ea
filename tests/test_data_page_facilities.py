"""The Data page's facility upload (AppTest): a county list exported with Chinese headers in GBK,
uploaded through the page's form; the page shows the exact counts and each rejected row with its
reason, and the supply page's figures follow (the crafted city of ``test_supply``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from needsmap import settings
from tests.apptest_pages import metrics, open_page
from tests.conftest import write_records
from tests.test_supply import RECORDS, at

# Facilities A and B of the crafted city, and four rows a careless export gives.
FACILITY_LIST = pd.DataFrame([
    {"设施编号": "A", "名称": "甲颐养中心", "类型": "养老院", "床位数": "10张", "经度": at(0, 0)[0], "纬度": at(0, 0)[1],
     "地址": "杭州市西湖区", "联系电话": "13812345678"},
    {"设施编号": "B", "名称": "乙颐养中心", "类型": "居家养老服务中心", "床位数": "30", "经度": at(1400, 0)[0],
     "纬度": at(1400, 0)[1], "地址": "", "联系电话": ""},
    {"设施编号": "C", "名称": "坐标颠倒", "类型": "养老院", "床位数": "20", "经度": at(0, 0)[1], "纬度": at(0, 0)[0],
     "地址": "", "联系电话": ""},
    {"设施编号": "A", "名称": "重复编号", "类型": "养老院", "床位数": "5", "经度": at(0, 0)[0], "纬度": at(0, 0)[1],
     "地址": "", "联系电话": ""},
    {"设施编号": "", "名称": "没有编号", "类型": "养老院", "床位数": "5", "经度": at(0, 0)[0], "纬度": at(0, 0)[1],
     "地址": "", "联系电话": ""},
    {"设施编号": "D", "名称": "床位有误", "类型": "养老院", "床位数": "若干", "经度": at(0, 0)[0], "纬度": at(0, 0)[1],
     "地址": "", "联系电话": "13987654321"},
])


@pytest.fixture
def city_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The crafted city's nine elderly-care records; no facilities yet; no staff password."""
    records = [dict(record_id=f"R{n}", category="elderly_care", lon=at(*xy)[0], lat=at(*xy)[1], district_adcode="330106",
                    requester_hash=person) for n, (xy, person) in enumerate(RECORDS, 1)]
    db = write_records(tmp_path / "city.duckdb", records)
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    monkeypatch.delenv("NEEDSMAP_STAFF_PASSWORD", raising=False)
    monkeypatch.setattr(settings, "SECRETS_TOML", tmp_path / "no-secrets.toml")
    return db


def as_seen(markdown: str) -> str:
    """The text a person reads: the page escapes Markdown characters in messages built from data."""
    return markdown.replace("\\", "")


def gbk_csv(frame: pd.DataFrame) -> bytes:
    """As Excel's 'CSV (逗号分隔)' saves it on a Chinese Windows: GBK, CRLF line ends."""
    return frame.to_csv(index=False, lineterminator="\r\n").encode("gbk")


def test_uploading_a_facility_list_shows_counts_and_reasons_and_changes_the_supply_page(city_db: Path):
    supply_page = open_page("pages/6_supply.py")
    assert any("facilities import" in info.value for info in supply_page.info)  # none yet: how to bring them

    app = open_page("pages/5_data.py")
    assert not app.exception, [e.value for e in app.exception]
    app.file_uploader(key="facility_file").upload("养老机构名录.csv", gbk_csv(FACILITY_LIST), "text/csv")
    next(b for b in app.button if b.label == "导入设施").click()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error
    assert [as_seen(s.value) for s in app.success] == [
        "已导入设施 imported facilities 养老机构名录.csv (批次 batch 1): accepted=2 updated=0 rejected=4 "
        "skipped_existing=0 rows_read=6 unmapped_types=0"]
    rejects = next(f.value for f in app.dataframe if list(f.value.columns) == ["批次", "行号", "原因"])
    assert list(rejects["批次"]) == [1, 1, 1, 1] and list(rejects["行号"]) == [3, 4, 5, 6]  # data rows, 1 under the header
    assert list(rejects["原因"]) == [
        "第 3 行：经纬度似乎颠倒 (latitude and longitude appear swapped)",
        "第 4 行：设施编号与文件中前面的行重复 (the facility id repeats an earlier row of this file)",
        "第 5 行：设施编号为空 (the facility id is blank)",
        "第 6 行：容量不是大于等于 0 的数字 (the capacity is not a number of at least 0)",
    ]
    shown_text = " ".join(str(v) for frame in app.dataframe for v in frame.value.to_numpy().ravel())
    assert "13987654321" not in shown_text and "13812345678" not in shown_text

    supply_page = open_page("pages/6_supply.py")
    assert not supply_page.exception
    shown = metrics(supply_page)
    assert shown["生活圈内的诉求占比"] == "55.6%"  # 5 of 9 records, worked out in test_supply
    assert shown["生活圈内的诉求人占比"] == "57.1%"  # 4 of 7 requesters
    crowded = supply_page.dataframe[0].value
    assert list(crowded["设施"]) == ["甲颐养中心", "乙颐养中心"] and list(crowded["范围内诉求"]) == [4, 2]

    # The same list again changes nothing, and the page says so in its counts.
    app = open_page("pages/5_data.py")
    app.file_uploader(key="facility_file").upload("养老机构名录.csv", gbk_csv(FACILITY_LIST), "text/csv")
    next(b for b in app.button if b.label == "导入设施").click()
    app.run()
    assert "accepted=0 updated=0 rejected=4 skipped_existing=2 rows_read=6" in as_seen(app.success[0].value)


def test_a_road_network_uploaded_on_the_data_page_turns_the_supply_page_to_walking_distances(city_db: Path,
                                                                                            tmp_path: Path):
    """The crafted city's facilities, then an Overpass export of one straight street through it
    (y = 0, x from −500 to 2,000, a node every 50 m): records near the street walk to A and B along
    it; the far ones are off it (more than 300 m) and stay straight-line."""
    from needsmap.ingest.facilities import import_facilities
    from tests.ingest_files import write_csv

    import_facilities(write_csv(tmp_path / "设施.csv", FACILITY_LIST.head(2), "gbk"), city_db)
    app = open_page("pages/5_data.py")
    assert any("尚未导入路网" in c.value for c in app.caption)
    xs = range(-500, 2001, 50)
    nodes = "\n".join(f'  <node id="{9000 + i}" lat="{at(x, 0)[1]:.7f}" lon="{at(x, 0)[0]:.7f}"/>' for i, x in enumerate(xs))
    refs = "\n".join(f'    <nd ref="{9000 + i}"/>' for i in range(len(xs)))
    street = (f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="Overpass API 0.7.62.1 084b4234">\n'
              f'{nodes}\n  <way id="77">\n{refs}\n    <tag k="highway" v="residential"/>\n  </way>\n</osm>\n')
    app.file_uploader(key="network_file").upload("长街.osm", street.encode("utf-8"), "application/xml")
    next(b for b in app.button if b.label == "导入路网").click()
    app.run()
    assert not app.exception and not app.error
    assert [as_seen(s.value) for s in app.success] == [
        "已导入路网 imported road network 长街.osm (osm): ways=1 nodes=51 edges=50 length_km=2.5"]
    assert any(c.value.startswith("当前路网：长街.osm（51 个节点，2.5 公里，") for c in app.caption)

    supply_page = open_page("pages/6_supply.py")
    assert not supply_page.exception
    # Walks: r1 100, r2 300, r3 500 (from B), r4 700, r9 200 + 0 (it is 200 m off the street, at
    # x = 0); r5 r6 r7 r8 are more than 300 m from it: straight line, none covered. 5 of 9.
    assert metrics(supply_page)["生活圈内的诉求占比"] == "55.6%"
    assert any(c.value.startswith("距离：步行路网距离（路网 长街.osm；") and "4 条诉求、0 个设施" in c.value
               for c in supply_page.caption)
