"""Shared fixtures: small, real DuckDB files built by the code under test (no mocks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from needsmap import store

DEMO_RECORDS = 6_000
DEMO_SEED = 7


@pytest.fixture
def empty_db(tmp_path: Path) -> Path:
    """A new database holding only the schema, the 90 districts and the category mapping."""
    db = tmp_path / "empty.duckdb"
    store.create(db)
    return db


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide demo database of DEMO_RECORDS records (seed DEMO_SEED). Do not write to it."""
    from needsmap import demo

    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo.build_demo_database(db, records=DEMO_RECORDS, seed=DEMO_SEED)
    return db
