"""A SYNTHETIC township layer for the demo: made-up 乡镇街道 inside real county outlines.

There is no openly licensed township boundary set for Zhejiang, so the demo cannot ship real
ones. To let the drill-down below the county be tried from a clone, a few districts get made-up
units: seats are drawn where the demo's records crowd (``geography._district_points``: dense
around the county seat, thinner over the county) and grouped by k-means, so urban units are
small and rural ones large; each unit is the Voronoi cell of its seat (``shapely.voronoi_polygons``)
clipped to the county's real full-resolution outline. Names say 示例 (example) and are numbered
(示例一街道, 示例二镇 …: units near the county seat are 街道, farther out 镇, in rural counties the
farthest 乡); the layer is stored with ``synthetic = TRUE`` and a name that says it is not real.
Codes are the county's adcode and three digits (``330106001``); population is the county's 2020
census figure split by the share of a fixed sample of demo points each unit holds.

``synthetic_units`` also builds a whole-province layer for the bench (``township_payload_bytes``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.cluster.vq import kmeans2

from needsmap import boundaries, layers
from needsmap.demo.geography import _district_points, _geography, _km_to_degrees

DEMO_LAYER_ID = "township"
DEMO_LAYER_NAME = "示例乡镇街道（合成数据，非真实边界） synthetic demo townships, not real boundaries"
# County → number of made-up units (about as many 乡镇街道 as the county really has):
# 西湖区 (urban, Hangzhou), 鄞州区 (urban, Ningbo), 淳安县 (rural, mountains and 千岛湖).
DEMO_DISTRICTS: dict[str, int] = {"330106": 11, "330212": 24, "330127": 23}

_NUMERALS = "一二三四五六七八九"
_SAMPLE_POINTS = 2_000  # per county: seats are grouped from these and population split by them


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 24 → 二十四 (n from 1 to 99)."""
    tens, ones = divmod(n, 10)
    prefix = "" if tens == 0 else ("十" if tens == 1 else _NUMERALS[tens - 1] + "十")
    return prefix + (_NUMERALS[ones - 1] if ones else "")


def _suffixes(count: int, rural: bool) -> list[str]:
    """Kinds of unit by rank of distance from the county seat (nearest first)."""
    if rural:  # the seat town's streets, then towns, the remotest are 乡
        streets, towns = max(1, round(count * 0.1)), round(count * 0.45)
        return ["街道"] * streets + ["镇"] * towns + ["乡"] * (count - streets - towns)
    streets = max(1, round(count * 0.7))
    return ["街道"] * streets + ["镇"] * (count - streets)


def _split(total: float, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that add up to ``total`` (largest remainder)."""
    exact = total * weights / weights.sum()
    whole = np.floor(exact).astype(np.int64)
    short = int(round(total)) - int(whole.sum())
    whole[np.argsort(-(exact - whole), kind="stable")[:short]] += 1
    return whole


def _county_units(geo: object, district: int, count: int, rng: np.random.Generator) -> pd.DataFrame:
    adcode = geo.adcodes[district]
    outline = geo.geoms[district]
    lon, lat = _district_points(rng, geo, district, _SAMPLE_POINTS)
    # k-means in km (not degrees) so cells are not stretched east–west.
    kx, ky = _km_to_degrees(1.0, geo.seat_lat[district])
    sample = np.column_stack([lon / kx, lat / ky])
    centres, _ = kmeans2(sample, count, minit="++", seed=rng, iter=10)
    # Each seat is the sample point nearest its centre, so every seat lies inside the county.
    nearest = np.argmin(((sample[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=0)
    seats = shapely.points(lon[nearest], lat[nearest])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seats), extend_to=outline.envelope,
                                                      ordered=True))
    geoms = np.array([boundaries.polygonal(shapely.make_valid(shapely.intersection(cell, outline)))
                      for cell in cells], dtype=object)
    # Population by the sample points each unit holds (at least one person's worth each).
    owner = shapely.STRtree(geoms).query(shapely.points(lon, lat), predicate="intersects")
    held = np.bincount(owner[1][np.unique(owner[0], return_index=True)[1]], minlength=count).astype(float)
    population = _split(geo.population[district], np.maximum(held, 1.0))
    # Number the units from the county seat outwards.
    seat = shapely.Point(geo.seat_lon[district], geo.seat_lat[district])
    order = np.argsort(shapely.distance(seats, seat), kind="stable")
    suffixes = _suffixes(count, bool(geo.rural[district]))
    return pd.DataFrame({
        "unit_code": [f"{adcode}{rank + 1:03d}" for rank in range(count)],
        "name": [f"示例{chinese_number(rank + 1)}{suffixes[rank]}" for rank in range(count)],
        "district_adcode": adcode,
        "population": population[order],
        "area_km2": layers.area_km2(geoms[order]),
        "geometry": geoms[order],
    })


def synthetic_units(districts: dict[str, int], seed: int) -> pd.DataFrame:
    """Made-up units for the given counties (adcode → how many), columns as ``layers.write_layer`` takes."""
    geo = _geography()
    frames = []
    for adcode, count in districts.items():
        district = geo.adcodes.index(adcode)
        frames.append(_county_units(geo, district, count, np.random.default_rng([seed, 17, int(adcode)])))
    return pd.concat(frames, ignore_index=True)


def write_demo_layer(con: object, seed: int = 2025) -> dict[str, int]:
    """Write the demo's synthetic township layer into an open writing connection and assign the
    records to it; returns ``layers.assign_records``' answer."""
    units = synthetic_units(DEMO_DISTRICTS, seed)
    layer = {"layer_id": DEMO_LAYER_ID, "level": "township", "name": DEMO_LAYER_NAME,
             "source_file": "demo", "sha256": None, "source_crs": "wgs84", "synthetic": True}
    return layers.write_layer(con, layer, units)


def province_unit_counts(total: int = 1_400) -> dict[str, int]:
    """How many made-up units each of the 90 counties gets for a whole-province layer of ``total``
    (Zhejiang has about 1,400 乡镇街道): by half area, half population, at least 3 each."""
    geo = _geography()
    area = layers.area_km2(geo.geoms)
    weight = 0.5 * area / area.sum() + 0.5 * geo.population / geo.population.sum()
    counts = np.maximum(3, _split(total - 3 * len(weight), weight) + 3)
    return {adcode: int(n) for adcode, n in zip(geo.adcodes, counts, strict=True)}


def province_layer_payload_bytes(total: int = 1_400, seed: int = 2025) -> dict[str, float]:
    """Build a synthetic ``total``-unit layer over the whole province in a scratch database and
    measure what the map sends for it: ``township_payload_bytes`` (the whole layer's GeoJSON,
    ``layers.layer_payload_bytes``), the units and the display tolerance chosen."""
    import duckdb

    from needsmap import schema

    units = synthetic_units(province_unit_counts(total), seed)
    con = duckdb.connect()
    try:
        con.execute(schema.DDL)
        layer = {"layer_id": "bench", "level": "township", "name": "bench", "synthetic": True}
        layers.write_layer(con, layer, units)
        return {"township_payload_bytes": layers.layer_payload_bytes(con, "bench"), "township_units": len(units),
                "township_vertices_full": int(shapely.get_num_coordinates(units["geometry"].to_numpy()).sum())}
    finally:
        con.close()
