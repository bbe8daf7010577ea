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
