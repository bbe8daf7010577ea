"""Page logic without a browser (streamlit.testing.v1.AppTest); the map itself is in tests/e2e."""


import pytest

from tests.apptest_pages import PAGES
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
    records = app.dataframe[-1].value
    assert "<img src=x onerror=alert(1)>" in set(records["诉求内容"])  # shown as text in a table cell
    assert not {"requester_hash"} & set(records.columns)


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


def test_priorities_rank_and_reweight(small_db):
    app = _open("pages/2_priorities.py")
    ranked = app.dataframe[0].value
    assert list(ranked["区县"][:2]) == ["西湖区", "淳安县"]
    app.slider(key="w_urgency").set_value(0.0).run()
    app.slider(key="w_age").set_value(0.0).run()
    app.slider(key="w_frequency").set_value(0.0).run()
    app.slider(key="w_people").set_value(0.0).run()
    assert set(app.dataframe[0].value["得分"]) == {1.0}


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
