"""Cached, read-only data access for pages.

One read-only DuckDB connection per database version per process (``st.cache_resource``);
each query runs on its own ``cursor()``, because DuckDB connections are not thread-safe and
Streamlit runs sessions on threads. Results are cached (``st.cache_data``) by the query name,
the database path, its signature (changes when an import swaps in a new file, so new data is
seen at once) and the frozen Filter.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import streamlit as st

from needsmap import queries, settings, store
from needsmap.errors import DatabaseError

# Query functions pages may call through ``run`` (an allow-list: names never come from users).
_CACHED_QUERIES = {
    "kpis", "district_measures", "category_counts", "monthly_trend", "priority_clusters", "urban_rural_gap",
    "gap_summary", "service_loop", "overdue_records", "records", "map_points", "district_geometries", "districts",
    "date_range", "subcategories", "as_of",
}


def db_path() -> Path:
    return settings.db_path()


@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(db: str, signature: tuple[int, int]) -> duckdb.DuckDBPyConnection:
    return store.open_readonly(Path(db))


def signature() -> tuple[int, int]:
    db = db_path()
    if not db.exists():
        raise DatabaseError(f"找不到数据库文件 {db} (database file not found)")
    return store.data_signature(db)


def check() -> None:
    """Raise ``DatabaseError`` unless the current database file exists and opens (a corrupt file too)."""
    cursor().close()


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the current version of the database."""
    return _connection(str(db_path()), signature()).cursor()


@st.cache_data(max_entries=512, show_spinner=False)
def _run(db: str, version: tuple[int, int], name: str, args: tuple, kwargs: tuple) -> object:
    con = _connection(db, version).cursor()
    try:
        return getattr(queries, name)(con, *args, **dict(kwargs))
    finally:
        con.close()


def run(name: str, *args: object, **kwargs: object) -> object:
    """Run ``queries.<name>(cursor, *args, **kwargs)`` with caching keyed by data version."""
    if name not in _CACHED_QUERIES:
        raise ValueError(f"`name` was {name!r} but is expected to be in {sorted(_CACHED_QUERIES)}")
    return _run(str(db_path()), signature(), name, args, tuple(sorted(kwargs.items())))
