"""Presentation mode in the page: the switch, the projector CSS, the title in words, the way out.

Presentation mode is public mode (``state.is_public``): on by the setting ``public_mode``, by the
URL (``?present=1``) or by the sidebar switch (which writes the URL, so the link can be shared).
What it shows and hides is decided in ``needsmap.presentation`` and the pages; this module only
draws.
"""

from __future__ import annotations

import streamlit as st

from needsmap import presentation, settings
from needsmap.filters import Filter
from needsmap.i18n import t
from needsmap.ui import data
from needsmap.ui.widgets import md_escape

SWITCH_KEY = "present_switch"

# The home page on one 1920×1080 projector screen: key figures and controls on the left, the map
# (its legend inside, bottom right) on the right, below a header of about 230 px.
HOME_SPLIT = (1, 2.2)
MAP_HEIGHT = 780

# Streamlit's chrome (header, toolbar, menu, decoration, footer) and the sidebar with its
# expand control are hidden; type is sized for the back of a meeting room.
_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header, [data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stMainMenu"], #MainMenu, footer, [data-testid="stStatusWidget"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding-top: 1.2rem !important; max-width: 100% !important; }
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMain"] label,
[data-testid="stCaptionContainer"] { font-size: 1.35rem !important; }
[data-testid="stMain"] h1 { font-size: 3.1rem !important; line-height: 1.25 !important; }
[data-testid="stMain"] h2, [data-testid="stMain"] h3 { font-size: 2.1rem !important; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] p { font-size: 3rem !important; line-height: 1.2 !important; }
[data-testid="stMetricLabel"] p { font-size: 1.35rem !important; }
[data-testid="stMain"] [data-baseweb="select"] div, [data-testid="stMain"] input,
[data-testid="stMain"] [data-testid="stTable"] td, [data-testid="stMain"] [data-testid="stTable"] th,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] td, [data-testid="stMain"] [data-testid="stMarkdownContainer"] th {
  font-size: 1.25rem !important; }
[data-testid="stMain"] [data-testid="stHeadingWithActionElements"] h1 { padding-top: 0.4rem !important; }
[data-testid="stMain"] .stMarkdownBadge { font-size: 1.25rem !important; }
/* Tables are drawn on a canvas (no font size to set): the whole grid is zoomed, its width kept. */
[data-testid="stMain"] [data-testid="stFullScreenFrame"]:has(> [data-testid="stDataFrame"]) {
  zoom: 1.4; width: calc(100% / 1.4) !important; }
</style>"""


def fixed_by_setting() -> bool:
    """Public mode switched on for the whole app (``NEEDSMAP_PUBLIC_MODE=1``): no way out."""
    return settings.get("public_mode")


def install_css() -> None:
    st.markdown(_CSS, unsafe_allow_html=True)


def switch(lang: str, public: bool) -> None:
    """The sidebar switch. It only turns presentation mode on (the sidebar is hidden once it is
    on); the way back is the exit link on the page."""
    if fixed_by_setting():
        return
    if not public and st.session_state.get(SWITCH_KEY):
        st.session_state[SWITCH_KEY] = False  # came back through the exit link

    def turn_on() -> None:
        if st.session_state.get(SWITCH_KEY):
            st.query_params["present"] = "1"

    st.toggle(t("present_toggle", lang), key=SWITCH_KEY, on_change=turn_on,
              help=t("present_help", lang, k=data.k_anonymity()))


def heading(lang: str, f: Filter, public: bool, page_title: str, place_names: dict[str, str],
            normal_title: str | None = None) -> None:
    """The page title: in presentation mode the place, period and filters in words (with the
    page's name and the suppression rule underneath, and the way out); otherwise the page
    title with the filters in words as a caption. Data made by the demo generator is marked
    (演示数据) under the title, on screen and on a projector."""
    if data.demo_records():
        st.markdown(f":orange-badge[{t('demo_badge', lang)}]")
    if not public:
        # Place names and sub-categories are data: shown as typed, never as markdown.
        st.title(md_escape(normal_title or page_title))
        st.caption(md_escape(f.describe(lang, place_names)))
        return
    first, last = data.date_range()
    # The way out sits beside the title: a projector screen has no height to spare.
    title_col, exit_col = st.columns([6, 1], vertical_alignment="center")
    title_col.title(md_escape(presentation.title(f, lang, place_names, first.date() if first else None,
                                                 last.date() if last else None)))
    if not fixed_by_setting():
        exit_col.button(t("present_exit", lang), key="present_exit", icon=":material/close_fullscreen:",
                        on_click=_turn_off, width="stretch")
    st.caption(f"{page_title} · {t('present_suppressed', lang, k=data.k_anonymity())}")


def no_data(lang: str, public: bool) -> None:
    """Say that there is nothing to draw: no records, or (public mode) none in groups big enough to show."""
    st.info(t("no_data_public", lang, k=data.k_anonymity()) if public else t("no_data", lang))


def _turn_off() -> None:
    if "present" in st.query_params:
        del st.query_params["present"]
    st.session_state[SWITCH_KEY] = False
