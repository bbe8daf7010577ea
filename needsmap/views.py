"""Saved views: a name for a page and its URL parameters (filters, map measure), kept beside the DB.

Views live in ``<db>.views.json`` rather than in the database: every write to the database
goes through a copy-and-swap of the whole file (``store.writing``), far too heavy for a click
in the sidebar. The JSON file is rewritten whole into a temporary file and moved into place
with ``os.replace`` (atomic), under a file lock so two sessions saving at once do not lose one
another's view. Names are plain text (shown only through Streamlit widgets, never as HTML).

Each view has an ``owner``: the random id of the browser that saved it (``needsmap_browser``
cookie, ``ui.saved_views``), not a person. A browser lists its own views and the shared ones
(owner ``""``: views saved before views were kept per browser, or by code); it replaces and
deletes only its own. A name is unique per owner.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from filelock import FileLock

from needsmap import navigation, settings
from needsmap.errors import NeedsmapError
from needsmap.i18n import error
MAX_NAME_CHARS = 60
MAX_VIEWS = 200
_VALUE_CHARS = 2_000
SHARED = ""  # the owner of shared views
# An owner id as ``secrets.token_urlsafe`` makes it: URL-safe base64, nothing else (it is also written into a cookie).
_OWNER = re.compile(r"[A-Za-z0-9_-]{16,64}")


class ViewsError(NeedsmapError):
    """A view name or the views file cannot be used."""


@dataclass(frozen=True)
class SavedView:
    name: str
    page: str  # a page's script (``navigation.BY_SCRIPT``)
    params: dict[str, str]
    saved_at: str  # ISO time, local
    owner: str = SHARED  # the saving browser's random id; SHARED ("") for views everyone sees

    @property
    def shared(self) -> bool:
        return self.owner == SHARED

    def url(self, base: str = "") -> str:
        """The view's plain link: ``{base}/{page}?{params}`` (``base`` like ``http://host:8501``)."""
        query = urlencode(self.params)
        return f"{base.rstrip('/')}/{navigation.BY_SCRIPT[self.page].url_path}" + (f"?{query}" if query else "")


def views_path(db: Path) -> Path:
    return settings.sidecar(db, ".views.json")


def is_owner_id(text: object) -> bool:
    """Is ``text`` a browser id as stored with views (16–64 URL-safe base64 characters)?"""
    return isinstance(text, str) and _OWNER.fullmatch(text) is not None


def _checked_owner(owner: str) -> str:
    if owner != SHARED and not is_owner_id(owner):
        raise ViewsError(f"`owner` was {owner!r} but is expected to be '' or 16–64 characters of A–Z a–z 0–9 _ -")
    return owner


def clean_name(name: str) -> str:
    """The name as stored: control characters dropped, spaces collapsed; errors say what is wrong."""
    text = "".join(ch for ch in str(name) if unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split())
    if not text:
        raise ViewsError(error("view_name_empty"))
    if len(text) > MAX_NAME_CHARS:
        raise ViewsError(error("view_name_long", n=MAX_NAME_CHARS))
    return text


def _clean_params(params: dict[str, object]) -> dict[str, str]:
    """Only known parameter names, as short strings; anything else is dropped, not stored."""
    return {str(k): str(v)[:_VALUE_CHARS] for k, v in params.items() if k in navigation.URL_PARAMS and v not in (None, "")}


def _read(path: Path) -> list[SavedView]:
    if not path.exists():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        items = raw["views"] if isinstance(raw, dict) else None
        if not isinstance(items, list):
            raise ValueError("no list of views")
        views = []
        for item in items:
            if not isinstance(item, dict) or item.get("page") not in navigation.BY_SCRIPT or not isinstance(item.get("params"), dict):
                continue  # one damaged entry does not cost the others
            owner = item.get("owner", SHARED)  # files written before per-browser views have none: shared
            if owner != SHARED and not is_owner_id(owner):
                continue
            views.append(SavedView(name=clean_name(item.get("name", "")), page=item["page"],
                                   params=_clean_params(item["params"]), saved_at=str(item.get("saved_at", "")),
                                   owner=owner))
        return views
    except (OSError, ValueError, KeyError, ViewsError) as exc:
        raise ViewsError(error("views_unreadable", name=path.name, reason=exc.__class__.__name__)) from exc


def _write(path: Path, views: list[SavedView]) -> None:
    text = json.dumps({"version": 2, "views": [asdict(v) for v in views]}, ensure_ascii=False, indent=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _lock(db: Path) -> FileLock:
    return FileLock(str(views_path(db)) + ".lock", timeout=10)


def list_views(db: Path, owner: str | None = None) -> list[SavedView]:
    """Saved views of this database: ``owner``'s by name, then the shared ones by name.

    ``owner=None`` lists every view (for code and tests, not for a page).
    """
    found = _read(views_path(db))
    if owner is not None:
        found = [v for v in found if v.owner in (owner, SHARED)]
    return sorted(found, key=lambda v: (v.shared, v.name))


def save_view(db: Path, name: str, page: str, params: dict[str, object], owner: str = SHARED) -> SavedView:
    """Save (or replace, by name among ``owner``'s views) a view of ``page`` with its URL ``params``.

    At most ``MAX_VIEWS`` per owner.
    """
    if page not in navigation.BY_SCRIPT:
        raise ViewsError(f"`page` was {page!r} but is expected to be in {sorted(navigation.BY_SCRIPT)}")
    view = SavedView(name=clean_name(name), page=page, params=_clean_params(params),
                     saved_at=datetime.now().isoformat(timespec="seconds"), owner=_checked_owner(owner))
    with _lock(db):
        others = [v for v in _read(views_path(db)) if (v.owner, v.name) != (view.owner, view.name)]
        if sum(v.owner == view.owner for v in others) >= MAX_VIEWS:
            raise ViewsError(error("views_too_many", n=MAX_VIEWS))
        _write(views_path(db), [*others, view])
    return view


def delete_view(db: Path, name: str, owner: str = SHARED) -> bool:
    """Remove ``owner``'s view of that name; False if ``owner`` has none (another owner's view is kept)."""
    wanted = (_checked_owner(owner), clean_name(name))
    with _lock(db):
        views = _read(views_path(db))
        kept = [v for v in views if (v.owner, v.name) != wanted]
        if len(kept) == len(views):
            return False
        _write(views_path(db), kept)
    return True
