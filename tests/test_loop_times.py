"""Service-loop rates over the records that have the times they need; times that run backwards are
data errors (left out of every duration, listed on the Data page). Input: a hotline CSV as a
12345 system exports it (Chinese headers, GBK), imported by the real importer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from needsmap import queries, store
from needsmap.filters import Filter
from needsmap.ingest import import_file
from tests.apptest_pages import metrics, open_page
from tests.ingest_files import hotline_frame, write_csv

START = pd.Timestamp("2025-03-03 08:30:00")
RESPONSE_TARGET_H, FEEDBACK_TARGET_H = 24, 72


def _text(moment: pd.Timestamp | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def hotline_db(tmp_path: Path, timelines: list[dict]) -> Path:
    """Import a GBK hotline CSV with one row per timeline: hours after receipt for 响应/办结/回访
    (None: left blank), 办理状态 and 满意度 as the export writes them."""
    frame = hotline_frame(len(timelines), seed=11)
    for row, timeline in enumerate(timelines):
        created = START + pd.Timedelta(days=row)

        def at(key: str, created: pd.Timestamp = created, timeline: dict = timeline) -> str:
            hours = timeline.get(key)
            return _text(None if hours is None else created + pd.Timedelta(hours=hours))

        frame.loc[row, "受理时间"] = _text(created)
        frame.loc[row, "响应时间"] = at("responded")
        frame.loc[row, "办结时间"] = at("resolved")
        frame.loc[row, "回访时间"] = at("feedback")
        frame.loc[row, "办理状态"] = timeline.get("status", "处理中")
        frame.loc[row, "满意度"] = timeline.get("satisfaction", "")
    path = write_csv(tmp_path / "12345导出.csv", frame, encoding="gbk")
    db = tmp_path / "loop.duckdb"
    report = import_file(path, db)
    assert (report.accepted, report.rejected) == (len(timelines), 0)
    return db


# 12 records: 8 with a response time (6 within 24 h, the 24 h one included), 4 without.
TWELVE = [{"responded": hours} for hours in (1, 2, 5, 10, 23, 24, 30, 48)] + [{}] * 4
BACKWARDS_RESPONSE = {"responded": -5}  # a response 5 h before receipt


def _loop(db: Path) -> pd.Series:
    con = store.open_readonly(db)
    try:
        return queries.service_loop(con, Filter(), RESPONSE_TARGET_H, FEEDBACK_TARGET_H).iloc[0]
    finally:
        con.close()


def test_response_share_is_over_the_records_with_a_response_time(tmp_path):
    loop = _loop(hotline_db(tmp_path, TWELVE))
    assert (loop["records"], loop["responded"], loop["responded_within_target"]) == (12, 8, 6)
    assert loop["responded_within_target_share"] == pytest.approx(6 / 8)  # not 6 / 12


def test_loop_page_shows_each_rate_with_the_records_it_rests_on(tmp_path, monkeypatch):
    monkeypatch.setenv("NEEDSMAP_DB", str(hotline_db(tmp_path, TWELVE)))
    app = open_page("pages/4_loop.py")
    assert not app.exception
    assert metrics(app)["24 小时内响应"] == "75.0%"
    captions = [c.value for c in app.caption]
    assert "基于 8 / 12 条有响应时间的记录" in captions
    assert "基于 0 / 12 条有回访时间的记录" in captions and "基于 12 条记录" in captions
    assert metrics(app)["72 小时内反馈"] == "–"  # no follow-up times: no rate, not 0 %


def test_a_response_before_receipt_is_a_data_error_not_on_time(tmp_path, monkeypatch):
    db = hotline_db(tmp_path, TWELVE + [BACKWARDS_RESPONSE])
    loop = _loop(db)
    assert (loop["records"], loop["responded"], loop["responded_within_target"], loop["timestamp_errors"]) == (13, 8, 6, 1)
    assert loop["responded_within_target_share"] == pytest.approx(6 / 8)  # not 7 / 9

    con = store.open_readonly(db)
    try:
        errors = queries.timestamp_errors(con)
        assert queries.data_quality(con)["timestamp_errors"] == 1
        # The KPI median response time leaves it out too: hours 1 2 5 10 23 24 30 48 → 16.5.
        assert queries.kpis(con, Filter(), queries.as_of(con), 15)["median_hours_to_response"] == pytest.approx(16.5)
    finally:
        con.close()
    assert list(errors["record_id"]) == ["GD00000013"]
    assert list(errors["problem"]) == ["response_before_receipt"]

    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    data_page = open_page("pages/5_data.py")
    assert not data_page.exception
    assert metrics(data_page)["时间颠倒（数据错误）"] == "1"
    listed = next(frame.value for frame in data_page.dataframe if "问题" in frame.value.columns)
    assert list(listed["工单编号"]) == ["GD00000013"] and list(listed["问题"]) == ["响应早于受理"]
    loop_page = open_page("pages/4_loop.py")
    assert [w.value for w in loop_page.warning] == [
        "1 条记录的时间先后颠倒（如响应早于受理），属数据错误，未计入任何时长；清单见“数据”页。"]


# Full timelines (hours after receipt). C and D run backwards; were they used, every figure below
# would differ: response 4/5, follow-up within 72 h 2/4, median days to resolve 4.
OUT_OF_ORDER = [
    dict(responded=2, resolved=48, feedback=72, status="已回访", satisfaction="满意"),                # A  2 d
    dict(responded=3, resolved=96, feedback=120, status="已回访", satisfaction="基本满意"),           # B  4 d
    dict(responded=30 * 24, resolved=25 * 24, status="已办结"),                                        # C resolved before response
    dict(responded=1, resolved=20 * 24, feedback=48, status="已回访", satisfaction="不满意"),        # D follow-up before resolution
    dict(responded=1, resolved=72, feedback=108, status="已办结"),                                     # E  3 d, follow-up, no rating
]


def test_out_of_order_times_are_left_out_of_every_duration(tmp_path):
    db = hotline_db(tmp_path, OUT_OF_ORDER)
    loop = _loop(db)
    assert loop["timestamp_errors"] == 2
    assert (loop["responded"], loop["responded_within_target"]) == (3, 3)
    assert (loop["followed_up_timed"], loop["feedback_within_target"]) == (3, 1)  # A at 72 h; E at 108 h, B at 120 h
    assert loop["feedback_within_target_share"] == pytest.approx(1 / 3)
    assert (loop["resolved_timed"], loop["median_days_to_resolve"]) == (3, pytest.approx(3.0))
    con = store.open_readonly(db)
    try:
        problems = queries.timestamp_errors(con).set_index("record_id")["problem"].to_dict()
    finally:
        con.close()
    assert problems == {"GD00000003": "resolution_before_response", "GD00000004": "feedback_before_resolution"}


def test_every_funnel_stage_is_counted_including_follow_up_and_rating(tmp_path):
    loop = _loop(hotline_db(tmp_path, OUT_OF_ORDER))
    # 受理 5, 派单/处理/办结 5 (all resolved or closed), 回访: the four with a 回访时间 (E's status
    # is still 已办结), 评价: the three with a 满意度.
    assert [int(loop[stage]) for stage in queries.LOOP_STAGES] == [5, 5, 5, 5, 4, 3]
    assert loop["closed"] == 3
    assert loop["mean_satisfaction"] == pytest.approx((5 + 3 + 1) / 3)
