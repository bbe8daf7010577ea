"""The DuckLake store against a real PostgreSQL catalog (``conftest.postgres``) and a data folder.

What an import does on a lake (one snapshot per file, re-exports update, several importers at
once), what readers see (a pinned snapshot; time travel), the store setting and its secrets
(never shown), and an import killed mid-way (all or nothing).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import both_stores, lake_data_path
from ingest_files import ZH_HEADERS, hotline_frame, query, write_csv
from needsmap import admin, lake, settings, store
from needsmap.__main__ import main as cli_main
from needsmap.errors import DatabaseError
from needsmap.ingest import import_file

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def lake_db(lakes, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new, empty lake (nothing in its catalog yet); the test's NEEDSMAP_DATA_PATH is its data folder."""
    location = lakes.new()
    monkeypatch.setenv("NEEDSMAP_DATA_PATH", str(lakes.data_path(location)))
    return location


def counts(db: Path) -> tuple[int, int, int]:
    return query(db, "SELECT (SELECT count(*) FROM demands), (SELECT count(*) FROM rejects), (SELECT count(*) FROM imports)")[0]


def test_each_import_is_one_snapshot_and_the_records_are_parquet_files_by_month_and_city(lake_db, tmp_path, lakes):
    frame = hotline_frame(300, seed=3)
    first = import_file(write_csv(tmp_path / "a.csv", frame), lake_db)
    snapshot_after_first = store.data_signature(lake_db)[1]
    again = import_file(write_csv(tmp_path / "b.csv", frame), lake_db)

    assert (first.accepted, first.rejected, again.accepted, again.skipped_existing) == (300, 0, 0, 300)
    assert store.data_signature(lake_db)[1] == snapshot_after_first + 1  # one snapshot per file
    assert counts(lake_db) == (300, 0, 2)
    created = pd.to_datetime(frame[ZH_HEADERS["created_at"]])
    assert query(lake_db, "SELECT count(DISTINCT date_trunc('month', created_at)) FROM demands") == [
        (created.dt.to_period("M").nunique(),)]
    # The demand files sit in one folder per year, month and city (what lets a city or month filter prune).
    files = list((lakes.data_path(lake_db) / "main" / "demands").rglob("*.parquet"))
    assert files and all(f.parent.name.startswith("city_adcode=33") and f.parent.parent.name.startswith("month=")
                         for f in files)
    # Nothing but Parquet files and the key beside them: no copy of a database anywhere.
    assert not list(lakes.data_path(lake_db).rglob("*.duckdb*"))


def test_a_newer_export_updates_records_on_the_lake(lake_db, tmp_path):
    frame = hotline_frame(50, seed=5)
    frame[ZH_HEADERS["status"]] = "已受理"
    import_file(write_csv(tmp_path / "monday.csv", frame), lake_db)
    later = frame.copy()
    later.loc[:9, ZH_HEADERS["status"]] = "已办结"
    later.loc[:9, "办结时间"] = "2025-12-20 10:00:00"
    report = import_file(write_csv(tmp_path / "friday.csv", later), lake_db)

    assert (report.accepted, report.updated, report.skipped_existing) == (0, 10, 40)
    assert query(lake_db, "SELECT status, count(*) FROM demands GROUP BY 1 ORDER BY 1") == [("received", 40), ("resolved", 10)]
    assert query(lake_db, "SELECT count(*), min(status_from), min(status_to) FROM status_history") == [(10, "received", "resolved")]


def test_a_reader_stays_on_its_snapshot_and_time_travel_reads_an_earlier_one(lake_db, tmp_path):
    import_file(write_csv(tmp_path / "a.csv", hotline_frame(40, seed=1, id_prefix="A")), lake_db)
    first = store.data_signature(lake_db)
    reader = store.open_readonly(lake_db)
    import_file(write_csv(tmp_path / "b.csv", hotline_frame(25, seed=2, id_prefix="B")), lake_db)
    try:
        assert reader.execute("SELECT count(*) FROM demands").fetchone()[0] == 40  # still its own snapshot
        assert store.snapshot_of(reader) == first[1]
    finally:
        reader.close()
    assert counts(lake_db)[0] == 65
    with store.open_readonly(lake_db, snapshot=first[1]) as old:
        assert old.execute("SELECT count(*), count(DISTINCT batch_id) FROM demands").fetchone() == (40, 1)
    with store.open_at(lake_db, store.data_signature(lake_db)) as new:
        assert new.execute("SELECT count(*) FROM demands").fetchone()[0] == 65
    with pytest.raises(DatabaseError, match="没有快照 999"):
        store.open_readonly(lake_db, snapshot=999)


def test_the_extension_files_signatures_are_checked_by_the_first_connection_of_a_process(lake_db, monkeypatch):
    store.create(lake_db)
    monkeypatch.setattr(lake, "_verified", set())
    unsigned = "SELECT current_setting('allow_unsigned_extensions')"
    with lake.connect(lake_db, read_only=True) as first, lake.connect(lake_db, read_only=True) as second:
        assert (first.execute(unsigned).fetchone()[0], second.execute(unsigned).fetchone()[0]) == (False, True)
    assert {Path(path).name for path, *_ in lake._verified} == {"postgres_scanner.duckdb_extension",
                                                              "ducklake.duckdb_extension"}


def test_a_duckdb_file_has_no_snapshots(empty_db):
    with pytest.raises(DatabaseError, match="--snapshot needs a lake store"):
        store.open_readonly(empty_db, snapshot=1)


def _cli_import(path: Path, db: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "needsmap", "import", str(path), "--db", str(db)],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO_ROOT)})


def test_importers_started_together_all_land_each_as_its_own_batch(lake_db, tmp_path):
    store.create(lake_db)
    sizes = {"X": 120, "Y": 80, "Z": 60}
    files = {prefix: write_csv(tmp_path / f"{prefix}.csv", hotline_frame(rows, seed=len(prefix) + rows, id_prefix=prefix))
             for prefix, rows in sizes.items()}
    processes = [_cli_import(path, lake_db) for path in files.values()]
    outputs = [process.communicate(timeout=600)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert counts(lake_db) == (260, 0, 3)
    by_batch = query(lake_db, "SELECT batch_id, left(min(record_id), 1), count(*) FROM demands GROUP BY 1 ORDER BY 1")
    assert [batch for batch, _, _ in by_batch] == [1, 2, 3]
    assert {prefix: n for _, prefix, n in by_batch} == sizes
    assert query(lake_db, "SELECT count(DISTINCT record_id) FROM demands") == [(260,)]


def _brief(db: Path, out: Path, *snapshot: str) -> str:
    assert cli_main(["brief", "--db", str(db), "--district", "330100", "--format", "html", "--out", str(out), *snapshot]) == 0
    return re.sub(r"生成于 \d{4}-\d\d-\d\d \d\d:\d\d", "生成于 …", out.read_text(encoding="utf-8"))


def test_a_briefing_names_its_snapshot_and_brief_snapshot_reproduces_it(lake_db, tmp_path):
    import_file(write_csv(tmp_path / "a.csv", hotline_frame(400, seed=21, id_prefix="A")), lake_db)
    first = store.data_signature(lake_db)[1]
    made_then = _brief(lake_db, tmp_path / "then.html")
    import_file(write_csv(tmp_path / "b.csv", hotline_frame(300, seed=22, id_prefix="B")), lake_db)

    again = _brief(lake_db, tmp_path / "again.html", "--snapshot", str(first))
    latest = _brief(lake_db, tmp_path / "latest.html")

    assert f"数据湖快照 {first}）" in made_then and f"数据湖快照 {first + 1}）" in latest
    assert again == made_then  # the same briefing, but for the time it was generated
    assert latest != made_then


def test_migrate_a_file_into_a_lake_and_back_keeps_every_row(small_db, lakes, tmp_path, monkeypatch):
    target = lakes.new()
    monkeypatch.setenv("NEEDSMAP_DATA_PATH", str(lakes.data_path(target)))
    tables = query(small_db, "SELECT table_name FROM duckdb_tables() ORDER BY 1")
    expected = {name: query(small_db, f'SELECT count(*) FROM "{name}"')[0][0] for (name,) in tables}

    assert cli_main(["store", "migrate", "--db", str(small_db), "--to", str(target)]) == 0
    assert {name: query(target, f'SELECT count(*) FROM "{name}"')[0][0] for name in expected} == expected
    back = tmp_path / "back.duckdb"
    assert store.migrate(target, back) == expected
    digest = "SELECT record_id, created_at, category, lon, lat, status, requester_key, city_adcode FROM demands ORDER BY ALL"
    assert query(back, digest) == query(small_db, digest) == query(target, digest)
    with pytest.raises(DatabaseError, match="已有数据"):
        store.migrate(small_db, target)


def test_maintain_merges_small_files_and_expires_old_snapshots(lake_db, tmp_path, lakes):
    for n in range(4):
        import_file(write_csv(tmp_path / f"{n}.csv", hotline_frame(200, seed=30 + n, id_prefix=f"M{n}")), lake_db)
    latest = store.data_signature(lake_db)[1]
    before = query(lake_db, "SELECT count(*), sum(hash(record_id)) FROM demands")

    assert cli_main(["store", "maintain", "--db", str(lake_db), "--keep-snapshots", "2"]) == 0

    assert query(lake_db, "SELECT count(*), sum(hash(record_id)) FROM demands") == before
    kept = [sid for sid, _, _ in lake.snapshots(store.open_readonly(lake_db))]
    assert len(kept) <= 4 and max(kept) >= latest  # the old ones are gone; maintenance commits its own
    with pytest.raises(DatabaseError):
        store.open_readonly(lake_db, snapshot=1)


@both_stores
def test_mapping_a_category_text_recategorises_records_on_either_store(new_store, tmp_path):
    db = new_store("mapped.duckdb")
    frame = hotline_frame(30, seed=41)
    frame.loc[:11, ZH_HEADERS["category"]] = "井盖松动异响"
    import_file(write_csv(tmp_path / "a.csv", frame), db)
    assert query(db, "SELECT count(*) FROM demands WHERE category = 'other' AND source_category = '井盖松动异响'") == [(12,)]

    assert admin.map_categories(db, {"井盖松动异响": "sewage"}) == 12
    assert admin.map_categories(db, {"井盖松动异响": "roads"}) == 0  # records no longer 'other' stay as mapped

    assert query(db, "SELECT category FROM category_mapping WHERE source_text = '井盖松动异响'") == [("roads",)]  # replaced
    assert query(db, "SELECT count(*) FROM demands WHERE category = 'sewage' AND source_category = '井盖松动异响'") == [(12,)]


# --- the store setting and its secrets -------------------------------------------------------------------------

SECRET = "pw-Zq81-never-show"


def test_the_store_setting_names_the_lake_and_its_password_is_never_shown(lake_db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEEDSMAP_STORE", str(lake_db))
    monkeypatch.setenv("NEEDSMAP_STORE_PASSWORD", SECRET)  # trust authentication here: accepted, unused
    assert settings.db_path() == lake_db
    assert cli_main(["import", str(write_csv(tmp_path / "a.csv", hotline_frame(10, seed=9)))]) == 0
    assert counts(lake_db)[0] == 10

    unreachable = str(lake_db).replace("host=127.0.0.1", f"password={SECRET} host=127.0.0.1").replace("port=", "port=1")
    monkeypatch.setenv("NEEDSMAP_STORE", unreachable)
    capsys.readouterr()
    assert cli_main(["import", str(tmp_path / "a.csv")]) == 2
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err
    assert printed.err.strip() == (f"错误 error: 无法打开数据湖 {lake.public_name(unreachable)} (cannot open the lake: IOException)")
    assert lake.public_name(unreachable) == str(lake_db).replace("port=", "port=1")
    with pytest.raises(DatabaseError) as raised:
        store.open_readonly(Path(unreachable))
    assert SECRET not in str(raised.value) and raised.value.__suppress_context__

    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60).run()
    assert not app.exception
    shown = " ".join(str(element.value) for kind in ("error", "markdown", "title", "caption", "warning", "info")
                     for element in getattr(app, kind))
    assert "cannot open the lake" in shown and SECRET not in shown


def test_secrets_toml_gives_the_lake_password(monkeypatch, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[needsmap]\nstore_password = "{SECRET}"\n', encoding="utf-8")
    monkeypatch.setattr(settings, "SECRETS_TOML", secrets)
    monkeypatch.delenv("NEEDSMAP_STORE_PASSWORD", raising=False)
    assert settings.get("store_password") == SECRET
    assert SECRET not in next(s.help for s in settings.SETTINGS if s.name == "store_password")


# --- many app servers ------------------------------------------------------------------------------------------

# One "app server": a process of its own (its own Streamlit caches and DuckDB) running the home page
# through AppTest, once at start and once more after the test says the import is done.
SERVER = """
import json, pathlib, sys, time
from streamlit.testing.v1 import AppTest
from tests.apptest_pages import metrics
app = AppTest.from_file("app.py", default_timeout=300).run()
print(json.dumps({"before": metrics(app)["诉求总数"], "errors": [str(e.value) for e in app.exception]}), flush=True)
go = pathlib.Path(sys.argv[1])
while not go.exists():
    time.sleep(0.2)
app.run()
print(json.dumps({"after": metrics(app)["诉求总数"], "errors": [str(e.value) for e in app.exception]}), flush=True)
"""


@pytest.mark.slow  # three processes each running the home page, and an import between their runs
def test_three_app_servers_on_one_lake_see_a_concurrent_import_after_their_next_run(lake_db, tmp_path, monkeypatch):
    import json

    import_file(write_csv(tmp_path / "first.csv", hotline_frame(300, seed=51, id_prefix="F")), lake_db)
    monkeypatch.setenv("NEEDSMAP_STORE", str(lake_db))
    go = tmp_path / "import-done"
    servers = [subprocess.Popen([sys.executable, "-c", SERVER, str(go)], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}) for _ in range(3)]
    importer = _cli_import(write_csv(tmp_path / "second.csv", hotline_frame(200, seed=52, id_prefix="G")), lake_db)
    output, _ = importer.communicate(timeout=600)
    assert importer.returncode == 0, output
    time.sleep(lake.LATEST_SNAPSHOT_SECONDS + 0.5)
    go.touch()
    reports = [server.communicate(timeout=600) for server in servers]

    runs = [[json.loads(line) for line in out.splitlines() if line.startswith("{")] for out, _ in reports]
    assert [server.returncode for server in servers] == [0, 0, 0], [err[-2000:] for _, err in reports]
    assert all(run[0]["before"] in ("300", "500") for run in runs), runs  # the import may land before a first run
    assert [run[1]["after"] for run in runs] == ["500", "500", "500"]
    assert [run[0]["errors"] + run[1]["errors"] for run in runs] == [[], [], []]


# --- crash safety ----------------------------------------------------------------------------------------------

CRASH_ROWS = 20_000


@pytest.mark.slow  # three imports of a 20,000-row file, each killed, and a complete one
@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.8])
def test_an_import_killed_on_the_lake_leaves_all_or_none(lakes, tmp_path, monkeypatch, fraction):
    base = lakes.new()
    with lake_data_path(lakes.data_path(base)):
        import_file(write_csv(tmp_path / "small.csv", hotline_frame(20, seed=1, id_prefix="S")), base)
    big = write_csv(tmp_path / "big.csv", hotline_frame(CRASH_ROWS, seed=11, id_prefix="K"))
    complete = lakes.copy(base)
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, "-m", "needsmap", "import", str(big), "--db", str(complete)],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    run_seconds = time.perf_counter() - started
    assert finished.returncode == 0, finished.stderr
    before, after = counts(base), counts(complete)
    assert after == (before[0] + CRASH_ROWS, 0, 2)

    db = lakes.copy(base)
    monkeypatch.setenv("NEEDSMAP_DATA_PATH", str(lakes.data_path(db)))
    process = _cli_import(big, db)
    time.sleep(fraction * run_seconds)
    process.send_signal(signal.SIGKILL)
    output, _ = process.communicate(timeout=60)
    assert "Traceback" not in output
    now = counts(db)
    assert now in (before, after), (fraction, now)
    # The killed writer's lock went with it: the next import runs and completes the batch.
    report = import_file(big, db)
    assert (report.accepted, report.skipped_existing) == ((0, CRASH_ROWS) if now == after else (CRASH_ROWS, 0))
    assert query(db, "SELECT count(DISTINCT record_id), count(*) FROM demands") == [(before[0] + CRASH_ROWS,) * 2]
