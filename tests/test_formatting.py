"""Figures as the pages and the briefing print them: one implementation (needsmap.formatting)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pandas as pd
import pytest

from needsmap import formatting

GapRow = namedtuple("GapRow", "kind measure gap low high")


@pytest.mark.parametrize("value", [None, float("nan"), np.float64("nan"), pd.NA])
def test_missing_values_print_as_a_dash(value: object) -> None:
    assert formatting.missing(value)
    assert formatting.fmt_int(value) == "–"
    assert formatting.fmt_pct(value) == "–"
    assert formatting.fmt_num(value, 2) == "–"
    assert formatting.small_count(value, 5) == "–"


def test_numbers_shares_and_differences_read_as_printed() -> None:
    assert formatting.fmt_int(1234567) == "1,234,567"
    assert formatting.fmt_int(np.int64(12)) == "12"
    assert formatting.fmt_pct(0.12345) == "12.3%"
    assert formatting.fmt_num(1234.5) == "1,234.5"
    assert formatting.fmt_num(3.14159, 2) == "3.14"
    assert formatting.measure_value("resolution_rate", 0.5) == "50.0%"
    assert formatting.measure_value("per_10k", 3.14159) == "3.14"
    # Every difference carries its unit, in the page's language.
    assert formatting.difference("urgent_share", 0.015) == "+1.5 个百分点"
    assert formatting.difference("urgent_share", -0.035, "en") == "-3.5 pp"
    assert formatting.difference("median_hours_to_response", -2.5) == "-2.50 小时"
    assert formatting.difference("median_hours_to_response", 2.5, "en") == "+2.50 h"
    assert formatting.difference("mean_satisfaction", 0.21) == "+0.21 分"
    assert formatting.difference("per_10k", -3.5, "en") == "-3.50 per 10k"


@pytest.mark.parametrize(("value", "k", "expected"), [
    (0, 5, "0"), (1, 5, "<5"), (4, 5, "<5"), (5, 5, "5"), (1234, 5, "1,234"), (3, 0, "3"),
])
def test_small_counts_read_below_k_in_public(value: int, k: int, expected: str) -> None:
    assert formatting.small_count(value, k) == expected


@pytest.mark.parametrize(("row", "lang", "named", "expected"), [
    (GapRow("ratio", "per_10k", 0.78, 0.7, 0.871), "en", False, "rural ÷ urban = 0.78× (0.70–0.87)"),
    (GapRow("difference", "resolution_rate", 0.031, 0.0104, 0.052), "en", False, "+3.1 pp (+1.0 – +5.2)"),
    (GapRow("difference", "median_hours_to_response", 2.4, 0.8, 4.1), "en", True, "rural − urban = +2.40 h (+0.80 – +4.10)"),
    (GapRow("difference", "mean_satisfaction", float("nan"), float("nan"), float("nan")), "en", True, "–"),
    # Too few districts to judge their spread: the gap without an interval.
    (GapRow("ratio", "per_10k", 1.2, float("nan"), float("nan")), "zh", False, "县域 ÷ 城区 = 1.20× (–)"),
    (GapRow("difference", "urgent_share", -0.02, float("nan"), float("nan")), "zh", True, "县域 − 城区 = -2.0 个百分点 (–)"),
    (GapRow("ratio", "per_10k", float("nan"), float("nan"), float("nan")), "en", False, "–"),
])
def test_gap_cells_give_the_gap_with_its_interval(row: GapRow, lang: str, named: bool, expected: str) -> None:
    assert formatting.gap_cell(row, lang, name_difference=named) == expected


def test_place_names_cover_districts_and_cities() -> None:
    districts = pd.DataFrame({"adcode": ["330106", "330127"], "name": ["西湖区", "淳安县"],
                              "city_adcode": ["330100", "330100"], "city": ["杭州市", "杭州市"]})
    assert formatting.place_names(districts) == {"330106": "西湖区", "330127": "淳安县", "330100": "杭州市"}


@pytest.mark.parametrize(("name", "city", "expected"), [
    ("西湖区", False, "Xihu District"), ("磐安县", False, "Pan'an County"), ("乐清市", False, "Yueqing City"),
    ("景宁畲族自治县", False, "Jingning She Autonomous County"), ("杭州市", True, "Hangzhou"), ("Xihu", False, "Xihu"),
])
def test_place_names_in_pinyin_for_english_readers(name: str, city: bool, expected: str) -> None:
    assert formatting.place_pinyin(name, city=city) == expected
