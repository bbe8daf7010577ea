"""The SQL behind needs (``needsmap.needs``): the records a view's needs are built from, and
one summary row per need once every record carries its need number.

Split from ``queries.py`` by subject; the same rules hold: bound parameters only, one function
per question, small frames out.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from needsmap import queries, store
from needsmap.filters import Filter

Connection = duckdb.DuckDBPyConnection


def need_records(con: Connection, f: Filter) -> pa.Table:
    """The filtered records that have a point and a time, oldest first (ties by requester and place).

    Arrow columns: category, subcategory, district_adcode, requester_key (one value per
    requester), lon, lat, created_at, seconds (epoch seconds of created_at), urgency,
    people_affected (as claimed), is_open, resolved_at.
    """
    base, params = queries._filtered(f)
    sql = f"""
        SELECT category, subcategory, district_adcode, requester_key, lon, lat, created_at,
               epoch(created_at)::BIGINT AS seconds, urgency, people_affected,
               {queries._OPEN_IN} AS is_open, resolved_at
        FROM ({base})
        WHERE lon IS NOT NULL AND lat IS NOT NULL AND created_at IS NOT NULL
        ORDER BY created_at, requester_key, lon, lat
    """
    cursor = store.cursor(con)  # a fresh cursor: its result is this statement's alone
    try:
        # ``execute``, not ``sql(..., params=…)``: DuckDB 1.5 materialises a relation with bound
        # parameters row by row before Arrow sees it (6 s of CPU here at a million records, not 0.2 s).
        return cursor.execute(sql, queries._bound(sql, params)).to_arrow_table()
    finally:
        cursor.close()


def need_summaries(con: Connection, records: pa.Table, need_records: np.ndarray, as_of_time: datetime | None) -> pd.DataFrame:
    """One row per need of ``records`` (``need_records`` plus an integer ``need_id`` column
    numbering needs 0..needs-1); ``need_records`` holds, per record, how many records its need has.

    Columns: need_id, category, subcategory (the commonest, when it covers at least half the
    records, else NULL; of equally common ones the first in code-point order), district_adcode (the
    commonest; likewise), records, distinct_requesters,
    urgency (median over requesters of each one's highest urgency, rounded up), median_claim
    (median over requesters of each one's largest people-affected claim), max_claim,
    population (the largest census population among the districts the need touches),
    open_records, open_requesters (distinct requesters with an open record), days_open_oldest
    (days the oldest open record has waited until ``as_of_time``: hour boundaries crossed ÷ 24),
    first_at, last_at, last_resolved_at (NULL while any record is open), lon, lat (mean point).
    In need order (row i is need i).
    """
    several = pa.array(np.asarray(need_records) > 1)
    cursor = store.cursor(con)
    try:
        # Most needs are one record (~90 % at a million): only the needs of several records are
        # grouped here; a one-record need is its record, read in ``_single_summaries``.
        cursor.register("need_rows", records.filter(several))
        grouped = cursor.execute(
            """
            WITH several AS (
                SELECT * FROM need_rows
            ), per_requester AS (
                SELECT need_id, requester_key, max(people_affected) AS claim, max(urgency) AS urgency,
                       bool_or(is_open) AS is_open
                FROM several GROUP BY need_id, requester_key
            ), voices AS (
                SELECT need_id, count(*) AS distinct_requesters, count(*) FILTER (WHERE is_open) AS open_requesters,
                       median(claim) AS median_claim, max(claim) AS max_claim,
                       ceil(median(urgency))::INTEGER AS urgency
                FROM per_requester GROUP BY need_id
            ), subs AS (
                SELECT need_id, first(subcategory ORDER BY n DESC, subcategory NULLS LAST) AS subcategory, max(n) AS n_sub
                FROM (SELECT need_id, subcategory, count(*) AS n FROM several GROUP BY ALL) GROUP BY need_id
            ), places AS (
                SELECT need_id, first(district_adcode ORDER BY n DESC, district_adcode NULLS LAST) AS district_adcode
                FROM (SELECT need_id, district_adcode, count(*) AS n FROM several GROUP BY ALL) GROUP BY need_id
            ), grouped AS (
                SELECT need_id, any_value(category) AS category, count(*) AS records,
                       -- Joined here only: DuckDB inlines a CTE into each use, and only this one needs it.
                       max(g.population_2020) AS population,
                       count(*) FILTER (WHERE is_open) AS open_records,
                       min(created_at) FILTER (WHERE is_open) AS oldest_open_at,
                       min(created_at) AS first_at, max(created_at) AS last_at,
                       CASE WHEN bool_or(is_open) THEN NULL ELSE max(coalesce(resolved_at, created_at)) END AS last_resolved_at,
                       avg(lon) AS lon, avg(lat) AS lat
                FROM several LEFT JOIN districts g ON g.adcode = several.district_adcode GROUP BY need_id
            )
            SELECT k.need_id, k.category,
                   CASE WHEN u.n_sub * 2 >= k.records THEN u.subcategory END AS subcategory,
                   p.district_adcode, k.records, v.distinct_requesters, v.urgency, v.median_claim,
                   v.max_claim, k.population, k.open_records, v.open_requesters,
                   date_diff('hour', k.oldest_open_at, CAST($as_of AS TIMESTAMP)) / 24.0 AS days_open_oldest,
                   k.first_at, k.last_at, k.last_resolved_at, k.lon, k.lat
            FROM grouped k JOIN voices v USING (need_id) JOIN subs u USING (need_id) JOIN places p USING (need_id)
            """,
            {"as_of": as_of_time},
        ).to_arrow_table()
        population = cursor.execute("SELECT adcode, population_2020 FROM districts").to_arrow_table()
    finally:
        cursor.unregister("need_rows")
        cursor.close()
    single = _single_summaries(records.filter(pc.invert(several)), population, as_of_time).cast(grouped.schema)
    table = pa.concat_tables([single, grouped])
    # In need order: the need numbers are 0..needs-1, so each row's place is its number.
    place = np.empty(len(table), dtype=np.int64)
    place[table["need_id"].to_numpy()] = np.arange(len(table))
    table = table.take(place)
    # Few distinct texts over hundreds of thousands of needs: pandas categoricals, not strings.
    for name in ("category", "subcategory", "district_adcode"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pc.dictionary_encode(table[name]))
    return table.to_pandas()


def _single_summaries(rows: pa.Table, population: pa.Table, as_of_time: datetime | None) -> pa.Table:
    """The summary of each one-record need (``rows``: its records), column for column as the
    grouped summaries in ``need_summaries``: the record's own values (NULLs as SQL has them)."""
    is_open, created = rows["is_open"], rows["created_at"]
    at = pc.index_in(rows["district_adcode"], value_set=population["adcode"])
    one = pa.array(np.ones(len(rows), dtype=np.int64))
    as_of = pa.scalar(as_of_time, type=created.type)
    oldest_open = pc.if_else(is_open, created, pa.scalar(None, created.type))
    opened = pc.cast(is_open, pa.int64())
    return pa.table({
        "need_id": rows["need_id"], "category": rows["category"], "subcategory": rows["subcategory"],
        "district_adcode": rows["district_adcode"], "records": one, "distinct_requesters": one,
        "urgency": rows["urgency"], "median_claim": rows["people_affected"], "max_claim": rows["people_affected"],
        "population": pc.take(population["population_2020"], at), "open_records": opened, "open_requesters": opened,
        # DuckDB's date_diff('hour', …) and Arrow's hours_between both count hour boundaries crossed.
        "days_open_oldest": pc.divide(pc.cast(pc.hours_between(oldest_open, as_of), pa.float64()), 24.0),
        "first_at": created, "last_at": created,
        "last_resolved_at": pc.if_else(pc.invert(is_open), pc.coalesce(rows["resolved_at"], created),
                                       pa.scalar(None, created.type)),
        "lon": rows["lon"], "lat": rows["lat"],
    })
