"""The SQL behind needs (``needsmap.needs``): the records a view's needs are built from, and
one summary row per need once every record carries its need number.

Split from ``queries.py`` by subject; the same rules hold: bound parameters only, one function
per question, small frames out.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
import pyarrow as pa

from needsmap import queries, taxonomy
from needsmap.filters import Filter

Connection = duckdb.DuckDBPyConnection

_OPEN = taxonomy.OPEN_STATUSES
_OPEN_IN = f"status IN ({', '.join('?' * len(_OPEN))})"


def need_records(con: Connection, f: Filter) -> pa.Table:
    """The filtered records that have a point and a time, oldest first (ties by record id).

    Arrow columns: category, subcategory, district_adcode, requester_key (one value per
    requester), lon, lat, created_at, seconds (epoch seconds of created_at), urgency,
    people_affected (as claimed), is_open, resolved_at.
    """
    base, params = queries._filtered(f)
    cursor = con.cursor()  # a fresh cursor: ``sql`` refuses a connection holding another result
    try:
        return cursor.sql(
        f"""
            SELECT category, subcategory, district_adcode, requester_key, lon, lat, created_at,
                   epoch(created_at)::BIGINT AS seconds, urgency, people_affected,
                   {_OPEN_IN} AS is_open, resolved_at
            FROM ({base})
            WHERE lon IS NOT NULL AND lat IS NOT NULL AND created_at IS NOT NULL
            ORDER BY created_at, record_id
            """,
            params=[*_OPEN, *params],
        ).to_arrow_table()
    finally:
        cursor.close()


def need_summaries(con: Connection, records: pa.Table, as_of_time: datetime | None) -> pd.DataFrame:
    """One row per need of ``records`` (``need_records`` plus an integer ``need_id`` column).

    Columns: need_id, category, subcategory (the commonest, when it covers at least half the
    records, else NULL), district_adcode (the commonest), records, distinct_requesters,
    urgency (median over requesters of each one's highest urgency, rounded up), median_claim
    (median over requesters of each one's largest people-affected claim), max_claim,
    population (the largest census population among the districts the need touches),
    open_records, days_open_oldest (days the oldest open record has waited until
    ``as_of_time``), first_at, last_at, last_resolved_at (NULL while any record is open),
    lon, lat (mean point).
    """
    cursor = con.cursor()
    try:
        cursor.register("need_rows", records)
        return cursor.execute(
            """
            WITH per_requester AS (
                SELECT need_id, requester_key, max(people_affected) AS claim, max(urgency) AS urgency
                FROM need_rows GROUP BY need_id, requester_key
            ), voices AS (
                SELECT need_id, count(*) AS distinct_requesters,
                       median(claim) AS median_claim, max(claim) AS max_claim,
                       ceil(median(urgency))::INTEGER AS urgency
                FROM per_requester GROUP BY need_id
            ), places AS (
                SELECT need_id, max(g.population_2020) AS population
                FROM (SELECT DISTINCT need_id, district_adcode FROM need_rows) p
                LEFT JOIN districts g ON g.adcode = p.district_adcode
                GROUP BY need_id
            ), kinds AS (
                SELECT need_id, any_value(category) AS category, count(*) AS records,
                       mode(district_adcode) AS district_adcode,
                       CASE WHEN count(*) FILTER (WHERE subcategory = mode_sub) * 2 >= count(*) THEN any_value(mode_sub) END AS subcategory,
                       count(*) FILTER (WHERE is_open) AS open_records,
                       min(created_at) FILTER (WHERE is_open) AS oldest_open_at,
                       min(created_at) AS first_at, max(created_at) AS last_at,
                       CASE WHEN bool_or(is_open) THEN NULL ELSE max(coalesce(resolved_at, created_at)) END AS last_resolved_at,
                       avg(lon) AS lon, avg(lat) AS lat
                FROM (SELECT *, mode(subcategory) OVER (PARTITION BY need_id) AS mode_sub FROM need_rows)
                GROUP BY need_id
            )
            SELECT k.need_id, k.category, k.subcategory, k.district_adcode, k.records, v.distinct_requesters,
                   v.urgency, v.median_claim, v.max_claim, p.population, k.open_records,
                   date_diff('hour', k.oldest_open_at, CAST(? AS TIMESTAMP)) / 24.0 AS days_open_oldest,
                   k.first_at, k.last_at, k.last_resolved_at, k.lon, k.lat
            FROM kinds k JOIN voices v USING (need_id) JOIN places p USING (need_id)
            ORDER BY k.need_id
            """,
            [as_of_time],
        ).df()
    finally:
        cursor.unregister("need_rows")
        cursor.close()
