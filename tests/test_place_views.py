"""The needs map follows the place: what a page shows for a chosen city (AppTest; the map itself in tests/e2e)."""

from __future__ import annotations

import duckdb
import pytest

from needsmap import demo, settings
from tests.apptest_pages import open_page


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("place") / "demo.duckdb"
    demo.build_demo_database(db, records=4_000, seed=11)
    return db


def test_home_ranking_lists_only_the_chosen_citys_districts(demo_db, monkeypatch):
    monkeypatch.setenv("NEEDSMAP_DB", str(demo_db))
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        # Independently: the districts of 杭州市 (330100) with enough records to be ranked.
        expected = {name for (name,) in con.execute(
            """
            SELECT d.name FROM districts d JOIN demands r ON r.district_adcode = d.adcode
            WHERE d.city_adcode = '330100' GROUP BY d.name HAVING count(*) >= ?
            """, [settings.get("min_records_to_rank")]).fetchall()}
    finally:
        con.close()
    assert expected, "the demo should rank some of Hangzhou's districts"

    app = open_page(city="330100")
    assert not app.exception
    ranking = app.dataframe[0].value
    assert set(ranking.iloc[:, 0]) == expected
    assert set(ranking.iloc[:, 1]) == {"杭州市"}


def test_home_ranking_without_a_place_covers_the_province(demo_db, monkeypatch):
    monkeypatch.setenv("NEEDSMAP_DB", str(demo_db))
    app = open_page()
    assert not app.exception
    assert len(set(app.dataframe[0].value.iloc[:, 1])) > 5  # districts of many cities


def test_every_page_made_from_demo_data_says_so(demo_db, monkeypatch):
    monkeypatch.setenv("NEEDSMAP_DB", str(demo_db))
    for page in (None, "pages/1_district.py"):
        app = open_page(page) if page else open_page()
        assert not app.exception
        assert any("演示数据" in m.value for m in app.markdown), page
    public = open_page(present="1")
    assert any("演示数据" in m.value for m in public.markdown)


def test_imported_data_carries_no_demo_badge(small_db):
    app = open_page()
    assert not app.exception
    assert not any("演示数据" in m.value for m in app.markdown)


def test_home_map_by_summed_priority_opens_from_the_link(small_db):
    # The measure comes from the link; the map's summed priority is built from the view's needs.
    app = open_page(measure="priority_sum")
    assert not app.exception
    assert app.session_state["home_measure"] == "priority_sum"
    assert any("优先级总分" in caption.value for caption in app.caption)
