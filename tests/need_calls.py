"""Hotline exports of hand-placed calls, for the needs tests (engine, CLI and pages).

Each call is a dict: caller (an integer: the phone number is derived from it), at (text time),
lon, lat, and optionally category, subcategory, text, urgency, people, status, resolved, each
written as the source system writes it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ingest_files import ZH_HEADERS, interior_points, write_csv

from needsmap.ingest import import_file

H = ZH_HEADERS


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
    """Write ``calls`` as a hotline CSV in ``tmp_path`` and import it into ``db`` (every row accepted)."""
    report = import_file(write_csv(tmp_path / name, hotline_rows(calls)), db)
    assert report.rejected == 0


def exaggeration_calls() -> tuple[list[list[dict]], dict]:
    """Ten needs of 20–29 distinct callers each (ordinary claims, 一般 or 较急, open) in ten
    places, and one caller elsewhere claiming "1,000,000" people at 特急, all in December 2025."""
    lons, lats, _ = interior_points(11, seed=43)
    categories = (("供水", "停水"), ("停电", "停电"), ("道路", "路灯不亮"), ("环境卫生/垃圾", "垃圾未清运"), ("燃气", "燃气停供"))
    groups: list[list[dict]] = []
    for place in range(10):  # ten needs of 20–29 distinct callers, ordinary claims, 一般 or 较急
        category, subcategory = categories[place % len(categories)]
        group = [dict(caller=1_000 * place + i, lon=lons[place] + (i % 4) * 0.0002, lat=lats[place] + (i % 3) * 0.0002,
                      at=f"2025-12-{10 + i % 3:02d} {8 + i % 10:02d}:00:00", category=category, subcategory=subcategory,
                      urgency="较急" if (place + i) % 3 == 0 else "一般", people=str(10 + (7 * i + place) % 40))
                 for i in range(20 + place)]
        groups.append(group)
    loud = dict(caller=99_999, lon=lons[10], lat=lats[10], at="2025-12-11 09:00:00", urgency="特急", people="1,000,000",
                category="供水", subcategory="停水", text="全市停水，一百万人没水喝")
    return groups, loud
