"""Privacy counts people: in public mode and in briefings a group is shown only with at least k
distinct requesters (and k records). Five records from one person — in 淳安县, 养老服务 · 助餐,
rated 5 — must leave no trace on any page, chart, table, export or briefing (k = 5)."""

from __future__ import annotations

import json

import pytest

from needsmap import brief, exports, presentation, queries, settings, store
from needsmap.filters import Filter
from tests.apptest_pages import PAGES, metrics, open_page

# Six water records in 西湖区 from six people (big enough), and one person's five calls in 淳安县.
_MANY = [dict(record_id=f"W{i}", created_at=f"2025-06-0{i} 09:00", status="dispatched", requester_hash=f"h{i}",
              responded_at=f"2025-06-0{i} 10:00", satisfaction=3) for i in range(1, 7)]
_ONE_PERSON = [dict(record_id=f"E{i}", created_at=f"2025-06-1{i} 09:00", category="elderly_care", subcategory="助餐",
                    district_adcode="330127", urban_rural="rural", status="in_progress", requester_hash="solo",
                    urgency=4, people_affected=40, responded_at=f"2025-06-1{i} 10:00", satisfaction=5)
               for i in range(5)]
CHUNAN = Filter(city_adcode="330100", district_adcode="330127")
# What would give the group away: its place, its category and sub-category, its rating.
TRACES = ("淳安县", "养老服务", "助餐", "5.00")


@pytest.fixture
def one_person_group(make_db, monkeypatch):
    db = make_db([*_MANY, *_ONE_PERSON], name="one_person.duckdb")
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    monkeypatch.setenv("NEEDSMAP_MIN_RECORDS_TO_RANK", "1")  # rankable by records: only the people rule keeps it out
    return db


def _shown(app, with_title: bool = True) -> str:
    """Everything a page shows in words: headings, text, metrics, tables, chart data."""
    parts = [m.label + " " + m.value for m in app.metric]
    parts += [frame.value.to_string() for frame in app.dataframe]
    parts += [json.dumps(json.loads(e.proto.spec), ensure_ascii=False) for e in app.get("plotly_chart")]
    parts += [e.value for kind in ("markdown", "caption", "info", "warning", "subheader", "header") for e in getattr(app, kind)]
    if with_title:
        parts += [e.value for e in app.title]
    return "\n".join(parts)


def test_staff_see_the_group(one_person_group):
    staff = open_page("pages/4_loop.py", district="330127", city="330100")
    assert metrics(staff)["平均满意度"] == "5.00"
    assert "养老服务" in _shown(open_page("pages/1_district.py", district="330127", city="330100"))


@pytest.mark.parametrize("page", (None, *PAGES))
def test_no_public_page_shows_anything_of_one_persons_five_records(one_person_group, page):
    app = open_page(page, present="1")
    assert not app.exception, [e.value for e in app.exception]
    shown = _shown(app)
    assert not [trace for trace in TRACES if trace in shown]


@pytest.mark.parametrize("page", (None, *PAGES))
def test_a_public_page_of_the_group_alone_shows_no_figure_of_it(one_person_group, page):
    app = open_page(page, present="1", city="330100", district="330127")
    assert not app.exception, [e.value for e in app.exception]
    # The place asked for is named (title, briefing picker); nothing else of the group is shown.
    shown = _shown(app)
    assert not [trace for trace in TRACES[1:] if trace in shown]
    for label, value in metrics(app).items():
        assert value in ("–", "<5", "0", "– 小时"), (label, value)


def test_exports_and_the_briefing_show_nothing_of_it(one_person_group):
    con = store.open_readonly(one_person_group)
    try:
        table = exports.download_table(con, CHUNAN, public=True)
        categories = exports.category_table(con, CHUNAN, public=True)
        province_categories = exports.category_table(con, Filter(), public=True)
        briefing = brief.build(con, CHUNAN)
        measures = queries.district_measures(con, Filter(), queries.as_of(con), 15, 1)
    finally:
        con.close()
    row = table.iloc[0]
    assert row["区县"] == "淳安县" and bool(row["记录过少（数值不显示）"])
    assert row[["记录数", "独立诉求人", "未办结", "紧急", "每万人诉求数", "每万人独立诉求人数"]].isna().all()
    assert categories.empty and list(province_categories["label"]) == ["供水"]
    # The briefing of 淳安县: no figure of its own, no cluster, no comparison built on it.
    place_column = [row[1] for row in briefing.kpi_rows]
    assert set(place_column) <= {"–", "<5", "0"}, place_column
    assert briefing.priority_rows == ()
    html_text = brief.to_html(briefing)
    assert not [trace for trace in ("养老服务", "助餐", "5.00") if trace in html_text]
    # The map (page, PNG and offline HTML draw this frame): "too few", no number.
    drawn = presentation.map_frame(measures, "records", lang="zh", public=True, k=settings.get("k_anonymity"))
    chunan = drawn.set_index("adcode").loc["330127"]
    assert chunan["value_text"] == "记录过少" and chunan["top_text"] == "–"
