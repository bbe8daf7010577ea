"""The query layer against a hand-built database whose every answer is known."""

import math
from datetime import datetime

import pandas as pd
import pytest

from needsmap import queries, store
from needsmap.filters import Filter
from tests.records import RECORDS, T0

OVERDUE_DAYS = 15


@pytest.fixture
def con(make_db):
    connection = store.open_readonly(make_db(RECORDS))
    yield connection
    connection.close()


def test_as_of_is_the_latest_record(con):
    assert queries.as_of(con) == datetime(2025, 7, 1)


def test_kpis_count_requesters_once_and_judge_overdue_at_as_of(con):
    kpis = queries.kpis(con, Filter(), queries.as_of(con), OVERDUE_DAYS)
    assert (kpis["records"], kpis["distinct_requesters"], kpis["urgent"], kpis["unresolved"], kpis["overdue"], kpis["resolved"]) == (5, 4, 2, 3, 2, 2)
    assert kpis["resolution_rate"] == pytest.approx(0.4)
    assert kpis["median_hours_to_response"] == pytest.approx(16.0)  # 2 h and 30 h
    assert kpis["mean_satisfaction"] == pytest.approx(3.0)


def test_kpis_estimate_distinct_requesters_above_the_exact_limit(con, monkeypatch):
    assert queries.kpis(con, Filter(), queries.as_of(con), 15)["distinct_requesters_approx"] is False
    monkeypatch.setattr(queries, "EXACT_DISTINCT_MAX", 2)
    # A small estimate is recounted exactly (the public-mode rule decides near k).
    assert queries.kpis(con, Filter(), queries.as_of(con), 15)["distinct_requesters_approx"] is False
    monkeypatch.setattr(queries, "EXACT_DISTINCT_BELOW", 0)
    kpis = queries.kpis(con, Filter(), queries.as_of(con), 15)
    assert kpis["distinct_requesters_approx"] is True
    assert kpis["distinct_requesters"] == 4  # HyperLogLog is exact at this size


def test_kpis_follow_the_filter(con):
    assert queries.kpis(con, Filter(categories=("elderly_care",)), queries.as_of(con), OVERDUE_DAYS)["records"] == 2
    assert queries.kpis(con, Filter(city_adcode="330100", urban_rural=("rural",)), queries.as_of(con), OVERDUE_DAYS)["records"] == 2
    assert queries.kpis(con, Filter(district_adcode="330106", urgency=(4,)), queries.as_of(con), OVERDUE_DAYS)["records"] == 1


def test_sql_text_in_filter_values_is_data_not_sql(con):
    hostile = Filter(categories=("water' OR 1=1 --",), subcategories=("'); DROP TABLE demands; --",))
    assert queries.kpis(con, hostile, queries.as_of(con), OVERDUE_DAYS)["records"] == 0
    assert queries.kpis(con, Filter(), queries.as_of(con), OVERDUE_DAYS)["records"] == 5


def test_district_measures_cover_all_90_and_refuse_to_rank_small_counts(con):
    measures = queries.district_measures(con, Filter(), queries.as_of(con), OVERDUE_DAYS, min_records_to_rank=3).set_index("adcode")
    assert len(measures) == 90
    xihu, chunan = measures.loc["330106"], measures.loc["330127"]
    assert (xihu["records"], xihu["unresolved"], xihu["overdue"]) == (3, 2, 2)
    assert xihu["per_10k"] == pytest.approx(3 / xihu["population_2020"] * 10_000)
    assert bool(xihu["rankable"]) and not bool(chunan["rankable"])
    assert xihu["rank_smoothed"] == 1 and math.isnan(chunan["rank_smoothed"])
    assert list(xihu["top_categories"]) == ["water"]
    assert measures["records"].sum() == 5


def test_urban_rural_gap_uses_residents_of_each_area(con):
    gap = queries.urban_rural_gap(con, Filter(), response_hours_target=24)
    overall = gap[gap["category"] == "__all__"].set_index("urban_rural")
    districts = queries.districts(con)
    urban_population = districts.loc[districts["urban_rural"] == "urban", "population_2020"].sum()
    assert overall.loc["urban", "records"] == 3 and overall.loc["rural", "records"] == 2
    assert overall.loc["urban", "population"] == urban_population
    assert overall.loc["rural", "resolution_rate"] == pytest.approx(0.5)
    # Only R3 of the three urban records has a response time (2 h): the share is over it alone.
    assert overall.loc["urban", "responded"] == 1
    assert overall.loc["urban", "responded_within_target_share"] == pytest.approx(1.0)


def test_service_loop_funnel_and_time_limits(con):
    loop = queries.service_loop(con, Filter(), response_hours_target=24, feedback_hours_target=72).iloc[0]
    funnel = [loop[c] for c in ("received", "dispatched", "in_progress_or_later", "resolved_or_later", "closed")]
    assert funnel == [5, 3, 2, 2, 1]
    assert [loop[c] for c in queries.LOOP_STAGES] == [5, 3, 2, 2, 2, 2]  # 回访 and 评价: R3 and R4
    # Over the two records with a response time: R3 in 2 h, R4 in 30 h.
    assert (loop["responded"], loop["responded_within_target"]) == (2, 1)
    assert loop["responded_within_target_share"] == pytest.approx(0.5)
    # Follow-up: R3 50 h after receipt, R4 144 h.
    assert (loop["followed_up_timed"], loop["feedback_within_target"]) == (2, 1)
    assert loop["feedback_within_target_share"] == pytest.approx(0.5)
    assert loop["median_days_to_resolve"] == pytest.approx(3.0)
    by_district = queries.service_loop(con, Filter(), 24, 72, by="district").set_index("district")
    assert by_district.loc["330127", "records"] == 2


def test_overdue_records_are_the_old_open_ones(con):
    overdue = queries.overdue_records(con, Filter(), queries.as_of(con), OVERDUE_DAYS)
    assert list(overdue["record_id"]) == ["R1", "R2"]
    assert overdue.iloc[0]["days_open"] == pytest.approx(29.6)


def test_map_points_switch_to_grid_cells_above_the_cap(con):
    kind, points = queries.map_points(con, Filter(district_adcode="330106"))
    assert kind == "points" and len(points) == 3
    kind, cells = queries.map_points(con, Filter(district_adcode="330106"), cap=2)
    assert kind == "cells" and cells["records"].sum() == 3


def test_records_table_carries_no_raw_requester_fields(con):
    frame = queries.records(con, Filter())
    assert len(frame) == 5
    assert not {"requester_hash", "phone", "name"} & set(frame.columns)


def test_monthly_trend_fills_months_without_records_with_zero(make_db):
    september = dict(record_id="R6", created_at=pd.Timestamp("2025-09-10 10:00"), requester_hash="h5")
    con = store.open_readonly(make_db([*RECORDS, september]))
    try:
        trend = queries.monthly_trend(con, Filter())
    finally:
        con.close()
    cells = {(month.strftime("%Y-%m"), category): records
             for month, category, records in trend[["month", "category", "records"]].itertuples(index=False)}
    assert cells == {
        ("2025-06", "elderly_care"): 1, ("2025-06", "water"): 3,
        ("2025-07", "elderly_care"): 1, ("2025-07", "water"): 0,
        ("2025-08", "elderly_care"): 0, ("2025-08", "water"): 0,  # a month with no record at all
        ("2025-09", "elderly_care"): 0, ("2025-09", "water"): 1,
    }


# --- Repeats: one caller phoning fifty times -------------------------------------------------------------
# 西湖区: 20 callers once each and one caller 50 times; 上城区: 60 callers once each.
REPEATER = (
    [dict(record_id=f"X{i}", district_adcode="330106", requester_hash=f"x{i}") for i in range(20)]
    + [dict(record_id=f"R{i}", district_adcode="330106", requester_hash="repeater",
            created_at=T0 + pd.Timedelta(hours=i)) for i in range(50)]
    + [dict(record_id=f"S{i}", district_adcode="330102", requester_hash=f"s{i}") for i in range(60)]
)


def test_one_caller_phoning_fifty_times_counts_once_per_resident(make_db):
    con = store.open_readonly(make_db(REPEATER))
    try:
        measures = queries.district_measures(con, Filter(), queries.as_of(con), OVERDUE_DAYS, min_records_to_rank=1)
        kpis = queries.kpis(con, Filter(city_adcode="330100"), queries.as_of(con), OVERDUE_DAYS)
    finally:
        con.close()
    measures = measures.set_index("adcode")
    xihu, shangcheng = measures.loc["330106"], measures.loc["330102"]
    assert (xihu["records"], xihu["distinct_requesters"], shangcheng["records"], shangcheng["distinct_requesters"]) == (70, 21, 60, 60)
    assert xihu["requesters_per_10k"] == pytest.approx(21 / xihu["population_2020"] * 10_000)
    # By records the repeater puts 西湖区 first; by people, 上城区 is first.
    assert measures["smoothed_per_10k"].idxmax() == "330106"
    assert measures["smoothed_requesters_per_10k"].idxmax() == "330102"
    hangzhou = measures[measures["city_adcode"] == "330100"]
    assert kpis["per_10k"] == pytest.approx(130 / hangzhou["population_2020"].sum() * 10_000)
    assert kpis["requesters_per_10k"] == pytest.approx(81 / hangzhou["population_2020"].sum() * 10_000)


def test_district_requesters_above_the_exact_limit_are_exact_where_few(make_db, monkeypatch):
    con = store.open_readonly(make_db(REPEATER))
    try:
        monkeypatch.setattr(queries, "EXACT_DISTINCT_MAX", 10)  # 130 records: estimated, but each district is small
        measures = queries.district_measures(con, Filter(), queries.as_of(con), OVERDUE_DAYS, 1).set_index("adcode")
        assert (measures.loc["330106", "distinct_requesters"], measures.loc["330102", "distinct_requesters"]) == (21, 60)
        assert not measures["distinct_requesters_approx"].any()
        monkeypatch.setattr(queries, "EXACT_DISTINCT_BELOW", 0)
        estimated = queries.district_measures(con, Filter(), queries.as_of(con), OVERDUE_DAYS, 1).set_index("adcode")
        assert estimated.loc[["330106", "330102"], "distinct_requesters_approx"].all()
    finally:
        con.close()


def test_withdrawn_and_duplicate_tickets_are_neither_resolved_nor_unresolved_nor_dispatched(make_db):
    rural = dict(district_adcode="330127", urban_rural="rural")
    db = make_db([
        dict(record_id="A", status="resolved", requester_hash="a"),
        dict(record_id="B", status="closed", requester_hash="b"),
        dict(record_id="C", status="received", requester_hash="c"),
        dict(record_id="D", status="withdrawn", requester_hash="d"),      # 已撤销
        dict(record_id="E", status="duplicate", requester_hash="e", **rural),  # 重复件
        dict(record_id="F", status="resolved", requester_hash="f", **rural),
    ])
    with store.open_readonly(db) as con:
        k = queries.kpis(con, Filter(), queries.as_of(con), OVERDUE_DAYS)
        loop = queries.service_loop(con, Filter(), 24, 72).iloc[0]
        gap = queries.urban_rural_gap(con, Filter(), 24).set_index(["category", "urban_rural"])
    # Six records; two are no need any more. Of the four left, three are resolved and one is open.
    assert (k["records"], k["resolved"], k["unresolved"]) == (6, 3, 1)
    assert k["resolution_rate"] == 3 / 4
    assert (loop["received"], loop["dispatched"], loop["withdrawn"], loop["resolved_or_later"]) == (6, 3, 2, 3)
    assert loop["resolution_rate"] == 3 / 4
    assert gap.loc[("__all__", "urban"), "resolution_rate"] == 2 / 3
    assert gap.loc[("__all__", "rural"), "resolution_rate"] == 1 / 1


# --- Summed priority: the open-now scores of each district's needs ------------------------------------------

def _burst(prefix: str, district: str, lon: float, lat: float, start: str, calls: list[tuple[str, int, int, str]]) -> list[dict]:
    """Calls (requester, urgency, people claimed, status) a quarter of an hour apart, within ~50 m."""
    return [dict(record_id=f"{prefix}{i}", district_adcode=district, lon=lon + i * 0.0001, lat=lat, requester_hash=who,
                 created_at=pd.Timestamp(start) + pd.Timedelta(minutes=15 * i), urgency=urgency, people_affected=people,
                 status=status, resolved_at=None if status == "received" else pd.Timestamp(start) + pd.Timedelta(days=1))
            for i, (who, urgency, people, status) in enumerate(calls)]


SUMMED = (
    # 西湖区: two needs, each with open records from several people.
    _burst("A", "330106", 120.10, 30.25, "2025-06-01 08:10", [("a1", 4, 100, "received"), ("a2", 3, 50, "received"),
                                                             ("a3", 2, 20, "received"), ("a4", 1, 10, "resolved"),
                                                             ("a5", 1, 5, "resolved")])
    + _burst("B", "330106", 120.05, 30.20, "2025-06-10 09:50", [("b1", 3, 2, "received"), ("b2", 1, 1, "received"),
                                                               ("b3", 1, 1, "resolved")])
    # 上城区: a need of three people, all closed: nothing open to push.
    + _burst("C", "330102", 120.17, 30.24, "2025-06-05 10:00", [("c1", 4, 30, "resolved"), ("c2", 4, 30, "resolved"),
                                                               ("c3", 4, 30, "resolved")])
    # 淳安县: one person's four open calls: one voice, not a need a ranking lists.
    + _burst("D", "330127", 119.04, 29.61, "2025-06-12 17:30", [("d1", 4, 900, "received")] * 4)
)


def test_summed_priority_is_the_sum_of_open_need_scores_per_district(make_db):
    con = store.open_readonly(make_db(SUMMED))
    try:
        as_of = queries.as_of(con)
        measures = queries.district_measures(con, Filter(), as_of, 15, 1, include_priority=True)
        plain = queries.district_measures(con, Filter(), as_of, 15, 1)
    finally:
        con.close()
    assert as_of == datetime(2025, 6, 12, 18, 15)  # D's last call

    def open_score(first_open: str, urgencies: list[int], claims: list[int], open_requesters: int, requesters: int) -> float:
        urgency = math.ceil(pd.Series(urgencies).median())
        people = min(max(float(pd.Series(claims).median()), requesters), 10 * requesters)
        # Hours counted as the clock's hour changes, as DuckDB's date_diff('hour', …) counts them.
        days = (pd.Timestamp(as_of).floor("h") - pd.Timestamp(first_open).floor("h")) / pd.Timedelta(days=1)
        return urgency * (1 + math.log10(people)) * (1 + math.log2(open_requesters)) * (1 + min(days / 15, 3))

    west_lake = (open_score("2025-06-01 08:10", [4, 3, 2, 1, 1], [100, 50, 20, 10, 5], 3, 5)
                 + open_score("2025-06-10 09:50", [3, 1, 1], [2, 1, 1], 2, 3))
    summed = measures.set_index("adcode")["priority_sum"]
    assert summed["330106"] == pytest.approx(west_lake, rel=1e-12)
    assert (summed.drop("330106") == 0).all() and len(summed) == 90
    # Every other measure is as without it; without it the column reads 0.
    pd.testing.assert_frame_equal(measures.drop(columns="priority_sum"), plain.drop(columns="priority_sum"))
    assert (plain["priority_sum"] == 0).all()
