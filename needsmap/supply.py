"""Demand against supply: life-circle catchments, coverage, 2SFCA, crowding, best new sites.

Framework-free; arrays in, arrays and frames out. Distances are metres in a transverse Mercator
projection centred on Zhejiang (``project``: short distances true to within 0.3 % across the province).

**Life circles** (GB 50180-2018《城市居住区规划设计标准》: residential areas graded "按照居民在合理的
步行距离内满足基本生活需求的原则", clause 3.0.4 / 表 3.0.4 居住区分级控制规模 as far as could be told
without the printed text — see the README, "Distances", for what was and was not verified; walking
distance 步行距离): the 15-minute life circle 800–1,000 m, the 10-minute 500 m, the 5-minute 300 m.
``LIFE_CIRCLE_WALK_M`` takes the upper figure of the 15-minute range. These are distances walked:
over a road network (``network.RoadNetwork``) they are walks along it; without one a catchment is a
circle of straight-line radius walk distance ÷ ``DETOUR_FACTOR`` (1.3: a walk in a Chinese city is
typically 20–40 % longer than the straight line between its ends), so the 15-minute catchment is a
circle of 769 m. Records and facilities off the network are measured that way too.

**Coverage**: a demand record is covered when a facility of its category lies within the
catchment radius (the nearest facility, by a KD-tree, never a loop over records). A requester is
covered when at least one of their records (of that category, in that place) is covered.

**2SFCA** (two-step floating catchment area, Luo & Wang 2003; the formula of the ``access``
package's ``two_stage_fca`` with a uniform (binary) catchment weight):
step 1, every facility j gets the ratio R_j = S_j / Σ_{k: d_kj ≤ d0} P_k of its capacity S_j to
the demand P within its catchment; step 2, every demand point i gets A_i = Σ_{j: d_ij ≤ d0} R_j.
Here a demand point is a demand record (P_k = 1), so A_i is capacity (beds, places) per demand
record reaching it, and a district's score is the mean A_i over its records. 1 / R_j is the
facility's crowding: demand records per unit of capacity within its catchment. A facility whose
list gives no capacity takes the median capacity of its category.

**Best new sites** (maximal covering location problem, Church & ReVelle 1974): choose N candidate
sites to cover the most distinct requesters not covered today; by ``pulp`` (CBC) exactly, or
greedily (each step the site adding most).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from needsmap.network import RoadNetwork

# GB 50180-2018 (表 3.0.4 居住区分级控制规模): walking distance of each life circle (minutes → metres).
LIFE_CIRCLE_WALK_M: dict[int, float] = {5: 300.0, 10: 500.0, 15: 1000.0}
DETOUR_FACTOR = 1.3
# Up to this many uncovered requesters the best sites are found exactly (CBC through pulp, a few
# seconds at most); above it, greedily (each site adding the most; within 1 − 1/e of the optimum).
OPTIMAL_MAX_PEOPLE = 5_000
DEFAULT_MINUTES = 15


def catchment_radius_m(minutes: int = DEFAULT_MINUTES, detour_factor: float = DETOUR_FACTOR) -> float:
    """Straight-line radius (m) of a ``minutes`` life circle: walking distance ÷ detour factor."""
    if minutes not in LIFE_CIRCLE_WALK_M:
        raise ValueError(f"`minutes` was {minutes!r} but is expected to be in {tuple(LIFE_CIRCLE_WALK_M)}")
    return LIFE_CIRCLE_WALK_M[minutes] / detour_factor


# Spherical transverse Mercator on the Gaussian mean radius of curvature at 29.5° N (the middle
# of Zhejiang): conformal, so short distances are true to within 0.3 % across the province, and
# plain numpy (a million points in ~0.1 s; pyproj's ellipsoidal one takes ~1 s).
LON0_DEG, LAT0_DEG = 120.5, 29.5
EARTH_RADIUS_M = 6_367_400.0


def project(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """WGS-84 degrees → (n, 2) metres (transverse Mercator, central meridian 120.5° E)."""
    lam = np.radians(np.asarray(lon, "float64") - LON0_DEG)
    phi = np.radians(np.asarray(lat, "float64"))
    b = np.cos(phi) * np.sin(lam)
    x = EARTH_RADIUS_M * np.arctanh(b)
    y = EARTH_RADIUS_M * (np.arctan2(np.tan(phi), np.cos(lam)) - np.radians(LAT0_DEG))
    return np.column_stack([x, y])


def unproject(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) metres → WGS-84 (lon, lat), the inverse of ``project``."""
    xy = np.asarray(xy, "float64").reshape(-1, 2)
    d = xy[:, 1] / EARTH_RADIUS_M + np.radians(LAT0_DEG)
    xr = xy[:, 0] / EARTH_RADIUS_M
    lat = np.degrees(np.arcsin(np.sin(d) / np.cosh(xr)))
    lon = LON0_DEG + np.degrees(np.arctan2(np.sinh(xr), np.cos(d)))
    return lon, lat


def covered_mask(demand_xy: np.ndarray, facility_xy: np.ndarray, radius_m: float) -> np.ndarray:
    """True for each demand point with a facility within ``radius_m`` (KD-tree nearest neighbour)."""
    demand_xy = np.asarray(demand_xy, "float64").reshape(-1, 2)
    if len(facility_xy) == 0 or len(demand_xy) == 0:
        return np.zeros(len(demand_xy), dtype=bool)
    distance, _ = cKDTree(facility_xy).query(demand_xy, k=1, distance_upper_bound=radius_m, workers=-1)
    return np.isfinite(distance)


def catchment_pairs(demand_tree: cKDTree, facility_xy: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(demand index, facility index) of every demand point within ``radius_m`` of every facility."""
    if len(facility_xy) == 0 or demand_tree.n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    within = demand_tree.query_ball_point(np.asarray(facility_xy, "float64"), radius_m, workers=-1, return_sorted=False)
    lengths = np.fromiter((len(w) for w in within), dtype=np.int64, count=len(within))
    demand_index = np.concatenate([np.asarray(w, np.int64) for w in within]) if lengths.sum() else np.empty(0, np.int64)
    return demand_index, np.repeat(np.arange(len(within), dtype=np.int64), lengths)


def two_step_fca(capacity: np.ndarray, demand_weight: np.ndarray, demand_index: np.ndarray,
                 facility_index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(demand within each facility's catchment Σ P_k, facility ratio R_j, accessibility A_i).

    R_j = S_j / Σ P_k (0 where no demand reaches the facility: it then adds to no A_i anyway).
    """
    capacity = np.asarray(capacity, "float64")
    demand_in = np.bincount(facility_index, weights=np.asarray(demand_weight, "float64")[demand_index],
                            minlength=len(capacity))
    ratio = np.divide(capacity, demand_in, out=np.zeros_like(capacity), where=demand_in > 0)
    access = np.bincount(demand_index, weights=ratio[facility_index], minlength=len(demand_weight))
    return demand_in, ratio, access


def filled_capacity(capacity: np.ndarray) -> np.ndarray:
    """Capacities with unknown (NaN) ones set to the median of the known ones (1 if none is known)."""
    capacity = np.asarray(capacity, "float64").copy()
    known = capacity[~np.isnan(capacity)]
    capacity[np.isnan(capacity)] = float(np.median(known)) if known.size else 1.0
    return capacity


def covered_by_category(lon: np.ndarray, lat: np.ndarray, category: np.ndarray, facilities: pd.DataFrame,
                        radius_m: float, *, network: RoadNetwork | None = None,
                        walk_m: float | None = None) -> np.ndarray:
    """Coverage of every demand point by a facility of its own category (one KD-tree per category
    that has facilities; points of a category without facilities are not covered). ``category``
    holds codes, or numbers that index ``sorted(facilities.category.unique())`` from 1.

    With a ``network``: a point and a facility both on it are within reach when the walk between
    them (``walk_m``, default radius × detour factor) allows, by one Dijkstra per category from
    all its facilities at once; a pair with either end off the network is measured in straight
    line against ``radius_m``."""
    category = np.asarray(category)
    covered = np.zeros(len(category), dtype=bool)
    xy = project(lon, lat)
    walk_m = radius_m * DETOUR_FACTOR if walk_m is None else walk_m
    demand_node, demand_snap = network.snap(xy) if network is not None else (None, None)
    for number, (code, group) in enumerate(facilities.groupby("category", sort=True), start=1):
        rows = np.flatnonzero(category == (number if category.dtype.kind in "iu" else code))
        if not rows.size:
            continue
        facility_xy = project(group["lon"].to_numpy(), group["lat"].to_numpy())
        if network is None:
            covered[rows] = covered_mask(xy[rows], facility_xy, radius_m)
            continue
        facility_node, facility_snap = network.snap(facility_xy)
        on_facility = facility_node >= 0
        to_node = network.nearest_source_distance(facility_node[on_facility], facility_snap[on_facility], walk_m)
        on = demand_node[rows] >= 0
        on_rows, off_rows = rows[on], rows[~on]
        covered[on_rows] = to_node[demand_node[on_rows]] + demand_snap[on_rows] <= walk_m
        covered[on_rows] |= covered_mask(xy[on_rows], facility_xy[~on_facility], radius_m)
        covered[off_rows] = covered_mask(xy[off_rows], facility_xy, radius_m)
    return covered


def walking_pairs(points_xy: np.ndarray, sites_xy: np.ndarray, radius_m: float, network: RoadNetwork,
                  walk_m: float, *, point_snap: tuple[np.ndarray, np.ndarray] | None = None,
                  site_snap: tuple[np.ndarray, np.ndarray] | None = None,
                  point_tree: cKDTree | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(point index, site index) of every point within a site's catchment over a road network: the
    walk (snap + network + snap) at most ``walk_m`` when both are on it; the straight line at most
    ``radius_m`` when either is off it. ``point_snap`` / ``site_snap`` / ``point_tree``:
    ``network.snap`` results and a KD-tree of the points already at hand."""
    point_node, point_gap = point_snap if point_snap is not None else network.snap(points_xy)
    site_node, site_gap = site_snap if site_snap is not None else network.snap(sites_xy)
    on_points, on_sites = point_node >= 0, site_node >= 0
    source, node, walked = network.reach(site_node, site_gap, walk_m)
    on_rows = np.flatnonzero(on_points)
    position, point_at = _points_at_nodes(node, point_node[on_rows])
    point_at = on_rows[point_at]
    near = walked[position] + point_gap[point_at] <= walk_m
    straight_point, straight_site = catchment_pairs(point_tree if point_tree is not None else cKDTree(points_xy),
                                                    np.asarray(sites_xy).reshape(-1, 2), radius_m)
    off = ~on_points[straight_point] | ~on_sites[straight_site]
    return (np.concatenate([point_at[near], straight_point[off]]),
            np.concatenate([source[position][near], straight_site[off]]))


def _points_at_nodes(node: np.ndarray, point_node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``node``, point index) for every point whose ``point_node`` is in ``node``."""
    order = np.argsort(point_node, kind="stable")
    sorted_nodes = point_node[order]
    left = np.searchsorted(sorted_nodes, node, "left")
    counts = np.searchsorted(sorted_nodes, node, "right") - left
    position = np.repeat(np.arange(len(node)), counts)
    offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return position, order[left[position] + offset]


@dataclass
class CategorySupply:
    """One category's demand records against its facilities, computed once per view.

    ``demand``: lon, lat, district_adcode, requester_key per record (with a point);
    ``facilities``: facility_id, name, facility_type, capacity, lon, lat, district_adcode.
    ``network``: a walking network (``network.RoadNetwork``) or None for straight lines; with
    one, a record and a facility both on the network are within the catchment when the walk
    between them is at most ``walk_m`` (default ``radius_m`` × detour factor); a pair with either
    end off the network (``network.SNAP_MAX_M``) is measured in straight line against ``radius_m``.
    On construction: ``covered`` and ``access`` per record; ``facilities`` gains
    ``demand_in_catchment`` (records), ``requesters_in_catchment`` (distinct requesters),
    ``demand_per_capacity`` and ``capacity_used`` (capacity, unknown ones filled).
    """

    demand: pd.DataFrame
    facilities: pd.DataFrame
    radius_m: float
    network: RoadNetwork | None = None
    walk_m: float | None = None
    demand_xy: np.ndarray = field(init=False)
    facility_xy: np.ndarray = field(init=False)
    tree: cKDTree = field(init=False)
    covered: np.ndarray = field(init=False)
    access: np.ndarray = field(init=False)
    demand_node: np.ndarray = field(init=False)
    demand_snap: np.ndarray = field(init=False)
    facility_node: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.demand = self.demand.reset_index(drop=True)
        self.facilities = self.facilities.reset_index(drop=True).copy()
        if self.walk_m is None:
            self.walk_m = self.radius_m * DETOUR_FACTOR
        self.demand_xy = project(self.demand["lon"].to_numpy(), self.demand["lat"].to_numpy()) \
            if len(self.demand) else np.empty((0, 2))
        self.facility_xy = project(self.facilities["lon"].to_numpy(), self.facilities["lat"].to_numpy()) \
            if len(self.facilities) else np.empty((0, 2))
        self.tree = cKDTree(self.demand_xy)
        if self.network is not None:
            self.demand_node, self.demand_snap = self.network.snap(self.demand_xy)
            self.facility_node, facility_snap = self.network.snap(self.facility_xy)
        else:
            self.demand_node, self.demand_snap = np.full(len(self.demand), -1), np.full(len(self.demand), np.inf)
            self.facility_node, facility_snap = np.full(len(self.facilities), -1), np.full(len(self.facilities), np.inf)
        demand_index, facility_index = self._pairs(facility_snap)
        self.covered = np.bincount(demand_index, minlength=len(self.demand)) > 0
        capacity = filled_capacity(self.facilities["capacity"].to_numpy(dtype="float64"))
        demand_in, ratio, self.access = two_step_fca(capacity, np.ones(len(self.demand)), demand_index, facility_index)
        self.facilities["capacity_used"] = capacity
        self.facilities["demand_in_catchment"] = demand_in.astype("int64")
        person = pd.factorize(self.demand["requester_key"])[0] if len(self.demand) else np.empty(0, np.int64)
        pairs = np.unique(facility_index * (int(person.max()) + 1 if len(person) else 1) + person[demand_index])
        self.facilities["requesters_in_catchment"] = np.bincount(
            pairs // (int(person.max()) + 1 if len(person) else 1), minlength=len(self.facilities)).astype("int64")
        self.facilities["demand_per_capacity"] = demand_in / capacity

    def _pairs(self, facility_snap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(demand index, facility index) of every record within each facility's catchment."""
        if self.network is None:
            return catchment_pairs(self.tree, self.facility_xy, self.radius_m)
        return walking_pairs(self.demand_xy, self.facility_xy, self.radius_m, self.network, self.walk_m,
                             point_snap=(self.demand_node, self.demand_snap),
                             site_snap=(self.facility_node, facility_snap), point_tree=self.tree)

    def distances(self) -> dict[str, object]:
        """Which distance the figures use: ``kind`` (``network`` or ``straight``), the network's
        name, and the records and facilities off the network (measured in straight line)."""
        if self.network is None:
            return {"kind": "straight", "records_off_network": len(self.demand),
                    "facilities_off_network": len(self.facilities), "network": ""}
        return {"kind": "network", "network": self.network.name,
                "records_off_network": int((self.demand_node < 0).sum()),
                "facilities_off_network": int((self.facility_node < 0).sum())}

    def _reached(self, lon: float, lat: float) -> np.ndarray:
        """Records within the catchment of a facility placed at (lon, lat)."""
        point = project([lon], [lat])
        if self.network is None:
            return np.asarray(self.tree.query_ball_point(point[0], self.radius_m), dtype=np.int64)
        reached, _ = walking_pairs(self.demand_xy, point, self.radius_m, self.network, self.walk_m,
                                   point_snap=(self.demand_node, self.demand_snap), point_tree=self.tree)
        return reached

    def in_place(self, district_adcode: str | None = None, city_adcode: str | None = None) -> np.ndarray:
        """Mask of the records in a district, or a city (its districts), or everywhere."""
        adcodes = self.demand["district_adcode"].astype("str")
        if district_adcode:
            return (adcodes == district_adcode).to_numpy()
        if city_adcode:
            return (adcodes.str.slice(0, 4) == city_adcode[:4]).to_numpy()
        return np.ones(len(self.demand), dtype=bool)

    def uncovered(self, in_area: np.ndarray | None = None) -> pd.DataFrame:
        """The records not covered today (in ``in_area``), for ``best_sites``."""
        keep = ~self.covered if in_area is None else (~self.covered & in_area)
        return self.demand[keep]

    def what_if(self, lon: float, lat: float, capacity: float | None = None,
                in_area: np.ndarray | None = None) -> dict[str, float]:
        """Coverage and mean 2SFCA before and after a new facility at (lon, lat), over the records
        ``in_area`` (a boolean mask; all records when None).

        The new facility changes no existing R_j (their catchments hold the same demand), so
        A_i rises by R_new = S_new / (records within its catchment) for each record it reaches.
        ``capacity`` defaults to the median capacity of the category's facilities.
        """
        area = np.ones(len(self.demand), dtype=bool) if in_area is None else np.asarray(in_area, dtype=bool)
        if capacity is None or not np.isfinite(capacity):
            capacity = float(np.median(self.facilities["capacity_used"])) if len(self.facilities) else 1.0
        reached = self._reached(lon, lat)
        new_ratio = capacity / len(reached) if len(reached) else 0.0
        after_covered = self.covered.copy()
        after_covered[reached] = True
        records = int(area.sum())
        access_gain = new_ratio * float(area[reached].sum())
        return {
            "records": records,
            "covered_before": int(self.covered[area].sum()),
            "covered_after": int(after_covered[area].sum()),
            "share_before": float(self.covered[area].mean()) if records else float("nan"),
            "share_after": float(after_covered[area].mean()) if records else float("nan"),
            "access_before": float(self.access[area].mean()) if records else float("nan"),
            "access_after": float((self.access[area].sum() + access_gain) / records) if records else float("nan"),
            "reached": int(len(reached)),
            "newly_covered": int((~self.covered[reached] & area[reached]).sum()),
            "capacity": float(capacity),
        }


def district_measures(supply: CategorySupply, population: pd.Series) -> pd.DataFrame:
    """Per district (index of ``population``: adcode → residents) and the province (``"province"``):
    records, covered, coverage_share, distinct_requesters, requesters_covered,
    requester_coverage_share, uncovered, unmet_per_10k, facilities, capacity,
    capacity_per_10k, access_mean (mean 2SFCA)."""
    demand = supply.demand.assign(covered=supply.covered, access=supply.access)
    facilities = supply.facilities
    rows = []
    for adcode, records in list(demand.groupby("district_adcode", sort=True)) + [("province", demand)]:
        if adcode == "province":
            residents = float(population.sum())
            here = facilities
        else:
            residents = float(population.get(adcode, np.nan))
            here = facilities[facilities["district_adcode"] == adcode]
        rows.append(_measures_row(adcode, records, here, residents))
    for adcode in population.index.difference(demand["district_adcode"].dropna().unique()):
        here = facilities[facilities["district_adcode"] == adcode]
        rows.append(_measures_row(adcode, demand.head(0), here, float(population[adcode])))
    return pd.DataFrame(rows).sort_values("district_adcode", kind="stable").reset_index(drop=True)


def place_measures(supply_state: CategorySupply, in_place: np.ndarray, adcode: str, residents: float) -> dict:
    """``district_measures``' row for any place: its records (``in_place``) and the facilities
    in its districts (a city: district adcodes starting with its first four digits)."""
    demand = supply_state.demand.assign(covered=supply_state.covered, access=supply_state.access)[in_place]
    facilities = supply_state.facilities
    here = facilities[facilities["district_adcode"].astype(str).str.slice(0, 4) == adcode[:4]] \
        if adcode.endswith("00") else facilities[facilities["district_adcode"] == adcode]
    return _measures_row(adcode, demand, here, residents)


# The measures that count people's records (blanked in public mode below k); facility counts and
# capacities describe places and stay.
DEMAND_MEASURES = ("records", "covered", "coverage_share", "distinct_requesters", "requesters_covered",
                   "requester_coverage_share", "uncovered", "unmet_per_10k", "access_mean")


def in_shape(shape: object | None, frame: pd.DataFrame) -> np.ndarray:
    """Mask of the rows of ``frame`` (lon, lat) inside ``shape`` (a shapely polygon; None: a unit
    that is gone, so nothing is inside)."""
    if shape is None:
        return np.zeros(len(frame), dtype=bool)
    import shapely

    return shapely.contains_xy(shape, frame["lon"].to_numpy("float64"), frame["lat"].to_numpy("float64"))


def shape_measures(state: CategorySupply, in_unit: np.ndarray, code: str, shape: object | None,
                   residents: float) -> dict:
    """The measures of a unit below the district: the records of ``in_unit`` (already those inside
    the unit) and the facilities that lie inside ``shape``."""
    records = state.demand.assign(covered=state.covered, access=state.access)
    return _measures_row(code, records[in_unit], state.facilities[in_shape(shape, state.facilities)], residents)


def _measures_row(adcode: str, records: pd.DataFrame, facilities: pd.DataFrame, residents: float) -> dict:
    by_requester = records.groupby("requester_key", sort=False)["covered"].max()
    n, covered = len(records), int(records["covered"].sum())
    people, people_covered = len(by_requester), int(by_requester.sum())
    # Unknown capacities count as unknown: a place whose facilities give none has no capacity figure.
    capacity = float(facilities["capacity"].sum(min_count=1)) if len(facilities) else 0.0
    per_10k = 10_000 / residents if residents and np.isfinite(residents) else np.nan
    return {
        "district_adcode": adcode, "records": n, "covered": covered,
        "coverage_share": covered / n if n else np.nan,
        "distinct_requesters": people, "requesters_covered": people_covered,
        "requester_coverage_share": people_covered / people if people else np.nan,
        "uncovered": n - covered, "unmet_per_10k": (n - covered) * per_10k,
        "facilities": len(facilities), "capacity": capacity, "capacity_per_10k": capacity * per_10k,
        "access_mean": float(records["access"].mean()) if n else np.nan,
    }


# --- Best new sites ---------------------------------------------------------------------------

def grid_candidates(points_xy: np.ndarray, spacing_m: float) -> np.ndarray:
    """Candidate sites: the centres of a ``spacing_m`` grid's cells that hold at least one point."""
    points_xy = np.asarray(points_xy, "float64").reshape(-1, 2)
    if len(points_xy) == 0:
        return np.empty((0, 2))
    cells = np.unique(np.floor(points_xy / spacing_m).astype(np.int64), axis=0)
    return (cells + 0.5) * spacing_m


def coverage_matrix(points_xy: np.ndarray, person: np.ndarray, candidates_xy: np.ndarray,
                    radius_m: float, *, network: RoadNetwork | None = None,
                    walk_m: float | None = None) -> sparse.csr_matrix:
    """Binary (candidates × people) matrix: 1 where a person has a point within ``radius_m`` (or,
    with a ``network``, within a walk of ``walk_m``: ``walking_pairs``).

    ``person``: the person index (0 … P-1) of each point.
    """
    person = np.asarray(person, np.int64)
    people = int(person.max()) + 1 if len(person) else 0
    if network is None:
        point_index, candidate_index = catchment_pairs(cKDTree(points_xy), candidates_xy, radius_m)
    else:
        point_index, candidate_index = walking_pairs(points_xy, candidates_xy, radius_m, network,
                                                     radius_m * DETOUR_FACTOR if walk_m is None else walk_m)
    matrix = sparse.csr_matrix((np.ones(len(point_index), np.int8), (candidate_index, person[point_index])),
                               shape=(len(candidates_xy), people))
    matrix.data[:] = 1  # several points of one person near one site count once
    return matrix


def greedy_sites(matrix: sparse.csr_matrix, n: int) -> list[tuple[int, int]]:
    """(candidate index, people newly covered) for up to ``n`` sites, each adding the most
    (ties: the lowest index); stops when no site adds anyone."""
    uncovered = np.ones(matrix.shape[1], dtype=np.float64)
    chosen: list[tuple[int, int]] = []
    for _ in range(n):
        gains = matrix @ uncovered
        best = int(np.argmax(gains)) if len(gains) else 0
        if not len(gains) or gains[best] <= 0:
            break
        chosen.append((best, int(gains[best])))
        uncovered[matrix.getrow(best).indices] = 0
    return chosen


def optimal_sites(matrix: sparse.csr_matrix, n: int, time_limit_s: float = 20) -> list[tuple[int, int]]:
    """(candidate index, people covered by it and no earlier chosen site) for the ``n`` sites that
    together cover the most people (maximal covering location problem, solved by CBC through pulp).
    """
    import pulp

    useful = np.flatnonzero(np.asarray(matrix.sum(axis=1)).ravel() > 0)
    if len(useful) == 0:
        return []
    sub = matrix[useful].tocsc()
    people = np.flatnonzero(np.diff(sub.indptr) > 0)
    problem = pulp.LpProblem("mclp", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(len(useful))]
    y = {p: pulp.LpVariable(f"y{p}", 0, 1) for p in people}
    problem += pulp.lpSum(y.values())
    for p in people:
        problem += y[p] <= pulp.lpSum(x[j] for j in sub.indices[sub.indptr[p]:sub.indptr[p + 1]])
    problem += pulp.lpSum(x) <= n
    problem.solve(pulp.PULP_CBC_CMD(msg=0, timeLimit=time_limit_s))
    picked = [int(useful[j]) for j in range(len(useful)) if (x[j].value() or 0) > 0.5]
    # Order the chosen sites greedily among themselves so each row says what it adds.
    ordered = greedy_sites(matrix[picked], len(picked))
    return [(picked[i], gain) for i, gain in ordered]


def best_sites(uncovered: pd.DataFrame, n: int, radius_m: float, *, candidates: pd.DataFrame | None = None,
               spacing_m: float = 500.0, method: str = "optimal", network: RoadNetwork | None = None,
               walk_m: float | None = None) -> pd.DataFrame:
    """The ``n`` best new sites for the ``uncovered`` records (lon, lat, requester_key).

    Candidates: ``candidates`` (lon, lat), or the centres of a ``spacing_m`` grid over the
    records. ``method``: ``optimal`` (pulp/CBC) or ``greedy``. With a ``network`` a site reaches
    what a walk of ``walk_m`` reaches (``walking_pairs``). Answers rank, lon, lat, newly_covered
    (distinct requesters this site adds), cumulative.
    """
    if method not in ("optimal", "greedy"):
        raise ValueError(f"`method` was {method!r} but is expected to be in ('optimal', 'greedy')")
    empty = pd.DataFrame({"rank": [], "lon": [], "lat": [], "newly_covered": [], "cumulative": []})
    if len(uncovered) == 0:
        return empty
    points_xy = project(uncovered["lon"].to_numpy(), uncovered["lat"].to_numpy())
    person = pd.factorize(uncovered["requester_key"])[0]
    if candidates is not None:
        candidates_xy = project(candidates["lon"].to_numpy(), candidates["lat"].to_numpy())
    else:
        candidates_xy = grid_candidates(points_xy, spacing_m)
    matrix = coverage_matrix(points_xy, person, candidates_xy, radius_m, network=network, walk_m=walk_m)
    chosen = optimal_sites(matrix, n) if method == "optimal" else greedy_sites(matrix, n)
    if not chosen:
        return empty
    index = np.array([c for c, _ in chosen])
    lon, lat = unproject(candidates_xy[index])
    gains = np.array([g for _, g in chosen])
    return pd.DataFrame({"rank": np.arange(1, len(chosen) + 1), "lon": lon, "lat": lat,
                         "newly_covered": gains, "cumulative": np.cumsum(gains)})


def load_network(con: object) -> RoadNetwork | None:
    """The database's road network ready to route, or None when none was imported."""
    from needsmap import supply_queries
    from needsmap.network import NetworkArrays, RoadNetwork

    arrays = supply_queries.road_network(con)
    if arrays is None:
        return None
    info = supply_queries.road_network_info(con) or {}
    return RoadNetwork(NetworkArrays(lon=arrays["lon"], lat=arrays["lat"], source=arrays["source"],
                                     target=arrays["target"], length_m=arrays["length_m"]),
                       name=str(info.get("file_name", "")))


STORED_NETWORK = "stored"


def build(con: object, f: object, category: str, minutes: int = DEFAULT_MINUTES,
          detour_factor: float = DETOUR_FACTOR, *, network: RoadNetwork | None | str = STORED_NETWORK
          ) -> CategorySupply:
    """``CategorySupply`` of the filtered records of ``category`` against all its facilities
    (facilities outside the filtered place still serve it). ``network``: the database's road
    network when one was imported (``STORED_NETWORK``), a ``RoadNetwork`` already loaded, or None
    for straight lines."""
    from needsmap import supply_queries

    if isinstance(network, str):
        network = load_network(con)
    return CategorySupply(supply_queries.demand_points(con, f, category),
                          supply_queries.facilities(con, category), catchment_radius_m(minutes, detour_factor),
                          network=network, walk_m=LIFE_CIRCLE_WALK_M[minutes])
