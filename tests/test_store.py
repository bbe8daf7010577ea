"""Writes are copy-and-swap transactions: all or nothing, readers never blocked."""

import os
import signal
import subprocess
import sys
import textwrap

import duckdb
import pytest

from needsmap import store
from needsmap.errors import DatabaseError


def _count(db) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*) FROM demands").fetchone()[0]


def test_new_database_holds_schema_boundaries_and_mapping(empty_db):
    with store.open_readonly(empty_db) as con:
        assert con.execute("SELECT count(*) FROM districts").fetchone()[0] == 90
        assert con.execute("SELECT count(*) FROM cities").fetchone()[0] == 11
        assert con.execute("SELECT sum(population_2020) FROM districts").fetchone()[0] == 64_567_588
        assert con.execute("SELECT category FROM category_mapping WHERE source_text = '自来水'").fetchone()[0] == "water"


def test_failed_write_leaves_database_byte_identical(make_db):
    db = make_db([{"record_id": "A"}])
    before = db.read_bytes()
    with pytest.raises(RuntimeError), store.writing(db) as con:
        con.execute("DELETE FROM demands")
        raise RuntimeError("boom")
    assert db.read_bytes() == before
    assert _count(db) == 1
    assert [p.name for p in db.parent.iterdir() if "writing" in p.name] == []


def test_successful_write_swaps_in_a_new_file_and_keeps_a_backup(make_db):
    db = make_db([{"record_id": "A"}])
    signature = store.data_signature(db)
    with store.writing(db) as con:
        con.execute("DELETE FROM demands")
    assert store.data_signature(db) != signature  # readers' caches see the new version
    assert _count(db) == 0
    assert _count(db.with_name(db.name + ".bak")) == 1


def test_reader_keeps_working_while_a_write_swaps_the_file(make_db):
    db = make_db([{"record_id": "A"}])
    reader = store.open_readonly(db)
    signature = store.data_signature(db)
    with store.writing(db) as con:
        con.execute("DELETE FROM demands")
    assert reader.execute("SELECT count(*) FROM demands").fetchone()[0] == 1  # still the old snapshot
    assert store.data_signature(db) != signature
    assert _count(db) == 0
    reader.close()


def test_killed_writer_leaves_the_old_database_whole(make_db, tmp_path):
    db = make_db([{"record_id": "A"}])
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from needsmap import store
        with store.writing(Path({str(db)!r})) as con:
            con.execute("DELETE FROM demands")
            print("inside", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.stdout.readline().strip() == "inside"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _count(db) == 1
    with store.writing(db) as con:  # the next writer is not blocked by the dead one's leftovers
        con.execute("DELETE FROM demands")
    assert _count(db) == 0


def test_missing_and_corrupt_files_give_a_clear_error(tmp_path):
    with pytest.raises(DatabaseError, match="not found"):
        store.open_readonly(tmp_path / "nope.duckdb")
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseError, match="cannot open"):
        store.open_readonly(corrupt)


def test_database_left_with_a_wal_after_a_crash_still_opens(make_db):
    db = make_db([{"record_id": "A"}])
    script = textwrap.dedent(f"""
        import os, duckdb
        con = duckdb.connect({str(db)!r})
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute("SET checkpoint_threshold = '1TB'")
        con.execute("DELETE FROM demands")
        os._exit(0)  # die without a checkpoint: the change lives only in the WAL
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    assert db.with_name(db.name + ".wal").exists()
    with store.open_readonly(db) as con:
        assert con.execute("SELECT count(*) FROM demands").fetchone()[0] == 0
    assert not db.with_name(db.name + ".wal").exists()
