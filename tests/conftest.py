"""Shared fixtures: small, real DuckDB files built by the code under test (no mocks).

The store-dependent fixtures (``empty_db``, ``make_db``, ``small_db``) make a DuckDB file, or —
where a test module opts in with ``pytestmark = both_stores`` (or a test with ``@both_stores``) —
also a DuckLake whose catalog lives in a real PostgreSQL: one throwaway cluster per test process
(``postgres``; ``initdb`` + ``pg_ctl`` on a loopback port, stopped at the end), one catalog
database and one data folder per lake.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from needsmap import lake, settings, store

# The lake's variant of each two-store test is in the slow tier: every statement on a lake reads
# its snapshot's file list from PostgreSQL, so the injection suite alone takes 8.5 min there
# (17–31 s a hostile filter) against seconds on a file. `bash scripts/test.sh` runs both.
STORE_KINDS = ("file", pytest.param("lake", marks=pytest.mark.slow))
both_stores = pytest.mark.parametrize("store_kind", STORE_KINDS, indirect=True)

DEMO_RECORDS = 6_000
DEMO_SEED = 7

# New databases made by ``store.create`` once per test process and boundary file, then copied:
# creating one parses the 90 district shapes (~0.5 s), and hundreds of tests start from one.
_templates = tempfile.TemporaryDirectory(prefix="needsmap-test-templates-")
_template_by_boundaries: dict[tuple[str, int], Path] = {}


@contextmanager
def lake_data_path(folder: Path) -> Iterator[None]:
    """``NEEDSMAP_DATA_PATH`` set to ``folder`` while inside (where a new lake's files and key go)."""
    before = os.environ.get("NEEDSMAP_DATA_PATH")
    os.environ["NEEDSMAP_DATA_PATH"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("NEEDSMAP_DATA_PATH", None)
        else:
            os.environ["NEEDSMAP_DATA_PATH"] = before


class Lakes:
    """Lakes in one throwaway PostgreSQL cluster: ``new`` (nothing in it yet), ``copy`` (an exact
    copy: the catalog database from it as a template, the data folder copied and re-pointed)."""

    def __init__(self, postgres, folder: Path) -> None:
        self.postgres, self.folder = postgres, folder
        self.data_paths: dict[str, Path] = {}

    def new(self) -> Path:
        name = f"lake_{uuid.uuid4().hex[:12]}"
        location = Path(lake.PREFIX + self.postgres.create_database(name))
        self.data_paths[str(location)] = self.folder / name
        return location

    def data_path(self, location: Path) -> Path:
        return self.data_paths[str(location)]

    def copy(self, location: Path) -> Path:
        lake.close_watchers()  # PostgreSQL copies a database only while nobody is connected to it
        source = str(location).rsplit("dbname=", 1)[1]
        name = f"lake_{uuid.uuid4().hex[:12]}"
        target = Path(lake.PREFIX + self.postgres.create_database(name, template=source))
        shutil.copytree(self.data_path(location), self.folder / name)
        self.data_paths[str(target)] = self.folder / name
        self.postgres.sql(name, "UPDATE ducklake_metadata SET value = '{}/' WHERE key = 'data_path'".format(
            str(self.folder / name).replace("'", "''")))
        return target


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory):
    """A throwaway PostgreSQL cluster for this test process, stopped at the end."""
    from needsmap.throwaway_postgres import ThrowawayPostgres, binaries

    if binaries() is None:
        pytest.skip("PostgreSQL is not installed (initdb, pg_ctl, createdb, psql): `apt-get install postgresql`, "
                    "as scripts/test.sh does")
    cluster = ThrowawayPostgres()  # in its own /tmp folder: the server user must be able to reach it
    yield cluster
    lake.close_watchers()
    cluster.stop()


@pytest.fixture(scope="session")
def lakes(postgres, tmp_path_factory: pytest.TempPathFactory) -> Lakes:
    return Lakes(postgres, tmp_path_factory.mktemp("lakes"))


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store the store-dependent fixtures make: "file" unless a test asks for both (``both_stores``)."""
    return getattr(request, "param", "file")


@pytest.fixture
def new_store(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A function: a name → a store of ``store_kind`` that does not exist yet (the first write makes
    it): ``tmp_path/<name>`` for a file; a new catalog database for a lake, whose data folder is
    then the test's ``NEEDSMAP_DATA_PATH``."""

    def make(name: str = "small.duckdb") -> Path:
        if store_kind == "file":
            return tmp_path / name
        lakes_ = request.getfixturevalue("lakes")
        location = lakes_.new()
        monkeypatch.setenv("NEEDSMAP_DATA_PATH", str(lakes_.data_path(location)))
        return location

    return make


def create_database(db: Path) -> Path:
    """Exactly what ``store.create(db)`` makes for a new path (schema, boundaries, category mapping)."""
    if lake.is_lake(db):
        return _create_lake(db)
    boundaries = settings.districts_geojson()
    key = (str(boundaries), boundaries.stat().st_mtime_ns)
    template = _template_by_boundaries.get(key)
    if template is None:
        template = Path(_templates.name) / f"empty-{len(_template_by_boundaries)}.duckdb"
        store.create(template)
        _template_by_boundaries[key] = template
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, db)
    return Path(db)


def _create_lake(location: Path) -> Path:
    """``store.create`` on a new lake (in the test's ``NEEDSMAP_DATA_PATH``)."""
    store.create(location)
    return location


@pytest.fixture
def empty_db(tmp_path: Path, new_store) -> Path:
    """A new database holding only the schema, the 90 districts and the category mapping."""
    return create_database(new_store("empty.duckdb"))




@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide demo database of DEMO_RECORDS records (seed DEMO_SEED). Do not write to it."""
    from needsmap import demo

    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo.build_demo_database(db, records=DEMO_RECORDS, seed=DEMO_SEED)
    return db


@pytest.fixture(scope="session")
def bundled_demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo the app ships (50,000 records, seed 2025), built once per test process. Do not write to it."""
    from needsmap import demo

    db = tmp_path_factory.mktemp("bundled-demo") / "demo.duckdb"
    demo.build_demo_database(db, records=50_000, seed=2025)
    return db


def _record(**values: object) -> dict:
    """A canonical demand row with plain defaults; tests override what they are about."""
    import pandas as pd

    row = {
        "record_id": "R1", "created_at": pd.Timestamp("2025-06-01 09:00"), "category": "water", "subcategory": "停水",
        "source_category": "供水", "description": "停水", "lon": 120.13, "lat": 30.26, "district_adcode": "330106",
        "address": "西湖区某路", "channel": "hotline", "urgency": 1, "people_affected": 1, "status": "received",
        "responded_at": None, "resolved_at": None, "feedback_at": None, "satisfaction": None,
        "requester_group": "general", "urban_rural": "urban", "requester_hash": None, "requester_phone_masked": None,
        "requester_name_masked": None, "batch_id": 1,
    }
    row.update(values)
    return row


def write_records(db: Path, records: list[dict], *statements: str) -> Path:
    """Create ``db`` holding exactly ``records`` (dicts of overrides to ``_record``), then run ``statements``
    in the same write."""
    import pandas as pd

    from needsmap import schema

    frame = pd.DataFrame([_record(**r) for r in records])
    for column in ("created_at", "responded_at", "resolved_at", "feedback_at"):
        frame[column] = pd.to_datetime(frame[column])
    frame = frame.astype({"urgency": "int8", "people_affected": "int32", "batch_id": "int32"})
    frame["satisfaction"] = frame["satisfaction"].astype("Int8")
    if not store.exists(db):
        create_database(db)
    with store.writing(db) as con:
        con.register("frame", frame)
        columns = ", ".join(schema.DEMAND_COLUMN_NAMES)
        con.execute(f"INSERT INTO demands ({columns}) SELECT {columns} FROM frame")
        for statement in statements:
            con.execute(statement)
    return db


@pytest.fixture
def make_db(new_store):
    """Build a database holding exactly the given records (dicts of overrides to ``_record``)."""

    def build(records: list[dict], name: str = "small.duckdb") -> Path:
        return write_records(new_store(name), records)

    return build


@pytest.fixture
def small_db(make_db, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The hand-built ``tests.records.RECORDS`` plus one record of hostile text, as the app's database."""
    import pandas as pd

    from tests.records import RECORDS

    db = make_db(RECORDS + [dict(record_id="XSS-1", description="<img src=x onerror=alert(1)>",
                                 address="<script>alert(1)</script>", created_at=pd.Timestamp("2025-06-05"),
                                 status="resolved")])
    monkeypatch.setenv("NEEDSMAP_STORE" if lake.is_lake(db) else "NEEDSMAP_DB", str(db))
    return db
