"""Needs (``needsmap.needs``): built from real imported CSV exports and the bundled demo; the
expected figures are computed here, from the rows the test writes, not by the code under test.

Test data provenance: the crafted files are hotline-style CSVs (Chinese headers, ``ZH_HEADERS``)
written by the test; centres are interior points of the bundled districts
(``ingest_files.interior_points``) and every caller stands within 0.0006° of one, so each
need's records fall in one district.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ingest_files import interior_points
from need_calls import exaggeration_calls, import_calls
from needsmap import brief, demo, need_queries, needs, queries, repeats, store
from needsmap.__main__ import main as cli_main
from needsmap.filters import Filter

OVERDUE_DAYS = 15.0  # the default resolve_days_target the CLI reads


def needs_json(db: Path, capsys, *options: str) -> list[dict]:
    assert cli_main(["needs", "--db", str(db), "--json", *options]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def record_needs(db: Path, f: Filter = Filter()) -> pd.DataFrame:
    """Every record of ``f`` with its need number, as ``needs.build`` groups them."""
    con = store.open_readonly(db)
    try:
        records = need_queries.need_records(con, f)
    finally:
        con.close()
    frame = records.to_pandas()
    category = pd.factorize(frame["category"])[0]
    frame["need_id"] = needs.need_ids(category, frame["lon"].to_numpy(), frame["lat"].to_numpy(),
                                      frame["seconds"].to_numpy(), frame["requester_key"].to_numpy())
    return frame


# --- needs are not split by grid lines or calendars --------------------------------------------------------

def test_burst_across_a_grid_line_and_a_month_end_is_one_need_and_a_far_burst_is_another(tmp_path, empty_db, capsys):
    (lon, lat), (far_lon, far_lat) = zip(*interior_points(2, seed=41)[:2], strict=True)
    # The old 500 m grid's cell edge nearest the burst's centre: half the callers either side of it.
    metres_per_degree_lon = 111_320.0 * math.cos(math.radians(29.5))
    edge_lon = round(lon * metres_per_degree_lon / 500) * 500 / metres_per_degree_lon
    times = pd.date_range("2025-07-31 18:00", "2025-08-01 06:00", periods=40)  # over midnight of 31 July
    calls = [dict(caller=i, at=str(at), lon=edge_lon + (-1) ** i * 0.0004, lat=lat + (i % 5) * 0.0001, people="50")
             for i, at in enumerate(times)]
    calls += [dict(caller=100 + i, at=str(at), lon=far_lon + (i % 3) * 0.0001, lat=far_lat, people="20")
              for i, at in enumerate(times[:12])]
    import_calls(tmp_path, empty_db, calls)

    frame = record_needs(empty_db)
    near = frame["lon"].sub(edge_lon).abs() < 0.001
    # The planted burst does straddle the old grid and the calendar: its cells and months differ.
    old = repeats.cluster_ids(frame["category"], frame["lon"].to_numpy(), frame["lat"].to_numpy(),
                              frame["created_at"], 500, 30)
    assert len(set(old[near.to_numpy()])) == 2
    assert set(frame.loc[near, "created_at"].dt.month) == {7, 8}
    # Built as needs: the burst is one need, the far burst another.
    assert frame.loc[near, "need_id"].nunique() == 1
    assert frame.loc[~near, "need_id"].nunique() == 1
    assert frame.loc[near, "need_id"].iloc[0] != frame.loc[~near, "need_id"].iloc[0]

    ranked = needs_json(empty_db, capsys, "--ranking", "structural")
    assert [(row["records"], row["distinct_requesters"]) for row in ranked] == [(40, 40), (12, 12)]
    assert ranked[0]["label"].endswith("2025年7月31日–8月1日 · 40 人反映")


# --- exaggeration: one loud caller against many real ones ------------------------------------------------------

def _independent_open_score(callers: list[dict], as_of: pd.Timestamp) -> float:
    """The open score of one need from its calls, written out from the documented rule."""
    urgency_words = {"一般": 1, "较急": 2, "紧急": 3, "特急": 4}
    per_caller = pd.DataFrame({
        "caller": [c["caller"] for c in callers],
        "urgency": [urgency_words[c["urgency"]] for c in callers],
        "claim": [int(c["people"].replace(",", "")) for c in callers],
    }).groupby("caller").max()
    requesters = len(per_caller)
    people = min(max(math.floor(per_caller["claim"].median()), requesters), 10 * requesters)
    urgency = math.ceil(per_caller["urgency"].median())
    waited_days = (as_of - min(pd.Timestamp(c["at"]) for c in callers)).total_seconds() / 86_400
    age = 1 + min(waited_days / OVERDUE_DAYS, 3)
    return urgency * (1 + math.log10(people)) * (1 + math.log2(requesters)) * age


def test_one_caller_claiming_a_million_at_top_urgency_stays_out_of_the_top_ten_and_is_flagged(tmp_path, empty_db, capsys):
    groups, loud = exaggeration_calls()
    calls = [call for group in groups for call in group] + [loud]
    import_calls(tmp_path, empty_db, calls, "exaggeration.csv")
    as_of = max(pd.Timestamp(c["at"]) for c in calls)

    top = needs_json(empty_db, capsys, "--top", "10")
    expected = sorted((_independent_open_score(group, as_of) for group in groups), reverse=True)
    assert [row["score"] for row in top] == pytest.approx(expected, abs=5e-5)
    assert all(row["distinct_requesters"] >= 20 for row in top)

    # Single callers listed too: the loud one comes after all ten, its claim flagged and bounded.
    everyone = needs_json(empty_db, capsys, "--top", "20", "--min-requesters", "1")
    assert [row["distinct_requesters"] >= 20 for row in everyone] == [True] * 10 + [False]
    assert everyone[10]["score"] == pytest.approx(_independent_open_score([loud], as_of), abs=5e-5)
    assert (everyone[10]["people_claimed"], everyone[10]["people_used"]) == (1_000_000, 10)
    assert everyone[10]["claim_flag"] == "申报 1,000,000 人，按 10 人计"
    assert everyone[10]["urgency_factor"] == 4.0


def test_people_used_is_one_rule_from_one_to_a_billion():
    claims = np.array([1, 5, 30, 1_000, 10_000_000, 10_000_001, 1_000_000_000], dtype="float64")
    ones = np.ones(len(claims))
    single = needs.people_used(claims, ones, np.full(len(claims), 800_000.0))
    assert single.tolist() == [1, 5, 10, 10, 10, 10, 10]  # never more than one household's worth uncorroborated
    many = needs.people_used(claims, ones * 50_000, np.full(len(claims), 800_000.0))
    assert many.tolist() == [50_000, 50_000, 50_000, 50_000, 500_000, 500_000, 500_000]
    bounded = needs.people_used(claims, ones * 200_000, np.full(len(claims), 800_000.0))
    assert bounded.tolist() == [200_000] * 4 + [800_000] * 3  # no more than the district holds
    # A single requester's people never exceed those of a need with ten or more requesters.
    assert needs.people_used(np.array([1e9]), np.array([1.0]), np.array([1e6]))[0] <= \
        needs.people_used(np.array([1.0]), np.array([10.0]), np.array([1e6]))[0]


def test_a_lift_broken_again_after_its_repair_counts_as_recurring(tmp_path, empty_db, capsys):
    (lon,), (lat,), _ = interior_points(1, seed=44)
    lift = dict(category="住房/物业", subcategory="电梯故障", text="电梯又坏了", people="60")
    first = [dict(lift, caller=i, lon=lon, lat=lat + i * 0.0001, at=f"2025-03-0{1 + i} 09:00:00", status="已办结",
                  resolved="2025-03-06 17:00:00") for i in range(3)]
    again = [dict(lift, caller=10 + i, lon=lon + i * 0.0001, lat=lat, at=f"2025-06-1{i} 10:00:00") for i in range(4)]
    import_calls(tmp_path, empty_db, first + again, "lift.csv")

    ranked = needs_json(empty_db, capsys, "--ranking", "structural")
    assert [(row["records"], row["recurrences"], row["recurrence_factor"]) for row in ranked] == [(4, 1, 2.0), (3, 0, 1.0)]


# --- the bundled demo ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_2025(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo2025") / "demo.duckdb"
    demo.build_demo_database(db, records=50_000, seed=2025)
    return db


def test_demo_structural_top_ten_holds_the_planted_bursts_and_no_single_caller(demo_2025, capsys):
    # The bursts found independently: the (category, district, day) with the most distinct callers.
    with duckdb.connect(str(demo_2025), read_only=True) as con:
        bursts = con.execute(
            """
            SELECT category, district_adcode, created_at::DATE AS day, count(DISTINCT requester_key) AS callers
            FROM demands GROUP BY ALL HAVING count(DISTINCT requester_key) >= 30 ORDER BY callers DESC
            """).df()
    water = bursts[bursts["category"] == "water"].iloc[0]
    typhoon = bursts[bursts["category"] == "sewage"].iloc[0]

    structural = needs_json(demo_2025, capsys, "--ranking", "structural", "--top", "10")
    opened = needs_json(demo_2025, capsys, "--ranking", "open", "--top", "10")

    def holds(burst: pd.Series) -> bool:
        return any(row["category"] == burst["category"] and row["district_adcode"] == burst["district_adcode"]
                   and row["first_at"][:10] <= str(burst["day"]) <= row["last_at"][:10]
                   and row["distinct_requesters"] >= burst["callers"] for row in structural)

    assert holds(water) and holds(typhoon)
    assert all(row["distinct_requesters"] >= 2 for row in structural + opened)


def test_demo_extreme_repeater_is_one_requester_in_one_need(demo_2025):
    frame = record_needs(demo_2025)
    calls = frame.groupby("requester_key").size()
    repeater = calls.idxmax()
    assert calls.max() >= 55  # the demo's extreme repeater: 55–130 calls by one person
    theirs = frame[frame["requester_key"] == repeater]
    assert theirs["need_id"].nunique() == 1
    con = store.open_readonly(demo_2025)
    try:
        built = needs.build(con, Filter(), queries.as_of(con), OVERDUE_DAYS)
    finally:
        con.close()
    need = built.set_index("need_id").loc[theirs["need_id"].iloc[0]]
    others = frame.loc[frame["need_id"] == theirs["need_id"].iloc[0], "requester_key"].nunique()
    assert (need["records"], need["distinct_requesters"]) == (len(frame[frame["need_id"] == theirs["need_id"].iloc[0]]), others)
    assert need["distinct_requesters"] <= 1 + (need["records"] - len(theirs))


def test_briefing_top_five_is_the_structural_ranking_of_its_place(demo_2025, capsys):
    structural = needs_json(demo_2025, capsys, "--ranking", "structural", "--district", "330212", "--top", "5")
    con = store.open_readonly(demo_2025)
    try:
        briefing = brief.build(con, brief.place_filter(con, "330212"))
    finally:
        con.close()
    # k = 5: needs of fewer than five requesters are not published; the rest keep the CLI's order.
    shown = [row for row in structural if row["distinct_requesters"] >= 5 and row["records"] >= 5]
    assert [(cells[0], cells[4], cells[5], cells[10]) for cells in briefing.priority_rows] == [
        (str(row["rank"]), f"{row['records']:,}", f"{row['distinct_requesters']:,}", f"{row['score']:.2f}") for row in shown]
    assert briefing.priority_rows[0][1:3] == ("鄞州区", "供水")


@pytest.mark.parametrize("option", (["--top", "0"], ["--min-requesters", "-1"], ["--w-reach", "nan"], ["--ranking", "loud"]))
def test_needs_command_refuses_a_bad_option_with_a_sentence(empty_db, capsys, option):
    with pytest.raises(SystemExit) as stopped:
        cli_main(["needs", "--db", str(empty_db), *option])
    assert stopped.value.code == 2
    assert f"argument {option[0]}" in capsys.readouterr().err


def test_needs_command_names_the_allowed_values_in_both_languages(empty_db, capsys):
    for option, sentence in ((["--top", "0"], "应为不小于 1 的整数，收到 '0' (expected a whole number of at least 1)"),
                             (["--w-reach", "11"], "权重应为 0 到 10 之间的数，收到 '11' (expected a number from 0 to 10)")):
        with pytest.raises(SystemExit):
            cli_main(["needs", "--db", str(empty_db), *option])
        assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"argument {option[0]}: {sentence}")


# --- the neighbour search ------------------------------------------------------------------------------------

def test_box_search_finds_exactly_the_pairs_a_brute_force_check_finds():
    rng = np.random.default_rng(7)
    # Scattered points, a dense burst, repeated points and points exactly one box apart (on cell edges).
    scattered = rng.uniform(-5, 40, size=(600, 3))
    burst = rng.normal(10, 0.4, size=(300, 3))
    edges = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, 1.0, 1.0], [2.0, 2.0, 3.0], [2.0, 2.0, 3.0]])
    points = np.vstack([scattered, burst, edges])
    for r in (1.0, 0.37):
        x, y, t = (np.ascontiguousarray(points[:, k]) for k in range(3))
        first, second = needs._Boxes(x, y, t, r).pairs()
        found = {(min(i, j), max(i, j)) for i, j in zip(first.tolist(), second.tolist(), strict=True)}
        assert len(found) == len(first)  # each pair once
        close = np.all(np.abs(points[:, None, :] - points[None, :, :]) <= r, axis=2)
        expected = {(i, j) for i, j in zip(*np.nonzero(np.triu(close, k=1)), strict=True)}
        assert found == expected
        queries = rng.uniform(-7, 42, size=(200, 3))
        query, point = needs._Boxes(x, y, t, r).near(*(queries[:, k] for k in range(3)))
        near = np.all(np.abs(queries[:, None, :] - points[None, :, :]) <= r, axis=2)
        assert set(zip(query.tolist(), point.tolist(), strict=True)) == set(zip(*np.nonzero(near), strict=True))


# --- one row per need: the one-record needs read as they are, the others grouped ---------------------------

# (need, requester, created_at, subcategory, district, urgency, claim, status, resolved_at, lon, lat)
_SUMMARY_ROWS = [
    (0, "a", "2025-06-01 08:10", "停水", "330106", 2, 30, "received", None, 120.10, 30.20),
    (0, "a", "2025-06-01 09:40", "停水", "330106", 4, 50, "resolved", "2025-06-02 10:00", 120.11, 30.21),
    (0, "b", "2025-06-01 11:00", "水压低", "330102", 1, 7, "closed", "2025-06-03 09:00", 120.12, 30.22),
    (1, "c", "2025-06-02 09:59", None, "330102", 3, 12, "dispatched", None, 120.20, 30.30),
    (2, "d", "2025-06-02 10:30", "停水", "330105", 1, 1, "closed", None, 120.30, 30.31),
    (3, "e", "2025-06-03 07:00", "水质", "330106", 1, 4, "resolved", "2025-06-05 08:00", 120.40, 30.10),
    (3, "f", "2025-06-03 07:30", "停水", "330102", 2, 9, "resolved", "2025-06-04 08:00", 120.41, 30.11),
    (3, "g", "2025-06-03 08:00", "停水", "330106", 3, 2, "resolved", "2025-06-04 09:00", 120.42, 30.12),
    (3, "h", "2025-06-03 08:30", "水质", "330102", 4, 1, "received", None, 120.43, 30.13),
    (4, "i", "2025-06-04 10:01", "停水", "330111", 2, 600, "returned", None, 120.50, 30.05),
    (5, "j", "2025-06-05 12:00", None, "330105", 1, 3, "received", None, 120.60, 30.40),
    (5, "j", "2025-06-05 13:00", None, "330105", 1, 5, "in_progress", None, 120.61, 30.41),
]


def test_need_summaries_of_single_and_grouped_needs_match_a_direct_computation(make_db):
    as_of = pd.Timestamp("2025-06-06 10:01")
    db = make_db([dict(record_id=f"S{i}", created_at=pd.Timestamp(at), subcategory=sub, district_adcode=district,
                       urgency=urgency, people_affected=claim, status=status, requester_hash=requester,
                       resolved_at=None if resolved is None else pd.Timestamp(resolved), lon=lon, lat=lat)
                  for i, (_, requester, at, sub, district, urgency, claim, status, resolved, lon, lat) in enumerate(_SUMMARY_ROWS)])
    con = store.open_readonly(db)
    try:
        records = need_queries.need_records(con, Filter())
        population = queries.districts(con).set_index("adcode")["population_2020"]
        # The need of each record, by its record id's order (the records come back oldest first, as written).
        need_of = np.array([row[0] for row in _SUMMARY_ROWS])
        sizes = np.bincount(need_of)
        got = need_queries.need_summaries(con, records.append_column("need_id", pa.array(need_of)), sizes[need_of],
                                          as_of.to_pydatetime())
    finally:
        con.close()
    rows = pd.DataFrame(_SUMMARY_ROWS, columns=["need", "requester", "at", "sub", "district", "urgency", "claim",
                                                "status", "resolved", "lon", "lat"])
    rows["at"], rows["resolved"] = pd.to_datetime(rows["at"]), pd.to_datetime(rows["resolved"])
    rows["open"] = rows["status"].isin(["received", "dispatched", "in_progress", "returned"])
    expected = []
    for need, part in rows.groupby("need"):
        voices = part.groupby("requester").agg(claim=("claim", "max"), urgency=("urgency", "max"), open=("open", "any"))

        def commonest(column: str) -> tuple[str | None, int]:
            counts = part[column].value_counts(dropna=False)
            top = counts[counts == counts.max()].index
            named = sorted(value for value in top if isinstance(value, str))
            return (named[0] if named else None), int(counts.max())

        sub, n_sub = commonest("sub")
        opened = part[part["open"]]
        oldest = opened["at"].min()
        # Hours counted as hour boundaries crossed (the clock's hour changes), as DuckDB's date_diff counts them.
        hours = (as_of.floor("h") - oldest.floor("h")) / pd.Timedelta(hours=1) if len(opened) else None
        expected.append(dict(
            need_id=need, category="water", subcategory=sub if n_sub * 2 >= len(part) else None,
            district_adcode=commonest("district")[0], records=len(part), distinct_requesters=len(voices),
            urgency=math.ceil(voices["urgency"].median()), median_claim=float(voices["claim"].median()),
            max_claim=int(part["claim"].max()), population=int(population[part["district"]].max()),
            open_records=int(part["open"].sum()), open_requesters=int(voices["open"].sum()),
            days_open_oldest=None if hours is None else hours / 24.0,
            first_at=part["at"].min(), last_at=part["at"].max(),
            last_resolved_at=None if part["open"].any() else part["resolved"].fillna(part["at"]).max(),
            lon=part["lon"].mean(), lat=part["lat"].mean(),
        ))
    expected = pd.DataFrame(expected)
    assert got["need_id"].tolist() == list(range(6))  # in need order
    for column in expected.columns:
        mine, theirs = got[column].astype(object).where(got[column].notna(), None).tolist(), expected[column].tolist()
        if column in ("lon", "lat"):
            assert mine == pytest.approx(theirs, rel=1e-12), column
        else:
            assert mine == [None if pd.isna(value) else value for value in theirs], column
    # Spelled out for the eye: need 3 ties 水质/停水 2–2 and 330106/330102 2–2 (code-point order picks),
    # need 1 is one open record that has waited from 09:59 on 2 June to 10:01 on 6 June: 97 hour changes.
    assert got.loc[3, ["subcategory", "district_adcode", "urgency", "median_claim"]].tolist() == ["停水", "330102", 3, 3.0]
    assert got.loc[1, "days_open_oldest"] == 97 / 24
