"""The hot-spot map section (district page) and the surge list (home page), shared by both modes.

Numbers come from ``ui.data`` (cached per filter, public-mode rule applied there); words from
``i18n``; the map from ``maps.hot_spot_map``. Links carry the shared filter in the URL.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from needsmap import alerts, hotspots, maps, navigation
from needsmap.filters import Filter
from needsmap.i18n import t
from needsmap.ui import data, page, widgets

MEASURE_KEY = navigation.URL_WIDGETS["hs"]  # the measure lives in the URL (?hs=records)


def cell_texts(cells: pd.DataFrame, measure_label: str, lang: str) -> list[str]:
    texts = []
    for kind, level, count, label in zip(cells["kind"], cells["level"], cells["count"], cells["label"], strict=True):
        kind_text = t("hs_hot", lang) if kind == "hot" else t("hs_cold", lang) if kind == "cold" else t("hs_trend_only", lang)
        texts.append(t("hs_cell_tip", lang, kind=kind_text, level=f"{int(level)}%" if level else "",
                       measure=measure_label, count=int(count), label=hotspots.label_words(label, lang)))
    return texts


def section(ctx: page.PageContext, f: Filter, names: dict[str, str]) -> None:
    """Hot spots of the view: the measure choice, the plain-words explanation, the map, the top three."""
    lang = ctx.lang
    st.subheader(t("hs_title", lang))
    measure = page.localized(st.radio, MEASURE_KEY, lang, t("hs_measure", lang), hotspots.MEASURES,
                             format_func=lambda m: t(f"hs_{m}", lang), horizontal=True)
    layer = data.hot_spot_layer(f, measure)
    cells = layer.cells
    hot, cold = int((cells["kind"] == "hot").sum()), int((cells["kind"] == "cold").sum())
    if ctx.public and not hot and not cold:  # on a projector: one line, no empty map
        st.info(t("hs_none", lang))
        return
    st.markdown(widgets.md_escape(t("hs_explain", lang)))
    st.caption(t("hs_cells", lang, area=f"{layer.cell_area_km2:.2f}", side=f"{layer.side_km:g}", cells=layer.study_cells,
                 hot=hot, cold=cold))
    if layer.slices >= hotspots.MIN_SLICES:
        st.caption(t("hs_emerging", lang, unit=t(f"hs_unit_{layer.unit}", lang), n=layer.slices))
    else:
        st.caption(t("hs_emerging_few", lang, n=layer.slices))
    legend = {(kind, level): f"{t('hs_' + kind, lang)} {level}%" for kind in ("hot", "cold") for level in hotspots.LEVELS}
    geometries = data.district_geometries()
    if f.district_adcode:
        outline = geometries[geometries["adcode"] == f.district_adcode]
    elif f.city_adcode:
        outline = geometries[geometries["adcode"].str.startswith(f.city_adcode[:4])]
    else:
        outline = geometries
    fmap = maps.hot_spot_map(
        tuple(outline["geometry_geojson"]), cells, layer.side_km, legend_title=t("hs_legend", lang), legend_labels=legend,
        cell_text=cell_texts(cells, t(f"hs_{measure}", lang), lang), tiles=ctx.tiles, large=ctx.public)
    st_folium(fmap, height=520, width="stretch", returned_objects=[], key="hot_spot_map")
    if not hot and not cold:
        st.info(t("hs_none", lang))
        return
    lines = hotspots.top_words(layer, names, lang, k=data.k_anonymity() if ctx.public else 1)
    if lines:
        st.markdown(f"**{widgets.md_escape(t('hs_top', lang))}**")
        st.markdown("\n".join(f"{i}. {widgets.md_escape(line)}" for i, line in enumerate(lines, start=1)))


def _link(script: str, f: Filter, ctx: page.PageContext) -> str:
    """A relative link to a page with the filter ``f`` (and the page's language and mode)."""
    params = f.to_query_params()
    if ctx.lang != "zh":
        params["lang"] = ctx.lang
    if ctx.public:
        params["present"] = "1"
    path = navigation.BY_SCRIPT[script].url_path
    return f"./{path}?{urlencode(params)}" if path else f"./?{urlencode(params)}"


def surge_list(ctx: page.PageContext, f: Filter, names: dict[str, str], top: int = 10) -> None:
    """本周异常: the view's last week's surges, ranked, each linking to its district and its needs."""
    lang = ctx.lang
    result = data.surges(f)
    st.subheader(t("surges_title", lang))
    if result.baseline.kind == "none" or result.end_day is None:
        st.caption(t("surges_no_baseline", lang))
        return
    st.caption(t("surges_explain", lang, start=result.start_day.isoformat(), end=result.end_day.isoformat(),
                 baseline=t(f"surges_baseline_{result.baseline.kind}", lang), n=data.min_surge_requesters()))
    surges = result.surges().head(top)
    if surges.empty:
        st.info(t("surges_none", lang))
        return
    lines = []
    for i, row in enumerate(surges.itertuples(), start=1):
        view = f.with_changes(city_adcode=row.district_adcode[:4] + "00", district_adcode=row.district_adcode, unit_code=None,
                              categories=(row.category,), date_from=result.start_day, date_to=result.end_day)
        place, what = alerts.surge_words(row, names, lang)
        lines.append(
            f"{i}. **{widgets.md_escape(place)}** — "
            f"{widgets.md_escape(what)} — [{widgets.md_escape(t('c_open_district', lang))}]({_link('pages/1_district.py', view, ctx)})"
            f" · [{widgets.md_escape(t('c_open_needs', lang))}]({_link('pages/2_priorities.py', view, ctx)})")
    st.markdown("\n".join(lines))
