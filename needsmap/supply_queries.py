"""The SQL behind demand against supply (``needsmap.supply``): facilities and the demand points
they serve. Bound parameters only; one function per question.

A database made before facilities existed has no ``facilities`` table: every function here
then answers as if the table were empty (the facility importer creates it).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from needsmap.filters import Filter

Connection = duckdb.DuckDBPyConnection

_FACILITY_FIELDS = "facility_id, name, facility_type, category, capacity, opened_on, lon, lat, district_adcode, source"


def has_facilities_table(con: Connection) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'facilities' AND schema_name = 'main'"
    ).fetchall()[0][0])


def facilities(con: Connection, category: str | None = None) -> pd.DataFrame:
    """Every facility (of ``category`` when given), ordered by id."""
    if not has_facilities_table(con):
        return pd.DataFrame(columns=_FACILITY_FIELDS.split(", "))
    return con.execute(
        f"""
        SELECT {_FACILITY_FIELDS} FROM facilities
        WHERE CAST($category AS VARCHAR) IS NULL OR category = $category
        ORDER BY facility_id
        """,
        {"category": category},
    ).df()


def facility_summary(con: Connection) -> pd.DataFrame:
    """Per category: facilities, capacity, facilities whose capacity is unknown, demo rows."""
    if not has_facilities_table(con):
        return pd.DataFrame(columns=["category", "facilities", "capacity", "capacity_unknown", "demo"])
    return con.execute(
        """
        SELECT category, count(*) AS facilities, sum(capacity) AS capacity,
               count(*) FILTER (WHERE capacity IS NULL) AS capacity_unknown,
               count(*) FILTER (WHERE source = 'demo') AS demo
        FROM facilities GROUP BY category ORDER BY category
        """
    ).df()


def demand_points(con: Connection, f: Filter, category: str) -> pd.DataFrame:
    """lon, lat, district_adcode, requester_key of the filtered records of ``category`` that have a point."""
    where, params = f.where_sql("d")
    return con.execute(
        f"""
        SELECT d.lon, d.lat, d.district_adcode, d.requester_key
        FROM demands d
        WHERE {where} AND d.category = $category AND d.lon IS NOT NULL AND d.lat IS NOT NULL
        """,
        {**params, "category": category},
    ).df()


def all_demand_points(con: Connection, f: Filter, categories: list[str]) -> dict[str, object]:
    """Arrays lon, lat, category_number of every filtered record with a point: the 1-based
    position of its category in ``categories``, 0 for any other (for coverage of all demand)."""
    where, params = f.where_sql("d")
    return con.execute(
        f"""
        SELECT d.lon, d.lat, CAST(coalesce(list_position(CAST($categories AS VARCHAR[]), d.category), 0) AS INTEGER)
               AS category_number
        FROM demands d
        WHERE {where} AND d.lon IS NOT NULL AND d.lat IS NOT NULL
        """,
        {**params, "categories": list(categories)},
    ).fetchnumpy()


def district_population(con: Connection) -> pd.Series:
    """Residents (2020 census) by district adcode."""
    rows = con.execute("SELECT adcode, population_2020 FROM districts ORDER BY adcode").fetchall()
    return pd.Series({adcode: float(population) for adcode, population in rows}, dtype="float64")


def facility_type_mapping(con: Connection) -> pd.DataFrame:
    if not has_facilities_table(con):
        return pd.DataFrame(columns=["facility_type", "category"])
    return con.execute("SELECT facility_type, category FROM facility_type_mapping ORDER BY category, facility_type").df()


def facility_rejects(con: Connection, limit: int = 1_000) -> pd.DataFrame:
    if not has_facilities_table(con):
        return pd.DataFrame(columns=["batch_id", "row_number", "reason"])
    return con.execute(
        "SELECT batch_id, row_number, reason FROM facility_rejects ORDER BY batch_id DESC, row_number LIMIT $limit",
        {"limit": limit}
    ).df()


def _has_road_network(con: Connection) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'road_networks' AND schema_name = 'main'"
    ).fetchall()[0][0])


def road_network_info(con: Connection) -> dict[str, object] | None:
    """The stored road network's file name, format, import time, ways, nodes, edges and length
    (km); None when no network has been imported."""
    if not _has_road_network(con):
        return None
    row = con.execute(
        "SELECT file_name, file_format, imported_at, ways, nodes, edges, length_km FROM road_networks LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return dict(zip(("file_name", "file_format", "imported_at", "ways", "nodes", "edges", "length_km"), row, strict=True))


def road_network(con: Connection) -> dict[str, object] | None:
    """Arrays of the stored road network: lon, lat (by node number) and source, target, length_m
    (each undirected edge once); None when no network has been imported."""
    if road_network_info(con) is None:
        return None
    nodes = con.execute("SELECT lon, lat FROM road_nodes ORDER BY node").fetchnumpy()
    edges = con.execute("SELECT source, target, length_m FROM road_edges").fetchnumpy()
    return {"lon": nodes["lon"], "lat": nodes["lat"], **edges}
