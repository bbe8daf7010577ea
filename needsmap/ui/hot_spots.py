"""The hot-spot map section (district page) and the surge list (home page), shared by both modes.

Numbers come from ``ui.data`` (cached per filter, public-mode rule applied there); words from
``i18n``; the map from ``maps.hot_spot_map``. Links carry the shared filter in the URL.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from needsmap import boundaries, hotspots, maps, navigation
from needsmap.errors import BoundaryError
from needsmap.filters import Filter
from needsmap.i18n import t, term
from needsmap.ui import data, page, widgets

MEASURE_KEY = "hs_measure"


def label_text(label: str, lang: str) -> str:
    """An emerging label (``"hot:new"``) in words; "" stays "no trend label"."""
    return t(f"el_{label.replace(':', '_')}", lang) if label else t("el_none", lang)


def cell_place(lon: float, lat: float, names: dict[str, str], lang: str) -> str:
    """Where a cell lies, in words: its district and its centre."""
    try:
        adcode = boundaries.district_at(lon, lat)
    except BoundaryError:
        adcode = None
    return t("hs_near", lang, district=names.get(adcode, "–") if adcode else "–", lon=f"{lon:.3f}", lat=f"{lat:.3f}")


def cell_texts(cells: pd.DataFrame, measure_label: str, lang: str) -> list[str]:
    texts = []
    for kind, level, count, label in zip(cells["kind"], cells["level"], cells["count"], cells["label"], strict=True):
        kind_text = t("hs_hot", lang) if kind == "hot" else t("hs_cold", lang) if kind == "cold" else t("hs_trend_only", lang)
        texts.append(t("hs_cell_tip", lang, kind=kind_text, level=f"{int(level)}%" if level else "",
                       measure=measure_label, count=int(count), label=label_text(label, lang)))
    return texts


def section(ctx: page.PageContext, f: Filter, names: dict[str, str]) -> None:
    """Hot spots of the view: the measure choice, the plain-words explanation, the map, the top three."""
    lang = ctx.lang
    st.subheader(t("hs_title", lang))
    measure = page.localized(st.radio, MEASURE_KEY, lang, t("hs_measure", lang), hotspots.MEASURES,
                             format_func=lambda m: t(f"hs_{m}", lang), horizontal=True)
    layer = data.hot_spot_layer(f, measure)
    st.markdown(widgets.md_escape(t("hs_explain", lang)))
    cells = layer.cells
    hot, cold = int((cells["kind"] == "hot").sum()), int((cells["kind"] == "cold").sum())
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
    top = layer.top(3)
    if len(top):
        st.markdown(f"**{widgets.md_escape(t('hs_top', lang))}**")
        lines = [f"{i}. {widgets.md_escape(cell_place(row.lon, row.lat, names, lang))} · "
                 f"{widgets.md_escape(t('hs_hot', lang))} {int(row.level)}% · "
                 f"{widgets.md_escape(t(f'hs_{measure}', lang))} {int(row.count)} · {widgets.md_escape(label_text(row.label, lang))}"
                 for i, row in enumerate(top.itertuples(), start=1)]
        st.markdown("\n".join(lines))


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
        view = f.with_changes(city_adcode=row.district_adcode[:4] + "00", district_adcode=row.district_adcode,
                              categories=(row.category,), date_from=result.start_day, date_to=result.end_day)
        place = f"{names.get(row.district_adcode[:4] + '00', '')} · {names.get(row.district_adcode, row.district_adcode)}"
        what = (f"{t('c_requesters_week', lang)} {int(row.requesters)} · {t('c_expected', lang)} {row.expected:.1f} · "
                f"{t('c_ratio', lang)} {row.ratio:.0f}")
        lines.append(
            f"{i}. **{widgets.md_escape(place)} · {widgets.md_escape(term('category', row.category, lang))}** — "
            f"{widgets.md_escape(what)} — [{widgets.md_escape(t('c_open_district', lang))}]({_link('pages/1_district.py', view, ctx)})"
            f" · [{widgets.md_escape(t('c_open_needs', lang))}]({_link('pages/2_priorities.py', view, ctx)})")
    st.markdown("\n".join(lines))
