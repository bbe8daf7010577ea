"""Leaflet served by the app itself, from the pinned XStatic-Leaflet package: no CDN at run time.

folium's ``Map`` names Leaflet, jQuery and Bootstrap on public CDNs, and streamlit-folium's
frontend loads each element's ``default_js``/``default_css`` with a script or link tag. With
no internet the map would be blank. Streamlit serves a custom component's files from any folder
its declaration names, at ``/component/<module>.<name>/<file>``; ``needsmap.ui.assets`` declares
one over the installed package's folder (``xstatic.pkg.leaflet.BASE_DIR``), so the browser gets
Leaflet 1.9.3 (BSD-2-Clause) from the app, nothing is copied into the checkout and no file of
it is committed. ``OfflineMap`` names only those URLs; ``inline_assets()`` gives the same files'
text for self-contained HTML exports. To move to another Leaflet, pin another XStatic-Leaflet.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from pathlib import Path

import xstatic.pkg.leaflet

LEAFLET_DIR = Path(xstatic.pkg.leaflet.BASE_DIR)
# Streamlit names a declared component after the declaring module: needsmap/ui/assets.py, "leaflet".
COMPONENT_NAME = "needsmap.ui.assets.leaflet"
VENDOR_URL = f"/component/{COMPONENT_NAME}"
LEAFLET_JS = ("leaflet", f"{VENDOR_URL}/leaflet.js")
LEAFLET_CSS = ("leaflet_css", f"{VENDOR_URL}/leaflet.css")


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
