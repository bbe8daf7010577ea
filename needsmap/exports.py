"""Downloads, framework-free: tables as CSV/XLSX, the map as PNG (drawn here) or as an HTML file.

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
from functools import lru_cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from needsmap import assets, maps, settings
from needsmap.errors import NeedsmapError

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


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return _defuse_formulas(frame).to_csv(index=False).encode("utf-8-sig")


def to_xlsx_bytes(frame: pd.DataFrame, sheet_name: str = "needsmap") -> bytes:
    buffer = io.BytesIO()
    clean = _defuse_formulas(frame)
    for column in clean.columns:  # Excel cannot hold timezone-aware times
        if isinstance(clean[column].dtype, pd.DatetimeTZDtype):
            clean[column] = clean[column].dt.tz_localize(None)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        clean.to_excel(writer, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()


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
    raise FontMissingError(f"找不到中文字体 {where}：请安装 fonts-noto-cjk 或设置 NEEDSMAP_CJK_FONT "
                           "(no CJK font found: install fonts-noto-cjk or set NEEDSMAP_CJK_FONT)")


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
    page, scripts = re.subn(rf'<script[^>]*\ssrc="{vendor}/leaflet/leaflet\.js"[^>]*>\s*</script>',
                            lambda _: f"<script>{leaflet_js}</script>", page)
    page, styles = re.subn(rf'<link[^>]*\shref="{vendor}/leaflet/leaflet\.css"[^>]*/?>',
                           lambda _: f"<style>{assets.inline_leaflet_css()}</style>", page)
    if scripts != 1 or styles != 1 or assets.VENDOR_URL in page:
        raise ValueError("the map does not load Leaflet from the app's static folder as expected")
    return page.replace("<head>", f"<head>\n    <title>{html_module.escape(title)}</title>", 1)
