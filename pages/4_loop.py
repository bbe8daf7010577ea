"""Service loop (收集—分类—派单—处理—反馈—评价—改进): does the loop close, and where not."""

from __future__ import annotations

# First of all, before the heavy imports: a fresh install builds its demo here, with a message.
from needsmap.ui.first_start import build_demo_if_missing

build_demo_if_missing()

import streamlit as st

from needsmap import charts, formatting, queries, settings
from needsmap.i18n import labelled, t
from needsmap.ui import data, page, present, staff, widgets

ctx = page.setup("loop_title")
lang, f = ctx.lang, ctx.filter
response_target = settings.get("response_hours_target")
feedback_target = settings.get("feedback_hours_target")

present.heading(lang, f, ctx.public, t("loop_title", lang), page.place_names())

# In public mode a group too small to show (the whole selection too) comes left out.
overall = data.service_loop(f, response_target, feedback_target)
if overall.empty or not int(overall.loc[0, "records"]):
    present.no_data(lang, ctx.public)
    st.stop()
row = overall.iloc[0]
total = formatting.fmt_int(row["records"])


def basis(key: str, n: object) -> str:
    """The records a rate rests on, e.g. 基于 8,120 / 9,004 条有响应时间的记录."""
    return t(key, lang, n=formatting.fmt_int(n), total=total)


# Each rate with the records it rests on: a rate that needs a time is over the records that have it.
metrics = st.columns(5)
for column, label, value, caption in (
    (metrics[0], "l_responded_24h", formatting.fmt_pct(row["responded_within_target_share"]), basis("basis_response", row["responded"])),
    (metrics[1], "l_feedback_72h", formatting.fmt_pct(row["feedback_within_target_share"]), basis("basis_feedback", row["followed_up_timed"])),
    (metrics[2], "l_resolution_rate", formatting.fmt_pct(row["resolution_rate"]), t("basis_records", lang, n=total)),
    (metrics[3], "l_median_days", formatting.fmt_num(row["median_days_to_resolve"]), basis("basis_resolved", row["resolved_timed"])),
    (metrics[4], "l_satisfaction", formatting.fmt_num(row["mean_satisfaction"], 2), basis("basis_rated", row["rated"])),
):
    column.metric(t(label, lang), value)
    column.caption(caption)
if int(row["timestamp_errors"]):
    st.warning(t("loop_time_errors", lang, n=formatting.fmt_int(row["timestamp_errors"])))

stages = t("loop_stages", lang).split(",")
counts = [int(row[c]) for c in queries.LOOP_STAGES]
st.plotly_chart(charts.funnel(stages, counts, t("funnel", lang), large=ctx.public), width="stretch")

loop_columns = {
    "records": "c_records", "responded": "c_responded", "responded_within_target_share": "l_responded_24h",
    "followed_up_timed": "c_followed_up_timed", "feedback_within_target_share": "l_feedback_72h",
    "resolution_rate": "l_resolution_rate", "median_days_to_resolve": "l_median_days", "mean_satisfaction": "l_satisfaction",
}
by_district_tab, by_category_tab = st.tabs([t("by_district", lang), t("by_category", lang)])
names = page.place_names()
by_district = data.service_loop(f, response_target, feedback_target, by="district")
by_district["district"] = by_district["district"].map(lambda a: names.get(a, a))
by_category = data.service_loop(f, response_target, feedback_target, by="category")
# Shares as percentages, as in the KPI strip above (96.5%, not 0.965); counts as counts, days and scores rounded.
share_columns = ("responded_within_target_share", "feedback_within_target_share", "resolution_rate")
as_percent = {t(loop_columns[c], lang): st.column_config.NumberColumn(format="%.1f%%") for c in share_columns}
# Every row with the same decimals (1.8, 3.0 days; 4.60 of 5), not 3 beside 1.8.
as_percent[t(loop_columns["median_days_to_resolve"], lang)] = st.column_config.NumberColumn(format="%.1f")
as_percent[t(loop_columns["mean_satisfaction"], lang)] = st.column_config.NumberColumn(format="%.2f")


def loop_table(frame, columns, terms=None):
    shown = frame.copy()
    for column in share_columns:
        shown[column] = (shown[column].astype("float64") * 100).round(1)
    shown["median_days_to_resolve"] = shown["median_days_to_resolve"].astype("float64").round(1)
    shown["mean_satisfaction"] = shown["mean_satisfaction"].astype("float64").round(2)
    return labelled(shown, lang, columns, terms)


widgets.table(loop_table(by_district, {"district": "c_district", **loop_columns}), where=by_district_tab,
              hide_index=True, width="stretch", column_config=as_percent)
widgets.table(loop_table(by_category, {"category": "c_category", **loop_columns}, {"category": "category"}),
              where=by_category_tab, hide_index=True, width="stretch", column_config=as_percent)

st.subheader(t("overdue_list", lang))
if staff.staff_view(lang, ctx.public, key="overdue"):
    overdue = data.overdue_records(f, data.as_of(), widgets.overdue_days(), limit=300)
    widgets.table(labelled(overdue, lang, {
        "record_id": "c_record_id", "city": "c_city", "district": "c_district", "category": "c_category",
        "subcategory": "c_subcategory", "urgency": "c_urgency", "status": "c_status", "created_at": "c_created_at",
        "days_open": "c_days_open",
    }, {"category": "category", "status": "status"}), hide_index=True, width="stretch", height=360)
