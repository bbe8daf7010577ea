"""The facility import: the same hostile-input rules as demand (bad coordinates, duplicates,
Chinese headers, GBK, XLSX, GeoJSON), updates by id, idempotent, one transaction — on both stores."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from needsmap.__main__ import main
from needsmap.errors import UnusableFileError
from needsmap.ingest.facilities import import_facilities
from tests.conftest import both_stores
from tests.ingest_files import query, write_csv, write_geojson, write_xlsx

pytestmark = both_stores  # every test on a DuckDB file and on a lake

# A county civil-affairs list as exported from a spreadsheet: Chinese headers, 床位 with units.
LIST = pd.DataFrame([
    {"设施编号": "YL001", "名称": "西湖区颐养中心", "类型": "养老院", "床位数": "120张", "开业日期": "2019/5/1",
     "经度": 120.13, "纬度": 30.26, "地址": "杭州市西湖区文三路", "联系电话": "13812345678"},
    {"设施编号": "WS001", "名称": "古荡社区卫生服务站", "类型": "社区卫生服务站", "床位数": "", "开业日期": "",
     "经度": 120.12, "纬度": 30.28, "地址": "", "联系电话": ""},
    {"设施编号": "YE001", "名称": "坐标颠倒幼儿园", "类型": "幼儿园", "床位数": "180", "开业日期": "2020-09-01",
     "经度": 30.28, "纬度": 120.16, "地址": "", "联系电话": ""},
    {"设施编号": "GC001", "名称": "省外公厕", "类型": "公厕", "床位数": "2", "开业日期": "",
     "经度": 121.47, "纬度": 31.23, "地址": "上海", "联系电话": "13987654321"},
    {"设施编号": "YL001", "名称": "重复行", "类型": "养老院", "床位数": "1", "开业日期": "",
     "经度": 120.13, "纬度": 30.26, "地址": "", "联系电话": ""},
    {"设施编号": "", "名称": "无编号", "类型": "养老院", "床位数": "10", "开业日期": "",
     "经度": 120.13, "纬度": 30.26, "地址": "", "联系电话": ""},
    {"设施编号": "XX001", "名称": "无坐标小学", "类型": "小学", "床位数": "600", "开业日期": "",
     "经度": "", "纬度": "", "地址": "", "联系电话": ""},
    {"设施编号": "XX002", "名称": "容量有误", "类型": "小学", "床位数": "很多", "开业日期": "",
     "经度": 120.16, "纬度": 30.27, "地址": "", "联系电话": ""},
    {"设施编号": "TS001", "名称": "图书馆", "类型": "图书馆", "床位数": "", "开业日期": "",
     "经度": 120.16, "纬度": 30.27, "地址": "", "联系电话": ""},
])
REASONS = {"lat_lon_swapped": 1, "outside_zhejiang": 1, "facility_id_duplicate_in_file": 1, "facility_id_blank": 1,
           "facility_no_point": 1, "capacity_invalid": 1}


@pytest.mark.parametrize("writer", ["gbk_csv", "xlsx", "utf8_bom_csv"])
def test_a_hostile_list_is_sorted_into_facilities_and_rejects_with_reasons(tmp_path: Path, empty_db: Path, writer: str):
    path = {"gbk_csv": lambda p: write_csv(p / "设施.csv", LIST, "gbk"),
            "utf8_bom_csv": lambda p: write_csv(p / "设施.csv", LIST, "utf-8-sig"),
            "xlsx": lambda p: write_xlsx(p / "设施.xlsx", LIST)}[writer](tmp_path)
    report = import_facilities(path, empty_db)
    assert (report.rows_read, report.accepted, report.rejected, report.updated, report.skipped_existing) == (9, 3, 6, 0, 0)
    assert report.reasons == REASONS
    assert report.unmapped_types == 1  # 图书馆
    rows = query(empty_db, "SELECT facility_id, name, facility_type, category, capacity, CAST(opened_on AS VARCHAR), "
                           "district_adcode FROM facilities ORDER BY facility_id")
    assert rows == [("TS001", "图书馆", "图书馆", "other", None, None, "330105"),
                    ("WS001", "古荡社区卫生服务站", "社区卫生服务站", "healthcare", None, None, "330106"),
                    ("YL001", "西湖区颐养中心", "养老院", "elderly_care", 120.0, "2019-05-01", "330106")]
    rejects = query(empty_db, "SELECT row_number, reason, raw_row FROM facility_rejects ORDER BY row_number")
    assert [r[0] for r in rejects] == [3, 4, 5, 6, 7, 8]
    assert rejects[0][1] == "第 3 行：经纬度似乎颠倒 (latitude and longitude appear swapped)"
    assert "13987654321" not in rejects[1][2] and "139****4321" in rejects[1][2]  # numbers masked in kept rows


def test_reimport_changes_nothing_and_a_new_list_updates_by_id(tmp_path: Path, empty_db: Path):
    first = write_csv(tmp_path / "list.csv", LIST.head(2), "gbk")
    import_facilities(first, empty_db)
    again = import_facilities(first, empty_db)
    assert (again.accepted, again.updated, again.skipped_existing) == (0, 0, 2)
    assert query(empty_db, "SELECT count(*) FROM facilities") == [(2,)]
    newer = LIST.head(2).copy()
    newer.loc[0, "床位数"] = "150"  # the centre grew
    newer.loc[1, "床位数"] = ""  # blank: keeps what is stored (nothing)
    newer = pd.concat([newer, LIST.iloc[[8]]])
    report = import_facilities(write_csv(tmp_path / "list2.csv", newer, "gbk"), empty_db)
    assert (report.accepted, report.updated, report.skipped_existing) == (1, 1, 1)
    assert query(empty_db, "SELECT capacity, batch_id FROM facilities WHERE facility_id = 'YL001'") == [(150.0, 3)]


def test_geojson_points_in_gcj02_are_stored_in_wgs84(tmp_path: Path, empty_db: Path):
    from needsmap import coords

    gcj_lon, gcj_lat = coords.wgs84_to_gcj02([120.13], [30.26])
    frame = LIST.head(1).assign(经度=gcj_lon, 纬度=gcj_lat)
    report = import_facilities(write_geojson(tmp_path / "f.geojson", frame), empty_db, crs="gcj02")
    assert report.accepted == 1
    lon, lat = query(empty_db, "SELECT lon, lat FROM facilities")[0]
    assert (lon, lat) == pytest.approx((120.13, 30.26), abs=3e-5)  # the GCJ-02 inverse is good to ~1 m


def test_a_list_without_coordinates_columns_changes_nothing(tmp_path: Path, empty_db: Path):
    before = query(empty_db, "SELECT count(*) FROM facility_imports")
    with pytest.raises(UnusableFileError, match="缺少必需列：经度 lon、纬度 lat"):
        import_facilities(write_csv(tmp_path / "f.csv", LIST[["设施编号", "名称", "类型"]]), empty_db)
    assert query(empty_db, "SELECT count(*) FROM facility_imports") == before


def test_the_cli_imports_and_prints_the_counts(tmp_path: Path, empty_db: Path, capsys):
    path = write_csv(tmp_path / "f.csv", LIST, "gbk")
    assert main(["facilities", "import", str(path), "--db", str(empty_db)]) == 0
    out = capsys.readouterr().out
    assert "accepted=3 updated=0 rejected=6 skipped_existing=0 rows_read=9" in out
    assert main(["facilities", "import", str(tmp_path / "missing.csv"), "--db", str(empty_db)]) == 2


def test_the_type_mapping_is_copied_into_each_database_and_editable(empty_db: Path):
    from needsmap import store

    mapping = dict(query(empty_db, "SELECT facility_type, category FROM facility_type_mapping"))
    assert (mapping["居家养老服务中心"], mapping["卫生院"], mapping["小学"], mapping["公交站"], mapping["垃圾中转站"]) == (
        "elderly_care", "healthcare", "education", "transit", "sanitation")
    with store.writing(empty_db) as con:
        con.execute("INSERT INTO facility_type_mapping VALUES ('图书馆', 'education')")
    from needsmap.ingest.facilities import type_lookup

    assert type_lookup(query(empty_db, "SELECT * FROM facility_type_mapping"))["图书馆"] == "education"
