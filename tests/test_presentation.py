"""Presentation mode without a browser: the title in words and small-count suppression."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from needsmap import presentation
from needsmap.filters import Filter

NAMES = {"330100": "杭州市", "330127": "淳安县"}


@pytest.mark.parametrize(("flt", "first", "last", "expected"), [
    (Filter(city_adcode="330100", date_from=date(2025, 7, 1), date_to=date(2025, 9, 30), categories=("elderly_care",)),
     None, None, "杭州市 · 2025年7–9月 · 养老服务"),
    # No period in the filter: the data's own span is stated.
    (Filter(city_adcode="330100", categories=("elderly_care",)), date(2025, 7, 1), date(2025, 9, 30),
     "杭州市 · 2025年7–9月 · 养老服务"),
    (Filter(), date(2024, 1, 1), date(2025, 12, 31), "浙江省 · 2024年1月–2025年12月"),
    (Filter(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31)), None, None, "浙江省 · 2025年"),
    (Filter(date_from=date(2025, 7, 1), date_to=date(2025, 7, 31)), None, None, "浙江省 · 2025年7月"),
    # Not whole months: the days are named (not "7–9月" for a period ending on the 15th).
    (Filter(date_from=date(2025, 7, 1), date_to=date(2025, 9, 15)), None, None, "浙江省 · 2025年7月1日–9月15日"),
    (Filter(district_adcode="330127", city_adcode="330100", urban_rural=("rural",), statuses=("received",)),
     date(2025, 7, 1), date(2025, 9, 30), "淳安县 · 2025年7–9月 · 县域 · 已受理"),
])
def test_title_states_place_period_and_filters_in_words(flt, first, last, expected):
    assert presentation.title(flt, "zh", NAMES, first, last) == expected


def test_title_in_english_names_the_dates():
    flt = Filter(city_adcode="330100", categories=("elderly_care",))
    assert presentation.title(flt, "en", {"330100": "Hangzhou"}, date(2025, 7, 1), date(2025, 9, 30)) == \
        "Hangzhou · 2025-07-01 – 2025-09-30 · Elderly care"


def test_small_counts_are_blanked_and_rates_follow_their_basis():
    frame = pd.DataFrame({"records": [3, 12, 0], "distinct_requesters": [3, 9, 0], "unresolved": [1, 2, 0],
                          "per_10k": [0.5, 2.0, 0.0]})
    out = presentation.suppress_small_counts(frame, ["records", "unresolved"], 5, dependent_columns=["per_10k"])
    assert out["records"].tolist()[1:] == [12.0, 0.0] and np.isnan(out.loc[0, "records"])
    assert out["unresolved"].isna().tolist() == [True, True, False]  # 1 and 2 are under 5; 0 reveals no one
    assert out["per_10k"].isna().tolist() == [True, False, False]
    assert out["suppressed"].tolist() == [True, False, False]


def test_small_groups_are_merged_and_a_small_remainder_is_left_out():
    frame = pd.DataFrame({"label": ["道路", "供水", "燃气", "教育", "公交"], "records": [20, 3, 4, 1, 6],
                          "distinct_requesters": [15, 3, 4, 1, 1]})
    # 公交: six records from one person is small too; the four small ones hold 14 records from 7 people.
    merged = presentation.merge_small_groups(frame, "label", "records", 5, "其余", merged_requesters=7)
    assert merged["label"].tolist() == ["道路", "其余"] and merged["records"].tolist() == [20, 14]
    tiny = presentation.merge_small_groups(frame[frame["label"].isin(["道路", "供水", "教育"])], "label", "records", 5, "其余",
                                           merged_requesters=4)
    assert tiny["label"].tolist() == ["道路"]  # 3 + 1 = 4 is still under 5
    # Eight records merged, but all from the same three people: still too few people.
    few_people = presentation.merge_small_groups(frame[frame["label"] != "公交"], "label", "records", 5, "其余",
                                                 merged_requesters=3)
    assert few_people["label"].tolist() == ["道路"]


def test_map_frame_shows_too_few_instead_of_a_number_in_presentation_mode():
    measures = pd.DataFrame({
        "adcode": ["330106", "330127"], "records": [40, 3], "distinct_requesters": [30, 3], "per_10k": [3.0, 1.0],
        "rankable": [True, False],
        "top_categories": [["water"], ["elderly_care"]],
    })
    public = presentation.map_frame(measures, "records", lang="zh", public=True, k=5)
    assert public["records"].isna().tolist() == [False, True]
    assert public["value_text"].tolist() == ["40", "记录过少"]
    assert public["top_text"].tolist() == ["供水", "–"]
    staff = presentation.map_frame(measures, "records", lang="zh", public=False, k=5)
    assert staff["value_text"].tolist() == ["40", "3"]
    rates = presentation.map_frame(measures, "per_10k", lang="zh", public=False, k=5)
    assert rates["value_text"].tolist() == ["3.00", "–"]  # not rankable: no rate either way


def test_district_aggregates_hide_small_counts_and_their_rates():
    measures = pd.DataFrame({
        "city": ["杭州市", "杭州市"], "adcode": ["330106", "330127"], "name": ["西湖区", "淳安县"],
        "urban_rural": ["urban", "rural"], "population_2020": [1_100_000, 330_000], "records": [40, 3],
        "distinct_requesters": [31, 3], "unresolved": [6, 1], "overdue": [2, 0], "urgent": [7, 2],
        "per_10k": [0.3636, 0.0909], "smoothed_per_10k": [0.35, 0.2], "requesters_per_10k": [0.2818, 0.0909],
        "city_adcode": ["330100", "330100"],
    })
    table = presentation.district_aggregates(measures, 5)
    west, chunan = table.iloc[0], table.iloc[1]
    assert (west["records"], west["unresolved"], west["urgent"], west["per_10k"]) == (40, 6, 7, 0.364)
    assert np.isnan(west["overdue"])  # 2 overdue records could be recognised
    assert chunan[["records", "distinct_requesters", "unresolved", "overdue", "urgent", "per_10k", "smoothed_per_10k",
                   "requesters_per_10k"]].isna().all()
    assert west["distinct_requesters"] == 31 and west["requesters_per_10k"] == 0.282
    assert chunan["suppressed"] and chunan["population_2020"] == 330_000


def test_monthly_totals_make_one_line_with_small_months_blanked():
    monthly = pd.DataFrame({"month": pd.to_datetime(["2025-06-01", "2025-07-01", "2025-08-01"]),
                            "records": [7, 2, 9], "distinct_requesters": [6, 2, 1]})
    totals = presentation.monthly_totals(monthly, "label", "全部", 5)
    assert totals["label"].tolist() == ["全部", "全部", "全部"]
    # July: two records; August: nine calls from one person. Neither is shown.
    assert totals["records"].tolist()[0] == 7 and np.isnan(totals["records"].tolist()[1:]).all()


def test_small_groups_are_left_out_by_the_one_public_rule():
    groups = pd.DataFrame({"district": ["西湖区", "淳安县", "上城区", "空"], "records": [5, 4, 12, 0],
                           "distinct_requesters": [1, 4, 9, 0]})
    # The rule counts people as well as records: five records from one person are left out too.
    assert presentation.PUBLIC_COUNT_COLUMNS == ("records", "distinct_requesters")
    assert list(presentation.suppress_small_groups(groups, 5)["district"]) == ["上城区"]
    assert list(presentation.suppress_small_groups(groups, 5, ("records",))["district"]) == ["西湖区", "上城区"]
    assert list(presentation.too_few_mask(groups, 5)) == [True, True, False, False]  # none: nothing to hide


def test_one_selection_is_judged_by_the_same_rule():
    assert not presentation.enough_in({"records": 5, "distinct_requesters": 1}, 5)
    assert presentation.enough_in({"records": 5, "distinct_requesters": 5}, 5)
    assert presentation.enough_in({"records": 5, "distinct_requesters": 1}, 5, ("records",))
    assert not presentation.enough_in({"records": None, "distinct_requesters": None}, 5)
