"""Crafted boundary layers for tests of the level below the district (乡镇街道, grids).

A district's own outline (from the database) is cut into a grid of rectangles; each piece is a
unit with a made-up code, name and population. Records with a point are assigned to the unit
that holds it with shapely, here in the test — an assignment independent of the app's. The
tables are those of the layer contract (``boundary_layers``, ``boundary_units``,
``record_units``); they are created only where the database does not have them yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import shapely

LAYER_DDL = (
    """CREATE TABLE IF NOT EXISTS boundary_layers (layer_id VARCHAR, level VARCHAR, name VARCHAR, source_file VARCHAR,
       sha256 VARCHAR, source_crs VARCHAR, imported_at TIMESTAMP, units INTEGER, synthetic BOOLEAN)""",
    """CREATE TABLE IF NOT EXISTS boundary_units (layer_id VARCHAR, unit_code VARCHAR, name VARCHAR,
       district_adcode VARCHAR, population INTEGER, area_km2 DOUBLE, geometry VARCHAR, geometry_full BLOB)""",
    "CREATE TABLE IF NOT EXISTS record_units (layer_id VARCHAR, record_id VARCHAR, unit_code VARCHAR)",
)


@dataclass(frozen=True)
class Layer:
    layer_id: str
    level: str
    district: str
    units: pd.DataFrame  # unit_code, name, population, shape (shapely)


def add_layer(db: Path, layer_id: str, level: str, district: str, *, columns: int = 2, rows: int = 2,
              names: tuple[str, ...] | None = None, populations: tuple[int | None, ...] | None = None,
              name: str = "测试乡镇街道", synthetic: bool = False, imported_at: str = "2026-01-01 00:00") -> Layer:
    """Cut ``district``'s outline into ``columns × rows`` units and write them as layer ``layer_id``,
    with every record of the district whose point lies in a unit assigned to it."""
    con = duckdb.connect(str(db))
    try:
        for statement in LAYER_DDL:
            con.execute(statement)
        outline = shapely.from_geojson(con.execute("SELECT geometry_geojson FROM districts WHERE adcode = ?",
                                                   [district]).fetchone()[0])
        west, south, east, north = outline.bounds
        pieces = []
        for column in range(columns):
            for row in range(rows):
                box = shapely.box(west + (east - west) * column / columns, south + (north - south) * row / rows,
                                  west + (east - west) * (column + 1) / columns, south + (north - south) * (row + 1) / rows)
                piece = shapely.intersection(outline, box)
                if not piece.is_empty and piece.area > 0:
                    pieces.append(piece)
        count = len(pieces)
        names = names or tuple(f"第{n + 1}街道" for n in range(count))
        populations = populations or tuple(20_000 + 7_000 * n for n in range(count))
        units = pd.DataFrame({
            "unit_code": [f"{district}{n + 1:03d}" for n in range(count)], "name": list(names[:count]),
            "population": list(populations[:count]), "shape": pieces,
        })
        con.execute("INSERT INTO boundary_layers VALUES (?, ?, ?, ?, 'sha', 'EPSG:4326', CAST(? AS TIMESTAMP), ?, ?)",
                    [layer_id, level, name, f"{layer_id}.geojson", imported_at, count, synthetic])
        for unit in units.itertuples(index=False):
            con.execute("INSERT INTO boundary_units VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [layer_id, unit.unit_code, unit.name, district,
                         None if unit.population is None else int(unit.population), 1.0, shapely.to_geojson(unit.shape),
                         shapely.to_wkb(unit.shape)])
        points = con.execute("SELECT record_id, lon, lat FROM demands WHERE district_adcode = ? AND lon IS NOT NULL",
                             [district]).df()
        shapes = list(units["shape"])
        assigned = []
        for record_id, lon, lat in points.itertuples(index=False):
            for code, shape in zip(units["unit_code"], shapes, strict=True):
                if shapely.contains_xy(shape, lon, lat):
                    assigned.append((layer_id, record_id, code))
                    break
        if assigned:
            con.executemany("INSERT INTO record_units VALUES (?, ?, ?)", assigned)
    finally:
        con.close()
    return Layer(layer_id, level, district, units)


def expected_units(db: Path, layer: Layer) -> pd.DataFrame:
    """Per unit, computed here from the records and the unit shapes (not from record_units): records,
    distinct_requesters, per_10k and the smoothed rate written out from Marshall's formulas."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        records = con.execute("SELECT record_id, lon, lat, coalesce(requester_hash, record_id) AS person FROM demands "
                              "WHERE district_adcode = ? AND lon IS NOT NULL", [layer.district]).df()
    finally:
        con.close()
    unit_of = []
    for lon, lat in zip(records["lon"], records["lat"], strict=True):
        hits = [code for code, shape in zip(layer.units["unit_code"], layer.units["shape"], strict=True)
                if shapely.contains_xy(shape, lon, lat)]
        unit_of.append(hits[0] if hits else None)
    records["unit_code"] = unit_of
    counts = records.dropna(subset=["unit_code"]).groupby("unit_code").agg(
        records=("record_id", "size"), distinct_requesters=("person", "nunique")).reset_index()
    frame = layer.units.drop(columns="shape").merge(counts, on="unit_code", how="left").fillna(
        {"records": 0, "distinct_requesters": 0})
    y, n = frame["records"].astype(float), frame["population"].astype(float)
    rate = y / n
    m = y.sum() / n.sum()
    s2 = max((n * (rate - m) ** 2).sum() / n.sum() - m / n.mean(), 0.0)
    weight = s2 / (s2 + m / n) if s2 > 0 else 0.0 * n
    frame["per_10k"] = rate * 10_000
    frame["smoothed_per_10k"] = (weight * rate + (1 - weight) * m) * 10_000
    frame["unplaced"] = int(records["unit_code"].isna().sum())
    return frame
