"""Writes are copy-and-swap transactions: all or nothing, readers never blocked."""

import base64
import gzip
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import duckdb
import pytest

from needsmap import store
from needsmap.errors import DatabaseError


def _count(db) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*) FROM demands").fetchone()[0]


def test_new_database_holds_schema_boundaries_and_mapping(tmp_path):
    store.create(tmp_path / "new.duckdb")  # not the empty_db fixture, which copies one made once
    with store.open_readonly(tmp_path / "new.duckdb") as con:
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


# An empty database written by duckdb==2.0.0 (``duckdb.connect(path).close()``), gzipped and
# base64-encoded: needsmap pinned DuckDB 2.0 before the DuckLake pin (1.5.5), whose reader refuses
# 2.0's storage version (999). A real file, since 2.0 itself is not installed beside 1.5.5.
DUCKDB_2_EMPTY_FILE = (
    "H4sICKI4DWsCA2UyMC5kdWNrZGIA7de9CoEBFAbgrxjMJsVkJ/m5Aiys3IC/kt0oGQwuwOgWvoxWgzsQd2Ahs4lBUoosyvA8"
    "y9vpnM7+xk+j9GafaFSa5fohEnxlmM/msrn3+06p2G61uoVO7/OfVJjv75bJyWC+XoyPlzAAAAAAfmJbq68ys/P0MV9fPC+j"
    "94jdoxro/wAAAKD/6/8AAADwL24CkFh0ADAAAA=="
)


def test_a_file_of_duckdb_2_says_how_to_move_it(tmp_path):
    newer = tmp_path / "needs.duckdb"
    newer.write_bytes(gzip.decompress(base64.b64decode(DUCKDB_2_EMPTY_FILE)))
    assert b"v2.0.0" in newer.read_bytes()[:128]  # the writer names itself in the header
    with pytest.raises(DatabaseError) as raised:
        store.open_readonly(newer)
    assert str(raised.value) == (
        f"数据库文件 {newer} 由更新版本的 DuckDB（2.0）写成，当前的 DuckDB {duckdb.__version__} 无法读取："
        "请按 README“从 DuckDB 2.0 的数据库迁移”导出后再导入 (written by a newer DuckDB (2.0) than this one "
        f"({duckdb.__version__}): export it and import it again as the README's 'Moving a database from DuckDB 2.0' says)")


def _leave_a_wal(db) -> None:
    """Delete every record the way a crashed process would leave it: only in ``<db>.wal``."""
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


def _folder_state(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_reading_a_database_left_with_a_wal_sees_it_and_writes_nothing(make_db):
    db = make_db([{"record_id": "A"}, {"record_id": "B"}])
    _leave_a_wal(db)
    before = _folder_state(db.parent)
    with store.open_readonly(db) as con:
        assert con.execute("SELECT count(*) FROM demands").fetchone()[0] == 0  # the WAL's delete is seen
    assert _folder_state(db.parent) == before  # file and WAL byte-identical, nothing added


def test_the_next_write_folds_a_leftover_wal_into_the_file(make_db):
    db = make_db([{"record_id": "A"}, {"record_id": "B"}])
    _leave_a_wal(db)
    with store.writing(db) as con:
        assert con.execute("SELECT count(*) FROM demands").fetchone()[0] == 0
    assert not db.with_name(db.name + ".wal").exists()
    assert _count(db) == 0


@pytest.fixture
def read_only_folder():
    """Make a folder read-only as a read-only mount would: mode 555, and for root (whom modes do not
    stop) the immutable attribute."""
    made = []

    def make(folder):
        folder.chmod(0o555)
        if os.geteuid() == 0:
            if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
                folder.chmod(0o755)
                pytest.skip("running as root where the immutable attribute cannot be set")
        made.append(folder)
        return folder

    yield make
    for folder in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


@pytest.mark.parametrize("with_wal", [False, True], ids=["clean", "leftover-wal"])
def test_a_database_in_a_read_only_folder_opens(make_db, read_only_folder, with_wal):
    db = make_db([{"record_id": "A"}, {"record_id": "B"}])
    if with_wal:
        _leave_a_wal(db)
    before = _folder_state(db.parent)
    read_only_folder(db.parent)
    with store.open_readonly(db) as con:
        assert con.execute("SELECT count(*) FROM demands").fetchone()[0] == (0 if with_wal else 2)
    assert _folder_state(db.parent) == before


def test_a_database_file_that_vanishes_while_opened_gives_the_clear_error(make_db):
    # Another program deletes and restores the file over and over while the app opens it: every
    # open either works or says "not found" in one line, never another exception.
    db = make_db([{"record_id": "A"}])
    keep = db.with_name("keep.duckdb")
    os.link(db, keep)
    outcomes: dict[str, int] = {}
    stop = threading.Event()

    def flicker() -> None:
        while not stop.is_set():
            db.unlink(missing_ok=True)
            time.sleep(0.0005)
            os.link(keep, db)
            time.sleep(0.002)  # present most of the time

    thread = threading.Thread(target=flicker)
    thread.start()
    try:
        for _ in range(400):
            try:
                with store.open_readonly(db) as con:
                    assert con.execute("SELECT count(*) FROM demands").fetchone()[0] == 1
                    store.data_signature(db)
                outcomes["opened"] = outcomes.get("opened", 0) + 1
            except DatabaseError as exc:
                assert str(exc) == f"找不到数据库文件 {db} (database file not found)"
                outcomes["not found"] = outcomes.get("not found", 0) + 1
    finally:
        stop.set()
        thread.join()
    assert outcomes.get("opened") and outcomes.get("not found"), outcomes
