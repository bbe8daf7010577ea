"""Presentation mode, saved views and the export panel in the pages (AppTest, no browser).

The database is ``tests/test_pages.py``'s: 6 records, 4 in 西湖区 and 2 in 淳安县 (both in
杭州市), June 2025 up to 1 July; k (NEEDSMAP_K_ANONYMITY) is the default 5.
"""

import json

import pytest

from needsmap import exports, views
from tests.apptest_pages import as_browser
from tests.apptest_pages import metrics as _metrics
from tests.apptest_pages import open_page as _open
from tests.apptest_pages import PAGES

RECORD_COLUMNS = {"诉求内容", "工单编号", "地址", "来电号码(脱敏)"}


def _download_labels(app) -> dict[str, bool]:
    """label → disabled, of every download button on the page."""
    return {element.proto.label: element.proto.disabled for element in app.get("download_button")}


def test_presentation_mode_from_the_url_states_the_filters_and_draws_no_table(small_db):
    app = _open(present="1", city="330100", cat="elderly_care", **{"from": "2025-06-01", "to": "2025-06-30"})
    assert not app.exception
    assert app.title[0].value == "杭州市 · 2025年6月 · 养老服务"
    assert "少于 5 条记录或 5 位诉求人的区县与分组显示为“记录过少”" in app.caption[0].value
    assert len(app.dataframe) == 0
    metrics = _metrics(app)
    assert metrics["诉求总数"] == "<5" and metrics["紧急占比"] == "–"  # one record (R4): nothing to publish
    assert app.button(key="present_exit").label == "退出演示模式"


@pytest.mark.parametrize("page", (None, *(page for page in PAGES if page != "pages/5_data.py")))
def test_presentation_mode_titles_every_page_and_shows_no_record_table(small_db, page):
    app = _open(page, present="1")
    assert not app.exception, [e.value for e in app.exception]
    assert app.title[0].value == "浙江省 · 2025年6月1日–7月1日"
    assert all(not RECORD_COLUMNS & set(frame.value.columns) for frame in app.dataframe)
    if page in (None, "pages/1_district.py"):
        assert len(app.dataframe) == 0  # the map pages show charts, not tables


def test_district_in_presentation_mode_suppresses_small_numbers(small_db):
    app = _open("pages/1_district.py", district="330106", present="1")
    assert app.title[0].value.startswith("西湖区 · ")
    metrics = _metrics(app)
    assert metrics["诉求总数"] == "<5" and metrics["未办结"] == "<5" and metrics["平均满意度"] == "–"
    assert len(app.dataframe) == 0
    assert "公开模式下不显示单条记录。" in [i.value for i in app.info]


def test_the_switch_turns_presentation_on_and_the_exit_button_off(small_db):
    app = _open(cat="water")
    assert len(app.dataframe) == 1 and app.title[0].value == "需求地图"
    app.sidebar.toggle(key="present_switch").set_value(True).run()
    assert app.query_params["present"] in ("1", ["1"])
    assert app.title[0].value == "浙江省 · 2025年6月1日–7月1日 · 供水" and len(app.dataframe) == 0
    app.button(key="present_exit").click().run()
    assert "present" not in app.query_params
    assert app.title[0].value == "需求地图" and len(app.dataframe) == 1
    assert app.sidebar.toggle(key="present_switch").value is False


def test_a_saved_view_is_listed_with_its_link_and_opens_its_page(small_db, monkeypatch):
    as_browser(monkeypatch, "browser-A-0123456789")  # both sessions below are the same browser
    app = _open("pages/1_district.py", district="330127", cat="elderly_care")
    app.sidebar.text_input(key="view_name").input("淳安 <b>养老</b> [x](http://e.x)")
    next(b for b in app.sidebar.button if b.label == "保存当前视图").click().run()
    assert not app.exception
    saved = json.loads(views.views_path(small_db).read_text(encoding="utf-8"))["views"]
    assert [(v["name"], v["page"], v["params"], v["owner"]) for v in saved] == [
        ("淳安 <b>养老</b> [x](http://e.x)", "pages/1_district.py",
         {"cat": "elderly_care", "city": "330100", "district": "330127"}, "browser-A-0123456789")]
    # The name goes into the message with its markup escaped, and the select box holds it as text.
    assert app.sidebar.success[0].value == r"已保存视图：淳安 \<b\>养老\</b\> \[x\]\(http\://e\.x\)"
    assert app.sidebar.selectbox(key="view_choice").value == ("browser-A-0123456789", "淳安 <b>养老</b> [x](http://e.x)")
    assert app.sidebar.selectbox(key="view_choice").options == ["淳安 <b>养老</b> [x](http://e.x)"]
    assert app.sidebar.code[0].value == "/district?cat=elderly_care&city=330100&district=330127"

    home = _open()
    home.sidebar.button(key="view_open").click().run()
    assert not home.exception
    assert home.title[0].value.startswith("淳安县")
    assert _metrics(home)["诉求总数"] == "2"

    # Deleting asks first; 取消 keeps the view, 确认删除 deletes it.
    home.sidebar.button(key="view_delete").click().run()
    assert len(views.list_views(small_db)) == 1
    assert home.sidebar.warning[0].value.startswith("确定删除视图“淳安 \\<b\\>养老")
    home.sidebar.button(key="view_delete_no").click().run()
    assert len(views.list_views(small_db)) == 1 and not home.sidebar.warning
    home.sidebar.button(key="view_delete").click().run()
    home.sidebar.button(key="view_delete_yes").click().run()
    assert views.list_views(small_db) == []


def test_a_saved_view_keeps_the_ranking_and_its_weights(small_db, monkeypatch):
    as_browser(monkeypatch, "browser-A-0123456789")
    app = _open("pages/2_priorities.py", ranking="structural")
    app.select_slider(key="needs_w_reach@zh").set_value(2.0).run()
    app.select_slider(key="needs_w_recurrence@zh").set_value(0.5).run()
    app.sidebar.text_input(key="view_name").input("规划视角")
    next(b for b in app.sidebar.button if b.label == "保存当前视图").click().run()
    saved = json.loads(views.views_path(small_db).read_text(encoding="utf-8"))["views"]
    assert [(v["page"], v["params"]) for v in saved] == [
        ("pages/2_priorities.py", {"ranking": "structural", "w_reach": "2.0", "w_recurrence": "0.5"})]

    home = _open()
    home.sidebar.button(key="view_open").click().run()
    assert not home.exception
    assert home.radio(key="needs_ranking@zh").value == "structural"
    assert home.select_slider(key="needs_w_reach@zh").value == 2.0
    assert home.select_slider(key="needs_w_recurrence@zh").value == 0.5


def test_the_map_measure_is_part_of_the_url(small_db):
    app = _open(measure="per_10k")
    assert app.selectbox(key="home_measure@zh").value == "per_10k"
    app.selectbox(key="home_measure@zh").set_value("unresolved").run()
    assert app.query_params["measure"] in ("unresolved", ["unresolved"])


def test_export_panels_offer_every_file(small_db):
    home = _open(city="330100")
    assert _download_labels(home) == {
        "地图图片 PNG": False, "离线地图 HTML": False, "类别图表 PNG": False, "数据 CSV": False, "数据 Excel": False,
        "简报 PDF": False, "简报 PPT": False}
    province = _open()
    assert "简报 PDF" not in _download_labels(province)  # a briefing needs a district or a city
    district = _open("pages/1_district.py", district="330106")
    assert set(_download_labels(district)) == set(_download_labels(home))


def test_without_a_cjk_font_the_page_says_so_and_offers_only_what_needs_none(small_db, monkeypatch, tmp_path):
    monkeypatch.setenv("NEEDSMAP_CJK_FONT", str(tmp_path / "missing.ttc"))
    exports.cjk_font.cache_clear()
    try:
        app = _open(city="330100")
        assert not app.exception
        assert any("install fonts-noto-cjk" in w.value for w in app.warning)
        labels = _download_labels(app)
        assert labels["地图图片 PNG"] and labels["简报 PDF"] and labels["类别图表 PNG"]  # disabled
        assert not labels["离线地图 HTML"] and not labels["数据 Excel"]
    finally:
        monkeypatch.undo()
        exports.cjk_font.cache_clear()


# --- Public mode: a group too small to show never reaches the screen, on any page ------------
# Five open water records in 西湖区 (urban) from five people, rated 3; one elderly-care record in
# 淳安县 (rural), rated 5 by its one requester. k = 5: the 淳安县 group is too small to show.
_BIG = [dict(record_id=f"W{i}", created_at=f"2025-06-0{i} 09:00", status="dispatched", requester_hash=f"h{i}",
             responded_at=f"2025-06-0{i} 10:00", satisfaction=3) for i in range(1, 6)]
_SMALL = dict(record_id="E1", created_at="2025-06-09 09:00", category="elderly_care", subcategory="助餐", district_adcode="330127",
              urban_rural="rural", status="in_progress", requester_hash="h9", urgency=4,
              responded_at="2025-06-09 10:00", satisfaction=5)


@pytest.fixture
def one_small_group(make_db, monkeypatch):
    db = make_db([*_BIG, _SMALL], name="public.duckdb")
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    monkeypatch.setenv("NEEDSMAP_MIN_RECORDS_TO_RANK", "1")  # both districts rankable: only k keeps 淳安县 out
    return db


def _charts(app) -> str:
    """The plotly figures of the page, as their JSON text (Chinese unescaped)."""
    return " ".join(json.dumps(json.loads(element.proto.spec), ensure_ascii=False) for element in app.get("plotly_chart"))


def _tables(app) -> list:
    return [frame.value for frame in app.dataframe]


def test_public_home_ranks_only_districts_big_enough_and_hides_a_small_selection(one_small_group):
    staff_view = _open(ur="rural")
    assert _metrics(staff_view)["诉求总数"] == "1" and _metrics(staff_view)["平均满意度"] == "5.00"
    home = _open(present="1")
    assert not home.exception
    assert "西湖区" in _charts(home) and "淳安县" not in _charts(home)
    rural = _open(ur="rural", present="1")
    assert _metrics(rural)["诉求总数"] == "<5" and _metrics(rural)["平均满意度"] == "–"


def test_public_district_page_shows_no_figure_of_a_small_district(one_small_group):
    staff_view = _open("pages/1_district.py", district="330127")
    assert "养老服务" in _charts(staff_view)
    app = _open("pages/1_district.py", district="330127", present="1")
    assert not app.exception
    metrics = _metrics(app)
    assert metrics["诉求总数"] == "<5" and metrics["平均满意度"] == "–" and metrics["紧急占比"] == "–"
    assert "养老服务" not in _charts(app)  # the one category bar is left out, merged or not
    assert "没有至少 5 位独立诉求人、5 条记录的需求。" in [i.value for i in app.info]
    big = _open("pages/1_district.py", district="330106", present="1")
    assert "1. 西湖区 · 供水 · 停水" in _charts(big)


def test_public_priorities_leave_out_a_small_need(one_small_group):
    # Listing single callers too: staff see both needs, the public only the one of five people.
    staff_view = _open("pages/2_priorities.py", min_req="1")
    assert [label.split(" · ")[0] for label in staff_view.dataframe[0].value["需求"]] == ["西湖区", "淳安县"]
    app = _open("pages/2_priorities.py", present="1", min_req="1")
    assert not app.exception
    ranked = app.dataframe[0].value
    assert list(ranked["排名"]) == [1] and ranked["需求"][0].startswith("西湖区 · 供水")
    assert "西湖区 · 供水" in _charts(app) and "淳安县" not in _charts(app)  # the chart shown unasked


def test_public_gap_page_shows_no_side_of_one_record(one_small_group):
    staff_view = _open("pages/3_gap.py")
    summary = staff_view.dataframe[0].value.set_index("指标")
    assert summary.loc["平均满意度（1–5）", "县域"] == "5.00"
    app = _open("pages/3_gap.py", present="1")
    assert not app.exception
    assert _tables(app) == [] and _charts(app) == ""
    assert "当前筛选条件下没有可公开显示的数据（少于 5 条记录或 5 位诉求人的分组不显示）。请放宽筛选条件。" in [i.value for i in app.info]


def test_public_loop_page_shows_no_figure_of_a_small_group(one_small_group):
    staff_view = _open("pages/4_loop.py", district="330127")
    assert _metrics(staff_view)["平均满意度"] == "5.00"
    small = _open("pages/4_loop.py", district="330127", present="1")
    assert not small.exception
    assert _metrics(small) == {} and _tables(small) == []
    assert "当前筛选条件下没有可公开显示的数据（少于 5 条记录或 5 位诉求人的分组不显示）。请放宽筛选条件。" in [i.value for i in small.info]
    province = _open("pages/4_loop.py", present="1")
    assert _metrics(province)["平均满意度"] == f"{(3 * 5 + 5) / 6:.2f}"  # six records: enough to show
    by_district, by_category = _tables(province)
    assert list(by_district["区县"]) == ["西湖区"] and list(by_category["类别"]) == ["供水"]


def test_public_district_page_says_in_one_line_what_it_cannot_show(small_db):
    # 西湖区 has 4 records in June 2025: every month and every map cell is under k = 5.
    app = _open("pages/1_district.py", district="330106", present="1")
    assert not app.exception
    infos = [i.value for i in app.info]
    assert "每个月的记录都少于 5 条，不显示月度趋势。" in infos
    assert "没有记录达到 5 条的网格，不显示点位地图。" in infos
    assert "没有格子通过检验：未发现统计显著的热点或冷点。" in infos
    assert "月度趋势" not in _charts(app)
    # Staff on the same district see the trend and the point map.
    staff_view = _open("pages/1_district.py", district="330106")
    assert "月度趋势" in _charts(staff_view)
    assert "每个月的记录都少于 5 条，不显示月度趋势。" not in [i.value for i in staff_view.info]


def _save_view(app, name: str) -> None:
    app.sidebar.text_input(key="view_name").input(name)
    next(b for b in app.sidebar.button if b.label == "保存当前视图").click().run()
    assert not app.exception


def _listed(app) -> list[str]:
    """The saved views' select box as the user reads it (empty when there is none to choose)."""
    boxes = [box for box in app.sidebar.selectbox if box.key == "view_choice"]
    return boxes[0].options if boxes else []


def _cookie_scripts(app) -> list[str]:
    return [element.proto.body for element in app.sidebar.get("html") if "document.cookie" in element.proto.body]


def test_a_browser_sees_and_deletes_only_its_own_views_beside_the_shared_ones(small_db, monkeypatch):
    views.save_view(small_db, "全省概况", "app.py", {})  # a view from before per-browser views: shared
    browser_a, browser_b = "browser-A-0123456789", "browser-B-9876543210"

    as_browser(monkeypatch, browser_a)
    a = _open("pages/1_district.py", district="330127")
    _save_view(a, "A 的淳安")
    assert _listed(a) == ["A 的淳安", "共享 · 全省概况"]
    assert not _cookie_scripts(a)  # the cookie is there: nothing to write

    as_browser(monkeypatch, browser_b)
    b = _open("pages/1_district.py", district="330127")
    assert _listed(b) == ["共享 · 全省概况"]
    # The shared view opens but offers no delete button, only a note.
    assert b.sidebar.selectbox(key="view_choice").value == ("", "全省概况")
    assert not [button for button in b.sidebar.button if button.key == "view_delete"]
    assert "共享视图：所有人可见，不能在此删除。" in [c.value for c in b.sidebar.caption]
    _save_view(b, "A 的淳安")  # the same name in B is B's own view, A's stays as it was
    assert _listed(b) == ["A 的淳安", "共享 · 全省概况"]
    b.sidebar.selectbox(key="view_choice").set_value((browser_b, "A 的淳安")).run()
    b.sidebar.button(key="view_delete").click().run()
    b.sidebar.button(key="view_delete_yes").click().run()
    assert _listed(b) == ["共享 · 全省概况"]

    stored = json.loads(views.views_path(small_db).read_text(encoding="utf-8"))["views"]
    assert [(v["name"], v["owner"]) for v in stored] == [("全省概况", ""), ("A 的淳安", browser_a)]
    as_browser(monkeypatch, browser_a)
    assert _listed(_open()) == ["A 的淳安", "共享 · 全省概况"]


def test_a_browser_without_the_cookie_sees_shared_views_and_is_given_a_random_id(small_db, monkeypatch):
    views.save_view(small_db, "A 的视图", "app.py", {}, owner="browser-A-0123456789")
    views.save_view(small_db, "全省概况", "app.py", {})
    as_browser(monkeypatch, None)
    app = _open()
    assert not app.exception
    assert _listed(app) == ["共享 · 全省概况"]
    [script] = _cookie_scripts(app)
    browser_id = app.session_state["browser_id"]
    assert views.is_owner_id(browser_id) and len(browser_id) == 22  # token_urlsafe(16): 16 random bytes
    assert f'document.cookie = "needsmap_browser={browser_id}; Max-Age=34560000; Path=/; SameSite=Lax"' in script
    _save_view(app, "新视图")  # saved under the new id before the cookie comes back
    assert _listed(app) == ["新视图", "共享 · 全省概况"]
    assert {v.name: v.owner for v in views.list_views(small_db)}["新视图"] == browser_id
    # The next visit sends the cookie: the same browser, the same views.
    as_browser(monkeypatch, browser_id)
    again = _open()
    assert _listed(again) == ["新视图", "共享 · 全省概况"] and not _cookie_scripts(again)
    assert app.session_state["browser_id"] != _open_fresh_id(monkeypatch)


def _open_fresh_id(monkeypatch) -> str:
    as_browser(monkeypatch, None)
    return _open().session_state["browser_id"]
