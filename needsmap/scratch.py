"""One in-memory DuckDB per process for column work on data in hand (masking, hashing).

Opening an in-memory database costs ~15 ms and closing one after a large result more; an
import asks for one several times a run, on two threads. Each use takes its own cursor (a
connection of its own to the shared database, so registered tables never meet).
"""

from __future__ import annotations

import threading

import duckdb

_lock = threading.Lock()
_database: duckdb.DuckDBPyConnection | None = None


def cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to the process's scratch database; use it in a ``with`` block."""
    global _database
    with _lock:
        if _database is None:
            _database = duckdb.connect(":memory:")
        return _database.cursor()
