"""The SQL of boundary layers one level below the district: 乡镇街道, communities, grid cells.

A layer (``boundary_layers``) is a user's own boundary file; its units (``boundary_units``) each
lie in one district; records with a point are assigned to units (``record_units``). These
functions answer what the district page, the page set-up and briefings ask of them: which
layers exist, which a district can drill into, one unit, and every unit of a district with its
counts and rates per 10,000 residents (raw and smoothed as the districts are, see
``queries.district_measures``). Values are always bound (``$name``). A database made before
layers existed has none of these tables: it simply has no layers.
"""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import shapely

from needsmap import queries, stats
from needsmap.filters import Filter

Connection = duckdb.DuckDBPyConnection

LAYER_TABLES = ("boundary_layers", "boundary_units", "record_units")
# Measures a units map may be coloured by (allow-list; the district map's without priority_sum).
UNIT_MEASURES = ("records", "distinct_requesters", "per_10k", "requesters_per_10k", "smoothed_per_10k",
                 "smoothed_requesters_per_10k", "unresolved", "overdue")
_LAYER_COLUMNS = ["layer_id", "level", "name", "source_file", "imported_at", "units", "synthetic"]


def has_layers(con: Connection) -> bool:
    """Whether the database has the layer tables at all (databases made before them do not)."""
    found = con.execute(
        "SELECT count(DISTINCT table_name) FROM information_schema.tables WHERE list_contains($tables, table_name)",
        {"tables": list(LAYER_TABLES)},
    ).fetchone()[0]
    return found == len(LAYER_TABLES)


def layers(con: Connection) -> pd.DataFrame:
    """Every layer, newest first within its level: layer_id, level, name, source_file,
    imported_at, units, synthetic (empty, with these columns, when there are none)."""
    if not has_layers(con):
        return pd.DataFrame({column: pd.Series(dtype=object) for column in _LAYER_COLUMNS})
    return con.execute(
        """
        SELECT layer_id, level, name, source_file, imported_at, units, synthetic
        FROM boundary_layers ORDER BY level, imported_at DESC, layer_id
        """
    ).df()


def layers_by_level(con: Connection) -> dict[str, str]:
    """level → the layer a shorthand such as ``?township=`` means: the newest layer of that level."""
    table = layers(con)
    return dict(table.drop_duplicates("level")[["level", "layer_id"]].itertuples(index=False, name=None))


def district_layers(con: Connection, district_adcode: str) -> pd.DataFrame:
    """The layers a district can drill into (those with units in it), as ``layers`` gives them,
    with ``units_here`` (how many of its units lie in the district); townships first, then
    communities, then grids, newest first within a level (the first is the default drill-down)."""
    if not has_layers(con):
        return layers(con).assign(units_here=pd.Series(dtype="int64"))
    return con.execute(
        """
        SELECT l.layer_id, l.level, l.name, l.source_file, l.imported_at, l.units, l.synthetic, count(*) AS units_here
        FROM boundary_layers l JOIN boundary_units u ON u.layer_id = l.layer_id
        WHERE u.district_adcode = $district
        GROUP BY l.layer_id, l.level, l.name, l.source_file, l.imported_at, l.units, l.synthetic
        ORDER BY CASE l.level WHEN 'township' THEN 0 WHEN 'community' THEN 1 ELSE 2 END, l.imported_at DESC, l.layer_id
        """,
        {"district": district_adcode},
    ).df()


def unit(con: Connection, layer_id: str, unit_code: str) -> dict[str, object] | None:
    """One unit: unit_code, name, district_adcode, population, area_km2, level, layer_name; None
    when the layer has no such unit (or there is no such layer)."""
    if not has_layers(con):
        return None
    row = con.execute(
        """
        SELECT u.unit_code, u.name, u.district_adcode, u.population, u.area_km2, l.level, l.name AS layer_name
        FROM boundary_units u JOIN boundary_layers l ON l.layer_id = u.layer_id
        WHERE u.layer_id = $layer AND u.unit_code = $unit
        """,
        {"layer": layer_id, "unit": unit_code},
    ).fetchone()
    names = ("unit_code", "name", "district_adcode", "population", "area_km2", "level", "layer_name")
    return dict(zip(names, row, strict=True)) if row else None


def unit_geometries(con: Connection, layer_id: str, district_adcode: str) -> pd.DataFrame:
    """The units of a layer in a district for a map: unit_code, name, population, area_km2,
    geometry (simplified WGS-84 GeoJSON text), ordered by unit_code."""
    if not has_layers(con):
        return pd.DataFrame(columns=["unit_code", "name", "population", "area_km2", "geometry"])
    return con.execute(
        """
        SELECT unit_code, name, population, area_km2, geometry FROM boundary_units
        WHERE layer_id = $layer AND district_adcode = $district ORDER BY unit_code
        """,
        {"layer": layer_id, "district": district_adcode},
    ).df()


def unit_shape(con: Connection, layer_id: str, unit_code: str) -> shapely.Geometry | None:
    """The unit's full-resolution shape (WGS-84; the display shape where the layer has no full
    one), or None when there is no such unit."""
    if not has_layers(con):
        return None
    row = con.execute(
        "SELECT geometry_full, geometry FROM boundary_units WHERE layer_id = $layer AND unit_code = $unit",
        {"layer": layer_id, "unit": unit_code},
    ).fetchone()
    if row is None:
        return None
    return shapely.from_wkb(bytes(row[0])) if row[0] is not None else shapely.from_geojson(row[1])


def unit_measures(con: Connection, f: Filter, layer_id: str, as_of_time: datetime | None, overdue_days: int,
                  min_records_to_rank: int) -> pd.DataFrame:
    """One row per unit of ``layer_id`` in ``f``'s district (zero where no records), with the
    filter's other fields applied (its own unit, if any, is not: every unit is counted).

    Columns: unit_code, name, district_adcode, population (NaN when the layer gives none),
    area_km2, records, distinct_requesters (exact), unresolved, overdue, urgent, top_categories
    (up to 3 codes), per_10k, smoothed_per_10k (empirical Bayes toward the district's pooled
    rate: Marshall's estimator, as districts are smoothed toward their city's),
    requesters_per_10k, smoothed_requesters_per_10k, rankable (records ≥ min_records_to_rank;
    rates of the others are not shown), rank_smoothed (1 = most per resident among rankable).
    """
    if not f.district_adcode:
        raise ValueError("`f.district_adcode` was None but is expected to name the district whose units are counted")
    units = unit_geometries(con, layer_id, f.district_adcode).drop(columns="geometry")
    units["district_adcode"] = f.district_adcode
    counts = pd.DataFrame({"unit_code": pd.Series(dtype=object)})
    if len(units):
        where, params = f.with_changes(unit_code=None).where_sql("d")
        counts = queries._execute(
            con,
            f"""
            WITH placed AS (
                SELECT u.unit_code, d.category, d.requester_key, d.urgency, d.status, d.created_at
                FROM demands d JOIN record_units u ON u.record_id = d.record_id AND u.layer_id = $layer
                WHERE {where}
            ), by_category AS (
                SELECT unit_code, category, count(*) AS records,
                       count(*) FILTER (WHERE {queries._OPEN_IN}) AS unresolved,
                       count(*) FILTER (WHERE {queries._OPEN_IN} AND {queries._OVERDUE}) AS overdue,
                       count(*) FILTER (WHERE urgency >= 3) AS urgent
                FROM placed GROUP BY 1, 2
            ), people AS (
                SELECT unit_code, count(DISTINCT requester_key) AS distinct_requesters FROM placed GROUP BY 1
            )
            SELECT c.unit_code, sum(c.records)::BIGINT AS records, any_value(p.distinct_requesters)::BIGINT AS distinct_requesters,
                   sum(c.unresolved)::BIGINT AS unresolved, sum(c.overdue)::BIGINT AS overdue,
                   sum(c.urgent)::BIGINT AS urgent,
                   list(c.category ORDER BY c.records DESC, c.category)[1:3] AS top_categories
            FROM by_category c JOIN people p USING (unit_code)
            GROUP BY c.unit_code
            """,
            params | {"layer": layer_id, "as_of": as_of_time, "overdue_days": overdue_days},
        ).df()
    frame = units.merge(counts, on="unit_code", how="left")
    for column in ("records", "distinct_requesters", "unresolved", "overdue", "urgent"):
        frame[column] = frame[column].fillna(0).astype("int64") if column in frame else pd.Series(0, index=frame.index)
    frame["top_categories"] = frame["top_categories"].apply(
        lambda v: list(v) if isinstance(v, (list, np.ndarray)) else []) if "top_categories" in frame else [[]] * len(frame)
    population = frame["population"].astype("float64")
    population = population.where(population > 0)
    frame["population"] = population
    frame["per_10k"] = frame["records"] / population * 10_000
    frame["requesters_per_10k"] = frame["distinct_requesters"] / population * 10_000
    frame["smoothed_per_10k"] = stats.eb_smoothed_rate(frame["records"], population, frame["district_adcode"]) * 10_000
    frame["smoothed_requesters_per_10k"] = stats.eb_smoothed_rate(frame["distinct_requesters"], population,
                                                                   frame["district_adcode"]) * 10_000
    frame["rankable"] = frame["records"] >= min_records_to_rank
    frame["rank_smoothed"] = frame["smoothed_per_10k"].where(frame["rankable"]).rank(ascending=False, method="min")
    return frame.reset_index(drop=True)


def unplaced_records(con: Connection, f: Filter, layer_id: str) -> int:
    """Records of ``f``'s view (its district) in no unit of the layer: no point (placed by
    address), or a point outside every unit (a gap in the layer). 0 for a layer that does not exist."""
    if not has_layers(con):
        return 0
    where, params = f.with_changes(unit_code=None).where_sql("d")
    return int(con.execute(
        f"""
        SELECT count(*) FROM demands d WHERE {where}
          AND d.record_id NOT IN (SELECT u.record_id FROM record_units u WHERE u.layer_id = $layer)
          AND EXISTS (SELECT 1 FROM boundary_layers l WHERE l.layer_id = $layer)
        """,
        params | {"layer": layer_id},
    ).fetchone()[0])


def unit_names(con: Connection) -> dict[str, str]:
    """``layer/unit`` (``Filter.unit_key``) → the unit's name, for titles, for every unit of every layer."""
    if not has_layers(con):
        return {}
    return {f"{layer}/{code}": name for layer, code, name in con.execute(
        "SELECT layer_id, unit_code, name FROM boundary_units").fetchall()}


def unit_at(units: pd.DataFrame, lon: float, lat: float) -> str | None:
    """The code of the unit (``unit_geometries``' rows) whose shape holds the point, or None."""
    if not len(units):
        return None
    shapes = shapely.from_geojson(list(units["geometry"]))
    hit = np.flatnonzero(shapely.contains_xy(shapes, lon, lat))
    return str(units["unit_code"].iloc[hit[0]]) if hit.size else None


def resolve(con: Connection, f: Filter) -> tuple[Filter, str | None]:
    """``f`` with its unit checked against the database, and why it changed (an ``i18n`` key) or None.

    A unit of a layer that no longer exists (replaced under another id, or removed), or a code
    no layer of its layer's level has, is dropped from the view (``layer_gone`` / ``unit_gone``);
    a shorthand whose level has no layer (``level_missing``) likewise. A code its layer lacks but
    another layer of the same level has is taken from that one (the newest). A unit found is put
    in its district and city, so ``?township=CODE`` alone opens the unit with its breadcrumb.
    """
    if not f.unit_code and not f.layer_id:
        return f, None
    known = layers(con)
    if f.layer_id and f.layer_id not in set(known["layer_id"]):
        return f.with_changes(layer_id=None, unit_code=None), "layer_gone"
    if not f.unit_code:
        return f, None
    if not f.layer_id:
        return f.with_changes(unit_code=None), "level_missing"
    found = unit(con, f.layer_id, f.unit_code)
    if found is None:
        # Another layer of the same level that has the code (``?township=`` names a code, not a
        # layer; a newer township layer may lack a unit an older one has): the newest such layer.
        sibling = con.execute(
            """
            SELECT u.layer_id FROM boundary_units u JOIN boundary_layers l ON l.layer_id = u.layer_id
            WHERE u.unit_code = $unit AND l.level = (SELECT level FROM boundary_layers WHERE layer_id = $layer)
            ORDER BY l.imported_at DESC, l.layer_id LIMIT 1
            """,
            {"unit": f.unit_code, "layer": f.layer_id},
        ).fetchone()
        if sibling is None:
            return f.with_changes(unit_code=None), "unit_gone"
        f = f.with_changes(layer_id=sibling[0])
        found = unit(con, f.layer_id, f.unit_code)
    district = str(found["district_adcode"])
    if f.district_adcode != district:
        f = f.with_changes(city_adcode=district[:4] + "00", district_adcode=district)
    return f, None


def geojson(units: pd.DataFrame) -> str:
    """The units as one GeoJSON FeatureCollection text (code and name as properties): for files."""
    features = [{"type": "Feature", "geometry": json.loads(text), "properties": {"unit_code": code, "name": name}}
                for code, name, text in zip(units["unit_code"], units["name"], units["geometry"], strict=True)]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
