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
import os
import re
import shutil
import uuid
from functools import lru_cache
from pathlib import Path

import xstatic.pkg.leaflet as xstatic_leaflet
from filelock import FileLock

from needsmap import settings

VENDOR_URL = "/app/static/vendor"
_LEAFLET_DIR = Path(xstatic_leaflet.BASE_DIR)
LEAFLET_JS = ("leaflet", f"{VENDOR_URL}/leaflet/leaflet.js")
LEAFLET_CSS = ("leaflet_css", f"{VENDOR_URL}/leaflet/leaflet.css")


def install_static(static_dir: Path = settings.STATIC_DIR) -> Path:
    """Copy Leaflet (JS, CSS, images) into ``static/vendor/leaflet`` once per version.

    Every page calls this, and a fresh server's first sessions call it at the same moment (in
    threads, and from several servers sharing one checkout): one of them copies, under a file
    lock, into a private folder that is then renamed into place, so no session ever sees or
    serves a half-made copy.
    """
    target = static_dir / "vendor" / "leaflet"
    stamp_name = f".xstatic-{xstatic_leaflet.VERSION}"
    if (target / stamp_name).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / ".install.lock")):
        if (target / stamp_name).exists():  # another session finished it while we waited
            return target
        work = target.parent / f".leaflet-{os.getpid()}-{uuid.uuid4().hex}"
        try:
            work.mkdir()
            for name in ("leaflet.js", "leaflet.css"):
                shutil.copy2(_LEAFLET_DIR / name, work / name)
            shutil.copytree(_LEAFLET_DIR / "images", work / "images")
            (work / stamp_name).touch()
            old = target.parent / f".leaflet-old-{uuid.uuid4().hex}"
            if target.exists():  # another version: moved aside, then removed
                target.rename(old)
            work.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
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
