"""Urban/rural gap: the same measures side by side, the gap as ratio or difference with a 95 % interval."""

from __future__ import annotations

# First of all, before the heavy imports: a fresh install builds its demo here, with a message.
from needsmap.ui.first_start import build_demo_if_missing

build_demo_if_missing()

import math

import streamlit as st

from needsmap import charts, formatting, settings
from needsmap.i18n import t, term
from needsmap.ui import data, page, present

ctx = page.setup("gap_title")
lang, f = ctx.lang, ctx.filter
target_hours = settings.get("response_hours_target")

present.heading(lang, f, ctx.public, t("gap_title", lang), page.place_names())

summary = data.gap_summary(f, target_hours)  # public mode: empty unless both sides are big enough to show
if summary.empty:
    present.no_data(lang, ctx.public)
    st.stop()
by_measure = summary.set_index("measure")
ratio = by_measure.loc["per_10k", "gap"]
hours = by_measure.loc["median_hours_to_response", "gap"]
if not (math.isnan(ratio) or math.isnan(hours)):
    st.subheader(t("gap_headline", lang, ratio=ratio, hours=abs(hours), direction=t("slower" if hours > 0 else "faster", "zh"),
                   direction_en=t("slower" if hours > 0 else "faster", "en")))

rows = []
for row in summary.itertuples(index=False):
    rows.append({
        t("indicator", lang): t(f"g_{row.measure}", lang),
        t("urban", lang): formatting.measure_value(row.measure, row.urban),
        t("rural", lang): formatting.measure_value(row.measure, row.rural),
        # One column for every row; the unit (× or difference) is written into each value.
        f"{t('gap', lang)} ({t('ci', lang)})": formatting.gap_cell(row, lang, name_difference=True),
        # The records each side's figure rests on (only those with the time or rating it needs).
        t("gap_basis", lang): f"{formatting.fmt_int(row.urban_n)} / {formatting.fmt_int(row.rural_n)}",
    })
st.dataframe(rows, hide_index=True, width="stretch")
st.caption(t("gap_interval_note", lang))

st.subheader(t("by_category", lang))
measure = page.localized(st.selectbox, "gap_measure", lang, t("indicator", lang),
                        ("per_10k", "urgent_share", "median_hours_to_response", "resolution_rate", "mean_satisfaction"),
                        format_func=lambda m: t(f"g_{m}", lang))
by_category = data.urban_rural_gap(f, target_hours)  # public mode: small groups left out
by_category = by_category[by_category["category"] != "__all__"]
wide = by_category.pivot(index="category", columns="urban_rural", values=measure).reset_index()
for area in ("urban", "rural"):
    if area not in wide:
        wide[area] = float("nan")
wide["label"] = wide["category"].map(lambda c: term("category", c, lang))
st.plotly_chart(charts.gap_dumbbell(wide, "label", "urban", "rural", t("urban", lang), t("rural", lang),
                                    t(f"g_{measure}", lang), large=ctx.public), width="stretch")
