"""One level below the district on the district page: its units (乡镇街道, communities, grid cells).

The district's units of one boundary layer are drawn on a map zoomed to the district, outlined,
named and coloured by the chosen measure; a click on a unit opens it (the filter's ``unit_code``),
and a list ranks them. When the district has units in several layers, a chooser says which one
it drills into (the filter's ``layer_id``). A district without a layer says so in one line.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from needsmap import coords, formatting, layer_queries, maps, navigation, presentation, settings
from needsmap.filters import Filter
from needsmap.i18n import labelled, t
from needsmap.ui import data, page, state, widgets
from needsmap.ui.page import PageContext

MAP_KEY = "units_map"
MEASURE_KEY = navigation.URL_WIDGETS["umeasure"]  # in the URL: ?umeasure=smoothed_per_10k
LAYER_KEY = "units_layer"


def level_name(level: str, lang: str) -> str:
    return t(f"level_{level}", lang)


def section(ctx: PageContext, f: Filter, names: dict[str, str], as_of: object, overdue_days: int) -> None:
    """The units of ``f``'s district: layer chooser, map (click → unit), ranking. ``f`` must name a district."""
    lang = ctx.lang
    layers = data.district_layers(f.district_adcode)
    if layers.empty:
        st.caption(t("units_none", lang))
        return
    by_id = layers.set_index("layer_id")
    layer_id = f.layer_id if f.layer_id in by_id.index else str(layers["layer_id"].iloc[0])
    layer = by_id.loc[layer_id]
    level = level_name(str(layer["level"]), lang)
    st.subheader(t("units_map", lang, level=level))
    if len(layers) > 1:
        chosen = st.selectbox(
            t("units_layer_choose", lang), list(by_id.index), index=list(by_id.index).index(layer_id), key=LAYER_KEY,
            format_func=lambda i: f"{by_id.loc[i, 'name']} · {level_name(by_id.loc[i, 'level'], lang)} · {by_id.loc[i, 'units_here']}")
        if chosen != layer_id:
            state.set_filter(f.with_changes(layer_id=chosen, unit_code=None))
            st.rerun()
    measure = page.localized(st.selectbox, MEASURE_KEY, lang, t("measure", lang), layer_queries.UNIT_MEASURES,
                             format_func=lambda m: t(f"m_{m}", lang))
    min_records = settings.get("min_records_to_rank")
    district_view = f.with_changes(unit_code=None, layer_id=layer_id)
    measures = data.unit_measures(district_view, layer_id, as_of, overdue_days, min_records)
    geometries = data.unit_geometries(layer_id, f.district_adcode)
    k = data.k_anonymity()

    if bool(layer["synthetic"]):
        st.caption(t("units_synthetic", lang))
    shown = presentation.map_frame(measures.rename(columns={"unit_code": "adcode"}), measure, lang=lang,
                                   public=ctx.public, k=k)
    district_name = names.get(f.district_adcode, f.district_adcode)
    shapes = pd.DataFrame({"adcode": geometries["unit_code"], "name": geometries["name"], "city": district_name,
                           "geometry_geojson": geometries["geometry"]})
    group = maps.choropleth_layer(
        shapes, shown, measure, title=t(f"m_{measure}", lang),
        field_labels=[level, t("district", lang), t(f"m_{measure}", lang), t("category", lang)],
        no_data_label=t("legend_no_data", lang), tiles=ctx.tiles, selected_adcode=f.unit_code,
        place_adcodes=tuple(shapes["adcode"]), large=ctx.public,
        palette=maps.PRESENT_PALETTE if ctx.public else maps.PALETTE)
    st_folium(maps.base_map(ctx.tiles, large=ctx.public), height=520, width="stretch", key=MAP_KEY,
              returned_objects=["last_object_clicked"], feature_group_to_add=group,
              on_change=lambda: _on_click(layer_id, geometries, ctx.tiles))
    notes = [t("units_too_few_to_rank", lang, n=min_records, level=level)]
    if measures["population"].isna().all():
        notes.append(t("units_population_missing", lang))
    unplaced = data.unplaced_records(district_view, layer_id)
    if unplaced and not ctx.public:
        notes.append(t("units_unplaced", lang, n=formatting.fmt_int(unplaced), level=level))
    st.caption(" ".join(notes))
    _ranking(measures, measure, level, ctx, k)


def _ranking(measures: pd.DataFrame, measure: str, level: str, ctx: PageContext, k: int) -> None:
    """The units ranked by the page's measure: name, records, distinct requesters, that measure
    (rates only where rankable); in public mode units too small to show are left out."""
    lang = ctx.lang
    rows = measures.copy()
    if measure in presentation.RATE_MEASURES:
        rows = rows[rows["rankable"]]
    if ctx.public:
        rows = presentation.suppress_small_groups(rows, k)
    columns = list(dict.fromkeys(["name", "population", "records", "distinct_requesters", measure]))
    rows = rows.sort_values([measure, "unit_code"], ascending=[False, True])[columns]
    rows["population"] = rows["population"].round().astype("Int64")
    if rows.empty:
        return
    widgets.table(labelled(rows.round(2), lang, {
        "name": "c_unit", "population": "c_unit_population", "records": "c_records",
        "distinct_requesters": "c_distinct_requesters", measure: f"m_{measure}",
    }), hide_index=True, width="stretch")


def _on_click(layer_id: str, geometries: pd.DataFrame, tiles: str) -> None:
    """The units map was clicked: open the unit under the click."""
    point = (st.session_state.get(MAP_KEY) or {}).get("last_object_clicked")
    if not point:
        return
    lon, lat = point["lng"], point["lat"]
    if tiles == "amap":  # drawn in GCJ-02 for AMap tiles: undo the shift
        lon, lat = (float(v[0]) for v in coords.to_wgs84([lon], [lat], "gcj02"))
    code = layer_queries.unit_at(geometries, lon, lat)
    if code:
        current = st.session_state.get(state.FILTER_KEY, Filter())
        state.set_filter(current.with_changes(layer_id=layer_id, unit_code=code))


def unit_outline(f: Filter) -> str | None:
    """The GeoJSON text of ``f``'s unit (for the records map), or None."""
    if not (f.unit_code and f.layer_id and f.district_adcode):
        return None
    units = data.unit_geometries(f.layer_id, f.district_adcode)
    found = units.loc[units["unit_code"] == f.unit_code, "geometry"]
    return str(found.iloc[0]) if len(found) else None
