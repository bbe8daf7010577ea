"""Hostile input files, one table: what each does to the database, and nothing else.

Each case writes a real file and states the outcome: how many rows are accepted, which are
rejected and why (reason code → count; the stored sentence is checked too), how many are
skipped because the database already holds their record id — or that the whole file is
refused with one clear line (checked through the CLI: exit code 2, one line on stderr).

Every import runs against a copy of one base database (``BASE_ROWS`` records of batch 1,
ids ``BASE00000001``…). Afterwards the database must hold exactly what it held before plus the
new batch: every table's rows outside the new batch are unchanged (a digest of their
content), the new batch holds exactly the accepted and rejected rows, ``imports`` one row
agreeing with the report, and a new file is swapped in. A refused file leaves the
database file byte-identical.

Every case runs against both stores: a DuckDB file and a DuckLake (PostgreSQL catalog, Parquet
files); on a lake a refused file leaves no new snapshot and every table as it was.

The files themselves, and where their rows come from, are in ``hostile_files.py``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from hostile_files import BASE_ROWS, CASES, Case, base_frame
from ingest_files import file_digest, one_row, with_rows, write_csv
from tests.conftest import STORE_KINDS, lake_data_path
from needsmap import lake, store
from needsmap.__main__ import main as cli_main
from needsmap.ingest import import_file, reasons


# --- running a case --------------------------------------------------------------------------------------------

@pytest.fixture(scope="session", params=STORE_KINDS)
def base_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database (a DuckDB file, or a lake) holding batch 1: ``BASE_ROWS`` accepted records and one rejected row."""
    directory = tmp_path_factory.mktemp("hostile_base")
    frame = with_rows(base_frame(), one_row(base_frame(), record_id="BASE-REJECTED", created_at="?"))
    if request.param == "file":
        db = directory / "base.duckdb"
        report = import_file(write_csv(directory / "base.csv", frame), db)
    else:
        lakes = request.getfixturevalue("lakes")
        db = lakes.new()
        with lake_data_path(lakes.data_path(db)):
            report = import_file(write_csv(directory / "base.csv", frame), db)
    assert (report.accepted, report.rejected) == (BASE_ROWS, 1)
    return db


@pytest.fixture
def copy_of(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A function: a base database and a folder → a copy of it, with the same requester-hash key
    (a lake's copy: a new catalog and data folder, then the test's NEEDSMAP_DATA_PATH)."""

    def copy(db: Path, directory: Path) -> Path:
        if lake.is_lake(db):
            lakes = request.getfixturevalue("lakes")
            target = lakes.copy(db)
            monkeypatch.setenv("NEEDSMAP_DATA_PATH", str(lakes.data_path(target)))
            return target
        target = directory / "db" / db.name
        target.parent.mkdir()
        shutil.copyfile(db, target)
        shutil.copyfile(Path(str(db) + ".key"), Path(str(target) + ".key"))  # the same requester-hash key
        return target

    return copy


BATCH_TABLES = ("demands", "rejects", "imports", "import_findings")


def _open(db: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection: the file itself, or the lake through the store."""
    return store.open_readonly(db) if lake.is_lake(db) else duckdb.connect(str(db), read_only=True)


def content(db: Path, outside_batch: int | None = None) -> dict[str, tuple[int, str]]:
    """Every table's (row count, SHA-256 of its rows in a fixed order); rows of ``outside_batch``
    left out of the batch tables."""
    con = _open(db)
    try:
        tables = [name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database() ORDER BY 1").fetchall()]
        out = {}
        for table in tables:
            where = "TRUE"
            if table in BATCH_TABLES and outside_batch is not None:
                where = f"batch_id <> {int(outside_batch)}"
            rows_ = con.execute(f'SELECT * FROM "{table}" WHERE {where} ORDER BY ALL').fetchall()
            out[table] = (len(rows_), hashlib.sha256(repr(rows_).encode()).hexdigest())
        return out
    finally:
        con.close()


def fetch(db: Path, sql: str, params: list | None = None) -> object:
    with _open(db) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_file(case: Case, base_db: Path, copy_of, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = copy_of(base_db, tmp_path)
    path = case.write(tmp_path)
    before, signature = content(db), store.data_signature(db)

    if case.refused:
        digest = None if lake.is_lake(db) else file_digest(db)
        code = cli_main(["import", str(path), "--db", str(db)])
        error_lines = capsys.readouterr().err.strip().splitlines()
        assert code == 2
        assert len(error_lines) == 1 and case.refused in error_lines[0], error_lines
        if lake.is_lake(db):  # no new snapshot, and every table as it was
            assert (store.data_signature(db), content(db)) == (signature, before)
        else:
            assert file_digest(db) == digest
        return

    report = import_file(path, db)

    assert (report.accepted, report.reasons, report.skipped_existing) == (case.accepted, case.rejected, case.skipped)
    assert report.rows_read == case.accepted + sum(case.rejected.values()) + case.skipped
    new = report.batch_id
    assert new == 2
    # Everything the database held before is still there, unchanged …
    assert content(db, outside_batch=new) == before
    assert store.data_signature(db) != signature
    # … and the new batch is exactly the accepted and the rejected rows, and one imports row.
    assert fetch(db, "SELECT count(*) FROM demands WHERE batch_id = ?", [new]) == [(case.accepted,)]
    stored_reasons = [reason for (reason,) in fetch(db, "SELECT reason FROM rejects WHERE batch_id = ? ORDER BY row_number", [new])]
    assert sorted(re.sub(r"^第 \d+ 行：", "", reason) for reason in stored_reasons) == sorted(
        reasons.sentence(code) for code, count in case.rejected.items() for _ in range(count))
    assert fetch(db, "SELECT rows_read, accepted, rejected, skipped_existing FROM imports WHERE batch_id = ?", [new]) == [
        (report.rows_read, case.accepted, sum(case.rejected.values()), case.skipped)]
    for sql, expected in case.stored:
        assert fetch(db, sql, [new]) == expected, sql


def test_the_table_covers_every_outcome() -> None:
    assert len(CASES) >= 40 and len({case.id for case in CASES}) == len(CASES)
    assert {code for case in CASES for code in case.rejected} == set(reasons.REASONS)
    assert sum(case.refused is not None for case in CASES) >= 10 and sum(case.skipped > 0 for case in CASES) >= 1
