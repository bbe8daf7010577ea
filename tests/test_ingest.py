"""The importer against real files written here and real DuckDB databases (``empty_db``).

Test data provenance: records come from ``ingest_files.hotline_frame`` (interior points of the
bundled districts, so exact counts stay exact). The West Lake point 120.15, 30.25 (WGS-84) lies
in 西湖区 330106, and so do its neighbours 0.001° away (checked in ``test_west_lake_point_is_interior``);
Shanghai 121.47, 31.23 and Beijing 116.40, 39.90 lie in no Zhejiang district.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import coordTransform
import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ingest_files import (
    ZH_HEADERS, file_digest, hotline_frame, one_row, query, table_counts, with_rows, write_csv, write_geojson,
    write_parquet, write_xlsx,
)
from needsmap import boundaries, privacy, store
from needsmap.__main__ import main as cli_main
from needsmap.errors import UnusableFileError
from needsmap.ingest import REASONS, ImportReport, import_file
from needsmap.ingest import masking, parsing
from needsmap.ingest.columns import map_columns

REPO_ROOT = Path(__file__).resolve().parent.parent
WEST_LAKE_WGS84 = (120.15, 30.25)
WEST_LAKE_ADCODE = "330106"
H = ZH_HEADERS  # canonical name → Chinese header


# --- helpers ---------------------------------------------------------------------------------------

def run_import(path: Path, db: Path, **options: object) -> ImportReport:
    """``import_file`` plus the invariant every import must keep."""
    report = import_file(path, db, **options)
    assert report.accepted + report.updated + report.rejected + report.skipped_existing == report.rows_read
    assert sum(report.reasons.values()) == report.rejected
    return report


def reject_rows(db: Path) -> list[tuple[int, str, str]]:
    return query(db, "SELECT row_number, reason, raw_row FROM rejects ORDER BY row_number")


# --- file formats ---------------------------------------------------------------------------------------

def test_gbk_csv_with_chinese_headers_imports_valid_rows_and_rejects_bad_ones(tmp_path, empty_db):
    frame = hotline_frame(40, seed=11)
    frame = with_rows(frame,
                      one_row(frame, record_id=""),  # row 41
                      one_row(frame, record_id="GD-BAD-DATE", created_at="不是日期"))  # row 42
    path = write_csv(tmp_path / "工单.csv", frame, encoding="gbk")

    report = run_import(path, empty_db)

    assert (report.rows_read, report.accepted, report.rejected, report.skipped_existing) == (42, 40, 2, 0)
    assert report.reasons == {"record_id_blank": 1, "created_at_unparseable": 1}
    assert [(row, reason) for row, reason, _ in reject_rows(empty_db)] == [
        (41, "第 41 行：工单编号为空 (the record id is blank)"),
        (42, "第 42 行：受理时间为空或无法识别 (the received time is blank or not a recognisable date/time)"),
    ]
    stored = dict(query(empty_db, "SELECT record_id, description FROM demands"))
    first = frame.iloc[0]
    assert stored[first[H["record_id"]]] == first[H["description"]]  # Chinese text round-trips
    assert query(empty_db, "SELECT DISTINCT source_category FROM demands ORDER BY 1") == [
        (text,) for text in sorted(set(frame[H["category"]].iloc[:40]))]


def test_utf8_bom_csv_reads_its_first_header(tmp_path, empty_db):
    path = write_csv(tmp_path / "bom.csv", hotline_frame(25, seed=12), encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    report = run_import(path, empty_db)

    assert (report.accepted, report.rejected) == (25, 0)
    assert query(empty_db, "SELECT min(record_id), max(record_id) FROM demands") == [("GD00000001", "GD00000025")]


def test_xlsx_with_chinese_headers_imports_and_numbers_rows_as_in_the_sheet(tmp_path, empty_db):
    frame = hotline_frame(30, seed=13)
    frame.loc[4, H["lon"]], frame.loc[4, H["lat"]] = "121.47", "31.23"  # data row 5 = sheet row 6: Shanghai
    path = write_xlsx(tmp_path / "工单.xlsx", frame)

    report = run_import(path, empty_db)

    assert (report.rows_read, report.accepted, report.rejected) == (30, 29, 1)
    assert [row for row, _, _ in reject_rows(empty_db)] == [5]
    stored = "SELECT count(*) FROM demands WHERE description IS NOT NULL AND district_adcode LIKE '33%'"
    assert query(empty_db, stored) == [(29,)]


def test_xlsx_real_date_and_number_cells_are_understood(tmp_path, empty_db):
    from datetime import datetime

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["工单编号", "受理时间", "诉求类别", "经度", "纬度", "影响人数"])
    sheet.append([20250001, datetime(2025, 3, 1, 8, 30), "供水", 120.15, 30.25, 3])
    sheet.append([20250002, 45717.5, "供水", 120.15, 30.25, 2.5])  # an Excel serial in a number cell
    workbook.save(tmp_path / "cells.xlsx")

    run_import(tmp_path / "cells.xlsx", empty_db)

    assert query(empty_db, "SELECT record_id, created_at, people_affected FROM demands ORDER BY 1") == [
        ("20250001", pd.Timestamp("2025-03-01 08:30").to_pydatetime(), 3),
        ("20250002", pd.Timestamp("2025-03-01 12:00").to_pydatetime(), 2),  # 2.5 people: floored
    ]


def test_parquet_file_imports(tmp_path, empty_db):
    path = write_parquet(tmp_path / "工单.parquet", hotline_frame(35, seed=14))

    report = run_import(path, empty_db)

    assert (report.rows_read, report.accepted, report.rejected) == (35, 35, 0)


def test_parquet_numeric_columns_are_read_as_text(tmp_path, empty_db):
    frame = pd.DataFrame({"record_id": [1001.0, 1002.0], "created_at": pd.to_datetime(["2025-03-01", "2025-03-02"]),
                          "category": ["water", "roads"], "lon": [120.15, 120.15], "lat": [30.25, 30.25]})
    frame.to_parquet(tmp_path / "typed.parquet")

    run_import(tmp_path / "typed.parquet", empty_db)

    assert query(empty_db, "SELECT record_id, category, district_adcode FROM demands ORDER BY 1") == [
        ("1001", "water", WEST_LAKE_ADCODE), ("1002", "roads", WEST_LAKE_ADCODE)]


def test_geojson_points_take_coordinates_from_the_geometry(tmp_path, empty_db):
    frame = hotline_frame(15, seed=15)
    path = write_geojson(tmp_path / "工单.geojson", frame)

    report = run_import(path, empty_db)

    assert (report.rows_read, report.accepted) == (15, 15)
    first = frame.iloc[0]
    lon, lat = query(empty_db, "SELECT lon, lat FROM demands WHERE record_id = ?", [first[H["record_id"]]])[0]
    assert (lon, lat) == pytest.approx((float(first[H["lon"]]), float(first[H["lat"]])))


def test_csv_with_quoted_line_breaks_and_commas_keeps_them(tmp_path, empty_db):
    path = tmp_path / "multiline.csv"
    path.write_text('工单编号,受理时间,诉求类别,经度,纬度,诉求内容\n'
                    'A1,2025-03-01 08:30,供水,120.15,30.25,"第一行\n第二行, 带逗号"\n'
                    'A2,2025-03-01 09:30,供水,120.15,30.25,普通\n', encoding="utf-8")

    run_import(path, empty_db)

    assert query(empty_db, "SELECT description FROM demands ORDER BY record_id") == [("第一行\n第二行, 带逗号",), ("普通",)]


def test_csv_row_with_extra_fields_is_rejected_without_its_raw_content(tmp_path, empty_db):
    path = tmp_path / "ragged.csv"
    path.write_text('工单编号,受理时间,诉求类别,经度,纬度,姓名\n'
                    'A1,2025-03-01,供水,120.15,30.25,王小明\n'
                    'A2,2025-03-01,供水,杭州市,西湖区,120.15,30.25,李四光\n'
                    'A3,2025-03-01,供水,120.15,30.25,张三丰\n', encoding="utf-8")

    report = run_import(path, empty_db)

    assert (report.rows_read, report.accepted, report.rejected) == (3, 2, 1)
    assert report.reasons == {"column_count_mismatch": 1}
    [(row, reason, raw_row)] = reject_rows(empty_db)
    assert row == 2 and reason.startswith("第 2 行：该行的字段数与表头不符")
    assert "李四光" not in raw_row


def test_chinese_header_variants_map_to_fields():
    column_map = map_columns(["工单号", "来电时间", " 诉求类型 ", "经度（GCJ-02）", "纬度(GCJ-02)", "所属区县",
                              "联系电话", "诉求人姓名", "身份证号码", "备注"])

    assert column_map.field_to_header == {
        "record_id": "工单号", "created_at": "来电时间", "category": " 诉求类型 ", "lon": "经度（GCJ-02）",
        "lat": "纬度(GCJ-02)", "district": "所属区县", "phone": "联系电话", "name": "诉求人姓名"}
    assert column_map.id_number_headers == ("身份证号码",)
    assert column_map.unused_headers == ("备注",)


def test_better_alias_wins_when_two_columns_name_one_field():
    column_map = map_columns(["来电时间", "受理时间", "工单编号", "诉求类别", "区县"])

    assert column_map.field_to_header["created_at"] == "受理时间"
    assert column_map.unused_headers == ("来电时间",)


# --- coordinates and districts ---------------------------------------------------------------------

def test_west_lake_point_is_interior():
    lon, lat = WEST_LAKE_WGS84
    offsets = [(0, 0), (0.001, 0), (-0.001, 0), (0, 0.001), (0, -0.001)]
    adcodes = boundaries.assign_districts(np.array([lon + dx for dx, _ in offsets]),
                                          np.array([lat + dy for _, dy in offsets]))
    assert list(adcodes) == [WEST_LAKE_ADCODE] * 5


def test_district_assignment_agrees_with_exact_polygon_test_across_the_province():
    # 200,000 points over the province's extent and 72,000 within ~300 m of a district
    # border: the raster shortcut (shipped precomputed) must give each the district an exact
    # test against the full-resolution shapes gives (lowest adcode on a shared edge, None
    # outside every district).
    rng = np.random.default_rng(7)
    west, south, east, north = boundaries.PROVINCE_BOUNDS
    lon = rng.uniform(west, east, 200_000)
    lat = rng.uniform(south, north, 200_000)
    full = pd.read_parquet(boundaries.FULL_DISTRICTS)
    geometries = shapely.from_wkb(full["geometry"].to_numpy())
    border_points = gpd.GeoSeries(geometries).boundary.sample_points(size=8, rng=rng).explode().get_coordinates()
    near_lon = np.repeat(border_points["x"].to_numpy(), 100) + rng.normal(0, 0.003, 100 * len(border_points))
    near_lat = np.repeat(border_points["y"].to_numpy(), 100) + rng.normal(0, 0.003, 100 * len(border_points))
    lon, lat = np.concatenate([lon, near_lon]), np.concatenate([lat, near_lat])

    exact = np.full(len(lon), None, dtype=object)
    for adcode, geometry in sorted(zip(full["adcode"], geometries, strict=True), reverse=True):
        shapely.prepare(geometry)
        exact[shapely.intersects_xy(geometry, lon, lat)] = adcode

    assigned = boundaries.assign_districts(lon, lat)
    assert (exact != None).sum() > 100_000  # noqa: E711 — half the points fall in some district
    assert list(assigned) == list(exact)

@pytest.mark.parametrize("crs, from_wgs84", [
    ("wgs84", lambda lon, lat: (lon, lat)),
    ("gcj02", coordTransform.wgs84_to_gcj02),
    ("bd09", coordTransform.wgs84_to_bd09),
])
def test_point_in_each_crs_lands_in_west_lake_district(tmp_path, empty_db, crs, from_wgs84):
    lon, lat = from_wgs84(np.array([WEST_LAKE_WGS84[0]]), np.array([WEST_LAKE_WGS84[1]]))
    frame = one_row(hotline_frame(1, seed=16), lon=f"{float(lon[0]):.6f}", lat=f"{float(lat[0]):.6f}")
    path = write_csv(tmp_path / f"{crs}.csv", frame)

    report = run_import(path, empty_db, crs=crs)

    assert report.accepted == 1
    [(stored_lon, stored_lat, adcode, urban_rural)] = query(
        empty_db, "SELECT lon, lat, district_adcode, urban_rural FROM demands")
    assert adcode == WEST_LAKE_ADCODE and urban_rural == "urban"
    assert (stored_lon, stored_lat) == pytest.approx(WEST_LAKE_WGS84, abs=2e-5)  # ~2 m


def test_swapped_coordinates_are_rejected_with_the_swap_reason(tmp_path, empty_db):
    frame = hotline_frame(3, seed=17)
    frame.loc[1, H["lon"]], frame.loc[1, H["lat"]] = "30.25", "120.15"
    path = write_csv(tmp_path / "swapped.csv", frame)

    report = run_import(path, empty_db)

    assert report.reasons == {"lat_lon_swapped": 1}
    [(row, reason, _)] = reject_rows(empty_db)
    assert (row, reason) == (2, "第 2 行：经纬度似乎颠倒 (latitude and longitude appear swapped)")


@pytest.mark.parametrize("lon, lat", [("121.47", "31.23"), ("116.40", "39.90")], ids=["shanghai", "beijing"])
def test_point_outside_the_province_is_rejected(tmp_path, empty_db, lon, lat):
    frame = with_rows(hotline_frame(2, seed=18), one_row(hotline_frame(1, seed=18, id_prefix="X"), lon=lon, lat=lat))
    path = write_csv(tmp_path / "outside.csv", frame)

    report = run_import(path, empty_db)

    assert (report.accepted, report.reasons) == (2, {"outside_zhejiang": 1})
    assert [row for row, _, _ in reject_rows(empty_db)] == [3]


def test_coordinate_text_with_degree_marks_and_spaces_is_cleaned(tmp_path, empty_db):
    frame = one_row(hotline_frame(1, seed=19), lon=" 120.15° ", lat="30.25°N")
    run_import(write_csv(tmp_path / "marks.csv", frame), empty_db)

    assert query(empty_db, "SELECT district_adcode FROM demands") == [(WEST_LAKE_ADCODE,)]


def test_rows_without_coordinates_are_placed_by_the_district_column(tmp_path, empty_db):
    base = hotline_frame(1, seed=20)
    rows = [one_row(base, record_id=f"D{i}", lon=lon, lat=lat, district=district)
            for i, (lon, lat, district) in enumerate([
                ("", "", "西湖区"), ("", "", "杭州市西湖区"), ("", "", "330106"), ("nan", "inf", "浙江省杭州市西湖区"),
                ("0", "0", "淳安县"), ("", "", "火星区"), ("", "", ""),
            ], start=1)]
    path = write_csv(tmp_path / "districts.csv", with_rows(*rows))

    report = run_import(path, empty_db)

    assert (report.accepted, report.reasons) == (5, {"district_unknown": 1, "no_location": 1})
    assert query(empty_db, "SELECT record_id, district_adcode, lon, urban_rural FROM demands ORDER BY 1") == [
        ("D1", "330106", None, "urban"), ("D2", "330106", None, "urban"), ("D3", "330106", None, "urban"),
        ("D4", "330106", None, "urban"), ("D5", "330127", None, "rural")]
    assert [row for row, _, _ in reject_rows(empty_db)] == [6, 7]


# --- hostile and odd content ---------------------------------------------------------------------------------------

def test_hostile_text_is_stored_verbatim_and_the_table_survives(tmp_path, empty_db):
    script, injection = "<script>alert(1)</script>", "'; DROP TABLE demands; --"
    frame = with_rows(one_row(hotline_frame(1, seed=21), record_id="H1", description=script, address=injection),
                      one_row(hotline_frame(1, seed=21), record_id="H2", description=injection, address=script))
    run_import(write_csv(tmp_path / "hostile.csv", frame), empty_db)

    assert query(empty_db, "SELECT record_id, description, address FROM demands ORDER BY 1") == [
        ("H1", script, injection), ("H2", injection, script)]


def test_duplicate_id_in_file_keeps_the_first_row(tmp_path, empty_db):
    frame = hotline_frame(3, seed=22)
    frame.loc[2, H["record_id"]] = frame.loc[0, H["record_id"]]
    frame.loc[2, H["description"]] = "第二次出现"
    report = run_import(write_csv(tmp_path / "dup.csv", frame), empty_db)

    assert (report.accepted, report.reasons) == (2, {"record_id_duplicate_in_file": 1})
    assert query(empty_db, "SELECT description FROM demands WHERE record_id = ?", [frame.loc[0, H["record_id"]]]) == [
        (frame.loc[0, H["description"]],)]
    assert [row for row, _, _ in reject_rows(empty_db)] == [3]


def test_ten_thousand_character_description_is_cut_to_five_thousand(tmp_path, empty_db):
    frame = one_row(hotline_frame(1, seed=23), description="路" * 10_000)
    report = run_import(write_csv(tmp_path / "long.csv", frame), empty_db)

    assert report.accepted == 1
    assert query(empty_db, "SELECT length(description) FROM demands") == [(masking.FREE_TEXT_MAX_CHARS,)]
    assert masking.FREE_TEXT_MAX_CHARS == 5_000


def test_reimport_of_same_file_adds_nothing(tmp_path, empty_db):
    path = write_csv(tmp_path / "again.csv", hotline_frame(50, seed=24))
    first = run_import(path, empty_db)
    demands_after_first = query(empty_db, "SELECT * FROM demands ORDER BY record_id")

    second = run_import(path, empty_db)

    assert (first.accepted, first.batch_id) == (50, 1)
    assert (second.rows_read, second.accepted, second.updated, second.rejected, second.skipped_existing) == (
        50, 0, 0, 0, 50)
    assert second.batch_id == 2
    assert query(empty_db, "SELECT * FROM demands ORDER BY record_id") == demands_after_first
    assert query(empty_db, "SELECT batch_id, accepted, skipped_existing FROM imports ORDER BY 1") == [
        (1, 50, 0), (2, 0, 50)]


def test_overlapping_file_adds_only_new_records(tmp_path, empty_db):
    frame = hotline_frame(30, seed=25)
    run_import(write_csv(tmp_path / "part1.csv", frame.iloc[:20]), empty_db)

    report = run_import(write_csv(tmp_path / "part2.csv", frame.iloc[10:]), empty_db)

    assert (report.rows_read, report.accepted, report.skipped_existing) == (20, 10, 10)
    assert query(empty_db, "SELECT count(*), count(DISTINCT record_id) FROM demands") == [(30, 30)]


# --- mapping of coded fields ---------------------------------------------------------------------------------------

def test_unmapped_category_becomes_other_and_is_counted(tmp_path, empty_db):
    frame = hotline_frame(4, seed=26)
    frame.loc[0, H["category"]] = "外星人投诉"
    frame.loc[1, H["category"]] = "外星人投诉"
    frame.loc[2, H["category"]] = "其他"
    report = run_import(write_csv(tmp_path / "unmapped.csv", frame), empty_db)

    assert report.unmapped_categories == 2
    assert query(empty_db, "SELECT category, source_category, count(*) FROM demands WHERE category = 'other' "
                           "GROUP BY ALL ORDER BY 2") == [("other", "其他", 1), ("other", "外星人投诉", 2)]
    assert query(empty_db, "SELECT unmapped_categories FROM imports") == [(2,)]


def test_category_mapping_is_read_from_the_target_database(tmp_path, empty_db):
    with store.writing(empty_db) as con:
        con.execute("INSERT INTO category_mapping VALUES ('城管综合', 'sanitation')")
    frame = one_row(hotline_frame(1, seed=27), category="城管 综合")  # normalised: spaces do not matter

    report = run_import(write_csv(tmp_path / "mapped.csv", frame), empty_db)

    assert report.unmapped_categories == 0
    assert query(empty_db, "SELECT category, source_category FROM demands") == [("sanitation", "城管 综合")]


def test_coded_fields_map_words_and_numbers_with_defaults(tmp_path, empty_db):
    base = hotline_frame(1, seed=28)
    cells = [  # status, channel, group, urgency, satisfaction, people_affected
        ("已办结", "浙里办", "老人", "特急", "满意", "12"),
        ("奇怪状态", "飞鸽传书", "外星人", "??", "7", "-3"),
        ("", "", "", "", "", ""),
        ("处理中", "12345", "低保", "3", "1", "2.5"),
    ]
    rows = [one_row(base, record_id=f"C{i}", status=s, channel=c, requester_group=g, urgency=u, satisfaction=sat,
                    people_affected=p) for i, (s, c, g, u, sat, p) in enumerate(cells)]
    run_import(write_csv(tmp_path / "codes.csv", with_rows(*rows)), empty_db)

    assert query(empty_db, "SELECT status, channel, requester_group, urgency, satisfaction, people_affected "
                           "FROM demands ORDER BY record_id") == [
        ("resolved", "mini_program", "elderly", 4, 5, 12),
        ("received", "other", "general", 1, None, 1),
        ("received", "other", "general", 1, None, 1),
        ("in_progress", "hotline", "low_income", 3, 1, 2),
    ]


def test_people_affected_reads_written_counts_at_every_size(tmp_path, empty_db):
    # As people type them into a hotline form; no size limit turns a count into 1.
    cells = {"1": 1, "12": 12, "2.5": 2, "约300人": 300, "3千多人": 3_000, "1.5万": 15_000, "１００万": 1_000_000,
             "1,000,000": 1_000_000, "10000000": 10_000_000, "10000001": 10_000_001, "1000000000": 1_000_000_000,
             "5000000000": 2_147_483_647, "0": 1, "-3": 1, "": 1, "很多": 1}
    base = hotline_frame(1, seed=29)
    rows = [one_row(base, record_id=f"P{i:02d}", people_affected=text) for i, text in enumerate(cells)]
    run_import(write_csv(tmp_path / "people.csv", with_rows(*rows)), empty_db)

    assert [count for _, count in query(empty_db, "SELECT record_id, people_affected FROM demands ORDER BY 1")] == \
        list(cells.values())


@pytest.mark.parametrize("text, expected", [
    ("2025-03-01", "2025-03-01 00:00:00"),
    ("2025-03-01 08:30", "2025-03-01 08:30:00"),
    ("2025-03-01T08:30:15", "2025-03-01 08:30:15"),
    ("2025/3/1", "2025-03-01 00:00:00"),
    ("2025/3/1 8:30", "2025-03-01 08:30:00"),
    ("2025.03.01", "2025-03-01 00:00:00"),
    ("2025年3月1日", "2025-03-01 00:00:00"),
    ("2025年3月1日 8时30分", "2025-03-01 08:30:00"),
    ("20250301", "2025-03-01 00:00:00"),
    ("20250301083000", "2025-03-01 08:30:00"),
    ("45717", "2025-03-01 00:00:00"),  # Excel serial day
    ("45717.25", "2025-03-01 06:00:00"),
    ("1740787200", "2025-03-01 08:00:00"),  # Unix seconds = 2025-03-01 00:00 UTC
    ("1740787200000", "2025-03-01 08:00:00"),  # Unix milliseconds
    ("2025-03-01T00:30:00Z", "2025-03-01 08:30:00"),
    ("2025-03-01T08:30:00+08:00", "2025-03-01 08:30:00"),
    ("2025-02-28T19:30:00-05:00", "2025-03-01 08:30:00"),
    (" 2025-03-01 ", "2025-03-01 00:00:00"),
])
def test_date_formats_are_understood(text, expected):
    parsed = parsing.parse_datetimes(pd.Series([text], dtype="str"))
    assert parsed[0] == np.datetime64(expected)


@pytest.mark.parametrize("text", ["", "不是日期", "2025-13-45", "1899-12-31", "2025/02/30", "12"])
def test_unparseable_dates_give_nat(text):
    assert np.isnat(parsing.parse_datetimes(pd.Series([text], dtype="str"))[0])


def test_mixed_date_formats_in_one_column_each_parse(tmp_path, empty_db):
    base = hotline_frame(1, seed=29)
    texts = ["2025-03-01 08:30", "2025/3/1 8:30", "2025年3月1日 8时30分", "2025-03-01T00:30:00Z"]
    rows = [one_row(base, record_id=f"T{i}", created_at=text) for i, text in enumerate(texts)]
    run_import(write_csv(tmp_path / "dates.csv", with_rows(*rows)), empty_db)

    eight_thirty = pd.Timestamp("2025-03-01 08:30").to_pydatetime()
    assert query(empty_db, "SELECT DISTINCT created_at FROM demands") == [(eight_thirty,)]


# --- unusable files ---------------------------------------------------------------------------------------

def test_missing_required_column_raises_one_line_and_leaves_db_unchanged(tmp_path, empty_db):
    before, digest = table_counts(empty_db), file_digest(empty_db)
    frame = hotline_frame(5, seed=30).drop(columns=[H["created_at"], H["category"]])
    path = write_csv(tmp_path / "missing.csv", frame)

    with pytest.raises(UnusableFileError, match=r"^missing\.csv 缺少必需列：受理时间 created_at、诉求类别 category "
                                                r"\(missing required columns: created_at, category\)$"):
        import_file(path, empty_db)

    assert table_counts(empty_db) == before and file_digest(empty_db) == digest


def test_missing_location_columns_are_named(tmp_path, empty_db):
    frame = hotline_frame(5, seed=31).drop(columns=[H["lat"], H["district"]])
    with pytest.raises(UnusableFileError, match=r"lon\+lat or district"):
        import_file(write_csv(tmp_path / "nolocation.csv", frame), empty_db)


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", b"", r"是空文件 \(the file is empty\)"),
    ("blank.csv", b"\n\n  \n", r"是空文件 \(the file is empty\)"),
    ("header_only.csv", "工单编号,受理时间,诉求类别,经度,纬度\n".encode("gbk"), r"没有数据行 \(the file has a header but no data rows\)"),
    ("garbage.csv", bytes(range(256)) * 64, r"像是二进制文件 \(not a text table: looks like binary data\)"),
    ("zip.xlsx", b"PK\x03\x04" + bytes(200), r"不是可读取的 Excel 工作簿 \(not a readable Excel workbook\)"),
    ("fake.parquet", b"not parquet at all", r"不是可读取的 Parquet 文件"),
    ("points.geojson", b'{"type": "Feature"}', "不是 GeoJSON FeatureCollection"),
])
def test_unusable_file_raises_one_line_and_leaves_db_unchanged(tmp_path, empty_db, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    before, digest = table_counts(empty_db), file_digest(empty_db)

    with pytest.raises(UnusableFileError, match=message) as raised:
        import_file(path, empty_db)

    assert "\n" not in str(raised.value)
    assert table_counts(empty_db) == before and file_digest(empty_db) == digest


def test_zip_renamed_xlsx_with_real_zip_content_is_unusable(tmp_path, empty_db):
    import zipfile

    with zipfile.ZipFile(tmp_path / "archive.xlsx", "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    with pytest.raises(UnusableFileError, match="not a readable Excel workbook"):
        import_file(tmp_path / "archive.xlsx", empty_db)


def test_undecodable_encoding_is_unusable(tmp_path, empty_db):
    path = tmp_path / "mixed.csv"
    # UTF-8 Chinese header, then bytes that are not UTF-8.
    path.write_bytes("工单编号,受理时间,诉求类别,区县\n".encode() + b"A1,2025-03-01,\xb9\xa9\xcb\xae,\xff\xfe\n" * 50_000)
    with pytest.raises(UnusableFileError, match="save it as UTF-8 or GBK"):
        import_file(path, empty_db)


def test_unusable_file_does_not_create_a_missing_database(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    db = tmp_path / "never.duckdb"
    with pytest.raises(UnusableFileError):
        import_file(path, db)
    assert not db.exists()


def test_import_creates_a_missing_database(tmp_path):
    db = tmp_path / "new" / "fresh.duckdb"
    report = run_import(write_csv(tmp_path / "fresh.csv", hotline_frame(5, seed=32)), db)
    assert report.accepted == 5 and query(db, "SELECT count(*) FROM districts") == [(90,)]


def test_failure_mid_import_leaves_db_byte_identical(tmp_path, empty_db, monkeypatch):
    from needsmap.ingest import importer

    run_import(write_csv(tmp_path / "first.csv", hotline_frame(10, seed=33)), empty_db)
    before, digest = table_counts(empty_db), file_digest(empty_db)

    def fail_after_demands_are_written(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_insert_rejects", fail_after_demands_are_written)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(write_csv(tmp_path / "second.csv", hotline_frame(10, seed=34, id_prefix="S")), empty_db)

    assert table_counts(empty_db) == before and file_digest(empty_db) == digest


# --- personal data ---------------------------------------------------------------------------------------

RAW_PHONES = ("13812345678", "15987654321", "18600001111")
RAW_IDS = ("330106199001011234", "33010619851231567X")
RAW_NAMES = ("王小明", "李秀英", "欧阳娜娜")


def _personal_frame() -> pd.DataFrame:
    """Three accepted rows and two rejected ones, each with a phone, a name and an ID number in
    columns and in free text."""
    base = hotline_frame(5, seed=35)
    base[H["phone"]] = [RAW_PHONES[0], "+86 159-8765-4321", "１８６００００１１１１", RAW_PHONES[0], RAW_PHONES[1]]
    base[H["name"]] = [RAW_NAMES[0], RAW_NAMES[1], RAW_NAMES[2], RAW_NAMES[1], RAW_NAMES[2]]
    base["身份证号"] = [RAW_IDS[0], RAW_IDS[1], RAW_IDS[0], RAW_IDS[1], RAW_IDS[0]]
    base["备注"] = [f"回电 {RAW_PHONES[2]}", "", f"证件 {RAW_IDS[1]}", f"{RAW_PHONES[1]}", "无"]
    base[H["description"]] = [
        f"我是{RAW_NAMES[0]}，电话{RAW_PHONES[0]}，身份证{RAW_IDS[0]}",
        f"联系 159 8765 4321，{RAW_NAMES[1]}反映",
        f"{RAW_NAMES[2]}：身份证号 {RAW_IDS[1]}",
        f"我是{RAW_NAMES[1]}，电话{RAW_PHONES[1]}",
        f"{RAW_NAMES[2]} 的电话是 {RAW_PHONES[2]}",
    ]
    base[H["address"]] = [f"{name}家，{RAW_PHONES[2]}" for name in base[H["name"]]]
    base.loc[3, H["created_at"]] = "不是日期"  # rejected: raw_row is stored
    base.loc[4, H["lon"]], base.loc[4, H["lat"]] = "121.47", "31.23"  # rejected: Shanghai
    return base


def _all_varchar_values(db: Path) -> dict[str, list[str]]:
    """``table.column`` → every non-null value of every VARCHAR column of the written tables."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_name IN ('demands', 'rejects', 'imports') AND data_type = 'VARCHAR'
        """).fetchall()
        return {f"{table}.{column}": [v for (v,) in con.execute(
                    f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL').fetchall()]
                for table, column in columns}
    finally:
        con.close()


def test_no_raw_phone_id_or_name_is_stored_in_any_table(tmp_path, empty_db):
    report = run_import(write_csv(tmp_path / "personal.csv", _personal_frame(), encoding="gbk"), empty_db)
    assert (report.accepted, report.rejected) == (3, 2)

    mobile = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
    id_number = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
    values = _all_varchar_values(empty_db)
    assert {"demands.description", "rejects.raw_row", "imports.file_name"} <= values.keys()
    for column, texts in values.items():
        for text in texts:
            if column != "demands.requester_hash":  # hex digests may hold long digit runs by chance
                assert not mobile.search(text), (column, text)
                assert not id_number.search(text), (column, text)
            for raw in (*RAW_PHONES, *RAW_IDS, *RAW_NAMES, "１８６００００１１１１"):
                assert raw not in text, (column, text)
    assert all(re.fullmatch(r"[0-9a-f]{32}", h) for h in values["demands.requester_hash"])


def test_masked_forms_and_repeat_hash_are_stored(tmp_path, empty_db):
    run_import(write_csv(tmp_path / "personal.csv", _personal_frame()), empty_db)

    rows = query(empty_db, "SELECT requester_phone_masked, requester_name_masked, description, requester_hash "
                           "FROM demands ORDER BY record_id")
    assert [row[:3] for row in rows] == [
        ("138****5678", "王**", "我是王**，电话138****5678，身份证[身份证号已隐藏]"),
        ("159****4321", "李**", "联系 159****4321，李**反映"),
        ("186****1111", "欧***", "欧***：身份证号 [身份证号已隐藏]"),
    ]
    assert len({row[3] for row in rows}) == 3


def test_rejected_raw_row_is_json_of_original_columns_masked_and_without_id_column(tmp_path, empty_db):
    run_import(write_csv(tmp_path / "personal.csv", _personal_frame()), empty_db)

    raw_rows = [json.loads(raw) for _, _, raw in reject_rows(empty_db)]
    assert [row[H["phone"]] for row in raw_rows] == ["138****5678", "159****4321"]
    assert [row[H["name"]] for row in raw_rows] == ["李**", "欧***"]
    assert all("身份证号" not in row for row in raw_rows)
    assert raw_rows[0][H["created_at"]] == "不是日期"
    assert raw_rows[0][H["description"]] == "我是李**，电话159****4321"
    assert raw_rows[0]["备注"] == "159****4321"


def test_same_phone_gives_same_requester_hash_across_imports(tmp_path, empty_db):
    first = one_row(hotline_frame(1, seed=36), record_id="P1", phone="138-1234-5678")
    second = one_row(hotline_frame(1, seed=36), record_id="P2", phone="+8613812345678")
    run_import(write_csv(tmp_path / "p1.csv", first), empty_db)
    run_import(write_csv(tmp_path / "p2.csv", second), empty_db)

    assert query(empty_db, "SELECT count(DISTINCT requester_hash) FROM demands") == [(1,)]


@pytest.mark.parametrize("text", [
    "13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "0571-88001234", "057188001234",
    "330106199001011234", "33010619851231567X", "330106900101123", "电话13812345678。",
])
def test_number_prefilter_passes_everything_privacy_masks(text):
    series = pd.Series([text], dtype="str")
    assert privacy.mask_free_text(series).iloc[0] != text  # privacy masks it …
    assert masking.mask_numbers(series).iloc[0] != text  # … and the fast path does not skip it


# --- reports, progress, CLI ---------------------------------------------------------------------------------------

def test_counts_add_up_for_a_mixed_file(tmp_path, empty_db):
    frame = hotline_frame(20, seed=37)
    run_import(write_csv(tmp_path / "seed.csv", frame.iloc[:5]), empty_db)
    mixed = with_rows(frame,
                      one_row(frame, record_id=""),
                      one_row(frame, record_id="M1", lon="30.25", lat="120.15"),
                      one_row(frame, record_id="M2", created_at="?"),
                      one_row(frame, record_id="M3", lon="", lat="", district=""))

    report = run_import(write_csv(tmp_path / "mixed.csv", mixed), empty_db)

    assert (report.rows_read, report.accepted, report.rejected, report.skipped_existing) == (24, 15, 4, 5)
    assert report.reasons == {"record_id_blank": 1, "lat_lon_swapped": 1, "created_at_unparseable": 1,
                              "no_location": 1}
    assert query(empty_db, "SELECT rows_read, accepted, rejected, skipped_existing FROM imports WHERE batch_id = 2") \
        == [(24, 15, 4, 5)]
    assert set(report.reasons) <= set(REASONS)


def test_progress_reports_stages_in_order_and_ends_at_one(tmp_path, empty_db):
    calls: list[tuple[float, str]] = []
    lines: list[str] = []
    run_import(write_csv(tmp_path / "p.csv", hotline_frame(5, seed=38)), empty_db,
               progress=lambda fraction, message: calls.append((fraction, message)), echo=lines.append)

    fractions = [fraction for fraction, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) == 6
    assert any("assigning districts" in message for _, message in calls)
    assert any(line.startswith("读取 read p.csv: CSV, UTF-8, 5 行 rows") for line in lines)


def test_summary_line_has_counts_and_throughput():
    report = ImportReport(batch_id=3, file_name="a.csv", rows_read=10, accepted=7, rejected=2, skipped_existing=1,
                          unmapped_categories=1, reasons={"no_location": 2}, seconds=0.5, rows_per_s=20.0)
    assert report.summary_line() == ("已导入 imported a.csv (批次 batch 3): accepted=7 updated=0 rejected=2 skipped_existing=1 "
                                     "rows_read=10 unmapped_categories=1 (0.50 s, 20 rows/s)")


def test_cli_import_prints_counts_and_exits_zero(tmp_path, capsys):
    frame = with_rows(hotline_frame(8, seed=39), one_row(hotline_frame(1, seed=39), record_id=""))
    db = tmp_path / "cli.duckdb"

    code = cli_main(["import", str(write_csv(tmp_path / "cli.csv", frame)), "--db", str(db), "--source", "12345"])

    out = capsys.readouterr().out
    assert code == 0
    assert "accepted=8 updated=0 rejected=1 skipped_existing=0 rows_read=9" in out
    assert "rows/s" in out and "record_id_blank=1" in out
    assert query(db, "SELECT source, crs FROM imports") == [("12345", "wgs84")]


def test_cli_unusable_file_exits_two_with_one_line(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = subprocess.run([sys.executable, "-m", "needsmap", "import", str(path), "--db", str(tmp_path / "x.duckdb")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["错误 error: empty.csv 是空文件 (the file is empty)"]
    assert "Traceback" not in result.stderr
