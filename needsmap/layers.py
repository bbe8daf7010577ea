"""Boundary layers below the county: 乡镇街道 townships, communities, planning grids.

A layer is a set of units (``schema.LAYER_DDL``): each with a code, a name, its parent county,
population (when the file gives it), area, a simplified GeoJSON geometry for the map and the
full-resolution WKB geometry records are assigned with. Several layers may exist at once
(townships and a grid); each record with a point is linked to the unit of each layer that holds
it (``record_units``). Records placed without a point (by district name, address or city) are in
no unit: they still count in their district.

``import_layer`` reads a user's file (GeoJSON, zipped Shapefile, GeoPackage), ``assign_records``
links records to units (the importer calls it for the records of each new batch), and the demo
writes a synthetic layer (``needsmap.demo.townships``) through ``write_layer``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyproj import Transformer

from needsmap import boundaries, layer_checks, layer_files, layer_queries, schema, store
from needsmap.errors import NeedsmapError, UnusableFileError
from needsmap.i18n import error
from needsmap.layer_checks import CHECKS, Finding

LEVELS = schema.LAYER_LEVELS

# The whole layer's display payload (its GeoJSON as the map sends it) stays within this many
# bytes: the same budget as the district map's. Tolerances (degrees, ~11 m to ~440 m) are tried
# from the finest until the layer fits.
PAYLOAD_BUDGET_BYTES = 1_500_000
DISPLAY_TOLERANCES = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.004)

# Records that carry a point (PLACE_BASES "point" / "point_offshore"); a writer that has not yet
# had ``place_basis`` filled (the demo, before commit) marks a point by its coordinates.
_POINT_RECORDS_SQL = """
    lon IS NOT NULL AND lat IS NOT NULL
    AND coalesce(place_basis, 'point') IN ('point', 'point_offshore')
"""


# Areas in km²: an Albers equal-area projection fitted to Zhejiang (standard parallels 27.5° and
# 30.5° N: scale error under 0.1 % across the province).
EQUAL_AREA_CRS = "+proj=aea +lat_0=0 +lon_0=120.5 +lat_1=27.5 +lat_2=30.5 +ellps=GRS80 +units=m +no_defs"


@lru_cache(maxsize=1)
def _to_equal_area() -> Transformer:
    return Transformer.from_crs("EPSG:4326", EQUAL_AREA_CRS, always_xy=True)


@lru_cache(maxsize=1)
def _from_equal_area() -> Transformer:
    return Transformer.from_crs(EQUAL_AREA_CRS, "EPSG:4326", always_xy=True)


def to_metres(geoms: np.ndarray) -> np.ndarray:
    """WGS-84 geometries in the equal-area projection (metres)."""
    transformer = _to_equal_area()
    return shapely.transform(np.asarray(geoms, dtype=object),
                             lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def to_degrees(geoms: np.ndarray) -> np.ndarray:
    """Geometries of the equal-area projection back in WGS-84."""
    transformer = _from_equal_area()
    return shapely.transform(np.asarray(geoms, dtype=object),
                             lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def area_km2(geoms: np.ndarray) -> np.ndarray:
    """Area of each WGS-84 geometry in km²."""
    return shapely.area(to_metres(geoms)) / 1e6


def list_layers(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The layers (``boundary_layers`` columns plus ``assigned_records`` and ``population``, the sum
    of the units' known populations, null when none is known), by level then id; an empty frame for
    a database made before layers existed (read-only connections cannot add them)."""
    columns = ["layer_id", "level", "name", "source_file", "sha256", "source_crs", "imported_at", "units",
               "synthetic", "assigned_records", "population"]
    if not layer_queries.has_layers(con):
        return pd.DataFrame(columns=columns)
    return con.execute(
        """
        SELECT l.layer_id, l.level, l.name, l.source_file, l.sha256, l.source_crs, l.imported_at, l.units,
               l.synthetic, coalesce(r.assigned, 0) AS assigned_records, p.population
        FROM boundary_layers l
        LEFT JOIN (SELECT layer_id, count(*) AS assigned FROM record_units GROUP BY layer_id) r USING (layer_id)
        LEFT JOIN (SELECT layer_id, sum(population) AS population FROM boundary_units GROUP BY layer_id) p USING (layer_id)
        ORDER BY l.level, l.layer_id
        """
    ).df()[columns]


def _layer_shapes(con: duckdb.DuckDBPyConnection, layer_id: str) -> tuple[np.ndarray, np.ndarray]:
    """(unit codes, full-resolution geometries) of a layer, sorted by code."""
    rows = con.execute(
        "SELECT unit_code, geometry_full FROM boundary_units WHERE layer_id = ? ORDER BY unit_code", [layer_id]
    ).fetchall()
    codes = np.array([code for code, _ in rows], dtype=object)
    return codes, shapely.from_wkb([bytes(wkb) for _, wkb in rows]) if rows else np.empty(0, dtype=object)


def assign_records(con: duckdb.DuckDBPyConnection, layer_id: str | None = None, *,
                   batch_id: int | None = None) -> dict[str, int]:
    """Link records with a point to the unit of the layer that holds them, in ``con``'s transaction.

    ``layer_id`` None: every layer. ``batch_id``: only the records that import batch added or
    changed (``batch_id`` or ``updated_batch_id``), else every record. Earlier links of those
    records are replaced. A point on a border between two units, or in two overlapping units,
    goes to the lower unit code. Returns layer id → records linked by this call.
    """
    store.seed_layer_tables(con)
    if layer_id is None:
        layer_ids = [row[0] for row in con.execute("SELECT layer_id FROM boundary_layers ORDER BY layer_id").fetchall()]
    else:
        layer_ids = [layer_id]
    if not layer_ids:
        return {}
    which = "" if batch_id is None else "AND (batch_id = $batch_id OR updated_batch_id = $batch_id)"
    batch = {} if batch_id is None else {"batch_id": batch_id}
    points = con.execute(f"SELECT record_id, lon, lat FROM demands WHERE {_POINT_RECORDS_SQL} {which}", batch).fetchnumpy()
    assigned: dict[str, int] = {}
    for current in layer_ids:
        if batch_id is None:
            con.execute("DELETE FROM record_units WHERE layer_id = ?", [current])
        else:
            con.execute(
                f"""
                DELETE FROM record_units WHERE layer_id = $layer_id
                AND record_id IN (SELECT record_id FROM demands WHERE TRUE {which})
                """,
                {"layer_id": current, **batch},
            )
        codes, geoms = _layer_shapes(con, current)
        unit = boundaries.units_at(points["lon"], points["lat"], geoms, codes)
        inside = unit != None  # noqa: E711 — elementwise on an object array
        links = pa.table({
            "layer_id": pa.array([current] * int(inside.sum()), pa.string()),
            "record_id": pa.array(np.asarray(points["record_id"], dtype=object)[inside], pa.string()),
            "unit_code": pa.array(unit[inside], pa.string()),
        })
        con.register("new_record_units", links)
        try:
            con.execute("INSERT INTO record_units SELECT layer_id, record_id, unit_code FROM new_record_units")
        finally:
            con.unregister("new_record_units")
        assigned[current] = int(inside.sum())
    return assigned


def display_geometries(geoms: np.ndarray, budget_bytes: int = PAYLOAD_BUDGET_BYTES,
                       per_unit_bytes: int = 0) -> tuple[list[str], float]:
    """(GeoJSON geometry texts for display, the tolerance used): the finest simplification in
    ``DISPLAY_TOLERANCES`` whose texts, plus ``per_unit_bytes`` of properties per unit, fit
    ``budget_bytes``; the coarsest if none does.

    Each coarser try simplifies the previous try's shapes, not the full ones: a layer of a million
    vertices is simplified in full once (~6 s), then from a tenth of that. The shapes move by at
    most the sum of the tolerances tried, under twice the last.
    """
    source = np.asarray(geoms, dtype=object)
    texts: list[str] = []
    for tolerance in DISPLAY_TOLERANCES:
        simplified = boundaries.simplify_coverage(source, tolerance)
        texts = [json.dumps(json.loads(text), separators=(",", ":")) for text in shapely.to_geojson(simplified)]
        if sum(len(text.encode()) for text in texts) + per_unit_bytes * len(texts) <= budget_bytes:
            break
        source = simplified
    return texts, tolerance


# What a unit's properties cost in the map's GeoJSON (code, name, county, a value and its text,
# colour and flags): reserved per unit when the geometry is fitted into the budget.
_PROPERTY_BYTES = 260


def write_layer(con: duckdb.DuckDBPyConnection, layer: dict, units: pd.DataFrame) -> dict[str, int]:
    """Write one layer in ``con``'s transaction, replacing a layer of the same id, and assign the
    records to it. ``layer``: the ``boundary_layers`` fields but ``units`` and ``imported_at``.
    ``units``: unit_code, name, district_adcode, population, area_km2 and ``geometry`` (shapely,
    WGS-84, full resolution). Returns ``assign_records``' answer."""
    store.seed_layer_tables(con)
    layer_id = layer["layer_id"]
    for table in ("record_units", "boundary_units", "boundary_layers"):
        con.execute(f"DELETE FROM {table} WHERE layer_id = ?", [layer_id])
    geoms = units["geometry"].to_numpy(dtype=object)
    texts, _ = display_geometries(geoms, per_unit_bytes=_PROPERTY_BYTES)
    population = pd.array(np.round(pd.to_numeric(units["population"], errors="coerce").astype("float64")), dtype="Int64")
    table = pa.table({
        "layer_id": pa.array([layer_id] * len(units), pa.string()),
        "unit_code": pa.array(units["unit_code"].astype(str).tolist(), pa.string()),
        "name": pa.array(units["name"].astype(str).tolist(), pa.string()),
        "district_adcode": pa.array(units["district_adcode"].tolist(), pa.string()),
        "population": pa.array([None if pd.isna(v) else int(v) for v in population], pa.int32()),
        "area_km2": pa.array(units["area_km2"].astype("float64").tolist(), pa.float64()),
        "geometry": pa.array(texts, pa.string()),
        "geometry_full": pa.array(list(shapely.to_wkb(geoms)), pa.binary()),
    })
    con.register("new_boundary_units", table)
    try:
        con.execute("INSERT INTO boundary_units SELECT * FROM new_boundary_units")
    finally:
        con.unregister("new_boundary_units")
    con.execute(
        """
        INSERT INTO boundary_layers (layer_id, level, name, source_file, sha256, source_crs, imported_at, units, synthetic)
        VALUES ($layer_id, $level, $name, $source_file, $sha256, $source_crs, $imported_at, $units, $synthetic)
        """,
        {"layer_id": layer_id, "level": layer["level"], "name": layer["name"], "source_file": layer.get("source_file"),
         "sha256": layer.get("sha256"), "source_crs": layer.get("source_crs"),
         "imported_at": datetime.now().replace(microsecond=0), "units": len(units),
         "synthetic": bool(layer.get("synthetic", False))},
    )
    return assign_records(con, layer_id)


def layer_payload_bytes(con: duckdb.DuckDBPyConnection, layer_id: str) -> int:
    """Bytes of the layer's whole-layer GeoJSON as a map would send it: every unit's display
    geometry with its code, name and county as properties."""
    rows = con.execute(
        "SELECT unit_code, name, district_adcode, geometry FROM boundary_units WHERE layer_id = ? ORDER BY unit_code",
        [layer_id],
    ).fetchall()
    features = [{"type": "Feature", "geometry": json.loads(geometry),
                 "properties": {"unit_code": code, "name": name, "adcode": adcode}}
                for code, name, adcode, geometry in rows]
    return len(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                          separators=(",", ":")).encode())


@dataclass(frozen=True)
class LayerReport:
    """What ``import_layer`` did: the layer, its units, the records linked, and the checks.

    ``checks``: check (``layer_checks.CHECKS``) → how many units (pairs for overlaps, areas for
    gaps) it found; ``problems``: each of them with a bilingual detail.
    """

    layer_id: str
    level: str
    name: str
    source_file: str
    source_crs: str
    units: int
    assigned_records: int
    population_known: int
    replaced: bool = False
    # unit codes of the replaced layer that the new one lacks (links and saved views to them lead nowhere now)
    removed_units: tuple[str, ...] = ()
    checks: dict[str, int] = field(default_factory=dict)
    problems: tuple[Finding, ...] = ()

    def summary_line(self) -> str:
        action = "已替换 replaced" if self.replaced else "已导入 imported"
        return (f"{action} 边界图层 boundary layer {self.layer_id} ({self.level}) from {self.source_file} "
                f"[{self.source_crs} → WGS-84]: units={self.units} records_linked={self.assigned_records} "
                f"population_known={self.population_known}")

    def checks_line(self) -> str:
        return "检查 checks: " + ", ".join(f"{check}={self.checks.get(check, 0)}" for check in CHECKS)

    def removed_line(self) -> str:
        """A line naming the replaced layer's units that are gone (empty if none)."""
        if not self.removed_units:
            return ""
        shown = ", ".join(self.removed_units[:10]) + (" …" if len(self.removed_units) > 10 else "")
        return (f"原图层有 {len(self.removed_units)} 个单元不在新图层中，指向它们的链接和已保存视图将打不开 "
                f"({len(self.removed_units)} units of the replaced layer are gone; links and saved views to them "
                f"no longer open): {shown}")

    def problem_lines(self, limit: int = 50) -> list[str]:
        lines = [f"  {p.check}: {' '.join(x for x in (p.name, p.unit_code) if x) or '–'}: {p.detail}"
                 for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  … 另有 {len(self.problems) - limit} 条 ({len(self.problems) - limit} more)")
        return lines


_LAYER_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def import_layer(db: Path, path: Path, level: str, *, name_field: str | None = None, code_field: str | None = None,
                 population_field: str | None = None, crs: str | None = None, layer_id: str | None = None,
                 replace: bool = False, name: str | None = None, population_table: Path | None = None) -> LayerReport:
    """Import a boundary layer file (GeoJSON, zipped Shapefile, GeoPackage) into ``db`` and link
    every record with a point to its units, in one transaction.

    ``level``: township | community | grid. Fields are found by name (``layer_files``) unless
    given; ``layer_files.NO_FIELD`` as the code or population field: the file has none. A given
    name field blank in most features, or population field without numbers, is refused. ``crs``: wgs84, cgcs2000, gcj02, bd09 or EPSG:code, else the file's own. ``layer_id``:
    default the level, or ``<level>-2`` … when that exists and ``replace`` is not set; an existing
    id is replaced only with ``replace``. ``name``: the layer's title (default the file's stem).
    ``population_table``: a CSV/Excel of population by unit code (or name), which wins over the file's field.
    A file that cannot be used raises ``UnusableFileError`` (other mistakes ``NeedsmapError``)
    and changes nothing.
    """
    if level not in LEVELS:
        raise NeedsmapError(error("layer_level", level=level, allowed=", ".join(LEVELS)))
    if layer_id is not None and not _LAYER_ID.fullmatch(layer_id):
        raise NeedsmapError(error("layer_id_invalid", layer_id=layer_id))
    path = Path(path)
    read = layer_files.read_layer_file(path, crs=crs, name_field=name_field, code_field=code_field,
                                       population_field=population_field)
    units, findings = _units(read, path.name)
    if population_table is not None:
        units["population"] = _joined_population(units, *layer_files.read_population_table(population_table))
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    with store.writing(db) as con:
        store.seed_layer_tables(con)
        existing = {row[0] for row in con.execute("SELECT layer_id FROM boundary_layers").fetchall()}
        chosen = _choose_layer_id(existing, level, layer_id, replace)
        layer = {"layer_id": chosen, "level": level, "name": name or path.stem, "source_file": path.name,
                 "sha256": sha256, "source_crs": read.source_crs, "synthetic": False}
        old_codes = {row[0] for row in con.execute(
            "SELECT unit_code FROM boundary_units WHERE layer_id = ?", [chosen]).fetchall()}
        assigned = write_layer(con, layer, units)
    counts = {check: 0 for check in CHECKS}
    for finding in findings:
        counts[finding.check] += 1
    return LayerReport(layer_id=chosen, level=level, name=layer["name"], source_file=path.name,
                       source_crs=read.source_crs, units=len(units), assigned_records=assigned[chosen],
                       population_known=int(units["population"].notna().sum()), replaced=chosen in existing,
                       removed_units=tuple(sorted(old_codes - set(units["unit_code"]))),
                       checks=counts, problems=tuple(findings))


def _joined_population(units: pd.DataFrame, by_code: dict[str, float], by_name: dict[str, float]) -> np.ndarray:
    """Each unit's population from the table: by code, else by name; else what the file said."""
    from_table = [by_code.get(code, by_name.get(name, np.nan)) for code, name in zip(units["unit_code"], units["name"],
                                                                                      strict=True)]
    return np.where(np.isnan(from_table), units["population"].to_numpy(dtype="float64"), from_table)


def _choose_layer_id(existing: set[str], level: str, layer_id: str | None, replace: bool) -> str:
    if layer_id is not None:
        if layer_id in existing and not replace:
            raise NeedsmapError(error("layer_exists", layer_id=layer_id))
        return layer_id
    if replace or level not in existing:
        return level
    number = 2
    while f"{level}-{number}" in existing:
        number += 1
    return f"{level}-{number}"


def _code_text(value: object) -> str | None:
    """A unit code as text: 330106001.0 (a number column) → "330106001"; blank → None."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _units(read: layer_files.LayerFile, file_name: str) -> tuple[pd.DataFrame, list[Finding]]:
    """The file's features as units: repaired, merged by code, placed in their counties, checked;
    missing codes made from the county's adcode and a running number."""
    frame = read.frame
    codes = [_code_text(v) for v in frame[read.code_field]] if read.code_field else [None] * len(frame)
    names = [str(v).strip() if v is not None and str(v).strip() not in ("", "nan", "None") else None
             for v in frame[read.name_field]]
    population = (pd.to_numeric(frame[read.population_field], errors="coerce") if read.population_field
                  else pd.Series(np.nan, index=frame.index)).to_numpy(dtype="float64", copy=True)
    population[population < 0] = np.nan
    raw = frame.geometry.to_numpy()
    findings: list[Finding] = []
    repaired = ~shapely.is_valid(raw)
    geoms = np.array([boundaries.polygonal(g) for g in shapely.make_valid(raw)], dtype=object)
    usable = ~shapely.is_empty(geoms) & (shapely.area(geoms) > 0)
    for i in np.flatnonzero(repaired & usable):
        findings.append(Finding("repaired", codes[i], names[i], error("layer_found_repaired")))
    for i in np.flatnonzero(~usable):
        findings.append(Finding("empty", codes[i], names[i], error("layer_found_empty")))
    units = pd.DataFrame({"unit_code": codes, "name": names, "population": population, "geometry": geoms})[usable]
    units["name"] = units["name"].fillna(units["unit_code"]).fillna("–")
    units, merged = _merge_by_code(units, file_name)
    findings += merged
    kept, placed = layer_checks.place_and_check(units.reset_index(drop=True), to_metres(units["geometry"].to_numpy()))
    if kept.empty:
        raise UnusableFileError(error("layer_all_outside", name=file_name))
    kept["unit_code"] = _filled_codes(kept)
    kept["geometry"] = shapely.orient_polygons(kept["geometry"].to_numpy(), exterior_cw=False)
    return kept.sort_values("unit_code").reset_index(drop=True), findings + placed


def _merge_by_code(units: pd.DataFrame, file_name: str) -> tuple[pd.DataFrame, list[Finding]]:
    """Features sharing a code are parts of one unit (a Shapefile of single parts): merged. A
    code naming two different units makes the file unusable."""
    coded = units[units["unit_code"].notna()]
    repeated = coded[coded["unit_code"].duplicated(keep=False)]
    if repeated.empty:
        return units, []
    clashes = repeated.groupby("unit_code")["name"].nunique()
    if (clashes > 1).any():
        raise UnusableFileError(error("layer_duplicate_codes", name=file_name,
                                      codes=", ".join(clashes[clashes > 1].index[:5])))
    findings = []
    rows = []
    for code, group in repeated.groupby("unit_code", sort=True):
        findings.append(Finding("merged", code, group["name"].iat[0], error("layer_found_merged", parts=len(group))))
        rows.append({"unit_code": code, "name": group["name"].iat[0],
                     "population": group["population"].sum(min_count=1),
                     "geometry": boundaries.polygonal(shapely.make_valid(shapely.union_all(group["geometry"].to_numpy())))})
    single = units[~units.index.isin(repeated.index)]
    return pd.concat([single, pd.DataFrame(rows)], ignore_index=True), findings


def _filled_codes(units: pd.DataFrame) -> list[str]:
    """Each unit's code; a unit without one gets its county's adcode and the next free number
    (units in name order)."""
    codes = units["unit_code"].tolist()
    taken = {code for code in codes if code}
    for i in sorted((i for i, code in enumerate(codes) if not code), key=lambda i: (units["district_adcode"].iat[i],
                                                                                    units["name"].iat[i], i)):
        number = 1
        while f"{units['district_adcode'].iat[i]}{number:03d}" in taken:
            number += 1
        codes[i] = f"{units['district_adcode'].iat[i]}{number:03d}"
        taken.add(codes[i])
    return codes
