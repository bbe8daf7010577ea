"""The hostile input files, one table: each case writes a real file and states its outcome.

Run by ``test_hostile_inputs.py`` (what each file does to the database) and imported in order by
``test_privacy.py`` (nothing personal is left anywhere afterwards).

Test data provenance: rows come from ``ingest_files.hotline_frame`` (interior points of the
bundled districts). 120.15, 30.25 lies inside 西湖区 330106 (see ``test_ingest.py``); the
points used "outside" are provincial capitals of the neighbours, Beijing, and open sea east
of Zhoushan, all outside every Zhejiang district.
"""

from __future__ import annotations

import codecs
import functools
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ingest_files import ZH_HEADERS, hotline_frame, one_row, with_rows, write_csv, write_text, write_xlsx_formulas

H = ZH_HEADERS  # canonical name → Chinese header
BASE_ROWS = 5
WEST_LAKE = ("120.15", "30.25")  # WGS-84, inside 西湖区 330106


# --- the rows the files are made of ---------------------------------------------------------------------

@functools.cache
def _frame(rows: int, seed: int, prefix: str) -> pd.DataFrame:
    return hotline_frame(rows, seed=seed, id_prefix=prefix)


def rows(count: int = 5, prefix: str = "GD", seed: int = 101) -> pd.DataFrame:
    """``count`` valid hotline records (Chinese headers), ids ``<prefix>00000001``…"""
    return _frame(count, seed, prefix).copy()


def varied(prefix: str, *cells: dict[str, object]) -> pd.DataFrame:
    """One valid row per dict, ids ``<prefix>01``…, with the dict's cells (canonical names) replaced."""
    base = rows(1, prefix="V")
    return with_rows(*[one_row(base, **{"record_id": f"{prefix}{n:02d}", **row}) for n, row in enumerate(cells, start=1)])


def base_frame() -> pd.DataFrame:
    """The records of the base database."""
    return rows(BASE_ROWS, prefix="BASE", seed=100)


# --- file writers: each takes the directory and answers the file it wrote -------------------------------

Writer = Callable[[Path], Path]


def csv_of(frame_or_maker: pd.DataFrame | Callable[[], pd.DataFrame], encoding: str = "utf-8",
           name: str = "file.csv") -> Writer:
    def write(directory: Path) -> Path:
        frame = frame_or_maker() if callable(frame_or_maker) else frame_or_maker
        return write_csv(directory / name, frame, encoding=encoding)
    return write


def text_of(frame: Callable[[], pd.DataFrame], encoding: str, bom: bool = False) -> Writer:
    return lambda directory: write_text(directory / "file.csv", frame(), encoding, bom=bom)


def bytes_of(content: bytes | Callable[[], bytes], name: str = "file.csv") -> Writer:
    def write(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(content() if callable(content) else content)
        return path
    return write


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def gbk_behind_a_utf8_bom() -> bytes:
    return codecs.BOM_UTF8 + csv_text(rows()).encode("gbk")


def gbk_after_a_mib_of_ascii() -> bytes:
    """English headers and ASCII rows for the first 1.2 MB (the sample says UTF-8), then GBK rows."""
    lon, lat = WEST_LAKE
    head = "record_id,created_at,category,lon,lat,description\n"
    ascii_rows = "".join(f"A{n},2025-03-01 08:30,water,{lon},{lat},{'x' * 60_000}\n" for n in range(1, 21))
    gbk_rows = "".join(f"G{n},2025-03-01 08:30,供水,{lon},{lat},停水三天第{n}户\n" for n in range(1, 4))
    return (head + ascii_rows).encode("ascii") + gbk_rows.encode("gbk")


def utf8_header_then_gbk_rows() -> bytes:
    header, body = csv_text(rows()).split("\n", 1)
    return (header + "\n").encode("utf-8") + body.encode("gbk")


def two_exports_concatenated() -> bytes:
    """Two UTF-8-with-BOM exports pasted together: the second BOM and header sit mid-file."""
    return csv_text(rows(3, prefix="P")).encode("utf-8-sig") + csv_text(rows(3, prefix="Q")).encode("utf-8-sig")


def line_endings(ending: str) -> Callable[[], bytes]:
    return lambda: csv_text(rows()).replace("\n", ending).encode("utf-8")


def delimited(delimiter: str) -> Callable[[], bytes]:
    return lambda: rows().to_csv(index=False, sep=delimiter).encode("utf-8")


def unclosed_quote() -> bytes:
    frame = rows()
    frame[H["address"]] = ["甲", "乙", "丙", "丁", "戊"]
    lines = csv_text(frame).split("\n")
    lines[2] = lines[2].replace(",乙,", ',"乙,', 1)  # row 2 opens a quote that nothing closes
    return "\n".join(lines).encode("utf-8")


def stray_quote_inside_a_field() -> bytes:
    frame = rows()
    frame[H["address"]] = ["甲", "乙", "丙", "丁", "戊"]
    return csv_text(frame).replace(",乙,", ',"乙"号,', 1).encode("utf-8")


def ragged_rows() -> bytes:
    lines = csv_text(rows()).split("\n")
    lines[2] += ",多出来的字段,another"  # row 2 has more fields than the header
    lines[4] = ",".join(lines[4].split(",")[:-3])  # row 4 lost its last cells: padded with blanks
    return "\n".join(lines).encode("utf-8")


def title_row_above_header() -> bytes:
    return ("2025年第一季度工单导出\n" + csv_text(rows())).encode("utf-8")


def nul_bytes_in_cells() -> bytes:
    frame = rows()
    frame[H["description"]] = ["路灯\x00坏了", "垃圾\x00\x00未清运", "水压低", "公交\x00少", "助餐"]
    return csv_text(frame).encode("utf-8")


def nul_padded_file() -> bytes:
    """A file cut short by a crash and padded with zero bytes, as some file systems leave it."""
    return csv_text(rows()).encode("utf-8") + bytes(20_000)


def descriptions(length: int) -> Callable[[], pd.DataFrame]:
    def frame() -> pd.DataFrame:
        out = rows(4)
        # Row 3's number ends exactly at the cut once masked: masking comes first, so no half number stays.
        out[H["description"]] = ["路" * length, "灯" * (length - 20) + "电话13812345678", "坏" * 4_989 + "13812345678",
                                 "修" * length]
        out.loc[3, H["created_at"]] = "不是日期"  # rejected: its raw_row is stored, cut too
        return out
    return frame


def huge_cell(characters: int) -> Callable[[], bytes]:
    """Row 1's description is ``characters`` long (spliced into the bytes: quicker than pandas)."""
    def content() -> bytes:
        frame = rows()
        frame.loc[0, H["description"]] = "HUGE-CELL"
        return csv_text(frame).encode("utf-8").replace(b"HUGE-CELL", b"a" * characters)
    return content


def zip_renamed_xlsx(directory: Path) -> Path:
    path = directory / "file.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return path


def empty_first_sheet(directory: Path) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    second = workbook.create_sheet("数据")
    for row in [list(rows().columns), *rows().itertuples(index=False)]:
        second.append(list(row))
    workbook.save(directory / "file.xlsx")
    return directory / "file.xlsx"


def xlsx_formulas(cached: bool) -> Writer:
    hyperlink = 'HYPERLINK("http://evil.example/steal","点我查看")'
    formulas = {
        (0, H["description"]): (hyperlink, "点我查看" if cached else None),
        (1, H["record_id"]): ('"GD"&"X1"', "GDX1" if cached else None),
        (2, H["address"]): ('CONCATENATE("和平路","1号")', "和平路1号" if cached else None),
    }
    return lambda directory: write_xlsx_formulas(directory / "file.xlsx", rows(), formulas)


def xlsx_excel_dates(directory: Path) -> Path:
    """Receipt times as a date cell, a serial-number cell and serial numbers typed as text."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["工单编号", "受理时间", "诉求类别", "经度", "纬度"])
    lon, lat = float(WEST_LAKE[0]), float(WEST_LAKE[1])
    sheet.append(["X1", datetime(2025, 3, 1, 8, 30), "供水", lon, lat])
    sheet.append(["X2", 45717.3541666667, "供水", lon, lat])
    sheet.append(["X3", "45717.3541666667", "供水", lon, lat])
    sheet.append(["X4", 45717, "供水", lon, lat])
    workbook.save(directory / "file.xlsx")
    return directory / "file.xlsx"


def parquet_named_csv(directory: Path) -> Path:
    path = directory / "file.csv"
    rows().to_parquet(path, index=False)
    return path


SCRIPT = "<script>alert(1)</script>"
SQL = "'; DROP TABLE demands; --"
INJECTIONS = ("1 OR 1=1", "Robert'); DROP TABLE rejects;--", "${alert(1)}", "{{7*7}}", "`rm -rf /`", "‘ OR ’1’=’1",
              '" OR ""="', "NULL", "\\x00\\n%00", "<img src=x onerror=alert(1)>", "\u202egnp.exe")
HOSTILE_FILE_NAME = "工单'; DROP TABLE imports; --<script>.csv"


def with_hostile_headers() -> pd.DataFrame:
    frame = rows()
    frame["'; DROP TABLE demands; --"] = "x"
    frame["<script>alert(1)</script>"] = "y"
    frame.loc[4, H["created_at"]] = "?"  # rejected: its raw_row keeps the odd headers as keys
    return frame


def every_text_field(text: str) -> pd.DataFrame:
    """Row 1: ``text`` in every field but id, time and point (the name: "姓名" + ``text``, as the
    row's own name would be masked inside its free text). Row 2: ``text`` as the record id.
    Row 3: ``text`` as the receipt time. Row 4: ``text`` as lon, lat and district."""
    free_fields = ("category", "subcategory", "description", "address", "channel", "urgency", "people_affected",
                   "status", "responded_at", "resolved_at", "feedback_at", "satisfaction", "requester_group",
                   "phone", "district")
    return with_rows(
        one_row(rows(1, prefix="T"), record_id="T1", lon=WEST_LAKE[0], lat=WEST_LAKE[1], name="姓名" + text,
                **{name: text for name in free_fields}),
        one_row(rows(1, prefix="T"), record_id=text),
        one_row(rows(1, prefix="T"), record_id="T3", created_at=text),
        one_row(rows(1, prefix="T"), record_id="T4", lon=text, lat=text, district=text),
    )


# Personal data (also scanned for in test_privacy.py).
PHONES = ("13812345678", "+86 138 1234 5678", "138-1234-5678", "15987654321")
ID_NUMBERS = ("110101199003071234", "11010119900307123X", "11010119900307123x")
NAMES = ("王小明", "欧阳娜娜", "李秀英")


def personal_data() -> pd.DataFrame:
    """Phones, ID numbers and names in their own columns, in free text (description, address,
    sub-category, even the category) and in an extra column; rows 4 and 5 are rejected, so
    their raw_row is stored too."""
    frame = rows(5, prefix="PII")
    frame[H["phone"]] = [PHONES[0], PHONES[1], "１３８１２３４５６７８", PHONES[2], PHONES[3]]
    frame[H["name"]] = [NAMES[0], NAMES[1], NAMES[2], NAMES[0], NAMES[1]]
    frame["身份证号"] = [ID_NUMBERS[0], ID_NUMBERS[1], ID_NUMBERS[2], ID_NUMBERS[0], ID_NUMBERS[1]]
    frame["备注"] = [f"回电 {PHONES[3]}", f"证件 {ID_NUMBERS[0]}", "", f"{PHONES[1]}", f"身份证{ID_NUMBERS[2]}"]
    frame[H["description"]] = [
        f"我是{NAMES[0]}，电话{PHONES[0]}，身份证{ID_NUMBERS[0]}",
        f"{NAMES[1]}反映：联系 {PHONES[1]}，证件号 {ID_NUMBERS[1]}",
        f"{NAMES[2]} 的电话 {PHONES[2]}，身份证号 {ID_NUMBERS[2]}",
        f"我是{NAMES[0]}，电话{PHONES[3]}",
        f"{NAMES[1]}，身份证{ID_NUMBERS[1]}",
    ]
    frame[H["address"]] = [f"{name}家，电话 {PHONES[1]}" for name in frame[H["name"]]]
    frame[H["subcategory"]] = ["停水", f"回电{PHONES[0]}", f"{NAMES[2]}反映停水", "停水", f"{NAMES[1]}"]
    frame[H["category"]] = ["供水", f"{NAMES[1]}的诉求", "供水", "供水", "供水"]
    frame.loc[3, H["created_at"]] = "不是日期"
    frame.loc[4, H["lon"]], frame.loc[4, H["lat"]] = "121.47", "31.23"  # Shanghai
    return frame


# --- the table -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One hostile file and its outcome. ``stored``: checks of what the new batch holds, each
    (SQL whose one ``?`` is the new batch id, the exact rows it must answer)."""

    id: str
    write: Writer
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    refused: str | None = None
    stored: tuple[tuple[str, list[tuple]], ...] = ()


def new(sql: str) -> str:
    """``$new`` in a check's SQL: the rows of the batch just imported."""
    return sql.replace("$new", "batch_id = ?")


def check(sql: str, expected: list[tuple]) -> tuple[tuple[str, list[tuple]], ...]:
    return ((new(sql), expected),)


def every_field_stored(text: str) -> tuple[tuple[str, list[tuple]], ...]:
    """What ``every_text_field(text)`` leaves: the text verbatim where text is kept, defaults elsewhere."""
    return (
        (new("SELECT record_id FROM demands WHERE $new ORDER BY 1"), sorted([(text,), ("T1",)])),
        (new("SELECT category, source_category, subcategory, description, address, channel, status, urgency, "
             "people_affected, satisfaction, requester_group, requester_phone_masked, requester_name_masked, "
             "responded_at, district_adcode FROM demands WHERE $new AND record_id = 'T1'"),
         [("other", text, text, text, text, "other", "received", 1, 1, None, "general", None,
           "姓" + "*" * (len(text) + 1), None, "330106")]),
    )


AT_0830 = datetime(2025, 3, 1, 8, 30)

CASES: list[Case] = [
    # --- encodings and byte-order marks
    Case("gbk", csv_of(rows, "gbk"), accepted=5),
    Case("gbk_declared_utf8_by_a_bom", bytes_of(gbk_behind_a_utf8_bom), accepted=5,
         stored=check("SELECT count(*) FROM demands WHERE $new AND category <> 'other'", [(5,)])),
    Case("gbk_after_a_first_mib_of_ascii", bytes_of(gbk_after_a_mib_of_ascii), accepted=23,
         stored=check("SELECT record_id, description FROM demands WHERE $new AND record_id LIKE 'G%' ORDER BY 1",
                      [("G1", "停水三天第1户"), ("G2", "停水三天第2户"), ("G3", "停水三天第3户")])),
    Case("utf8_header_then_gbk_rows", bytes_of(utf8_header_then_gbk_rows), refused="save it as UTF-8 or GBK"),
    Case("utf8_bom", csv_of(rows, "utf-8-sig"), accepted=5),
    Case("utf8_two_boms", bytes_of(lambda: codecs.BOM_UTF8 + csv_text(rows()).encode("utf-8-sig")), accepted=5),
    Case("utf16le_bom", text_of(rows, "utf-16-le", bom=True), accepted=5),
    Case("utf16be_bom", text_of(rows, "utf-16-be", bom=True), accepted=5),
    Case("utf16le_no_bom", text_of(rows, "utf-16-le"), accepted=5),
    Case("utf16be_no_bom", text_of(rows, "utf-16-be"), accepted=5),
    Case("two_exports_concatenated_bom_mid_file", bytes_of(two_exports_concatenated), accepted=6,
         rejected={"created_at_unparseable": 1}),
    Case("cr_only_line_endings", bytes_of(line_endings("\r")), accepted=5),
    Case("crlf_line_endings", bytes_of(line_endings("\r\n")), accepted=5),
    Case("tab_delimited", bytes_of(delimited("\t")), accepted=5),
    Case("semicolon_delimited", bytes_of(delimited(";")), accepted=5),
    # --- files that are not a table of records
    Case("empty", bytes_of(b""), refused="the file is empty"),
    Case("only_blank_lines", bytes_of(b"\r\n\n   \n\t\n"), refused="the file is empty"),
    Case("header_only", bytes_of("工单编号,受理时间,诉求类别,经度,纬度\n".encode("gbk")),
         refused="the file has a header but no data rows"),
    Case("header_then_blank_lines", bytes_of("工单编号,受理时间,诉求类别,经度,纬度\n\n\n,,,,\n".encode()),
         refused="the file has a header but no data rows"),
    Case("binary_garbage_named_csv", bytes_of(lambda: np.random.default_rng(5).bytes(50_000)),
         refused="not a text table: looks like binary data"),
    Case("nul_padded_file", bytes_of(nul_padded_file), refused="not a text table: looks like binary data"),
    Case("zip_renamed_xlsx", zip_renamed_xlsx, refused="not a readable Excel workbook"),
    Case("pdf_renamed_xlsx", bytes_of(b"%PDF-1.7\n" + bytes(range(256)) * 8, name="file.xlsx"),
         refused="not a readable Excel workbook"),
    Case("xlsx_first_sheet_empty", empty_first_sheet, accepted=5),  # the data sheet after it is found
    Case("parquet_named_csv", parquet_named_csv, accepted=5),
    Case("title_row_above_header", bytes_of(title_row_above_header), accepted=5),  # the title line is skipped
    Case("missing_required_columns", csv_of(lambda: rows().drop(columns=[H["created_at"]])),
         refused="missing required columns: created_at"),
    Case("unclosed_quote", bytes_of(unclosed_quote), refused="row 2 opens a quote that is never closed"),
    Case("stray_quote_inside_a_field", bytes_of(stray_quote_inside_a_field), accepted=5,
         stored=check("SELECT address FROM demands WHERE $new AND record_id = 'GD00000002'", [("乙号",)])),
    Case("ragged_rows", bytes_of(ragged_rows), accepted=4, rejected={"column_count_mismatch": 1}),
    # --- size
    Case("hundred_thousand_character_descriptions", csv_of(descriptions(100_000)), accepted=3,
         rejected={"created_at_unparseable": 1},
         stored=check("SELECT length(description), description LIKE '%138****5678' FROM demands WHERE $new "
                      "ORDER BY record_id", [(5_000, False), (5_000, False), (5_000, True)])
         + check("SELECT length(raw_row) < 5_500 FROM rejects WHERE $new", [(True,)])),
    Case("huge_single_cell_17_mb", bytes_of(huge_cell(17_000_000)), accepted=5,
         stored=check("SELECT max(length(description)) FROM demands WHERE $new", [(5_000,)])),
    Case("huge_single_cell_over_64_mib", bytes_of(huge_cell(70_000_000)), refused="row 1 holds a cell larger than 64 MiB"),
    # --- bytes that do not belong in text
    Case("nul_bytes_in_cells", bytes_of(nul_bytes_in_cells), accepted=5,
         stored=check("SELECT description FROM demands WHERE $new ORDER BY record_id",
                      [("路灯坏了",), ("垃圾未清运",), ("水压低",), ("公交少",), ("助餐",)])),
    # --- Excel
    Case("xlsx_formulas_with_cached_results", xlsx_formulas(cached=True), accepted=5,
         stored=check("SELECT count(*) FILTER (description = '点我查看'), count(*) FILTER (record_id = 'GDX1'), "
                      "count(*) FILTER (address = '和平路1号'), count(*) FILTER (description LIKE '%HYPERLINK%' "
                      "OR address LIKE '%CONCATENATE%' OR record_id LIKE '%&%') FROM demands WHERE $new", [(1, 1, 1, 0)])),
    Case("xlsx_formulas_without_cached_results", xlsx_formulas(cached=False), accepted=4,
         rejected={"record_id_blank": 1},
         stored=check("SELECT count(*) FILTER (description IS NULL), count(*) FILTER (address IS NULL) "
                      "FROM demands WHERE $new", [(1, 1)])),
    Case("xlsx_excel_serial_dates", xlsx_excel_dates, accepted=4,
         stored=check("SELECT record_id, created_at FROM demands WHERE $new ORDER BY 1",
                      [("X1", AT_0830), ("X2", AT_0830), ("X3", AT_0830), ("X4", datetime(2025, 3, 1))])),
    Case("formula_text_in_csv_cells_is_kept_as_text",
         csv_of(lambda: varied("F", {"description": '=HYPERLINK("http://evil.example","点我")', "address": "=1+1"},
                               {"description": "=cmd|' /C calc'!A0", "address": "@SUM(1+1)"},
                               {"description": "+1+1", "address": "-2+3"})), accepted=3,
         stored=check("SELECT description, address FROM demands WHERE $new ORDER BY record_id",
                      [('=HYPERLINK("http://evil.example","点我")', "=1+1"), ("=cmd|' /C calc'!A0", "@SUM(1+1)"),
                       ("+1+1", "-2+3")])),
    Case("excel_scientific_notation_ids_and_phones",
         csv_of(lambda: varied("E", {"record_id": "2.02507E+17"}, {"record_id": "2.02507E+17"}, {"phone": "1.39E+10"},
                               {"phone": "13912345678"})), accepted=1,
         rejected={"record_id_scientific": 2, "phone_scientific": 1}),
    # --- dates and times
    Case("mixed_date_formats_and_zones",
         csv_of(lambda: varied("D", *[{"created_at": text} for text in (
             "2025-03-01 08:30:00", "2025/3/1 8:30", "2025年3月1日 8时30分", "202503010830", "45717.3541666667",
             "1740789000", "1740789000000", "2025-03-01T00:30:00Z", "2025-03-01T08:30:00+08:00",
             "2025-02-28T19:30:00-05:00")])), accepted=10,
         stored=check("SELECT DISTINCT created_at FROM demands WHERE $new", [(AT_0830,)])),
    Case("date_only_formats",
         csv_of(lambda: varied("D", *[{"created_at": text} for text in (
             "2025-03-01", "2025/3/1", "2025年3月1日", "20250301", "2025.03.01", "45717", "1740758400")])), accepted=7,
         stored=check("SELECT DISTINCT created_at FROM demands WHERE $new", [(datetime(2025, 3, 1),)])),
    Case("dates_that_do_not_exist",
         csv_of(lambda: with_rows(rows(1), varied("D", *[{"created_at": text} for text in (
             "2025-02-30", "2025-13-01", "1899-12-31", "2999-01-01", "-1", "0", "不是日期", "")]))),
         accepted=1, rejected={"created_at_unparseable": 8}),
    # --- coordinates
    Case("lat_and_lon_swapped", csv_of(lambda: varied("C", {"lon": "30.25", "lat": "120.15"}, {})), accepted=1,
         rejected={"lat_lon_swapped": 1}),
    Case("coordinates_as_text_with_marks",
         csv_of(lambda: varied("C", *[{"lon": lon, "lat": lat} for lon, lat in (
             (" 120.15° ", "30.25°N"), ("E120.15", "N30.25"), ("东经120.15", "北纬30.25"),
             ("120°9'0\"", "30°15'0\""), ("１２０．１５", "３０．２５"))])), accepted=5,
         stored=check("SELECT DISTINCT district_adcode, round(lon, 6), round(lat, 6) FROM demands WHERE $new",
                      [("330106", 120.15, 30.25)])),
    Case("nan_and_inf_coordinates",
         csv_of(lambda: varied("C", *[{"lon": lon, "lat": lat, "district": district} for lon, lat, district in (
             ("NaN", "NaN", ""), ("inf", "-inf", ""), ("1e999", "30.25", ""), ("nan", "inf", "西湖区"),
             ("-inf", "30.25", "330106"))])), accepted=2, rejected={"no_location": 3},
         stored=check("SELECT district_adcode, lon FROM demands WHERE $new ORDER BY record_id",
                      [("330106", None), ("330106", None)])),
    Case("points_in_the_sea",
         csv_of(lambda: varied("C", {"lon": "124.0", "lat": "29.0"}, {"lon": "123.5", "lat": "28.0"},
                               {"lon": "999", "lat": "-999"})), rejected={"outside_zhejiang": 3}),
    Case("points_in_other_provinces",
         csv_of(lambda: varied("C", *[{"lon": lon, "lat": lat} for lon, lat in (
             ("121.47", "31.23"), ("117.27", "31.86"), ("119.30", "26.08"), ("115.86", "28.68"), ("116.40", "39.90"))])),
         rejected={"outside_zhejiang": 5}),
    # --- record ids
    Case("duplicate_ids_in_one_file",
         csv_of(lambda: varied("", *[{"record_id": rid} for rid in ("D1", "D1", " D1 ", "D2", "D2")])),
         accepted=2, rejected={"record_id_duplicate_in_file": 3}),
    Case("duplicate_ids_across_files", csv_of(lambda: with_rows(base_frame().iloc[:3], rows(2, prefix="NEW"))),
         accepted=2, skipped=3),
    Case("blank_ids", csv_of(lambda: varied("B", {}, {"record_id": "   "}, {"record_id": "\u3000"}, {"record_id": ""})),
         accepted=1, rejected={"record_id_blank": 3}),
    # --- categories written every which way
    Case("categories_with_stray_spaces_and_full_width",
         csv_of(lambda: varied("K", *[{"category": text} for text in (
             " 供 水 ", "供水\u3000", "ＷＡＴＥＲ", "Water Supply", "养老\xa0服务", "养老服务\t", "供\u200b水", "\ufeff供水")])),
         accepted=8,
         stored=check("SELECT category, count(*) FROM demands WHERE $new GROUP BY 1 ORDER BY 1",
                      [("elderly_care", 2), ("water", 6)])),
    # --- script and SQL text in every field, in headers, in the file name
    Case("script_in_every_text_field", csv_of(lambda: every_text_field(SCRIPT)), accepted=2,
         rejected={"created_at_unparseable": 1, "district_unknown": 1}, stored=every_field_stored(SCRIPT)),
    Case("sql_in_every_text_field", csv_of(lambda: every_text_field(SQL)), accepted=2,
         rejected={"created_at_unparseable": 1, "district_unknown": 1}, stored=every_field_stored(SQL)),
    Case("more_injection_text",
         csv_of(lambda: varied("J", *[{"description": text, "address": text, "subcategory": text} for text in INJECTIONS])),
         accepted=len(INJECTIONS),
         stored=check("SELECT description, address, subcategory FROM demands WHERE $new ORDER BY record_id",
                      [(text, text, text) for text in INJECTIONS])),
    Case("hostile_header_names", csv_of(with_hostile_headers), accepted=4, rejected={"created_at_unparseable": 1},
         stored=check("SELECT json_keys(raw_row) FROM rejects WHERE $new", [([*H.values(), SQL, SCRIPT],)])),
    Case("hostile_file_name", csv_of(rows, name=HOSTILE_FILE_NAME), accepted=5,
         stored=check("SELECT file_name FROM imports WHERE $new", [(HOSTILE_FILE_NAME,)])),
    # --- personal data inside free text
    Case("personal_data_in_columns_and_free_text", csv_of(personal_data, "gbk"), accepted=3,
         rejected={"created_at_unparseable": 1, "outside_zhejiang": 1},
         stored=check("SELECT requester_phone_masked, requester_name_masked, description, address, subcategory, "
                      "source_category FROM demands WHERE $new ORDER BY record_id", [
             ("138****5678", "王**", "我是王**，电话138****5678，身份证[身份证号已隐藏]", "王**家，电话 138****5678", "停水",
              "供水"),
             ("138****5678", "欧***", "欧***反映：联系 138****5678，证件号 [身份证号已隐藏]", "欧***家，电话 138****5678",
              "回电138****5678", "欧***的诉求"),
             ("138****5678", "李**", "李** 的电话 138****5678，身份证号 [身份证号已隐藏]", "李**家，电话 138****5678",
              "李**反映停水", "供水"),
         ])),
]
