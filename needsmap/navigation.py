"""The app's pages and the URL parameters they share, in one framework-free table.

Each page: its script (Streamlit's multipage layout, ``app.py`` + ``pages/``), the URL path
Streamlit gives it ("pages/1_district.py" → "/district"), its title and navigation labels (keys
of ``i18n.STRINGS``) and its icon. The sidebar navigation, the page set-up, saved views and
their links all read this table, so a new page is one row here (and its file in ``pages/``).
"""

from __future__ import annotations

from dataclasses import dataclass

from needsmap.filters import LEVEL_PARAMS, URL_NAMES


@dataclass(frozen=True)
class Page:
    script: str  # path from the repository root
    url_path: str  # "" for the home page
    title_key: str
    nav_key: str
    icon: str  # a Material icon: ships with Streamlit's frontend (no emoji font needed on intranet PCs)


PAGES: tuple[Page, ...] = (
    Page("app.py", "", "home_title", "nav_home", ":material/map:"),
    Page("pages/1_district.py", "district", "district_title", "nav_district", ":material/location_on:"),
    Page("pages/2_priorities.py", "priorities", "priorities_title", "nav_priorities", ":material/priority_high:"),
    Page("pages/3_gap.py", "gap", "gap_title", "nav_gap", ":material/balance:"),
    Page("pages/4_loop.py", "loop", "loop_title", "nav_loop", ":material/autorenew:"),
    Page("pages/5_data.py", "data", "data_title", "nav_data", ":material/database:"),
    Page("pages/6_supply.py", "supply", "supply_title", "nav_supply", ":material/domain:"),
)
BY_SCRIPT: dict[str, Page] = {page.script: page for page in PAGES}
BY_TITLE: dict[str, Page] = {page.title_key: page for page in PAGES}
HOME = PAGES[0]

# Page widgets whose value lives in the URL: parameter → the widget's session-state key.
URL_WIDGETS: dict[str, str] = {
    "measure": "home_measure", "classes": "home_scheme",
    # The priorities page: which ranking, its weights (exponents) and the fewest requesters listed.
    "ranking": "needs_ranking", "min_req": "needs_min_requesters",
    "w_urgency": "needs_w_urgency", "w_people": "needs_w_people", "w_reach": "needs_w_reach",
    "w_age": "needs_w_age", "w_recurrence": "needs_w_recurrence",
    # The supply page: the service category and the life circle (minutes).
    "supply_cat": "supply_category", "circle": "supply_circle",
    # The district page's hot-spot map: distinct requesters (default) or records.
    "hs": "hs_measure",
    # The district page's map of its units (乡镇街道 …): the measure it is coloured by.
    "umeasure": "units_measure",
}
# The URL parameters a link or a saved view may carry: the Filter's own (``?township=`` too) and
# the page widgets'.
URL_PARAMS: frozenset[str] = frozenset(URL_NAMES.values()) | frozenset(LEVEL_PARAMS) | frozenset(URL_WIDGETS)
