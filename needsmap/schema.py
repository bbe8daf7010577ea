"""The DuckDB schema and the canonical record fields, in one place.

Tables
------
``demands``   one row per accepted record (canonical fields below; no raw phone, ID or name).
``rejects``   every input row that was not accepted: batch, row number, reason, the row as text
              (personal data masked before it is stored).
``imports``   one row per import batch: file, SHA-256, counts, times.
``districts`` the 90 county-level units with city, kind, urban/rural class, 2020 census
              population and simplified WGS-84 geometry as GeoJSON text.
``category_mapping``  free-text category → category code (editable; seeded from
              ``data/category_mapping.csv``).
``meta``      key/value: schema_version.

Record ids are unique by the importer's rule (anti-join before insert) rather than by a
PRIMARY KEY: an ART index over tens of millions of strings costs more memory than the app has
to spare, and every write goes through the importer anyway.
"""

from __future__ import annotations

SCHEMA_VERSION = 2

# (column, DuckDB type, meaning) — the canonical record fields.
DEMAND_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("record_id", "VARCHAR", "Work-order id from the source system (unique)."),
    ("created_at", "TIMESTAMP", "When the need was received (local time, Asia/Shanghai, no zone)."),
    ("category", "VARCHAR", "Category code (taxonomy.CATEGORIES)."),
    ("subcategory", "VARCHAR", "Sub-category as given, trimmed."),
    ("source_category", "VARCHAR", "The category text as it stood in the input file."),
    ("description", "VARCHAR", "What the resident asked for; phone and ID numbers masked."),
    ("lon", "DOUBLE", "WGS-84 longitude."),
    ("lat", "DOUBLE", "WGS-84 latitude."),
    ("district_adcode", "VARCHAR", "County-level adcode (6 digits) by point-in-polygon or by name."),
    ("address", "VARCHAR", "Address text; phone and ID numbers masked."),
    ("channel", "VARCHAR", "Channel code (taxonomy.CHANNELS)."),
    ("urgency", "TINYINT", "1 一般, 2 较急, 3 紧急, 4 特急."),
    ("people_affected", "INTEGER", "People the need touches (≥1)."),
    ("status", "VARCHAR", "Status code (taxonomy.STATUSES)."),
    ("responded_at", "TIMESTAMP", "First response to the requester."),
    ("resolved_at", "TIMESTAMP", "Resolution (办结)."),
    ("feedback_at", "TIMESTAMP", "Follow-up call / feedback (回访)."),
    ("satisfaction", "TINYINT", "1–5 (满意 5, 基本满意 3, 不满意 1)."),
    ("requester_group", "VARCHAR", "Group code (taxonomy.GROUPS)."),
    ("urban_rural", "VARCHAR", "urban | rural, from the district."),
    ("requester_hash", "VARCHAR", "HMAC-SHA256 of the normalized phone number (key not stored here)."),
    ("requester_phone_masked", "VARCHAR", "Masked phone, e.g. 138****5678."),
    ("requester_name_masked", "VARCHAR", "Masked name, e.g. 王**."),
    ("cluster_id", "UBIGINT", "Demand cluster: hash of category, grid cell and time window."),
    ("batch_id", "INTEGER", "The import batch that brought the record."),
)

DEMAND_COLUMN_NAMES = tuple(name for name, _, _ in DEMAND_COLUMNS)

# Derived columns: not written by importers; ``store.writing`` fills them before every commit.
# requester_key: an integer per requester (the phone hash, or the record itself when there is
# no phone), because counting distinct integers is about twice as fast as distinct strings.
DERIVED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("requester_key", "UBIGINT", "hash(coalesce(requester_hash, record_id)): one value per requester."),
)
REQUESTER_KEY_SQL = "hash(coalesce(requester_hash, record_id))"
# The importer computes requester_key as it inserts (an UPDATE of a million fresh rows costs
# seconds at commit); this fills whatever another writer, such as the demo, left NULL.
FILL_DERIVED_SQL = f"UPDATE demands SET requester_key = {REQUESTER_KEY_SQL} WHERE requester_key IS NULL"

DDL = f"""
CREATE TABLE IF NOT EXISTS demands (
    {", ".join(f"{name} {sql_type}" for name, sql_type, _ in DEMAND_COLUMNS + DERIVED_COLUMNS)}
);
CREATE TABLE IF NOT EXISTS rejects (
    batch_id INTEGER, row_number BIGINT, reason VARCHAR, raw_row VARCHAR
);
CREATE TABLE IF NOT EXISTS imports (
    batch_id INTEGER, file_name VARCHAR, file_sha256 VARCHAR, source VARCHAR, crs VARCHAR,
    started_at TIMESTAMP, finished_at TIMESTAMP, rows_read BIGINT, accepted BIGINT,
    rejected BIGINT, skipped_existing BIGINT, unmapped_categories BIGINT
);
CREATE TABLE IF NOT EXISTS districts (
    adcode VARCHAR PRIMARY KEY, name VARCHAR, city VARCHAR, city_adcode VARCHAR, kind VARCHAR,
    urban_rural VARCHAR, population_2020 BIGINT, geometry_geojson VARCHAR
);
CREATE TABLE IF NOT EXISTS cities (
    city_adcode VARCHAR PRIMARY KEY, city VARCHAR, population_2020 BIGINT, geometry_geojson VARCHAR
);
CREATE TABLE IF NOT EXISTS category_mapping (source_text VARCHAR PRIMARY KEY, category VARCHAR);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
"""
