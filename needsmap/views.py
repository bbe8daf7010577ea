"""Saved views: a name for a page and its URL parameters (filters, map measure), kept beside the DB.

Views live in ``<db>.views.json`` rather than in the database: every write to the database
goes through a copy-and-swap of the whole file (``store.writing``), far too heavy for a click
in the sidebar. The JSON file is rewritten whole into a temporary file and moved into place
with ``os.replace`` (atomic), under a file lock so two sessions saving at once do not lose one
another's view. Names are plain text (shown only through Streamlit widgets, never as HTML).
"""

from __future__ import annotations

import json
import os
import tempfile
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from filelock import FileLock

from needsmap import navigation
from needsmap.errors import NeedsmapError
from needsmap.i18n import error
MAX_NAME_CHARS = 60
MAX_VIEWS = 200
_VALUE_CHARS = 2_000


class ViewsError(NeedsmapError):
    """A view name or the views file cannot be used."""


@dataclass(frozen=True)
class SavedView:
    name: str
    page: str  # a page's script (``navigation.BY_SCRIPT``)
    params: dict[str, str]
    saved_at: str  # ISO time, local

    def url(self, base: str = "") -> str:
        """The view's plain link: ``{base}/{page}?{params}`` (``base`` like ``http://host:8501``)."""
        query = urlencode(self.params)
        return f"{base.rstrip('/')}/{navigation.BY_SCRIPT[self.page].url_path}" + (f"?{query}" if query else "")


def views_path(db: Path) -> Path:
    return Path(str(db) + ".views.json")


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
            views.append(SavedView(name=clean_name(item.get("name", "")), page=item["page"],
                                   params=_clean_params(item["params"]), saved_at=str(item.get("saved_at", ""))))
        return views
    except (OSError, ValueError, KeyError, ViewsError) as exc:
        raise ViewsError(error("views_unreadable", name=path.name, reason=exc.__class__.__name__)) from exc


def _write(path: Path, views: list[SavedView]) -> None:
    text = json.dumps({"version": 1, "views": [asdict(v) for v in views]}, ensure_ascii=False, indent=1)
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


def list_views(db: Path) -> list[SavedView]:
    """Saved views of this database, by name."""
    return sorted(_read(views_path(db)), key=lambda v: v.name)


def save_view(db: Path, name: str, page: str, params: dict[str, object]) -> SavedView:
    """Save (or replace, by name) a view of ``page`` with its URL ``params``."""
    if page not in navigation.BY_SCRIPT:
        raise ViewsError(f"`page` was {page!r} but is expected to be in {sorted(navigation.BY_SCRIPT)}")
    view = SavedView(name=clean_name(name), page=page, params=_clean_params(params),
                     saved_at=datetime.now().isoformat(timespec="seconds"))
    with _lock(db):
        others = [v for v in _read(views_path(db)) if v.name != view.name]
        if len(others) >= MAX_VIEWS:
            raise ViewsError(error("views_too_many", n=MAX_VIEWS))
        _write(views_path(db), [*others, view])
    return view


def delete_view(db: Path, name: str) -> bool:
    """Remove a view by name; False if there was none."""
    wanted = clean_name(name)
    with _lock(db):
        views = _read(views_path(db))
        kept = [v for v in views if v.name != wanted]
        if len(kept) == len(views):
            return False
        _write(views_path(db), kept)
    return True
