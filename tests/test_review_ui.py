"""What a planner reads off the service-loop tables, the funnel and the chart axes (AppTest, no browser).

The database is ``tests/test_pages.py``'s small one: 西湖区 R1, R2, R3 and XSS-1, 淳安县 R4 and R5.
"""

import json

import pandas as pd

from tests.apptest_pages import open_page as _open
from tests.records import RECORDS

XSS = dict(record_id="XSS-1", status="resolved")  # the hostile-text record small_db adds (西湖区, resolved)


def _by_district() -> dict[str, tuple[float, float]]:
    """District → (% responded within 24 h of those with a response time, % resolved or closed), computed here."""
    out: dict[str, list[dict]] = {}
    for record in [*RECORDS, XSS]:
        out.setdefault(record.get("district_adcode", "330106"), []).append(record)
    shares = {}
    for adcode, records in out.items():
        timed = [r for r in records if r.get("responded_at") is not None]
        within = [r for r in timed if r["responded_at"] - r["created_at"] <= pd.Timedelta("24h")]
        resolved = [r for r in records if r.get("status") in ("resolved", "closed")]
        shares[{"330106": "西湖区", "330127": "淳安县"}[adcode]] = (
            round(100 * len(within) / len(timed), 1), round(100 * len(resolved) / len(records), 1))
    return shares


def _charts(app) -> list[dict]:
    return [json.loads(element.proto.spec) for element in app.get("plotly_chart")]


def test_loop_tables_show_rates_as_percentages_like_the_kpis(small_db):
    app = _open("pages/4_loop.py")
    assert not app.exception
    table = app.dataframe[0].value.set_index("区县")
    expected = _by_district()
    assert {name: (row["24 小时内响应"], row["办结率"]) for name, row in table.iterrows()} == expected
    assert expected == {"西湖区": (100.0, 50.0), "淳安县": (0.0, 50.0)}
    config = json.loads(app.dataframe[0].proto.columns)
    assert all(config[name]["type_config"]["format"] == "%.1f%%" for name in ("24 小时内响应", "72 小时内反馈", "办结率"))


def test_funnel_shows_whole_counts_not_si_thousands(small_db):
    app = _open("pages/4_loop.py")
    (funnel,) = [c for c in _charts(app) if c["data"][0]["type"] == "funnel"]
    assert funnel["data"][0]["texttemplate"] == "%{value:,d}<br>%{percentInitial:.0%}"
    assert funnel["data"][0]["x"][0] == 6  # every record is received


def test_monthly_trend_months_are_in_the_page_language(small_db):
    zh = _open("pages/1_district.py", district="330106")
    en = _open("pages/1_district.py", district="330106", lang="en")
    (zh_trend,) = [c for c in _charts(zh) if c["layout"]["title"]["text"] == "月度趋势"]
    (en_trend,) = [c for c in _charts(en) if c["layout"]["title"]["text"] == "Monthly trend"]
    assert zh_trend["layout"]["xaxis"]["tickformat"] == "%Y年%-m月"
    assert en_trend["layout"]["xaxis"]["tickformat"] == "%b %Y"


def test_priority_chart_axis_is_named_in_the_page_language(small_db):
    for lang, title in (("zh", "各因子取对数后相加（= 得分的对数）"), ("en", "Log of each factor, stacked (= log of the score)")):
        app = _open("pages/2_priorities.py", ranking="structural", min_req="1", lang=lang)
        assert not app.exception
        assert _charts(app) == []  # the chart comes on demand (plotly's first load costs a tab ~2 s)
        app.toggle(key="needs_score_chart").set_value(True).run()
        axes = [c["layout"]["xaxis"]["title"]["text"] for c in _charts(app) if "title" in c["layout"].get("xaxis", {})]
        assert axes == [title]


def test_data_page_names_facility_types_categories_and_coordinate_systems_in_chinese(small_db):
    import duckdb

    with duckdb.connect(str(small_db), read_only=True) as con:
        mapping = dict(con.execute("SELECT facility_type, category FROM facility_type_mapping").fetchall())
    app = _open("pages/5_data.py")
    assert not app.exception
    shown = app.dataframe[-1].value
    assert list(shown.columns) == ["类型", "类别"]
    assert len(shown) == len(mapping) > 0
    assert "幼儿园" in set(shown["类型"]) and mapping["幼儿园"] == "education"
    assert set(shown.loc[shown["类型"] == "幼儿园", "类别"]) == {"教育"}
    assert not set(shown["类别"]) & set(mapping.values())  # no raw code such as "education"
    assert app.selectbox(key="facility_crs").options == ["WGS-84 (GPS)", "GCJ-02 (高德/腾讯)", "BD-09 (百度)"]


def test_export_panel_is_named_in_chinese_only(small_db):
    app = _open()
    assert [e.label for e in app.expander if "导出" in e.label] == ["导出"]


def test_a_reply_half_a_minute_past_24_hours_is_not_within_24_hours(make_db, monkeypatch):
    # Created at 09:00:40; answered 24 h 00 min 30 s later (late), 24 h 00 min 00 s later (on time) and 23 h later.
    created = pd.Timestamp("2025-06-01 09:00:40")
    replies = {"L1": pd.Timedelta("24h30s"), "L2": pd.Timedelta("24h"), "L3": pd.Timedelta("23h")}
    records = [dict(record_id=rid, created_at=created, status="resolved", requester_hash=f"h{rid}",
                    responded_at=created + delay, resolved_at=created + pd.Timedelta("30h"),
                    feedback_at=created + delay + pd.Timedelta("48h"))
               for i, (rid, delay) in enumerate(replies.items())]
    monkeypatch.setenv("NEEDSMAP_DB", str(make_db(records)))
    within = sum(delay <= pd.Timedelta("24h") for delay in replies.values())
    feedback_within = sum(delay + pd.Timedelta("48h") <= pd.Timedelta("72h") for delay in replies.values())
    app = _open("pages/4_loop.py")
    assert not app.exception
    shown = {m.label: m.value for m in app.metric}
    assert shown["24 小时内响应"] == f"{100 * within / 3:.1f}%" == "66.7%"
    assert shown["72 小时内反馈"] == f"{100 * feedback_within / 3:.1f}%" == "66.7%"
