"""Geography of the demo: districts, county seats and city centres, and points drawn inside the
district polygons (around the seats, over the whole district, or inside one cluster cell)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely

from needsmap import boundaries, coords, repeats, settings


def _seats_gcj02() -> dict[str, tuple[float, float]]:
    """Seat of each county-level government (GCJ-02, converted to WGS-84 on load): the centre of
    the urban core, from ``data/zhejiang_county_seats.csv`` (its source is in data/BOUNDARIES.md).
    tests/test_demo.py checks every seat lies in its polygon."""
    with open(settings.COUNTY_SEATS_CSV, encoding="utf-8", newline="") as file:
        return {row["adcode"]: (float(row["lon_gcj02"]), float(row["lat_gcj02"])) for row in csv.DictReader(file)}


# City centres (GCJ-02, from the same AMap district centres as the seats; Hangzhou and Ningbo
# moved by hand from the new civic centres to the old cores, 湖滨/武林 and 三江口) and the spread
# of each city's central built-up area in km. In urban districts near one, part of the core is drawn around the city centre, so
# the dense area runs on across district borders as a real city centre does.
_CITY_CENTRES_GCJ02: dict[str, tuple[float, float, float]] = {
    "330100": (120.175, 30.265, 6.0), "330200": (121.550752, 29.874903, 5.0),
    "330300": (120.699361, 27.993828, 4.5), "330400": (120.75547, 30.746191, 3.0),
    "330500": (120.086809, 30.89441, 3.0), "330600": (120.580364, 30.030192, 3.5),
    "330700": (119.647229, 29.079208, 3.0), "330800": (118.859457, 28.970079, 3.0),
    "330900": (122.207106, 29.985553, 3.0), "331000": (121.42076, 28.65638, 3.5),
    "331100": (119.922796, 28.46763, 3.0),
}
_CITY_CORE_MIN_SHARE = 0.08  # use the city core only where this much of it falls in the district

# Coastal units a typhoon reaches first (Ningbo, Wenzhou, Taizhou and Zhoushan coasts).
_COASTAL = (
    "330206", "330211", "330225", "330226", "330303", "330305", "330326", "330327", "330381",
    "330382", "330383", "330902", "330903", "330921", "331002", "331004", "331022", "331081",
    "331082", "331083",
)

_KM_PER_DEGREE = 111.32


@dataclass(frozen=True)
class _Geography:
    adcodes: list[str]
    names: list[str]
    cities: list[str]
    urban_rural: list[str]
    rural: np.ndarray  # bool
    population: np.ndarray
    geoms: np.ndarray  # prepared shapely polygons
    bounds: np.ndarray  # (n, 4) min_lon, min_lat, max_lon, max_lat
    seat_lon: np.ndarray
    seat_lat: np.ndarray
    core_sigma_km: np.ndarray
    city_lon: np.ndarray
    city_lat: np.ndarray
    city_sigma_km: np.ndarray
    city_share: np.ndarray  # share of the city-centre Gaussian inside the district; 0 if unused


@lru_cache(maxsize=1)
def _geography() -> _Geography:
    districts = boundaries.load_districts()
    # The shapes the importer assigns points with (full resolution), so every demo point lies in
    # the district it is stored under by the app's own test; same order (by adcode).
    geoms = np.array(boundaries.assignment_shapes()[1], dtype=object)
    shapely.prepare(geoms)
    adcodes = districts["adcode"].tolist()
    seats = _seats_gcj02()
    seat_gcj = np.array([seats[a] for a in adcodes])
    seat_lon, seat_lat = coords.to_wgs84(seat_gcj[:, 0], seat_gcj[:, 1], "gcj02")
    bounds = shapely.bounds(geoms)
    mid_lat = np.radians((bounds[:, 1] + bounds[:, 3]) / 2)
    area_km2 = shapely.area(geoms) * _KM_PER_DEGREE**2 * np.cos(mid_lat)
    rural = (districts["urban_rural"] == "rural").to_numpy()
    city = np.array([_CITY_CENTRES_GCJ02[c] for c in districts["city_adcode"]])
    city_lon, city_lat = coords.to_wgs84(city[:, 0], city[:, 1], "gcj02")
    # How much of each city-centre Gaussian falls in each urban district (fixed sample, not seeded).
    unit = np.random.default_rng(0).standard_normal((2, 20_000))
    city_share = np.zeros(len(adcodes))
    for d in np.flatnonzero(~rural):
        dx, dy = _km_to_degrees(city[d, 2] * unit, city_lat[d])
        share = shapely.contains_xy(geoms[d], city_lon[d] + dx[0], city_lat[d] + dy[1]).mean()
        city_share[d] = share if share >= _CITY_CORE_MIN_SHARE else 0.0
    return _Geography(
        adcodes=adcodes, names=districts["name"].tolist(), cities=districts["city"].tolist(),
        urban_rural=districts["urban_rural"].tolist(), rural=rural,
        population=districts["population_2020"].to_numpy(dtype=float),
        geoms=geoms, bounds=bounds, seat_lon=seat_lon, seat_lat=seat_lat,
        # a county seat's built-up core spans a few km; larger districts have larger cores
        core_sigma_km=np.clip(0.09 * np.sqrt(area_km2), 1.2, 4.0),
        city_lon=city_lon, city_lat=city_lat, city_sigma_km=city[:, 2], city_share=city_share,
    )


def _km_to_degrees(km: float | np.ndarray, lat: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Δlon, Δlat) in degrees for a distance in km at latitude ``lat``."""
    dlat = np.asarray(km) / _KM_PER_DEGREE
    return dlat / np.cos(np.radians(lat)), dlat


def _draw_inside(
    geo: _Geography, district: int, n: int, draw: Callable[[int], tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points from ``draw`` that fall inside the district (rejection sampling, vectorised).

    Coordinates are rounded to 6 decimals (~0.1 m) *before* the test, so what is stored or
    exported is exactly what was tested.
    """
    geom = geo.geoms[district]
    xs, ys, got, acceptance = [], [], 0, 0.5
    for _ in range(10_000):
        if got >= n:
            break
        batch = int(min(2_000_000, (n - got) / acceptance * 1.25 + 32))
        x, y = draw(batch)
        x, y = np.round(x, 6), np.round(y, 6)
        inside = shapely.contains_xy(geom, x, y)
        acceptance = max(float(inside.mean()), 0.005)
        xs.append(x[inside])
        ys.append(y[inside])
        got += int(inside.sum())
    else:  # pragma: no cover - would need a district with almost no area
        raise RuntimeError(f"could not place points inside district {geo.adcodes[district]}")
    if n == 0:
        return np.empty(0), np.empty(0)
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def _gaussian(rng: np.random.Generator, lon: float, lat: float, sigma_km: float):
    sx, sy = _km_to_degrees(sigma_km, lat)
    return lambda m: (lon + rng.normal(0.0, sx, m), lat + rng.normal(0.0, sy, m))


def _uniform(rng: np.random.Generator, geo: _Geography, district: int):
    x0, y0, x1, y1 = geo.bounds[district]
    return lambda m: (rng.uniform(x0, x1, m), rng.uniform(y0, y1, m))


def _district_points(rng: np.random.Generator, geo: _Geography, district: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points for ordinary records: most near the seat (urban core), the rest over the district."""
    if geo.rural[district]:
        shares = (0.0, 0.40, 0.20, 0.40)
    elif geo.city_share[district] > 0:  # part of a city centre: half the core around it
        shares = (0.30, 0.25, 0.25, 0.20)
    else:
        shares = (0.0, 0.55, 0.25, 0.20)
    n_city, n_core, n_wide, n_uniform = rng.multinomial(n, shares)
    lon0, lat0, sigma = geo.seat_lon[district], geo.seat_lat[district], geo.core_sigma_km[district]
    city = _gaussian(rng, geo.city_lon[district], geo.city_lat[district], geo.city_sigma_km[district])
    parts = (
        _draw_inside(geo, district, n_city, city),
        _draw_inside(geo, district, n_core, _gaussian(rng, lon0, lat0, sigma)),
        _draw_inside(geo, district, n_wide, _gaussian(rng, lon0, lat0, 3 * sigma)),
        _draw_inside(geo, district, n_uniform, _uniform(rng, geo, district)),
    )
    order = rng.permutation(n)  # the rows are in time order: mix the components
    return np.concatenate([p[0] for p in parts])[order], np.concatenate([p[1] for p in parts])[order]


@dataclass(frozen=True)
class _Grid:
    """The demand-cluster grid of ``repeats.cluster_ids``: cells of ``radius_m`` and windows of days."""

    radius_m: float
    window_s: float

    @property
    def metres_per_degree_lon(self) -> float:
        return repeats._METRES_PER_DEGREE_LAT * np.cos(np.radians(repeats._REFERENCE_LAT))

    def cell_centre(self, lon: float, lat: float) -> tuple[float, float]:
        cx = (np.floor(lon * self.metres_per_degree_lon / self.radius_m) + 0.5) * self.radius_m
        cy = (np.floor(lat * repeats._METRES_PER_DEGREE_LAT / self.radius_m) + 0.5) * self.radius_m
        return cx / self.metres_per_degree_lon, cy / repeats._METRES_PER_DEGREE_LAT

    def offsets(self, dx_m: np.ndarray, dy_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return dx_m / self.metres_per_degree_lon, dy_m / repeats._METRES_PER_DEGREE_LAT


def _compound(
    rng: np.random.Generator, geo: _Geography, grid: _Grid, district: int, near_seat: bool,
) -> tuple[float, float]:
    """The centre of one cluster cell whose inner square (±35 % of a cell) lies in the district:
    a residential compound whose calls all fall into one demand cluster."""
    half_lon, half_lat = grid.offsets(np.array(0.35 * grid.radius_m), np.array(0.35 * grid.radius_m))
    for _ in range(1_000):
        if near_seat:
            draw = _gaussian(rng, geo.seat_lon[district], geo.seat_lat[district], 2 * geo.core_sigma_km[district])
        else:
            draw = _uniform(rng, geo, district)
        lon, lat = _draw_inside(geo, district, 1, draw)
        cx, cy = grid.cell_centre(float(lon[0]), float(lat[0]))
        square = shapely.box(cx - half_lon, cy - half_lat, cx + half_lon, cy + half_lat)
        if shapely.contains(geo.geoms[district], square):
            return cx, cy
    return float(geo.seat_lon[district]), float(geo.seat_lat[district])  # pragma: no cover


def _compound_points(
    rng: np.random.Generator, geo: _Geography, grid: _Grid, district: int, centre: tuple[float, float],
    n: int, sigma_fraction: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points within ±35 % of a cell around ``centre`` (so all in one cell and the district)."""
    half = 0.35 * grid.radius_m
    dx = np.clip(rng.normal(0.0, sigma_fraction * grid.radius_m, n), -half, half)
    dy = np.clip(rng.normal(0.0, sigma_fraction * grid.radius_m, n), -half, half)
    ox, oy = grid.offsets(dx, dy)
    return np.round(centre[0] + ox, 6), np.round(centre[1] + oy, 6)
