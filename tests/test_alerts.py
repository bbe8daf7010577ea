"""Surge alerts (本周异常): baselines, the overdispersed count model, BH, and the demo's planted bursts."""

from __future__ import annotations

import math
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from needsmap import alerts
from needsmap.filters import Filter


def test_seasonal_baseline_is_the_same_weeks_a_year_earlier_when_the_data_reaches_back():
    baseline = alerts.baseline_weeks(date(2025, 9, 14), first_day=date(2024, 1, 1))
    assert baseline.kind == "seasonal" and baseline.weeks_back == (49, 50, 51, 52, 53, 54, 55)
    # Window 55 ends 385 days before and starts 391 days before: 2024-08-19 … 2024-08-25.
    assert date(2025, 9, 14) - timedelta(days=7 * 55 + 6) == date(2024, 8, 19)


def test_trailing_baseline_when_no_earlier_year_and_none_with_under_four_weeks():
    baseline = alerts.baseline_weeks(date(2024, 6, 30), first_day=date(2024, 1, 1))
    assert baseline.kind == "trailing" and baseline.weeks_back == tuple(range(1, 13))
    # 2024-01-28: only windows 1–3 lie wholly inside the data → no baseline, no alerts.
    assert alerts.baseline_weeks(date(2024, 1, 28), first_day=date(2024, 1, 1)) == alerts.Baseline("none", ())


def test_negative_binomial_tail_matches_the_formula():
    mean, variance, observed = 2.0, 5.0, 7
    size, prob = mean**2 / (variance - mean), mean / variance  # r = 4/3, p = 0.4
    pmf = [math.exp(math.lgamma(k + size) - math.lgamma(size) - math.lgamma(k + 1)) * prob**size * (1 - prob) ** k
           for k in range(observed)]
    assert alerts.negative_binomial_sf(np.array([observed]), np.array([mean]), np.array([variance]))[0] == pytest.approx(1 - sum(pmf))
    # Variance equal to the mean: Poisson.
    poisson = 1 - sum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(observed))
    assert alerts.negative_binomial_sf(np.array([observed]), np.array([mean]), np.array([mean]))[0] == pytest.approx(poisson)


def test_score_by_hand_for_one_series():
    # Baseline windows 1..4 hold 2, 0, 4, 2 requesters; this week 12. μ = (8 + ½)/4 = 2.125;
    # Pearson χ² about the raw mean 2: (0 + 4 + 4 + 0)/2 = 4 → φ = max(1, 4/3) = 4/3;
    # variance φ·μ·(1 + 1/4).
    counts = pd.DataFrame({"district_adcode": "330106", "category": "water", "w": [0, 1, 2, 3, 4],
                           "requesters": [12, 2, 0, 4, 2]})
    out = alerts.score(counts, alerts.Baseline("trailing", (1, 2, 3, 4)), n_series=1)
    row = out.iloc[0]
    assert row["expected"] == pytest.approx(2.125) and row["dispersion"] == pytest.approx(4 / 3)
    expected_p = alerts.negative_binomial_sf(np.array([12]), np.array([2.125]), np.array([4 / 3 * 2.125 * 1.25]))[0]
    assert row["p"] == pytest.approx(expected_p) and row["q_value"] == pytest.approx(expected_p)
    assert bool(row["surge"]) is bool(expected_p <= 0.05)
    # The same p among 100 series (99 untested): BH multiplies the smallest p by 100.
    assert alerts.score(counts, alerts.Baseline("trailing", (1, 2, 3, 4)), n_series=100).iloc[0]["q_value"] == \
        pytest.approx(min(1.0, expected_p * 100))


def _weekly_records(rng, start: date, weeks: int, district: str, category: str, mean: float, first_person: int):
    rows, person = [], first_person
    for week in range(weeks):
        for _ in range(rng.poisson(mean)):
            day = start + timedelta(days=7 * week + int(rng.integers(0, 7)))
            rows.append(dict(created_at=pd.Timestamp(day) + pd.Timedelta(hours=10), district_adcode=district,
                             category=category, requester_hash=f"p{person}"))
            person += 1
    return rows, person


@pytest.fixture
def planted_db(make_db):
    """30 weeks (Mondays from 2025-01-06) of 3 requesters a week in four district × category series;
    in the week of 2025-06-02 one series gets 25 more requesters, another one person calling 40 times."""
    rng = np.random.default_rng(21)
    rows, person = [], 0
    for district, category in (("330106", "water"), ("330106", "roads"), ("330212", "water"), ("330212", "power")):
        more, person = _weekly_records(rng, date(2025, 1, 6), 30, district, category, 3.0, person)
        rows += more
    for i in range(25):
        rows.append(dict(created_at=pd.Timestamp("2025-06-03 09:00") + pd.Timedelta(hours=i), district_adcode="330212",
                         category="water", requester_hash=f"burst{i}"))
    for i in range(40):
        rows.append(dict(created_at=pd.Timestamp("2025-06-04 08:00") + pd.Timedelta(minutes=20 * i),
                         district_adcode="330106", category="roads", requester_hash="the-repeater"))
    return make_db([dict(r, record_id=f"R{i}", lon=None, lat=None) for i, r in enumerate(rows)])


def test_planted_burst_is_the_only_surge_in_its_week_and_a_repeater_is_none(planted_db):
    with duckdb.connect(str(planted_db), read_only=True) as con:
        week = alerts.surges(con, Filter(date_to=date(2025, 6, 8)))
        assert week.baseline.kind == "trailing" and week.start_day == date(2025, 6, 2)
        surges = week.surges()
        assert surges[["district_adcode", "category"]].values.tolist() == [["330212", "water"]]
        assert surges.iloc[0]["requesters"] >= 25  # the burst's 25 and the week's ordinary ones
        # The repeater's 40 calls are one requester: not a surge, though 40 records.
        roads = week.table.set_index(["district_adcode", "category"]).loc[("330106", "roads")]
        assert roads["records"] >= 40 and not roads["surge"]
        # Every other week (ending on each Sunday from the 13th week) is quiet.
        quiet = []
        for sunday in pd.date_range("2025-04-06", "2025-07-27", freq="7D"):
            if sunday.date() != date(2025, 6, 8):
                quiet += alerts.surges(con, Filter(date_to=sunday.date())).surges().index.tolist()
        assert quiet == []


def test_bundled_demo_names_the_planted_water_outage_and_typhoon_in_their_weeks(bundled_demo_db):
    with duckdb.connect(str(bundled_demo_db), read_only=True) as con:
        # The planted bursts, found independently from their own words (the incident templates).
        planted = con.execute(
            """
            SELECT district_adcode, category, min(created_at) AS first_call, max(created_at) AS last_call,
                   count(DISTINCT requester_key) AS callers
            FROM demands
            WHERE description LIKE '%台风%' OR description LIKE '%大面积停水%' OR description LIKE '%从昨天起一直停水%'
               OR description LIKE '%停水没有提前通知%'
            GROUP BY ALL HAVING count(DISTINCT requester_key) >= 20 ORDER BY callers DESC
            """).df()
        assert len(planted) >= 2
        water = planted[planted["category"] == "water"].iloc[0]
        assert water["district_adcode"] == "330212"  # 鄞州区
        typhoon = planted[planted["category"] == "sewage"].iloc[0]
        flagged: dict[date, set] = {}
        for sunday in pd.date_range("2025-01-05", "2025-12-28", freq="7D"):
            found = alerts.surges(con, Filter(date_to=sunday.date())).surges()
            if len(found):
                flagged[sunday.date()] = set(zip(found["district_adcode"], found["category"], strict=True))
    in_week = lambda moment: (moment + timedelta(days=6 - moment.weekday())).date()  # noqa: E731 — its Sunday
    assert ("330212", "water") in flagged[in_week(water["first_call"])]
    assert (typhoon["district_adcode"], "sewage") in flagged[in_week(typhoon["last_call"])]
    # Ordinary weeks stay quiet: apart from the weeks the bursts touch, at most two series are
    # flagged in the whole year (a false-discovery rate of 5 % per week allows about that).
    burst_weeks = {in_week(row.first_call) for row in planted.itertuples()} | {in_week(row.last_call) for row in planted.itertuples()}
    others = sum(len(series) for sunday, series in flagged.items() if sunday not in burst_weeks)
    assert others <= 2
