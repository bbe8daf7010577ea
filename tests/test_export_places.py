"""Realistic hotline exports about places and updates, each imported and checked row by row.

Part of the issue-13 corpus (``tests/export_corpus.py`` holds the header, category, workbook,
status and masking files): former district names, 市本级 and city-only rows, rows placed only by
their address, coastal and island points in GCJ-02 and BD-09, and daily re-exports in which
tickets change status. Every file is written here the way the source system writes it (a GBK
CSV with CRLF line ends, as Excel in China saves "CSV (逗号分隔)", or an XLSX), and every import
is checked for ``accepted + updated + rejected + skipped_existing == rows_read`` and for the
values it stores.

Provenance of the places: district renames from ``data/zhejiang_district_changes.csv`` (its own
sources per row); township names from ``data/zhejiang_townships.csv``; the island points were
read off the full-resolution boundaries (``data/zhejiang_districts_full.geojson.gz``) and each is
checked in the test to lie on land there and off the simplified display shapes, or at sea.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from ingest_files import query
from needsmap.ingest import ImportReport, import_file

# The export columns of a 12345 platform's 工单导出 (order as the system writes them).
EXPORT_HEADERS = ("工单编号", "受理时间", "诉求类别", "诉求内容", "所属区县", "地址", "经度", "纬度", "办理状态",
                  "响应时间", "办结时间", "回访时间", "满意度", "来电号码")


def export_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    """A GBK CSV with CRLF line ends, every cell text, blanks empty: what the platform's export writes."""
    frame = pd.DataFrame([{header: row.get(header, "") for header in EXPORT_HEADERS} for row in rows],
                         columns=list(EXPORT_HEADERS), dtype=object)
    frame.to_csv(path, index=False, encoding="gbk", lineterminator="\r\n")
    return path


def run_import(path: Path, db: Path, **options: object) -> ImportReport:
    """``import_file`` plus the invariant every import keeps: every row read is accounted for."""
    report = import_file(path, db, **options)
    assert report.accepted + report.updated + report.rejected + report.skipped_existing == report.rows_read
    assert sum(report.reasons.values()) == report.rejected
    return report


def counts(report: ImportReport) -> tuple[int, int, int, int, int]:
    return report.rows_read, report.accepted, report.updated, report.rejected, report.skipped_existing


# --- updates over time ------------------------------------------------------------------------------------

# One ticket per line: 西湖区 interior points (WGS-84), so placing them is never in question.
def _ticket(record_id: str, created: str, status: str, **fields: object) -> dict[str, object]:
    return {"工单编号": record_id, "受理时间": created, "诉求类别": "路灯", "诉求内容": "文三路路灯不亮",
            "所属区县": "西湖区", "地址": "杭州市西湖区文三路", "经度": "120.15", "纬度": "30.25",
            "办理状态": status, "来电号码": "13812345678", **fields}


MONDAY = [  # the export of Monday 2 June 2025, 08:00
    _ticket("ZJ2025060100001", "2025-06-01 09:10:00", "办理中", 响应时间="2025-06-01 10:00:00"),
    _ticket("ZJ2025060100002", "2025-06-01 11:20:00", "受理"),
    _ticket("ZJ2025060100003", "2025-06-01 15:45:00", "办理中", 诉求内容="小区门口积水严重", 地址="杭州市西湖区古墩路"),
    _ticket("ZJ2025060100004", "2025-06-01 16:00:00", "已办结", 办结时间="2025-06-01 18:30:00", 满意度="满意"),
]
NEXT_MONDAY = [  # the export of Monday 9 June 2025: three of them moved on, one is new
    _ticket("ZJ2025060100001", "2025-06-01 09:10:00", "已办结", 响应时间="2025-06-01 10:00:00",
            办结时间="2025-06-05 17:00:00", 回访时间="2025-06-06 09:30:00", 满意度="满意"),
    _ticket("ZJ2025060100002", "2025-06-01 11:20:00", "受理"),  # unchanged
    # The newer export leaves description and address blank: they are kept, not erased.
    _ticket("ZJ2025060100003", "2025-06-01 15:45:00", "已办结", 诉求内容="", 地址="", 办结时间="2025-06-08 12:00:00",
            满意度="基本满意"),
    # Status blank in the newer export: the stored 已办结 stays (and nothing else changed).
    _ticket("ZJ2025060100004", "2025-06-01 16:00:00", "", 办结时间="2025-06-01 18:30:00", 满意度="满意"),
    _ticket("ZJ2025060800005", "2025-06-08 20:05:00", "受理"),
]


def _stored(db: Path) -> list[tuple]:
    return query(db, "SELECT record_id, status, resolved_at, feedback_at, satisfaction, description, address "
                     "FROM demands ORDER BY record_id")


def test_newer_export_updates_changed_tickets_and_keeps_blank_fields(tmp_path, empty_db):
    first = run_import(export_csv(tmp_path / "工单导出_20250602.csv", MONDAY), empty_db)
    second = run_import(export_csv(tmp_path / "工单导出_20250609.csv", NEXT_MONDAY), empty_db)

    assert counts(first) == (4, 4, 0, 0, 0)
    assert counts(second) == (5, 1, 2, 0, 2)  # rows read, accepted, updated, rejected, skipped
    assert _stored(empty_db) == [
        ("ZJ2025060100001", "resolved", datetime(2025, 6, 5, 17), datetime(2025, 6, 6, 9, 30), 5,
         "文三路路灯不亮", "杭州市西湖区文三路"),
        ("ZJ2025060100002", "received", None, None, None, "文三路路灯不亮", "杭州市西湖区文三路"),
        ("ZJ2025060100003", "resolved", datetime(2025, 6, 8, 12), None, 3, "小区门口积水严重", "杭州市西湖区古墩路"),
        ("ZJ2025060100004", "resolved", datetime(2025, 6, 1, 18, 30), None, 5, "文三路路灯不亮", "杭州市西湖区文三路"),
        ("ZJ2025060800005", "received", None, None, None, "文三路路灯不亮", "杭州市西湖区文三路"),
    ]
    assert query(empty_db, "SELECT record_id, batch_id, status_from, status_to, export_as_of FROM status_history "
                           "ORDER BY record_id") == [
        ("ZJ2025060100001", 2, "in_progress", "resolved", datetime(2025, 6, 8, 20, 5)),
        ("ZJ2025060100003", 2, "in_progress", "resolved", datetime(2025, 6, 8, 20, 5)),
    ]
    assert query(empty_db, "SELECT record_id, batch_id, updated_batch_id FROM demands ORDER BY 1") == [
        ("ZJ2025060100001", 1, 2), ("ZJ2025060100002", 1, None), ("ZJ2025060100003", 1, 2),
        ("ZJ2025060100004", 1, None), ("ZJ2025060800005", 2, None)]
    assert query(empty_db, "SELECT batch_id, accepted, updated, rejected, skipped_existing, export_as_of FROM imports "
                           "ORDER BY 1") == [
        (1, 4, 0, 0, 0, datetime(2025, 6, 1, 18, 30)), (2, 1, 2, 0, 2, datetime(2025, 6, 8, 20, 5))]


def test_same_export_imported_twice_changes_nothing(tmp_path, empty_db):
    path = export_csv(tmp_path / "工单导出_20250609.csv", NEXT_MONDAY)
    run_import(path, empty_db)
    stored = query(empty_db, "SELECT * FROM demands ORDER BY record_id")

    again = run_import(path, empty_db)

    assert counts(again) == (5, 0, 0, 0, 5)
    assert query(empty_db, "SELECT * FROM demands ORDER BY record_id") == stored
    assert query(empty_db, "SELECT count(*) FROM status_history") == [(0,)]


def test_older_export_imported_late_does_not_undo_a_newer_one(tmp_path, empty_db):
    run_import(export_csv(tmp_path / "工单导出_20250609.csv", NEXT_MONDAY), empty_db)
    stored = _stored(empty_db)

    late = run_import(export_csv(tmp_path / "工单导出_20250602.csv", MONDAY), empty_db)

    assert counts(late) == (4, 0, 0, 0, 4)
    assert _stored(empty_db) == stored
    assert query(empty_db, "SELECT count(*) FROM status_history") == [(0,)]


def test_ticket_reopened_then_closed_keeps_every_status_change(tmp_path, empty_db):
    days = [("20250602", "办理中", {}), ("20250603", "已办结", {"办结时间": "2025-06-02 17:00:00"}),
            ("20250604", "办理中", {"响应时间": "2025-06-03 09:00:00"}),  # reopened (二次办理)
            ("20250605", "已办结", {"办结时间": "2025-06-04 16:00:00"})]
    for day, status, times in days:
        report = run_import(export_csv(tmp_path / f"工单导出_{day}.csv",
                                       [_ticket("ZJ2025060100009", "2025-06-01 09:00:00", status, **times)]), empty_db)
        assert report.accepted + report.updated == 1

    assert query(empty_db, "SELECT batch_id, status_from, status_to FROM status_history ORDER BY batch_id") == [
        (2, "in_progress", "resolved"), (3, "resolved", "in_progress"), (4, "in_progress", "resolved")]
    # A blank never erases: the first resolution time stayed until the newer one replaced it.
    assert query(empty_db, "SELECT status, responded_at, resolved_at FROM demands") == [
        ("resolved", datetime(2025, 6, 3, 9), datetime(2025, 6, 4, 16))]


# --- coastal and island points ----------------------------------------------------------------------------

# WGS-84 points on island land that the simplified display shapes leave out (≥ 30 m inside the
# full-resolution shape), three each for 嵊泗 330922, 岱山 330921, 普陀 330903 and 洞头 330305.
ISLAND_LAND = {
    "330922": [(122.39017, 30.76594), (121.57053, 30.58169), (121.58497, 30.57377)],
    "330921": [(122.36793, 30.59205), (121.98390, 30.34051), (122.30380, 30.50328)],
    "330903": [(122.15783, 29.80632), (122.37333, 29.82923), (122.34581, 29.95979)],
    "330305": [(121.25972, 28.00462), (121.12695, 27.80139), (121.12772, 27.75776)],
}
# At sea 0.7–1.2 km off those districts' shores (within OFFSHORE_MAX_M): the nearest district, flagged.
NEAR_SHORE = {
    "330922": [(122.72797, 30.79844), (121.99656, 30.73458)],
    "330921": [(122.19515, 30.34298), (122.31774, 30.27957)],
    "330903": [(122.30755, 30.07767), (122.21500, 29.65880)],
    "330305": [(121.17749, 27.70960), (121.13457, 27.72739)],
}
# Not Zhejiang's: the open sea 75 km east of 普陀, and land of the neighbours ~1 km past the border.
OUTSIDE = [(123.30000, 29.50000), (121.00301, 30.96794), (118.87525, 30.18491)]


def _full_shapes() -> dict[str, object]:
    import shapely

    from needsmap import boundaries
    full = pd.read_parquet(boundaries.FULL_DISTRICTS)
    return dict(zip(full["adcode"], shapely.from_wkb(full["geometry"].to_numpy()), strict=True))


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    from pyproj import Geod
    return Geod(ellps="WGS84").inv(a[0], a[1], b[0], b[1])[2]


def test_coastal_and_island_test_points_are_what_they_claim():
    # Independent of the importer: exact tests against the full-resolution shapes.
    import shapely

    from needsmap import boundaries
    shapes = _full_shapes()
    for adcode, points in ISLAND_LAND.items():
        for lon, lat in points:
            assert shapes[adcode].contains(shapely.buffer(shapely.Point(lon, lat), 0.0002))
            assert boundaries.district_at(lon, lat) is None  # the display shapes miss it
    for adcode, points in NEAR_SHORE.items():
        for lon, lat in points:
            point = shapely.Point(lon, lat)
            assert not any(shape.intersects(point) for shape in shapes.values())
            nearest = min(shapes, key=lambda code: shapes[code].distance(point))
            shore = shapely.ops.nearest_points(shapes[nearest], point)[0]
            assert nearest == adcode
            assert 600 < _metres((lon, lat), (shore.x, shore.y)) < boundaries.OFFSHORE_MAX_M
    for lon, lat in OUTSIDE:
        assert not any(shape.intersects(shapely.Point(lon, lat)) for shape in shapes.values())


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_island_and_near_shore_points_are_placed_and_far_ones_rejected(tmp_path, empty_db, crs):
    import coordTransform
    import numpy as np

    convert = coordTransform.wgs84_to_gcj02 if crs == "gcj02" else coordTransform.wgs84_to_bd09
    expected: list[tuple[str, str, str]] = []
    rows: list[dict[str, object]] = []

    def add(record_id: str, lon: float, lat: float) -> None:
        x, y = convert(np.array([lon]), np.array([lat]))
        rows.append(_ticket(record_id, "2025-07-01 09:00:00", "受理", 诉求内容="码头路灯损坏", 所属区县="", 地址="",
                            经度=f"{float(x[0]):.6f}", 纬度=f"{float(y[0]):.6f}"))

    for adcode, points in ISLAND_LAND.items():
        for n, (lon, lat) in enumerate(points):
            add(f"HD{adcode}L{n}", lon, lat)
            expected.append((f"HD{adcode}L{n}", adcode, "point"))
    for adcode, points in NEAR_SHORE.items():
        for n, (lon, lat) in enumerate(points):
            add(f"HD{adcode}S{n}", lon, lat)
            expected.append((f"HD{adcode}S{n}", adcode, "point_offshore"))
    for n, (lon, lat) in enumerate(OUTSIDE):
        add(f"HDOUT{n}", lon, lat)

    report = run_import(export_csv(tmp_path / f"海岛工单_{crs}.csv", rows), empty_db, crs=crs)

    assert counts(report) == (23, 20, 0, 3, 0)
    assert report.reasons == {"outside_zhejiang": 3}
    assert query(empty_db, "SELECT record_id, district_adcode, place_basis FROM demands ORDER BY 1") == sorted(expected)
    # Offshore records keep their (WGS-84) point: they are on the map, flagged.
    assert query(empty_db, "SELECT count(*) FROM demands WHERE lon IS NULL") == [(0,)]


# --- former district names, 市本级, addresses -----------------------------------------------------------

def _unplaced(record_id: str, created: str, district: str, address: str) -> dict[str, object]:
    """A row as older systems export it: no coordinates, the place only as text."""
    return {"工单编号": record_id, "受理时间": created, "诉求类别": "道路", "诉求内容": "路面破损", "所属区县": district,
            "地址": address, "办理状态": "已办结", "来电号码": "13900001111"}


# (district column as exported, today's adcode, basis) — the former names and codes of
# data/zhejiang_district_changes.csv, each with the year its name was still in use.
FORMER_NAMES = [
    ("江干区", "330102", "district_split", "2020-11-03 10:00:00"),      # 下沙/白杨 went to 钱塘区: most to 上城区
    ("330104", "330102", "district_split", "2020-11-03 11:00:00"),      # 江干区's code
    ("杭州市下城区", "330105", "district_renamed", "2021-02-01 09:00:00"),
    ("330103", "330105", "district_renamed", "2021-02-01 10:00:00"),    # 下城区's code
    ("富阳市", "330111", "district_renamed", "2014-06-10 08:30:00"),
    ("临安市", "330112", "district_renamed", "2016-05-20 14:00:00"),
    ("绍兴县", "330603", "district_split", "2013-03-01 09:00:00"),
    ("上虞市", "330604", "district_renamed", "2013-05-01 09:00:00"),
    ("洞头县", "330305", "district_renamed", "2015-03-01 09:00:00"),
    ("奉化市", "330213", "district_renamed", "2016-03-01 09:00:00"),
    ("江东区", "330212", "district_renamed", "2016-03-02 09:00:00"),
    ("玉环县", "331083", "district_renamed", "2016-12-01 09:00:00"),
    ("钱塘新区", "330114", "district_renamed", "2020-08-01 09:00:00"),
    ("西湖区", "330106", "district", "2020-08-01 10:00:00"),            # a name that never changed
    ("余杭区", "330110", "district", "2020-08-01 11:00:00"),            # split in 2021, but the name is today's
]


def test_former_district_names_and_codes_map_to_todays_districts(tmp_path, empty_db):
    rows = [_unplaced(f"GD{n:03d}", created, district, "") for n, (district, _, _, created) in enumerate(FORMER_NAMES)]
    rows.append(_unplaced("GD900", "2019-01-01 09:00:00", "江北新区", ""))  # not a Zhejiang unit

    report = run_import(export_csv(tmp_path / "历史工单_2013-2021.csv", rows), empty_db)

    assert counts(report) == (16, 15, 0, 1, 0)
    assert report.reasons == {"district_unknown": 1}
    assert query(empty_db, "SELECT record_id, district_adcode, city_adcode, place_basis FROM demands ORDER BY 1") == [
        (f"GD{n:03d}", adcode, adcode[:4] + "00", basis) for n, (_, adcode, basis, _) in enumerate(FORMER_NAMES)]
    assert report.place_bases == {"district": 2, "district_renamed": 10, "district_split": 3}


def test_change_table_cites_a_source_for_every_row_and_maps_only_to_todays_units():
    from needsmap import boundaries
    from needsmap.ingest import places

    today = set(boundaries.load_districts()["adcode"])
    changes = pd.read_csv(places.DISTRICT_CHANGES_CSV, dtype=str, keep_default_na=False)
    assert len(changes) >= 15
    assert (changes["source"].str.len() > 10).all()
    assert set(changes["new_adcode"]) <= today
    assert set(changes["mapping"]) == {"renamed", "merged", "split", "part_moved"}
    # A former code is never one of today's, except where a part moved and the unit stayed.
    moved = changes["mapping"] == "part_moved"
    assert not set(changes.loc[~moved & (changes["old_adcode"] != ""), "old_adcode"]) & today
    assert set(changes.loc[moved, "old_adcode"]) <= today


def _xlsx(path: Path, rows: list[dict[str, object]]) -> Path:
    """An XLSX as the platform's "导出Excel" writes it: a title row above the header is not
    written here (that is the headers corpus's case); text cells throughout."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "工单列表"
    sheet.append(list(EXPORT_HEADERS))
    for row in rows:
        sheet.append([str(row.get(header, "")) for header in EXPORT_HEADERS])
    workbook.save(path)
    return path


CITY_LEVEL_ROWS = [
    # (id, district column, address, expected district, expected city, basis)
    ("SB01", "杭州市本级", "", None, "330100", "city"),
    ("SB02", "市本级", "宁波市政务服务中心", None, "330200", "city"),           # city from the address
    ("SB03", "市本级", "杭州市上城区解放路", None, "330100", "city"),           # 市本级 is never forced into a district
    ("SB04", "温州市", "", None, "330300", "city"),                             # a city and nothing else
    ("SB05", "温州市", "温州市鹿城区五马街", "330302", "330300", "address"),    # the address names the district
    ("SB06", "杭州市市本级", "", None, "330100", "city"),
    ("SB07", "市本级", "", None, None, None),                                   # which city? rejected
]


def test_city_level_rows_stay_at_city_level_and_count_in_city_totals(tmp_path, empty_db):
    rows = [_unplaced(record_id, "2025-05-06 09:00:00", district, address)
            for record_id, district, address, *_ in CITY_LEVEL_ROWS]
    rows.append(_ticket("SB08", "2025-05-06 10:00:00", "受理"))  # a 西湖区 point, for the city total

    report = run_import(_xlsx(tmp_path / "市本级工单.xlsx", rows), empty_db)

    assert counts(report) == (8, 7, 0, 1, 0)
    assert report.reasons == {"district_unknown": 1}
    expected = [(record_id, district, city, basis) for record_id, _, _, district, city, basis in CITY_LEVEL_ROWS
                if basis is not None] + [("SB08", "330106", "330100", "point")]
    assert query(empty_db, "SELECT record_id, district_adcode, city_adcode, place_basis FROM demands ORDER BY 1") == expected

    from needsmap import queries, store
    from needsmap.filters import Filter
    con = store.open_readonly(empty_db)
    try:
        hangzhou = Filter(city_adcode="330100")
        # City totals hold the city-level records; the districts do not; and they are shown apart.
        assert queries.kpis(con, hangzhou, datetime(2025, 5, 7), 15)["records"] == 4
        assert queries.kpis(con, Filter(), datetime(2025, 5, 7), 15)["records"] == 7
        measures = queries.district_measures(con, Filter(), datetime(2025, 5, 7), 15, 1, include_priority=False)
        assert measures["records"].sum() == 2  # SB05 in 鹿城区, SB08 in 西湖区
        assert queries.city_level_records(con, Filter()).values.tolist() == [
            ["330100", "杭州市", 3], ["330200", "宁波市", 1], ["330300", "温州市", 1]]
    finally:
        con.close()


ADDRESS_ONLY = [
    # (id, address, expected district or None (rejected))
    ("DZ01", "浙江省杭州市西湖区文三路90号", "330106"),
    ("DZ02", "三墩镇振华路200号", "330106"),                 # a township alone
    ("DZ03", "杭州市江干区凯旋路166号", "330102"),            # a former district in the address
    ("DZ04", "宁波市海曙区中山西路", "330203"),
    ("DZ05", "舟山市沈家门街道滨港路", "330903"),             # city + township
    ("DZ06", "嵊泗县菜园镇", "330922"),
    ("DZ07", "乔司街道", "330113"),                           # moved to 临平区 in 2021
    ("DZ08", "上海市普陀区长寿路", None),                     # 普陀区 of Shanghai, not 舟山
    ("DZ09", "东湖街道", None),                               # 临平区 and 越城区 both have one
    ("DZ10", "宁波市西湖区", "city"),                         # the names contradict: 宁波 at city level
    ("DZ11", "小区门口", None),
]


def test_address_only_rows_are_placed_by_address_and_kept_off_point_maps(tmp_path, empty_db):
    rows = [_unplaced(record_id, "2025-04-01 08:00:00", "", address) for record_id, address, _ in ADDRESS_ONLY]

    report = run_import(export_csv(tmp_path / "地址工单.csv", rows), empty_db)

    placed = [(record_id, adcode) for record_id, _, adcode in ADDRESS_ONLY if adcode not in (None, "city")]
    assert counts(report) == (11, 8, 0, 3, 0)
    assert report.reasons == {"no_location": 3}
    assert report.place_bases == {"address": 7, "city": 1}
    assert query(empty_db, "SELECT record_id, district_adcode, city_adcode FROM demands WHERE place_basis = 'city'") == [
        ("DZ10", None, "330200")]
    assert query(empty_db, "SELECT record_id, district_adcode FROM demands WHERE place_basis = 'address' "
                           "ORDER BY 1") == placed
    # No point: on no point map, in no need.
    assert query(empty_db, "SELECT count(*) FROM demands WHERE lon IS NOT NULL OR lat IS NOT NULL") == [(0,)]

    from needsmap import queries, store
    from needsmap.filters import Filter
    con = store.open_readonly(empty_db)
    try:
        kind, points = queries.map_points(con, Filter(district_adcode="330106"))
        assert len(points) == 0
    finally:
        con.close()


def test_data_page_shows_city_level_records_apart(tmp_path, empty_db, monkeypatch):
    rows = [_unplaced(record_id, "2025-05-06 09:00:00", district, address)
            for record_id, district, address, *_ in CITY_LEVEL_ROWS]
    run_import(_xlsx(tmp_path / "市本级工单.xlsx", rows), empty_db)
    monkeypatch.setenv("NEEDSMAP_DB", str(empty_db))

    from tests.apptest_pages import open_page
    app = open_page("pages/5_data.py")

    assert not app.exception
    assert "仅到城市级的记录（市本级）" in [header.value for header in app.subheader]
    [table] = [frame.value for frame in app.dataframe if "城市" in frame.value.columns and "记录数" in frame.value.columns]
    assert table[["城市", "记录数"]].values.tolist() == [["杭州市", 3], ["宁波市", 1], ["温州市", 1]]


def _as_version_2(db: Path, *statements: str) -> None:
    """Turn ``db`` into a version-2 database as the app wrote it before city-level records and
    updates existed (after running ``statements``)."""
    import duckdb

    con = duckdb.connect(str(db))
    for statement in (*statements, "ALTER TABLE demands DROP COLUMN city_adcode", "ALTER TABLE demands DROP COLUMN place_basis",
                      "ALTER TABLE demands DROP COLUMN updated_batch_id", "ALTER TABLE imports DROP COLUMN updated",
                      "ALTER TABLE imports DROP COLUMN export_as_of", "DROP TABLE status_history",
                      "UPDATE meta SET value = '2' WHERE key = 'schema_version'"):
        con.execute(statement)
    con.close()


def test_database_of_the_previous_schema_is_upgraded_and_takes_updates(tmp_path, empty_db):
    run_import(export_csv(tmp_path / "工单导出_20250602.csv", MONDAY), empty_db)
    _as_version_2(empty_db)

    from needsmap import schema, store
    with store.open_readonly(empty_db) as reader:  # upgraded once, then opened
        assert reader.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(schema.SCHEMA_VERSION),)
    assert query(empty_db, "SELECT DISTINCT city_adcode, place_basis FROM demands") == [("330100", "point")]

    report = run_import(export_csv(tmp_path / "工单导出_20250609.csv", NEXT_MONDAY), empty_db)
    # The first export's as-of time was not recorded before the upgrade: the newer export wins.
    assert counts(report) == (5, 1, 2, 0, 2)
    assert query(empty_db, "SELECT count(*) FROM status_history") == [(2,)]


def test_database_with_the_old_cluster_column_is_upgraded_and_takes_updates(tmp_path, empty_db):
    # A version-2 database as the app wrote it then: it also stored a 500 m × 30-day cluster per
    # record (cluster_id), which nothing writes or reads any more; the column stays in such files.
    from needsmap import needs, queries, schema, store
    from needsmap.filters import Filter

    run_import(export_csv(tmp_path / "工单导出_20250602.csv", MONDAY), empty_db)
    _as_version_2(empty_db, "ALTER TABLE demands ADD COLUMN cluster_id UBIGINT", "UPDATE demands SET cluster_id = 7")

    report = run_import(export_csv(tmp_path / "工单导出_20250609.csv", NEXT_MONDAY), empty_db)

    assert counts(report) == (5, 1, 2, 0, 2)  # as without the column
    # Upgraded; the records stored before keep their old value, the new one has none.
    assert query(empty_db, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(schema.SCHEMA_VERSION),)]
    assert query(empty_db, "SELECT cluster_id, count(*) FROM demands GROUP BY 1 ORDER BY 1 NULLS LAST") == [(7, 4), (None, 1)]
    with store.open_readonly(empty_db) as reader:
        as_of = queries.as_of(reader)
        built = needs.build(reader, Filter(), as_of, 15.0)
        measures = queries.district_measures(reader, Filter(), as_of, 15, 1, include_priority=True)
    assert built["records"].sum() == 5
    assert measures["priority_sum"].sum() == pytest.approx(needs.district_priority(built).sum())


def test_street_column_places_a_row_whose_address_names_no_district(tmp_path, empty_db):
    # Some platforms export 所属街道 beside a street address that names no district.
    frame = pd.DataFrame({"工单编号": ["JD1", "JD2", "JD3"], "受理时间": ["2025-03-03 09:00:00"] * 3,
                          "诉求类别": ["道路"] * 3, "所属区县": ["", "", ""], "所属街道": ["三墩镇", "乔司街道", "东湖街道"],
                          "地址": ["振华路200号", "", "人民路1号"], "办理状态": ["受理"] * 3})
    frame.to_csv(tmp_path / "街道工单.csv", index=False, encoding="gbk", lineterminator="\r\n")

    report = run_import(tmp_path / "街道工单.csv", empty_db)

    assert counts(report) == (3, 2, 0, 1, 0)  # 东湖街道 is in two districts: not guessed
    assert query(empty_db, "SELECT record_id, district_adcode, place_basis, address FROM demands ORDER BY 1") == [
        ("JD1", "330106", "address", "振华路200号"), ("JD2", "330113", "address", "乔司街道")]
