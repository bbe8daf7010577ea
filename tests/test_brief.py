"""District briefings opened and read: PDF text, PowerPoint shapes, the PNG's pixels, the HTML's links.

One briefing of 西湖区 (330106) over the session's demo database is built once and rendered
in each format; the command line is run as a subprocess for the PNG and for the error cases.
"""

import io
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from needsmap import brief, queries, store
from needsmap.filters import Filter
from tests.conftest import DEMO_RECORDS

REPO_ROOT = Path(__file__).resolve().parents[1]
WEST_LAKE = "330106"


@pytest.fixture(scope="module")
def west_lake(demo_db):
    """(briefing, kpis of the district, kpis of the province) for 西湖区 over the whole demo."""
    with store.open_readonly(demo_db) as con:
        flt = brief.place_filter(con, WEST_LAKE)
        briefing = brief.build(con, flt)
        as_of = queries.as_of(con)
        district = queries.kpis(con, flt, as_of, 15)
        province = queries.kpis(con, Filter(), as_of, 15)
    return briefing, district, province


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    assert 1 <= len(reader.pages) <= 2
    # pypdf reads fpdf2's two-byte glyph codes (Identity-H, glyph 0 mapped to U+0000) a byte at a
    # time, so a NUL or a space comes between the characters; poppler's pdftotext reads them
    # cleanly. The words and numbers are what count.
    return re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in reader.pages))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "needsmap", "brief", *args], capture_output=True, text=True, timeout=300,
                          cwd=REPO_ROOT)


def test_pdf_names_the_district_and_states_its_numbers_against_the_province(west_lake):
    briefing, district, province = west_lake
    text = _pdf_text(brief.render(briefing, "pdf"))
    assert district["records"] >= 5 and province["records"] == DEMO_RECORDS
    assert "西湖区公共服务需求简报" in text
    # The key-figures row: label, the district's count, the province's count.
    assert f"诉求总数{district['records']:,}{province['records']:,}" in text
    assert f"独立诉求人{district['distinct_requesters']:,}{province['distinct_requesters']:,}" in text
    assert f"办结率{district['resolution_rate'] * 100:.1f}%{province['resolution_rate'] * 100:.1f}%" in text
    for heading in ("主要指标（对比全省）", "前五项优先需求（得分及构成）", "城乡对比（杭州市）", "时间范围：", "数据来源："):
        assert heading in text
    assert "西湖区属于城区。" in text


def test_pptx_opens_and_holds_the_district_and_its_numbers(west_lake):
    from pptx import Presentation

    briefing, district, _ = west_lake
    deck = Presentation(io.BytesIO(brief.render(briefing, "pptx")))
    assert len(deck.slides) == 4  # map and figures; priorities and gap; hot spots and surges; demand vs supply
    texts = []
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                texts.append(shape.text_frame.text)
            if shape.has_table:
                texts.extend(cell.text for row in shape.table.rows for cell in row.cells)
    assert "西湖区公共服务需求简报" in texts
    assert f"{district['records']:,}" in texts
    assert sum(shape.shape_type == 13 for shape in deck.slides[0].shapes) == 1  # the map picture


def test_html_is_one_file_that_loads_nothing(west_lake):
    briefing, district, _ = west_lake
    page = brief.render(briefing, "html").decode("utf-8")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert re.search(r'<img alt="西湖区" src="data:image/png;base64,[A-Za-z0-9+/=]{10000,}">', page)
    assert f'<td class="num">{district["records"]:,}</td>' in page


def test_cli_png_is_the_map_at_its_size_and_not_blank(demo_db, tmp_path):
    out = tmp_path / "西湖区.png"
    result = _cli("--db", str(demo_db), "--district", WEST_LAKE, "--format", "png", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("已生成简报 briefing written:")
    image = Image.open(out).convert("RGB")
    assert image.size == (1200, 900)
    assert len(image.getcolors(maxcolors=1_000_000)) > 500


def test_cli_city_briefing_with_a_period(demo_db, tmp_path):
    out = tmp_path / "hangzhou.html"
    result = _cli("--db", str(demo_db), "--district", "330100", "--from", "2025-07-01", "--to", "2025-09-30",
                  "--format", "html", "--out", str(out))
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert "<h1>杭州市公共服务需求简报</h1>" in page and "杭州市 · 2025年7–9月" in page
    with store.open_readonly(demo_db) as con:
        flt = Filter(city_adcode="330100", date_from=date(2025, 7, 1), date_to=date(2025, 9, 30))
        records = queries.kpis(con, flt, queries.as_of(con), 15)["records"]
    assert f'<td class="num">{records:,}</td>' in page


@pytest.mark.parametrize(("args", "message"), [
    (("--district", "339999"), "unknown adcode: expected one of Zhejiang's 90 districts or 11 cities"),
    (("--district", "330106", "--from", "2025-13-01"), "date must be YYYY-MM-DD"),
    (("--district", "330106", "--from", "2025-09-30", "--to", "2025-07-01"), "--from is after --to"),
])
def test_cli_bad_input_exits_2_with_one_clear_line(demo_db, tmp_path, args, message):
    out = tmp_path / "brief.pdf"
    result = _cli("--db", str(demo_db), *args, "--out", str(out))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误 error: ") and message in lines[0]
    assert not out.exists()


def test_small_counts_in_the_key_figures_read_under_k(make_db):
    db = make_db([{"record_id": f"R{n}", "status": "resolved" if n else "received"} for n in range(6)])
    with store.open_readonly(db) as con:
        briefing = brief.build(con, brief.place_filter(con, WEST_LAKE))
    rows = {label: (local, whole) for label, local, whole in briefing.kpi_rows}
    assert rows["诉求总数"] == ("6", "6")
    assert rows["未办结"] == ("<5", "<5")  # one open record must not be pointed at


def test_briefing_names_the_top_three_hot_spots_with_labels_and_the_weeks_surges(bundled_demo_db):
    import duckdb

    from needsmap import alerts, hotspots

    f = Filter(city_adcode="330200", district_adcode="330212", date_to=date(2025, 9, 14))
    with duckdb.connect(str(bundled_demo_db), read_only=True) as con:
        briefing = brief.build(con, f)
        layer = hotspots.hot_spot_layer(con, f)
        week = alerts.surges(con, f).surges()
    top = layer.cells[(layer.cells["kind"] == "hot") & (layer.cells["level"] >= 95) & (layer.cells["count"] >= 5)]
    assert len(briefing.hot_spot_lines) == min(3, len(top)) >= 1
    strongest = top.sort_values(["z", "count"], ascending=False).iloc[0]
    assert briefing.hot_spot_lines[0].startswith("鄞州区，约 ")
    assert f"热点 {int(strongest.level)}% · 不同诉求人 {int(strongest['count'])} · " in briefing.hot_spot_lines[0]
    assert briefing.hot_spot_lines[0].endswith(hotspots.label_words(strongest["label"], "zh"))
    assert briefing.hot_spot_note.startswith("统计显著的热点：在 95% 置信水平下，且已控制多重检验")
    assert week[["district_adcode", "category"]].values.tolist()[0] == ["330212", "water"]
    assert briefing.surge_lines[0].startswith("宁波市 · 鄞州区 · 供水 — 本周诉求人 ")
    assert briefing.surge_note.startswith("2025-09-08 至 2025-09-14")
    page = brief.to_html(briefing)
    assert "统计显著的热点（前三）" in page and "本周异常" in page and "宁波市 · 鄞州区 · 供水" in page


def test_a_briefing_of_demo_data_says_so_in_every_format_and_one_of_imported_data_does_not(west_lake, make_db):
    briefing, _, _ = west_lake
    badge = "演示数据（合成记录，非真实诉求）"
    assert briefing.demo == badge
    assert badge in _pdf_text(brief.render(briefing, "pdf"))
    from pptx import Presentation

    deck = Presentation(io.BytesIO(brief.render(briefing, "pptx")))
    assert badge in [shape.text_frame.text for shape in deck.slides[0].shapes if shape.has_text_frame]
    assert f'<p class="demo">{badge}</p>' in brief.render(briefing, "html").decode("utf-8")
    db = make_db([{"record_id": f"R{n}"} for n in range(6)])
    with store.open_readonly(db) as con:
        imported = brief.build(con, brief.place_filter(con, WEST_LAKE))
    assert imported.demo == "" and "演示数据" not in _pdf_text(brief.render(imported, "pdf"))


@pytest.mark.parametrize(("args", "message"), [
    (("--district", "330106", "--township", "330106001"), "not allowed with argument"),
    ((), "one of the arguments --district --township is required"),
])
def test_cli_takes_one_place_district_or_township(demo_db, tmp_path, args, message):
    out = tmp_path / "brief.pdf"
    result = _cli("--db", str(demo_db), *args, "--out", str(out))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
