"""Leaflet served by the app itself, from the XStatic packages: no CDN at run time.

folium's ``Map`` names Leaflet, jQuery and Bootstrap on public CDNs, and streamlit-folium's
frontend loads each element's ``default_js``/``default_css`` with a script or link tag. With
no internet the map would be blank. ``install_static()`` copies the files out of the installed
XStatic packages into ``static/vendor/`` (served by Streamlit at ``/app/static/vendor/``), and
``OfflineMap`` names only those URLs. ``inline_assets()`` gives the same files' text for
self-contained HTML exports.
"""

from __future__ import annotations

import base64
import re
import shutil
from functools import lru_cache
from pathlib import Path

import xstatic.pkg.leaflet as xstatic_leaflet

from needsmap import settings

VENDOR_URL = "/app/static/vendor"
_LEAFLET_DIR = Path(xstatic_leaflet.BASE_DIR)
LEAFLET_JS = ("leaflet", f"{VENDOR_URL}/leaflet/leaflet.js")
LEAFLET_CSS = ("leaflet_css", f"{VENDOR_URL}/leaflet/leaflet.css")


def install_static(static_dir: Path = settings.STATIC_DIR) -> Path:
    """Copy Leaflet (JS, CSS, images) into ``static/vendor/leaflet`` once per version."""
    target = static_dir / "vendor" / "leaflet"
    stamp = target / f".xstatic-{xstatic_leaflet.VERSION}"
    if not stamp.exists():
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for name in ("leaflet.js", "leaflet.css"):
            shutil.copy2(_LEAFLET_DIR / name, target / name)
        shutil.copytree(_LEAFLET_DIR / "images", target / "images")
        stamp.touch()
    return target


@lru_cache(maxsize=1)
def inline_assets() -> tuple[str, str]:
    """(leaflet.js, leaflet.css) text, for HTML files that must open with no network."""
    return (
        (_LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8"),
        (_LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8"),
    )


@lru_cache(maxsize=1)
def inline_leaflet_css() -> str:
    """leaflet.css with its images (layer control, default marker) as ``data:`` URLs.

    In a file opened from disk, ``url(images/…)`` would point at a folder that is not there.
    """
    css = inline_assets()[1]

    def data_url(match: re.Match[str]) -> str:
        image = _LEAFLET_DIR / "images" / match.group(1)
        return f"url(data:image/png;base64,{base64.b64encode(image.read_bytes()).decode('ascii')})"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", data_url, css)
