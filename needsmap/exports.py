"""Downloads, framework-free: tables as CSV/XLSX, the map as PNG (drawn here) or as an HTML file.

The page's export panel calls the last section: ``download_table``/``table_bytes`` (the filtered
data, masked records for staff, per-district aggregates in public), ``place_map_png`` (the
place's map, also the briefing's) and ``category_chart_png``; each opens its own read-only
connection. Briefings (PDF, PPTX) are ``needsmap.brief``.

* CSV is UTF-8 with BOM, so Excel opens Chinese correctly; cells that a spreadsheet would run as
  formulas are defused.
* Map PNG: matplotlib + geopandas draw the same district polygons with the same class breaks
  and colours as the web map (``maps.class_breaks``/``colour_for``), on the server, no network.
* Map HTML: the folium map with Leaflet's JS and CSS inlined, so the file opens with no network.
* Chinese text needs a CJK font (``cjk_font``): Noto Sans CJK from Debian's fonts-noto-cjk, or
  the file named by ``NEEDSMAP_CJK_FONT``.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from needsmap import assets, formatting, layer_queries, maps, presentation, queries, settings, store
from needsmap.errors import NeedsmapError
from needsmap.filters import Filter
from needsmap.i18n import error, labelled, t, term

if TYPE_CHECKING:
    import folium
    from matplotlib.font_manager import FontProperties

# Cells starting with these are formulas to a spreadsheet (CSV/formula injection): prefix a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Where CJK fonts live on the systems the app runs on (Debian/Ubuntu first). Regular, then bold.
_CJK_FONT_CANDIDATES: tuple[tuple[str, str | None], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", None),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", None),
    ("C:/Windows/Fonts/msyh.ttc", "C:/Windows/Fonts/msyhbd.ttc"),
)


class FontMissingError(NeedsmapError):
    """No font that can draw Chinese was found."""


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        # Text columns are "object" or, with pandas ≥ 3, the "str"/"string" dtypes.
        if pd.api.types.is_object_dtype(out[column]) or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out


def to_csv_bytes(frame: pd.DataFrame, note: str | None = None) -> bytes:
    """UTF-8 with BOM (Excel reads it); ``note`` (e.g. the demo-data mark) as a line above the header."""
    text = _defuse_formulas(frame).to_csv(index=False)
    if note:
        text = _defuse_formulas(pd.DataFrame({"note": [note]})).to_csv(index=False, header=False) + text
    return text.encode("utf-8-sig")


def to_xlsx_bytes(frame: pd.DataFrame, sheet_name: str = "needsmap", note: str | None = None) -> bytes:
    """One sheet; ``note`` (e.g. the demo-data mark) in bold orange in the row above the header."""
    buffer = io.BytesIO()
    clean = _defuse_formulas(frame)
    for column in clean.columns:  # Excel cannot hold timezone-aware times
        if isinstance(clean[column].dtype, pd.DatetimeTZDtype):
            clean[column] = clean[column].dt.tz_localize(None)
    # XlsxWriter, not openpyxl: 38 s against 62 s for 50,000 records at 1M (same run, loaded machine).
    # Text stays text: no string read as a formula, URL or number (formulas are also defused above).
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        clean.to_excel(writer, index=False, sheet_name=sheet_name[:31], startrow=1 if note else 0)
        if note:
            writer.sheets[sheet_name[:31]].write(0, 0, note, writer.book.add_format({"bold": True, "font_color": "#C0560F"}))
    return buffer.getvalue()


def demo_note(con: queries.Connection, lang: str) -> str | None:
    """The 演示数据 mark for a file made from records the demo generator wrote, else None."""
    return t("demo_badge", lang) if queries.demo_records(con) else None


# --------------------------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _simplified_chinese_face(path: str) -> int:
    """Index of the Simplified Chinese face in a font collection (0 for a single font)."""
    if not path.lower().endswith(".ttc"):
        return 0
    from fontTools.ttLib import TTCollection

    collection = TTCollection(path, lazy=True)
    try:
        for index, font in enumerate(collection.fonts):
            family = font["name"].getDebugName(1) or ""
            if family.endswith(" SC") or "YaHei" in family or "Simplified" in family:
                return index
    finally:
        collection.close()
    return 0


@lru_cache(maxsize=1)
def cjk_font() -> tuple[tuple[Path, int], tuple[Path, int]]:
    """((regular file, face index), (bold file, face index)) of a font that draws Chinese.

    ``NEEDSMAP_CJK_FONT`` first (its regular face serves as bold too), then the usual places.
    """
    configured = settings.get("cjk_font")
    candidates = ((configured, None),) if configured else _CJK_FONT_CANDIDATES
    for regular, bold in candidates:
        if Path(regular).is_file():
            bold = bold if bold and Path(bold).is_file() else regular
            return (Path(regular), _simplified_chinese_face(regular)), (Path(bold), _simplified_chinese_face(bold))
    where = configured or _CJK_FONT_CANDIDATES[0][0]
    raise FontMissingError(error("font_missing", where=where))


@lru_cache(maxsize=2)
def _mpl_font(bold: bool = False) -> FontProperties:
    """matplotlib font properties naming the CJK face (registered with matplotlib once)."""
    from matplotlib import font_manager

    path, face = cjk_font()[1 if bold else 0]
    font_manager.fontManager.addfont(str(path))
    for entry in font_manager.fontManager.ttflist:
        if Path(entry.fname) == path and getattr(entry, "index", 0) == face:
            return font_manager.FontProperties(family=entry.name, weight="bold" if bold else "normal")
    return font_manager.FontProperties(fname=str(path))


# --------------------------------------------------------------------------------------------
# Map and chart pictures
# --------------------------------------------------------------------------------------------


# matplotlib's font registry and text caches are process-wide and not made for threads; Streamlit
# makes downloads on its own threads, so pictures are drawn one at a time (about a second each).
_DRAWING = threading.RLock()


def _one_at_a_time(draw: Callable[..., bytes]) -> Callable[..., bytes]:
    @wraps(draw)
    def serialised(*args, **kwargs) -> bytes:
        from matplotlib import rc_context

        # Names and labels are data: "$x^2$" in a district name is drawn as typed, not as math.
        with _DRAWING, rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return serialised


def _figure(width_px: int, height_px: int, dpi: int):
    # A Figure with its own Agg canvas: no pyplot, so no global state shared between sessions.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, facecolor="white")
    FigureCanvasAgg(figure)
    return figure


def _png(figure, dpi: int) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


@_one_at_a_time
def map_png(
    geometries: pd.DataFrame, measures: pd.DataFrame, value_column: str, *, title: str, legend_title: str,
    no_data_label: str, subtitle: str = "", footer: str = "", scheme: str = "quantiles",
    focus_adcodes: Sequence[str] | None = None, highlight_adcode: str | None = None, labels: bool | None = None,
    width_px: int = 1600, height_px: int = 1200, dpi: int = 160, palette: Sequence[str] = maps.PALETTE,
) -> bytes:
    """The choropleth as a PNG of exactly ``width_px`` × ``height_px``.

    ``geometries``: adcode, name, geometry_geojson. ``measures``: adcode and ``value_column``
    (NaN = no data / too few, drawn grey). Classes are computed over every district given, so
    colours mean what they mean on the web map. ``focus_adcodes`` zooms to those districts and
    fades the others; ``highlight_adcode`` gets a thick outline. District names are written on
    the map when ``labels`` (default: when 30 or fewer districts are in focus). ``palette``: the
    web map's (``maps.PALETTE``) or presentation mode's (``maps.PRESENT_PALETTE``).
    """
    import geopandas as gpd
    import shapely
    from matplotlib import patheffects
    from matplotlib.patches import Patch

    frame = geometries[["adcode", "name", "geometry_geojson"]].merge(measures[["adcode", value_column]], on="adcode", how="left")
    values = frame[value_column].astype("float64")
    breaks = maps.class_breaks(values, scheme)
    shapes = gpd.GeoDataFrame(
        {"adcode": frame["adcode"], "name": frame["name"], "fill": [maps.colour_for(v, breaks, palette) for v in values]},
        geometry=shapely.from_geojson(frame["geometry_geojson"].tolist()), crs="EPSG:4326",
    )
    in_focus = shapes["adcode"].isin(list(focus_adcodes)) if focus_adcodes else pd.Series(True, index=shapes.index)
    regular, bold = _mpl_font(False), _mpl_font(True)

    figure = _figure(width_px, height_px, dpi)
    # Text is placed in points from the edges, so it keeps its size and spacing at any pixel size.
    height_pt = height_px / dpi * 72
    title_size, subtitle_size = 20, 13
    title_top = 1 - 12 / height_pt
    subtitle_top = title_top - (title_size * 1.45) / height_pt
    text_bottom = (subtitle_top - subtitle_size * 1.6 / height_pt) if subtitle else (title_top - title_size * 1.6 / height_pt)
    footer_space = 16 / height_pt if footer else 6 / height_pt
    axes = figure.add_axes((0.02, footer_space, 0.96, text_bottom - footer_space - 4 / height_pt))
    axes.set_axis_off()
    if (~in_focus).any():  # context: the neighbours, plain grey so the colours speak for the focus only
        shapes[~in_focus].plot(ax=axes, color="#f0f0f0", edgecolor="#b0b0b0", linewidth=0.5)
    focus = shapes[in_focus]
    focus.plot(ax=axes, color=focus["fill"], edgecolor="#444444", linewidth=0.8 if len(focus) > 30 else 1.4)
    if highlight_adcode and (shapes["adcode"] == highlight_adcode).any():
        shapes[shapes["adcode"] == highlight_adcode].boundary.plot(ax=axes, color="#000000", linewidth=3.5)
    min_x, min_y, max_x, max_y = focus.total_bounds
    pad_x, pad_y = (max_x - min_x) * 0.04 + 0.01, (max_y - min_y) * 0.04 + 0.01
    axes.set_xlim(min_x - pad_x, max_x + pad_x)
    axes.set_ylim(min_y - pad_y, max_y + pad_y)
    axes.set_aspect(1 / np.cos(np.radians((min_y + max_y) / 2)))  # degrees drawn true to shape
    if labels if labels is not None else len(focus) <= 30:
        size = 11 if len(focus) <= 15 else 8
        halo = [patheffects.withStroke(linewidth=3, foreground="white")]
        for row in focus.itertuples(index=False):
            point = row.geometry.representative_point()
            axes.annotate(str(row.name), (point.x, point.y), ha="center", va="center", fontproperties=regular,
                          fontsize=size + (2 if row.adcode == highlight_adcode else 0), path_effects=halo,
                          fontweight="bold" if row.adcode == highlight_adcode else "normal")
    handles = [Patch(facecolor=colour, edgecolor="#777777", label=label)
               for colour, label in maps.legend_entries(breaks, no_data_label, palette)]
    legend = axes.legend(handles=handles, title=legend_title, loc="lower right", prop=regular, title_fontproperties=bold,
                         frameon=True, framealpha=0.92, fontsize=11)
    legend.get_frame().set_edgecolor("#bbbbbb")
    figure.text(0.02, title_top, title, fontproperties=bold, fontsize=title_size, va="top")
    if subtitle:
        figure.text(0.02, subtitle_top, subtitle, fontproperties=regular, fontsize=subtitle_size, va="top", color="#444444")
    if footer:
        figure.text(0.02, 5 / height_pt, footer, fontproperties=regular, fontsize=8, va="bottom", color="#666666")
    return _png(figure, dpi)


@_one_at_a_time
def bars_png(labels: Sequence[str], values: Sequence[float], *, title: str, value_label: str = "",
             width_px: int = 1600, height_px: int = 1000, dpi: int = 160, colour: str = "#f03b20") -> bytes:
    """Horizontal bars (largest on top) as a PNG of exactly ``width_px`` × ``height_px``."""
    regular, bold = _mpl_font(False), _mpl_font(True)
    order = np.argsort(np.asarray(values, dtype="float64"), kind="stable")
    labels = [str(labels[i]) for i in order]
    values = [float(values[i]) for i in order]
    figure = _figure(width_px, height_px, dpi)
    axes = figure.add_axes((0.2, 0.08, 0.74, 0.8))
    bars = axes.barh(labels, values, color=colour)
    axes.bar_label(bars, labels=[f"{v:,.0f}" for v in values], padding=4, fontproperties=regular, fontsize=11)
    for tick in axes.get_yticklabels():
        tick.set_fontproperties(regular)
        tick.set_fontsize(12)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_xlim(0, max(values, default=1) * 1.12 or 1)
    if value_label:
        axes.set_xlabel(value_label, fontproperties=regular, fontsize=12)
    figure.text(0.02, 0.95, title, fontproperties=bold, fontsize=18, va="center")
    return _png(figure, dpi)


# --------------------------------------------------------------------------------------------
# The map as a self-contained HTML file
# --------------------------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s\"'<>)\\]+")


def map_html(fmap: folium.Map, title: str = "needsmap") -> str:
    """The folium map as one HTML file that opens with no network.

    The script and link tags that load Leaflet from the app (``/app/static/vendor``) become
    inline ``<script>``/``<style>`` (images as ``data:`` URLs). Raises ``ValueError`` if the
    map itself names any other http(s) URL than its tile layers' templates (a basemap needs
    the network by nature; with tiles off the file needs none).
    """
    import html as html_module

    page = fmap.get_root().render()
    tile_prefixes = tuple(
        layer.tiles.split("{")[0] for layer in fmap._children.values() if hasattr(layer, "tiles") and isinstance(layer.tiles, str)
    )
    outside = sorted({url for url in _URL.findall(page) if not (tile_prefixes and url.startswith(tile_prefixes))})
    if outside:
        raise ValueError(f"the map names URLs outside the file: {outside[:5]}")
    leaflet_js, _ = assets.inline_assets()
    leaflet_js = leaflet_js.replace("</script", "<\\/script")
    vendor = re.escape(assets.VENDOR_URL)
    page, scripts = re.subn(rf'<script[^>]*\ssrc="{vendor}/leaflet\.js"[^>]*>\s*</script>',
                            lambda _: f"<script>{leaflet_js}</script>", page)
    page, styles = re.subn(rf'<link[^>]*\shref="{vendor}/leaflet\.css"[^>]*/?>',
                           lambda _: f"<style>{assets.inline_leaflet_css()}</style>", page)
    if scripts != 1 or styles != 1 or assets.VENDOR_URL in page:
        raise ValueError("the map does not load Leaflet from the app as expected")
    return page.replace("<head>", f"<head>\n    <title>{html_module.escape(title)}</title>", 1)


# --------------------------------------------------------------------------------------------
# The downloads of a filtered view: data table, the place's map, the category chart
# --------------------------------------------------------------------------------------------

MIME_TYPES = {
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "png": "image/png",
    "html": "text/html",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAP_MEASURE = "smoothed_per_10k"  # what the place map (and the briefing's map) colours


def place_map(con: queries.Connection, f: Filter, province_filter: Filter, as_of: datetime | None, overdue_days: int,
              min_records: int, city_code: str | None, place: str, description: str, lang: str) -> bytes:
    """The city's districts (all of them without a city) coloured by smoothed demands per 10,000
    (classes over the province), the place outlined; districts under the rank or k limits grey.
    A unit (``f.unit_code``): its district's units instead (classes over them), the unit outlined."""
    if f.unit_key and f.district_adcode:
        return _unit_place_map(con, f, as_of, overdue_days, min_records, place, description, lang)
    measures = queries.district_measures(con, province_filter, as_of, overdue_days, min_records, include_priority=False)
    enough = measures["rankable"] & presentation.enough_to_show(measures, settings.get("k_anonymity"))
    measures[MAP_MEASURE] = measures[MAP_MEASURE].where(enough)
    in_city = list(measures.loc[measures["city_adcode"] == city_code, "adcode"]) if city_code else None
    legend = t(f"m_{MAP_MEASURE}", lang)
    return map_png(
        queries.district_geometries(con), measures, MAP_MEASURE, title=f"{place} · {legend}", legend_title=legend,
        no_data_label=t("legend_no_data", lang), subtitle=description, footer=t("b_boundaries", lang),
        focus_adcodes=in_city, highlight_adcode=f.district_adcode, labels=True, width_px=1200, height_px=900, dpi=200,
        palette=maps.PRESENT_PALETTE,
    )


def _unit_place_map(con: queries.Connection, f: Filter, as_of: datetime | None, overdue_days: int, min_records: int,
                    place: str, description: str, lang: str) -> bytes:
    """``place_map`` of a unit: the units of its layer in its district by smoothed demands per 10,000."""
    measures = layer_queries.unit_measures(con, f.with_changes(unit_code=None), f.layer_id, as_of, overdue_days,
                                           min_records).rename(columns={"unit_code": "adcode"})
    enough = measures["rankable"] & presentation.enough_to_show(measures, settings.get("k_anonymity"))
    measures[MAP_MEASURE] = measures[MAP_MEASURE].where(enough)
    units = layer_queries.unit_geometries(con, f.layer_id, f.district_adcode)
    geometries = pd.DataFrame({"adcode": units["unit_code"], "name": units["name"], "geometry_geojson": units["geometry"]})
    legend = t(f"m_{MAP_MEASURE}", lang)
    return map_png(
        geometries, measures, MAP_MEASURE, title=f"{place} · {legend}", legend_title=legend,
        no_data_label=t("legend_no_data", lang), subtitle=description, footer=t("b_boundaries", lang),
        highlight_adcode=f.unit_code, labels=True, width_px=1200, height_px=900, dpi=200, palette=maps.PRESENT_PALETTE,
    )


_RECORD_COLUMNS = {
    "record_id": "c_record_id", "created_at": "c_created_at", "city": "c_city", "district": "c_district",
    "district_adcode": "c_adcode", "urban_rural": "c_urban_rural", "category": "c_category", "subcategory": "c_subcategory",
    "urgency": "c_urgency", "status": "c_status", "channel": "c_channel", "people_affected": "c_people_affected",
    "responded_at": "c_responded_at", "resolved_at": "c_resolved_at", "feedback_at": "c_feedback_at",
    "satisfaction": "c_satisfaction", "requester_group": "c_group", "description": "c_description", "address": "c_address",
    "requester_phone_masked": "c_phone", "requester_name_masked": "c_name",
}
_RECORD_TERMS = {"urban_rural": "urban_rural", "category": "category", "status": "status", "channel": "channel",
                 "requester_group": "group"}
_AGGREGATE_COLUMNS = {
    "city": "c_city", "name": "c_district", "adcode": "c_adcode", "urban_rural": "c_urban_rural",
    "population_2020": "c_population", "records": "c_records", "distinct_requesters": "c_distinct_requesters",
    "unresolved": "c_open_records", "overdue": "c_overdue", "urgent": "c_urgent", "per_10k": "m_per_10k",
    "smoothed_per_10k": "m_smoothed_per_10k", "requesters_per_10k": "m_requesters_per_10k", "suppressed": "c_too_few",
}


def download_table(con: queries.Connection, f: Filter, *, lang: str = "zh", public: bool = False,
                   limit: int = queries.EXPORT_ROW_CAP) -> pd.DataFrame:
    """The filtered data as a download holds it, with translated headers and labels.

    Staff: the masked records (``queries.export_records``, at most ``limit``). Public /
    presentation mode: one row per district in the filter's place, counts of 1 … k−1 and the
    rates of districts under k records left blank (``presentation.district_aggregates``).
    """
    if not public:
        return labelled(queries.export_records(con, f, limit=limit), lang, _RECORD_COLUMNS, _RECORD_TERMS)
    measures = queries.district_measures(con, f, queries.as_of(con), settings.get("resolve_days_target"),
                                         settings.get("min_records_to_rank"), include_priority=False)
    if f.district_adcode:
        measures = measures[measures["adcode"] == f.district_adcode]
    elif f.city_adcode:
        measures = measures[measures["city_adcode"] == f.city_adcode]
    if f.urban_rural:
        measures = measures[measures["urban_rural"].isin(f.urban_rural)]
    table = presentation.district_aggregates(measures, settings.get("k_anonymity"))
    return labelled(table, lang, _AGGREGATE_COLUMNS, {"urban_rural": "urban_rural"})


def table_bytes(db: Path, f: Filter, fmt: str, *, lang: str = "zh", public: bool = False) -> bytes:
    """``download_table`` as CSV (UTF-8 with BOM) or XLSX bytes (for a download button)."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"`fmt` was {fmt!r} but is expected to be in ['csv', 'xlsx']")
    with store.open_readonly(Path(db)) as con:
        table = download_table(con, f, lang=lang, public=public)
        note = demo_note(con, lang)
    return to_csv_bytes(table, note) if fmt == "csv" else to_xlsx_bytes(table, note=note)


def place_map_png(db: Path, f: Filter, lang: str = "zh") -> bytes:
    """The briefing's map for ``f``: its city with the district outlined, or the province."""
    with store.open_readonly(Path(db)) as con:
        names = formatting.place_names(queries.districts(con)) | layer_queries.unit_names(con)
        place_code = f.district_adcode or f.city_adcode
        place = names.get(place_code, place_code) if place_code else t("province", lang)
        if f.unit_key:
            place = f"{place} · {names.get(f.unit_key, f.unit_code)}"
        description = " · ".join(part for part in (f.describe(lang, names), demo_note(con, lang)) if part)
        return place_map(con, f, f.without_place(), queries.as_of(con),
                         settings.get("resolve_days_target"), settings.get("min_records_to_rank"),
                         place_code[:4] + "00" if place_code else None, place, description, lang)


def category_table(con: queries.Connection, f: Filter, *, lang: str = "zh", public: bool = False) -> pd.DataFrame:
    """Records per category (``label``, ``records``), largest first; in public mode categories too
    small to show (k records and k distinct requesters) are merged into one "others" row, left out
    if still too small (its people counted once, however many categories they called about)."""
    counts = queries.category_counts(con, f)[["category", "records", "distinct_requesters"]]
    counts = counts.assign(label=counts["category"].map(lambda c: term("category", c, lang)))
    if public:
        k = settings.get("k_anonymity")
        counts = presentation.merge_small_categories(
            counts, "label", k, t("merged_small", lang, k=k),
            lambda small: queries.distinct_requesters(con, f.with_changes(categories=small)))
    return counts[["label", "records"]].reset_index(drop=True)


def category_chart_png(db: Path, f: Filter, *, lang: str = "zh", public: bool = False) -> bytes:
    """The category chart of ``f`` as a PNG (1600 × 1000), drawn on the server."""
    with store.open_readonly(Path(db)) as con:
        counts = category_table(con, f, lang=lang, public=public)
        names = formatting.place_names(queries.districts(con))
        note = demo_note(con, lang)
    title = " · ".join(part for part in (t("category_breakdown", lang), f.describe(lang, names), note) if part)
    return bars_png(list(counts["label"]), list(counts["records"]), title=title, value_label=t("c_records", lang))
