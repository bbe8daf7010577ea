"""Page set-up shared by every page: config, language, navigation, sidebar filters, URL state.

The filter lives in ``st.session_state['filter']`` (kept while moving between pages) and in the
URL (``st.query_params``), so a copied link opens the same view. Widgets are seeded from the
Filter before they are drawn, because Streamlit drops widget state when the page changes.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import streamlit as st

from needsmap import boundaries, formatting, navigation, settings, taxonomy
from needsmap.errors import BoundaryError, NeedsmapError
from needsmap.filters import Filter
from needsmap.i18n import t, term
from needsmap.ui import data, first_start, present, saved_views, state
from needsmap.ui.assets import serve_leaflet
from needsmap.ui.state import FILTER_KEY, is_public

_PAGE_KEY = "page_script"  # the page of the previous run


@dataclass(frozen=True)
class PageContext:
    lang: str
    filter: Filter
    public: bool
    tiles: str
    script: str = "app.py"  # the page's script (for links to itself and saved views)


# On a phone Streamlit stacks every column: eight key figures became eight screens-high of scrolling
# before the map. Rows of key figures keep two to a row there.
_PHONE_CSS = """<style>
@media (max-width: 640px) {
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] [data-testid="stMetric"]) {
    flex-direction: row !important; flex-wrap: wrap !important; gap: 0.5rem 1rem !important; }
  [data-testid="stHorizontalBlock"] > [data-testid="stColumn"]:has([data-testid="stMetric"]) {
    min-width: calc(50% - 0.5rem) !important; width: calc(50% - 0.5rem) !important; flex: 1 1 calc(50% - 0.5rem) !important; }
}
</style>"""


def _lang() -> str:
    requested = st.query_params.get("lang")
    if requested in ("zh", "en"):
        st.session_state["lang"] = requested
    return st.session_state.get("lang", "zh")


def setup(title_key: str, *, extra_params: dict[str, str] | None = None) -> PageContext:
    """Configure the page, draw the sidebar and return language, filter and modes.

    Stops the page with a clear message (no traceback) if the database cannot be read; warns
    (and goes on: the maps draw from the database) if the boundary file cannot be read.
    """
    lang = _lang()
    bad_setting = settings.problem()  # a NEEDSMAP_* value of the wrong type: one sentence, no traceback
    # "auto": the sidebar open on a desktop, closed on a phone (it would cover the whole screen).
    # An emoji favicon is inlined as a data: URL; a ":material/…" favicon is fetched from a public CDN.
    st.set_page_config(page_title=f"{t(title_key, lang)} · {t('app_title', lang)}", page_icon="🗺️", layout="wide",
                       initial_sidebar_state="collapsed" if not bad_setting and is_public() else "auto")
    if bad_setting:
        st.error(t("settings_problem", lang, error=bad_setting))
        st.stop()
    serve_leaflet()
    st.html(_PHONE_CSS)
    try:
        first_start.build_demo_if_missing()  # the pages call it first; here for any other way in
        data.check()
    except NeedsmapError as exc:
        st.error(t("db_problem", lang, error=str(exc)))
        st.stop()
    try:
        boundaries.load_districts()  # cached once read; needed for map clicks and imports
    except BoundaryError as exc:
        st.warning(t("boundary_problem", lang, error=str(exc)))
    public = is_public()
    if public:
        present.install_css()
    script = navigation.BY_TITLE.get(title_key, navigation.HOME).script
    current = _current_filter(lang)
    if st.session_state.get(_PAGE_KEY) != script:
        # A new page (a sidebar link, the map's link to a district): Streamlit keeps the old page's
        # filter widget values under their keys but not as those widgets' state, so they would
        # draw empty and the view would be lost. Drop them: they re-seed from the kept Filter.
        state.clear_filter_widgets()
        st.session_state[_PAGE_KEY] = script
    with st.sidebar:
        _navigation(lang)
        lang = _language_switch(lang)
        present.switch(lang, public)
        current = _filter_widgets(current, lang)
        saved_views.panel(lang, script, current.to_query_params() | (extra_params or {}))
    st.session_state[FILTER_KEY] = current
    _write_url(current, lang, extra_params or {})
    tiles = st.session_state.get("tiles", settings.get("tiles"))
    return PageContext(lang=lang, filter=current, public=public, tiles=tiles, script=script)


def widgets_from_url(choices: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Page widgets whose value lives in the URL (``navigation.URL_WIDGETS``, e.g. the map measure).

    Call before ``setup``. On a page's first run a widget is seeded from its URL parameter (if
    that names one of its ``choices``, compared as text); afterwards the widget leads. Returns the
    parameters to write into the URL: values other than the first choice (the default), so links
    stay short.
    """
    params = {}
    for param, options in choices.items():
        key = navigation.URL_WIDGETS[param]
        by_text = {str(option): option for option in options}  # numbers come back typed (a slider's 0.5)
        from_url = st.query_params.get(param)
        if key not in st.session_state and from_url in by_text:
            st.session_state[key] = by_text[from_url]
        # The widget itself (``localized``) holds the newest value; ``key`` trails it by one run.
        value = st.session_state.get(state.key_in(_lang(), key), st.session_state.get(key))
        if value in options and value != options[0]:
            params[param] = str(value)
    return params


def _current_filter(lang: str) -> Filter:
    from_url = _checked_unit(Filter.from_query_params(st.query_params.to_dict(), layers_by_level=data.layers_by_level()),
                             lang)
    if from_url != Filter() or FILTER_KEY not in st.session_state:
        if from_url != st.session_state.get(FILTER_KEY):
            state.clear_filter_widgets()
        return from_url
    return st.session_state[FILTER_KEY]


def _checked_unit(f: Filter, lang: str) -> Filter:
    """``f`` with its unit checked against the layers: a unit found is put in its district; a
    layer replaced or removed, or a unit gone, is dropped and the page says why in one line."""
    resolved, why = data.resolve_unit(f)
    if why:
        st.warning(t(f"unit_{why}", lang, layer=f.layer_id or "", unit=f.unit_code or ""), icon=":material/info:")
    return resolved


def _write_url(current: Filter, lang: str, extra: dict[str, str]) -> None:
    wanted = current.to_query_params() | extra
    if lang != "zh":
        wanted["lang"] = lang
    if st.query_params.get("present") == "1":
        wanted["present"] = "1"
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _navigation(lang: str) -> None:
    st.markdown(f"### {t('app_title', lang)}")
    for page in navigation.PAGES:
        st.page_link(page.script, label=t(page.nav_key, lang), icon=page.icon)
    st.divider()


def _language_switch(lang: str) -> str:
    choice = st.radio(t("language", lang), ("zh", "en"), index=0 if lang == "zh" else 1, horizontal=True,
                      format_func=lambda code: "中文" if code == "zh" else "English", key="lang_choice")
    if choice != lang:
        st.session_state["lang"] = choice
        st.rerun()
    return choice


def _seed(key: str, value: object, lang: str) -> str:
    full_key = state.key_in(lang, state.WIDGET_PREFIX + key)  # per language: see ``localized``
    if full_key not in st.session_state:
        st.session_state[full_key] = value
    return full_key


def localized(widget: Callable[..., Any], key: str, lang: str, *args: Any, **kwargs: Any) -> Any:
    """``widget(*args, key=…, **kwargs)`` with a key per language; its value kept under ``key``.

    A keyed selectbox or radio keeps showing its old label when only ``format_func`` changes
    (streamlit#13788; a radio even loses its selection), so after a language switch such a
    widget is a new one, seeded from the language-independent value stored under ``key``
    (which ``widgets_from_url`` and saved views also set).
    """
    widget_key = state.key_in(lang, key)
    if widget_key not in st.session_state and key in st.session_state:
        st.session_state[widget_key] = st.session_state[key]
    value = widget(*args, key=widget_key, **kwargs)
    st.session_state[key] = value
    return value


def _choose_some(label: str, options: Sequence[Any], key: str, seed: Sequence[Any], lang: str,
                 format_func: Callable[[Any], str] = str) -> list[Any]:
    """A sidebar multiselect where nothing chosen means all (its placeholder says 全部 / All).

    Streamlit's English "Select all" entry is left out; ticking every choice by hand empties the
    box again (the filter treats all as none: ``Filter`` normalises it), so the sidebar shows
    全部, not fifteen chips.
    """
    full_key = _seed(key, list(seed), lang)

    def all_is_none() -> None:
        if options and set(st.session_state.get(full_key) or ()) >= set(options):
            st.session_state[full_key] = []

    return st.multiselect(label, options=options, format_func=format_func, key=full_key, placeholder=t("all", lang),
                          select_all=False, on_change=all_is_none)


def _months(first: date, last: date) -> list[date]:
    """The first day of every month from ``first``'s to ``last``'s."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def month_label(month: date, lang: str) -> str:
    """``2025年7月`` / ``Jul 2025``."""
    return f"{month.year}年{month.month}月" if lang == "zh" else f"{calendar.month_abbr[month.month]} {month.year}"


def _period(current: Filter, first: date, last: date, lang: str) -> tuple[date | None, date | None]:
    """The time filter as a range of months on a slider labelled in the page's language.

    Streamlit's date picker is English only, with weeks from Sunday; a planner thinks in months
    and quarters anyway. Dragging either end (or the arrow keys) applies on release. A link with
    exact days (``from=2025-07-15``) keeps them until the slider is moved: it shows their months.
    """
    months = _months(first, last)
    if len(months) < 2:
        return current.date_from, current.date_to

    def month_of(day: date | None, default: date) -> str:
        return min(max((day or default).replace(day=1), months[0]), months[-1]).isoformat()

    shown = (month_of(current.date_from, first), month_of(current.date_to, last))
    # A select_slider is a range only when ``value`` is a pair (a value seeded through Session State
    # alone makes it a single-value slider drawn with two thumbs), and ``value`` with a seeded key
    # draws Streamlit's warning: so the key names the months shown, and a new filter is a new slider.
    key = state.key_in(lang, f"{state.WIDGET_PREFIX}months:{shown[0]}:{shown[1]}")
    chosen = st.select_slider(t("date_range", lang), options=[m.isoformat() for m in months], value=shown,
                              format_func=lambda m: month_label(date.fromisoformat(m), lang), key=key)
    chosen = (chosen, chosen) if isinstance(chosen, str) else tuple(chosen)
    if chosen == shown:  # untouched: the filter's own days (a link's, a saved view's) stand
        return current.date_from, current.date_to
    start, end = (date.fromisoformat(m) for m in chosen)
    end_day = (end + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return (start if start > first else None), (end_day if end_day < last else None)


def _filter_widgets(current: Filter, lang: str) -> Filter:
    st.markdown(f"**{t('filters', lang)}**")
    first, last = data.date_range()
    # An empty database has no dates: offer today, so the widget still draws.
    first = first.date() if first is not None else date.today()
    last = last.date() if last is not None else first
    date_from, date_to = _period(current, first, last, lang)
    categories = _choose_some(t("category", lang), [c.code for c in taxonomy.CATEGORIES], "categories", current.categories,
                              lang, lambda c: term("category", c, lang))
    sub_options = data.subcategories(tuple(categories))
    subcategories = _choose_some(t("subcategory", lang), sub_options, "subcategories",
                                 [s for s in current.subcategories if s in sub_options], lang)
    urgency = _choose_some(t("urgency", lang), [1, 2, 3, 4], "urgency", current.urgency, lang,
                           lambda u: term("urgency", u, lang))
    statuses = _choose_some(t("status", lang), [s.code for s in taxonomy.STATUSES], "statuses", current.statuses, lang,
                            lambda s: term("status", s, lang))
    channels = _choose_some(t("channel", lang), [c.code for c in taxonomy.CHANNELS], "channels", current.channels, lang,
                            lambda c: term("channel", c, lang))
    groups = _choose_some(t("group", lang), [g.code for g in taxonomy.GROUPS], "groups", current.groups, lang,
                          lambda g: term("group", g, lang))
    urban_rural = _choose_some(t("urban_rural", lang), ["urban", "rural"], "urban_rural", current.urban_rural, lang,
                               lambda u: term("urban_rural", u, lang))
    districts = data.districts()
    cities = districts.drop_duplicates("city_adcode").set_index("city_adcode")["city"].to_dict()
    city_seed = current.city_adcode or (current.district_adcode[:4] + "00" if current.district_adcode else "")
    city = st.selectbox(t("city", lang), [""] + list(cities), format_func=lambda c: cities.get(c, t("all", lang)),
                        key=_seed("city", city_seed, lang))
    in_city = districts[districts["city_adcode"] == city] if city else districts.iloc[0:0]
    names = in_city.set_index("adcode")["name"].to_dict()
    district_seed = current.district_adcode if current.district_adcode in names else ""
    district = st.selectbox(t("district", lang), [""] + list(names), format_func=lambda a: names.get(a, t("all", lang)),
                            key=_seed("district", district_seed, lang), disabled=not city)
    district = (district or None) if city else None
    # One level deeper (a unit of the district's layer): kept while the district stays.
    layer_id, unit_code = _unit_widget(current, district, lang) if district else (None, None)
    if st.button(t("reset_filters", lang)):
        state.clear_filter_widgets()
        st.session_state[FILTER_KEY] = Filter()
        st.query_params.clear()
        st.rerun()
    return Filter(
        date_from=date_from, date_to=date_to, categories=tuple(categories), subcategories=tuple(subcategories),
        urgency=tuple(urgency), statuses=tuple(statuses), channels=tuple(channels), groups=tuple(groups),
        urban_rural=tuple(urban_rural), city_adcode=city or None, district_adcode=district,
        layer_id=layer_id, unit_code=unit_code,
    )


def _unit_widget(current: Filter, district: str, lang: str) -> tuple[str | None, str | None]:
    """The unit chooser under the district (when the district has a boundary layer): (layer, unit).

    The layer is the one the filter names when the district has units in it, else the
    district's first (townships first); the district page's chooser changes it."""
    layers = data.district_layers(district)
    if layers.empty:
        return None, None
    layer_id = current.layer_id if current.layer_id in set(layers["layer_id"]) else None
    shown_layer = layer_id or str(layers["layer_id"].iloc[0])
    layer = layers.set_index("layer_id").loc[shown_layer]
    units = data.unit_geometries(shown_layer, district)
    names = dict(zip(units["unit_code"], units["name"], strict=True))
    seed = current.unit_code if current.unit_code in names and current.district_adcode == district else ""
    key = _seed("unit", seed, lang)
    if st.session_state[key] not in names:  # another district was chosen: its units, none chosen yet
        st.session_state[key] = ""
    unit = st.selectbox(t(f"level_{layer['level']}", lang).capitalize(), ["", *names],
                        format_func=lambda code: names.get(code, t("all", lang)), key=key)
    return (shown_layer if unit else layer_id), (unit or None)


def place_names() -> dict[str, str]:
    """adcode → name for districts and cities, and ``Filter.unit_key`` → name for units of
    boundary layers (for titles and breadcrumbs)."""
    return formatting.place_names(data.districts()) | data.unit_names()
