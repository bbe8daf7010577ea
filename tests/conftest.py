"""Shared fixtures: small, real DuckDB files built by the code under test (no mocks)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from needsmap import settings, store

DEMO_RECORDS = 6_000
DEMO_SEED = 7

# New databases made by ``store.create`` once per test process and boundary file, then copied:
# creating one parses the 90 district shapes (~0.5 s), and hundreds of tests start from one.
_templates = tempfile.TemporaryDirectory(prefix="needsmap-test-templates-")
_template_by_boundaries: dict[tuple[str, int], Path] = {}


def create_database(db: Path) -> Path:
    """Exactly what ``store.create(db)`` makes for a new path (schema, boundaries, category mapping)."""
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


@pytest.fixture
def empty_db(tmp_path: Path) -> Path:
    """A new database holding only the schema, the 90 districts and the category mapping."""
    return create_database(tmp_path / "empty.duckdb")


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
    if not Path(db).exists():
        create_database(db)
    with store.writing(db) as con:
        con.register("frame", frame)
        columns = ", ".join(schema.DEMAND_COLUMN_NAMES)
        con.execute(f"INSERT INTO demands ({columns}) SELECT {columns} FROM frame")
        for statement in statements:
            con.execute(statement)
    return db


@pytest.fixture
def make_db(tmp_path: Path):
    """Build a database holding exactly the given records (dicts of overrides to ``_record``)."""

    def build(records: list[dict], name: str = "small.duckdb") -> Path:
        return write_records(tmp_path / name, records)

    return build


@pytest.fixture
def small_db(make_db, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The hand-built ``tests.records.RECORDS`` plus one record of hostile text, as the app's database."""
    import pandas as pd

    from tests.records import RECORDS

    db = make_db(RECORDS + [dict(record_id="XSS-1", description="<img src=x onerror=alert(1)>",
                                 address="<script>alert(1)</script>", created_at=pd.Timestamp("2025-06-05"),
                                 status="resolved")])
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    return db
