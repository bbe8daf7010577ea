from datetime import date

import pytest

from needsmap.filters import Filter


def test_empty_filter_is_true_with_no_params():
    assert Filter().where_sql() == ("TRUE", {})


@pytest.mark.parametrize(
    ("flt", "sql", "params"),
    [
        (Filter(categories=("water", "power")), "d.category IN ($f_category_0, $f_category_1)",
         {"f_category_0": "water", "f_category_1": "power"}),
        (Filter(urgency=(3, 4)), "d.urgency IN ($f_urgency_0, $f_urgency_1)", {"f_urgency_0": 3, "f_urgency_1": 4}),
        (Filter(date_from=date(2025, 7, 1), date_to=date(2025, 9, 30)),
         "d.created_at >= $f_date_from AND d.created_at < CAST($f_date_to AS DATE) + INTERVAL 1 DAY",
         {"f_date_from": date(2025, 7, 1), "f_date_to": date(2025, 9, 30)}),
        (Filter(city_adcode="330100"), "d.city_adcode = $f_city", {"f_city": "330100"}),
        (Filter(city_adcode="330100", district_adcode="330106"), "d.district_adcode = $f_district", {"f_district": "330106"}),
        (Filter(urban_rural=("rural",), groups=("elderly",)),
         "d.requester_group IN ($f_requester_group_0) AND d.urban_rural IN ($f_urban_rural_0)",
         {"f_requester_group_0": "elderly", "f_urban_rural_0": "rural"}),
    ],
)
def test_filter_translates_to_bound_sql(flt, sql, params):
    assert flt.where_sql("d") == (sql, params)


def test_filter_round_trips_through_url_params():
    original = Filter(date_from=date(2025, 7, 1), date_to=date(2025, 9, 30), categories=("elderly_care",), urgency=(3, 4),
                      statuses=("received",), channels=("hotline",), groups=("elderly",), urban_rural=("rural",),
                      city_adcode="330100", district_adcode="330127", subcategories=("助餐服务",))
    params = original.to_query_params()
    assert params["cat"] == "elderly_care" and params["district"] == "330127"
    assert Filter.from_query_params(params) == original


def test_url_values_outside_the_allowed_sets_are_dropped():
    hostile = {"cat": "water,'; DROP TABLE demands; --,<script>", "urg": "1,9,x", "district": "330106' OR 1=1",
               "city": "110100", "from": "not-a-date", "ur": "urban,<img>"}
    parsed = Filter.from_query_params(hostile)
    assert parsed == Filter(categories=("water",), urgency=(1,), urban_rural=("urban",))


def test_describe_states_place_period_and_category_in_words():
    flt = Filter(city_adcode="330100", date_from=date(2025, 7, 1), date_to=date(2025, 9, 30), categories=("elderly_care",))
    assert flt.describe("zh", {"330100": "杭州市"}) == "杭州市 · 2025年7–9月 · 养老服务"
    assert flt.describe("en", {"330100": "Hangzhou"}) == "Hangzhou · 2025-07-01 – 2025-09-30 · Elderly care"
    assert Filter().describe("zh") == "浙江省"


def test_every_choice_ticked_is_the_same_view_as_none():
    from needsmap import taxonomy

    every = Filter(categories=tuple(c.code for c in reversed(taxonomy.CATEGORIES)), urgency=(4, 3, 2, 1),
                   statuses=tuple(s.code for s in taxonomy.STATUSES), channels=tuple(c.code for c in taxonomy.CHANNELS),
                   groups=tuple(g.code for g in taxonomy.GROUPS), urban_rural=("rural", "urban"))
    assert every == Filter() and every.to_query_params() == {} and every.where_sql() == ("TRUE", {})
    assert Filter.from_query_params({"urg": "1,2,3,4", "ur": "urban,rural"}) == Filter()
    assert Filter(urgency=(2, 3, 4)).urgency == (2, 3, 4)  # all but one stays a filter
