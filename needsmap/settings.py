"""Paths, environment variables and tunable defaults, in one self-documenting table.

Every knob has a name, a type, a default and a sentence of help (datasette's settings table is
the model). Values come from environment variables named ``NEEDSMAP_<NAME>`` and are returned
typed (``get("k_anonymity")`` is an int); a value of the wrong type raises ``SettingError`` with
one bilingual sentence. The hashing key and the staff password may also come from
``.streamlit/secrets.toml`` (``[needsmap] hash_key = "..."``, ``staff_password = "..."``).
Everything the app writes at run time goes to one folder, ``data_dir()`` (``NEEDSMAP_DATA_DIR``);
the checkout's ``data/`` (``BUNDLED_DATA_DIR``) holds the bundled reference files.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from needsmap.errors import NeedsmapError
from needsmap.i18n import error

REPO_ROOT = Path(__file__).resolve().parent.parent
# The checkout's data/ folder: bundled reference files, read at run time, written only by scripts/.
BUNDLED_DATA_DIR = REPO_ROOT / "data"
DISTRICTS_GEOJSON = BUNDLED_DATA_DIR / "zhejiang_districts.geojson"
CITIES_GEOJSON = BUNDLED_DATA_DIR / "zhejiang_cities.geojson"
CATEGORY_MAPPING_CSV = BUNDLED_DATA_DIR / "category_mapping.csv"
FACILITY_TYPE_MAPPING_CSV = BUNDLED_DATA_DIR / "facility_type_mapping.csv"
COUNTY_SEATS_CSV = BUNDLED_DATA_DIR / "zhejiang_county_seats.csv"  # the demo's county seats
SECRETS_TOML = REPO_ROOT / ".streamlit" / "secrets.toml"


class SettingError(NeedsmapError):
    """An environment variable holds a value its setting cannot take (e.g. letters for a number)."""


@dataclass(frozen=True)
class Setting:
    """One knob: read from ``NEEDSMAP_<NAME>`` (then ``[needsmap] <secret>`` in secrets.toml, if
    ``secret`` names a key there), else ``default`` (called, if it is a function of the other
    settings); always returned as ``type``."""

    name: str
    type: type
    default: object
    help: str
    secret: str | None = None


_TYPE_WORDS = {int: ("整数", "a whole number"), float: ("数字", "a number"),
               bool: ("1/0、true/false、yes/no 或 on/off", "1/0, true/false, yes/no or on/off")}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}

SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", Path, lambda: _default_data_dir(), "Folder for everything the app writes at run time: the "
            "demo database built on first start, the hashing key and saved views beside the database (unless DB "
            "names one elsewhere), bench databases. Default: `needsmap` in the user's data directory "
            "(~/.local/share/needsmap on Linux), or the checkout's data/ if that one cannot be created."),
    Setting("db", Path, lambda: default_db_path(), "DuckDB file the app reads and imports write "
            "(default: needsmap.duckdb in DATA_DIR)."),
    Setting("store", str, "", "Where the data lives, when not in the DB file: `ducklake:postgres:<libpq key=value "
            "connection string>` names a DuckLake (PostgreSQL catalog, Parquet files in DATA_PATH) that many app "
            "servers and importers share. Keep passwords out of it (STORE_PASSWORD, PGPASSWORD or ~/.pgpass)."),
    Setting("data_path", str, "", "The lake's Parquet files: a shared folder, or s3://bucket/prefix (S3_* settings); "
            "needed when the lake is created."),
    Setting("store_password", str, "", "Password of the lake's PostgreSQL role; else `[needsmap] store_password` in "
            ".streamlit/secrets.toml (libpq's PGPASSWORD and ~/.pgpass work too). Never shown.", secret="store_password"),
    Setting("s3_endpoint", str, "", "S3-compatible endpoint of an s3:// DATA_PATH, e.g. http://minio.intranet:9000 "
            "(empty: AWS)."),
    Setting("s3_region", str, "us-east-1", "Region of an s3:// DATA_PATH."),
    Setting("s3_key_id", str, "", "Access key id of an s3:// DATA_PATH; else `[needsmap] s3_key_id` in secrets.toml.",
            secret="s3_key_id"),
    Setting("s3_secret", str, "", "Secret access key of an s3:// DATA_PATH; else `[needsmap] s3_secret` in "
            "secrets.toml. Never shown.", secret="s3_secret"),
    Setting("boundaries", Path, DISTRICTS_GEOJSON, "District boundaries (GeoJSON, WGS-84, with adcode/name/city/… "
            "properties): new databases copy them; imports and map clicks place points with them."),
    Setting("tiles", str, "none", "Basemap: none | osm | amap | an intranet tile URL template with {z}/{x}/{y}."),
    Setting("cluster_radius_m", float, 500.0, "The demo generator's compound grid: cell size (metres) its repeat callers stand in. Records are "
            "grouped into needs by density (needs.NeedRules), not by this grid."),
    Setting("cluster_window_days", float, 30.0, "The demo generator's compound grid: time window (days) a compound's calls fall in."),
    Setting("min_records_to_rank", int, 30, "A district is ranked only with at least this many records."),
    Setting("k_anonymity", int, 5, "Public mode hides aggregates over fewer records than this."),
    Setting("response_hours_target", int, 24, "Service-loop target: first response within this many hours."),
    Setting("feedback_hours_target", int, 72, "Service-loop target: feedback to the requester within this many hours."),
    Setting("resolve_days_target", int, 15, "A record still open after this many days is overdue (needs a second push)."),
    Setting("reader_memory_mb", int, 1024, "Memory cap (MB) of each read-only DuckDB connection the app opens; bounds "
            "the app's memory at province scale (DuckDB's own default is 80% of RAM)."),
    Setting("public_mode", bool, False, "1 = public/presentation mode: small counts suppressed, no record tables."),
    Setting("staff_password", str, "", "If set, staff views (data page, record tables) ask for this password; "
            "else `[needsmap] staff_password` in .streamlit/secrets.toml.", secret="staff_password"),
    Setting("hash_key", str, "", "Key for hashing requesters' phone numbers (HMAC-SHA256); else `[needsmap] hash_key` "
            "in .streamlit/secrets.toml; else a random key created once beside the database (<db>.key).",
            secret="hash_key"),
    Setting("cjk_font", Path, None, "Font file (.ttf/.otf/.ttc) for Chinese text in exported PNG/PDF; default: Noto Sans "
            "CJK (Debian fonts-noto-cjk) or another CJK font found on the system."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> Any:
    """The value of a setting as its type: ``NEEDSMAP_<NAME>`` if set (then the secrets.toml key,
    for the secrets), else the default. A value the type cannot take raises ``SettingError``."""
    setting = _BY_NAME[name]
    variable = f"NEEDSMAP_{name.upper()}"
    raw = os.environ.get(variable, "")
    if not raw and setting.secret:
        raw = str(_secrets_section().get(setting.secret, ""))
    if not raw.strip():
        return setting.default() if callable(setting.default) else setting.default
    if setting.type is bool and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    if setting.type is Path:
        return Path(raw).expanduser()
    try:
        if setting.type in (int, float):
            return setting.type(raw)
        if setting.type is str:
            return raw
    except ValueError:
        pass
    zh, en = _TYPE_WORDS[setting.type]
    raise SettingError(error("setting_invalid", variable=variable, raw=raw, wanted_zh=zh, wanted_en=en))


def check() -> None:
    """Raise ``SettingError`` for the first setting whose environment value is unusable."""
    for setting in SETTINGS:
        get(setting.name)


def problem() -> str | None:
    """The message of the first setting whose environment value is unusable, or None."""
    try:
        check()
    except SettingError as exc:
        return str(exc)
    return None


def data_dir() -> Path:
    """The folder for run-time files (``NEEDSMAP_DATA_DIR``); not created here (writers create it)."""
    return get("data_dir")


def _default_data_dir() -> Path:
    """``needsmap`` in the user's data directory (platformdirs), or the checkout's data/ when the
    former cannot be created (no home folder, a read-only one) and data/ can be written."""
    user = platformdirs.user_data_path("needsmap", appauthor=False)
    if _can_create(user) or not os.access(BUNDLED_DATA_DIR, os.W_OK):
        return user
    return BUNDLED_DATA_DIR


def _can_create(folder: Path) -> bool:
    """Whether ``folder`` exists as a writable folder or could be made (its nearest existing ancestor is one)."""
    while not folder.exists():
        if folder.parent == folder:
            return False
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK)


def default_db_path() -> Path:
    """The database when ``NEEDSMAP_DB`` names none: ``needsmap.duckdb`` in the data folder (the demo
    is built there on first start)."""
    return data_dir() / "needsmap.duckdb"


def db_path() -> Path:
    """The store in use: ``NEEDSMAP_STORE`` when it names a lake (``ducklake:postgres:…``), else the
    DuckDB file ``NEEDSMAP_DB``. A lake's name is carried as a ``Path`` like a file's, so callers
    pass either to ``needsmap.store`` unchanged (a libpq key=value string survives it)."""
    return Path(get("store")) if get("store").strip() else get("db")


def districts_geojson() -> Path:
    """The district boundary file in use (``NEEDSMAP_BOUNDARIES``; default the bundled one)."""
    return get("boundaries")


def _secrets_section() -> dict:
    if not SECRETS_TOML.exists():
        return {}
    with SECRETS_TOML.open("rb") as fh:
        return tomllib.load(fh).get("needsmap", {})


def hash_key(db: Path | None = None) -> bytes:
    """The key for hashing requesters' phone numbers (HMAC-SHA256).

    Order: ``NEEDSMAP_HASH_KEY``; ``[needsmap] hash_key`` in ``.streamlit/secrets.toml``; else a
    random key created once beside the database (``<db>.key``, mode 600, never committed). A key
    kept beside the data keeps repeat detection stable across imports into that database.
    """
    configured = get("hash_key")
    if configured:
        return configured.encode()
    key_file = sidecar(db or db_path(), ".key")
    if not key_file.exists():
        _create_key_file(key_file)
    return key_file.read_text().strip().encode()


def sidecar(db: Path, suffix: str) -> Path:
    """A file kept beside the store (``suffix`` such as ``.key``, ``.views.json``): ``<db><suffix>``
    beside a DuckDB file; ``needsmap<suffix>`` in a lake's DATA_PATH folder, shared by every server
    and importer of the lake (in DATA_DIR when the lake's data is in object storage)."""
    if not str(db).startswith("ducklake:"):
        return Path(str(db) + suffix)
    folder = get("data_path")
    return (data_dir() if not folder or folder.startswith("s3://") else Path(folder)) / f"needsmap{suffix}"


def _create_key_file(key_file: Path) -> None:
    """Write a new random key to a private temporary file and link it into place.

    ``os.link`` fails if ``key_file`` exists, so of callers racing here (threads, or importers in
    other processes) the first to link wins and the others read its key; nobody can ever read a
    file still being written, because the key file only appears complete.
    """
    key_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = key_file.with_name(f".{key_file.name}.{os.getpid()}-{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temporary, key_file)
        except FileExistsError:
            pass  # another caller's key is in place: use it
    finally:
        temporary.unlink(missing_ok=True)


def staff_password() -> str:
    """The staff password (``NEEDSMAP_STAFF_PASSWORD``, then secrets.toml); "" when none is set."""
    return get("staff_password")
