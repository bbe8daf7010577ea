"""The staff gate in front of record-level views (the data page, record tables, the overdue list).

Public/presentation mode shows no record-level content at all and asks for nothing. Otherwise,
with a staff password configured (see ``needsmap.auth``), the view asks for it once per session.
"""

from __future__ import annotations

import streamlit as st

from needsmap import auth
from needsmap.i18n import t

SESSION_KEY = "staff_token"


def signed_in() -> bool:
    """May this session see record-level data: no staff password configured, or it was given."""
    return auth.is_signed_in(st.session_state.get(SESSION_KEY))


def staff_view(lang: str, public: bool, *, key: str) -> bool:
    """True if the staff-only content that follows may be drawn; otherwise draws why not.

    ``key`` tells apart the sign-in forms of different views. A correct password is remembered
    for the session (every page); a wrong one gets a clear message.
    """
    if public:
        st.info(t("public_mode_hidden", lang))
        return False
    if signed_in():
        return True
    st.warning(t("staff_only", lang))
    with st.form(f"staff_sign_in_{key}", clear_on_submit=True):
        given = st.text_input(t("password", lang), type="password", key=f"staff_password_{key}")
        submitted = st.form_submit_button(t("sign_in", lang))
    if submitted:
        if auth.check_password(given):
            st.session_state[SESSION_KEY] = auth.session_token()
            st.rerun()
        st.error(t("wrong_password", lang))
    return False
