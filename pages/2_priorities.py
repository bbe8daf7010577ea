"""Priorities: demand clusters ranked by an explainable score; weights re-rank live."""

from __future__ import annotations

import streamlit as st

from needsmap import charts, exports, priority
from needsmap.i18n import labelled, t
from needsmap.ui import data, page, present, widgets

ctx = page.setup("priorities_title")
lang, f = ctx.lang, ctx.filter

present.heading(lang, f, ctx.public, t("priorities_title", lang), page.place_names())
st.caption(t("score_formula", lang))

columns = st.columns(5)
weights = priority.Weights(
    urgency=columns[0].slider(t("w_urgency", lang), 0.0, 3.0, 1.0, 0.25, key="w_urgency"),
    people=columns[1].slider(t("w_people", lang), 0.0, 3.0, 1.0, 0.25, key="w_people"),
    frequency=columns[2].slider(t("w_frequency", lang), 0.0, 3.0, 1.0, 0.25, key="w_frequency"),
    age=columns[3].slider(t("w_age", lang), 0.0, 3.0, 1.0, 0.25, key="w_age"),
)
open_only = columns[4].toggle(t("open_only", lang), value=True, key="open_only")

# In public mode small clusters (they could point at one household) come left out.
ranked = data.priority_clusters(f, data.as_of(), widgets.overdue_days(), weights, limit=200, open_only=open_only)
if ranked.empty:
    present.no_data(lang, ctx.public)
    st.stop()

table = labelled(ranked, lang, {
    "rank": "c_rank", "city": "c_city", "district": "c_district", "category": "c_category", "subcategory": "c_subcategory",
    "records": "c_records", "distinct_requesters": "c_distinct_requesters", "max_urgency": "c_urgency",
    "people_affected": "c_people_affected", "open_records": "c_open_records", "days_open_oldest": "c_days_open_oldest",
    "urgency_component": "c_urgency_component", "people_component": "c_people_component",
    "frequency_component": "c_frequency_component", "age_component": "c_age_component", "score": "c_score",
}, {"category": "category"}).round(2)
st.dataframe(table, hide_index=True, width="stretch", height=420)

download_csv, download_xlsx, _ = st.columns([1, 1, 4])
download_csv.download_button(t("download_csv", lang), exports.to_csv_bytes(table), "needsmap-priorities.csv", "text/csv")
download_xlsx.download_button(t("download_xlsx", lang), exports.to_xlsx_bytes(table), "needsmap-priorities.xlsx",
                              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

top = table.head(20).copy()
top["label"] = top[t("c_rank", lang)].astype(str) + ". " + top[t("c_district", lang)].astype(str) + " " + top[t("c_category", lang)].astype(str)
st.plotly_chart(charts.score_components(
    top, "label", [t(k, lang) for k in ("c_urgency_component", "c_people_component", "c_frequency_component", "c_age_component")],
    [t(k, lang) for k in ("c_urgency_component", "c_people_component", "c_frequency_component", "c_age_component")],
    t("priorities_title", lang), large=ctx.public), width="stretch")
