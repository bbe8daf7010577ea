"""The SQL behind hot spots (``needsmap.hotspots``) and surge alerts (``needsmap.alerts``).

Split from ``queries.py`` by subject; the same rules hold: bound parameters only, one function
per question, small frames out. Records are binned into hexagons inside DuckDB (never a million
rows into Python): ``_HEX_CELLS`` is the formula of ``hotspots.hex_of`` in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import duckdb
import pandas as pd

from needsmap import hotspots
from needsmap.filters import Filter

Connection = duckdb.DuckDBPyConnection

# Projected km (sinusoidal, hotspots.LON0) → fractional axial coordinates → cube rounding.
# Parameters by name: the filter's ($f_…) and the side(s) in km bound by the ``sides`` table.
_HEX_CELLS = f"""
    projected AS (
        SELECT {hotspots.EARTH_RADIUS_KM} * radians(d.lon - {hotspots.LON0}) * cos(radians(d.lat)) AS x,
               {hotspots.EARTH_RADIUS_KM} * radians(d.lat) AS y,
               d.requester_key, d.created_at
        FROM demands d
        WHERE {{where}} AND d.lon IS NOT NULL AND d.lat IS NOT NULL
    ),
    fractional AS (
        SELECT (sqrt(3) / 3 * x - y / 3) / side.km AS fq, (2.0 / 3 * y) / side.km AS fr,
               requester_key, created_at, side.km AS side_km
        FROM projected, {{sides}} AS side
    ),
    rounded AS (
        SELECT fq, fr, -fq - fr AS fs, round(fq) AS rq, round(fr) AS rr, round(-fq - fr) AS rs,
               requester_key, created_at, side_km
        FROM fractional
    ),
    cells AS (
        SELECT CAST(CASE WHEN abs(rq - fq) > abs(rr - fr) AND abs(rq - fq) > abs(rs - fs) THEN -rr - rs ELSE rq END AS BIGINT) AS q,
               CAST(CASE WHEN abs(rq - fq) > abs(rr - fr) AND abs(rq - fq) > abs(rs - fs) THEN rr
                         WHEN abs(rr - fr) > abs(rs - fs) THEN -rq - rs ELSE rr END AS BIGINT) AS r,
               requester_key, created_at, side_km
        FROM rounded
    )
"""


def _cells_sql(f: Filter, sides: str) -> tuple[str, dict[str, object]]:
    where, params = f.where_sql("d")
    return "WITH " + _HEX_CELLS.format(where=where, sides=sides), params


def occupancy(con: Connection, f: Filter, sides_km: Sequence[float] = hotspots.SIDES_KM) -> pd.DataFrame:
    """For each candidate hexagon side (km): occupied_cells and records of the filtered records.

    Points are first pooled on a 0.001° grid (~100 m, far below the finest side), so each side
    bins thousands of pooled points rather than every record; a pooled point near a cell edge
    may count in the neighbour's cell, which does not matter for choosing a size.
    """
    where, params = f.where_sql("d")
    pooled = f"""
        WITH pooled AS (
            SELECT round(d.lon, 3) AS lon, round(d.lat, 3) AS lat, count(*) AS requester_key, NULL AS created_at
            FROM demands d WHERE {where} AND d.lon IS NOT NULL AND d.lat IS NOT NULL GROUP BY ALL
        ),
    """
    # The same hexagon SQL over the pooled points (their count rides in the requester_key column).
    cells = _HEX_CELLS.format(where="TRUE", sides="(SELECT unnest(CAST($sides_km AS DOUBLE[])) AS km)").replace(
        "FROM demands d", "FROM pooled d")
    return con.execute(
        pooled + cells + """
        SELECT side_km, count(DISTINCT (q, r)) AS occupied_cells, sum(requester_key) AS records
        FROM cells GROUP BY side_km ORDER BY side_km
        """,
        params | {"sides_km": list(sides_km)},
    ).df()


def cell_counts(con: Connection, f: Filter, side_km: float) -> pd.DataFrame:
    """Per occupied hexagon of side ``side_km``: q, r, records, requesters (distinct)."""
    head, params = _cells_sql(f, "(SELECT CAST($side_km AS DOUBLE) AS km)")
    return con.execute(
        head + """
        SELECT q, r, count(*) AS records, count(DISTINCT requester_key) AS requesters
        FROM cells GROUP BY q, r ORDER BY q, r
        """,
        params | {"side_km": side_km},
    ).df()


def cell_slice_counts(con: Connection, f: Filter, side_km: float, unit: str) -> pd.DataFrame:
    """Per occupied hexagon and time slice (``unit``: week or month): q, r, slice (its first day), records,
    requesters (distinct within the slice)."""
    if unit not in ("week", "month"):
        raise ValueError(f'`unit` was "{unit}" but is expected to be in {{"week", "month"}}')
    head, params = _cells_sql(f, "(SELECT CAST($side_km AS DOUBLE) AS km)")
    return con.execute(
        head + f"""
        SELECT q, r, CAST(date_trunc('{unit}', created_at) AS DATE) AS slice,
               count(*) AS records, count(DISTINCT requester_key) AS requesters
        FROM cells GROUP BY ALL ORDER BY q, r, slice
        """,
        params | {"side_km": side_km},
    ).df()


def cell_and_slice_counts(con: Connection, f: Filter, side_km: float, unit: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``cell_counts`` and ``cell_slice_counts`` in one pass over the records (GROUPING SETS)."""
    if unit not in ("week", "month"):
        raise ValueError(f'`unit` was "{unit}" but is expected to be in {{"week", "month"}}')
    head, params = _cells_sql(f, "(SELECT CAST($side_km AS DOUBLE) AS km)")
    both = con.execute(
        head + f"""
        SELECT q, r, CAST(date_trunc('{unit}', created_at) AS DATE) AS slice,
               count(*) AS records, count(DISTINCT requester_key) AS requesters
        FROM cells GROUP BY GROUPING SETS ((q, r, slice), (q, r)) ORDER BY q, r, slice
        """,
        params | {"side_km": side_km},
    ).df()
    totals = both[both["slice"].isna()].drop(columns="slice").reset_index(drop=True)
    return totals, both[both["slice"].notna()].reset_index(drop=True)


def period(con: Connection, f: Filter) -> tuple[date | None, date | None]:
    """First and last day of the filtered records."""
    where, params = f.where_sql("d")
    first, last = con.execute(
        f"SELECT CAST(min(created_at) AS DATE), CAST(max(created_at) AS DATE) FROM demands d WHERE {where}", params,
    ).fetchone()
    return first, last


def study_geometries(con: Connection, f: Filter) -> list[str]:
    """GeoJSON texts of the districts a view covers (its unit, its district, its city's districts, or all)."""
    if f.unit_code and f.layer_id:
        sql = "SELECT geometry FROM boundary_units WHERE layer_id = $layer AND unit_code = $unit"
        return [row[0] for row in con.execute(sql, {"layer": f.layer_id, "unit": f.unit_code}).fetchall() if row[0]]
    if f.district_adcode:
        sql, params = "SELECT geometry_geojson FROM districts WHERE adcode = $district", {"district": f.district_adcode}
    elif f.city_adcode:
        sql, params = "SELECT geometry_geojson FROM districts WHERE city_adcode = $city", {"city": f.city_adcode}
    else:
        sql, params = "SELECT geometry_geojson FROM districts", {}
    return [row[0] for row in con.execute(sql + " ORDER BY adcode", params).fetchall() if row[0]]


def weekly_requesters(con: Connection, f: Filter, end_day: date, weeks_back: Sequence[int]) -> pd.DataFrame:
    """Distinct requesters and records per district × category in 7-day windows ending on ``end_day``.

    Window ``w`` covers the days ``end_day − 7w − 6`` … ``end_day − 7w`` (w = 0: the week ending on
    ``end_day``). Only the windows in ``weeks_back`` are counted. ``f``'s own dates are ignored
    (the baseline lies before them). Columns: district_adcode, category, w, requesters, records;
    windows without records have no row.
    """
    undated = f.with_changes(date_from=None, date_to=None)
    where, params = undated.where_sql("d")
    end_exclusive = end_day + timedelta(days=1)
    oldest = end_exclusive - timedelta(days=7 * (max(weeks_back) + 1))
    return con.execute(
        f"""
        WITH windowed AS (
            SELECT d.district_adcode, d.category, d.requester_key,
                   CAST(floor(date_diff('second', d.created_at, CAST($end_exclusive AS TIMESTAMP)) / 604800.0) AS INTEGER) AS w
            FROM demands d
            WHERE {where} AND d.created_at >= CAST($oldest AS TIMESTAMP) AND d.created_at < CAST($end_exclusive AS TIMESTAMP)
              AND d.district_adcode IS NOT NULL
        )
        SELECT district_adcode, category, w, count(DISTINCT requester_key) AS requesters, count(*) AS records
        FROM windowed
        WHERE list_contains(CAST($weeks AS INTEGER[]), w)
        GROUP BY ALL ORDER BY district_adcode, category, w
        """,
        params | {"end_exclusive": end_exclusive, "oldest": oldest, "weeks": sorted(set(int(w) for w in weeks_back))},
    ).df()


def districts_in_view(con: Connection, f: Filter) -> int:
    """How many districts a view covers (its district, its city's, or all)."""
    if f.district_adcode:
        return 1
    if f.city_adcode:
        return con.execute("SELECT count(*) FROM districts WHERE city_adcode = ?", [f.city_adcode]).fetchone()[0]
    return con.execute("SELECT count(*) FROM districts").fetchone()[0]

