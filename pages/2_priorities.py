"""Priorities: needs ranked open now (dispatch) or structurally (planning); every score shows
its factors, and the weights live in the URL and in saved views."""

from __future__ import annotations

# First of all, before the heavy imports: a fresh install builds its demo here, with a message.
from needsmap.ui.first_start import build_demo_if_missing

build_demo_if_missing()

from functools import partial

import pandas as pd
import streamlit as st

from needsmap import charts, exports, needs
from needsmap.i18n import labelled, t
from needsmap.ui import data, page, present, widgets

# Weight choices: 1 (neutral) first, so a link carries only the weights that were moved.
WEIGHT_STEPS = (1.0, 0.0, 0.25, 0.5, 0.75, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0)
MIN_REQUESTERS = (2, 1, 3, 5, 10, 20)

url_params = page.widgets_from_url({
    "ranking": needs.RANKINGS, "min_req": MIN_REQUESTERS,
    **{f"w_{name}": WEIGHT_STEPS for name in needs.Weights.names()},
})
ctx = page.setup("priorities_title", extra_params=url_params)
lang, f = ctx.lang, ctx.filter

present.heading(lang, f, ctx.public, t("priorities_title", lang), page.place_names())
as_of, overdue = data.as_of(), widgets.overdue_days()
if not data.kpis(f, as_of, overdue)["records"]:
    st.info(t("no_data", lang))
    st.stop()
choice, minimum = st.columns([3, 1])
st.session_state.setdefault("needs_ranking", needs.RANKINGS[0])  # defaults seed the widgets (see page.localized)
st.session_state.setdefault("needs_min_requesters", MIN_REQUESTERS[0])
ranking = page.localized(choice.radio, "needs_ranking", lang, t("ranking", lang), needs.RANKINGS,
                         format_func=lambda r: t(f"ranking_{r}", lang), horizontal=True)
min_requesters = page.localized(minimum.selectbox, "needs_min_requesters", lang, t("min_requesters", lang),
                                sorted(MIN_REQUESTERS))
st.caption(t(f"formula_{ranking}", lang))

factors = needs.FACTORS[ranking]
slider_columns = st.columns(len(factors))
chosen: dict[str, float] = {}
for column, name in zip(slider_columns, factors, strict=True):
    st.session_state.setdefault(f"needs_w_{name}", 1.0)  # seeds the slider (no default beside session state)
    chosen[name] = page.localized(column.select_slider, f"needs_w_{name}", lang, t(f"w_{name}", lang),
                                  options=sorted(WEIGHT_STEPS))
weights = needs.Weights(**chosen)

ranked = data.ranked_needs(f, as_of, overdue, ranking, weights, min_requesters, top=200)
st.caption(t("needs_note", lang, n=min_requesters))
if ranked.empty:
    st.info(t("no_needs", lang, n=min_requesters))
    st.caption(t("no_needs_hint", lang))
else:
    rows = needs.table(ranked, data.districts(), ranking, lang)
    columns = {
        "rank": "c_rank", "score": "c_score", "label": "c_need",
        **{f"{name}_factor": f"c_{name}_component" if name in ("urgency", "people", "age") else f"c_{name}_factor"
           for name in factors},
        "records": "c_records", "distinct_requesters": "c_distinct_requesters",
        "people_used": "c_people_used", "people_claimed": "c_people_claimed", "claim_flag": "c_claim_flag",
        "open_requesters": "c_open_requesters", "days_open_oldest": "c_days_open_oldest", "recurrences": "c_recurrences",
    }
    table = labelled(pd.DataFrame(rows), lang, columns)
    # Rank, score and the need stay in view however far the table scrolls sideways.
    pinned = {t(key, lang): st.column_config.Column(pinned=True) for key in ("c_rank", "c_score", "c_need")}
    widgets.table(table.round(2), hide_index=True, width="stretch", height=420, column_config=pinned)

    download_csv, download_xlsx, _ = st.columns([1, 1, 4])
    demo = t("demo_badge", lang) if data.demo_records() else None  # files made from demo data say so
    # Files made on click (not on every run of the page: the workbook alone took ~0.2 s a run).
    download_csv.download_button(t("download_csv", lang), partial(exports.to_csv_bytes, table, demo), "needsmap-needs.csv",
                                 "text/csv", on_click="ignore")
    download_xlsx.download_button(t("download_xlsx", lang), partial(exports.to_xlsx_bytes, table, note=demo),
                                  "needsmap-needs.xlsx", exports.MIME_TYPES["xlsx"], on_click="ignore")

    top = table.head(20).copy()
    top["label"] = top[t("c_rank", lang)].astype(str) + ". " + top[t("c_need", lang)].astype(str).str.slice(0, 40)
    factor_columns = [t(columns[f"{name}_factor"], lang) for name in factors]
    # On a screen the chart of the top 20's factors comes on demand (the table holds the same
    # factors): plotly's first load in a tab cost the page ~2.2 s at 1M records (5.1 → 2.6–3.1 s
    # to idle, load ≈ 15). A projector shows it at once.
    if ctx.public or st.toggle(t("show_score_chart", lang), key="needs_score_chart"):
        st.plotly_chart(charts.score_components(top, "label", factor_columns, factor_columns, t("priorities_title", lang),
                                                t("score_axis", lang), large=ctx.public), width="stretch")

flagged = data.flagged_claims(f, as_of, overdue)
if not flagged.empty:
    with st.expander(f"{t('flagged_claims', lang)} ({len(flagged)})", expanded=ranked.empty):
        names = dict(zip(data.districts()["adcode"], data.districts()["name"], strict=False))
        st.dataframe(
            {t("c_need", lang): [needs.label(need, names.get(need["district_adcode"]), lang) for need in flagged.to_dict("records")],
             t("c_claim_flag", lang): [needs.claim_note(need, lang) for need in flagged.to_dict("records")]},
            hide_index=True, width="stretch")
