"""The home page's needs map in Streamlit: a kept frame, a cached data layer, clicks that drill down.

Measured in the browser (``python -m needsmap bench --browser``), the map cost most of every
interaction: streamlit-folium keys its iframe by a hash of the map's script, so any colour change
destroyed the iframe (Leaflet and ~640 kB of GeoJSON loaded and parsed again), and building and
rendering the folium map took ~1 s of every rerun. Here the frame (``maps.base_map``) is the
same for every view, so its iframe is kept; the districts, legend and place travel as
``feature_group_to_add``, built once per view and cached. A click is handled in the
component's ``on_change`` callback and drills down *in place*: it chooses the district, and the
same page reruns with the map kept (moved to the district, which is outlined), the KPIs and the
lists below following it, and a link to the district page (``place_bar``). Switching to the
district page on every click cost ~3–4 s at 1M records (a new page, a new map frame, plotly's
first load in the tab); staying costs what a filter change costs.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from needsmap import boundaries, coords, maps
from needsmap.errors import BoundaryError
from needsmap.filters import Filter
from needsmap.i18n import t
from needsmap.ui import data, state
from needsmap.ui.widgets import md_escape

MAP_KEY = "needs_map"
DISTRICT_PAGE = "pages/1_district.py"


@st.cache_resource(max_entries=24, show_spinner=False)
def _layer(view: tuple, _shown: pd.DataFrame, _geometries: pd.DataFrame, measure: str, scheme: str, tiles: str,
           public: bool, selected: str | None, place: tuple[str, ...], title: str, field_labels: tuple[str, ...],
           no_data_label: str) -> folium.FeatureGroup:
    """The map's data layer, built once per view: ``view`` (database, version, filter, settings)
    and the other arguments are the key; ``_shown`` is what they determine (not hashed)."""
    return maps.choropleth_layer(
        _geometries, _shown, measure, title=title, field_labels=field_labels, no_data_label=no_data_label,
        tiles=tiles, scheme=scheme, selected_adcode=selected, place_adcodes=place or None, large=public,
        palette=maps.PRESENT_PALETTE if public else maps.PALETTE,
    )


def place_adcodes(districts: Sequence[str], city_adcodes: Sequence[str], f: Filter) -> tuple[str, ...]:
    """The districts of the chosen place: the district, the city's districts, or none (the province)."""
    if f.district_adcode:
        return (f.district_adcode,)
    if f.city_adcode:
        return tuple(a for a, c in zip(districts, city_adcodes, strict=True) if c == f.city_adcode)
    return ()


def draw(f: Filter, shown: pd.DataFrame, geometries: pd.DataFrame, *, view: tuple, measure: str, scheme: str,
         tiles: str, public: bool, place: tuple[str, ...], title: str, field_labels: Sequence[str], no_data_label: str,
         height: int = 620, key: str = MAP_KEY) -> None:
    """The needs map: every district coloured by ``shown[measure]`` (``presentation.map_frame``), the
    chosen place outlined and in view. ``view``: whatever else ``shown`` depends on (language,
    thresholds): with the filter and the database version it keys the cached layer. A click on a
    district chooses it (city and district in the filter); the page the map is on then shows it."""
    cache_key = (str(data.db_path()), data.signature(), f.without_place(), *view)
    layer = _layer(cache_key, shown, geometries, measure, scheme, tiles, public, f.district_adcode, place, title,
                   tuple(field_labels), no_data_label)
    st_folium(maps.base_map(tiles, large=public), height=height, width="stretch", returned_objects=["last_object_clicked"],
              key=key, feature_group_to_add=layer, on_change=lambda: _on_click(f, tiles, key))


def _on_click(f: Filter, tiles: str, key: str) -> None:
    """The map was clicked: choose the district under the click."""
    point = (st.session_state.get(key) or {}).get("last_object_clicked")
    if not point:
        return
    lon, lat = point["lng"], point["lat"]
    if tiles == "amap":  # the map is drawn in GCJ-02 for AMap tiles: undo the shift
        lon, lat = (float(v[0]) for v in coords.to_wgs84([lon], [lat], "gcj02"))
    try:
        adcode = boundaries.district_at(lon, lat)
    except BoundaryError:  # the page already says the boundary file is unreadable
        return
    if adcode:
        current = st.session_state.get(state.FILTER_KEY, f)
        state.set_filter(current.with_changes(city_adcode=adcode[:4] + "00", district_adcode=adcode, unit_code=None))


def place_bar(lang: str, f: Filter, names: dict[str, str]) -> None:
    """Under the title once a place is chosen (by a click or the sidebar): the way back up
    (浙江省 › 城市) and a link to the chosen place's own page (its charts, records and hot spots)."""
    place = f.district_adcode or f.city_adcode
    if not place:
        return
    up, link, _ = st.columns([2, 3, 3], vertical_alignment="center")
    with up:
        crumbs = st.columns(2 if f.district_adcode else 1)
        crumbs[0].button(t("breadcrumb_province", lang), key="home_up_province", icon=":material/arrow_upward:",
                         on_click=state.set_filter, args=(f.without_place(),))
        if f.district_adcode:
            crumbs[1].button(md_escape(names.get(f.city_adcode or "", f.city_adcode or "")), key="home_up_city",
                             icon=":material/arrow_upward:",
                             on_click=state.set_filter, args=(f.with_changes(district_adcode=None, layer_id=None, unit_code=None),))
    link.page_link(DISTRICT_PAGE, label=t("open_place_page", lang, place=md_escape(names.get(place, place))),
                   icon=":material/open_in_new:")
