"""Leaflet served by the app itself, from static/vendor/leaflet: no CDN at run time.

folium's ``Map`` names Leaflet, jQuery and Bootstrap on public CDNs, and streamlit-folium's
frontend loads each element's ``default_js``/``default_css`` with a script or link tag. With
no internet the map would be blank. Streamlit serves files only from the app's own ``static/``
folder (``server.enableStaticServing``, at ``/app/static/``), so Leaflet 1.9.3 (BSD-2-Clause)
is committed there, byte for byte the files of the pinned ``XStatic-Leaflet`` package
(``tests/test_settings.py`` checks), and the app never writes into its checkout to serve it.
``OfflineMap`` names only those URLs; ``inline_assets()`` gives the same files' text for
self-contained HTML exports. To move to another Leaflet: pin the new XStatic-Leaflet in
requirements-dev.txt and copy its ``leaflet.js``, ``leaflet.css`` and ``images/`` here.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from pathlib import Path

from needsmap import settings

VENDOR_URL = "/app/static/vendor"
LEAFLET_DIR = settings.REPO_ROOT / "static" / "vendor" / "leaflet"
LEAFLET_JS = ("leaflet", f"{VENDOR_URL}/leaflet/leaflet.js")
LEAFLET_CSS = ("leaflet_css", f"{VENDOR_URL}/leaflet/leaflet.css")


@lru_cache(maxsize=1)
def inline_assets() -> tuple[str, str]:
    """(leaflet.js, leaflet.css) text, for HTML files that must open with no network."""
    return (
        (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8"),
        (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8"),
    )


@lru_cache(maxsize=1)
def inline_leaflet_css() -> str:
    """leaflet.css with its images (layer control, default marker) as ``data:`` URLs.

    In a file opened from disk, ``url(images/…)`` would point at a folder that is not there.
    """
    css = inline_assets()[1]

    def data_url(match: re.Match[str]) -> str:
        image = LEAFLET_DIR / "images" / match.group(1)
        return f"url(data:image/png;base64,{base64.b64encode(image.read_bytes()).decode('ascii')})"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", data_url, css)
