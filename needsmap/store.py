"""Opening the store, and the one way to write to it.

The store is a DuckDB file (the default) or a DuckLake (``NEEDSMAP_STORE=ducklake:postgres:…``,
see ``needsmap.lake``); both are named by a ``Path`` and every function here takes either, so the
rest of the codebase never asks which. On a lake, ``writing`` is one DuckLake transaction under
the lake's writer lock (no copy), ``open_readonly`` is pinned to one snapshot, and
``data_signature`` is that snapshot's id.

The DuckDB file:

DuckDB lets a single process hold a file for writing, and a read-only open from another process
fails meanwhile (duckdb issue 17158). So writers never touch the live file: ``writing()`` copies
it, writes the copy inside one transaction, checkpoints, and swaps it in with an atomic
``os.replace``. Readers (the app's sessions) keep the old file open until they notice the new
one (``data_signature`` changes) and reopen. A writer killed at any point leaves the live file
exactly as it was; the previous version is kept as ``<db>.bak``.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from filelock import FileLock

from needsmap import lake, schema, settings
from needsmap.errors import BoundaryError, DatabaseError
from needsmap.i18n import error


def _initialize(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schema and load the boundaries (``settings.districts_geojson()``) and category mapping."""
    con.execute(_ddl(con, schema.DDL))
    if lake.is_lake_connection(con):
        con.execute(f"ALTER TABLE demands SET PARTITIONED BY ({schema.LAKE_DEMAND_PARTITIONS})")
    con.executemany("INSERT INTO districts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _district_rows(settings.districts_geojson()))
    cities = json.loads(settings.CITIES_GEOJSON.read_text(encoding="utf-8"))
    con.executemany(
        "INSERT INTO cities VALUES (?, ?, ?, ?)",
        [
            (
                f["properties"]["city_adcode"], f["properties"]["city"], f["properties"]["population_2020"],
                json.dumps(f["geometry"], separators=(",", ":")),
            )
            for f in cities["features"]
        ],
    )
    con.execute(
        "INSERT INTO category_mapping SELECT source_text, category FROM read_csv(?, header = true, all_varchar = true)",
        [str(settings.CATEGORY_MAPPING_CSV)],
    )
    seed_header_aliases(con)
    seed_facility_types(con)
    seed_layer_tables(con)
    con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(schema.SCHEMA_VERSION)])


def _ddl(con: duckdb.DuckDBPyConnection, ddl: str) -> str:
    """``ddl`` for the store ``con`` writes: as it is for a DuckDB file, without keys for a lake."""
    return schema.for_lake(ddl) if lake.is_lake_connection(con) else ddl


def seed_header_aliases(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``header_aliases`` and ``import_findings`` tables of a database made before they
    existed, and fill an empty alias table from ``data/header_aliases.csv``."""
    con.execute(schema.DDL_ADDED_LATER)
    if con.execute("SELECT count(*) FROM header_aliases").fetchall()[0][0] == 0:
        from needsmap.ingest.columns import builtin_aliases

        import pyarrow as pa

        aliases = builtin_aliases()
        # One insert from an Arrow table: executemany costs about a millisecond a row.
        con.register("bundled_aliases", pa.table({"position": list(range(1, len(aliases) + 1)),
                                                  "header": [header for header, _ in aliases],
                                                  "field": [field for _, field in aliases]}))
        try:
            con.execute("INSERT INTO header_aliases SELECT position, header, field FROM bundled_aliases")
        finally:
            con.unregister("bundled_aliases")


def seed_facility_types(con: duckdb.DuckDBPyConnection) -> None:
    """Create the supply tables if missing and fill an empty ``facility_type_mapping`` from
    ``data/facility_type_mapping.csv`` (an edited mapping is left as it is)."""
    con.execute(_ddl(con, schema.SUPPLY_DDL))
    if con.execute("SELECT count(*) FROM facility_type_mapping").fetchall()[0][0] == 0:
        con.execute(
            "INSERT INTO facility_type_mapping SELECT facility_type, category "
            "FROM read_csv(?, header = true, all_varchar = true)",
            [str(settings.FACILITY_TYPE_MAPPING_CSV)],
        )


def seed_layer_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the boundary layer tables (``schema.LAYER_DDL``) in a database made before them."""
    con.execute(_ddl(con, schema.LAYER_DDL))


def _district_rows(path: Path) -> list[tuple]:
    """Rows of the districts table from the boundary file; ``BoundaryError`` if it is not usable GeoJSON."""
    try:
        features = json.loads(Path(path).read_text(encoding="utf-8"))["features"]
        return [
            (
                f["properties"]["adcode"], f["properties"]["name"], f["properties"]["city"],
                f["properties"]["city_adcode"], f["properties"]["kind"], f["properties"]["urban_rural"],
                f["properties"]["population_2020"], json.dumps(f["geometry"], separators=(",", ":")),
            )
            for f in features
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BoundaryError(error("boundary_unreadable", path=path, reason=exc.__class__.__name__)) from exc


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a database written by an older version up to ``schema.SCHEMA_VERSION`` (in the
    caller's transaction: an upgrade is swapped in with the write, or not at all)."""
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = int(row[0]) if row else schema.SCHEMA_VERSION
    while version < schema.SCHEMA_VERSION and version in schema.MIGRATIONS:
        for statement in schema.MIGRATIONS[version]:
            con.execute(statement)
        version += 1
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])


@contextmanager
def writing(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a private copy of ``db`` inside one transaction; swapped in on success.

    A new ``db`` is created with the schema and bundled boundaries. On any exception nothing
    changes and the copy is removed. On a lake: one DuckLake transaction (one snapshot) under the
    lake's writer lock; nothing is copied.
    """
    if lake.is_lake(db):
        with _writing_lake(db) as con:
            yield con
        return
    db = Path(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db) + ".lock"):
        work = db.with_name(f".{db.name}.writing-{os.getpid()}")
        # Holding the lock, no other writer is alive: any private copy beside the file was left
        # by a writer that was killed (a copy as large as the database, never to be swapped in).
        for leftover in db.parent.glob(f".{glob.escape(db.name)}.writing-*"):
            leftover.unlink(missing_ok=True)
        is_new = not db.exists()
        if not is_new:
            shutil.copyfile(db, work)
            if Path(str(db) + ".wal").exists():  # a crash left a WAL: carry it so it is replayed
                shutil.copyfile(str(db) + ".wal", str(work) + ".wal")
        con = duckdb.connect(str(work))
        try:
            if is_new:
                _initialize(con)
            con.execute("BEGIN TRANSACTION")
            if not is_new:
                _migrate(con)
            yield con
            con.execute(schema.FILL_DERIVED_SQL)
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
            con.close()
            _fsync(work)
            if not is_new:
                backup = Path(str(db) + ".bak")
                backup.unlink(missing_ok=True)
                os.link(db, backup)
            os.replace(work, db)
            Path(str(db) + ".wal").unlink(missing_ok=True)
            _fsync(db.parent)
        except BaseException:
            con.close()
            work.unlink(missing_ok=True)
            Path(str(work) + ".wal").unlink(missing_ok=True)
            raise


@contextmanager
def _writing_lake(location: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """``writing`` on a lake: creation (schema, boundaries, mappings), upgrade and the caller's
    writes commit together as one snapshot, or not at all; writers queue on the lake's lock."""
    with lake.writer_lock(location):
        con = lake.connect(location, read_only=False, create=not lake.has_catalog(location))
        try:
            con.execute("BEGIN TRANSACTION")
            if _has_schema(con):
                _migrate(con)
            else:
                _initialize(con)
            yield con
            con.execute(schema.FILL_DERIVED_SQL)
            con.execute("COMMIT")
            lake.forget_latest(location)
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # the failed statement already ended the transaction
            raise
        finally:
            con.close()


def _has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                            "AND table_name = 'meta'").fetchone()[0])


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create(db: Path) -> None:
    """Create an empty database (schema, boundaries, category mapping) if it does not exist."""
    if not exists(db):
        with writing(db):
            pass


def migrate(source: Path, target: Path, *, echo=None) -> dict[str, int]:
    """Copy every table of ``source`` into ``target``, a store that does not exist yet (a DuckDB file
    into a lake, or back), in one write; the hashing key and saved views beside it go along.

    Each table's row count in the target is checked against the source's before the write
    commits; a mismatch (or any failure) leaves no target. Answers rows per table.
    """
    if exists(target):
        raise DatabaseError(error("migrate_target_exists", target=describe(target)))
    reader = open_readonly(source)
    try:
        tables = [name for (name,) in reader.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
            "AND NOT temporary ORDER BY table_name").fetchall()]
        copied: dict[str, int] = {}
        with writing(target) as con:
            for table in tables:
                con.execute(_ddl(con, _table_ddl(reader, table)))
                con.execute(f'DELETE FROM "{table}"')  # the new store's seeded rows give way to the source's
                # Streamed in record batches: a province's demands never sit in memory at once.
                # Only the columns the new store's table has: a source made by an older version may
                # carry a column since dropped (its values have no place to go, as in an upgrade).
                kept = [name for name in _columns(reader, table) if name in set(_columns(con, table))]
                listed = ", ".join(f'"{name}"' for name in kept)
                batches = reader.execute(f'SELECT {listed} FROM "{table}"').to_arrow_reader(100_000)
                con.register("migrating", batches)
                try:
                    con.execute(f'INSERT INTO "{table}" ({listed}) SELECT {listed} FROM migrating')
                finally:
                    con.unregister("migrating")
                expected = reader.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                copied[table] = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                if copied[table] != expected:
                    raise DatabaseError(error("migrate_count", table=table, expected=expected, copied=copied[table]))
                if echo is not None:
                    echo(f"{table}: {copied[table]:,}")
    finally:
        reader.close()
    for suffix in (".key", ".views.json"):
        origin, destination = settings.sidecar(source, suffix), settings.sidecar(target, suffix)
        if origin.exists() and not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, destination)
    return copied


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The column names of ``table`` in ``con``'s store, in order."""
    return [name for (name,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = ? ORDER BY column_index", [table]).fetchall()]


def _table_ddl(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """CREATE TABLE IF NOT EXISTS for ``table`` as ``con`` has it (columns and types only)."""
    columns = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
                          "AND schema_name = 'main' AND table_name = ? ORDER BY column_index", [table]).fetchall()
    return f'CREATE TABLE IF NOT EXISTS "{table}" (' + ", ".join(f'"{name}" {kind}' for name, kind in columns) + ")"


def exists(db: Path) -> bool:
    """Whether the store holds a needsmap database: the file exists, or the lake has the schema
    (a lake that cannot be reached raises ``DatabaseError``)."""
    if not lake.is_lake(db):
        return Path(db).exists()
    if not lake.has_catalog(db):
        return False
    con = lake.connect(db, read_only=True)
    try:
        return _has_schema(con)
    finally:
        con.close()


def describe(db: Path) -> str:
    """The store's name as a page, log or error may show it (a lake's without any password)."""
    return lake.public_name(db)


def open_readonly(db: Path, *, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current version of ``db``; it never writes to the file.

    On a lake the connection is pinned to the latest snapshot, or to ``snapshot`` (time travel;
    ``DatabaseError`` for a DuckDB file, which has no snapshots).

    DuckDB caches open databases by path inside a process, so after a swap a plain reopen
    would hand back the old snapshot. Each open therefore goes through a fresh hard link to
    the current file (a name removed at once; the open file stays readable). A WAL left beside
    the file by a crash is linked beside it too: DuckDB replays a WAL in memory on a read-only
    open and changes neither file (measured with DuckDB 2.0 and 1.5.5), and refuses a WAL that belongs to
    another version of the file. The next write folds the WAL in for good (``writing``).
    Where no link can be made (a read-only folder or mount) the file is opened by its own name:
    no writer can swap it there. A missing, vanished, corrupt or foreign file, or any other
    failure to open, raises ``DatabaseError`` with one line. A database of an older schema
    version (``schema.MIGRATIONS``) is first upgraded through ``writing``, once.
    """
    if lake.is_lake(db):
        return _open_lake(db, snapshot)
    db = Path(db)
    if snapshot is not None:
        raise DatabaseError(error("snapshot_file_store"))
    not_found = DatabaseError(error("db_missing", path=db))
    if not db.exists():
        raise not_found
    try:
        con = _connect_current(db)
        version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except FileNotFoundError as exc:
        raise not_found from exc
    except (OSError, duckdb.Error) as exc:
        if not db.exists():  # deleted while it was being opened
            raise not_found from exc
        if "newer version of DuckDB" in str(exc):  # a file of needsmap's DuckDB 2.0 days (before the DuckLake pin)
            raise DatabaseError(error("db_newer_duckdb", path=db, version=duckdb.__version__)) from exc
        raise DatabaseError(error("db_unreadable", path=db, reason=exc.__class__.__name__)) from exc
    return _checked_version(db, con, version)


def _checked_version(db: Path, con: duckdb.DuckDBPyConnection, version: tuple | None,
                     snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """``con`` if it reads the current schema version; an older database is upgraded once (through
    ``writing``) and reopened; anything else raises ``DatabaseError``."""
    if version is not None and int(version[0]) in schema.MIGRATIONS and snapshot is None:
        con.close()
        try:
            with writing(db):  # an older database: upgraded once (a new file swapped in), then opened
                pass
        except OSError as exc:  # a read-only folder: it cannot be upgraded here
            raise DatabaseError(error("db_schema", path=describe(db))) from exc
        return open_readonly(db)
    if version is None or int(version[0]) != schema.SCHEMA_VERSION:
        con.close()
        raise DatabaseError(error("db_schema", path=describe(db)))
    return con


def _open_lake(location: Path, snapshot: int | None) -> duckdb.DuckDBPyConnection:
    con = lake.connect(location, read_only=True, snapshot=lake.latest_snapshot(location) if snapshot is None else snapshot)
    if not _has_schema(con):
        con.close()
        raise DatabaseError(error("db_missing", path=describe(location)))
    version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return _checked_version(location, con, version, snapshot)


def open_at(db: Path, signature: tuple[int, int]) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the version of ``db`` that ``data_signature`` answered
    ``signature`` for (on a lake: pinned to that snapshot, so it matches its cache key)."""
    return open_readonly(db, snapshot=signature[1]) if lake.is_lake(db) else open_readonly(db)


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of ``con`` (one per thread or query: connections are not thread-safe) that reads the
    same store. A DuckDB cursor starts in DuckDB's own default catalog, so on a lake it is pointed
    at the lake first."""
    cur = con.cursor()
    if cur.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [lake.ALIAS]).fetchone()[0]:
        cur.execute(f"USE {lake.ALIAS}")
    return cur


def snapshot_of(con: duckdb.DuckDBPyConnection) -> int | None:
    """The lake snapshot ``con`` reads, or None for a DuckDB file (briefings record it)."""
    return lake.current_snapshot(con) if lake.is_lake_connection(con) else None


def _connect_current(db: Path) -> duckdb.DuckDBPyConnection:
    config = {"memory_limit": f"{settings.get('reader_memory_mb')}MB"}
    link = db.with_name(f".{db.name}.read-{os.getpid()}-{uuid.uuid4().hex}")
    try:
        os.link(db, link)
    except FileNotFoundError:
        raise
    except OSError:  # no links here (read-only folder or file system): nobody swaps the file either
        return duckdb.connect(str(db), read_only=True, config=config)
    link_wal = Path(str(link) + ".wal")
    try:
        try:
            os.link(str(db) + ".wal", link_wal)
        except FileNotFoundError:
            pass  # no WAL: the usual case
        return duckdb.connect(str(link), read_only=True, config=config)
    finally:
        link.unlink(missing_ok=True)
        link_wal.unlink(missing_ok=True)


def data_signature(db: Path) -> tuple[int, int]:
    """Changes whenever a write swaps in a new file (a lake: commits a snapshot): part of every
    cache key. A lake's is ``(0, latest snapshot id)``."""
    if lake.is_lake(db):
        return (0, lake.latest_snapshot(db))
    try:
        stat = Path(db).stat()
    except FileNotFoundError as exc:
        raise DatabaseError(error("db_missing", path=db)) from exc
    return (stat.st_ino, stat.st_mtime_ns)
