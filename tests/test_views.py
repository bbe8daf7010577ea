"""Saved views: a name for a page and its URL parameters, kept in ``<db>.views.json``."""

import json
import re
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from needsmap import i18n, navigation, views
from needsmap.filters import Filter

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_save_list_open_and_delete(tmp_path):
    db = tmp_path / "needs.duckdb"
    assert views.list_views(db) == []
    views.save_view(db, "杭州养老 7–9 月", "app.py", {"city": "330100", "cat": "elderly_care", "measure": "per_10k"})
    views.save_view(db, "淳安县", "pages/1_district.py", {"district": "330127", "city": "330100"})
    assert [v.name for v in views.list_views(db)] == ["杭州养老 7–9 月", "淳安县"]

    opened, chun_an = views.list_views(db)
    assert opened.page == "app.py"
    assert opened.params == {"city": "330100", "cat": "elderly_care", "measure": "per_10k"}
    assert Filter.from_query_params(opened.params) == Filter(city_adcode="330100", categories=("elderly_care",))
    assert opened.url("http://intranet:8501") == "http://intranet:8501/?city=330100&cat=elderly_care&measure=per_10k"
    assert chun_an.url() == "/district?district=330127&city=330100"

    assert views.delete_view(db, "淳安县") is True
    assert views.delete_view(db, "淳安县") is False
    assert [v.name for v in views.list_views(db)] == ["杭州养老 7–9 月"]


def test_saving_under_an_existing_name_replaces_the_view(tmp_path):
    db = tmp_path / "needs.duckdb"
    views.save_view(db, "周报", "app.py", {"cat": "water"})
    views.save_view(db, "周报", "pages/3_gap.py", {"cat": "roads"})
    [view] = views.list_views(db)
    assert (view.page, view.params) == ("pages/3_gap.py", {"cat": "roads"})


def test_unknown_parameters_are_not_stored(tmp_path):
    db = tmp_path / "needs.duckdb"
    view = views.save_view(db, "v", "app.py", {"city": "330100", "present": "1", "javascript": "alert(1)", "lang": "en"})
    assert view.params == {"city": "330100"}


@pytest.mark.parametrize("name", [
    "<script>alert(1)</script>",
    "![x](http://example.com/track.png) **粗体** :red[红] $x$",
    "'; DROP TABLE demands; --",
    "../../etc/passwd",
    "名称 with \"quotes\" & <b>tags</b>",
])
def test_hostile_names_are_kept_as_plain_text(tmp_path, name):
    db = tmp_path / "needs.duckdb"
    views.save_view(db, name, "app.py", {"cat": "water"})
    assert [v.name for v in views.list_views(db)] == [name]
    assert json.loads(views.views_path(db).read_text(encoding="utf-8"))["views"][0]["name"] == name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["needs.duckdb.views.json", "needs.duckdb.views.json.lock"]


def test_control_characters_and_runs_of_spaces_are_removed_from_names(tmp_path):
    view = views.save_view(tmp_path / "db", "a\x00b\u202e\n  c\t d", "app.py", {})
    assert view.name == "ab c d"


@pytest.mark.parametrize(("name", "message"), [
    ("", "a view needs a name"),
    (" \n\t ", "a view needs a name"),
    ("长" * 61, "at most 60 characters"),
])
def test_bad_names_are_refused_with_a_sentence(tmp_path, name, message):
    with pytest.raises(views.ViewsError, match=message):
        views.save_view(tmp_path / "db", name, "app.py", {})
    assert not views.views_path(tmp_path / "db").exists()


def test_an_unknown_page_is_refused(tmp_path):
    with pytest.raises(views.ViewsError, match=r"`page` was 'pages/9_admin.py' but is expected to be in"):
        views.save_view(tmp_path / "db", "x", "pages/9_admin.py", {})


def test_a_damaged_views_file_gives_a_clear_error_and_a_damaged_entry_costs_only_itself(tmp_path):
    db = tmp_path / "needs.duckdb"
    views.views_path(db).write_text("{not json", encoding="utf-8")
    with pytest.raises(views.ViewsError, match="saved views file unreadable"):
        views.list_views(db)
    views.views_path(db).write_text(json.dumps({"views": [
        {"name": "好", "page": "app.py", "params": {"cat": "water"}},
        {"name": "坏", "page": "/etc/passwd", "params": {}},
        "not a view",
    ]}), encoding="utf-8")
    assert [v.name for v in views.list_views(db)] == ["好"]


def _save_many(db: str, worker: int, count: int) -> None:
    for number in range(count):
        views.save_view(Path(db), f"w{worker}-{number}", "app.py", {"cat": "water"})


def test_concurrent_saves_from_several_processes_lose_no_view(tmp_path):
    db = tmp_path / "needs.duckdb"
    workers, per_worker = 4, 15
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(_save_many, str(db), w, per_worker) for w in range(workers)]:
            future.result()
    names = {v.name for v in views.list_views(db)}
    assert names == {f"w{w}-{n}" for w in range(workers) for n in range(per_worker)}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".needs.duckdb.views.json.")]  # no temp files left


def test_the_page_registry_names_every_page_file_by_the_path_streamlit_gives_it():
    scripts = {"app.py", *(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "pages").glob("*.py"))}
    assert {page.script for page in navigation.PAGES} == scripts
    # Streamlit's multipage URL: the file name without its leading number ("pages/1_district.py" → "/district").
    assert [page.url_path for page in navigation.PAGES] == ["", *(
        re.sub(r"^[0-9]+_", "", Path(page.script).stem) for page in navigation.PAGES[1:])]
    assert all(page.title_key in i18n.STRINGS and page.nav_key in i18n.STRINGS for page in navigation.PAGES)


def test_a_view_keeps_every_filter_parameter_and_the_page_widgets(tmp_path):
    every = Filter(date_from=date(2025, 7, 1), date_to=date(2025, 9, 30), categories=("water",), subcategories=("停水",),
                   urgency=(3, 4), statuses=("received",), channels=("hotline",), groups=("elderly",),
                   urban_rural=("rural",), city_adcode="330100", district_adcode="330127")
    params = every.to_query_params() | {"measure": "per_10k", "classes": "natural_breaks"}
    view = views.save_view(tmp_path / "needs.duckdb", "全部", "pages/3_gap.py", params)
    assert view.params == params and Filter.from_query_params(view.params) == every
    assert view.url().startswith("/gap?from=2025-07-01&to=2025-09-30&cat=water")


BROWSER_A, BROWSER_B = "browser-A-0123456789", "browser-B-9876543210"


def test_each_browser_lists_its_own_views_and_the_shared_ones_and_deletes_only_its_own(tmp_path):
    db = tmp_path / "needs.duckdb"
    views.save_view(db, "周报", "app.py", {"cat": "water"}, owner=BROWSER_A)
    views.save_view(db, "周报", "pages/3_gap.py", {"cat": "roads"}, owner=BROWSER_B)  # same name, B's own
    views.save_view(db, "全省", "app.py", {})  # shared (owner "")
    assert [(v.name, v.owner, v.params) for v in views.list_views(db, BROWSER_A)] == [
        ("周报", BROWSER_A, {"cat": "water"}), ("全省", "", {})]
    assert [(v.name, v.owner, v.params) for v in views.list_views(db, BROWSER_B)] == [
        ("周报", BROWSER_B, {"cat": "roads"}), ("全省", "", {})]
    assert views.delete_view(db, "周报", owner=BROWSER_B) is True
    assert views.delete_view(db, "全省", owner=BROWSER_B) is False  # a shared view is not B's
    assert [(v.name, v.owner) for v in views.list_views(db)] == [("周报", BROWSER_A), ("全省", "")]


def test_a_views_file_from_before_per_browser_views_reads_as_shared_views(tmp_path):
    db = tmp_path / "needs.duckdb"
    views.views_path(db).write_text(json.dumps({"version": 1, "views": [
        {"name": "淳安县", "page": "pages/1_district.py", "params": {"district": "330127"}, "saved_at": "2026-11-01T09:00:00"},
    ]}, ensure_ascii=False), encoding="utf-8")
    [old] = views.list_views(db, BROWSER_A)
    assert (old.name, old.owner, old.shared, old.url()) == ("淳安县", "", True, "/district?district=330127")
    views.save_view(db, "我的", "app.py", {}, owner=BROWSER_A)  # rewriting the file keeps the old view shared
    stored = json.loads(views.views_path(db).read_text(encoding="utf-8"))
    assert stored["version"] == 2
    assert [(v["name"], v["owner"]) for v in stored["views"]] == [("淳安县", ""), ("我的", BROWSER_A)]


@pytest.mark.parametrize("owner", ["short", "x" * 65, "a b c d e f g h i j", "abc;def=ghi\"jkl<mn", None])
def test_an_owner_that_is_not_a_random_browser_id_is_refused(tmp_path, owner):
    with pytest.raises(views.ViewsError, match="`owner` was"):
        views.save_view(tmp_path / "db", "x", "app.py", {}, owner=owner)
    views.views_path(tmp_path / "db").write_text(json.dumps({"views": [
        {"name": "x", "page": "app.py", "params": {}, "owner": owner}]}), encoding="utf-8")
    assert views.list_views(tmp_path / "db") == []  # a stored entry with such an owner is dropped, not shared
