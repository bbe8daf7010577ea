"""Session and URL state shared by the page set-up, the data layer and saved views.

The filter lives in ``st.session_state[FILTER_KEY]`` and in the URL; filter widgets are keyed
``flt_<name>@<lang>``. Changing the filter from code clears those widgets so they re-seed from
the new Filter. Kept apart from ``page`` so that ``saved_views`` and ``data`` need not import it.
"""

from __future__ import annotations

import streamlit as st

from needsmap import settings
from needsmap.filters import Filter
from needsmap.i18n import LANGS

FILTER_KEY = "filter"
WIDGET_PREFIX = "flt_"


def is_public() -> bool:
    """Public/presentation mode: by setting (NEEDSMAP_PUBLIC_MODE=1) or the URL (?present=1)."""
    return settings.get("public_mode") or st.query_params.get("present") == "1"


def key_in(lang: str, key: str) -> str:
    """The widget key of ``key`` in one language (see ``page.localized``)."""
    return f"{key}@{lang}"


def clear_filter_widgets() -> None:
    for key in [k for k in st.session_state if str(k).startswith(WIDGET_PREFIX)]:
        del st.session_state[key]


def set_filter(new: Filter) -> None:
    """Change the filter from code (a map click, a breadcrumb, a saved view): widgets re-seed from it."""
    clear_filter_widgets()
    st.session_state[FILTER_KEY] = new
    params = new.to_query_params()
    if st.session_state.get("lang", "zh") != "zh":
        params["lang"] = st.session_state["lang"]
    if st.query_params.get("present") == "1":  # a click on a projected map stays in presentation mode
        params["present"] = "1"
    st.query_params.from_dict(params)


def forget_widget(key: str) -> None:
    """Drop a ``page.localized`` widget's value in every language (it re-seeds on its next run)."""
    for name in [key, *(key_in(code, key) for code in LANGS)]:
        st.session_state.pop(name, None)
