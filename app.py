"""Home: the needs map — Zhejiang's districts coloured by a chosen measure, KPIs above."""

from __future__ import annotations

# First of all, before the heavy imports: a fresh install builds its demo here, with a message.
from needsmap.ui.first_start import build_demo_if_missing

build_demo_if_missing()

import streamlit as st

from needsmap import charts, exports, maps, presentation, queries, settings
from needsmap.i18n import labelled, t
from needsmap.ui import data, downloads, hot_spots, needs_map, page, present, widgets

url_params = page.widgets_from_url({"measure": queries.MAP_MEASURES, "classes": ("quantiles", "natural_breaks")})
ctx = page.setup("home_title", extra_params=url_params)
lang, f = ctx.lang, ctx.filter
names = page.place_names()
k = data.k_anonymity()

present.heading(lang, f, ctx.public, t("home_title", lang), names)
needs_map.place_bar(lang, f, names)  # a click on the map drills down here: the way back up, the place's page

as_of = data.as_of()
# The map always shows the whole province; a chosen city or district is outlined, not cut out.
map_filter = f.without_place()
kpis = data.kpis(f, as_of, widgets.overdue_days())
if not kpis["records"]:
    st.info(t("no_data", lang))
# On a projector the page is one screen: key figures and map controls beside the map, legend in view.
figures_side, map_side = st.columns(present.HOME_SPLIT) if ctx.public else (st.container(), st.container())
with figures_side:
    # Against the province once a place is chosen (the province against itself says nothing).
    widgets.kpi_strip(kpis, lang, per_row=2 if ctx.public else 4,
                      reference=data.kpis(map_filter, as_of, widgets.overdue_days()) if f.city_adcode or f.district_adcode else None)
    if ctx.public:
        measure_col, (scheme_col, tiles_col) = st.container(), st.columns(2)
    else:
        measure_col, scheme_col, tiles_col = st.columns([2, 1, 1])
measure = page.localized(measure_col.selectbox, "home_measure", lang, t("measure", lang), queries.MAP_MEASURES,
                        format_func=lambda m: t(f"m_{m}", lang))
scheme = page.localized(scheme_col.radio, "home_scheme", lang, t("classes", lang), ("quantiles", "natural_breaks"),
                       format_func=lambda s: t(s, lang), horizontal=True)
# Basemaps only when configured (NEEDSMAP_TILES): on an intranet a public tile server is a grey map.
configured_tiles = settings.get("tiles")
tile_options = ["none"] + ([configured_tiles] if configured_tiles not in ("", "none") else [])
st.session_state.setdefault("home_tiles", ctx.tiles if ctx.tiles in tile_options else "none")
if st.session_state["home_tiles"] not in tile_options:
    st.session_state["home_tiles"] = "none"
if len(tile_options) > 1:
    tiles = page.localized(tiles_col.selectbox, "home_tiles", lang, t("basemap", lang), tile_options,
                           format_func=lambda o: t(f"basemap_{o}", lang) if o in ("none", "osm", "amap") else t("basemap_custom", lang))
else:
    tiles = "none"
    if not ctx.public:  # a planner may want one; the meeting room needs no note about it
        tiles_col.caption(t("basemap_none_configured", lang))
st.session_state["tiles"] = tiles

min_records = settings.get("min_records_to_rank")
measures = data.district_measures(map_filter, as_of, widgets.overdue_days(), min_records,
                                  include_priority=measure == "priority_sum")
# Honest rates: a district with too few records is drawn as "too few", not as a colour.
shown = presentation.map_frame(measures, measure, lang=lang, public=ctx.public, k=k)
palette = maps.PRESENT_PALETTE if ctx.public else maps.PALETTE
geometries = data.district_geometries()
place = needs_map.place_adcodes(tuple(measures["adcode"]), tuple(measures["city_adcode"]), f)
field_labels = [t("district", lang), t("city", lang), t(f"m_{measure}", lang), t("category", lang)]
with map_side:
    needs_map.draw(f, shown, geometries, view=(lang, k, min_records, widgets.overdue_days(), str(as_of)), measure=measure,
                   scheme=scheme, tiles=tiles, public=ctx.public, place=place, title=t(f"m_{measure}", lang),
                   field_labels=field_labels, no_data_label=t("legend_no_data", lang),
                   height=present.MAP_HEIGHT if ctx.public else 620)
# Say which count the colours are: people (repeat calls once) or records (every call).
st.caption(t("map_counts_people" if measure in presentation.PEOPLE_MEASURES else "map_counts_records", lang,
             measure=t(f"m_{measure}", lang)))
st.caption(t("map_caption", lang, as_of=as_of.strftime("%Y-%m-%d") if as_of else "–") + " " + t("too_few_to_rank", lang, n=min_records))

hot_spots.surge_list(ctx, f, names)

rank_by = presentation.ranking_measure(measure)  # people when the map counts people
# The ranking under the map covers the chosen place (all of it at province level); a chosen
# district is ranked among its city's districts.
ranked_place = needs_map.place_adcodes(tuple(measures["adcode"]), tuple(measures["city_adcode"]),
                                       f.with_changes(district_adcode=None))
in_place = measures[measures["adcode"].isin(ranked_place)] if ranked_place else measures
if ctx.public:  # a chart reads better than a table on a projector
    top = presentation.ranking(in_place, k, by=rank_by).assign(label=lambda frame: frame["city"] + " · " + frame["name"])
    if top.empty:
        st.info(t("too_few_to_rank", lang, n=max(min_records, k)))
    else:
        st.plotly_chart(charts.category_bars(top.round(2), "label", rank_by, t(
            "present_ranking_people" if rank_by == "smoothed_requesters_per_10k" else "present_ranking", lang), large=True),
                        width="stretch")
else:
    ranked = in_place[in_place["rankable"]].sort_values(rank_by, ascending=False)
    st.subheader(t(f"m_{rank_by}", lang))
    widgets.table(
        labelled(ranked, lang, {"name": "c_district", "city": "c_city", "records": "c_records"})
        .assign(**{t("m_per_10k", lang): ranked["per_10k"].round(2).to_numpy(),
                   t("m_smoothed_per_10k", lang): ranked["smoothed_per_10k"].round(2).to_numpy(),
                   t("m_distinct_requesters", lang): ranked["distinct_requesters"].to_numpy(),
                   t("m_smoothed_requesters_per_10k", lang): ranked["smoothed_requesters_per_10k"].round(2).to_numpy()}),
        hide_index=True, width="stretch", height=300,
    )

focus = list(measures.loc[measures["city_adcode"] == f.city_adcode, "adcode"]) if f.city_adcode else None
downloads.panel(
    ctx, key="home", place_names=names,
    map_png=lambda: exports.map_png(
        geometries, shown, measure, title=t(f"m_{measure}", lang), legend_title=t(f"m_{measure}", lang),
        no_data_label=t("legend_no_data", lang), subtitle=" · ".join([f.describe(lang, names)] + (
            [t("demo_badge", lang)] if data.demo_records() else [])), footer=t("attribution", lang),
        scheme=scheme, focus_adcodes=focus, highlight_adcode=f.district_adcode, palette=palette),
    # A map of its own: st_folium changes the map it draws (its features would be in the file twice).
    map_html=lambda: exports.map_html(maps.choropleth(
        geometries, shown, measure, title=t(f"m_{measure}", lang), field_labels=field_labels,
        no_data_label=t("legend_no_data", lang), tiles=tiles, scheme=scheme, selected_adcode=f.district_adcode,
        place_adcodes=place, large=ctx.public, palette=palette), title=f"{t(f'm_{measure}', lang)} · {f.describe(lang, names)}").encode("utf-8"),
)
st.caption(t("attribution", lang))
