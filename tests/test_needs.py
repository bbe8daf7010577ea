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
import pytest

from ingest_files import ZH_HEADERS, interior_points, write_csv
from needsmap import demo, need_queries, needs, queries, repeats, store
from needsmap.__main__ import main as cli_main
from needsmap.filters import Filter
from needsmap.ingest import import_file

H = ZH_HEADERS
OVERDUE_DAYS = 15.0  # the default resolve_days_target the CLI reads


def hotline_rows(calls: list[dict]) -> pd.DataFrame:
    """A hotline export: one row per call, every cell text as the source system writes it."""
    rows = []
    for number, call in enumerate(calls, start=1):
        rows.append({
            H["record_id"]: f"GD2025{number:06d}", H["created_at"]: call["at"], H["category"]: call.get("category", "供水"),
            H["subcategory"]: call.get("subcategory", "停水"), H["description"]: call.get("text", "家里停水了"),
            H["lon"]: f"{call['lon']:.6f}", H["lat"]: f"{call['lat']:.6f}", H["district"]: "", H["address"]: "某小区",
            H["channel"]: "12345热线", H["urgency"]: call.get("urgency", "一般"), H["people_affected"]: call.get("people", "1"),
            H["status"]: call.get("status", "处理中"), H["responded_at"]: "", H["resolved_at"]: call.get("resolved", ""),
            H["feedback_at"]: "", H["satisfaction"]: "", H["requester_group"]: "一般居民",
            H["phone"]: f"139{call['caller']:08d}", H["name"]: "王先生",
        })
    return pd.DataFrame(rows)


def import_calls(tmp_path: Path, db: Path, calls: list[dict], name: str = "calls.csv") -> None:
    report = import_file(write_csv(tmp_path / name, hotline_rows(calls)), db)
    assert report.rejected == 0


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
