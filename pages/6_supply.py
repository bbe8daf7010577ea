"""Demand vs supply (供需对比): unmet need by district, facilities and their life circles, the most
crowded and idle facilities, a trial facility placed by a click, and where the next one should go."""

from __future__ import annotations

# First of all, before the heavy imports: a fresh install builds its demo here, with a message.
from needsmap.ui.first_start import build_demo_if_missing

build_demo_if_missing()

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from needsmap import formatting, maps, supply, taxonomy
from needsmap.i18n import t, term
from needsmap.ui import data, page, present, widgets

CATEGORIES = tuple(code for code in taxonomy.CATEGORY_CODES if code != "other")
CIRCLES = (15, 10, 5)
url_params = page.widgets_from_url({"supply_cat": ("elderly_care", *[c for c in CATEGORIES if c != "elderly_care"]),
                                    "circle": CIRCLES})
ctx = page.setup("supply_title", extra_params=url_params)
lang, f = ctx.lang, ctx.filter
names = page.place_names()
k = data.k_anonymity()

present.heading(lang, f, ctx.public, t("supply_title", lang), names)
if not data.kpis(f, data.as_of(), widgets.overdue_days())["records"]:
    st.info(t("no_data", lang))
    st.stop()

summary = data.facility_summary()
if summary.empty:
    st.info(t("supply_no_facilities", lang))
    st.stop()
with_facilities = [c for c in ("elderly_care", *CATEGORIES) if c in set(summary["category"])]
options = list(dict.fromkeys(with_facilities + [c for c in ("elderly_care", *CATEGORIES) if c not in with_facilities]))
category_col, circle_col = st.columns([2, 1])
category = page.localized(category_col.selectbox, "supply_category", lang, t("supply_category", lang), options,
                          format_func=lambda c: term("category", c, lang))
minutes = page.localized(circle_col.radio, "supply_circle", lang, t("supply_circle", lang), CIRCLES, horizontal=True,
                         format_func=lambda m: t("supply_circle_option", lang, minutes=m, walk=supply.LIFE_CIRCLE_WALK_M[m]))
radius = supply.catchment_radius_m(minutes)

demo_count = int(summary["demo"].sum())
if demo_count:
    st.warning(t("supply_demo_note", lang, n=demo_count))
if category not in with_facilities:
    st.info(t("supply_no_category_facilities", lang))
    st.stop()
st.caption(formatting.supply_distance_note(data.supply_distances(f, category, minutes), minutes, lang))

# The place's figures against the province's.
here = data.supply_place_figures(f, category, minutes)
province = data.supply_place_figures(f.without_place(), category, minutes)
figures = (("coverage_share", formatting.fmt_pct), ("requester_coverage_share", formatting.fmt_pct),
           ("unmet_per_10k", lambda v: formatting.fmt_num(v, 2)), ("capacity_per_10k", formatting.fmt_num),
           ("access_mean", lambda v: formatting.fmt_num(v, 2)))
for column, (measure, shown) in zip(st.columns(len(figures)), figures, strict=True):
    value = here.get(measure)
    column.metric(t(f"s_{measure}", lang), t("too_few", lang) if formatting.missing(value) else shown(value))
    if f.city_adcode or f.district_adcode:
        column.caption(t("supply_vs_province", lang, value=shown(province.get(measure))))

# The map: districts by unmet need; facilities and their catchments once a city or district is chosen.
measures = data.supply_districts(f, category, minutes)
geometries = data.district_geometries()
shown_measures = measures[measures["district_adcode"] != "province"].rename(columns={"district_adcode": "adcode"})
shown_measures = shown_measures.assign(
    value_text=shown_measures["unmet_per_10k"].map(lambda v: t("too_few", lang) if formatting.missing(v) else formatting.fmt_num(v, 2)),
    top_text=[f"{formatting.fmt_pct(c)} · {formatting.fmt_int(n)} {t('s_facilities', lang)}"
              for c, n in zip(shown_measures["coverage_share"], shown_measures["facilities"], strict=True)],
)
facilities = data.supply_facilities(f, category, minutes) if (f.city_adcode or f.district_adcode) else None
if facilities is not None:
    facilities = facilities.assign(
        label=facilities["name"].fillna(facilities["facility_id"]),
        detail=[f"{t('c_capacity', lang)} {formatting.fmt_num(c, 0)} · {t('c_demand_per_capacity', lang)} {formatting.fmt_num(r, 2)}"
                for c, r in zip(facilities["capacity_used"], facilities["demand_per_capacity"], strict=True)])
place = f.district_adcode or f.city_adcode
focus = tuple(geometries.loc[geometries["adcode"].astype(str).str.startswith(place[:4] if not f.district_adcode else place),
                             "geometry_geojson"]) if place else ()
placed = st.session_state.get("supply_placed")
if placed and placed.get("key") != (category, minutes, f):
    placed = None
sites = st.session_state.get("supply_sites")
if sites and sites.get("key") != (category, minutes, f):
    sites = None

supply_map = maps.supply_map(
    geometries, shown_measures, "unmet_per_10k", title=t("supply_map_title", lang),
    field_labels=[t("district", lang), t("city", lang), t("supply_map_title", lang), t("s_coverage_share", lang)],
    no_data_label=t("legend_no_data", lang), facilities=facilities, radius_m=radius, focus_geometry_texts=focus,
    placed=(placed["lon"], placed["lat"]) if placed else None, sites=sites["frame"] if sites else None,
    tiles=ctx.tiles, large=ctx.public, palette=maps.PRESENT_PALETTE if ctx.public else maps.PALETTE,
)
clicked = st_folium(supply_map, height=560, width="stretch", returned_objects=["last_clicked"], key="supply_map")
st.caption(t("supply_map_caption", lang, circle=minutes, category=term("category", category, lang)))

point = (clicked or {}).get("last_clicked")
if point and point != st.session_state.get("supply_handled_click"):
    st.session_state["supply_handled_click"] = point
    lon, lat = float(point["lng"]), float(point["lat"])
    if maps.tiles_for(ctx.tiles)[2]:  # drawn in GCJ-02 for AMap tiles: undo the shift
        from needsmap import coords

        lon, lat = (float(v[0]) for v in coords.to_wgs84([lon], [lat], "gcj02"))
    st.session_state["supply_placed"] = {"key": (category, minutes, f), "lon": lon, "lat": lat}
    st.rerun()

st.subheader(t("supply_whatif", lang))
if not placed:
    st.caption(t("supply_whatif_hint", lang))
else:
    result = data.supply_what_if(f, category, minutes, placed["lon"], placed["lat"])
    if result is None:
        st.info(t("supply_whatif_too_few", lang))
    else:
        before_after = st.columns(3)
        before_after[0].metric(t("s_coverage_share", lang), formatting.fmt_pct(result["share_after"]),
                               delta=f"{(result['share_after'] - result['share_before']) * 100:+.1f} pp",
                               help=formatting.fmt_pct(result["share_before"]))
        before_after[1].metric(t("s_access_mean", lang), formatting.fmt_num(result["access_after"], 2),
                               delta=f"{result['access_after'] - result['access_before']:+.2f}")
        before_after[2].metric(t("c_lon", lang) + " / " + t("c_lat", lang), f"{placed['lon']:.4f}, {placed['lat']:.4f}")
        if formatting.missing(result["reached"]):
            st.caption(t("supply_whatif_too_few", lang))
        else:
            st.caption(t("supply_whatif_result", lang, capacity=result["capacity"], reached=int(result["reached"]),
                         newly=int(result["newly_covered"])))
    if st.button(t("supply_whatif_clear", lang), key="supply_clear"):
        st.session_state.pop("supply_placed", None)
        st.rerun()

# Crowded and idle facilities of the place.
table_source = facilities if facilities is not None else data.supply_facilities(f, category, minutes)


def facility_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        t("c_facility", lang): frame["name"].fillna(frame["facility_id"]),
        t("c_facility_type", lang): frame["facility_type"],
        t("c_district", lang): frame["district_adcode"].map(lambda a: names.get(a, a)),
        t("c_capacity", lang): frame["capacity_used"].round(0),
        t("c_demand_in_catchment", lang): frame["demand_in_catchment"],
        t("c_demand_per_capacity", lang): frame["demand_per_capacity"].round(3),
    })


crowded_col, idle_col = st.columns(2)
crowded_col.subheader(t("supply_crowded", lang))
crowded_col.dataframe(facility_table(table_source.sort_values("demand_per_capacity", ascending=False, kind="stable").head(10)),
                      hide_index=True, width="stretch")
idle_col.subheader(t("supply_idle", lang))
idle_col.dataframe(facility_table(table_source.sort_values("demand_per_capacity", kind="stable").head(10)),
                   hide_index=True, width="stretch")
st.caption(t("supply_table_note", lang))

# Where the next facility should go.
st.subheader(t("supply_best_sites", lang))
n_col, run_col = st.columns([3, 1])
n_sites = n_col.slider(t("supply_best_n", lang), 1, 10, 3, key="supply_best_n")
if run_col.button(t("supply_best_run", lang), key="supply_best_run"):
    frame, method = data.supply_best_sites(f, category, minutes, n_sites)
    st.session_state["supply_sites"] = {"key": (category, minutes, f), "frame": frame, "method": method, "n": n_sites}
    st.rerun()
if sites:
    st.caption(t("supply_best_note", lang, spacing=500, n=sites["n"], method=t(f"supply_method_{sites['method']}", lang)))
    if sites["frame"].empty:
        st.info(t("supply_best_none", lang))
    else:
        st.dataframe(pd.DataFrame({
            t("c_site", lang): sites["frame"]["rank"],
            t("c_lon", lang): sites["frame"]["lon"].round(5), t("c_lat", lang): sites["frame"]["lat"].round(5),
            t("c_newly_covered", lang): sites["frame"]["newly_covered"],
            t("c_cumulative", lang): sites["frame"]["cumulative"],
        }), hide_index=True, width="stretch")

# Every district's figures (the province first).
st.subheader(t("supply_district_table", lang))
table = measures.copy()
table["place"] = table["district_adcode"].map(lambda a: t("province", lang) if a == "province" else names.get(a, a))
table = pd.concat([table[table["district_adcode"] == "province"], table[table["district_adcode"] != "province"]
                   .sort_values("unmet_per_10k", ascending=False, kind="stable")], ignore_index=True)
st.dataframe(pd.DataFrame({
    t("c_district", lang): table["place"],
    t("s_facilities", lang): table["facilities"],
    t("s_coverage_share", lang): table["coverage_share"].map(formatting.fmt_pct),
    t("s_requester_coverage_share", lang): table["requester_coverage_share"].map(formatting.fmt_pct),
    t("s_unmet_per_10k", lang): table["unmet_per_10k"].round(2),
    t("s_capacity_per_10k", lang): table["capacity_per_10k"].round(2),
    t("s_access_mean", lang): table["access_mean"].round(3),
}), hide_index=True, width="stretch", height=360)
st.caption(t("attribution", lang))
