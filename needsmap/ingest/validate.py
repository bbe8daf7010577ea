"""Which rows become demand records, and what each accepted row stores.

``validate`` takes the file's canonical columns as text and answers, without touching a
database: the accepted rows as ``demands`` columns (all but ``batch_id``) and, for every other
row, a reason code (``reasons.REASONS``). Everything is vectorised over columns; a row gets the
first reason that applies, in this order:

1. ``record_id_blank``, ``record_id_scientific`` (Excel wrote it as 2.02507E+17), then
   ``record_id_duplicate_in_file`` (the first occurrence stays);
2. ``created_at_unparseable``; ``phone_scientific`` (a phone written as 1.39E+10);
3. location — a point (lon+lat, converted from the file's CRS to WGS-84) must fall in a
   district (full-resolution shapes) or the offshore zone (then the nearest district, flagged
   ``point_offshore``): if not, ``lat_lon_swapped`` when the swapped pair would fall in a
   district, else ``outside_zhejiang``. A row without a point (blank, non-numeric, NaN/inf, or
   the (0, 0) placeholder) is placed by its text (``places.place_row``): a district name or
   adcode, today's or former; 市本级 or a city (city level, no district); a district or township
   named in the address. ``district_unknown`` when the district text matches nothing,
   ``no_location`` when it is blank and the address places nothing.

What accepted rows store: category codes (a tree text ``A>B>C`` is matched as a whole, then
deepest level first; unmapped text → ``other``, counted), statuses,
channels, groups and urgency through the taxonomy alias tables (unknown → received, other,
general, 1), satisfaction 1–5 or NULL, people_affected ≥ 1. Personal data is reduced to a
keyed phone hash, a masked phone and a masked name; description and address are masked and cut
to ``masking.FREE_TEXT_MAX_CHARS`` (5,000) characters, sub-category and source category to
``masking.SHORT_TEXT_MAX_CHARS`` (200). The record id is stored as given (trimmed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from needsmap import boundaries, coords, schema, taxonomy
from needsmap.background import in_background
from needsmap.ingest import masking, parsing
from needsmap.ingest.places import Place, PlaceIndex, district_of_text, place_row
from needsmap.ingest.reasons import CODES, NUMBER_OF

STORED_COLUMNS = tuple(name for name in schema.DEMAND_COLUMN_NAMES if name != "batch_id") + schema.PLACE_COLUMN_NAMES


@dataclass(frozen=True)
class Lookups:
    """What validation needs to know besides the file: mappings, the hashing key and settings."""

    category_by_text: Mapping[str, str]  # normalize_text(text) → category code
    places: PlaceIndex  # district names old and new, cities, townships (``places.place_index()``)
    urban_rural_by_adcode: Mapping[str, str]
    hash_key: bytes
    crs: str = "wgs84"


@dataclass(frozen=True)
class Validation:
    """The verdict on every row of a file.

    ``accepted``: one row per accepted input row, columns ``STORED_COLUMNS``, index = the row's
    position in the input. ``category_unmapped``: per accepted row, True when its category text
    matched nothing and became ``other``. ``rejected_positions``/``rejected_codes``: the other
    rows and their reason codes.
    """

    accepted: pd.DataFrame
    category_unmapped: np.ndarray
    rejected_positions: np.ndarray
    rejected_codes: np.ndarray


def category_lookup(mapping_rows: list[tuple[str, str]]) -> dict[str, str]:
    """Free text → category code: taxonomy codes and zh/en labels, then the mapping table's rows.

    Rows of the (user-editable) ``category_mapping`` table win over labels; rows naming an
    unknown code are ignored.
    """
    lookup = {taxonomy.normalize_text(alias): term.code
              for term in taxonomy.CATEGORIES for alias in (term.code, term.zh, term.en)}
    for source_text, code in mapping_rows:
        if source_text and code in taxonomy.CATEGORY_CODES:
            lookup[taxonomy.normalize_text(source_text)] = code
    return lookup


def validate(frame: pd.DataFrame, lookups: Lookups, on_stage: Callable[[str], None] | None = None,
             districts_ready: Callable[[], object] | None = None) -> Validation:
    """Check and convert every row of ``frame`` (canonical field names, text cells).

    ``on_stage`` hears ``"fields"`` and ``"districts"`` as work starts on them.
    ``districts_ready`` is waited for just before points are placed in districts, so a caller
    can build the district raster in the background meanwhile. The fields are converted for
    every row, rejected or not, while the points are placed.
    """
    stage = on_stage or (lambda _name: None)
    frame = frame.reset_index(drop=True)

    def located() -> tuple[np.ndarray, ...]:
        if districts_ready is not None:
            districts_ready()
        return locate(frame, lookups)

    # The two longest parts run from the start on threads of their own, beside the checks and
    # the text work here (DuckDB, Arrow, shapely and numpy spend their time outside the GIL):
    # placing the points, and the keyed phone hash. ~1 s less for a million rows on two cores.
    location = in_background(located)
    phones = in_background(_phone_fields, frame, lookups.hash_key)
    reason = np.zeros(len(frame), dtype=np.int8)  # 0 = fine so far; else NUMBER_OF[code]

    def flag(mask: np.ndarray, code: str) -> None:
        reason[(reason == 0) & mask] = NUMBER_OF[code]

    record_id = column(frame, "record_id").str.strip()
    record_id = record_id.where(record_id != "")
    blank_id = record_id.isna().to_numpy()
    flag(blank_id, "record_id_blank")
    flag(parsing.is_scientific(record_id), "record_id_scientific")
    flag(record_id.duplicated(keep="first").to_numpy() & ~blank_id, "record_id_duplicate_in_file")

    created_at = parsing.parse_datetimes(column(frame, "created_at"))
    flag(np.isnat(created_at), "created_at_unparseable")
    flag(parsing.is_scientific(column(frame, "phone")), "phone_scientific")

    stage("fields")
    stored = _stored_fields(frame, record_id, created_at, lookups, phones)
    stage("districts")
    lon, lat, adcode, city, basis, location_reason = location()
    reason = np.where(reason == 0, location_reason, reason)  # earlier reasons win

    keep = reason == 0
    if not keep.all():  # (a copy of a million-row frame is worth skipping in the common case)
        stored, lon, lat, adcode, city, basis = (stored[keep], lon[keep], lat[keep], adcode[keep], city[keep],
                                                 basis[keep])
    return Validation(
        accepted=_with_location(stored, lon, lat, adcode, city, basis, lookups),
        category_unmapped=stored["_category_unmapped"].to_numpy(dtype=bool),
        rejected_positions=np.flatnonzero(~keep),
        rejected_codes=np.asarray(CODES, dtype=object)[reason[~keep]],
    )


def column(frame: pd.DataFrame, field: str) -> pd.Series:
    """A canonical column as text, or an all-blank one when the file lacks it."""
    if field in frame.columns:
        return frame[field].astype("str")
    return pd.Series(np.nan, index=frame.index, dtype="str")


def locate(frame: pd.DataFrame, lookups: Lookups) -> tuple[np.ndarray, ...]:
    """(WGS-84 lon, lat, adcode, city adcode, place basis, reason number) per row; reason 0 where
    the row has a location.

    ``place basis`` is a ``schema.PLACE_BASES`` code. A point must fall in a district (or the
    offshore zone); a row without one is placed by its district and address text
    (``places.place_row``), keeping NaN coordinates — so it is on no point map and in no need.
    """
    rows = len(frame)
    raw_lon = parsing.parse_coordinates(column(frame, "lon"))
    raw_lat = parsing.parse_coordinates(column(frame, "lat"))
    # (0, 0) is how many systems write "no coordinates".
    has_point = ~np.isnan(raw_lon) & ~np.isnan(raw_lat) & ~((raw_lon == 0) & (raw_lat == 0))
    lon = np.full(rows, np.nan)
    lat = np.full(rows, np.nan)
    adcode = np.full(rows, None, dtype=object)
    city = np.full(rows, None, dtype=object)
    basis = np.full(rows, "point", dtype=object)
    reason = np.zeros(rows, dtype=np.int8)

    points = np.flatnonzero(has_point)
    lon[points], lat[points] = coords.to_wgs84(raw_lon[points], raw_lat[points], lookups.crs)
    adcode[points], offshore = boundaries.place_points(lon[points], lat[points])
    basis[points[offshore]] = "point_offshore"
    outside = points[adcode[points] == None]  # noqa: E711 — elementwise on an object array
    if outside.size:
        swapped_lon, swapped_lat = coords.to_wgs84(raw_lat[outside], raw_lon[outside], lookups.crs)
        lands_inside = boundaries.assign_districts(swapped_lon, swapped_lat) != None  # noqa: E711
        reason[outside] = np.where(lands_inside, NUMBER_OF["lat_lon_swapped"], NUMBER_OF["outside_zhejiang"])
        lon[outside] = lat[outside] = np.nan

    no_point = np.flatnonzero(~has_point)
    if no_point.size:
        address = column(frame, "address").iloc[no_point]
        if "street" in frame.columns:  # 所属街道 beside an address: both are read ("|" joins no name)
            street = column(frame, "street").iloc[no_point]
            address = address.where(street.isna() | (address == street), address.fillna("") + "|" + street)
        adcode[no_point], city[no_point], basis[no_point], reason[no_point] = _place_by_text(
            column(frame, "district").iloc[no_point], address, lookups.places)
    return lon, lat, adcode, city, basis, reason


def _place_by_text(district_text: pd.Series, address_text: pd.Series,
                   index: PlaceIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(adcode, city adcode, place basis, reason number) of rows without a point (``places.place_row``)."""
    reason = np.zeros(len(district_text), dtype=np.int8)
    # Most such rows name a district: one lookup per distinct text. The rest (市本级, a city, an
    # address only) are looked at per distinct (district, address) pair; \x1f is in neither cell.
    codes, uniques = pd.factorize(district_text)  # code -1: blank
    known = [district_of_text(text, index) for text in uniques] + [None]
    by_district = np.array([place is not None for place in known])[codes]
    adcode = np.array([p.adcode if p else None for p in known], dtype=object)[codes]
    city = np.array([p.city_adcode if p else None for p in known], dtype=object)[codes]
    basis = np.array([p.basis if p else "district" for p in known], dtype=object)[codes]
    rest = np.flatnonzero(~by_district)
    if rest.size:
        pairs = district_text.iloc[rest].fillna("").str.cat(address_text.iloc[rest].fillna(""), sep="\x1f")
        codes, uniques = pd.factorize(pairs)
        found = [place_row(*(part or None for part in pair.split("\x1f", 1)), index) for pair in uniques]
        adcode[rest] = np.array([p.adcode if isinstance(p, Place) else None for p in found], dtype=object)[codes]
        city[rest] = np.array([p.city_adcode if isinstance(p, Place) else None for p in found], dtype=object)[codes]
        basis[rest] = np.array([p.basis if isinstance(p, Place) else "district" for p in found], dtype=object)[codes]
        reason[rest] = np.array([0 if isinstance(p, Place) else NUMBER_OF[p] for p in found], dtype=np.int8)[codes]
    return adcode, city, basis, reason


def _phone_fields(frame: pd.DataFrame, hash_key: bytes) -> tuple[pd.Series, pd.Series]:
    """(keyed hash, masked phone) per row; all blank when the file has no phone column."""
    if "phone" not in frame.columns:
        return column(frame, "phone"), column(frame, "phone")
    return masking.phone_fields(frame["phone"], hash_key)


def _stored_fields(frame: pd.DataFrame, record_id: pd.Series, created_at: np.ndarray,
                   lookups: Lookups, phones: Callable[[], tuple[pd.Series, pd.Series]]) -> pd.DataFrame:
    """The ``demands`` fields that do not depend on the location, for every row.

    Also ``_category_unmapped``: True where the category text matched nothing. ``phones``
    waits for the phone fields (``_phone_fields``, computed on another thread).
    """
    source_category = column(frame, "category")
    category = parsing.map_terms(source_category, lookups.category_by_text, tree=True)
    category_unmapped = category.isna().to_numpy()

    names = frame["name"] if "name" in frame.columns else None
    name_masked = masking.masked_names(names) if names is not None else column(frame, "name")

    def free_text(field: str) -> pd.Series:
        return masking.clean_free_text(column(frame, field), names=names, masked_names=name_masked)

    fields = {
        "record_id": record_id,  # kept as given (stripped): an identifier, not text to mask or cut
        "created_at": created_at,
        "category": category.fillna("other"),
        "subcategory": masking.clean_short_text(column(frame, "subcategory"), names=names, masked_names=name_masked),
        "source_category": masking.clean_short_text(source_category, names=names, masked_names=name_masked),
        "description": free_text("description"),
        "address": free_text("address"),
        "channel": parsing.map_terms(column(frame, "channel"), taxonomy.CHANNEL_ALIASES, "other"),
        "urgency": parsing.parse_urgency(column(frame, "urgency")),
        "people_affected": parsing.parse_people_affected(column(frame, "people_affected")),
        "status": parsing.map_terms(column(frame, "status"), taxonomy.STATUS_ALIASES, "received"),
        "responded_at": parsing.parse_datetimes(column(frame, "responded_at")),
        "resolved_at": parsing.parse_datetimes(column(frame, "resolved_at")),
        "feedback_at": parsing.parse_datetimes(column(frame, "feedback_at")),
        "satisfaction": parsing.parse_satisfaction(column(frame, "satisfaction")),
        "requester_group": parsing.map_terms(column(frame, "requester_group"), taxonomy.GROUP_ALIASES, "general"),
    }
    fields["requester_hash"], fields["requester_phone_masked"] = phones()  # last: it takes longest
    return pd.DataFrame({**fields, "requester_name_masked": name_masked, "_category_unmapped": category_unmapped},
                        index=frame.index)


def _with_location(stored: pd.DataFrame, lon: np.ndarray, lat: np.ndarray, adcode: np.ndarray, city: np.ndarray,
                   basis: np.ndarray, lookups: Lookups) -> pd.DataFrame:
    """Accepted rows with their location and urban/rural class, as ``STORED_COLUMNS``."""
    district_adcode = pd.Series(adcode, index=stored.index, dtype="str")
    # A point's city is its district's; a row placed by text may be at city level only.
    city_adcode = pd.Series(city, index=stored.index, dtype="str").fillna(
        parsing.map_terms(district_adcode, lookups.places.city_of_district))
    place_basis = pd.Series(basis, index=stored.index, dtype="str")
    located = stored.assign(
        lon=lon, lat=lat, district_adcode=district_adcode, city_adcode=city_adcode, place_basis=place_basis,
        urban_rural=parsing.map_terms(district_adcode, lookups.urban_rural_by_adcode),
    )
    return located[list(STORED_COLUMNS)]
