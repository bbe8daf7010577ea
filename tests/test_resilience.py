"""When the files the app depends on are missing or broken, every page says so — no traceback.

Page logic through ``AppTest``: a database named by NEEDSMAP_DB that does not exist, a database
file of random bytes, a DuckDB file of another application, an unreadable boundary file
(NEEDSMAP_BOUNDARIES pointing at a corrupt copy), an empty database, and a filter that matches
nothing.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from needsmap import boundaries, settings, store
from needsmap.errors import BoundaryError
from tests.ingest_files import hotline_frame, write_csv
from tests.apptest_pages import PAGES
from tests.apptest_pages import open_page as _open
from tests.records import RECORDS

REPO_ROOT = Path(__file__).resolve().parents[1]

ALL_PAGES = (None, *PAGES)
FILTERED_PAGES = tuple(page for page in ALL_PAGES if page != "pages/5_data.py")  # the data page does not follow the filters
NO_DATA = "当前筛选条件下没有记录。请放宽筛选条件。"


def _no_exception(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


@pytest.fixture
def small_db(make_db, monkeypatch) -> Path:
    db = make_db(RECORDS)
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    return db


@pytest.fixture
def corrupt_boundaries(tmp_path: Path) -> Path:
    """A copy of the bundled boundary file with its middle overwritten by random bytes.

    Tests point NEEDSMAP_BOUNDARIES at it themselves, after building what needs the real file.
    """
    text = settings.DISTRICTS_GEOJSON.read_bytes()
    broken = tmp_path / "zhejiang_districts.geojson"
    middle = len(text) // 2
    broken.write_bytes(text[:middle] + np.random.default_rng(5).bytes(4096) + text[middle + 4096:])
    return broken


# --- The database ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ALL_PAGES)
def test_missing_database_at_a_configured_path_is_reported_and_not_created(tmp_path, monkeypatch, page):
    db = tmp_path / "nowhere" / "needsmap.duckdb"
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    app = _open(page)
    _no_exception(app)
    assert [e.value for e in app.error] == [f"数据暂时无法读取：找不到数据库文件 {db} (database file not found)"]
    assert not app.metric and not app.dataframe
    assert not db.exists()  # no demo data quietly put where the configured database should be


@pytest.mark.parametrize("page", ALL_PAGES)
def test_corrupt_database_file_is_reported(tmp_path, monkeypatch, page):
    db = tmp_path / "corrupt.duckdb"
    db.write_bytes(np.random.default_rng(1).bytes(300_000))
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    app = _open(page)
    _no_exception(app)
    assert [e.value for e in app.error] == [
        f"数据暂时无法读取：数据库文件无法打开或已损坏: {db} (cannot open database: IOException)"]
    assert not app.metric and not app.dataframe


def test_corrupt_database_is_reported_in_english_too(tmp_path, monkeypatch):
    db = tmp_path / "corrupt.duckdb"
    db.write_bytes(np.random.default_rng(2).bytes(300_000))
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    app = _open(lang="en")
    _no_exception(app)
    assert app.error[0].value.startswith("Data cannot be read right now: ")
    assert "(cannot open database: IOException)" in app.error[0].value


def test_duckdb_file_of_another_application_is_reported(tmp_path, monkeypatch):
    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE orders (id INTEGER)")
    con.close()
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    app = _open()
    _no_exception(app)
    assert [e.value for e in app.error] == [
        f"数据暂时无法读取：数据库文件无法打开或已损坏: {db} (cannot open database: CatalogException)"]


@pytest.mark.parametrize("page", FILTERED_PAGES)
def test_empty_database_says_there_is_no_data(tmp_path, monkeypatch, page):
    # Found by this test: the sidebar's date widget crashed on a database without records.
    db = tmp_path / "empty.duckdb"
    store.create(db)
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    app = _open(page)
    _no_exception(app)
    assert NO_DATA in [i.value for i in app.info]


def test_empty_database_data_page_shows_zero_records(tmp_path, monkeypatch):
    db = tmp_path / "empty.duckdb"
    store.create(db)
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    app = _open("pages/5_data.py")
    _no_exception(app)
    assert {m.label: m.value for m in app.metric}["记录数"] == "0"


# --- The boundary file -------------------------------------------------------------------------


@pytest.mark.parametrize("page", ALL_PAGES)
def test_unreadable_boundary_file_warns_and_the_page_still_draws(small_db, corrupt_boundaries, monkeypatch, page):
    monkeypatch.setenv("NEEDSMAP_BOUNDARIES", str(corrupt_boundaries))
    app = _open(page)
    _no_exception(app)
    assert [w.value for w in app.warning] == [
        f"区划边界文件无法读取: {corrupt_boundaries} (boundary file cannot be read: DataSourceError)。"
        "在地图上点选区县和导入数据暂不可用。"]
    assert app.title  # the maps and tables draw from the database, which holds its own copy
    if page is None:
        assert {m.label: m.value for m in app.metric}["诉求总数"] == "5"


def test_missing_boundary_file_raises_a_sentence(tmp_path):
    missing = tmp_path / "none.geojson"
    with pytest.raises(BoundaryError, match=r"^区划边界文件无法读取: .*none\.geojson \(boundary file cannot be read: DataSourceError\)$"):
        boundaries.load_districts(missing)


def test_boundary_file_without_district_properties_raises_a_sentence(tmp_path):
    foreign = tmp_path / "points.geojson"
    foreign.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"adcode": "1"}, '
                       '"geometry": {"type": "Point", "coordinates": [120, 30]}}]}', encoding="utf-8")
    with pytest.raises(BoundaryError, match=r"缺少字段 name, city, city_adcode, kind, urban_rural, population_2020"):
        boundaries.load_districts(foreign)


def test_new_database_with_unreadable_boundaries_is_not_created(tmp_path, corrupt_boundaries, monkeypatch):
    monkeypatch.setenv("NEEDSMAP_BOUNDARIES", str(corrupt_boundaries))
    db = tmp_path / "new.duckdb"
    with pytest.raises(BoundaryError, match=r"\(boundary file cannot be read: UnicodeDecodeError\)$"):
        store.create(db)
    assert not db.exists()


def test_import_with_unreadable_boundaries_fails_with_one_line_and_changes_nothing(small_db, corrupt_boundaries, tmp_path):
    before = small_db.read_bytes()
    csv = write_csv(tmp_path / "hotline.csv", hotline_frame(20, seed=3))
    env = {"PATH": "/usr/bin:/bin", "NEEDSMAP_BOUNDARIES": str(corrupt_boundaries), "NEEDSMAP_HASH_KEY": "test"}
    done = subprocess.run([sys.executable, "-m", "needsmap", "import", str(csv), "--db", str(small_db)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    assert f"区划边界文件无法读取: {corrupt_boundaries} (boundary file cannot be read: DataSourceError)" in done.stderr + done.stdout
    assert small_db.read_bytes() == before


# --- Filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", FILTERED_PAGES)
@pytest.mark.parametrize("params", [{"cat": "gas"}, {"district": "330106", "cat": "elderly_care"},
                                    {"from": "2025-06-10", "to": "2025-06-11"}], ids=["category", "district", "dates"])
def test_filter_with_an_empty_result_says_so(small_db, page, params):
    app = _open(page, **params)
    _no_exception(app)
    assert NO_DATA in [i.value for i in app.info]


def test_sessions_opened_together_on_a_fresh_install_build_the_demo_once(tmp_path, monkeypatch):
    # The first start builds the bundled demo; tabs opened at the same moment must wait for
    # that one build rather than each build (and swap in) a database of their own.
    import threading

    from needsmap import demo
    from needsmap.ui import first_start

    db = tmp_path / "needsmap.duckdb"
    monkeypatch.setenv("NEEDSMAP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("NEEDSMAP_DB", raising=False)
    builds: list[Path] = []

    def build(path, records, seed, echo=None):
        builds.append(Path(path))
        time.sleep(0.5)  # long enough for every other session to arrive meanwhile
        Path(path).write_bytes(b"built")

    monkeypatch.setattr(demo, "build_demo_database", build)
    start = threading.Barrier(4)

    def open_session() -> None:
        start.wait()
        first_start.build_demo_if_missing()

    sessions = [threading.Thread(target=open_session) for _ in range(4)]
    for session in sessions:
        session.start()
    for session in sessions:
        session.join()
    assert builds == [db]
    assert db.read_bytes() == b"built"
