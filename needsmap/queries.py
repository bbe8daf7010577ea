"""Every SQL statement the app runs: one function per question the dashboard asks.

Each function takes a DuckDB connection (or cursor) and a ``Filter``, binds every value as a
named parameter (``$as_of``, ``$overdue_days``, the filter's ``$f_…``: no caller orders values by
position; identifiers come only from fixed allow-lists), and answers with a small pandas frame
or dict. Times are hours or days as the names say; rates are per 10,000 residents (2020 census).

"Now" for overdue and age is the data's own date (``as_of``: the latest ``created_at`` in the
database), so an export is judged as of its own end and the demo reads the same every day.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from needsmap import stats, taxonomy
from needsmap.filters import Filter, in_sql

Connection = duckdb.DuckDBPyConnection

# The status sets (taxonomy's, spelled once) as SQL with their values by name.
_OPEN_IN, _OPEN = in_sql("status", "open", taxonomy.OPEN_STATUSES)
_RESOLVED_IN, _RESOLVED = in_sql("status", "resolved", taxonomy.RESOLVED_STATUSES)
_DISPATCHED_ON_IN, _DISPATCHED_ON = in_sql("status", "dispatched_on", taxonomy.FUNNEL_STATUSES["dispatched"])
_IN_PROGRESS_ON_IN, _IN_PROGRESS_ON = in_sql("status", "in_progress_on", taxonomy.FUNNEL_STATUSES["in_progress_or_later"])
_CLOSED_IN, _CLOSED = in_sql("status", "closed", taxonomy.FUNNEL_STATUSES["closed"])
_WITHDRAWN_IN, _WITHDRAWN = in_sql("status", "withdrawn", taxonomy.WITHDRAWN_STATUSES)
STATUS_PARAMS: dict[str, object] = _OPEN | _RESOLVED | _DISPATCHED_ON | _IN_PROGRESS_ON | _CLOSED | _WITHDRAWN
# Records a resolution rate is over: withdrawn and duplicate tickets are no need left to resolve,
# so they count neither as resolved nor as unresolved (they are counted apart on the Data page).
_STILL_A_NEED = f"NOT {_WITHDRAWN_IN}"
# Received more than $overdue_days before $as_of (with an open status: overdue).
_OVERDUE = "created_at < CAST($as_of AS TIMESTAMP) - to_days(CAST($overdue_days AS INTEGER))"
_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")

# A record whose recorded times run backwards (a response before receipt, a resolution before the
# response, a follow-up call before the resolution) is a data error: which of its times is wrong
# cannot be told, so none of its durations is used, and the Data page lists it (timestamp_errors).
# Missing times are not errors; a rate that needs a time is computed over the records that have it.
TIMES_IN_ORDER = (
    "(coalesce(responded_at >= created_at, TRUE)"
    " AND coalesce(resolved_at >= coalesce(responded_at, created_at), TRUE)"
    " AND coalesce(feedback_at >= coalesce(resolved_at, responded_at, created_at), TRUE))"
)

# Measures a user may colour the map by: name → SQL column in district_measures (allow-list).
# Repeat-aware twins: distinct requesters count one person calling fifty times once.
MAP_MEASURES = ("records", "distinct_requesters", "per_10k", "requesters_per_10k", "smoothed_per_10k",
                "smoothed_requesters_per_10k", "priority_sum", "unresolved", "overdue")


def _filtered(f: Filter) -> tuple[str, dict[str, object]]:
    where, params = f.where_sql("d")
    return f"SELECT * FROM demands d WHERE {where}", params


def _bound(sql: str, values: Mapping[str, object]) -> dict[str, object]:
    """The values ``sql`` names (``$name``) out of ``values`` and the status sets: exactly those,
    as DuckDB refuses a value the statement does not name."""
    available = {**STATUS_PARAMS, **values}
    return {name: available[name] for name in dict.fromkeys(_PARAMETER.findall(sql))}


def _execute(con: Connection, sql: str, values: Mapping[str, object]) -> duckdb.DuckDBPyConnection:
    return con.execute(sql, _bound(sql, values))


def as_of(con: Connection) -> datetime | None:
    """The latest created_at in the database (the data's 'now')."""
    return con.execute("SELECT max(created_at) FROM demands").fetchone()[0]


def districts(con: Connection) -> pd.DataFrame:
    """The 90 districts without geometry: adcode, name, city, city_adcode, kind, urban_rural, population_2020."""
    return con.execute(
        "SELECT adcode, name, city, city_adcode, kind, urban_rural, population_2020 FROM districts ORDER BY adcode"
    ).df()


def district_geometries(con: Connection) -> pd.DataFrame:
    """adcode, name, city and GeoJSON geometry text of every district (for maps)."""
    return con.execute("SELECT adcode, name, city, geometry_geojson FROM districts ORDER BY adcode").df()


def demo_records(con: Connection) -> int:
    """Records written by the demo generator (its batch is named in ``imports``): more than 0 means
    what the app shows is, at least in part, synthetic."""
    return con.execute(
        """
        SELECT coalesce(sum(accepted), 0) FROM imports
        WHERE file_name = 'demo' AND source LIKE 'demo generator%'
        """
    ).fetchone()[0]


def date_range(con: Connection) -> tuple[datetime | None, datetime | None]:
    row = con.execute("SELECT min(created_at), max(created_at) FROM demands").fetchone()
    return row[0], row[1]


def subcategories(con: Connection, categories: tuple[str, ...] = ()) -> list[str]:
    """Sub-categories present in the data (for the filter), optionally of some categories."""
    sql = "SELECT DISTINCT subcategory FROM demands WHERE subcategory IS NOT NULL"
    params: dict[str, object] = {}
    if categories:
        in_categories, params = in_sql("category", "category", tuple(categories))
        sql += f" AND {in_categories}"
    return [row[0] for row in con.execute(sql + " ORDER BY 1 LIMIT 500", params).fetchall()]


# Above this many records the KPI's distinct-requester count is a HyperLogLog estimate.
EXACT_DISTINCT_MAX = 200_000
# Per-group distinct requesters above EXACT_DISTINCT_MAX filtered records are HyperLogLog estimates,
# except where the estimate is below this: those groups are recounted exactly, because that is where
# the public-mode rule (k distinct requesters) decides, and HLL is off by one or two even at 15.
EXACT_DISTINCT_BELOW = 1_000


def kpis(con: Connection, f: Filter, as_of_time: datetime | None, overdue_days: int) -> dict[str, float]:
    """Headline numbers for the filtered records: counts, shares, median hours to response, mean
    satisfaction, distinct requesters, and records and distinct requesters per 10,000 residents
    (``per_10k``, ``requesters_per_10k``; ``population``: residents of the places in scope)."""
    base, params = _filtered(f)
    row = _execute(
        con,
        f"""
        SELECT count(*) AS records,
               count(*) FILTER (WHERE urgency >= 3) AS urgent,
               count(*) FILTER (WHERE {_OPEN_IN}) AS unresolved,
               count(*) FILTER (WHERE {_OPEN_IN} AND {_OVERDUE}) AS overdue,
               count(*) FILTER (WHERE {_RESOLVED_IN}) AS resolved,
               count(*) FILTER (WHERE {_STILL_A_NEED}) AS resolvable,
               median(date_diff('minute', created_at, responded_at)) FILTER (WHERE {TIMES_IN_ORDER}) / 60.0
                   AS median_hours_to_response,
               avg(satisfaction) AS mean_satisfaction,
               sum(people_affected) AS people_affected
        FROM ({base})
        """,
        params | {"as_of": as_of_time, "overdue_days": overdue_days},
    ).fetchone()
    names = ("records", "urgent", "unresolved", "overdue", "resolved", "resolvable",
             "median_hours_to_response", "mean_satisfaction", "people_affected")
    out = dict(zip(names, row, strict=True))
    records = out["records"] or 0
    # Distinct requesters: an exact hash count up to EXACT_DISTINCT_MAX records; beyond, a
    # HyperLogLog estimate (±2–4 %), marked approximate. The exact count over a million
    # mostly-distinct callers is the slowest part of a refresh (~60–120 ms here) and grows with N.
    # (A DISTINCT aggregate beside the others above would make DuckDB plan the whole scan the slow way.)
    out["distinct_requesters_approx"] = records > EXACT_DISTINCT_MAX
    counter = "approx_count_distinct(requester_key)" if out["distinct_requesters_approx"] else "count(DISTINCT requester_key)"
    out["distinct_requesters"] = con.execute(f"SELECT {counter} FROM ({base})", params).fetchone()[0]
    if out["distinct_requesters_approx"] and (out["distinct_requesters"] or 0) < EXACT_DISTINCT_BELOW:
        # Few people behind many records: count them exactly (the public-mode rule decides here).
        out["distinct_requesters"] = con.execute(f"SELECT count(DISTINCT requester_key) FROM ({base})", params).fetchone()[0]
        out["distinct_requesters_approx"] = False
    # Both per 10,000 residents of the places in scope: records, and people (repeats counted once).
    population = float(_population_in_scope(con, f)["population"].sum())
    out["population"] = population
    out["per_10k"] = records / population * 10_000 if population else float("nan")
    out["requesters_per_10k"] = (out["distinct_requesters"] or 0) / population * 10_000 if population else float("nan")
    out["resolution_rate"] = (out["resolved"] / out["resolvable"]) if out["resolvable"] else float("nan")
    out["urgent_share"] = (out["urgent"] / records) if records else float("nan")
    return out


def district_measures(
    con: Connection, f: Filter, as_of_time: datetime | None, overdue_days: int, min_records_to_rank: int,
    include_priority: bool = False,
) -> pd.DataFrame:
    """One row per district (all 90, zero where no records) with every map measure.

    priority_sum (summed priority, ``needs.district_priority``) needs the view's needs built
    (about 2 s at a million records): only with ``include_priority``, else 0. Pages that keep
    the needs cached add it themselves (``needs.with_priority_sum``).

    Columns: adcode, name, city, city_adcode, kind, urban_rural, population_2020, records,
    distinct_requesters (distinct_requesters_approx: an estimate, see ``_distinct_requesters_by_district``),
    unresolved, overdue, urgent, priority_sum, per_10k (raw), smoothed_per_10k (empirical Bayes
    toward the city rate), requesters_per_10k and smoothed_requesters_per_10k (the same over
    distinct requesters: one person calling fifty times counts once), rankable (records ≥ min_records_to_rank), rank_smoothed (1 = most
    demand per resident among rankable districts), top_categories (up to 3 codes).
    """
    base, params = _filtered(f)
    # One scan: counts per (district, category), then per district with its top three categories.
    counts = _execute(
        con,
        f"""
        SELECT adcode, sum(records)::BIGINT AS records, sum(unresolved)::BIGINT AS unresolved,
               sum(overdue)::BIGINT AS overdue, sum(urgent)::BIGINT AS urgent,
               list(category ORDER BY records DESC, category)[1:3] AS top_categories
        FROM (
            SELECT district_adcode AS adcode, category, count(*) AS records,
                   count(*) FILTER (WHERE {_OPEN_IN}) AS unresolved,
                   count(*) FILTER (WHERE {_OPEN_IN} AND {_OVERDUE}) AS overdue,
                   count(*) FILTER (WHERE urgency >= 3) AS urgent
            FROM ({base}) GROUP BY 1, 2
        ) GROUP BY adcode
        """,
        params | {"as_of": as_of_time, "overdue_days": overdue_days},
    ).df()
    requesters = _distinct_requesters_by_district(con, base, params, int(counts["records"].sum()))
    frame = districts(con).merge(counts, on="adcode", how="left").merge(requesters, on="adcode", how="left")
    for column in ("records", "distinct_requesters", "unresolved", "overdue", "urgent"):
        frame[column] = frame[column].fillna(0).astype("int64")
    frame["distinct_requesters_approx"] = frame["distinct_requesters_approx"].fillna(False).astype(bool)
    frame["priority_sum"] = 0.0
    if include_priority:
        from needsmap import needs  # needs builds on this module (need_queries)

        frame = needs.with_priority_sum(frame, needs.build(con, f, as_of_time, overdue_days))
    frame["top_categories"] = frame["top_categories"].apply(lambda v: list(v) if isinstance(v, (list, np.ndarray)) else [])
    population = frame["population_2020"].astype("float64")
    frame["per_10k"] = frame["records"] / population * 10_000
    frame["smoothed_per_10k"] = stats.eb_smoothed_rate(frame["records"], population, frame["city_adcode"]) * 10_000
    frame["requesters_per_10k"] = frame["distinct_requesters"] / population * 10_000
    frame["smoothed_requesters_per_10k"] = stats.eb_smoothed_rate(frame["distinct_requesters"], population,
                                                                   frame["city_adcode"]) * 10_000
    frame["rankable"] = frame["records"] >= min_records_to_rank
    frame["rank_smoothed"] = frame["smoothed_per_10k"].where(frame["rankable"]).rank(ascending=False, method="min")
    return frame


def _distinct_requesters_by_district(con: Connection, base: str, params: dict[str, object], records: int) -> pd.DataFrame:
    """Distinct requesters per district of the filtered records (``base``/``params``, ``records`` of them).

    Columns: adcode, distinct_requesters, distinct_requesters_approx. Exact up to
    ``EXACT_DISTINCT_MAX`` records in all (an exact count per district of a million records is
    ~250 ms, the HLL one ~10 ms); beyond, estimated (±2–4 %) except districts under
    ``EXACT_DISTINCT_BELOW``, which are counted exactly.
    """
    if records <= EXACT_DISTINCT_MAX:
        frame = con.execute(
            f"SELECT district_adcode AS adcode, count(DISTINCT requester_key) AS distinct_requesters FROM ({base}) GROUP BY 1",
            params,
        ).df()
        return frame.assign(distinct_requesters_approx=False)
    frame = con.execute(
        f"SELECT district_adcode AS adcode, approx_count_distinct(requester_key) AS distinct_requesters FROM ({base}) GROUP BY 1",
        params,
    ).df()
    small = frame.loc[frame["distinct_requesters"] < EXACT_DISTINCT_BELOW, "adcode"].dropna().tolist()
    frame["distinct_requesters_approx"] = ~frame["adcode"].isin(small)
    if small:
        exact = _execute(
            con,
            f"""SELECT district_adcode AS adcode, count(DISTINCT requester_key) AS exact FROM ({base})
                WHERE district_adcode IN (SELECT unnest($few_requesters)) GROUP BY 1""",
            {**params, "few_requesters": small},
        ).df()
        frame = frame.merge(exact, on="adcode", how="left")
        frame["distinct_requesters"] = frame["exact"].fillna(frame["distinct_requesters"]).astype("int64")
        frame = frame.drop(columns="exact")
    return frame


def category_counts(con: Connection, f: Filter) -> pd.DataFrame:
    """Per category: records, unresolved, urgent, distinct_requesters (descending records)."""
    base, params = _filtered(f)
    return _execute(
        con,
        f"""
        SELECT category, count(*) AS records, count(*) FILTER (WHERE {_OPEN_IN}) AS unresolved,
               count(*) FILTER (WHERE urgency >= 3) AS urgent,
               count(DISTINCT requester_key) AS distinct_requesters
        FROM ({base}) GROUP BY 1 ORDER BY records DESC, category
        """,
        params,
    ).df()


def monthly_trend(con: Connection, f: Filter) -> pd.DataFrame:
    """Records per month and category: month (first day), category, records.

    Every month from the first to the last month with records is present for every category
    that has any (zero where none), so a line drops to zero instead of skipping a month.
    """
    base, params = _filtered(f)
    return con.execute(
        f"""
        WITH counts AS (
            SELECT date_trunc('month', created_at) AS month, category, count(*) AS records
            FROM ({base}) GROUP BY 1, 2
        ),
        months AS (
            SELECT unnest(generate_series(min(month), max(month), INTERVAL 1 MONTH)) AS month FROM counts
        )
        SELECT months.month, categories.category, coalesce(counts.records, 0) AS records
        FROM months CROSS JOIN (SELECT DISTINCT category FROM counts) AS categories
        LEFT JOIN counts ON counts.month = months.month AND counts.category = categories.category
        ORDER BY 1, 2
        """,
        params,
    ).df()


def monthly_totals(con: Connection, f: Filter) -> pd.DataFrame:
    """Records and distinct requesters per month over all categories: month, records,
    distinct_requesters (every month from the first to the last with records; zero where none)."""
    base, params = _filtered(f)
    return con.execute(
        f"""
        WITH counts AS (
            SELECT date_trunc('month', created_at) AS month, count(*) AS records,
                   count(DISTINCT requester_key) AS distinct_requesters
            FROM ({base}) GROUP BY 1
        ),
        months AS (
            SELECT unnest(generate_series(min(month), max(month), INTERVAL 1 MONTH)) AS month FROM counts
        )
        SELECT months.month, coalesce(counts.records, 0) AS records,
               coalesce(counts.distinct_requesters, 0) AS distinct_requesters
        FROM months LEFT JOIN counts ON counts.month = months.month
        ORDER BY 1
        """,
        params,
    ).df()


def distinct_requesters(con: Connection, f: Filter) -> int:
    """How many distinct requesters the filtered records come from (exact)."""
    base, params = _filtered(f)
    return int(con.execute(f"SELECT count(DISTINCT requester_key) FROM ({base})", params).fetchone()[0])


def urban_rural_gap(con: Connection, f: Filter, response_hours_target: int) -> pd.DataFrame:
    """Urban vs rural, overall (category '__all__') and by category.

    Columns per (category, urban_rural): records, distinct_requesters, population (residents of the areas in the
    filter's scope), per_10k, urgent, urgent_share, responded (records with a response time in
    order), median_hours_to_response, responded_within_target, responded_within_target_share
    (÷ responded), resolved, resolution_rate, rated, mean_satisfaction, sd_satisfaction.
    """
    base, params = _filtered(f)
    population = _population_in_scope(con, f).groupby("urban_rural", as_index=False)["population"].sum()
    frame = _execute(
        con,
        f"""
        SELECT coalesce(category, '__all__') AS category, urban_rural,
               count(*) AS records,
               count(DISTINCT requester_key) AS distinct_requesters,
               count(*) FILTER (WHERE urgency >= 3) AS urgent,
               count(responded_at) FILTER (WHERE {TIMES_IN_ORDER}) AS responded,
               median(date_diff('minute', created_at, responded_at)) FILTER (WHERE {TIMES_IN_ORDER}) / 60.0
                   AS median_hours_to_response,
               count(*) FILTER (WHERE {TIMES_IN_ORDER} AND epoch(responded_at - created_at) <= $response_hours * 3600)
                   AS responded_within_target,
               count(*) FILTER (WHERE {_RESOLVED_IN}) AS resolved,
               count(*) FILTER (WHERE {_STILL_A_NEED}) AS resolvable,
               count(satisfaction) AS rated,
               avg(satisfaction) AS mean_satisfaction,
               stddev_samp(satisfaction) AS sd_satisfaction
        FROM ({base})
        WHERE urban_rural IS NOT NULL
        GROUP BY GROUPING SETS ((category, urban_rural), (urban_rural))
        """,
        params | {"response_hours": response_hours_target},
    ).df()
    frame = frame.merge(population, on="urban_rural", how="left")
    frame["per_10k"] = frame["records"] / frame["population"] * 10_000
    frame["urgent_share"] = frame["urgent"] / frame["records"]
    frame["responded_within_target_share"] = frame["responded_within_target"] / frame["responded"].where(frame["responded"] > 0)
    frame["resolution_rate"] = frame["resolved"] / frame["resolvable"].where(frame["resolvable"] > 0)
    return frame.sort_values(["category", "urban_rural"]).reset_index(drop=True)


def _population_in_scope(con: Connection, f: Filter) -> pd.DataFrame:
    """Districts inside the filter's place scope: adcode, urban_rural, population (2020 census).

    A unit (``f.unit_code``) is its district's row with the unit's own population (from its
    layer; NaN when the layer gives none, so its rates are unknown rather than wrong)."""
    bits: list[str] = ["TRUE"]
    params: dict[str, object] = {}
    if f.unit_code and f.layer_id:
        sql = """
            SELECT d.adcode, d.urban_rural, CAST(u.population AS DOUBLE) AS population
            FROM boundary_units u JOIN districts d ON d.adcode = u.district_adcode
            WHERE u.layer_id = $layer AND u.unit_code = $unit"""
        params = {"layer": f.layer_id, "unit": f.unit_code}
        if f.urban_rural:
            in_areas, areas = in_sql("d.urban_rural", "area", f.urban_rural)
            sql += f" AND {in_areas}"
            params.update(areas)
        return con.execute(sql, params).df()
    if f.district_adcode:
        bits.append("adcode = $district")
        params["district"] = f.district_adcode
    elif f.city_adcode:
        bits.append("city_adcode = $city")
        params["city"] = f.city_adcode
    if f.urban_rural:
        in_areas, areas = in_sql("urban_rural", "area", f.urban_rural)
        bits.append(in_areas)
        params.update(areas)
    return con.execute(
        f"SELECT adcode, urban_rural, population_2020 AS population FROM districts WHERE {' AND '.join(bits)} ORDER BY adcode",
        params,
    ).df()


def gap_district_counts(con: Connection, f: Filter, response_hours_target: int) -> pd.DataFrame:
    """The gap's measures per district in scope (zeros where a district has no records).

    Columns: adcode, urban_rural, population, records, urgent, responded, responded_within_target,
    resolved, rated, satisfaction_sum, satisfaction_sum_sq — the inputs of the between-district
    dispersion (``stats.*_dispersion``) that widens the gap intervals.
    """
    base, params = _filtered(f)
    counts = _execute(
        con,
        f"""
        SELECT district_adcode AS adcode,
               count(*) AS records,
               count(*) FILTER (WHERE urgency >= 3) AS urgent,
               count(responded_at) FILTER (WHERE {TIMES_IN_ORDER}) AS responded,
               count(*) FILTER (WHERE {TIMES_IN_ORDER} AND epoch(responded_at - created_at) <= $response_hours * 3600)
                   AS responded_within_target,
               count(*) FILTER (WHERE {_RESOLVED_IN}) AS resolved,
               count(*) FILTER (WHERE {_STILL_A_NEED}) AS resolvable,
               count(satisfaction) AS rated,
               sum(satisfaction)::DOUBLE AS satisfaction_sum,
               sum(satisfaction * satisfaction)::DOUBLE AS satisfaction_sum_sq
        FROM ({base})
        WHERE urban_rural IS NOT NULL
        GROUP BY 1
        """,
        params | {"response_hours": response_hours_target},
    ).df()
    frame = _population_in_scope(con, f).merge(counts, on="adcode", how="left")
    count_columns = ["records", "urgent", "responded", "responded_within_target", "resolved", "resolvable", "rated"]
    frame[count_columns] = frame[count_columns].fillna(0).astype("int64")
    frame[["satisfaction_sum", "satisfaction_sum_sq"]] = frame[["satisfaction_sum", "satisfaction_sum_sq"]].fillna(0.0)
    return frame


def gap_summary(con: Connection, f: Filter, response_hours_target: int) -> pd.DataFrame:
    """Rural vs urban gap for the headline measures, as ratio/difference with a 95 % interval.

    Rows: per_10k (ratio rural ÷ urban), urgent_share, responded_within_target_share,
    resolution_rate (differences rural − urban, in share points), median_hours_to_response
    (difference of medians, district bootstrap), mean_satisfaction (difference of means).
    Every interval allows for the spread between districts (quasi-Poisson / quasi-binomial
    scale φ = Pearson χ²/df over the districts in scope; see ``stats``).
    Columns: measure, urban, rural, kind ('ratio'|'difference'), gap, low, high, urban_n, rural_n
    (the records each side rests on), dispersion (φ; NaN when too few districts to estimate it).
    """
    columns = ["measure", "urban", "rural", "kind", "gap", "low", "high", "urban_n", "rural_n", "dispersion"]
    by_area = urban_rural_gap(con, f, response_hours_target)
    overall = by_area[by_area["category"] == "__all__"].set_index("urban_rural")
    if not {"urban", "rural"} <= set(overall.index):
        return pd.DataFrame(columns=columns)
    u, r = overall.loc["urban"], overall.loc["rural"]
    districts_in_scope = gap_district_counts(con, f, response_hours_target)
    area = districts_in_scope["urban_rural"]
    spread = stats.poisson_dispersion(districts_in_scope["records"], districts_in_scope["population"], area)
    rows = [("per_10k", u.per_10k, r.per_10k, "ratio",
             *stats.rate_ratio_ci(r.records, r.population, u.records, u.population, spread),
             u.records, r.records, spread.scale)]
    for measure, hits, trials in (("urgent_share", "urgent", "records"),
                                  ("responded_within_target_share", "responded_within_target", "responded"),
                                  ("resolution_rate", "resolved", "resolvable")):
        spread = stats.binomial_dispersion(districts_in_scope[hits], districts_in_scope[trials], area)
        rows.append((measure, u[measure], r[measure], "difference",
                     *stats.proportion_diff_ci(r[hits], r[trials], u[hits], u[trials], spread),
                     u[trials], r[trials], spread.scale))
    samples = response_hours_sample(con, f)
    rows.append(("median_hours_to_response", u.median_hours_to_response, r.median_hours_to_response, "difference",
                 *stats.median_diff_ci(samples.get("rural", []), samples.get("urban", [])),
                 u.responded, r.responded, math.nan))
    spread = stats.mean_dispersion(districts_in_scope["rated"], districts_in_scope["satisfaction_sum"],
                                   districts_in_scope["satisfaction_sum_sq"], area)
    rows.append(("mean_satisfaction", u.mean_satisfaction, r.mean_satisfaction, "difference",
                 *stats.mean_diff_ci(r.mean_satisfaction, r.sd_satisfaction, r.rated,
                                     u.mean_satisfaction, u.sd_satisfaction, u.rated, spread),
                 u.rated, r.rated, spread.scale))
    return pd.DataFrame(rows, columns=columns)


def response_hours_sample(con: Connection, f: Filter, per_area: int = 2_000) -> dict[str, list[np.ndarray]]:
    """A reproducible sample of hours-to-first-response per urban/rural area, as one array per
    district (for the district bootstrap). Records whose times run backwards are left out."""
    base, params = _filtered(f)
    frame = con.execute(
        f"""
        SELECT urban_rural, district_adcode, date_diff('minute', created_at, responded_at) / 60.0 AS hours
        FROM ({base}) WHERE responded_at IS NOT NULL AND urban_rural IS NOT NULL AND {TIMES_IN_ORDER}
        QUALIFY row_number() OVER (PARTITION BY urban_rural ORDER BY hash(record_id)) <= $per_area
        ORDER BY urban_rural, district_adcode, hours
        """,
        params | {"per_area": per_area},
    ).df()
    return {area: [district["hours"].to_numpy() for _, district in group.groupby("district_adcode")]
            for area, group in frame.groupby("urban_rural")}


# The service loop's funnel, in order: 受理, 派单, 处理, 办结, 回访, 评价 (column names).
LOOP_STAGES = ("received", "dispatched", "in_progress_or_later", "resolved_or_later", "followed_up", "rated")


def service_loop(
    con: Connection, f: Filter, response_hours_target: int, feedback_hours_target: int, by: str | None = None,
) -> pd.DataFrame:
    """Closed-loop measures, overall or by 'district' or 'category'.

    Every rate is over the records that have what it needs, and says how many those are
    (records and distinct_requesters: the people behind them):

    - funnel (``LOOP_STAGES``): received (all), dispatched, in_progress_or_later,
      resolved_or_later (by status), followed_up (has a 回访 time), rated (has a 评价); closed;
    - responded_within_target_share = responded_within_target ÷ responded (records with a
      response time, times in order); feedback_within_target_share likewise ÷ followed_up_timed;
    - resolution_rate ÷ (records − withdrawn: withdrawn and duplicate tickets, no need left to
      resolve, and never "dispatched"); median_days_to_resolve over resolved_timed; mean_satisfaction
      over rated;
    - timestamp_errors: records whose times run backwards (excluded from every duration).
    """
    groupings = {None: "", "district": "district_adcode", "category": "category"}
    if by not in groupings:
        raise ValueError(f"`by` was {by!r:.80} but is expected to be in {tuple(groupings)}")
    group_sql = groupings[by]
    base, params = _filtered(f)
    select_group = f"{group_sql} AS grp, " if group_sql else ""
    group_by = "GROUP BY 1 ORDER BY records DESC, 1" if group_sql else ""
    frame = _execute(
        con,
        f"""
        SELECT {select_group}
               count(*) AS records,
               count(DISTINCT requester_key) AS distinct_requesters,
               count(*) AS received,
               count(*) FILTER (WHERE {_DISPATCHED_ON_IN}) AS dispatched,
               count(*) FILTER (WHERE {_IN_PROGRESS_ON_IN}) AS in_progress_or_later,
               count(*) FILTER (WHERE {_RESOLVED_IN}) AS resolved_or_later,
               count(*) FILTER (WHERE {_WITHDRAWN_IN}) AS withdrawn,
               count(feedback_at) AS followed_up,
               count(satisfaction) AS rated,
               count(*) FILTER (WHERE {_CLOSED_IN}) AS closed,
               count(*) FILTER (WHERE NOT {TIMES_IN_ORDER}) AS timestamp_errors,
               count(responded_at) FILTER (WHERE {TIMES_IN_ORDER}) AS responded,
               count(*) FILTER (WHERE {TIMES_IN_ORDER} AND epoch(responded_at - created_at) <= $response_hours * 3600)
                   AS responded_within_target,
               count(feedback_at) FILTER (WHERE {TIMES_IN_ORDER}) AS followed_up_timed,
               count(*) FILTER (WHERE {TIMES_IN_ORDER} AND epoch(feedback_at - created_at) <= $feedback_hours * 3600)
                   AS feedback_within_target,
               count(resolved_at) FILTER (WHERE {TIMES_IN_ORDER}) AS resolved_timed,
               median(date_diff('hour', created_at, resolved_at)) FILTER (WHERE {TIMES_IN_ORDER}) / 24.0
                   AS median_days_to_resolve,
               avg(satisfaction) AS mean_satisfaction
        FROM ({base}) {group_by}
        """,
        params | {"response_hours": response_hours_target, "feedback_hours": feedback_hours_target},
    ).df()
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["responded_within_target_share"] = frame["responded_within_target"] / frame["responded"].where(frame["responded"] > 0)
        frame["feedback_within_target_share"] = (frame["feedback_within_target"]
                                                 / frame["followed_up_timed"].where(frame["followed_up_timed"] > 0))
        resolvable = frame["records"] - frame["withdrawn"]
        frame["resolution_rate"] = frame["resolved_or_later"] / resolvable.where(resolvable > 0)
    if group_sql:
        frame = frame.rename(columns={"grp": by})
    return frame


def timestamp_errors(con: Connection, limit: int = 1_000) -> pd.DataFrame:
    """Records whose times run backwards (data errors, left out of every duration), oldest first.

    Columns: record_id, created_at, responded_at, resolved_at, feedback_at, problem
    ('response_before_receipt' | 'resolution_before_response' | 'feedback_before_resolution':
    the first step of 受理 → 响应 → 办结 → 回访 that goes back in time).
    """
    return con.execute(
        f"""
        SELECT record_id, created_at, responded_at, resolved_at, feedback_at,
               CASE WHEN responded_at < created_at THEN 'response_before_receipt'
                    WHEN resolved_at < coalesce(responded_at, created_at) THEN 'resolution_before_response'
                    ELSE 'feedback_before_resolution' END AS problem
        FROM demands WHERE NOT {TIMES_IN_ORDER}
        ORDER BY created_at, record_id LIMIT $limit
        """,
        {"limit": int(limit)},
    ).df()


def overdue_records(con: Connection, f: Filter, as_of_time: datetime | None, overdue_days: int, limit: int = 200) -> pd.DataFrame:
    """Open records past the overdue limit, oldest first: the list for a second push (二次督办)."""
    base, params = _filtered(f)
    return _execute(
        con,
        f"""
        SELECT d.record_id, g.city, g.name AS district, d.category, d.subcategory, d.urgency, d.status, d.channel,
               d.created_at, round(date_diff('hour', d.created_at, CAST($as_of AS TIMESTAMP)) / 24.0, 1) AS days_open
        FROM ({base}) d LEFT JOIN districts g ON g.adcode = d.district_adcode
        WHERE d.{_OPEN_IN} AND d.{_OVERDUE}
        ORDER BY d.created_at, d.record_id LIMIT $limit
        """,
        params | {"as_of": as_of_time, "overdue_days": overdue_days, "limit": int(limit)},
    ).df()


def records(con: Connection, f: Filter, limit: int = 500, offset: int = 0) -> pd.DataFrame:
    """Filtered records for a table, newest first, with masked requester fields only."""
    base, params = _filtered(f)
    return con.execute(
        f"""
        SELECT d.record_id, d.created_at, g.name AS district, d.category, d.subcategory, d.urgency, d.status,
               d.channel, d.people_affected, d.description, d.address, d.requester_group,
               d.requester_phone_masked, d.requester_name_masked, d.satisfaction
        FROM ({base}) d LEFT JOIN districts g ON g.adcode = d.district_adcode
        ORDER BY d.created_at DESC, d.record_id LIMIT $limit OFFSET $offset
        """,
        params | {"limit": int(limit), "offset": int(offset)},
    ).df()


EXPORT_ROW_CAP = 200_000


def export_records(con: Connection, f: Filter, limit: int = EXPORT_ROW_CAP) -> pd.DataFrame:
    """Every filtered record for a download (up to ``limit``), oldest first, masked fields only.

    The same fields the record table shows, plus city, urban/rural and the service-loop times;
    no coordinates and no requester hash.
    """
    base, params = _filtered(f)
    return con.execute(
        f"""
        SELECT d.record_id, d.created_at, g.city, g.name AS district, d.district_adcode, d.urban_rural, d.category,
               d.subcategory, d.urgency, d.status, d.channel, d.people_affected, d.responded_at, d.resolved_at,
               d.feedback_at, d.satisfaction, d.requester_group, d.description, d.address,
               d.requester_phone_masked, d.requester_name_masked
        FROM ({base}) d LEFT JOIN districts g ON g.adcode = d.district_adcode
        ORDER BY d.created_at, d.record_id LIMIT $limit
        """,
        params | {"limit": int(limit)},
    ).df()


def map_points(con: Connection, f: Filter, cap: int = 3_000, cell_degrees: float = 0.005) -> tuple[str, pd.DataFrame]:
    """Points for a zoomed-in map, bounded: ('points', lon/lat/category/urgency rows) when the
    filtered set has at most ``cap`` records, else ('cells', grid cells of ``cell_degrees`` with
    record and distinct-requester counts, computed in SQL) — never one marker per record for large sets."""
    base, params = _filtered(f)
    total = con.execute(f"SELECT count(*) FROM ({base}) WHERE lon IS NOT NULL", params).fetchone()[0]
    if total <= cap:
        frame = con.execute(
            f"SELECT lon, lat, category, urgency, status FROM ({base}) WHERE lon IS NOT NULL ORDER BY record_id",
            params,
        ).df()
        return "points", frame
    frame = con.execute(
        f"""
        SELECT (floor(lon / $cell) + 0.5) * $cell AS lon, (floor(lat / $cell) + 0.5) * $cell AS lat, count(*) AS records,
               count(DISTINCT requester_key) AS distinct_requesters, mode(category) AS top_category
        FROM ({base}) WHERE lon IS NOT NULL GROUP BY 1, 2 ORDER BY records DESC LIMIT $cap
        """,
        params | {"cell": cell_degrees, "cap": cap},
    ).df()
    return "cells", frame


def imports(con: Connection) -> pd.DataFrame:
    return con.execute("SELECT * FROM imports ORDER BY batch_id DESC").df()


def rejects(con: Connection, batch_id: int | None = None, limit: int = 1_000) -> pd.DataFrame:
    """Rejected rows with their reasons (newest batch first)."""
    if batch_id is None:
        return con.execute("SELECT * FROM rejects ORDER BY batch_id DESC, row_number LIMIT $limit", {"limit": limit}).df()
    if isinstance(batch_id, bool) or not isinstance(batch_id, int | np.integer):
        raise ValueError(f"`batch_id` was {batch_id!r:.80} but is expected to be a whole number or None")
    return con.execute("SELECT * FROM rejects WHERE batch_id = $batch_id ORDER BY row_number LIMIT $limit",
                       {"batch_id": int(batch_id), "limit": limit}).df()


def reject_reasons(con: Connection) -> pd.DataFrame:
    return con.execute("SELECT reason, count(*) AS rows FROM rejects GROUP BY 1 ORDER BY 2 DESC").df()


def data_quality(con: Connection) -> dict[str, int]:
    """Counts a data steward checks: records, rejected rows, unmapped categories, missing and
    backward times, records without a phone (or with one the export had masked), withdrawn or
    duplicate tickets (never open), imports."""
    withdrawn = taxonomy.WITHDRAWN_STATUSES
    row = con.execute(
        f"""
        SELECT (SELECT count(*) FROM demands),
               (SELECT count(*) FROM rejects),
               (SELECT count(*) FROM demands WHERE category = 'other'),
               (SELECT count(*) FROM demands WHERE responded_at IS NULL),
               (SELECT count(*) FROM demands WHERE NOT {TIMES_IN_ORDER}),
               (SELECT count(*) FROM demands WHERE requester_hash IS NULL),
               (SELECT count(*) FROM demands WHERE status IN ({', '.join('?' * len(withdrawn))})),
               (SELECT count(*) FROM imports)
        """,
        list(withdrawn),
    ).fetchone()
    names = ("records", "rejected_rows", "category_other", "no_response_time", "timestamp_errors", "no_requester_phone",
             "withdrawn_or_duplicate", "imports")
    return dict(zip(names, row, strict=True))


def city_level_records(con: Connection, f: Filter) -> pd.DataFrame:
    """Records known only at city level (市本级, or a row naming just the city), per city:
    city_adcode, city, records. They count in their city's and the province's totals, and in
    no district's (so a city's districts add up to its total less these)."""
    base, params = _filtered(f)
    return con.execute(
        f"""
        SELECT d.city_adcode, c.city, count(*) AS records
        FROM ({base}) d LEFT JOIN cities c ON c.city_adcode = d.city_adcode
        WHERE d.district_adcode IS NULL
        GROUP BY 1, 2 ORDER BY 1
        """,
        params,
    ).df()


def category_mapping(con: Connection) -> pd.DataFrame:
    return con.execute("SELECT source_text, category FROM category_mapping ORDER BY category, source_text").df()


def unmapped_categories(con: Connection, limit: int = 200) -> pd.DataFrame:
    """Category texts of records that fell back to ``other``, with their record counts, most first.

    Texts that say "other" themselves (其他, other) are left out: there is nothing to map.
    """
    return con.execute(
        """
        SELECT source_category, count(*) AS records
        FROM demands
        WHERE category = 'other' AND source_category IS NOT NULL
          AND lower(trim(source_category)) NOT IN ('其他', 'other', '其它')
        GROUP BY source_category
        ORDER BY records DESC, source_category
        LIMIT $limit
        """,
        {"limit": limit},
    ).df()


def import_findings(con: Connection, kind: str, batch_id: int | None = None) -> pd.DataFrame:
    """What imports noticed (``kind``: column | sheet | unmapped | warning), newest batch first;
    one batch when ``batch_id`` is given. Empty for a database made before findings were kept."""
    if kind not in ("column", "sheet", "unmapped", "warning"):
        raise ValueError(f"`kind` was {kind!r:.40} but is expected to be in ('column', 'sheet', 'unmapped', 'warning')")
    if not _has_table(con, "import_findings"):
        return pd.DataFrame(columns=["batch_id", "field", "value", "rows"])
    return con.execute(
        """
        SELECT batch_id, field, value, rows FROM import_findings
        WHERE kind = $kind AND (CAST($batch_id AS INTEGER) IS NULL OR batch_id = $batch_id)
        ORDER BY batch_id DESC, field, rows DESC NULLS LAST, value
        """,
        {"kind": kind, "batch_id": batch_id},
    ).df()


def header_aliases(con: Connection) -> pd.DataFrame:
    """The header aliases (header, field), best first; the bundled ones for an older database."""
    if _has_table(con, "header_aliases"):
        return con.execute("SELECT header, field FROM header_aliases ORDER BY position").df()
    from needsmap.ingest.columns import builtin_aliases

    return pd.DataFrame(list(builtin_aliases()), columns=["header", "field"])


def _has_table(con: Connection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = $name",
                            {"name": name}).fetchone()[0])
