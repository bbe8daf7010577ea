"""DuckLake: the store for many app servers and many writers (a PostgreSQL catalog, Parquet data).

A lake is named ``ducklake:postgres:<libpq key=value connection string>`` (``NEEDSMAP_STORE``);
its Parquet files live in ``NEEDSMAP_DATA_PATH`` (a shared folder, or ``s3://…`` through httpfs
with ``NEEDSMAP_S3_*``). Every process runs its own embedded DuckDB and attaches the lake as
``needsmap_lake``, made the default catalog so the query layer's SQL runs unchanged.

- Readers attach read-only, pinned to one snapshot (``SNAPSHOT_VERSION``): every query of one
  connection sees the same data, and the snapshot id is the cache key (``store.data_signature``).
- Writers take a PostgreSQL advisory lock for the length of their transaction (held by a second,
  plain PostgreSQL connection: the lock goes when the writer commits, fails or is killed), so
  importers started together queue and each commits one DuckLake snapshot, all or nothing.
- Passwords never sit in the store name: libpq's own ``PGPASSWORD`` / ``.pgpass``, or
  ``NEEDSMAP_STORE_PASSWORD`` / ``[needsmap] store_password`` in secrets.toml (handed to DuckDB as
  a secret). Errors name the lake by ``public_name`` (any ``password=`` removed) and carry no
  DuckDB message, which would repeat the connection string.

The DuckDB extensions come from the pinned PyPI wheels (``duckdb-extension-ducklake``,
``-postgres``, ``-httpfs``): nothing is downloaded. DuckDB looks a loaded file's entry point up by
its file name, so the postgres file is linked as ``postgres_scanner.duckdb_extension``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import platformdirs

from needsmap import settings
from needsmap.errors import DatabaseError
from needsmap.i18n import error

PREFIX = "ducklake:postgres:"
ALIAS = "needsmap_lake"
_CATALOG_ALIAS = "needsmap_catalog"
# The advisory-lock key every needsmap writer of one catalog database takes (crc32 of a name).
_WRITER_LOCK_KEY = zlib.crc32(b"needsmap writer")
_PASSWORD = re.compile(r"\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)\s*", re.IGNORECASE)
_WHEELS = {"ducklake": "duckdb_extension_ducklake", "postgres_scanner": "duckdb_extension_postgres",
           "httpfs": "duckdb_extension_httpfs"}


def is_lake(location: object) -> bool:
    """Whether a store name (``NEEDSMAP_STORE``/``--db``) names a DuckLake rather than a DuckDB file."""
    return str(location).startswith("ducklake:")


def public_name(location: object) -> str:
    """The store name fit to show in a page, a log or an error: any ``password=…`` removed."""
    return _PASSWORD.sub("", str(location)).rstrip()


def _catalog_dsn(location: object) -> str:
    text = str(location)
    if not text.startswith(PREFIX):
        raise DatabaseError(error("lake_unsupported", name=public_name(location)))
    return text[len(PREFIX):]


def _literal(text: str) -> str:
    """A SQL string literal. Only for configuration (store name, data path, secrets), which ATTACH
    and CREATE SECRET take as literals, never for user data."""
    return "'" + text.replace("'", "''") + "'"


def _extension_folder() -> Path:
    """A private folder holding the wheels' extension files under the names DuckDB loads them by."""
    folder = platformdirs.user_cache_path("needsmap", appauthor=False) / "duckdb-extensions" / f"v{duckdb.__version__}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, package in _WHEELS.items():
        target = folder / f"{name}.duckdb_extension"
        if target.exists():
            continue
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise DatabaseError(error("lake_extension_missing", package=package.replace("_", "-")))
        source = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}"
        found = sorted(source.glob("*.duckdb_extension"))
        if not found:
            raise DatabaseError(error("lake_extension_missing", package=package.replace("_", "-")))
        temporary = folder / f".{name}.{os.getpid()}-{threading.get_ident()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(found[0])
        os.replace(temporary, target)  # atomic: racing processes each put the same link in place
    return folder


# Extension files whose DuckDB signature this process has checked: (path, inode, size, mtime).
# Checking costs ~1.5 s a connection on a loaded machine (hashing ~80 MB); a later connection
# loads the very same files without the check (``allow_unsigned_extensions``) — only those.
_verified: set[tuple[str, int, int, int]] = set()
_verified_lock = threading.Lock()


def _identity(path: Path) -> tuple[str, int, int, int]:
    stat = path.stat()  # through the link: the wheel's file itself
    return (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _needed() -> tuple[str, ...]:
    """The extensions a connection loads (``_configure``)."""
    return ("postgres_scanner", "ducklake", *(("httpfs",) if data_path().startswith("s3://") else ()))


def _new_database(**config: object) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never downloads an extension; it skips the signature check of
    the extension files only when this process has already checked exactly these files."""
    folder = _extension_folder()
    wanted = {_identity(folder / f"{name}.duckdb_extension") for name in _needed()}
    with _verified_lock:
        checked = wanted <= _verified
    return duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                  **({"allow_unsigned_extensions": True} if checked else {}), **config})


def _load(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    folder = _extension_folder()
    for name in names:
        path = folder / f"{name}.duckdb_extension"
        con.execute(f"LOAD {_literal(str(path))}")
        if not con.execute("SELECT current_setting('allow_unsigned_extensions')").fetchone()[0]:
            with _verified_lock:  # loaded with DuckDB's signature check: this file is DuckDB's own
                _verified.add(_identity(path))


def data_path() -> str:
    """Where the lake's Parquet files go (``NEEDSMAP_DATA_PATH``): a folder, or ``s3://…``."""
    return settings.get("data_path")


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    """Load the extensions and hand DuckDB the credentials (as temporary secrets, never in a name)."""
    _load(con, *_needed())
    password = settings.get("store_password")
    if password:
        con.execute(f"CREATE OR REPLACE TEMPORARY SECRET needsmap_catalog_password (TYPE postgres, PASSWORD {_literal(password)})")
    if data_path().startswith("s3://"):
        options = [f"KEY_ID {_literal(settings.get('s3_key_id'))}", f"SECRET {_literal(settings.get('s3_secret'))}",
                   f"REGION {_literal(settings.get('s3_region'))}", "URL_STYLE 'path'"]
        endpoint = settings.get("s3_endpoint")
        if endpoint:  # MinIO and other S3-compatible stores: host:port, and whether it speaks TLS
            scheme, _, host = endpoint.rpartition("://")
            options += [f"ENDPOINT {_literal(host)}", f"USE_SSL {'false' if scheme == 'http' else 'true'}"]
        con.execute(f"CREATE OR REPLACE TEMPORARY SECRET needsmap_data (TYPE s3, {', '.join(options)})")


def connect(location: object, *, read_only: bool, snapshot: int | None = None,
            create: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached (and made the default catalog).

    ``read_only`` connections are what app servers use; ``snapshot`` pins one (time travel: the
    data exactly as that snapshot left it). ``create`` makes a new lake whose files go to
    ``data_path()``; an existing lake keeps the data path it was made with (it is in the catalog).
    A lake that cannot be reached raises ``DatabaseError`` naming it by ``public_name``.
    """
    dsn = _catalog_dsn(location)
    folder = data_path()
    if create and not folder:
        raise DatabaseError(error("lake_no_data_path", name=public_name(location)))
    con = _new_database(memory_limit=f"{settings.get('reader_memory_mb')}MB")
    try:
        _configure(con)
        options = []
        if create:
            if not folder.startswith("s3://"):
                Path(folder).mkdir(parents=True, exist_ok=True)
            options.append(f"DATA_PATH {_literal(folder)}")
        if read_only or snapshot is not None:
            options.append("READ_ONLY")
        if snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
        con.execute(f"ATTACH {_literal('ducklake:postgres:' + dsn)} AS {ALIAS}"
                    + (f" ({', '.join(options)})" if options else ""))
        con.execute(f"USE {ALIAS}")
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error as exc:
        con.close()
        raise _unreachable(location, exc, snapshot) from None
    except BaseException:
        con.close()
        raise
    return con


def _unreachable(location: object, exc: duckdb.Error, snapshot: int | None) -> DatabaseError:
    """The one line for a lake that cannot be opened; the DuckDB message (which repeats the
    connection string) is left out on purpose."""
    if snapshot is not None and "snapshot" in str(exc).lower():
        return DatabaseError(error("lake_no_snapshot", snapshot=snapshot))
    return DatabaseError(error("lake_unreachable", name=public_name(location), reason=exc.__class__.__name__))


def is_lake_connection(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con`` writes to a lake (its default catalog is the attached lake)."""
    return con.execute("SELECT current_database()").fetchone()[0] == ALIAS


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int:
    """The snapshot id ``con`` reads (its pinned one, or the lake's latest)."""
    return int(con.execute(f"SELECT id FROM ducklake_current_snapshot({_literal(ALIAS)})").fetchone()[0])


_watchers: dict[str, duckdb.DuckDBPyConnection] = {}
_latest: dict[str, tuple[float, int]] = {}
_watchers_lock = threading.Lock()
# A page run asks for the data version many times (it is every cache key): one catalog round trip
# per this many seconds answers them all. A new snapshot is seen at most this late.
LATEST_SNAPSHOT_SECONDS = 1.0


def latest_snapshot(location: object) -> int:
    """The lake's latest snapshot id, through one long-lived read-only connection per process."""
    key = str(location)
    with _watchers_lock:
        asked_at, snapshot = _latest.get(key, (-LATEST_SNAPSHOT_SECONDS, -1))
        if time.monotonic() - asked_at < LATEST_SNAPSHOT_SECONDS:
            return snapshot
        con = _watchers.get(key)
        if con is None:
            con = _watchers[key] = connect(location, read_only=True)
        try:
            snapshot = int(con.execute(f"SELECT max(snapshot_id) FROM {ALIAS}.snapshots()").fetchone()[0])
        except duckdb.Error as exc:
            _watchers.pop(key).close()
            raise _unreachable(location, exc, None) from None
        _latest[key] = (time.monotonic(), snapshot)
        return snapshot


def close_watchers() -> None:
    """Close the connections ``latest_snapshot`` keeps (so a catalog database can be copied or dropped)."""
    with _watchers_lock:
        for con in _watchers.values():
            con.close()
        _watchers.clear()
        _latest.clear()


def forget_latest(location: object) -> None:
    """Drop the remembered latest snapshot (after this process committed one, so it reads its own write)."""
    with _watchers_lock:
        _latest.pop(str(location), None)


@contextmanager
def _catalog(location: object) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the lake's catalog database attached as a plain PostgreSQL database."""
    dsn = _catalog_dsn(location)
    con = _new_database()
    try:
        try:
            _configure(con)
            con.execute(f"ATTACH {_literal(dsn)} AS {_CATALOG_ALIAS} (TYPE postgres)")
        except duckdb.Error as exc:
            raise _unreachable(location, exc, None) from None
        yield con
    finally:
        con.close()


def has_catalog(location: object) -> bool:
    """Whether the lake's PostgreSQL database holds a DuckLake catalog yet (a new one does not)."""
    with _catalog(location) as con:
        try:
            return bool(con.execute(
                f"SELECT * FROM postgres_query({_literal(_CATALOG_ALIAS)}, 'SELECT count(*) FROM "
                "information_schema.tables WHERE table_name = ''ducklake_metadata''')"
            ).fetchone()[0])
        except duckdb.Error as exc:
            raise _unreachable(location, exc, None) from None


@contextmanager
def writer_lock(location: object) -> Iterator[None]:
    """Hold the lake's writer lock (a PostgreSQL transaction-level advisory lock) while inside.

    The lock lives in a transaction of a separate plain PostgreSQL connection, so it is released
    when that connection ends — normally, on an error, or when the process is killed.
    """
    with _catalog(location) as con:
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute(f"SELECT * FROM postgres_query({_literal(_CATALOG_ALIAS)}, "
                        f"'SELECT pg_advisory_xact_lock({_WRITER_LOCK_KEY})::text')").fetchall()
        except duckdb.Error as exc:
            raise _unreachable(location, exc, None) from None
        yield


def snapshots(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str, dict]]:
    """``(snapshot id, time as text, changes)`` of every snapshot of the attached lake, oldest first."""
    return [(int(sid), str(at), changes) for sid, at, changes in con.execute(
        f"SELECT snapshot_id, CAST(snapshot_time AS VARCHAR), changes FROM {ALIAS}.snapshots() ORDER BY snapshot_id"
    ).fetchall()]


def maintain(location: object, *, keep_snapshots: int = 10) -> dict[str, int]:
    """Upkeep with DuckLake's own functions: flush rows inlined in the catalog to Parquet, merge
    small files, expire all but the newest ``keep_snapshots`` snapshots, then delete the files
    nothing refers to any more. Answers the counts before and after."""
    with writer_lock(location):
        con = connect(location, read_only=False)
        try:
            before = _file_counts(con)
            con.execute(f"SELECT count(*) FROM ducklake_flush_inlined_data({_literal(ALIAS)})").fetchall()
            con.execute(f"SELECT count(*) FROM ducklake_merge_adjacent_files({_literal(ALIAS)})").fetchall()
            ids = [sid for sid, _, _ in snapshots(con)]
            expired = 0
            if len(ids) > keep_snapshots:
                cutoff = ids[-keep_snapshots]
                # fetchall, not fetchone: an autocommit statement commits only once its result is read to the end.
                expired = int(con.execute(
                    f"SELECT count(*) FROM ducklake_expire_snapshots({_literal(ALIAS)}, versions => ?)",
                    [[sid for sid in ids if sid < cutoff]]).fetchall()[0][0])
            con.execute(f"SELECT count(*) FROM ducklake_cleanup_old_files({_literal(ALIAS)}, cleanup_all => true)").fetchall()
            con.execute(f"SELECT count(*) FROM ducklake_delete_orphaned_files({_literal(ALIAS)}, cleanup_all => true)").fetchall()
            after = _file_counts(con)
            return {"files_before": before, "files_after": after, "snapshots_expired": expired,
                    "snapshot": current_snapshot(con)}
        finally:
            con.close()


def _file_counts(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute(
        f"SELECT count(*) FROM {_CATALOG_META}.ducklake_data_file WHERE end_snapshot IS NULL"
    ).fetchone()[0])


_CATALOG_META = f"__ducklake_metadata_{ALIAS}"
