"""Paths, environment variables and tunable defaults, in one self-documenting table.

Every knob has a name, a default and a sentence of help (datasette's settings table is the
model). Values come from environment variables named ``NEEDSMAP_<NAME>``; the hashing key may
also come from ``.streamlit/secrets.toml`` (``[needsmap] hash_key = "..."``).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
DISTRICTS_GEOJSON = DATA_DIR / "zhejiang_districts.geojson"
CITIES_GEOJSON = DATA_DIR / "zhejiang_cities.geojson"
CATEGORY_MAPPING_CSV = DATA_DIR / "category_mapping.csv"
COUNTY_SEATS_CSV = DATA_DIR / "zhejiang_county_seats.csv"  # the demo's county seats
STATIC_DIR = REPO_ROOT / "static"
SECRETS_TOML = REPO_ROOT / ".streamlit" / "secrets.toml"


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("db", str(DATA_DIR / "needsmap.duckdb"), "DuckDB file the app reads and imports write."),
    Setting("boundaries", str(DISTRICTS_GEOJSON), "District boundaries (GeoJSON, WGS-84, with adcode/name/city/… properties): "
            "new databases copy them; imports and map clicks place points with them."),
    Setting("tiles", "none", "Basemap: none | osm | amap | an intranet tile URL template with {z}/{x}/{y}."),
    Setting("cluster_radius_m", 500, "Demand clusters: records of one category within this grid cell size (metres)."),
    Setting("cluster_window_days", 30, "Demand clusters: records within this time window (days) belong together."),
    Setting("min_records_to_rank", 30, "A district is ranked only with at least this many records."),
    Setting("k_anonymity", 5, "Public mode hides aggregates over fewer records than this."),
    Setting("response_hours_target", 24, "Service-loop target: first response within this many hours."),
    Setting("feedback_hours_target", 72, "Service-loop target: feedback to the requester within this many hours."),
    Setting("resolve_days_target", 15, "A record still open after this many days is overdue (needs a second push)."),
    Setting("reader_memory_mb", 1024, "Memory cap (MB) of each read-only DuckDB connection the app opens; bounds the "
            "app's memory at province scale (DuckDB's own default is 80% of RAM)."),
    Setting("public_mode", 0, "1 = public/presentation mode: small counts suppressed, no record tables."),
    Setting("staff_password", "", "If set, staff views (data page, record tables) ask for this password."),
    Setting("cjk_font", "", "Font file (.ttf/.otf/.ttc) for Chinese text in exported PNG/PDF; default: Noto Sans CJK "
            "(Debian fonts-noto-cjk) or another CJK font found on the system."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> object:
    """The value of a setting: ``NEEDSMAP_<NAME>`` if set, else the default, typed like the default."""
    setting = _BY_NAME[name]
    raw = os.environ.get(f"NEEDSMAP_{name.upper()}")
    if raw is None or raw == "":
        return setting.default
    if isinstance(setting.default, int):
        return int(raw)
    return raw


def db_path() -> Path:
    return Path(str(get("db")))


def districts_geojson() -> Path:
    """The district boundary file in use (``NEEDSMAP_BOUNDARIES``; default the bundled one)."""
    return Path(str(get("boundaries")))


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
    env_key = os.environ.get("NEEDSMAP_HASH_KEY")
    if env_key:
        return env_key.encode()
    secret_key = _secrets_section().get("hash_key")
    if secret_key:
        return str(secret_key).encode()
    key_file = Path(str(db or db_path()) + ".key")
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return key_file.read_text().strip().encode()


def staff_password() -> str:
    return str(get("staff_password") or _secrets_section().get("staff_password", ""))
