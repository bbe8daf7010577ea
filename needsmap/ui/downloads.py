"""The export panel: map (PNG, offline HTML), category chart (PNG), filtered data (CSV, Excel)
and the briefing of the chosen district or city (PDF, PowerPoint).

Every file is made only when its button is clicked (``st.download_button`` with a callable), on
Streamlit's own thread without a script context: the callables get plain values (the database
path, the frozen Filter, frames already on the page) and open their own read-only connection.
A normal page refresh therefore costs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import streamlit as st

from needsmap import brief, exports, queries, settings
from needsmap.errors import NeedsmapError
from needsmap.i18n import t
from needsmap.ui import data, staff
from needsmap.ui.page import PageContext
from needsmap.ui.widgets import md_escape


def font_problem() -> str | None:
    """The sentence to show when no CJK font is installed (pictures, PDF need one), else None."""
    try:
        exports.cjk_font()
    except NeedsmapError as exc:
        return str(exc)
    return None


def _file_stem(ctx: PageContext) -> str:
    place = ctx.filter.district_adcode or ctx.filter.city_adcode or "330000"
    return f"needsmap-{place}"


def panel(ctx: PageContext, *, key: str, map_png: Callable[[], bytes] | None = None,
          map_html: Callable[[], bytes] | None = None, place_names: dict[str, str] | None = None) -> None:
    """Draw the export expander; ``map_png``/``map_html`` make the page's map (None: no map here)."""
    lang, f, public = ctx.lang, ctx.filter, ctx.public
    # Record-level exports are a staff view: whoever is not signed in gets the public, per-district table.
    aggregates_only = public or not staff.signed_in()
    db = data.db_path()
    stem = _file_stem(ctx)
    problem = font_problem()
    with st.expander(t("export", lang), icon=":material/download:"):
        if problem:
            st.warning(t("x_font_missing", lang, error=problem))
        columns = st.columns(4)
        if map_png is not None:
            columns[0].download_button(t("x_map_png", lang), map_png, f"{stem}-map.png", "image/png", key=f"{key}_map_png",
                                       on_click="ignore", disabled=problem is not None, icon=":material/image:")
        if map_html is not None:
            columns[1].download_button(t("x_map_html", lang), map_html, f"{stem}-map.html", "text/html",
                                       key=f"{key}_map_html", on_click="ignore", icon=":material/public_off:")
        columns[2].download_button(
            t("x_chart_png", lang), partial(exports.category_chart_png, db, f, lang=lang, public=public),
            f"{stem}-categories.png", "image/png", key=f"{key}_chart_png", on_click="ignore",
            disabled=problem is not None, icon=":material/bar_chart:")
        data_csv, data_xlsx = columns[3].columns(2)
        data_csv.download_button(t("x_data_csv", lang), partial(exports.table_bytes, db, f, "csv", lang=lang, public=aggregates_only),
                                 f"{stem}-data.csv", "text/csv", key=f"{key}_data_csv", on_click="ignore")
        data_xlsx.download_button(t("x_data_xlsx", lang), partial(exports.table_bytes, db, f, "xlsx", lang=lang, public=aggregates_only),
                                  f"{stem}-data.xlsx", exports.MIME_TYPES["xlsx"], key=f"{key}_data_xlsx", on_click="ignore")
        k = settings.get("k_anonymity")
        notes = [t("x_html_note", lang),
                 t("x_public_note", lang, k=k) if public else t("x_staff_note", lang, k=k) if aggregates_only
                 else t("x_data_note", lang, cap=f"{queries.EXPORT_ROW_CAP:,}")]

        place = f.district_adcode or f.city_adcode
        if place:
            names = place_names or {}
            st.markdown(f"**{t('x_brief_for', lang, place=md_escape(names.get(place, place)))}**")
            pdf_column, pptx_column, _ = st.columns([1, 1, 2])
            pdf_column.download_button(t("x_brief_pdf", lang), partial(brief.briefing_bytes, db, f, "pdf", lang),
                                       f"{stem}-briefing.pdf", exports.MIME_TYPES["pdf"], key=f"{key}_brief_pdf",
                                       on_click="ignore", disabled=problem is not None, icon=":material/picture_as_pdf:")
            pptx_column.download_button(t("x_brief_pptx", lang), partial(brief.briefing_bytes, db, f, "pptx", lang),
                                        f"{stem}-briefing.pptx", exports.MIME_TYPES["pptx"], key=f"{key}_brief_pptx",
                                        on_click="ignore", disabled=problem is not None, icon=":material/slideshow:")
            notes.append(t("x_brief_note", lang))
        else:
            notes.append(t("x_brief_choose", lang))
        st.caption(" ".join(notes))
