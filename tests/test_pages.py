"""Page logic without a browser (streamlit.testing.v1.AppTest); the map itself is in tests/e2e."""


import json

import numpy as np
import pytest

from tests.apptest_pages import PAGES
from tests.need_calls import exaggeration_calls, import_calls
from tests.apptest_pages import metrics as _metrics
from tests.apptest_pages import open_page as _open


def test_home_shows_title_and_kpis(small_db):
    app = _open()
    assert not app.exception
    assert app.title[0].value == "需求地图"
    metrics = _metrics(app)
    assert metrics["诉求总数"] == "6" and metrics["独立诉求人"] == "5" and metrics["超期"] == "2"


def test_changing_a_filter_changes_the_numbers_and_the_url(small_db):
    app = _open()
    app.sidebar.multiselect(key="flt_categories@zh").select("elderly_care").run()
    assert _metrics(app)["诉求总数"] == "2"
    assert app.query_params["cat"] == "elderly_care"


def test_a_copied_url_restores_the_view(small_db):
    app = _open(cat="elderly_care", ur="rural")
    assert _metrics(app)["诉求总数"] == "2"
    assert app.sidebar.multiselect(key="flt_categories@zh").value == ["elderly_care"]
    assert "养老服务" in app.caption[0].value and "县域" in app.caption[0].value


def test_english_switch_changes_labels(small_db):
    app = _open()
    app.radio(key="home_scheme@zh").set_value("natural_breaks").run()
    app.sidebar.multiselect(key="flt_categories@zh").select("elderly_care").run()
    app.sidebar.radio(key="lang_choice").set_value("en").run()
    assert app.title[0].value == "Needs map"
    assert "Demands" in _metrics(app)
    # The choices made in Chinese carry over to the English widgets (new keys: streamlit#13788).
    assert app.radio(key="home_scheme@en").value == "natural_breaks"
    assert app.radio(key="home_scheme@en").options == ["Quantiles", "Natural breaks"]
    assert app.sidebar.multiselect(key="flt_categories@en").value == ["elderly_care"]


def test_district_page_from_url_shows_the_district_and_masked_records(small_db):
    app = _open("pages/1_district.py", district="330106")
    assert not app.exception
    assert app.title[0].value.startswith("西湖区")
    assert _metrics(app)["诉求总数"] == "4"
    app.toggle(key="show_records").set_value(True).run()  # the record table comes when asked
    records = app.dataframe[-1].value
    assert "<img src=x onerror=alert(1)>" in set(records["诉求内容"])  # shown as text in a table cell
    assert not {"requester_hash"} & set(records.columns)


def test_district_page_compares_with_the_province_only_when_a_place_is_chosen(small_db):
    province = _open("pages/1_district.py")
    assert not province.exception
    assert [m.delta for m in province.metric if m.delta] == []  # no "+0.0 pt 对比全省"
    district = _open("pages/1_district.py", district="330106")
    assert any("对比全省" in (m.delta or "") for m in district.metric)


def test_differences_from_the_province_carry_their_units(small_db):
    import duckdb

    con = duckdb.connect(str(small_db), read_only=True)
    share = "SELECT avg((urgency >= 3)::INT) FROM demands{}"
    urgent_district = con.execute(share.format(" WHERE district_adcode = '330106'")).fetchone()[0]
    urgent_province = con.execute(share.format("")).fetchone()[0]
    con.close()
    points = (urgent_district - urgent_province) * 100
    deltas = {m.label: m.delta for m in _open("pages/1_district.py", district="330106").metric if m.delta}
    assert deltas["紧急占比"] == f"{points:+.1f} 个百分点 对比全省"
    assert deltas["首次响应中位时长"].endswith(" 小时 对比全省")
    english = {m.label: m.delta for m in _open("pages/1_district.py", district="330106", lang="en").metric if m.delta}
    assert english["Share urgent"] == f"{points:+.1f} pp vs province"


def test_breadcrumb_goes_back_up_to_the_city(small_db):
    app = _open("pages/1_district.py", district="330127")
    assert app.title[0].value.startswith("淳安县")
    app.button(key="crumb_city").click().run()
    assert app.title[0].value.startswith("杭州市")
    assert app.query_params.get("city") == "330100" and "district" not in app.query_params


def test_public_mode_hides_record_tables(small_db):
    app = _open("pages/1_district.py", district="330106", present="1")
    assert "公开模式下不显示单条记录。" in [i.value for i in app.info]
    assert all("诉求内容" not in frame.value.columns for frame in app.dataframe)


def test_priorities_rank_needs_and_keep_ranking_and_weights_in_the_url(small_db):
    # One water need in 西湖区: R1–R3 and XSS-1 (a day or two apart, same spot), three requesters
    # (h1 twice, h2, and XSS-1 without a phone); only h1's records are still open.
    app = _open("pages/2_priorities.py")
    assert not app.exception
    assert "当前视图中没有至少 2 位独立诉求人的需求。" in [i.value for i in app.info]  # open: one requester left
    app = _open("pages/2_priorities.py", ranking="structural")
    ranked = app.dataframe[0].value
    assert list(ranked["排名"]) == [1]
    assert ranked["需求"][0] == "西湖区 · 供水 · 停水 · 2025年6月1日–6月5日 · 3 人反映"
    people = min(max(int(np.median([200, 1, 1])), 3), 30)  # median of each requester's largest claim, 3 ≤ · ≤ 30
    assert (ranked["记录数"][0], ranked["独立诉求人"][0], ranked["影响人数（采用）"][0]) == (4, 3, people)
    expected = (1 + np.log2(3)) * (1 + np.log10(people)) * 1.0
    assert ranked["得分"][0] == pytest.approx(round(expected, 2))
    for name in ("reach", "people", "recurrence"):
        app.select_slider(key=f"needs_w_{name}@zh").set_value(0.0).run()
    assert list(app.dataframe[0].value["得分"]) == [1.0]
    assert app.query_params["ranking"] == "structural" and app.query_params["w_reach"] == "0.0"
    reopened = _open("pages/2_priorities.py", ranking="structural", w_reach="2.0")
    assert reopened.select_slider(key="needs_w_reach@zh").value == 2.0
    assert reopened.dataframe[0].value["得分"][0] == pytest.approx(round((1 + np.log2(3)) ** 2 * (1 + np.log10(people)), 2))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_without_an_exception(small_db, page):
    app = _open(page)
    assert not app.exception, [e.value for e in app.exception]
    assert app.title


def test_filter_with_no_matching_records_says_so(small_db):
    app = _open(cat="gas")
    assert not app.exception
    assert "当前筛选条件下没有记录。请放宽筛选条件。" in [i.value for i in app.info]


def test_loop_page_shows_time_limit_shares(small_db):
    app = _open("pages/4_loop.py")
    metrics = _metrics(app)
    # Over the two records with a response time (R3 2 h, R4 30 h); resolution over all six.
    assert metrics["24 小时内响应"] == "50.0%" and metrics["办结率"] == "50.0%"
    assert "基于 2 / 6 条有响应时间的记录" in [c.value for c in app.caption]


def test_data_page_shows_quality_counts(small_db):
    app = _open("pages/5_data.py")
    assert _metrics(app)["记录数"] == "6"
    imports, reasons, rejects = (frame.value for frame in app.dataframe[:3])
    assert list(imports.columns[:3]) == ["批次", "文件", "文件 SHA-256"]
    assert list(reasons.columns) == ["原因", "行数"] and list(rejects.columns) == ["批次", "行号", "原因", "原始行（已脱敏）"]


def test_gap_page_states_each_gap_in_one_column_with_its_interval(small_db):
    app = _open("pages/3_gap.py")
    table = app.dataframe[0].value
    assert list(table.columns) == ["指标", "城区", "县域", "差距 (95% 区间)", "依据（城区 / 县域）"]
    assert table.iloc[0, 3].startswith("县域 ÷ 城区 = ")
    assert table.iloc[1, 3].startswith("县域 − 城区 = ")


def test_priorities_flag_a_claim_of_a_million_and_keep_it_out_of_the_ranking(tmp_path, empty_db, monkeypatch):
    groups, loud = exaggeration_calls()
    import_calls(tmp_path, empty_db, [call for group in groups for call in group] + [loud])
    monkeypatch.setenv("NEEDSMAP_DB", str(empty_db))
    app = _open("pages/2_priorities.py")
    assert not app.exception
    ranked = app.dataframe[0].value
    assert list(ranked["排名"]) == list(range(1, 11))
    assert sorted(ranked["独立诉求人"]) == sorted(len(group) for group in groups)
    flagged = app.dataframe[1].value
    assert list(flagged["申报核减"]) == ["申报 1,000,000 人，按 10 人计"]
    assert flagged["需求"][0].endswith("2025年12月11日 · 1 人反映")


def test_data_page_offers_to_map_unmapped_categories_and_shows_import_warnings(tmp_path, monkeypatch):
    import pandas as pd

    from needsmap.ingest import import_file

    db = tmp_path / "data_page.duckdb"
    frame = pd.DataFrame({"工单编号": ["C1", "C2", "C3"], "受理时间": ["2025-08-01 08:00"] * 3,
                          "事项分类": ["城乡建设>其他事项", "城乡建设>其他事项", "停水"], "区县": ["西湖区"] * 3,
                          "办理状态": ["挂起", "已办结", "已办结"]})
    frame.to_csv(tmp_path / "export.csv", index=False)
    import_file(tmp_path / "export.csv", db)
    monkeypatch.setenv("NEEDSMAP_DB", str(db))

    app = _open("pages/5_data.py")

    assert not app.exception
    assert any("文件没有电话列" in warning.value for warning in app.warning)
    # (AppTest shows data editors as dataframes.)
    [unmapped] = [editor.value for editor in app.dataframe if "source_category" in editor.value.columns]
    assert unmapped[["source_category", "records"]].values.tolist() == [["城乡建设>其他事项", 2]]
    others = [frame.value for frame in app.dataframe if "值" in frame.value.columns]
    assert others and others[0][["字段", "值", "行数"]].values.tolist() == [["status", "挂起", 1]]


def _column_formats(frame_element) -> dict[str, str]:
    """Column header → the number format the grid writes it with (``st.column_config``)."""
    import json

    config = json.loads(frame_element.proto.columns or "{}")
    return {name.removeprefix("col:"): column.get("type_config", {}).get("format") for name, column in config.items()}


def test_counts_in_tables_are_written_with_thousands_separators(small_db):
    home = _open()
    formats = _column_formats(home.dataframe[0])
    assert formats["记录数"] == "%,d" and formats["独立诉求人数"] == "%,d"
    loop = _open("pages/4_loop.py")
    by_district = _column_formats(loop.dataframe[0])
    assert by_district["记录数"] == "%,d" and by_district["办结率"] == "%.1f%%"
    assert by_district["办结中位天数"] == "%.1f" and by_district["平均满意度"] == "%.2f"


def test_filters_offer_no_select_all_and_show_every_choice_ticked_as_all(small_db):
    app = _open()
    box = app.sidebar.multiselect(key="flt_urgency@zh")
    assert box.proto.placeholder == "全部"
    assert box.proto.select_all == 0  # Streamlit's English "Select all" entry is not offered
    box.set_value([1, 2, 3, 4]).run()
    assert app.sidebar.multiselect(key="flt_urgency@zh").value == []  # shown as 全部, not four chips
    assert "urg" not in app.query_params
    assert _metrics(app)["诉求总数"] == "6"


def test_import_with_no_file_says_to_choose_one(small_db):
    app = _open("pages/5_data.py")
    assert not app.warning or "请先选择要导入的文件。" not in [w.value for w in app.warning]
    next(b for b in app.button if b.label == "导入").click().run()  # the record upload, no file chosen
    assert "请先选择要导入的文件。" in [w.value for w in app.warning]
    assert _metrics(app)["记录数"] == "6"


def test_home_with_a_district_chosen_shows_it_in_place_against_the_province(small_db):
    # A click on the home map chooses the district on the home page itself (the filter in the URL).
    app = _open(district="330106")
    assert not app.exception
    assert app.title[0].value == "需求地图"
    metrics = _metrics(app)
    assert metrics["诉求总数"] == "4" and metrics["独立诉求人"] == "3"  # R1–R3 and XSS-1: h1, h2, and XSS-1 (no phone: its own requester)
    assert any("对比全省" in (m.delta or "") for m in app.metric)
    # The way up (province, city) and the place's own page.
    assert [b.label for b in app.button if b.key in ("home_up_province", "home_up_city")] == ["浙江省", "杭州市"]
    links = [p.value for p in app.main.page_link if p.proto.page == "district"]
    assert any("西湖区详情" in label for label in links)


def test_home_province_has_no_way_up_and_no_comparison(small_db):
    app = _open()
    assert not [b for b in app.button if b.key in ("home_up_province", "home_up_city")]
    assert [m.delta for m in app.metric if m.delta] == []


def test_home_way_up_goes_to_the_city_then_the_province(small_db):
    app = _open(district="330127")
    assert _metrics(app)["诉求总数"] == "2"
    app.button(key="home_up_city").click().run()
    assert app.query_params.get("city") == "330100" and "district" not in app.query_params
    assert _metrics(app)["诉求总数"] == "6"  # every record is in 杭州市
    assert app.sidebar.selectbox(key="flt_city@zh").value == "330100"
    app.button(key="home_up_province").click().run()
    assert "city" not in app.query_params and "district" not in app.query_params
    assert [b for b in app.button if b.key in ("home_up_province", "home_up_city")] == []


def test_the_filter_is_kept_when_moving_to_another_page(small_db):
    app = _open()
    app.sidebar.multiselect(key="flt_categories@zh").select("elderly_care").run()
    app.switch_page("pages/1_district.py").run()
    assert not app.exception
    assert app.sidebar.multiselect(key="flt_categories@zh").value == ["elderly_care"]
    assert _metrics(app)["诉求总数"] == "2"
    assert app.query_params["cat"] == "elderly_care"


def test_the_time_filter_is_a_range_of_months_in_the_page_language(small_db):
    # The records run from 1 June to 1 July 2025: two months.
    app = _open()
    months = app.sidebar.select_slider[0]
    assert months.options == ["2025年6月", "2025年7月"]
    months.set_range("2025-06-01", "2025-06-01").run()  # June only
    assert app.query_params["to"] == "2025-06-30" and "from" not in app.query_params
    assert _metrics(app)["诉求总数"] == "5"  # the record of 1 July is left out
    assert "2025年6月" in app.caption[0].value
    english = _open(lang="en")
    assert english.sidebar.select_slider[0].options == ["Jun 2025", "Jul 2025"]


def test_a_link_with_exact_days_keeps_them_until_the_months_are_moved(small_db):
    app = _open(**{"from": "2025-06-10"})
    assert app.query_params["from"] == "2025-06-10"
    assert list(app.sidebar.select_slider[0].value) == ["2025-06-01", "2025-07-01"]


def test_basemaps_are_offered_only_when_configured(small_db, monkeypatch):
    app = _open()
    assert [s.label for s in app.selectbox if s.label == "底图"] == []
    assert "未配置底图：地图只显示边界（设置 NEEDSMAP_TILES 可接入内网瓦片）。" in [c.value for c in app.caption]
    intranet = "http://tiles.intranet.local/{z}/{x}/{y}.png"
    monkeypatch.setenv("NEEDSMAP_TILES", intranet)
    configured = _open()
    basemap = next(s for s in configured.selectbox if s.label == "底图")
    assert basemap.options == ["无底图（仅边界）", "内网瓦片"] and basemap.value == intranet  # on by default


def test_priorities_chart_comes_on_demand_on_a_screen_and_unasked_on_a_projector(small_db):
    app = _open("pages/2_priorities.py", ranking="structural", min_req="1")
    assert not app.get("plotly_chart") and app.toggle(key="needs_score_chart").value is False
    app.toggle(key="needs_score_chart").set_value(True).run()
    [chart] = app.get("plotly_chart")
    assert "西湖区" in json.dumps(json.loads(chart.proto.spec), ensure_ascii=False)
    projector = _open("pages/2_priorities.py", ranking="structural", min_req="1", present="1")
    assert not [w for w in projector.toggle if w.key == "needs_score_chart"]  # the chart at once (test_present_pages)
