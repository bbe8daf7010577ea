"""Opening the DuckDB file, and the one way to write to it.

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

from needsmap import schema, settings
from needsmap.errors import BoundaryError, DatabaseError
from needsmap.i18n import error


def _initialize(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schema and load the boundaries (``settings.districts_geojson()``) and category mapping."""
    con.execute(schema.DDL)
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
    con.execute(schema.SUPPLY_DDL)
    if con.execute("SELECT count(*) FROM facility_type_mapping").fetchall()[0][0] == 0:
        con.execute(
            "INSERT INTO facility_type_mapping SELECT facility_type, category "
            "FROM read_csv(?, header = true, all_varchar = true)",
            [str(settings.FACILITY_TYPE_MAPPING_CSV)],
        )


def seed_layer_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the boundary layer tables (``schema.LAYER_DDL``) in a database made before them."""
    con.execute(schema.LAYER_DDL)


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
    changes and the copy is removed.
    """
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


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create(db: Path) -> None:
    """Create an empty database (schema, boundaries, category mapping) if it does not exist."""
    if not Path(db).exists():
        with writing(db):
            pass


def open_readonly(db: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current version of ``db``; it never writes to the file.

    DuckDB caches open databases by path inside a process, so after a swap a plain reopen
    would hand back the old snapshot. Each open therefore goes through a fresh hard link to
    the current file (a name removed at once; the open file stays readable). A WAL left beside
    the file by a crash is linked beside it too: DuckDB replays a WAL in memory on a read-only
    open and changes neither file (measured with DuckDB 2.0), and refuses a WAL that belongs to
    another version of the file. The next write folds the WAL in for good (``writing``).
    Where no link can be made (a read-only folder or mount) the file is opened by its own name:
    no writer can swap it there. A missing, vanished, corrupt or foreign file, or any other
    failure to open, raises ``DatabaseError`` with one line. A database of an older schema
    version (``schema.MIGRATIONS``) is first upgraded through ``writing``, once.
    """
    db = Path(db)
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
    if version is not None and int(version[0]) in schema.MIGRATIONS:
        con.close()
        try:
            with writing(db):  # an older database: upgraded once (a new file swapped in), then opened
                pass
        except OSError as exc:  # a read-only folder: it cannot be upgraded here
            raise DatabaseError(error("db_schema", path=db)) from exc
        return open_readonly(db)
    if version is None or int(version[0]) != schema.SCHEMA_VERSION:
        con.close()
        raise DatabaseError(error("db_schema", path=db))
    return con


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
    """Changes whenever a write swaps in a new file: part of every cache key."""
    try:
        stat = Path(db).stat()
    except FileNotFoundError as exc:
        raise DatabaseError(error("db_missing", path=db)) from exc
    return (stat.st_ino, stat.st_mtime_ns)
