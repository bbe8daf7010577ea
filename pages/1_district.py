"""District drill-down: province → city → district → unit (乡镇街道 …), with a breadcrumb back up."""

from __future__ import annotations

# First of all, before the heavy imports: a fresh install builds its demo here, with a message.
from needsmap.ui.first_start import build_demo_if_missing

build_demo_if_missing()

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from functools import partial

from needsmap import charts, exports, hotspots, layer_queries, maps, needs, presentation, settings, taxonomy
from needsmap.i18n import labelled, t, term
from needsmap.ui import data, downloads, hot_spots, needs_map, page, present, staff, state, units, widgets

ctx = page.setup("district_title", extra_params=page.widgets_from_url({"hs": hotspots.MEASURES,
                                                                     "umeasure": layer_queries.UNIT_MEASURES}))
lang, f = ctx.lang, ctx.filter
names = page.place_names()
districts = data.districts()
k = data.k_anonymity()


def go_to(city: str | None, district: str | None) -> None:
    # Up to a district or above: the unit is left (the layer choice stays with the district).
    state.set_filter(f.with_changes(city_adcode=city, district_adcode=district, unit_code=None,
                                    layer_id=f.layer_id if district else None))
    st.rerun()


# Breadcrumb: 浙江省 › 城市 › 区县 › 乡镇街道 — each level a button back up.
crumbs = st.columns([1, 1, 1, 1, 4])
if crumbs[0].button(t("breadcrumb_province", lang), key="crumb_province"):
    go_to(None, None)
if f.city_adcode and crumbs[1].button(widgets.md_escape(names.get(f.city_adcode, f.city_adcode)), key="crumb_city"):
    go_to(f.city_adcode, None)
district_name = widgets.md_escape(names.get(f.district_adcode, f.district_adcode or ""))
if f.district_adcode and f.unit_code:
    if crumbs[2].button(district_name, key="crumb_district"):
        go_to(f.city_adcode, f.district_adcode)
    crumbs[3].markdown(f"**{widgets.md_escape(names.get(f.unit_key, f.unit_code))}**")
elif f.district_adcode:
    crumbs[2].markdown(f"**{district_name}**")

place = f.district_adcode or f.city_adcode
heading = names.get(place, t("province", lang)) if place else t("province", lang)
if f.unit_key:
    heading = names.get(f.unit_key, f.unit_code)
present.heading(lang, f, ctx.public, t("district_title", lang), names,
                normal_title=f"{heading} · {t('district_title', lang)}")

if not f.district_adcode:
    # Choose the next level down from a list (the map on the home page does the same by click).
    scope = districts[districts["city_adcode"] == f.city_adcode] if f.city_adcode else districts
    options = [""] + list(scope["adcode"])
    label_of = dict(zip(scope["adcode"], scope["city"] + " · " + scope["name"], strict=True))
    chosen = st.selectbox(t("choose_district", lang), options, format_func=lambda a: label_of.get(a, "—"), key="choose_district")
    if chosen:
        go_to(chosen[:4] + "00", chosen)

as_of = data.as_of()
overdue = widgets.overdue_days()
kpis = data.kpis(f, as_of, overdue)
province = data.kpis(f.without_place(), as_of, overdue)
if not kpis["records"]:
    st.info(t("no_data", lang))
    st.stop()
# Against the province only when a place is chosen (the province against itself says nothing).
widgets.kpi_strip(kpis, lang, reference=province if place else None)

left, right = st.columns(2)
categories = data.category_counts(f)  # in public mode small categories come merged, so no bar stands for a household
categories["label"] = categories["category"].map(
    lambda c: t("merged_small", lang, k=k) if c == presentation.MERGED_CATEGORIES else term("category", c, lang))
left.plotly_chart(charts.category_bars(categories, "label", "records", t("category_breakdown", lang), large=ctx.public),
                  width="stretch")
trend = data.monthly_trend(f)  # in public mode one line of all records, small months blanked
trend["label"] = trend["category"].map(lambda c: t("all", lang) if c == presentation.ALL_CATEGORIES else term("category", c, lang))
if ctx.public and not (trend["records"].fillna(0) > 0).any():
    # Every month too small to show: a flat line at zero would say "nothing happened".
    right.info(t("present_trend_too_few", lang, k=k))
else:
    right.plotly_chart(charts.monthly_lines(trend, "label", t("monthly_trend", lang), large=ctx.public, lang=lang),
                       width="stretch")

# The place's needs as the priorities page ranks them for planning (structural, weights 1); in
# public mode needs of fewer than k records or requesters come left out before ranking.
top = data.ranked_needs(f, as_of, overdue, "structural", top=10)
rows = pd.DataFrame(needs.table(top, districts, "structural", lang))
if ctx.public:  # no table on a projector: the top needs as their score factors
    st.subheader(t("present_clusters", lang))
    if rows.empty:
        st.info(t("b_no_priorities", lang, k=k))
    else:
        rows["short"] = rows["rank"].astype(str) + ". " + rows["label"].str.slice(0, 40)
        factor_columns = [f"{name}_factor" for name in needs.FACTORS["structural"]]
        st.plotly_chart(charts.score_components(rows, "short", factor_columns,
                                                [t(f"c_{name}", lang) for name in ("reach_factor", "people_component",
                                                                                   "recurrence_factor")],
                                                t("present_clusters", lang), t("score_axis", lang), large=True),
                        width="stretch")
else:
    st.subheader(t("top_clusters", lang))
    if rows.empty:
        st.info(t("no_needs", lang, n=2))
    else:
        widgets.table(labelled(rows, lang, {
            "rank": "c_rank", "score": "c_score", "label": "c_need", "records": "c_records",
            "distinct_requesters": "c_distinct_requesters", "people_used": "c_people_used",
            "people_claimed": "c_people_claimed", "recurrences": "c_recurrences",
        }).round(2), hide_index=True, width="stretch")

if f.city_adcode and not f.district_adcode:
    # The city level: its districts on the needs map (the city in view, outlined, named); a click opens one.
    min_records = settings.get("min_records_to_rank")
    city_measures = data.district_measures(f.with_changes(city_adcode=None), as_of, overdue, min_records,
                                           include_priority=False)
    st.subheader(t("city_map", lang))
    needs_map.draw(
        f, presentation.map_frame(city_measures, "records", lang=lang, public=ctx.public, k=k), data.district_geometries(),
        view=(lang, k, min_records, overdue, str(as_of)), measure="records", scheme="quantiles", tiles=ctx.tiles,
        public=ctx.public, place=needs_map.place_adcodes(tuple(city_measures["adcode"]), tuple(city_measures["city_adcode"]), f),
        title=t("m_records", lang), field_labels=[t("district", lang), t("city", lang), t("m_records", lang), t("category", lang)],
        no_data_label=t("legend_no_data", lang), height=520, key="city_map")

if f.district_adcode:
    # One level deeper: the district's units (乡镇街道 …) on a map; a click opens one.
    units.section(ctx, f, names, as_of, overdue)
    st.subheader(t("district_map", lang))
    geometry = units.unit_outline(f) or data.district_geometries().set_index("adcode").loc[f.district_adcode, "geometry_geojson"]
    kind, points = data.map_points(f)  # in public mode never single records: ~1 km cells big enough to show
    points = points.copy()
    if kind == "points":
        points["category_label"] = points["category"].map(lambda c: term("category", c, lang))
        st.caption(t("points_note", lang, n=len(points)))
    else:
        points["top_label"] = points["top_category"].map(lambda c: term("category", c, lang))
        st.caption(t("cells_note_public", lang, k=k) if ctx.public else t("cells_note", lang))
    map_args = dict(geometry_text=geometry, kind=kind, points=points, tiles=ctx.tiles, large=ctx.public,
                    point_labels={"urgency": t("c_urgency", lang), "records": t("c_records", lang)},
                    urgency_names={int(u.code): term("urgency", u.code, lang) for u in taxonomy.URGENCY},
                    cells_legend=t("cells_legend", lang))
    if ctx.public and points.empty:  # an empty outline on a projector explains nothing
        st.info(t("present_cells_too_few", lang, k=k))
    else:
        st_folium(maps.district_map(**map_args), height=480, width="stretch", returned_objects=[], key="district_map")

hot_spots.section(ctx, f, names)

st.subheader(t("records_table", lang))
# On demand: the records query costs ~0.4–0.8 s at 1M records on every visit, for a table most visits never read.
if staff.staff_view(lang, ctx.public, key="records") and st.toggle(t("show_records", lang), key="show_records"):
    records = data.records(f, limit=500)
    st.dataframe(
        labelled(records, lang, {
            "record_id": "c_record_id", "created_at": "c_created_at", "district": "c_district", "category": "c_category",
            "subcategory": "c_subcategory", "urgency": "c_urgency", "status": "c_status", "description": "c_description",
            "address": "c_address", "requester_group": "c_group", "requester_phone_masked": "c_phone",
            "requester_name_masked": "c_name", "satisfaction": "c_satisfaction",
        }, {"category": "category", "status": "status", "requester_group": "group"}),
        hide_index=True, width="stretch", height=360,
    )

downloads.panel(
    ctx, key="district", place_names=names,
    map_png=partial(exports.place_map_png, data.db_path(), f, lang),
    # A map of its own: st_folium changes the map it draws (its features would be in the file twice).
    map_html=(lambda: exports.map_html(maps.district_map(**map_args), title=f.describe(lang, names)).encode("utf-8"))
    if f.district_adcode else None,
)
