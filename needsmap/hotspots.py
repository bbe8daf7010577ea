"""Hot spots: where demand concentrates beyond chance, and how that changes over time.

Framework-free statistics over small, already-aggregated frames (one row per grid cell, or per
cell and time slice); the SQL that makes them lives in ``needsmap.hotspot_queries``.

* **Grid.** Hexagons of equal area on a sinusoidal (equal-area) projection centred on Zhejiang
  (``LON0``): ``x = R·Δλ·cos φ``, ``y = R·φ`` in km. Cells are addressed by axial coordinates
  ``(q, r)``; the same formula runs in DuckDB (``hotspot_queries.HEX_SQL``) and here
  (``hex_of``), and the tests check they agree. The cell size is chosen from the data
  (``choose_side``) and shown beside the map.
* **Statistic.** Getis-Ord Gi* (binary weights: a cell and its six neighbours; the formula of
  PySAL's ``esda.G_Local(star=True, transform="B")``, vectorised over time slices, and tested
  against esda) over every cell of the study area, empty cells included. Significance comes
  from the **analytical** z-score (``Zs``, two-sided normal p-value), not from permutations: with
  999 permutations the smallest p-value is 0.001 and, over a few hundred cells, nothing could pass
  the false-discovery-rate control.
* **Multiple testing.** Benjamini–Hochberg false-discovery-rate control across the cells of one
  map (``scipy.stats.false_discovery_control(method="bh")``), run at q = 0.10, 0.05 and
  0.01: a cell is a hot (z > 0) or cold (z < 0) spot "at 99 %" when it passes BH at q = 0.01, and
  so on; a cell that passes none is not drawn.
* **Emerging hot spots.** The same cells over time slices (weeks or months, ``choose_slices``),
  Gi* + BH (q = 0.10, as ArcGIS's Emerging Hot Spot Analysis) in every slice, a Mann-Kendall test
  (α = 0.05; ``mann_kendall``: ``pymannkendall.original_test``'s formula vectorised over cells,
  tested against it) on each cell's z-score series, and the labels of ``emerging_label`` (rules
  in its docstring and the README).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0088
LON0 = 120.5  # central meridian of the equal-area projection (Zhejiang spans ~118–123° E)
SQRT3 = math.sqrt(3.0)

# Candidate hexagon sides in km; each step doubles the cell area.
SIDES_KM: tuple[float, ...] = (0.25, 0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0, 5.66, 8.0, 11.3)
MIN_MEAN_PER_CELL = 5.0  # records per occupied cell the chosen size aims at
MIN_STUDY_CELLS = 200  # cells the study area keeps at least (unless MAX_STUDY_CELLS forbids)
MAX_STUDY_CELLS = 3000  # cells of the study area the map and the statistic handle at most

LEVELS: tuple[int, ...] = (99, 95, 90)  # confidence levels, strictest first
EMERGING_LEVEL = 90  # per-slice significance for emerging hot spots (ArcGIS's default, with FDR)
MK_ALPHA = 0.05  # Mann-Kendall trend significance
MIN_SLICES = 10  # fewer time slices than this: no emerging hot-spot labels
MAX_SLICES = 24
NEIGHBOUR_OFFSETS: tuple[tuple[int, int], ...] = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1))

LABELS: tuple[str, ...] = (
    "new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic", "oscillating", "historical",
)


def hex_area_km2(side_km: float) -> float:
    return 1.5 * SQRT3 * side_km**2


def project(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 degrees → sinusoidal x, y in km (equal-area)."""
    lat_rad = np.radians(np.asarray(lat, "float64"))
    x = EARTH_RADIUS_KM * np.radians(np.asarray(lon, "float64") - LON0) * np.cos(lat_rad)
    return x, EARTH_RADIUS_KM * lat_rad


def unproject(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sinusoidal x, y in km → WGS-84 lon, lat degrees."""
    lat_rad = np.asarray(y, "float64") / EARTH_RADIUS_KM
    lon = LON0 + np.degrees(np.asarray(x, "float64") / (EARTH_RADIUS_KM * np.cos(lat_rad)))
    return lon, np.degrees(lat_rad)


def hex_of(lon: np.ndarray, lat: np.ndarray, side_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Axial (q, r) of the pointy-top hexagon of side ``side_km`` holding each point (cube rounding)."""
    x, y = project(lon, lat)
    fq = (SQRT3 / 3 * x - y / 3) / side_km
    fr = (2 / 3 * y) / side_km
    fs = -fq - fr
    # DuckDB's round() rounds halves away from zero; np.round to even. Same everywhere else.
    rq, rr, rs = (np.sign(v) * np.floor(np.abs(v) + 0.5) for v in (fq, fr, fs))
    dq, dr, ds = np.abs(rq - fq), np.abs(rr - fr), np.abs(rs - fs)
    q = np.where((dq > dr) & (dq > ds), -rr - rs, rq)
    r = np.where((dq > dr) & (dq > ds), rr, np.where(dr > ds, -rq - rs, rr))
    return q.astype(np.int64), r.astype(np.int64)


def hex_centres(q: np.ndarray, r: np.ndarray, side_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Projected centre (x, y) in km of axial cells."""
    q, r = np.asarray(q, "float64"), np.asarray(r, "float64")
    return side_km * SQRT3 * (q + r / 2), side_km * 1.5 * r


def hex_polygons(q: np.ndarray, r: np.ndarray, side_km: float) -> list[list[tuple[float, float]]]:
    """Each cell's six corners as (lon, lat), closed, for drawing."""
    cx, cy = hex_centres(q, r, side_km)
    angles = np.radians(np.array([30, 90, 150, 210, 270, 330, 30]))
    xs = cx[:, None] + side_km * np.cos(angles)[None, :]
    ys = cy[:, None] + side_km * np.sin(angles)[None, :]
    lon, lat = unproject(xs, ys)
    return [list(zip(lo.round(6).tolist(), la.round(6).tolist(), strict=True)) for lo, la in zip(lon, lat, strict=True)]


def study_cells(geometries: list, side_km: float, occupied: pd.DataFrame | None = None) -> pd.DataFrame:
    """The cells of the study area: every cell whose centre lies in one of ``geometries`` (shapely,
    WGS-84), plus any occupied cell (``q``, ``r`` columns) outside them. Columns q, r."""
    import shapely

    area = shapely.union_all([shapely.transform(g, lambda xy: np.column_stack(project(xy[:, 0], xy[:, 1])))
                              for g in geometries]) if geometries else None
    frames = []
    if area is not None and not area.is_empty:
        min_x, min_y, max_x, max_y = area.bounds
        r_lo, r_hi = math.floor(min_y / (1.5 * side_km)) - 1, math.ceil(max_y / (1.5 * side_km)) + 1
        rs = np.arange(r_lo, r_hi + 1)
        q_lo = math.floor(min_x / (SQRT3 * side_km) - r_hi / 2) - 1
        q_hi = math.ceil(max_x / (SQRT3 * side_km) - r_lo / 2) + 1
        qq, rr = np.meshgrid(np.arange(q_lo, q_hi + 1), rs)
        qq, rr = qq.ravel(), rr.ravel()
        cx, cy = hex_centres(qq, rr, side_km)
        keep = (cx >= min_x - side_km) & (cx <= max_x + side_km)
        qq, rr, cx, cy = qq[keep], rr[keep], cx[keep], cy[keep]
        inside = shapely.contains_xy(area, cx, cy)
        frames.append(pd.DataFrame({"q": qq[inside], "r": rr[inside]}))
    if occupied is not None and len(occupied):
        frames.append(occupied[["q", "r"]])
    if not frames:
        return pd.DataFrame({"q": pd.Series(dtype="int64"), "r": pd.Series(dtype="int64")})
    cells = pd.concat(frames, ignore_index=True).astype("int64").drop_duplicates()
    return cells.sort_values(["q", "r"], ignore_index=True)


def _side_bounds(sides: list[float], area_km2: float) -> tuple[float, float]:
    """The finest side keeping at most MAX_STUDY_CELLS cells and the coarsest keeping at least MIN_STUDY_CELLS."""
    cells = {s: area_km2 / hex_area_km2(s) for s in sides}
    finest = next((s for s in sides if cells[s] <= MAX_STUDY_CELLS), sides[-1])
    coarsest = max((s for s in sides if cells[s] >= MIN_STUDY_CELLS), default=sides[0])
    return finest, coarsest


def candidate_sides(area_km2: float) -> tuple[float, ...]:
    """The sides ``choose_side`` can pick for a study area (the others need not be counted)."""
    finest, coarsest = _side_bounds(list(SIDES_KM), area_km2)
    return tuple(s for s in SIDES_KM if finest <= s <= max(finest, coarsest))


def choose_side(occupied_by_side: pd.DataFrame, area_km2: float) -> float:
    """The hexagon side (km) for a map, from the data.

    ``occupied_by_side``: columns side_km, occupied_cells, records (as ``hotspot_queries.
    occupancy``); ``area_km2``: the study area. The rule: the smallest candidate side whose
    occupied cells hold on average at least ``MIN_MEAN_PER_CELL`` records — but no coarser than
    leaves ``MIN_STUDY_CELLS`` cells in the study area (Gi* compares a cell's neighbourhood with
    the rest: with few cells one busy cell cannot stand out) and no finer than keeps at most
    ``MAX_STUDY_CELLS`` (the map and the statistic stay fast).
    """
    sides = sorted(float(s) for s in occupied_by_side["side_km"])
    finest, coarsest = _side_bounds(sides, area_km2)
    dense = sides[-1]
    for row in occupied_by_side.sort_values("side_km").itertuples():
        if row.occupied_cells and row.records / row.occupied_cells >= MIN_MEAN_PER_CELL:
            dense = float(row.side_km)
            break
    return max(finest, min(dense, coarsest))


def neighbour_matrix(cells: pd.DataFrame):
    """Binary Gi* weights as a sparse matrix: each cell, itself and its six neighbours among ``cells``."""
    from scipy import sparse

    n = len(cells)
    index = pd.Series(np.arange(n), index=pd.MultiIndex.from_frame(cells[["q", "r"]].astype("int64")))
    rows, cols = [np.arange(n)], [np.arange(n)]
    q, r = cells["q"].to_numpy("int64"), cells["r"].to_numpy("int64")
    for dq, dr in NEIGHBOUR_OFFSETS:
        found = index.index.get_indexer(pd.MultiIndex.from_arrays([q + dq, r + dr]))
        ok = found >= 0
        rows.append(np.flatnonzero(ok)), cols.append(found[ok])
    rows_all, cols_all = np.concatenate(rows), np.concatenate(cols)
    return sparse.csr_matrix((np.ones(len(rows_all)), (rows_all, cols_all)), shape=(n, n))


def gi_star_z(values: np.ndarray, weights) -> np.ndarray:
    """Getis-Ord Gi* z-scores (analytical) of ``values`` (n cells, or n × T slices at once).

    ``weights``: binary n × n sparse matrix including the cell itself (``neighbour_matrix``). The
    formula is esda's ``G_Local(star=True, transform="B")`` (``Zs``), vectorised over slices; the
    tests check the two agree. 0 where undefined (a constant column).
    """
    y = np.asarray(values, "float64")
    single = y.ndim == 1
    y = y.reshape(len(y), -1)
    n = y.shape[0]
    if n < 3:
        return np.zeros(y.shape[0]) if single else np.zeros(y.shape)
    total = y.sum(axis=0)
    mean = total / n
    variance = (y**2).sum(axis=0) / n - mean**2
    cardinality = np.asarray(weights.sum(axis=1)).ravel()[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = (weights @ y) / total
        expected = cardinality / n
        expected_variance = cardinality * (n - cardinality) / (n - 1) / n**2 * variance / mean**2
        z = (statistic - expected) / np.sqrt(expected_variance)
    z = np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)
    z[:, variance <= 1e-12 * np.maximum(mean**2, 1)] = 0.0
    return z[:, 0] if single else z


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """Two-sided normal p-values of z-scores (for reference; significance uses ``randomization_p``)."""
    from scipy.stats import norm

    return 2 * norm.sf(np.abs(np.asarray(z, "float64")))


def randomization_p(values: np.ndarray, weights) -> np.ndarray:
    """Two-sided p-values of each cell's Gi* under randomization, from the exact null distribution.

    Under the randomization null (the one esda's permutations sample), a cell's Gi* numerator is
    the sum of its ``c`` weights' values (itself and its neighbours) drawn at random from all the
    cells' values, so its distribution depends on ``c`` alone. That distribution is computed
    exactly — the c-fold convolution of the values' empirical distribution (draws with
    replacement; the difference from without is negligible at hundreds of cells) — as if with
    infinitely many permutations. Unlike the normal approximation, it is right for the skewed
    counts of sparse cells (the normal one finds false hot spots there: see the tests), and
    unlike 999 permutations its p-values can be small enough to pass BH over thousands of cells.
    ``values``: non-negative integers, n cells or n × T slices. p = min(1, 2 · smaller tail).
    """
    from scipy.signal import fftconvolve

    y = np.rint(np.asarray(values, "float64")).astype(np.int64)
    single = y.ndim == 1
    y = y.reshape(len(y), -1)
    cardinality = np.asarray(weights.sum(axis=1)).ravel().astype(np.int64)
    sums = np.rint(weights @ y).astype(np.int64)
    p = np.ones(y.shape, dtype="float64")
    for t in range(y.shape[1]):
        column = y[:, t]
        if len(column) < 3 or column.min() == column.max():
            continue
        pmf_one = np.bincount(column) / len(column)
        pmf = np.array([1.0])
        for c in range(1, int(cardinality.max()) + 1):
            pmf = np.clip(fftconvolve(pmf, pmf_one), 0.0, None)
            pmf /= pmf.sum()
            at = cardinality == c
            if not at.any():
                continue
            upper = np.cumsum(pmf[::-1])[::-1]  # P(S ≥ s)
            lower = np.cumsum(pmf)  # P(S ≤ s)
            s_obs = sums[at, t]
            p[at, t] = np.minimum(1.0, 2 * np.minimum(upper[s_obs], lower[s_obs]))
    return p[:, 0] if single else p


def permutation_p(values: np.ndarray, weights, draws: int = 99_999, seed: int = 0) -> np.ndarray:
    """Two-sided randomization p-values of each unit's Gi* for non-integer values (rates), by
    ``draws`` random neighbourhoods per neighbourhood size (units drawn with replacement, as
    ``randomization_p`` does exactly for counts; seeded, so the same every time). With 99,999 draws the smallest p, 2/100,000, passes BH at q = 0.01 over
    up to 500 units — the 90 districts with room to spare."""
    y = np.asarray(values, "float64")
    cardinality = np.asarray(weights.sum(axis=1)).ravel().astype(np.int64)
    sums = weights @ y
    p = np.ones(len(y))
    rng = np.random.default_rng(seed)
    for c in np.unique(cardinality):
        at = cardinality == c
        simulated = np.sort(y[rng.integers(0, len(y), (draws, c))].sum(axis=1))
        upper = draws - np.searchsorted(simulated, sums[at] - 1e-9, side="left")  # simulated ≥ observed
        lower = np.searchsorted(simulated, sums[at] + 1e-9, side="right")  # simulated ≤ observed
        p[at] = np.minimum(1.0, 2 * (1 + np.minimum(upper, lower)) / (draws + 1))
    return p


def fdr_level(p: np.ndarray, levels: tuple[int, ...] = LEVELS) -> np.ndarray:
    """The highest confidence level (99/95/90, else 0) at which each p-value passes
    Benjamini–Hochberg false-discovery-rate control at q = 1 − level, over all of ``p``."""
    from scipy.stats import false_discovery_control

    p = np.asarray(p, "float64")
    out = np.zeros(len(p), dtype=np.int64)
    if len(p) == 0:
        return out
    adjusted = false_discovery_control(np.clip(p, 0.0, 1.0), method="bh")  # BH-adjusted p-values
    for level in sorted(levels):  # 90 first; stricter levels overwrite
        out[adjusted <= 1 - level / 100] = level
    return out


@dataclass(frozen=True)
class HotSpots:
    """One hot-spot map: its cells and how they were made."""

    cells: pd.DataFrame  # q, r, count, z, p, level (0/90/95/99), kind ("hot"/"cold"/"")
    side_km: float
    measure: str  # "requesters" or "records"

    @property
    def cell_area_km2(self) -> float:
        return hex_area_km2(self.side_km)

    def significant(self, level: int = 90) -> pd.DataFrame:
        return self.cells[self.cells["level"] >= level]


def hot_spots(counts: pd.DataFrame, cells: pd.DataFrame, side_km: float, measure: str = "requesters") -> HotSpots:
    """Gi* hot and cold spots of ``counts`` (q, r, count) over the study ``cells`` (q, r).

    Cells of the study area without records count 0. Returns every study cell with its z-score,
    two-sided p-value, the confidence level it passes under BH-FDR, and hot/cold.
    """
    frame = cells[["q", "r"]].merge(counts[["q", "r", "count"]], on=["q", "r"], how="left")
    frame["count"] = frame["count"].fillna(0).astype("int64")
    weights = neighbour_matrix(frame)
    z = gi_star_z(frame["count"].to_numpy(), weights) if len(frame) else np.zeros(0)
    frame["z"] = z
    frame["p"] = randomization_p(frame["count"].to_numpy(), weights) if len(frame) else np.zeros(0)
    frame["level"] = fdr_level(frame["p"].to_numpy())
    frame["kind"] = np.where(frame["level"] > 0, np.where(frame["z"] > 0, "hot", "cold"), "")
    return HotSpots(frame, side_km, measure)


def district_hot_spots(counts: pd.Series, population: pd.Series, groups: pd.Series,
                       neighbours: dict[str, list[str]]) -> pd.DataFrame:
    """Gi* over districts on empirical-Bayes smoothed rates (``stats.eb_smoothed_rate``, per 10,000),
    p-values by randomization (``permutation_p``), BH-FDR levels as for cells.

    ``counts``, ``population``, ``groups`` (the city) are indexed by adcode; ``neighbours`` maps an
    adcode to the adcodes it touches. Columns: adcode, rate_per_10k, z, p, level, kind.
    """
    from scipy import sparse

    from needsmap import stats

    known = population.notna() & (population > 0)
    rates = stats.eb_smoothed_rate(counts[known], population[known], groups[known]) * 10_000
    codes = list(rates.index)
    position = {code: i for i, code in enumerate(codes)}
    pairs = [(i, i) for i in range(len(codes))] + [
        (i, position[n]) for i, code in enumerate(codes) for n in neighbours.get(code, []) if n in position and n != code]
    rows = np.array([i for i, _ in pairs], dtype=np.int64)
    cols = np.array([j for _, j in pairs], dtype=np.int64)
    weights = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(codes), len(codes)))
    z = gi_star_z(rates.to_numpy(), weights)
    frame = pd.DataFrame({"adcode": codes, "rate_per_10k": rates.to_numpy(), "z": z,
                          "p": permutation_p(rates.to_numpy(), weights)})
    frame["level"] = fdr_level(frame["p"].to_numpy())
    frame["kind"] = np.where(frame["level"] > 0, np.where(frame["z"] > 0, "hot", "cold"), "")
    return frame


# --- Emerging hot spots -------------------------------------------------------------------


def choose_slices(first: date, last: date) -> tuple[str, list[date]]:
    """Time slices for emerging hot spots: ``("week" | "month", slice starts)``.

    Weeks (Monday-based) when the period spans at most ``MAX_SLICES`` weeks, else calendar months;
    at most the last ``MAX_SLICES`` slices. Fewer than ``MIN_SLICES`` slices: no labels are given.
    """
    monday = first - timedelta(days=first.weekday())
    weeks = [monday + timedelta(weeks=i) for i in range((last - monday).days // 7 + 1)]
    if len(weeks) <= MAX_SLICES:
        return "week", weeks
    months: list[date] = []
    month = date(first.year, first.month, 1)
    while month <= last:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return "month", months[-MAX_SLICES:]


def emerging_label(hot: np.ndarray, cold: np.ndarray, trend: str) -> str:
    """The emerging hot-spot label of one cell (``"hot:new"``, ``"cold:persistent"``, or ``""``).

    ``hot``/``cold``: booleans per slice, oldest first (significant at ``EMERGING_LEVEL`` under
    BH-FDR in that slice); ``trend``: the Mann-Kendall result on the cell's Gi* z-scores
    (``"increasing"``, ``"decreasing"``, ``"no trend"``). Rules, for hot (cold mirrored: swap hot
    and cold, and "increasing" with "decreasing", since a cold spot intensifies as its z falls):
    ``n`` slices, ``share`` the share of slices hot, ``last`` the final slice hot.

    1. intensifying: share ≥ 90 %, last, trend increasing.
    2. diminishing: share ≥ 90 %, last, trend decreasing.
    3. persistent: share ≥ 90 %, no significant trend.
    4. historical: share ≥ 90 % and not last (reached only when 1–3 do not hold).
    5. oscillating: last, and some earlier slice was cold (share < 90 %).
    6. new: last, no earlier slice hot, none cold.
    7. consecutive: the final run of hot slices is at least 2 long, no slice before that run is
       hot, none cold, share < 90 %.
    8. sporadic: last, some earlier slice hot outside the final run, none cold, share < 90 %.
    Otherwise no label (cells never hot or cold; cells hot in the past but neither now nor in
    90 % of slices).
    """
    for kind, mine, other, rising, falling in (("hot", hot, cold, "increasing", "decreasing"),
                                               ("cold", cold, hot, "decreasing", "increasing")):
        n = len(mine)
        if n == 0 or not mine.any():
            continue
        share = mine.mean()
        last = bool(mine[-1])
        if share >= 0.9:
            if last and trend == rising:
                return f"{kind}:intensifying"
            if last and trend == falling:
                return f"{kind}:diminishing"
            if trend not in (rising, falling):
                return f"{kind}:persistent"
            if not last:
                return f"{kind}:historical"
            continue
        if not last:
            continue
        if other[:-1].any():
            return f"{kind}:oscillating"
        run = n - int(np.flatnonzero(~mine)[-1]) - 1 if (~mine).any() else n
        before = mine[: n - run]
        if run == 1 and not before.any():
            return f"{kind}:new"
        if run >= 2 and not before.any():
            return f"{kind}:consecutive"
        return f"{kind}:sporadic"
    return ""


def mann_kendall(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Kendall trend test of each row of ``series`` (cells × slices): (z, two-sided p).

    The formula of ``pymannkendall.original_test`` (S with the tie-corrected variance, continuity
    correction), vectorised over rows; the tests check the two agree.
    """
    from scipy.stats import norm

    x = np.asarray(series, "float64")
    n = x.shape[1]
    i, j = np.triu_indices(n, k=1)
    s = np.sign(x[:, j] - x[:, i]).sum(axis=1)
    variance = np.full(len(x), n * (n - 1) * (2 * n + 5) / 18.0)
    ordered = np.sort(x, axis=1)
    for row in np.flatnonzero((np.diff(ordered, axis=1) == 0).any(axis=1)):  # ties: few rows
        _, counts = np.unique(x[row], return_counts=True)
        variance[row] = (n * (n - 1) * (2 * n + 5) - (counts * (counts - 1) * (2 * counts + 5)).sum()) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(variance), np.where(s < 0, (s + 1) / np.sqrt(variance), 0.0))
    z = np.nan_to_num(z)
    return z, 2 * norm.sf(np.abs(z))


def emerging_hot_spots(slice_counts: pd.DataFrame, cells: pd.DataFrame, slices: list[date]) -> pd.DataFrame:
    """Emerging hot-spot labels of the study ``cells`` over ``slices``.

    ``slice_counts``: q, r, slice (the slice's start date), count. Returns q, r, label
    (``emerging_label``; "" for none), trend, trend_p (Mann-Kendall on the Gi* z series), hot_slices,
    cold_slices, last_z. Empty when there are fewer than ``MIN_SLICES`` slices.
    """
    columns = ["q", "r", "label", "trend", "trend_p", "hot_slices", "cold_slices", "last_z"]
    if len(slices) < MIN_SLICES or cells.empty:
        return pd.DataFrame(columns=columns)
    cells = cells[["q", "r"]].reset_index(drop=True)
    position = pd.Series(range(len(slices)), index=pd.to_datetime(pd.Series(slices)))
    index = pd.MultiIndex.from_frame(cells)
    counts = np.zeros((len(cells), len(slices)))
    if len(slice_counts):
        known = slice_counts.assign(slice=pd.to_datetime(slice_counts["slice"]))
        known = known[known["slice"].isin(position.index)]
        rows = index.get_indexer(pd.MultiIndex.from_frame(known[["q", "r"]]))
        ok = rows >= 0
        np.add.at(counts, (rows[ok], position.loc[known["slice"][ok]].to_numpy()), known["count"].to_numpy()[ok])
    weights = neighbour_matrix(cells)
    z = gi_star_z(counts, weights)
    p = randomization_p(counts, weights)
    level = np.column_stack([fdr_level(p[:, t], (EMERGING_LEVEL,)) for t in range(len(slices))])
    hot, cold = (level > 0) & (z > 0), (level > 0) & (z < 0)
    mk_z, mk_p = mann_kendall(z)
    trends = np.where(mk_p < MK_ALPHA, np.where(mk_z > 0, "increasing", "decreasing"), "no trend")
    trend_p = mk_p
    labels = [emerging_label(hot[i], cold[i], trends[i]) if (hot[i].any() or cold[i].any()) else ""
              for i in range(len(cells))]
    return pd.DataFrame({
        "q": cells["q"], "r": cells["r"], "label": labels, "trend": trends, "trend_p": trend_p,
        "hot_slices": hot.sum(axis=1), "cold_slices": cold.sum(axis=1), "last_z": z[:, -1],
    })


# --- From the database ----------------------------------------------------------------------

MEASURES = ("requesters", "records")  # what a cell counts: distinct requesters (default) or records


def _study_area(con, f) -> tuple[list, float]:
    """The view's district polygons (shapely, WGS-84) and their equal-area size in km²."""
    import shapely

    from needsmap import hotspot_queries

    geometries = [shapely.from_geojson(text) for text in hotspot_queries.study_geometries(con, f)]
    area = sum(shapely.transform(g, lambda xy: np.column_stack(project(xy[:, 0], xy[:, 1]))).area for g in geometries)
    return geometries, float(area)


def hot_spot_map(con, f, measure: str = "requesters") -> HotSpots:
    """The hot-spot map of a view (a ``Filter``): cell size from the data, Gi*, BH-FDR."""
    from needsmap import hotspot_queries

    if measure not in MEASURES:
        raise ValueError(f'`measure` was "{measure}" but is expected to be in {set(MEASURES)}')
    geometries, area = _study_area(con, f)
    side = choose_side(hotspot_queries.occupancy(con, f, candidate_sides(area)), area)
    counts = hotspot_queries.cell_counts(con, f, side).rename(columns={measure: "count"})
    return hot_spots(counts, study_cells(geometries, side, counts), side, measure)


@dataclass(frozen=True)
class Emerging:
    """Emerging hot-spot labels of a view's cells."""

    cells: pd.DataFrame  # emerging_hot_spots' columns
    side_km: float
    unit: str  # "week" or "month"
    slices: tuple[date, ...]

    def labelled(self) -> pd.DataFrame:
        return self.cells[self.cells["label"] != ""]


def emerging_map(con, f, side_km: float, measure: str = "requesters") -> Emerging:
    """Emerging hot spots of a view on the cells of side ``side_km`` (the hot-spot map's)."""
    from needsmap import hotspot_queries

    first, last = hotspot_queries.period(con, f)
    if first is None:
        return Emerging(emerging_hot_spots(pd.DataFrame(), pd.DataFrame(), []), side_km, "week", ())
    unit, slices = choose_slices(first, last)
    geometries, _ = _study_area(con, f)
    counts = hotspot_queries.cell_slice_counts(con, f, side_km, unit).rename(columns={measure: "count"})
    cells = study_cells(geometries, side_km, counts.drop_duplicates(["q", "r"]))
    return Emerging(emerging_hot_spots(counts, cells, slices), side_km, unit, tuple(slices))


@dataclass(frozen=True)
class Layer:
    """What a page draws: the significant cells with their emerging labels, and how they were made."""

    cells: pd.DataFrame  # q, r, count, z, p, level, kind, label (emerging, "" for none), lon, lat (centre),
    # records, distinct_requesters (both, whatever the measure: the public rule reads them);
    # only the cells that are significant or carry a label
    side_km: float
    measure: str
    study_cells: int
    unit: str  # time slices of the emerging labels: "week" or "month"
    slices: int  # how many (labels need MIN_SLICES)

    @property
    def cell_area_km2(self) -> float:
        return hex_area_km2(self.side_km)

    def top(self, n: int = 3) -> pd.DataFrame:
        """The ``n`` strongest hot spots significant at 95 % or more (highest z first), for
        briefings and the list beside the map."""
        hot = self.cells[(self.cells["kind"] == "hot") & (self.cells["level"] >= 95)]
        return hot.sort_values(["z", "count"], ascending=False).head(n)


def hot_spot_layer(con, f, measure: str = "requesters") -> Layer:
    """``hot_spot_map`` and ``emerging_map`` of a view, reduced to the cells worth drawing (the
    records are read twice: once to choose the cell size, once for the cells and their slices)."""
    from needsmap import hotspot_queries

    if measure not in MEASURES:
        raise ValueError(f'`measure` was "{measure}" but is expected to be in {set(MEASURES)}')
    geometries, area = _study_area(con, f)
    side = choose_side(hotspot_queries.occupancy(con, f, candidate_sides(area)), area)
    first, last = hotspot_queries.period(con, f)
    unit, slices = choose_slices(first, last) if first is not None else ("week", [])
    totals, by_slice = hotspot_queries.cell_and_slice_counts(con, f, side, unit)
    # Both counts ride along whatever the measure, so the public rule (k records and k distinct
    # requesters) can judge every cell drawn: five calls of one person are not a hot spot to show.
    people = totals[["q", "r", "records", "requesters"]].rename(columns={"requesters": "distinct_requesters"})
    totals, by_slice = totals.rename(columns={measure: "count"}), by_slice.rename(columns={measure: "count"})
    spots = hot_spots(totals, study_cells(geometries, side, totals), side, measure)
    emerging = Emerging(emerging_hot_spots(by_slice, spots.cells[["q", "r"]], slices), side, unit, tuple(slices))
    cells = spots.cells.merge(emerging.cells[["q", "r", "label"]], on=["q", "r"], how="left")
    cells["label"] = cells["label"].fillna("")
    shown = cells[(cells["level"] > 0) | (cells["label"] != "")].reset_index(drop=True)
    shown = shown.drop(columns=["records", "distinct_requesters"], errors="ignore").merge(people, on=["q", "r"], how="left")
    shown[["records", "distinct_requesters"]] = shown[["records", "distinct_requesters"]].fillna(0).astype("int64")
    lon, lat = unproject(*hex_centres(shown["q"].to_numpy(), shown["r"].to_numpy(), spots.side_km))
    shown["lon"], shown["lat"] = lon.round(5), lat.round(5)
    return Layer(shown, spots.side_km, measure, len(spots.cells), emerging.unit, len(emerging.slices))


def placebo_rate(spots: HotSpots, runs: int, seed: int, level: int = 95) -> tuple[int, int]:
    """Placebo check: ``spots``' counts shuffled over its study cells ``runs`` times (every
    location equally likely to hold any cell's demand, so no true hot spot is left), each map
    tested as usual. Returns (maps with any hot or cold cell at ``level`` or above, runs): under
    the complete null every such cell is a false discovery, so their share is the false-alarm
    rate, to be compared with 1 − level/100."""
    rng = np.random.default_rng(seed)
    cells = spots.cells[["q", "r"]]
    weights = neighbour_matrix(cells)
    shuffled = np.column_stack([rng.permutation(spots.cells["count"].to_numpy()) for _ in range(runs)])
    p = randomization_p(shuffled, weights)
    alarms = sum(bool((fdr_level(p[:, t]) >= level).any()) for t in range(runs))
    return alarms, runs


# --- In words (pages and briefings) -----------------------------------------------------------


def label_words(label: str, lang: str) -> str:
    """An emerging label (``"hot:new"``) in words; "" is "no trend label"."""
    from needsmap.i18n import t

    return t(f"el_{label.replace(':', '_')}", lang) if label else t("el_none", lang)


def place_words(lon: float, lat: float, names: dict[str, str], lang: str) -> str:
    """Where a cell lies: its district and its centre (``"鄞州区，约 121.545°E 29.825°N"``)."""
    from needsmap import boundaries
    from needsmap.errors import BoundaryError
    from needsmap.i18n import t

    try:
        adcode = boundaries.district_at(lon, lat)
    except BoundaryError:
        adcode = None
    return t("hs_near", lang, district=names.get(adcode, "–") if adcode else "–", lon=f"{lon:.3f}", lat=f"{lat:.3f}")


def top_words(layer: Layer, names: dict[str, str], lang: str, k: int, n: int = 3) -> list[str]:
    """The ``n`` strongest hot spots of counting at least ``k``, one line each: place, level, count, label."""
    from needsmap.i18n import t

    from needsmap import presentation

    top = layer.top(len(layer.cells))
    top = top[presentation.enough_to_show(top, k)].head(n)
    return [f"{place_words(row.lon, row.lat, names, lang)} · {t('hs_hot', lang)} {int(row.level)}% · "
            f"{t(f'hs_{layer.measure}', lang)} {int(row.count)} · {label_words(row.label, lang)}"
            for row in top.itertuples()]
