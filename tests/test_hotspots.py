"""Hot spots: Gi* against esda, the exact randomization p-values, BH-FDR, planted clusters,
uniform data, emerging labels, and the SQL hexagons against an independent nearest-centre check."""

from __future__ import annotations

import math
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely

from needsmap import hotspot_queries, hotspots
from needsmap.filters import Filter


def _rectangle(width: int, height: int) -> pd.DataFrame:
    """Axial cells of a width × height block of hexagons (offset rows, so it is rectangular)."""
    return pd.DataFrame([(q, r) for r in range(height) for q in range(-(r // 2), -(r // 2) + width)], columns=["q", "r"])


def _hex_distance(q1, r1, q2, r2):
    return (abs(q1 - q2) + abs(r1 - r2) + abs((q1 + r1) - (q2 + r2))) // 2


def test_gi_star_z_equals_esda_g_local_star():
    from esda.getisord import G_Local
    from libpysal.weights import W

    cells = _rectangle(30, 20)
    counts = np.random.default_rng(3).poisson(4, len(cells)).astype(float)
    index = {(q, r): i for i, (q, r) in enumerate(zip(cells["q"], cells["r"], strict=True))}
    neighbours = {i: [index[(q + dq, r + dr)] for dq, dr in hotspots.NEIGHBOUR_OFFSETS if (q + dq, r + dr) in index]
                  for (q, r), i in index.items()}
    esda_z = G_Local(counts, W(neighbours), transform="B", star=True, permutations=0).Zs
    ours = hotspots.gi_star_z(counts, hotspots.neighbour_matrix(cells))
    np.testing.assert_allclose(ours, esda_z, rtol=1e-10, atol=1e-12)
    # Many slices at once give the same as one at a time.
    stacked = np.column_stack([counts, counts[::-1]])
    np.testing.assert_allclose(hotspots.gi_star_z(stacked, hotspots.neighbour_matrix(cells))[:, 0], esda_z, rtol=1e-10)


def test_randomization_p_equals_enumeration_on_a_tiny_grid():
    # 4 cells in a row: cell 0's neighbourhood is {0, 1} (c = 2). Draws with replacement from the
    # four values: P(sum ≥ observed) by enumerating all 16 pairs.
    cells = pd.DataFrame({"q": [0, 1, 2, 3], "r": [0, 0, 0, 0]})
    values = np.array([5, 4, 0, 1])
    p = hotspots.randomization_p(values, hotspots.neighbour_matrix(cells))
    pairs = [a + b for a in values for b in values]
    upper = sum(s >= 9 for s in pairs) / 16
    lower = sum(s <= 9 for s in pairs) / 16
    assert p[0] == pytest.approx(min(1.0, 2 * min(upper, lower)))
    assert p[0] == pytest.approx(2 * 3 / 16)  # (5,4), (4,5), (5,5) reach 9


def test_bh_levels_follow_benjamini_hochberg_by_hand():
    p = np.array([0.0001, 0.004, 0.019, 0.03, 0.2, 0.5, 0.9, 0.95, 0.96, 0.99])
    # By hand: sorted p_(k) ≤ q·k/10. q = 0.01: 0.0001 ≤ 0.001 (k=1), 0.004 > 0.002 → 1 passes.
    # q = 0.05: k=2: 0.004 ≤ 0.01, k=3: 0.019 > 0.015, k=4: 0.03 > 0.02 → 2 pass.
    # q = 0.10: k=4: 0.03 ≤ 0.04 → 4 pass.
    assert hotspots.fdr_level(p).tolist() == [99, 95, 90, 90, 0, 0, 0, 0, 0, 0]


def test_planted_cluster_of_known_size_and_place_is_hot_and_nothing_else():
    cells = _rectangle(60, 50)  # 3,000 cells
    rng = np.random.default_rng(11)
    counts = cells.assign(count=rng.poisson(3, len(cells)))
    centre = (20, 25)  # the planted cluster: the centre cell and its six neighbours, +12 each
    in_cluster = _hex_distance(cells["q"], cells["r"], *centre) <= 1
    assert in_cluster.sum() == 7
    counts.loc[in_cluster, "count"] += 12
    spots = hotspots.hot_spots(counts, cells, side_km=1.0)
    hot = spots.cells[spots.cells["kind"] == "hot"]
    # Every hot cell touches the cluster; the centre is hot at 99 %.
    assert (_hex_distance(hot["q"], hot["r"], *centre) <= 2).all()
    centre_row = spots.cells[(spots.cells["q"] == centre[0]) & (spots.cells["r"] == centre[1])].iloc[0]
    assert centre_row["level"] == 99 and centre_row["kind"] == "hot"
    assert len(spots.cells[(spots.cells["kind"] == "hot") & (spots.cells["level"] >= 95)]) >= 7
    assert (spots.cells["kind"] != "cold").all()


def test_district_hot_spots_on_smoothed_rates_find_a_planted_high_rate_region():
    # 200 "districts" on a hexagon block, 100,000 residents each; a region of seven neighbours has
    # three times the usual rate. Gi* on EB-smoothed rates finds the region's centre at 99 %.
    cells = _rectangle(20, 10)
    codes = [f"D{i:03d}" for i in range(len(cells))]
    index = {(q, r): code for code, q, r in zip(codes, cells["q"], cells["r"], strict=True)}
    neighbours = {index[(q, r)]: [index[(q + dq, r + dr)] for dq, dr in hotspots.NEIGHBOUR_OFFSETS if (q + dq, r + dr) in index]
                  for q, r in zip(cells["q"], cells["r"], strict=True)}
    rng = np.random.default_rng(6)
    region = (_hex_distance(cells["q"], cells["r"], 8, 5) <= 1).to_numpy()
    counts = pd.Series(rng.poisson(np.where(region, 150, 50)), index=codes)
    population = pd.Series(100_000, index=codes)
    spots = hotspots.district_hot_spots(counts, population, pd.Series("city", index=codes), neighbours).set_index("adcode")
    centre = index[(8, 5)]
    assert spots.loc[centre, "kind"] == "hot" and spots.loc[centre, "level"] == 99
    hot = spots[spots["kind"] == "hot"].index
    assert all(region[codes.index(code)] or any(region[codes.index(n)] for n in neighbours[code]) for code in hot)
    # The rate is the smoothed count per 10,000: close to the raw 15 or 5.
    assert spots.loc[centre, "rate_per_10k"] == pytest.approx(counts[centre] / 10, rel=0.2)


def test_999_permutations_could_not_pass_fdr_where_the_exact_null_does():
    # The pitfall: a permutation p-value is never below 1/(999+1). Seven true hot cells among
    # 3,000 need p ≤ 0.10 · 7 / 3000 ≈ 0.00023 under BH — beyond 999 permutations' reach.
    floor = np.full(3000, 1.0)
    floor[:7] = 0.001
    assert (hotspots.fdr_level(floor) == 0).all()
    cells = _rectangle(60, 50)
    counts = np.random.default_rng(11).poisson(3, len(cells))
    counts[(_hex_distance(cells["q"], cells["r"], 20, 25) <= 1).to_numpy()] += 12
    p = hotspots.randomization_p(counts, hotspots.neighbour_matrix(cells))
    assert p.min() < 1e-5


@pytest.mark.parametrize("mean", [0.5, 3.0, 20.0])
def test_uniform_random_data_gives_false_hot_spots_within_the_fdr_level(mean):
    # Under the complete null every discovery is false, so the FDR is the share of maps with any
    # hot or cold cell: at most the nominal 5 % at the 95 % level (200 maps of 600 cells).
    cells = _rectangle(30, 20)
    weights = hotspots.neighbour_matrix(cells)
    counts = np.random.default_rng(2024).poisson(mean, (len(cells), 200))
    p = hotspots.randomization_p(counts, weights)
    maps_with_any = sum((hotspots.fdr_level(p[:, t]) >= 95).any() for t in range(200))
    assert maps_with_any / 200 <= 0.05
    # The normal approximation of Gi* would not hold the level on sparse counts (why it is not used).
    if mean == 0.5:
        z = hotspots.gi_star_z(counts, weights)
        normal_any = sum((hotspots.fdr_level(hotspots.two_sided_p(z[:, t])) >= 95).any() for t in range(200))
        assert normal_any / 200 > 0.2


def test_cell_size_is_the_smallest_with_enough_records_per_cell_within_the_cell_count_bounds():
    occupancy = pd.DataFrame({"side_km": [0.5, 1.0, 2.0, 4.0], "occupied_cells": [900, 400, 150, 60],
                              "records": [3000, 3000, 3000, 3000]})
    # Records per occupied cell: 0.5 km 3.3, 1 km 7.5 (≥ 5) → 1 km when the area allows:
    # 2,000 km² / 2.6 km² = 770 cells, within 200–3,000.
    assert hotspots.choose_side(occupancy, area_km2=2_000) == 1.0
    # 100,000 km²: 1 km gives 38,000 cells, 2 km 9,600, 4 km 2,400 ≤ 3,000 → 4 km.
    assert hotspots.choose_side(occupancy, area_km2=100_000) == 4.0
    # 300 km²: 1 km leaves 115 cells (< 200) → 0.5 km (460 cells), though sparse.
    assert hotspots.choose_side(occupancy, area_km2=300) == 0.5


def test_time_slices_are_weeks_up_to_24_weeks_else_months():
    unit, slices = hotspots.choose_slices(date(2025, 7, 2), date(2025, 9, 30))
    assert unit == "week" and slices[0] == date(2025, 6, 30) and len(slices) == 14
    unit, slices = hotspots.choose_slices(date(2024, 1, 1), date(2025, 12, 31))
    assert unit == "month" and len(slices) == 24 and slices[-1] == date(2025, 12, 1)
    unit, slices = hotspots.choose_slices(date(2023, 1, 1), date(2025, 12, 31))
    assert unit == "month" and len(slices) == 24 and slices[0] == date(2024, 1, 1)


H, C, _ = True, True, False


@pytest.mark.parametrize(("hot", "cold", "trend", "label"), [
    ([H] * 12, [_] * 12, "increasing", "hot:intensifying"),
    ([H] * 12, [_] * 12, "decreasing", "hot:diminishing"),
    ([H] * 12, [_] * 12, "no trend", "hot:persistent"),
    ([H] * 11 + [_], [_] * 12, "no trend", "hot:persistent"),
    ([H] * 11 + [_], [_] * 12, "decreasing", "hot:historical"),
    ([_] * 11 + [H], [_] * 12, "increasing", "hot:new"),
    ([_] * 9 + [H] * 3, [_] * 12, "increasing", "hot:consecutive"),
    ([H, _, _, H, _, H, _, _, _, _, _, H], [_] * 12, "no trend", "hot:sporadic"),
    ([_, _, _, _, _, _, _, _, _, _, _, H], [C] + [_] * 11, "no trend", "hot:oscillating"),
    ([H, H, _, _, _, _, _, _, _, _, _, _], [_] * 12, "no trend", ""),
    ([_] * 12, [C] * 12, "decreasing", "cold:intensifying"),
    ([_] * 12, [_] * 11 + [C], "no trend", "cold:new"),
    ([_] * 12, [_] * 12, "no trend", ""),
])
def test_emerging_label_rules(hot, cold, trend, label):
    assert hotspots.emerging_label(np.array(hot), np.array(cold), trend) == label


def test_a_cluster_that_grows_every_month_is_labelled_intensifying_and_a_newcomer_new():
    cells = _rectangle(30, 20)
    rng = np.random.default_rng(5)
    slices = [date(2024, m, 1) for m in range(1, 13)]
    rows = []
    for t, start in enumerate(slices):
        counts = rng.poisson(3, len(cells))
        counts[(_hex_distance(cells["q"], cells["r"], 10, 10) <= 1).to_numpy()] += 10 + 4 * t  # growing
        if t == len(slices) - 1:
            counts[(_hex_distance(cells["q"], cells["r"], 22, 5) <= 1).to_numpy()] += 25  # only in the last month
        rows.append(cells.assign(slice=start, count=counts))
    result = hotspots.emerging_hot_spots(pd.concat(rows), cells, slices)
    label = result.set_index(["q", "r"])["label"]
    assert label[(10, 10)] == "hot:intensifying"
    assert label[(22, 5)] == "hot:new"
    # Elsewhere (noise only; 12 maps at a 10 % false-discovery rate each) labels are rare.
    away = (_hex_distance(result["q"], result["r"], 10, 10) > 3) & (_hex_distance(result["q"], result["r"], 22, 5) > 3)
    assert (result.loc[away, "label"] != "").sum() <= 6  # ≤ 1 % of the 600 cells


def test_mann_kendall_equals_pymannkendall_with_and_without_ties():
    import pymannkendall

    rng = np.random.default_rng(9)
    series = np.vstack([rng.normal(0, 1, 24), np.arange(24) + rng.normal(0, 3, 24), -np.arange(24.0),
                        np.round(rng.normal(0, 1, 24)), np.zeros(24)])
    z, p = hotspots.mann_kendall(series)
    for row, (z_row, p_row) in enumerate(zip(z, p, strict=True)):
        reference = pymannkendall.original_test(series[row])
        assert z_row == pytest.approx(reference.z, abs=1e-12) and p_row == pytest.approx(reference.p, abs=1e-12)


def test_fewer_than_ten_slices_give_no_labels():
    cells = _rectangle(5, 5)
    slices = [date(2025, 1, 6) + timedelta(weeks=i) for i in range(9)]
    assert hotspots.emerging_hot_spots(cells.assign(slice=slices[0], count=1), cells, slices).empty


def test_sql_hexagons_put_each_point_in_the_hexagon_with_the_nearest_centre(make_db):
    rng = np.random.default_rng(8)
    lon, lat = rng.uniform(120.10, 120.20, 300), rng.uniform(30.20, 30.30, 300)
    db = make_db([dict(record_id=f"H{i}", lon=float(x), lat=float(y), requester_hash=f"p{i % 250}")
                  for i, (x, y) in enumerate(zip(lon, lat, strict=True))])
    with duckdb.connect(str(db), read_only=True) as con:
        cells = hotspot_queries.cell_counts(con, Filter(), 0.5)
    assert cells["records"].sum() == 300
    # Independent check: project by hand, find the nearest hexagon centre among a brute-force set.
    radius = 6371.0088
    x = radius * np.radians(lon - 120.5) * np.cos(np.radians(lat))
    y = radius * np.radians(lat)
    side = 0.5
    r_guess = np.round(y / (1.5 * side)).astype(int)
    expected = []
    for xi, yi, rg in zip(x, y, r_guess, strict=True):
        best = None
        for r in range(rg - 2, rg + 3):
            q0 = int(round(xi / (math.sqrt(3) * side) - r / 2))
            for q in range(q0 - 2, q0 + 3):
                cx, cy = side * math.sqrt(3) * (q + r / 2), side * 1.5 * r
                d = (xi - cx) ** 2 + (yi - cy) ** 2
                if best is None or d < best[0]:
                    best = (d, q, r)
        expected.append(best[1:])
    by_hand = pd.DataFrame(expected, columns=["q", "r"]).value_counts().sort_index()
    from_sql = cells.set_index(["q", "r"])["records"].sort_index()
    assert by_hand.to_dict() == from_sql.to_dict()


def _xihu_spread(make_db, seed):
    """西湖区 (330106)'s polygon, a random generator and 400 points drawn uniformly inside the polygon."""
    with duckdb.connect(str(make_db([dict(record_id="G")], name="geom.duckdb")), read_only=True) as con:
        polygon = shapely.from_geojson(hotspot_queries.study_geometries(con, Filter(district_adcode="330106"))[0])
    rng = np.random.default_rng(seed)
    min_x, min_y, max_x, max_y = polygon.bounds
    spread = []
    while len(spread) < 400:
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if polygon.contains(shapely.Point(x, y)):
            spread.append((x, y))
    return polygon, rng, spread


def test_hot_spot_map_on_a_district_with_a_planted_compound_finds_it(make_db):
    # 西湖区 (330106): 400 requesters spread over the district, 150 more around one point (σ ≈ 400 m).
    polygon, rng, spread = _xihu_spread(make_db, seed=4)
    compound = (120.1300, 30.2600)
    assert polygon.contains(shapely.Point(compound))
    planted = [(compound[0] + rng.normal(0, 0.004), compound[1] + rng.normal(0, 0.004)) for _ in range(150)]
    db = make_db([dict(record_id=f"P{i}", lon=x, lat=y, requester_hash=f"person-{i}")
                  for i, (x, y) in enumerate(spread + planted)])
    with duckdb.connect(str(db), read_only=True) as con:
        spots = hotspots.hot_spot_map(con, Filter(district_adcode="330106"))
    assert spots.measure == "requesters" and spots.cells["count"].sum() == 550
    hot = spots.cells[(spots.cells["kind"] == "hot") & (spots.cells["level"] >= 95)]
    assert len(hot) >= 1
    q, r = hotspots.hex_of(np.array([compound[0]]), np.array([compound[1]]), spots.side_km)
    assert (_hex_distance(hot["q"], hot["r"], q[0], r[0]) <= 1).all()


def test_placebo_shuffles_of_the_bundled_demo_leave_false_alarms_within_the_fdr_level(bundled_demo_db):
    from needsmap import alerts, queries

    with duckdb.connect(str(bundled_demo_db), read_only=True) as con:
        cities = queries.districts(con)["city_adcode"].drop_duplicates().sort_values().tolist()
        real_hot = alarms = tested = 0
        for number, city in enumerate(cities):
            spots = hotspots.hot_spot_map(con, Filter(city_adcode=city))
            real_hot += int((spots.cells["level"] >= 95).sum())
            found, runs = hotspots.placebo_rate(spots, 10, seed=number)
            alarms, tested = alarms + found, tested + runs
        alert_alarms, alert_runs = alerts.placebo_rate(con, Filter(), 40, seed=0)
        real_surges = alerts.surges(con, Filter(date_to=date(2025, 9, 14))).surges()
    assert tested == 110 and real_hot > 0  # the real maps have hot spots; the shuffled ones (nearly) none
    assert alarms / tested <= 0.05
    assert alert_runs == 40 and len(real_surges) >= 1
    assert alert_alarms / alert_runs <= alerts.FDR_Q


def test_one_persons_calls_make_hot_spots_by_records_that_public_mode_does_not_draw(make_db):
    # 西湖区: 400 callers spread over the district; one more caller rings 150 times from around one
    # spot (σ ≈ 400 m). By records that is a hot spot; by people it is one person.
    from needsmap import presentation

    polygon, rng, spread = _xihu_spread(make_db, seed=9)
    spot = (120.1300, 30.2600)
    calls = [(spot[0] + rng.normal(0, 0.004), spot[1] + rng.normal(0, 0.004)) for _ in range(150)]
    records = [dict(record_id=f"S{i}", lon=x, lat=y, requester_hash=f"person-{i}") for i, (x, y) in enumerate(spread)]
    records += [dict(record_id=f"ONE{i}", lon=x, lat=y, requester_hash="the-one-caller") for i, (x, y) in enumerate(calls)]
    with duckdb.connect(str(make_db(records)), read_only=True) as con:
        layer = hotspots.hot_spot_layer(con, Filter(district_adcode="330106"), measure="records")
    hot = layer.cells[(layer.cells["kind"] == "hot") & (layer.cells["level"] >= 95)]
    assert len(hot) >= 1
    # Each drawn cell carries its records and its distinct requesters, counted here independently.
    points = pd.DataFrame(spread + calls, columns=["lon", "lat"])
    points["who"] = [f"person-{i}" for i in range(len(spread))] + ["the-one-caller"] * len(calls)
    points["q"], points["r"] = hotspots.hex_of(points["lon"].to_numpy(), points["lat"].to_numpy(), layer.side_km)
    expected = points.groupby(["q", "r"]).agg(records=("who", "size"), people=("who", "nunique"))
    for cell in hot.itertuples():
        assert (cell.records, cell.distinct_requesters) == tuple(expected.loc[(cell.q, cell.r)]), (cell.q, cell.r)
    assert hot["distinct_requesters"].max() < 5 <= hot["records"].min()
    # The one public rule (k = 5 records and 5 people) draws none of them, and no briefing line names one.
    public = layer.cells[presentation.enough_to_show(layer.cells, 5)]
    assert public.merge(hot[["q", "r"]]).empty
    assert hotspots.top_words(layer, {"330106": "西湖区"}, "zh", k=5) == []
    assert len(hotspots.top_words(layer, {"330106": "西湖区"}, "zh", k=1)) >= 1
