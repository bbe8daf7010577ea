"""Saved views in the sidebar: name the current page and its URL parameters, list, open, delete.

View names are user text. They are shown only as widget values (a select box's options, a code
block) or with every Markdown character escaped (``widgets.md_escape``), never as HTML or live Markdown.

Views belong to a browser, not to everyone: each browser gets a random id (``secrets.token_urlsafe``,
nothing personal) in the ``needsmap_browser`` cookie. Streamlit reads cookies (``st.context.cookies``)
but cannot set them, so a first session makes the id, keeps it in its session state (views saved
now are already this browser's) and writes the cookie with a line of JavaScript (``st.html`` with
``unsafe_allow_javascript``: it runs in the app's own page, so the cookie is the app's origin's;
the id is generated here, never user text). A signed-in staff session is still one browser: the
staff password is shared, so it names no person whose views could follow them.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st

from needsmap import navigation, views
from needsmap.filters import Filter
from needsmap.i18n import t
from needsmap.ui import data, state
from needsmap.ui.widgets import md_escape

_PENDING_DELETE = "view_delete_pending"
COOKIE = "needsmap_browser"
_SESSION_ID = "browser_id"  # the id made by a session whose browser had no cookie yet
_COOKIE_MAX_AGE = 400 * 24 * 3600  # the most Chromium keeps a cookie (400 days); renewed on every first session


def browser_id() -> tuple[str, bool]:
    """This browser's id for its saved views, and whether it came from the cookie (else made now)."""
    try:
        from_cookie = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser context (bare mode): a session-long id
        from_cookie = None
    if views.is_owner_id(from_cookie):
        return from_cookie, True
    if not views.is_owner_id(st.session_state.get(_SESSION_ID)):
        st.session_state[_SESSION_ID] = secrets.token_urlsafe(16)
    return st.session_state[_SESSION_ID], False


def _remember_browser(owner: str) -> None:
    """Write the id into the browser's cookie (``owner`` is ``token_urlsafe`` output: safe in a JS string)."""
    if not views.is_owner_id(owner):
        return
    st.html(f"""<script>document.cookie = "{COOKIE}={owner}; Max-Age={_COOKIE_MAX_AGE}; Path=/; SameSite=Lax"
  + (location.protocol === "https:" ? "; Secure" : "");</script>""", unsafe_allow_javascript=True)


def _label(view: views.SavedView, lang: str) -> str:
    return t("views_shared_label", lang, name=view.name) if view.shared else view.name


def _base_url(script: str) -> str:
    """``scheme://host[/base path]`` of the app as the browser sees it, or "" when unknown."""
    try:
        current = urlsplit(st.context.url or "")
    except Exception:  # noqa: BLE001 - no browser context (tests, bare mode): relative links
        return ""
    if not current.scheme or not current.netloc:
        return ""
    path = current.path.rstrip("/")
    page = navigation.BY_SCRIPT.get(script)
    page_path = page.url_path if page else ""
    if page_path and path.endswith("/" + page_path):
        path = path[: -len(page_path) - 1]
    return f"{current.scheme}://{current.netloc}{path}"


def panel(lang: str, script: str, params: dict[str, str]) -> None:
    """The sidebar expander: save the current view, choose one, its link, open it, delete one's own."""
    db = data.db_path()
    owner, from_cookie = browser_id()
    with st.expander(t("views_saved", lang), icon=":material/bookmark:"):
        _views_panel(lang, script, params, db, owner)
    if not from_cookie:
        _remember_browser(owner)  # after the expander: its empty block sits at the sidebar's foot


def _views_panel(lang: str, script: str, params: dict[str, str], db: Path, owner: str) -> None:
    # A form sends the name together with the click (a text box alone commits only on blur).
    with st.form("view_save_form", clear_on_submit=True, border=False):
        name = st.text_input(t("views_name", lang), max_chars=views.MAX_NAME_CHARS, key="view_name",
                             help=t("views_per_browser", lang))
        save = st.form_submit_button(t("views_save", lang), icon=":material/bookmark_add:")
    if save:
        try:
            saved = views.save_view(db, name, script, params, owner=owner)
        except views.ViewsError as exc:
            st.error(t("views_problem", lang, error=md_escape(str(exc))))
        else:
            st.session_state["view_choice"] = (saved.owner, saved.name)
            st.success(t("views_saved_ok", lang, name=md_escape(saved.name)))
    try:
        saved_views = views.list_views(db, owner)
    except views.ViewsError as exc:
        st.warning(md_escape(str(exc)))
        return
    if not saved_views:
        st.caption(t("views_none", lang))
        return
    # Chosen by (owner, name): a browser's own view may share its name with a shared one.
    by_key = {(v.owner, v.name): v for v in saved_views}
    if st.session_state.get("view_choice") not in by_key:
        st.session_state.pop("view_choice", None)
    chosen = st.selectbox(t("views_choose", lang), list(by_key), key="view_choice",
                          format_func=lambda key: _label(by_key[key], lang))
    view = by_key[chosen]
    st.caption(t("views_link", lang))
    st.code(view.url(_base_url(script)), language=None, wrap_lines=True)
    open_column, delete_column = st.columns(2)
    if open_column.button(t("views_open", lang), key="view_open", icon=":material/open_in_new:"):
        open_view(view)
    if view.shared:  # everyone's: nobody deletes it from a browser
        delete_column.caption(t("views_shared_note", lang))
        st.session_state.pop(_PENDING_DELETE, None)
        return
    if delete_column.button(t("views_delete", lang), key="view_delete", icon=":material/delete:"):
        st.session_state[_PENDING_DELETE] = view.name  # asked first: a deleted view cannot be restored
    if st.session_state.get(_PENDING_DELETE) == view.name:
        st.warning(t("views_delete_confirm", lang, name=md_escape(view.name)))
        yes_column, no_column = st.columns(2)
        if yes_column.button(t("views_delete_yes", lang), key="view_delete_yes", type="primary"):
            views.delete_view(db, view.name, owner=owner)
            st.session_state.pop(_PENDING_DELETE, None)
            st.session_state.pop("view_choice", None)
            st.rerun()
        if no_column.button(t("views_delete_no", lang), key="view_delete_no"):
            st.session_state.pop(_PENDING_DELETE, None)
            st.rerun()
    else:
        st.session_state.pop(_PENDING_DELETE, None)  # another view chosen meanwhile: the question lapses


def open_view(view: views.SavedView) -> None:
    """Go to the view's page with its parameters; its filter and page widgets re-seed from them."""
    state.set_filter(Filter.from_query_params(view.params))
    for key in navigation.URL_WIDGETS.values():  # page widgets re-seed from the view's parameters
        state.forget_widget(key)
    params = dict(view.params)
    if st.session_state.get("lang", "zh") != "zh":
        params["lang"] = st.session_state["lang"]
    st.switch_page(view.page, query_params=params)
