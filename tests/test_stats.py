"""Smoothing and gap intervals against independent computations written here: Marshall (1991)
step by step in numpy, and statsmodels' quasi-Poisson / quasi-binomial GLMs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as scipy_stats

from needsmap import queries, stats, store
from needsmap.filters import Filter

# --- empirical Bayes (Marshall 1991, global estimator within each city) ----------------------------------

# City A: districts far apart (strong overdispersion); city B: districts at one rate give or take
# counting noise; city C: a single district.
SMOOTHING = pd.DataFrame({
    "city": ["A"] * 5 + ["B"] * 4 + ["C"],
    "counts": [5, 80, 300, 12, 900, 41, 79, 122, 20, 7],
    "population": [50_000, 100_000, 200_000, 30_000, 400_000, 50_000, 100_000, 150_000, 25_000, 9_000],
})


def marshall_1991(counts: list[float], population: list[float]) -> list[float]:
    """Marshall (1991), "Mapping disease and mortality rates using empirical Bayes estimators",
    eqs. for the global moment estimator: m = Σy/Σn; s² = Σnᵢ(rᵢ − m)²/Σn − m/n̄ (0 if negative);
    Cᵢ = s²/(s² + m/nᵢ); θᵢ = m + Cᵢ(rᵢ − m)."""
    y, n = np.array(counts, float), np.array(population, float)
    k = len(y)
    m = y.sum() / n.sum()
    rates = y / n
    n_bar = n.sum() / k
    s2 = sum(n[i] * (rates[i] - m) ** 2 for i in range(k)) / n.sum() - m / n_bar
    s2 = max(s2, 0.0)
    return [m + s2 / (s2 + m / n[i]) * (rates[i] - m) for i in range(k)]


def test_smoothing_is_marshall_within_each_city_with_the_city_variance():
    smoothed = stats.eb_smoothed_rate(SMOOTHING["counts"], SMOOTHING["population"], SMOOTHING["city"])
    expected = []
    for _, city in SMOOTHING.groupby("city", sort=False):
        expected += marshall_1991(list(city["counts"]), list(city["population"]))
    assert list(smoothed) == pytest.approx(expected, rel=1e-12)


def test_overdispersed_city_keeps_its_differences_and_a_homogeneous_city_is_pooled():
    smoothed = stats.eb_smoothed_rate(SMOOTHING["counts"], SMOOTHING["population"], SMOOTHING["city"]) * 10_000
    raw = SMOOTHING["counts"] / SMOOTHING["population"] * 10_000
    a, b = SMOOTHING["city"] == "A", SMOOTHING["city"] == "B"
    # A (rates 1 to 22.5 per 10,000): a between-district variance far above noise, so the rates keep
    # their order and spread; the big district barely moves, the 5-record one most (1.0 → 2.0).
    assert list(smoothed[a].rank()) == list(raw[a].rank())
    assert smoothed[a].max() - smoothed[a].min() > 0.9 * (raw[a].max() - raw[a].min())
    assert abs(smoothed.iloc[4] - raw.iloc[4]) < 0.01 * raw.iloc[4] and smoothed.iloc[0] == pytest.approx(2.0, abs=0.01)
    # B: its variance estimate is below zero, so every district gets the city's rate (262 / 325,000).
    assert list(smoothed[b]) == pytest.approx([262 / 325_000 * 10_000] * 4)
    assert smoothed.iloc[9] == pytest.approx(raw.iloc[9])  # C: alone, its own rate


def test_unknown_population_stays_unknown():
    smoothed = stats.eb_smoothed_rate(pd.Series([3, 4, 5]), pd.Series([1_000, np.nan, 2_000]), pd.Series(["A", "A", "A"]))
    assert math.isnan(smoothed.iloc[1]) and not smoothed.drop(index=1).isna().any()


# --- gap intervals: quasi-Poisson over districts ------------------------------------------------------------


def overdispersed_districts(seed: int = 4) -> pd.DataFrame:
    """12 urban and 14 rural districts whose true rates vary (gamma, shape 2) around 8 and 6 per 10,000."""
    rng = np.random.default_rng(seed)
    area = np.array(["urban"] * 12 + ["rural"] * 14)
    population = rng.integers(60_000, 1_200_000, area.size)
    mean_rate = np.where(area == "urban", 8e-4, 6e-4)
    counts = rng.poisson(population * mean_rate * rng.gamma(2.0, 0.5, area.size))
    return pd.DataFrame({"area": area, "population": population, "counts": counts})


def quasi_poisson_ratio(frame: pd.DataFrame) -> tuple[float, float, float, float]:
    """statsmodels: Poisson GLM with log-population offset, scale = Pearson χ²/df, t intervals."""
    design = sm.add_constant((frame["area"] == "rural").astype(float).to_numpy())
    fit = sm.GLM(frame["counts"].to_numpy(), design, family=sm.families.Poisson(),
                 offset=np.log(frame["population"].to_numpy(float))).fit(scale="X2", use_t=True)
    low, high = fit.conf_int(alpha=0.05)[1]
    return math.exp(fit.params[1]), math.exp(low), math.exp(high), fit.scale


def _sides(frame: pd.DataFrame, column: str) -> tuple[float, float, float, float]:
    by_area = frame.groupby("area")[[column, "population"]].sum()
    return by_area.loc["rural", column], by_area.loc["rural", "population"], by_area.loc["urban", column], by_area.loc["urban", "population"]


def test_rate_ratio_interval_is_the_quasi_poisson_one_under_strong_overdispersion():
    frame = overdispersed_districts()
    spread = stats.poisson_dispersion(frame["counts"], frame["population"], frame["area"])
    ratio, low, high = stats.rate_ratio_ci(*_sides(frame, "counts"), spread)
    expected_ratio, expected_low, expected_high, expected_scale = quasi_poisson_ratio(frame)
    assert expected_scale > 50  # the case this is about: districts differ far beyond counting noise
    assert (spread.scale, spread.df) == (pytest.approx(expected_scale), 24)
    assert (ratio, low, high) == pytest.approx((expected_ratio, expected_low, expected_high), rel=1e-9)
    # The independent-record (Poisson) interval would be about √φ times too narrow.
    _, poisson_low, poisson_high = stats.rate_ratio_ci(*_sides(frame, "counts"))
    assert math.log(high / low) / math.log(poisson_high / poisson_low) > 0.95 * math.sqrt(expected_scale)


def test_without_overdispersion_the_interval_is_the_poisson_one_with_t():
    # Counts exactly at each area's rate: Pearson χ² = 0, the scale floors at 1.
    frame = pd.DataFrame({"area": ["urban"] * 3 + ["rural"] * 3,
                          "population": [100_000, 200_000, 300_000] * 2, "counts": [80, 160, 240, 60, 120, 180]})
    spread = stats.poisson_dispersion(frame["counts"], frame["population"], frame["area"])
    assert (spread.scale, spread.df) == (1.0, 4)
    ratio, low, high = stats.rate_ratio_ci(360, 600_000, 480, 600_000, spread)
    half_width = scipy_stats.t.ppf(0.975, 4) * math.sqrt(1 / 360 + 1 / 480)
    assert (ratio, low, high) == pytest.approx((0.75, 0.75 * math.exp(-half_width), 0.75 * math.exp(half_width)))


def test_two_districts_give_no_interval():
    spread = stats.poisson_dispersion(pd.Series([10, 30]), pd.Series([1_000, 2_000]), pd.Series(["urban", "rural"]))
    assert math.isnan(spread.scale)
    ratio, low, high = stats.rate_ratio_ci(30, 2_000, 10, 1_000, spread)
    assert ratio == pytest.approx(1.5) and math.isnan(low) and math.isnan(high)


def test_share_difference_uses_the_quasi_binomial_scale():
    rng = np.random.default_rng(9)
    area = np.array(["urban"] * 10 + ["rural"] * 10)
    trials = rng.integers(200, 2_000, area.size)
    hits = rng.binomial(trials, np.clip(np.where(area == "urban", 0.9, 0.6) + rng.normal(0, 0.1, area.size), 0.05, 0.98))
    frame = pd.DataFrame({"area": area, "hits": hits, "trials": trials})
    spread = stats.binomial_dispersion(frame["hits"], frame["trials"], frame["area"])
    design = sm.add_constant((frame["area"] == "rural").astype(float).to_numpy())
    fit = sm.GLM(np.column_stack([hits, trials - hits]), design, family=sm.families.Binomial()).fit()
    expected_scale = fit.pearson_chi2 / fit.df_resid
    assert expected_scale > 10 and (spread.scale, spread.df) == (pytest.approx(expected_scale), 18)
    sums = frame.groupby("area")[["hits", "trials"]].sum()
    p_r, p_u = sums.loc["rural", "hits"] / sums.loc["rural", "trials"], sums.loc["urban", "hits"] / sums.loc["urban", "trials"]
    half_width = scipy_stats.t.ppf(0.975, 18) * math.sqrt(
        expected_scale * (p_r * (1 - p_r) / sums.loc["rural", "trials"] + p_u * (1 - p_u) / sums.loc["urban", "trials"]))
    diff, low, high = stats.proportion_diff_ci(sums.loc["rural", "hits"], sums.loc["rural", "trials"],
                                               sums.loc["urban", "hits"], sums.loc["urban", "trials"], spread)
    assert (diff, low, high) == pytest.approx((p_r - p_u, p_r - p_u - half_width, p_r - p_u + half_width))


def test_mean_difference_scale_is_between_over_within_district_spread():
    rng = np.random.default_rng(2)
    values = {f"{side}{i}": rng.choice([1, 3, 5], size=rng.integers(20, 200), p=p)
              for side, p in (("u", [0.1, 0.2, 0.7]), ("r", [0.3, 0.3, 0.4])) for i in range(6)}
    values["u0"], values["r0"] = np.full(150, 5), np.full(150, 1)  # one district each all-satisfied / all-not
    names = list(values)
    area = pd.Series(["urban" if name[0] == "u" else "rural" for name in names])
    spread = stats.mean_dispersion(pd.Series([len(values[n]) for n in names]), pd.Series([values[n].sum() for n in names]),
                                   pd.Series([(values[n] ** 2).sum() for n in names]), area)
    terms = []
    for side in ("u", "r"):
        pooled = np.concatenate([values[n] for n in names if n[0] == side])
        terms += [len(values[n]) * (values[n].mean() - pooled.mean()) ** 2 / pooled.var(ddof=1) for n in names if n[0] == side]
    assert spread.df == 10 and spread.scale == pytest.approx(sum(terms) / 10) and spread.scale > 5


def test_median_difference_resamples_districts():
    # Two sides of three districts each, every district at one value: a record-level bootstrap
    # would see no uncertainty within a district; the district bootstrap spans the districts.
    rural = [np.full(50, 20.0), np.full(50, 30.0), np.full(50, 40.0)]
    urban = [np.full(50, 5.0), np.full(50, 6.0), np.full(50, 7.0)]
    gap, low, high = stats.median_diff_ci(rural, urban, seed=1)
    assert gap == 24.0
    assert 13.0 <= low < 24.0 < high <= 35.0 and high - low >= 10
    assert stats.median_diff_ci(rural, urban, seed=1) == (gap, low, high)  # seeded


# --- the gap page's numbers, from a database ---------------------------------------------------------------


def test_gap_summary_ratio_matches_a_quasi_poisson_fit_over_the_city_districts(make_db):
    con = store.open_readonly(make_db([dict(record_id="seed")], name="empty.duckdb"))
    hangzhou = queries.districts(con).query("city_adcode == '330100'").reset_index(drop=True)
    con.close()
    rng = np.random.default_rng(5)
    counts = rng.poisson(hangzhou["population_2020"] * np.where(hangzhou["urban_rural"] == "urban", 3e-4, 2e-4)
                         * rng.gamma(1.5, 1 / 1.5, len(hangzhou)))
    urgent = rng.binomial(counts, rng.uniform(0.05, 0.5, len(hangzhou)))
    records = []
    for district, count, urgent_count in zip(hangzhou.itertuples(), counts, urgent, strict=True):
        records += [dict(record_id=f"{district.adcode}-{i}", district_adcode=district.adcode, urban_rural=district.urban_rural,
                         urgency=4 if i < urgent_count else 1) for i in range(count)]
    con = store.open_readonly(make_db(records))
    try:
        summary = queries.gap_summary(con, Filter(city_adcode="330100"), 24).set_index("measure")
    finally:
        con.close()

    frame = pd.DataFrame({"area": hangzhou["urban_rural"], "population": hangzhou["population_2020"], "counts": counts})
    ratio, low, high, scale = quasi_poisson_ratio(frame)
    row = summary.loc["per_10k"]
    assert (row["gap"], row["low"], row["high"], row["dispersion"]) == pytest.approx((ratio, low, high, scale), rel=1e-9)
    assert (row["urban_n"], row["rural_n"]) == tuple(frame.groupby("area")["counts"].sum()[["urban", "rural"]])

    design = sm.add_constant((frame["area"] == "rural").astype(float).to_numpy())
    keep = counts > 0
    fit = sm.GLM(np.column_stack([urgent, counts - urgent])[keep], design[keep], family=sm.families.Binomial()).fit()
    assert summary.loc["urgent_share", "dispersion"] == pytest.approx(max(fit.pearson_chi2 / fit.df_resid, 1.0))
