"""Running the app's pages with ``streamlit.testing.v1.AppTest``: shared by the page-logic tests."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.runtime import context as streamlit_context
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "app.py"
# Every page under pages/, in order (the home page is ``None``: ``open_page()`` opens it).
PAGES = tuple(str(p.relative_to(APP.parent)) for p in sorted((APP.parent / "pages").glob("*.py")))


def open_page(page: str | None = None, **params: str) -> AppTest:
    """The home page, or ``page`` (e.g. ``pages/1_district.py``), run once with URL ``params``."""
    app = AppTest.from_file(str(APP), default_timeout=60)
    if page:
        app.switch_page(page)
    for key, value in params.items():
        app.query_params[key] = value
    return app.run()


def as_browser(monkeypatch: pytest.MonkeyPatch, cookie: str | None) -> None:
    """Runs from now on see the ``needsmap_browser`` cookie ``cookie`` (None: a browser without it).

    AppTest has no browser client, so ``st.context.cookies`` is always empty there and
    ``AppTest.context`` cannot seed it; this gives ``st.context`` a client that sent the cookie.
    """
    client = SimpleNamespace(cookies={} if cookie is None else {"needsmap_browser": cookie}, headers=[], remote_ip=None)
    monkeypatch.setattr(streamlit_context, "_get_client_context", lambda: client)


def metrics(app: AppTest) -> dict[str, str]:
    """Each ``st.metric`` on the page: label → value as shown."""
    return {m.label: m.value for m in app.metric}
