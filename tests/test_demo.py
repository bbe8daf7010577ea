"""The demo generator: exact counts, determinism, geography, privacy and the realism it promises.

Most checks read the session-wide ``demo_db`` (6,000 records, seed 7, from conftest); the rest
build small databases and CSV files of their own under ``tmp_path``.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely

from tests.conftest import DEMO_RECORDS, DEMO_SEED
from needsmap import boundaries, demo, privacy, repeats, taxonomy
from needsmap.demo import geography, people
from needsmap.demo import rows as demo_rows
from needsmap.errors import NeedsmapError
from needsmap.ingest import import_file

HASH_KEY = "test-demo-key"
SMALL = 3_000
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def _query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _table_digest(db: Path) -> str:
    """MD5 of every demands row in record-id order."""
    rows = _query(db, "SELECT * FROM demands ORDER BY record_id")
    return hashlib.md5(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def keyed_demos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two builds with seed 11 and one with seed 12, all with one hashing key."""
    folder = tmp_path_factory.mktemp("keyed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEEDSMAP_HASH_KEY", HASH_KEY)
        paths = {"a": folder / "a.duckdb", "b": folder / "b.duckdb", "other": folder / "other.duckdb"}
        demo.build_demo_database(paths["a"], records=SMALL, seed=11)
        demo.build_demo_database(paths["b"], records=SMALL, seed=11)
        demo.build_demo_database(paths["other"], records=SMALL, seed=12)
    return paths


# --- counts, ids, determinism ---------------------------------------------------------------


def test_demo_database_holds_exactly_the_requested_records(demo_db: Path) -> None:
    assert _query(demo_db, "SELECT count(*), count(DISTINCT record_id) FROM demands") == [(DEMO_RECORDS, DEMO_RECORDS)]


def test_demo_is_recorded_as_import_batch_one(demo_db: Path) -> None:
    assert _query(demo_db, "SELECT batch_id, file_name, source, rows_read, accepted, rejected FROM imports") == [
        (1, "demo", f"demo generator seed={DEMO_SEED}", DEMO_RECORDS, DEMO_RECORDS, 0)
    ]
    assert _query(demo_db, "SELECT DISTINCT batch_id FROM demands") == [(1,)]


def test_record_ids_follow_time(demo_db: Path) -> None:
    backwards = _query(demo_db, """
        SELECT count(*) FROM (
            SELECT created_at < lag(created_at) OVER (ORDER BY record_id) AS went_back FROM demands
        ) WHERE went_back
    """)
    assert backwards == [(0,)]
    first, last = _query(demo_db, "SELECT min(record_id), max(record_id) FROM demands")[0]
    assert first == "ZJ2024-000000001"
    assert last == f"ZJ2025-{DEMO_RECORDS:09d}"


def test_same_seed_gives_identical_rows(keyed_demos: dict[str, Path]) -> None:
    assert _table_digest(keyed_demos["a"]) == _table_digest(keyed_demos["b"])


def test_different_seed_gives_different_rows(keyed_demos: dict[str, Path]) -> None:
    assert _table_digest(keyed_demos["a"]) != _table_digest(keyed_demos["other"])
    assert _query(keyed_demos["other"], "SELECT count(*) FROM demands") == [(SMALL,)]


def test_rebuilding_replaces_the_database_entirely(tmp_path: Path) -> None:
    db = tmp_path / "again.duckdb"
    demo.build_demo_database(db, records=500, seed=1)
    assert demo.build_demo_database(db, records=0, seed=2) == 0
    assert _query(db, "SELECT (SELECT count(*) FROM demands), (SELECT count(*) FROM districts)") == [(0, 90)]
    assert _query(db, "SELECT count(*), min(source), min(rows_read) FROM imports") == [(1, "demo generator seed=2", 0)]
    assert not Path(f"{db}.bak").exists()


def test_several_chunks_give_exact_count_and_contiguous_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_rows, "_CHUNK_ROWS", 700)
    db = tmp_path / "chunked.duckdb"
    assert demo.build_demo_database(db, records=SMALL, seed=3) == SMALL
    sequence = [int(r[0][-9:]) for r in _query(db, "SELECT record_id FROM demands ORDER BY record_id")]
    assert sequence == list(range(1, SMALL + 1))
    backwards = _query(db, """
        SELECT count(*) FROM (
            SELECT created_at < lag(created_at) OVER (ORDER BY record_id) AS went_back FROM demands
        ) WHERE went_back
    """)
    assert backwards == [(0,)]
    assert _grid_groups(db)["requester_hash"].nunique().max() >= 30


@pytest.mark.parametrize(("records", "seed", "message"), [
    (-1, 1, "records was -1"),
    (demo.MAX_RECORDS + 1, 1, "records was 100,000,001"),
    (10, -5, "seed was -5"),
])
def test_bad_arguments_are_refused(tmp_path: Path, records: int, seed: int, message: str) -> None:
    with pytest.raises(NeedsmapError, match=message):
        demo.build_demo_database(tmp_path / "x.duckdb", records=records, seed=seed)
    assert not (tmp_path / "x.duckdb").exists()


# --- geography ------------------------------------------------------------------------------


def test_every_seat_lies_in_its_district() -> None:
    geo = geography._geography()
    assert len(geo.adcodes) == 90
    assert shapely.contains_xy(geo.geoms, geo.seat_lon, geo.seat_lat).all()


def test_all_90_districts_are_known_and_present(demo_db: Path) -> None:
    unknown = _query(demo_db, """
        SELECT count(*) FROM demands d ANTI JOIN districts k ON d.district_adcode = k.adcode
    """)
    assert unknown == [(0,)]
    assert _query(demo_db, "SELECT count(DISTINCT district_adcode) FROM demands") == [(90,)]


def test_points_lie_in_their_stored_district(demo_db: Path) -> None:
    rows = _query(demo_db, """
        SELECT lon, lat, district_adcode FROM demands ORDER BY hash(record_id) LIMIT 1000
    """)
    lon, lat, adcode = (np.array(column) for column in zip(*rows))
    assert len(rows) == 1000
    assert (boundaries.assign_districts(lon, lat) == adcode).all()


def test_urban_rural_matches_the_district(demo_db: Path) -> None:
    mismatched = _query(demo_db, """
        SELECT count(*) FROM demands d JOIN districts k ON d.district_adcode = k.adcode
        WHERE d.urban_rural <> k.urban_rural
    """)
    assert mismatched == [(0,)]


# --- personal data --------------------------------------------------------------------------


def test_no_raw_phone_or_name_is_stored(demo_db: Path) -> None:
    full_name = re.compile(f"[{''.join(people._SURNAMES)}][{''.join(people._GIVEN)}]")
    with duckdb.connect(str(demo_db), read_only=True) as con:
        text_columns = [
            row[0] for row in con.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'demands' AND data_type = 'VARCHAR'"
            ).fetchall()
        ]
        frame = con.execute(f"SELECT {', '.join(text_columns)} FROM demands").df()
    assert "requester_hash" in text_columns
    for column in text_columns:
        values = frame[column].dropna().astype(str)
        if column == "requester_hash":  # hex digests may contain digit runs; check their form instead
            assert values.str.fullmatch(r"[0-9a-f]{32}").all()
            continue
        assert not values.str.contains(MOBILE).any(), column
        assert not values.str.contains(full_name).any(), column
    assert frame["requester_phone_masked"].dropna().str.fullmatch(r"1[3-9][0-9]\*{4}[0-9]{4}").all()
    assert frame["requester_name_masked"].dropna().str.fullmatch(f"[{''.join(people._SURNAMES)}]\\*{{1,2}}").all()


def test_csv_carries_the_same_records_and_phones_the_database_hashed(
    keyed_demos: dict[str, Path], tmp_path: Path,
) -> None:
    path = tmp_path / "hotline.csv"
    demo.write_demo_csv(path, records=SMALL, seed=11)
    exported = pd.read_csv(path, dtype=str, keep_default_na=False)
    stored = pd.DataFrame(
        _query(keyed_demos["a"], "SELECT record_id, requester_hash, description, lon FROM demands ORDER BY record_id"),
        columns=["record_id", "requester_hash", "description", "lon"],
    )
    assert exported["工单编号"].tolist() == stored["record_id"].tolist()
    assert exported["诉求内容"].tolist() == stored["description"].tolist()
    assert np.allclose(exported["经度"].astype(float), stored["lon"], rtol=0, atol=1e-9)
    phones = exported["来电号码"].replace("", None).astype("string")
    expected = privacy.hash_phone(privacy.normalize_phone(phones), HASH_KEY.encode())
    assert expected.fillna("").tolist() == stored["requester_hash"].fillna("").tolist()


def test_gcj02_csv_imported_as_gcj02_gives_back_the_wgs84_points(keyed_demos: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "amap.csv"
    demo.write_demo_csv(path, records=SMALL, seed=11, crs="gcj02")
    exported = pd.read_csv(path, dtype=str, keep_default_na=False)
    stored = pd.DataFrame(
        _query(keyed_demos["a"], "SELECT record_id, lon, lat, district_adcode FROM demands ORDER BY record_id"),
        columns=["record_id", "lon", "lat", "district_adcode"],
    )
    shift_m = np.hypot(exported["经度"].astype(float) - stored["lon"], exported["纬度"].astype(float) - stored["lat"]) * 111_000
    assert shift_m.min() > 100  # GCJ-02 is offset from WGS-84 by a few hundred metres in Zhejiang

    report = import_file(path, tmp_path / "amap.duckdb", crs="gcj02")
    imported = pd.DataFrame(
        _query(tmp_path / "amap.duckdb", "SELECT record_id, lon, lat, district_adcode FROM demands ORDER BY record_id"),
        columns=["record_id", "lon", "lat", "district_adcode"],
    )
    kept = stored[stored["record_id"].isin(imported["record_id"])].reset_index(drop=True)
    assert report.rows_read == SMALL and report.accepted == len(imported) >= SMALL - 3
    back_m = np.hypot(imported["lon"] - kept["lon"], imported["lat"] - kept["lat"]) * 111_000
    assert back_m.max() < 5  # the library's one-step GCJ-02 inverse is good to ~3 m; 6 decimals to 0.1 m
    assert (imported["district_adcode"] == kept["district_adcode"]).mean() > 0.998


# --- what the data says ---------------------------------------------------------------------


# The demo models the ordinary life cycle, 受理 → 已回访; returned, withdrawn and duplicate tickets
# come only from real exports (tests/export_corpus.py imports them).
LIFECYCLE_STATUSES = ("received", "dispatched", "in_progress", "resolved", "closed")


def test_every_life_cycle_status_appears(demo_db: Path) -> None:
    statuses = {row[0] for row in _query(demo_db, "SELECT DISTINCT status FROM demands")}
    assert statuses == set(LIFECYCLE_STATUSES)


def test_hotline_is_the_largest_channel(demo_db: Path) -> None:
    counts = dict(_query(demo_db, "SELECT channel, count(*) FROM demands GROUP BY channel"))
    assert max(counts, key=counts.get) == "hotline"
    assert 0.5 < counts["hotline"] / DEMO_RECORDS < 0.7
    assert 0.12 < counts["mini_program"] / DEMO_RECORDS < 0.28


def test_county_areas_have_a_larger_share_of_elderly_care(demo_db: Path) -> None:
    share = dict(_query(demo_db, """
        SELECT urban_rural, avg((category = 'elderly_care')::INT) FROM demands GROUP BY urban_rural
    """))
    assert share["rural"] > 1.5 * share["urban"]


def test_county_areas_are_answered_more_slowly(demo_db: Path) -> None:
    hours = dict(_query(demo_db, """
        SELECT urban_rural, median(epoch(responded_at - created_at) / 3600) FROM demands GROUP BY urban_rural
    """))
    assert 3 < hours["urban"] < 10
    assert 14 < hours["rural"] < 28


def test_water_and_sewage_peak_in_summer_and_gas_in_winter(demo_db: Path) -> None:
    share = {(category, season): value for category, season, value in _query(demo_db, """
        WITH seasonal AS (
            SELECT category, CASE WHEN month(created_at) BETWEEN 6 AND 9 THEN 'summer' ELSE 'winter' END AS season
            FROM demands WHERE month(created_at) IN (12, 1, 2, 6, 7, 8, 9)
        )
        SELECT category, season, count(*) / sum(count(*)) OVER (PARTITION BY season)
        FROM seasonal GROUP BY category, season
    """)}
    assert share[("water", "summer")] > 1.25 * share[("water", "winter")]
    assert share[("sewage", "summer")] > 1.5 * share[("sewage", "winter")]
    assert share[("gas", "winter")] > 2.0 * share[("gas", "summer")]


def _grid_groups(db: Path):
    """The demo's records grouped by the grid its compounds are placed in (``repeats.cluster_ids``,
    500 m × 30 days; records without a point left out)."""
    frame = pd.DataFrame(_query(db, "SELECT category, lon, lat, created_at, requester_hash FROM demands WHERE lon IS NOT NULL"),
                         columns=["category", "lon", "lat", "created_at", "requester_hash"])
    frame["cell"] = repeats.cluster_ids(frame["category"], frame["lon"].to_numpy(), frame["lat"].to_numpy(),
                                        frame["created_at"].astype("datetime64[ns]"), 500.0, 30.0)
    return frame.groupby("cell")


def test_grid_groups_stay_within_one_cell_and_window(demo_db: Path) -> None:
    groups = _grid_groups(demo_db)
    spans = groups["created_at"].max() - groups["created_at"].min()
    assert spans.max().days < 30
    assert groups["category"].nunique().max() == 1


def test_an_extreme_repeater_fills_one_grid_cell(demo_db: Path) -> None:
    groups = _grid_groups(demo_db)
    sizes, requesters = groups.size(), groups["requester_hash"].nunique()
    assert ((sizes >= 50) & (requesters <= 2)).sum() >= 1


def test_a_burst_brings_many_distinct_requesters_to_one_grid_cell(demo_db: Path) -> None:
    groups = _grid_groups(demo_db)
    requesters = groups["requester_hash"].nunique()
    spans = (groups["created_at"].max() - groups["created_at"].min())[requesters >= 30]
    assert len(spans)
    assert all(span.days <= 7 for span in spans)


def test_most_requesters_call_once_and_some_call_again(demo_db: Path) -> None:
    calls = dict(_query(demo_db, """
        SELECT least(n, 6), count(*) FROM (
            SELECT count(*) AS n FROM demands WHERE requester_hash IS NOT NULL GROUP BY requester_hash
        ) GROUP BY 1
    """))
    people = sum(calls.values())
    assert calls[1] / people > 0.8
    assert all(calls.get(n, 0) > 0 for n in (2, 3, 4, 5))


def test_service_loop_times_are_in_order_and_match_status(demo_db: Path) -> None:
    problems = _query(demo_db, """
        SELECT
            count(*) FILTER (WHERE created_at < '2024-01-01' OR created_at >= '2026-01-01'),
            count(*) FILTER (
                WHERE responded_at < created_at OR resolved_at < responded_at OR feedback_at < resolved_at),
            count(*) FILTER (WHERE status = 'received' AND responded_at IS NOT NULL),
            count(*) FILTER (
                WHERE status IN ('dispatched', 'in_progress') AND (responded_at IS NULL OR resolved_at IS NOT NULL)),
            count(*) FILTER (WHERE status = 'resolved' AND (resolved_at IS NULL OR feedback_at IS NOT NULL)),
            count(*) FILTER (WHERE status = 'closed' AND (feedback_at IS NULL OR satisfaction IS NULL)),
            count(*) FILTER (WHERE status <> 'closed' AND satisfaction IS NOT NULL),
            count(*) FILTER (WHERE satisfaction NOT IN (1, 3, 5) OR urgency NOT BETWEEN 1 AND 4 OR people_affected < 1)
        FROM demands
    """)
    assert problems == [(0,) * 8]


def test_recent_records_are_more_often_open(demo_db: Path) -> None:
    open_share = dict(_query(demo_db, """
        SELECT created_at >= '2025-12-01', avg((status IN ('received', 'dispatched', 'in_progress'))::INT)
        FROM demands GROUP BY 1
    """))
    assert open_share[True] > 3 * open_share[False] > 0


# --- the hotline CSV ------------------------------------------------------------------------


def test_demo_csv_has_chinese_headers_and_exact_rows(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    assert demo.write_demo_csv(path, records=SMALL, seed=5) == SMALL
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    assert header == [
        "工单编号", "受理时间", "诉求类别", "诉求子类", "诉求内容", "经度", "纬度", "区县", "地址", "来源渠道",
        "紧急程度", "影响人数", "办理状态", "响应时间", "办结时间", "回访时间", "满意度", "人群", "来电号码", "姓名",
    ]
    assert len(rows) == SMALL
    columns = dict(zip(header, zip(*rows)))
    assert set(columns["紧急程度"]) == {"一般", "较急", "紧急", "特急"}
    assert set(columns["满意度"]) == {"满意", "基本满意", "不满意", ""}
    assert set(columns["办理状态"]) == {t.zh for t in taxonomy.STATUSES if t.code in LIFECYCLE_STATUSES}
    assert set(columns["来源渠道"]) <= {t.zh for t in taxonomy.CHANNELS}
    assert all(MOBILE.fullmatch(phone) for phone in columns["来电号码"] if phone)
    assert not any(path.parent.glob(".export.csv.writing-*"))
