"""folium map builders: data in, ``folium.Map`` out; no queries, no Streamlit.

Hostile text: folium writes tooltip and popup content into the page as raw HTML (inside JS
template strings for ``Tooltip``/``Popup``). So no free text ever goes into the map: features
carry only district names, numbers and fixed labels, each passed through ``html.escape``, shown
by ``GeoJsonTooltip`` (which reads them from the GeoJSON data at run time, not from a template).
Descriptions and addresses appear only in tables, after a click.
"""

from __future__ import annotations

import html
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache

import folium
import mapclassify
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from needsmap import assets, coords
from needsmap.i18n import t

# ColorBrewer YlOrRd (5 classes): sequential and readable for the common colour-vision deficiencies.
PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
# Presentation mode: viridis (5 samples, light = low), perceptually uniform, colour-blind safe and
# still ordered when a projector washes colours out or the slide is printed in grey.
PRESENT_PALETTE = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154")
NO_DATA_COLOUR = "#d9d9d9"
# Hot and cold spots at 99 / 95 / 90 % (ArcGIS's hot-spot ramp: deep = more confident).
HOT_SPOT_COLOURS = {("hot", 99): "#d62f27", ("hot", 95): "#ed7551", ("hot", 90): "#fab984",
                    ("cold", 99): "#4575b5", ("cold", 95): "#849eba", ("cold", 90): "#c0ccbe"}
# On the web map "no data / too few" is hatched grey on white with a dashed edge, so it cannot be
# mistaken for the background or for the palette's lightest class (exports fill NO_DATA_COLOUR).
NO_DATA_HATCH_SVG = (
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
    '<pattern id="needsmap-hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#8c8c8c" stroke-width="2"/>'
    '</pattern></defs></svg>')
NO_DATA_SWATCH_CSS = "background:repeating-linear-gradient(45deg,#8c8c8c 0 1.5px,#fff 1.5px 4px);border-style:dashed"
URGENCY_COLOURS = {1: "#2c7fb8", 2: "#fdae61", 3: "#f46d43", 4: "#a50026"}
ZHEJIANG_BOUNDS = [[27.0, 118.0], [31.2, 123.0]]
AMAP_TILES = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


class _GovernmentMapControls(MacroElement):
    """A metric-only scale bar, and Leaflet's credit without the flag Leaflet 1.9 puts before it
    (not something to project in a council chamber; the data attribution stays as it is)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
            if (map.attributionControl) { map.attributionControl.setPrefix("Leaflet"); }
            {%- if this.scale %}
            L.control.scale({imperial: false}).addTo(map);
            {%- endif %}
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, scale: bool) -> None:
        super().__init__()
        self.scale = scale


class OfflineMap(folium.Map):
    """A folium Map that loads Leaflet from the app (``assets.VENDOR_URL``), nothing else.

    ``control_scale=True`` draws a metric scale only (folium's shows miles too).
    """

    default_js = [assets.LEAFLET_JS]
    default_css = [assets.LEAFLET_CSS]

    def __init__(self, *args: object, control_scale: bool = False, **kwargs: object) -> None:
        super().__init__(*args, control_scale=False, **kwargs)
        _GovernmentMapControls(scale=control_scale).add_to(self)


def tiles_for(setting: str) -> tuple[str | None, str | None, bool]:
    """(tile URL template or None, attribution, shift shapes to GCJ-02?) for a basemap setting."""
    if setting in ("", "none", None):
        return None, None, False
    if setting == "osm":
        return "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors", False
    if setting == "amap":
        return AMAP_TILES, "© 高德地图 AMap", True
    return setting, "intranet tiles", False


@lru_cache(maxsize=8)
def _parsed_geometries(geometry_texts: tuple[str, ...], shift_to_gcj02: bool) -> tuple[dict, ...]:
    """Parse GeoJSON geometry text once; optionally shift to GCJ-02 so it lines up with AMap."""
    geoms = shapely.from_geojson(list(geometry_texts))
    if shift_to_gcj02:
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(coords.wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
    return tuple(json.loads(text) for text in shapely.to_geojson(geoms))


def class_breaks(values: pd.Series, scheme: str = "quantiles", k: int = 5) -> list[float]:
    """Upper bounds of up to k classes (mapclassify Quantiles or FisherJenks) over finite values."""
    finite = values[np.isfinite(values.astype("float64"))].astype("float64")
    if finite.empty:
        return []
    k = max(1, min(k, finite.nunique()))
    if k == 1:
        return [float(finite.max())]
    with warnings.catch_warnings():
        # Tied values leave fewer distinct quantiles than k: mapclassify says so and uses fewer, as
        # the set below does. Without numba it says it uses pure Python: on ≤ 1,400 units that
        # takes milliseconds. Neither is news for the server log.
        warnings.filterwarnings("ignore", message="Not enough unique values", category=UserWarning)
        warnings.filterwarnings("ignore", message="Numba not installed", category=UserWarning)
        classifier = (mapclassify.FisherJenks(finite, k=k) if scheme == "natural_breaks"
                      else mapclassify.Quantiles(finite, k=k))
    bounds = sorted(set(float(b) for b in classifier.bins))
    whole = bool(np.all(np.mod(finite.to_numpy(), 1) == 0))
    if whole:  # counts: a class bound between two whole numbers reads wrong ("≤ 78.8")
        bounds = sorted(set(float(math.ceil(b - 1e-9)) for b in bounds))
    # No empty classes: a bound with no value above the previous one is dropped (its class merges
    # into the next), so a legend never shows a class no district is in.
    values = finite.to_numpy()
    kept: list[float] = []
    for upper in bounds:
        lower = kept[-1] if kept else -np.inf
        if np.any((values > lower) & (values <= upper)):
            kept.append(upper)
    return kept


def colour_for(value: float, breaks: Sequence[float], palette: Sequence[str] = PALETTE) -> str:
    """The palette colour of the class ``value`` falls in; fewer classes spread over the palette."""
    if value is None or not np.isfinite(value) or not breaks:
        return NO_DATA_COLOUR
    position = next((i for i, upper in enumerate(breaks) if value <= upper), len(breaks) - 1)
    spread = np.linspace(0, len(palette) - 1, len(breaks)).round().astype(int)
    return palette[spread[position]]


class Legend(MacroElement):
    """A legend control; its HTML is built here from escaped text and passed as a JSON string."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (parent) {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "needsmap-legend");
                div.innerHTML = {{ this.legend_html|tojson }};
                return div;
            };
            if (parent instanceof L.Map) { legend.addTo(parent); return; }
            // In a layer group: shown and removed with it (the page swaps the group, not the map).
            var show = function () { if (parent._map && !legend._map) legend.addTo(parent._map); };
            parent.on("add", show);
            parent.on("remove", function () { legend.remove(); });
            show();
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, title: str, breaks: Sequence[float], no_data_label: str, large: bool = False,
                 palette: Sequence[str] = PALETTE, entries: Sequence[tuple[str, str]] | None = None) -> None:
        """``entries`` ((colour, label) pairs) replace the class entries of ``breaks`` when given."""
        super().__init__()
        self._name = "Legend"
        font = "20px" if large else "13px"
        if entries is not None:
            rows = [f'<div><i style="background:{colour}"></i>{html.escape(label)}</div>' for colour, label in entries]
        else:  # the choropleth's classes, then "no data / too few" hatched as on the map
            classes = legend_entries(breaks, no_data_label, palette)
            rows = [f'<div><i style="background:{colour}"></i>{html.escape(label)}</div>' for colour, label in classes[:-1]]
            rows.append(f'<div><i style="{NO_DATA_SWATCH_CSS}"></i>{html.escape(classes[-1][1])}</div>')
        self.legend_html = (
            f'<div style="background:rgba(255,255,255,.92);padding:8px 10px;border-radius:4px;font:{font}/1.4 sans-serif;'
            f'box-shadow:0 1px 4px rgba(0,0,0,.3)"><b>{html.escape(title)}</b>{"".join(rows)}</div>'
            '<style>.needsmap-legend i{display:inline-block;width:14px;height:14px;margin-right:6px;'
            'vertical-align:middle;border:1px solid #999}</style>'
        )


def legend_entries(breaks: Sequence[float], no_data_label: str, palette: Sequence[str] = PALETTE) -> list[tuple[str, str]]:
    """(colour, class label) of each class, then the no-data entry: shared by the web map and exports.

    Whole-number bounds (counts) label each class with the whole numbers it holds ("4 – 6", or
    "5" when it holds one); other bounds as "lower – upper" (lower excluded).
    """
    whole = all(float(b).is_integer() for b in breaks)
    entries = []
    lower = None
    for upper in breaks:
        if lower is None:
            span = f"≤ {_fmt(upper)}"
        elif whole:
            span = _fmt(upper) if lower + 1 == upper else f"{_fmt(lower + 1)} – {_fmt(upper)}"
        else:
            span = f"{_fmt(lower)} – {_fmt(upper)}"
        entries.append((colour_for(upper, breaks, palette), span))
        lower = upper
    entries.append((NO_DATA_COLOUR, no_data_label))
    return entries


def _fmt(value: float | None) -> str:
    """A class bound for a legend: whole numbers (counts) without decimals, else 3 significant-ish digits."""
    if value is None or not np.isfinite(value):
        return "–"
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"


def _tile_setting(tiles: str) -> tuple[str | None, bool]:
    url, _, shift = tiles_for(tiles)
    return url, shift


def _base_map(tiles: str) -> tuple[folium.Map, bool]:
    url, attribution, shift = tiles_for(tiles)
    fmap = OfflineMap(location=[29.2, 120.5], zoom_start=7, tiles=None, control_scale=True)
    # Without tiles a light background reads better on a projector than Leaflet's grey.
    fmap.get_root().header.add_child(Element("<style>.folium-map.leaflet-container{background:#f4f6f8}</style>"))
    if url:
        subdomains = "1234" if "{s}" in url and "autonavi" in url else "abc"
        tile_layer = folium.TileLayer(url, attr=attribution, subdomains=subdomains, max_zoom=18).add_to(fmap)
        TileErrorNotice(tile_layer, f"{t('tiles_failed', 'zh')} {t('tiles_failed', 'en')}").add_to(fmap)
    return fmap, shift


class TileErrorNotice(MacroElement):
    """A note on the map, once, when the basemap's tiles fail to load (an intranet with no route
    to the tile server): the map then shows the boundaries on a plain background, and says why."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (tiles, map) {
            var shown = false;
            tiles.on("tileerror", function () {
                if (shown) { return; }
                shown = true;
                var note = L.control({position: "topright"});
                note.onAdd = function () {
                    var div = L.DomUtil.create("div", "needsmap-tile-error");
                    div.textContent = {{ this.text_json }};
                    div.style.cssText = "background:#fff3cd;color:#664d03;border:1px solid #ffe69c;border-radius:4px;"
                        + "padding:6px 10px;font:13px/1.4 sans-serif;max-width:320px";
                    return div;
                };
                note.addTo(map);
            });
        })({{ this.tiles_name }}, {{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, tile_layer: folium.TileLayer, text: str) -> None:
        super().__init__()
        self._name = "TileErrorNotice"
        self.tiles_name = tile_layer.get_name()
        self.text_json = _script_json(text)


def _script_json(value: object) -> str:
    """JSON safe inside an inline ``<script>``: ``<``, ``>`` and ``&`` as ``\\u`` escapes (as folium's tojson)."""
    return json.dumps(value, ensure_ascii=False).replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


class DistrictLayer(MacroElement):
    """The districts as one ``L.geoJSON`` with their fill, tooltip and hover highlight.

    The features are serialised once, here (folium's ``GeoJson`` re-serialises them and runs its
    style function per feature on every render); the page caches this object per view, so a
    rerun that changes nothing on the map costs no JSON work. Properties are HTML-escaped
    text already; the tooltip reads them at run time. Districts of the chosen place carry a
    ``label_at`` point where their name is written on the map.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (parent) {
            if (!document.getElementById("needsmap-hatch")) {
                document.body.insertAdjacentHTML("beforeend", {{ this.hatch_json }});
            }
            var labels = {{ this.labels_json }};
            var base = {{ this.base_style_json }};
            if (!window.__needsmapTapGuard) {
                // On a touch screen the first tap on a district shows its values (the tap's
                // emulated mouseover opens the tooltip) and the click is held back; a second tap on
                // the same district lets the click through, which drills down. A mouse clicks at once.
                window.__needsmapTapGuard = true;
                var pointer = "mouse", armed = null;
                document.addEventListener("pointerdown", function (e) { pointer = e.pointerType; }, true);
                document.addEventListener("click", function (e) {
                    if (pointer !== "touch") { return; }
                    var path = e.target.closest ? e.target.closest("path.leaflet-interactive") : null;
                    if (!path || armed === path) { armed = null; return; }
                    armed = path;
                    e.stopPropagation();
                    var shape = path.__needsmapShape, tip = shape && shape.getTooltip();
                    if (!shape || !shape._map || !tip) { return; }
                    // Above the finger and kept inside the map (a phone's map is narrower than a tooltip
                    // placed beside the tap, which was cut off at the edge).
                    var map = shape._map, at = map.mouseEventToContainerPoint(e);
                    tip.options.direction = "top";
                    shape.openTooltip(map.containerPointToLatLng(at));
                    var element = tip.getElement();
                    if (element && element.getBoundingClientRect().top < 0) {  // no room above: below
                        tip.options.direction = "bottom";
                        shape.closeTooltip();
                        shape.openTooltip(map.containerPointToLatLng(at));
                        element = tip.getElement();
                    }
                    if (element) {
                        var half = element.offsetWidth / 2 + 4, width = map.getSize().x;
                        var x = Math.min(Math.max(at.x, half), Math.max(half, width - half));
                        tip.setLatLng(map.containerPointToLatLng([x, at.y]));
                    }
                }, true);
            }
            var layer = L.geoJSON({{ this.data_json }}, {
                style: function (feature) {
                    var p = feature.properties;
                    return {fillColor: p.no_data ? "url(#needsmap-hatch)" : p.fill, fillOpacity: p.in_place ? 0.8 : base.faded_opacity,
                            color: p.selected ? "#111" : base.edge,
                            weight: base.weight * (p.selected ? 3 : 1),
                            dashArray: p.no_data ? "3 3" : null};
                },
                onEachFeature: function (feature, shape) {
                    var p = feature.properties;
                    shape.bindTooltip(function () {
                        var values = [p.tip_name, p.tip_city, p.value_text, p.top_text];
                        return "<table>" + labels.map(function (label, i) {
                            return "<tr><th style=\\"text-align:left;padding-right:8px\\">" + label + "</th><td>" + values[i] + "</td></tr>";
                        }).join("") + "</table>";
                    }, {sticky: true});
                    shape.on("add", function () { var element = shape.getElement(); if (element) { element.__needsmapShape = shape; } });
                    shape.on("mouseover", function () { shape.setStyle({weight: base.weight * 3, color: "#000", fillOpacity: 0.9}); });
                    shape.on("mouseout", function () { layer.resetStyle(shape); });
                    if (p.label_at) {
                        L.tooltip({permanent: true, direction: "center", className: "needsmap-label", interactive: false})
                            .setLatLng(p.label_at).setContent(p.name).addTo(parent);
                    }
                }
            });
            return layer.addTo(parent);
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, features: list[dict], field_labels: Sequence[str], *, weight: float, edge: str,
                 faded_opacity: float) -> None:
        super().__init__()
        self._name = "DistrictLayer"
        self.data_json = _script_json({"type": "FeatureCollection", "features": features})
        self.labels_json = _script_json([html.escape(label) for label in field_labels])
        self.hatch_json = _script_json(NO_DATA_HATCH_SVG)
        self.base_style_json = _script_json({"weight": weight, "edge": edge, "faded_opacity": faded_opacity})


class PlaceView(MacroElement):
    """Outlines the chosen place and moves the map to it when its layer group is shown.

    The view moves only when the place changes (not when a filter recolours the same place), so
    a planner's own pan and zoom are kept while they try filters.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (group) {
            {%- if this.outline_json %}
            L.geoJSON({{ this.outline_json }}, {interactive: false,
                style: {fill: false, color: "#111", weight: {{ this.outline_weight }}}}).addTo(group);
            {%- endif %}
            var fit = function () {
                var map = group._map;
                if (!map || window.__needsmapPlace === {{ this.key_json }}) return;
                window.__needsmapPlace = {{ this.key_json }};
                map.fitBounds({{ this.bounds_json }}, {padding: [12, 12]});
            };
            if (group.on) { group.on("add", fit); }
            fit();
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, key: str, bounds: Sequence[Sequence[float]], outline: dict | None, outline_weight: float) -> None:
        super().__init__()
        self._name = "PlaceView"
        self.key_json = _script_json(key)
        self.bounds_json = _script_json([[round(v, 5) for v in corner] for corner in bounds])
        self.outline_json = _script_json(outline) if outline else ""
        self.outline_weight = outline_weight


@lru_cache(maxsize=32)
def _place_shape(geometry_texts: tuple[str, ...], shift_to_gcj02: bool) -> tuple[dict, list[list[float]]]:
    """(outline GeoJSON, [[south, west], [north, east]]) of the union of some districts."""
    geoms = [shapely.geometry.shape(g) for g in _parsed_geometries(geometry_texts, shift_to_gcj02)]
    union = shapely.union_all(geoms)
    west, south, east, north = union.bounds
    return json.loads(shapely.to_geojson(union.boundary)), [[south, west], [north, east]]


@lru_cache(maxsize=8)
def _label_points(geometry_texts: tuple[str, ...], shift_to_gcj02: bool) -> tuple[list[float], ...]:
    """[lat, lon] inside each district (not its centroid, which can fall outside a crescent or in the sea)."""
    geoms = [shapely.geometry.shape(g) for g in _parsed_geometries(geometry_texts, shift_to_gcj02)]
    return tuple([round(p.y, 5), round(p.x, 5)] for p in shapely.point_on_surface(geoms))


def choropleth_layer(
    geometries: pd.DataFrame, measures: pd.DataFrame, value_column: str, *, title: str, field_labels: Sequence[str],
    no_data_label: str, tiles: str = "none", scheme: str = "quantiles", selected_adcode: str | None = None,
    place_adcodes: Sequence[str] | None = None, large: bool = False, palette: Sequence[str] = PALETTE,
) -> folium.FeatureGroup:
    """The needs map's data as one layer group: districts, legend, and the chosen place.

    ``geometries``: adcode, name, city, geometry_geojson. ``measures``: adcode, the value
    column (NaN = no data / not shown), ``value_text`` and ``top_text`` (already worded).
    ``field_labels``: tooltip labels for (district, city, measure, top categories).
    ``place_adcodes``: the districts of the chosen city or district: the map moves to them,
    outlines them, writes their names and fades the rest. ``large`` (presentation mode): thick
    boundaries and a large legend for a projector. Pass it to ``st_folium`` as
    ``feature_group_to_add`` so a change of colours keeps the map's frame.
    """
    _, shift = _tile_setting(tiles)
    frame = geometries.merge(measures, on="adcode", how="left")
    values = frame[value_column].astype("float64")
    breaks = class_breaks(values, scheme)
    texts = tuple(frame["geometry_geojson"])
    parsed = _parsed_geometries(texts, shift)
    place = set(place_adcodes or ())
    label_points = _label_points(texts, shift) if place else ()
    features = []
    for number, (row, geometry, value) in enumerate(zip(frame.itertuples(index=False), parsed, values, strict=True)):
        in_place = not place or row.adcode in place
        properties = {
            "adcode": row.adcode,
            "name": html.escape(str(row.name)),
            "city": html.escape(str(row.city)),
            # The tooltip's words for the place (with pinyin in English), when the page gives them.
            "tip_name": html.escape(str(_given(getattr(row, "tip_name", None), row.name))),
            "tip_city": html.escape(str(_given(getattr(row, "tip_city", None), row.city))),
            "value_text": html.escape(str(getattr(row, "value_text", "") or "–")),
            "top_text": html.escape(str(getattr(row, "top_text", "") or "–")),
            "fill": colour_for(value, breaks, palette),
            "no_data": not np.isfinite(value),
            "selected": row.adcode == selected_adcode,
            "in_place": in_place,
        }
        if place and row.adcode in place:
            properties["label_at"] = label_points[number]
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    weight = 2.5 if large else 0.8
    group = folium.FeatureGroup(name="districts")
    DistrictLayer(features, field_labels, weight=weight, edge="#333" if large else "#555",
                  faded_opacity=0.35 if place else 0.78).add_to(group)
    Legend(title, breaks, no_data_label, large=large, palette=palette).add_to(group)
    if place:
        chosen = frame["adcode"].isin(place).to_numpy()
        outline, bounds = _place_shape(tuple(np.asarray(texts, dtype=object)[chosen]), shift)
        PlaceView("|".join(sorted(place)), bounds, outline, 4.0 if large else 2.5).add_to(group)
    else:
        PlaceView("province", ZHEJIANG_BOUNDS, None, 0).add_to(group)
    return group


def _given(value: object, default: object) -> object:
    """``value`` unless it is missing (None, NaN: a district the measures frame has no row for)."""
    return default if value is None or (isinstance(value, float) and math.isnan(value)) else value


def base_map(tiles: str = "none", large: bool = False) -> folium.Map:
    """The frame of the needs map (basemap, scale, styles) without data: the same for every view."""
    fmap, _ = _base_map(tiles)
    label_size = "16px" if large else "12px"
    fmap.get_root().header.add_child(Element(
        "<style>.needsmap-label{background:transparent;border:0;box-shadow:none;padding:0;"
        f"font:600 {label_size}/1.1 sans-serif;color:#111;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff}}"
        ".needsmap-label:before{display:none}</style>"))
    # On a phone a tooltip wraps instead of running off the map's edge.
    fmap.get_root().header.add_child(Element(
        "<style>@media (max-width: 640px){.leaflet-tooltip{white-space:normal;width:max-content;max-width:86vw}"
        ".leaflet-tooltip th{white-space:nowrap}}</style>"))
    if large:  # a projector: the province fills its map (zoom between whole levels), tooltips read from the back
        fmap.options["zoom_snap"] = 0.25
        fmap.get_root().header.add_child(Element("<style>.leaflet-tooltip{font-size:18px}</style>"))
    fmap.fit_bounds(ZHEJIANG_BOUNDS)
    return fmap


def choropleth(
    geometries: pd.DataFrame, measures: pd.DataFrame, value_column: str, *, title: str, field_labels: Sequence[str],
    no_data_label: str, tiles: str = "none", scheme: str = "quantiles", selected_adcode: str | None = None,
    place_adcodes: Sequence[str] | None = None, large: bool = False, palette: Sequence[str] = PALETTE,
) -> folium.Map:
    """The needs map as one folium Map (``base_map`` with ``choropleth_layer`` on it): for files and tests."""
    fmap = base_map(tiles, large)
    choropleth_layer(geometries, measures, value_column, title=title, field_labels=field_labels,
                     no_data_label=no_data_label, tiles=tiles, scheme=scheme, selected_adcode=selected_adcode,
                     place_adcodes=place_adcodes, large=large, palette=palette).add_to(fmap)
    return fmap


def district_map(
    geometry_text: str, kind: str, points: pd.DataFrame, *, point_labels: dict[str, str], tiles: str = "none",
    large: bool = False, urgency_names: Mapping[int, str] | None = None, cells_legend: str | None = None,
) -> folium.Map:
    """One district's outline with its records: individual points (few) or grid cells (many).

    ``points`` for kind 'points': lon, lat, category_label, urgency; for 'cells': lon, lat,
    records, top_label. Only labels and numbers go into the map, escaped. A legend says what the
    colours are: ``urgency_names`` (level → name) for points, ``cells_legend`` (one line) for cells.
    """
    fmap, shift = _base_map(tiles)
    outline = _parsed_geometries((geometry_text,), shift)[0]
    folium.GeoJson(outline, style_function=lambda _: {"fill": False, "color": "#222", "weight": 3 if large else 2}).add_to(fmap)
    lon, lat = points["lon"].to_numpy("float64"), points["lat"].to_numpy("float64")
    if shift and len(points):
        lon, lat = coords.wgs84_to_gcj02(lon, lat)
    features = []
    if kind == "points":
        for x, y, label, urgency in zip(lon, lat, points["category_label"], points["urgency"], strict=True):
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(x), 5), round(float(y), 5)]},
                             "properties": {"label": html.escape(str(label)), "detail": html.escape(f"{point_labels['urgency']} {int(urgency)}"),
                                            "colour": URGENCY_COLOURS.get(int(urgency), "#555"), "radius": 5}})
    else:
        top = float(points["records"].max()) if len(points) else 1.0
        for x, y, label, count in zip(lon, lat, points["top_label"], points["records"], strict=True):
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(x), 5), round(float(y), 5)]},
                             "properties": {"label": html.escape(str(label)), "detail": html.escape(f"{point_labels['records']} {int(count)}"),
                                            "colour": "#bd0026", "radius": 3 + 12 * float(np.sqrt(count / top))}})
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            marker=folium.CircleMarker(radius=5, fill=True),
            style_function=lambda feature: {"color": feature["properties"]["colour"], "fillColor": feature["properties"]["colour"],
                                            "fillOpacity": 0.6, "weight": 1, "radius": feature["properties"]["radius"]},
            tooltip=folium.GeoJsonTooltip(fields=["label", "detail"], labels=False),
        ).add_to(fmap)
    if features and kind == "points" and urgency_names:
        shown_levels = sorted({int(u) for u in points["urgency"]})
        Legend(point_labels["urgency"], [], "", large=large,
               entries=[(URGENCY_COLOURS.get(level, "#555"), urgency_names.get(level, str(level))) for level in shown_levels]).add_to(fmap)
    elif features and kind == "cells" and cells_legend:
        Legend(point_labels["records"], [], "", large=large, entries=[("#bd0026", cells_legend)]).add_to(fmap)
    bounds = shapely.bounds(shapely.from_geojson(json.dumps(outline)))
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return fmap


def hot_spot_map(
    outline_texts: Sequence[str], cells: pd.DataFrame, side_km: float, *, legend_title: str,
    legend_labels: dict[tuple[str, int], str], cell_text: Sequence[str], tiles: str = "none", large: bool = False,
) -> folium.Map:
    """A place's outline with its significant hot and cold cells (hexagons).

    ``cells``: q, r, kind ("hot"/"cold"/""), level (99/95/90/0); ``cell_text``: each cell's
    tooltip, already worded (escaped here). Cells with no level (labelled only) are outlined.
    ``legend_labels``: (kind, level) → legend text.
    """
    from needsmap import hotspots

    fmap, shift = _base_map(tiles)
    outlines = _parsed_geometries(tuple(outline_texts), shift)
    for outline in outlines:
        folium.GeoJson(outline, style_function=lambda _: {"fill": False, "color": "#222", "weight": 2.5 if large else 1.2}).add_to(fmap)
    polygons = hotspots.hex_polygons(cells["q"].to_numpy(), cells["r"].to_numpy(), side_km) if len(cells) else []
    features = []
    for polygon, kind, level, text in zip(polygons, cells["kind"], cells["level"], cell_text, strict=True):
        ring = np.array(polygon)
        if shift:
            ring = np.column_stack(coords.wgs84_to_gcj02(ring[:, 0], ring[:, 1]))
        features.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring.round(6).tolist()]},
            "properties": {"detail": html.escape(str(text)), "fill": HOT_SPOT_COLOURS.get((kind, int(level)), "none"),
                           "significant": bool(level)},
        })
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name="hot_spots",
            style_function=lambda feature: {
                "fillColor": feature["properties"]["fill"], "fillOpacity": 0.75 if feature["properties"]["significant"] else 0,
                "color": "#555" if feature["properties"]["significant"] else "#7b3294",
                "weight": 0.4 if feature["properties"]["significant"] else 1.5,
            },
            tooltip=folium.GeoJsonTooltip(fields=["detail"], labels=False),
        ).add_to(fmap)
    entries = [(colour, legend_labels[key]) for key, colour in HOT_SPOT_COLOURS.items() if key in legend_labels]
    legend = Legend(legend_title, [], "", large=large, entries=entries)
    legend.add_to(fmap)
    shapes = shapely.from_geojson([json.dumps(o) for o in outlines]) if outlines else []
    if len(shapes):
        min_x, min_y, max_x, max_y = shapely.total_bounds(shapes)
        fmap.fit_bounds([[min_y, min_x], [max_y, max_x]])
    else:
        fmap.fit_bounds(ZHEJIANG_BOUNDS)
    return fmap


def supply_map(
    geometries: pd.DataFrame, measures: pd.DataFrame, value_column: str, *, title: str, field_labels: Sequence[str],
    no_data_label: str, facilities: pd.DataFrame | None = None, radius_m: float = 0.0,
    focus_geometry_texts: Sequence[str] = (), placed: tuple[float, float] | None = None,
    sites: pd.DataFrame | None = None, tiles: str = "none", large: bool = False, palette: Sequence[str] = PALETTE,
) -> folium.Map:
    """The supply map: districts coloured by ``value_column`` (unmet need) as in ``choropleth``;
    with ``facilities`` (lon, lat, label, detail — text escaped here) each facility's catchment
    circle of ``radius_m`` and its point; ``placed`` (lon, lat) a trial facility with its circle;
    ``sites`` (rank, lon, lat) suggested new sites. ``focus_geometry_texts``: zoom to these shapes."""
    fmap = choropleth(geometries, measures, value_column, title=title, field_labels=field_labels,
                      no_data_label=no_data_label, tiles=tiles, large=large, palette=palette)
    shift = tiles_for(tiles)[2]

    def shifted(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = np.asarray(lon, "float64"), np.asarray(lat, "float64")
        return coords.wgs84_to_gcj02(lon, lat) if shift and len(lon) else (lon, lat)

    if facilities is not None and len(facilities):
        lon, lat = shifted(facilities["lon"], facilities["lat"])
        catchments = folium.FeatureGroup(name="catchments")
        for x, y in zip(lon, lat, strict=True):
            folium.Circle([float(y), float(x)], radius=radius_m, color="#2166ac", weight=1, fill=True,
                          fill_opacity=0.08, opacity=0.5, interactive=False).add_to(catchments)
        catchments.add_to(fmap)
        features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(x), 6), round(float(y), 6)]},
                     "properties": {"label": html.escape(str(label)), "detail": html.escape(str(detail))}}
                    for x, y, label, detail in zip(lon, lat, facilities["label"], facilities["detail"], strict=True)]
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features}, name="facilities",
            marker=folium.CircleMarker(radius=3, fill=True, color="#08306b", fill_color="#2166ac", fill_opacity=0.9, weight=1),
            tooltip=folium.GeoJsonTooltip(fields=["label", "detail"], labels=False),
        ).add_to(fmap)
    if placed is not None:
        (x,), (y,) = shifted([placed[0]], [placed[1]])
        folium.Circle([float(y), float(x)], radius=radius_m, color="#1b7837", weight=2, fill=True, fill_opacity=0.15,
                      interactive=False).add_to(fmap)
        folium.CircleMarker([float(y), float(x)], radius=4, color="#00441b", fill=True, fill_color="#5aae61",
                            fill_opacity=1, weight=2, interactive=False).add_to(fmap)
    if sites is not None and len(sites):
        lon, lat = shifted(sites["lon"], sites["lat"])
        for rank, x, y in zip(sites["rank"], lon, lat, strict=True):
            folium.Marker([float(y), float(x)], icon=folium.DivIcon(
                html=f'<div class="supply-site">{int(rank)}</div>', icon_size=(22, 22), icon_anchor=(11, 11))).add_to(fmap)
        fmap.get_root().header.add_child(Element(
            "<style>.supply-site{background:#762a83;color:#fff;border-radius:11px;width:22px;height:22px;"
            "text-align:center;font:bold 13px/22px sans-serif;border:2px solid #fff}</style>"))
    if focus_geometry_texts:
        shapes = shapely.from_geojson(list(focus_geometry_texts))
        x0, y0, x1, y1 = shapely.total_bounds(shapes)
        if shift:
            (x0, x1), (y0, y1) = shifted([x0, x1], [y0, y1])
        fmap.fit_bounds([[float(y0), float(x0)], [float(y1), float(x1)]])
    return fmap
