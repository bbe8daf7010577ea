"""The DuckDB schema and the canonical record fields, in one place.

Tables
------
``demands``   one row per accepted record (canonical fields below; no raw phone, ID or name).
``rejects``   every input row that was not accepted: batch, row number, reason, the row as text
              (personal data masked before it is stored).
``imports``   one row per import batch: file, SHA-256, counts (accepted, updated, rejected,
              skipped_existing), times, and ``export_as_of`` — the latest time the file holds,
              which says how recent the export is (a record is updated only from an export at
              least as recent as the one that last wrote it).
``status_history``  one row per status change an import made to a stored record: record id,
              batch, status before and after, the export's as-of time.
``districts`` the 90 county-level units with city, kind, urban/rural class, 2020 census
              population and simplified WGS-84 geometry as GeoJSON text.
``category_mapping``  free-text category → category code (editable; seeded from
              ``data/category_mapping.csv``).
``header_aliases``  file header → canonical field, best first by ``position`` (editable; seeded
              from ``data/header_aliases.csv``; staff rows get positions before the bundled ones).
``import_findings``  what each import noticed besides rejects: per batch, ``kind`` = column
              (a field and the header used for it), sheet (a workbook sheet read or skipped),
              unmapped (a coded value that matched nothing, with its row count) or warning
              (e.g. phones masked in the export; requesters then counted per record).
``meta``      key/value: schema_version.
``facilities``  one row per service facility (supply): id, name, type, category, capacity,
              opening date, WGS-84 point, district, source; written by
              ``ingest.facilities.import_facilities`` (or the demo). ``facility_imports`` and
              ``facility_rejects`` are its batches and rejected rows.
``facility_type_mapping``  facility type text → category code (editable; seeded from
              ``data/facility_type_mapping.csv``).
``boundary_layers``  one row per boundary layer below the county (乡镇街道 townships, communities,
              planning grids): imported by ``layers.import_layer`` or the demo's synthetic layer.
``boundary_units``  the units of each layer: code, name, parent county, population, area, a
              simplified GeoJSON geometry for display and the full-resolution WKB for assignment.
``record_units``  which unit of each layer a record's point lies in (``layers.assign_records``).
``road_nodes``, ``road_edges``, ``road_networks``  a walking network for network distances
              (``ingest.roads.import_network``; absent until one is imported).

A record placed only at city level (市本级, or a row naming just the city) has
``district_adcode`` NULL and ``city_adcode`` set: it counts in its city's and the province's
totals and in no district's.

Record ids are unique by the importer's rule (anti-join before insert) rather than by a
PRIMARY KEY: an ART index over tens of millions of strings costs more memory than the app has
to spare, and every write goes through the importer anyway.
"""

from __future__ import annotations

SCHEMA_VERSION = 3

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
    ("district_adcode", "VARCHAR", "County-level adcode (6 digits) by point-in-polygon or by name; NULL for a "
     "record known only at city level."),
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
    ("batch_id", "INTEGER", "The import batch that brought the record."),
)

DEMAND_COLUMN_NAMES = tuple(name for name, _, _ in DEMAND_COLUMNS)

# Written by the importer; a writer that leaves them NULL (the demo, test fixtures) gets them
# filled from the district at commit (``FILL_DERIVED_SQL``).
PLACE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("city_adcode", "VARCHAR", "Prefecture city adcode (33xx00): the district's city, or the city of a city-level record."),
    ("place_basis", "VARCHAR", "How the place was found (PLACE_BASES)."),
)
PLACE_COLUMN_NAMES = tuple(name for name, _, _ in PLACE_COLUMNS)
UPDATED_BATCH_COLUMN = ("updated_batch_id", "INTEGER",
                        "The import batch that last changed the record from a newer export (NULL: never).")

# place_basis values. Only "point" and "point_offshore" records carry coordinates (and so appear
# on point maps and in needs); the others are placed by text.
PLACE_BASES: dict[str, str] = {
    "point": "the point lies in the district (full-resolution boundaries)",
    "point_offshore": "the point lies at sea within OFFSHORE_MAX_M of the coast: nearest district",
    "district": "no point; the district column names a current district",
    "district_renamed": "no point; the district column names a former district wholly in today's one",
    "district_split": "no point; a former district that was split: the part that took most of it",
    "address": "no point; the address names the district (or a township in it)",
    "city": "no point; only the city is known (市本级 or a city name): city totals only",
}

# Derived columns: not written by importers; ``store.writing`` fills them before every commit.
# requester_key: an integer per requester (the phone hash, or the record itself when there is
# no phone), because counting distinct integers is about twice as fast as distinct strings.
DERIVED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("requester_key", "UBIGINT", "hash(coalesce(requester_hash, record_id)): one value per requester."),
)
REQUESTER_KEY_SQL = "hash(coalesce(requester_hash, record_id))"
# The importer computes requester_key as it inserts (an UPDATE of a million fresh rows costs
# seconds at commit); this fills whatever another writer, such as the demo, left NULL.
FILL_DERIVED_SQL = f"""
UPDATE demands SET requester_key = {REQUESTER_KEY_SQL} WHERE requester_key IS NULL;
UPDATE demands SET city_adcode = substr(district_adcode, 1, 4) || '00',
                   place_basis = CASE WHEN lon IS NULL THEN 'district' ELSE 'point' END
WHERE city_adcode IS NULL AND district_adcode IS NOT NULL;
"""

# Tables a database made by an earlier version may lack (``store.seed_header_aliases`` adds them).
DDL_ADDED_LATER = """
CREATE TABLE IF NOT EXISTS header_aliases (position INTEGER, header VARCHAR, field VARCHAR);
CREATE TABLE IF NOT EXISTS import_findings (
    batch_id INTEGER, kind VARCHAR, field VARCHAR, value VARCHAR, rows BIGINT
);
"""

DDL = f"""
CREATE TABLE IF NOT EXISTS demands (
    {", ".join(f"{name} {sql_type}" for name, sql_type, _ in DEMAND_COLUMNS + PLACE_COLUMNS + (UPDATED_BATCH_COLUMN,) + DERIVED_COLUMNS)}
);
CREATE TABLE IF NOT EXISTS rejects (
    batch_id INTEGER, row_number BIGINT, reason VARCHAR, raw_row VARCHAR
);
CREATE TABLE IF NOT EXISTS imports (
    batch_id INTEGER, file_name VARCHAR, file_sha256 VARCHAR, source VARCHAR, crs VARCHAR,
    started_at TIMESTAMP, finished_at TIMESTAMP, rows_read BIGINT, accepted BIGINT,
    rejected BIGINT, skipped_existing BIGINT, unmapped_categories BIGINT, updated BIGINT DEFAULT 0,
    export_as_of TIMESTAMP
);
CREATE TABLE IF NOT EXISTS status_history (
    record_id VARCHAR, batch_id INTEGER, status_from VARCHAR, status_to VARCHAR, export_as_of TIMESTAMP
);
CREATE TABLE IF NOT EXISTS districts (
    adcode VARCHAR PRIMARY KEY, name VARCHAR, city VARCHAR, city_adcode VARCHAR, kind VARCHAR,
    urban_rural VARCHAR, population_2020 BIGINT, geometry_geojson VARCHAR
);
CREATE TABLE IF NOT EXISTS cities (
    city_adcode VARCHAR PRIMARY KEY, city VARCHAR, population_2020 BIGINT, geometry_geojson VARCHAR
);
CREATE TABLE IF NOT EXISTS category_mapping (source_text VARCHAR PRIMARY KEY, category VARCHAR);
{DDL_ADDED_LATER}
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
"""

# Supply: facilities and what they serve. Created with every new database, and by the
# facility importer in an older one (``SUPPLY_DDL`` is idempotent), so no schema version bump.
FACILITY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("facility_id", "VARCHAR", "Facility id from the source list (unique)."),
    ("name", "VARCHAR", "Facility name (名称), trimmed; a place, not a person."),
    ("facility_type", "VARCHAR", "Facility type as given (养老院, 社区卫生服务站 …)."),
    ("category", "VARCHAR", "Demand category it serves (facility_type_mapping; unmapped types → other)."),
    ("capacity", "DOUBLE", "Beds, places or seats (床位/学位/容量); NULL when the list does not say."),
    ("opened_on", "DATE", "Opening date; NULL when unknown."),
    ("lon", "DOUBLE", "WGS-84 longitude."),
    ("lat", "DOUBLE", "WGS-84 latitude."),
    ("district_adcode", "VARCHAR", "County-level adcode by point-in-polygon (full-resolution shapes)."),
    ("address", "VARCHAR", "Address text as given (trimmed, cut to 500 characters)."),
    ("source", "VARCHAR", "Where the list came from (the --source of its import, or 'demo')."),
    ("batch_id", "INTEGER", "The facility import batch that last wrote the row."),
)
FACILITY_COLUMN_NAMES = tuple(name for name, _, _ in FACILITY_COLUMNS)

SUPPLY_DDL = f"""
CREATE TABLE IF NOT EXISTS facilities (
    {", ".join(f"{name} {sql_type}" for name, sql_type, _ in FACILITY_COLUMNS)}
);
CREATE TABLE IF NOT EXISTS facility_imports (
    batch_id INTEGER, file_name VARCHAR, file_sha256 VARCHAR, source VARCHAR, crs VARCHAR,
    started_at TIMESTAMP, finished_at TIMESTAMP, rows_read BIGINT, accepted BIGINT, updated BIGINT,
    rejected BIGINT, skipped_existing BIGINT, unmapped_types BIGINT
);
CREATE TABLE IF NOT EXISTS facility_rejects (
    batch_id INTEGER, row_number BIGINT, reason VARCHAR, raw_row VARCHAR
);
CREATE TABLE IF NOT EXISTS facility_type_mapping (facility_type VARCHAR PRIMARY KEY, category VARCHAR);
"""
DDL += SUPPLY_DDL

# Boundary layers below the county. Created with every new database, and by the layer importer,
# the record importer and the demo in an older one (``store.seed_layer_tables``; idempotent),
# so no schema version bump. A reader of an older file may find them missing
# (``layers.list_layers`` answers an empty list then).
LAYER_LEVELS = ("township", "community", "grid")
LAYER_DDL = """
CREATE TABLE IF NOT EXISTS boundary_layers (
    layer_id VARCHAR,              -- short slug: township, township-2, grid … (unique by the importer)
    level VARCHAR,                 -- township | community | grid (LAYER_LEVELS)
    name VARCHAR, source_file VARCHAR, sha256 VARCHAR,
    source_crs VARCHAR,            -- what the file was in: EPSG:4549, gcj02 … (stored in WGS-84)
    imported_at TIMESTAMP, units INTEGER,
    synthetic BOOLEAN              -- TRUE: made up (the demo's), not a real boundary
);
CREATE TABLE IF NOT EXISTS boundary_units (
    layer_id VARCHAR, unit_code VARCHAR, name VARCHAR,
    district_adcode VARCHAR,       -- parent county (6 digits): by code prefix, else largest overlap
    population INTEGER,            -- NULL if unknown
    area_km2 DOUBLE,
    geometry VARCHAR,              -- simplified WGS-84 GeoJSON geometry text, for display
    geometry_full BLOB             -- WKB, WGS-84, full resolution, for assignment
);
CREATE TABLE IF NOT EXISTS record_units (layer_id VARCHAR, record_id VARCHAR, unit_code VARCHAR);
"""
DDL += LAYER_DDL

# A walking network (``network``, imported by ``ingest.roads``): nodes numbered 0 … N−1, each
# undirected edge once (source < target). Created by the network importer (idempotent), so an
# older database needs no schema version bump; at most one network is stored (a new import
# replaces it).
ROAD_DDL = """
CREATE TABLE IF NOT EXISTS road_nodes (node INTEGER, lon DOUBLE, lat DOUBLE);
CREATE TABLE IF NOT EXISTS road_edges (source INTEGER, target INTEGER, length_m DOUBLE);
CREATE TABLE IF NOT EXISTS road_networks (
    file_name VARCHAR, file_sha256 VARCHAR, file_format VARCHAR, imported_at TIMESTAMP,
    ways BIGINT, nodes BIGINT, edges BIGINT, length_km DOUBLE
);
"""

# Upgrades of an older database, applied by ``store.writing`` in order: version → statements.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE demands ADD COLUMN IF NOT EXISTS city_adcode VARCHAR",
        "ALTER TABLE demands ADD COLUMN IF NOT EXISTS place_basis VARCHAR",
        "ALTER TABLE demands ADD COLUMN IF NOT EXISTS updated_batch_id INTEGER",
        "ALTER TABLE imports ADD COLUMN IF NOT EXISTS updated BIGINT DEFAULT 0",
        "ALTER TABLE imports ADD COLUMN IF NOT EXISTS export_as_of TIMESTAMP",
        "CREATE TABLE IF NOT EXISTS status_history (record_id VARCHAR, batch_id INTEGER, status_from VARCHAR, "
        "status_to VARCHAR, export_as_of TIMESTAMP)",
    ),
}


def for_lake(ddl: str) -> str:
    """``ddl`` as a DuckLake takes it: no PRIMARY KEY (DuckLake has no keys, unique constraints or
    indexes; as for ``demands`` in the file store, the writers keep keys unique)."""
    return ddl.replace(" PRIMARY KEY", "")


# The lake's Parquet files of demands are split by month and city, the filters nearly every view
# has, so a query of one city or period reads only its files.
LAKE_DEMAND_PARTITIONS = "year(created_at), month(created_at), city_adcode"

