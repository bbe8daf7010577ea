"""The Filter value object: what slice of the data a view shows.

One frozen dataclass holds the filters. It turns into SQL with named, bound parameters
(``where_sql``: ``$f_category_0`` …), into and out of URL query parameters (``to_query_params`` /
``from_query_params``), into a sentence for titles (``describe``), and it is hashable, so it is
the cache key (with the data signature) for cached query results.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta

from needsmap import taxonomy

# Matched whole and in ASCII digits (\d and $ would let "33０１０６" and "330106\n" through).
_ADCODE = re.compile(r"33[0-9]{4}")
_CITY_ADCODE = re.compile(r"33[0-9]{2}00")
# A boundary layer's id and a unit's code (统计用区划代码, a grid cell's name …): an ASCII letter or
# digit, then letters, digits, "_" and "-", matched whole, so a value in a URL or a title is plain text.
_LAYER_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}")
_UNIT_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,39}")
_LIST_FIELDS = {
    "categories": {t.code for t in taxonomy.CATEGORIES},
    "statuses": {t.code for t in taxonomy.STATUSES},
    "channels": {t.code for t in taxonomy.CHANNELS},
    "groups": {t.code for t in taxonomy.GROUPS},
    "urban_rural": {t.code for t in taxonomy.URBAN_RURAL},
}
_ALL_URGENCY = {int(u.code) for u in taxonomy.URGENCY}
# Filter field → its URL parameter (short, so copied links stay readable).
URL_NAMES = {
    "date_from": "from", "date_to": "to", "categories": "cat", "subcategories": "sub", "urgency": "urg",
    "statuses": "status", "channels": "ch", "groups": "grp", "urban_rural": "ur", "city_adcode": "city",
    "district_adcode": "district", "layer_id": "layer", "unit_code": "unit",
}
# Shorthand URL parameters for a unit of "the" layer of a level: ``?township=330106004`` is the
# unit 330106004 of the township layer (``from_query_params`` is told which layer that is).
LEVEL_PARAMS = {"township": "township"}


@dataclass(frozen=True)
class Filter:
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    categories: tuple[str, ...] = ()
    subcategories: tuple[str, ...] = ()
    urgency: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    urban_rural: tuple[str, ...] = ()
    city_adcode: str | None = None
    district_adcode: str | None = None
    # One level below the district: a unit (乡镇街道, community, grid cell) of a boundary layer.
    # ``layer_id`` alone says which layer the district drills into; with ``unit_code`` the view is
    # that unit's records (a unit without its layer names nothing and matches no record).
    layer_id: str | None = None
    unit_code: str | None = None

    def __post_init__(self) -> None:
        """Refuse values of the wrong kind with a sentence, before any reaches SQL.

        Values of the right kind that name nothing (an unknown category, a hostile string) are
        kept: they are bound as parameters and simply match no record. Lists become tuples; a list
        naming every category (status, channel, group, urgency, urban/rural) becomes the empty
        one, "all".
        """
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, date):
                raise ValueError(f"`{name}` was {_shown(value)} but is expected to be a datetime.date or None")
        for name in ("categories", "subcategories", "statuses", "channels", "groups", "urban_rural", "urgency"):
            value = getattr(self, name)
            wanted = numbers.Integral if name == "urgency" else str
            if not isinstance(value, tuple | list) or not all(
                    isinstance(v, wanted) and not isinstance(v, bool) for v in value):
                kind = "whole numbers (1–4)" if name == "urgency" else "text values"
                raise ValueError(f"`{name}` was {_shown(value)} but is expected to be a tuple of {kind}")
            if name != "urgency":
                value = tuple(_without_nul(v) for v in value)
            # Every choice ticked is no choice at all: the same view, the same cache key, a short link.
            everything = _LIST_FIELDS.get(name, _ALL_URGENCY if name == "urgency" else None)
            object.__setattr__(self, name, () if everything and set(value) == everything else tuple(value))
        for name in ("city_adcode", "district_adcode"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"`{name}` was {_shown(value)} but is expected to be a 6-digit adcode (text) or None")
        for name in ("layer_id", "unit_code"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"`{name}` was {_shown(value)} but is expected to be text or None")
        for name in ("city_adcode", "district_adcode", "layer_id", "unit_code"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _without_nul(getattr(self, name)))

    @property
    def unit_key(self) -> str | None:
        """``layer/unit``: the unit's key among place names (``describe``), or None without a unit."""
        return f"{self.layer_id}/{self.unit_code}" if self.layer_id and self.unit_code else None

    def with_changes(self, **changes: object) -> Filter:
        return replace(self, **changes)

    def without_place(self) -> Filter:
        """The same filters over the whole province: no city, district, layer or unit."""
        return replace(self, city_adcode=None, district_adcode=None, layer_id=None, unit_code=None)

    def where_sql(self, alias: str = "d") -> tuple[str, dict[str, object]]:
        """``(sql, params)``: a WHERE body over the ``demands`` table (``TRUE`` when no filter)
        and its values by name; every name starts ``f_``, so a query's own names never clash."""
        bits: list[str] = []
        params: dict[str, object] = {}
        if self.date_from is not None:
            bits.append(f"{alias}.created_at >= $f_date_from")
            params["f_date_from"] = self.date_from
        if self.date_to is not None:
            bits.append(f"{alias}.created_at < CAST($f_date_to AS DATE) + INTERVAL 1 DAY")
            params["f_date_to"] = self.date_to
        for column, values in (
            ("category", self.categories), ("subcategory", self.subcategories), ("urgency", self.urgency),
            ("status", self.statuses), ("channel", self.channels), ("requester_group", self.groups),
            ("urban_rural", self.urban_rural),
        ):
            if values:
                sql, named = in_sql(f"{alias}.{column}", f"f_{column}", values)
                bits.append(sql)
                params.update(named)
        if self.district_adcode:
            bits.append(f"{alias}.district_adcode = $f_district")
            params["f_district"] = self.district_adcode
        elif self.city_adcode and _CITY_ADCODE.fullmatch(self.city_adcode):
            # city_adcode, not the district's prefix: city-level records (市本级) have no district.
            bits.append(f"{alias}.city_adcode = $f_city")
            params["f_city"] = self.city_adcode
        elif self.city_adcode:
            bits.append("FALSE")  # not a city's code (33xx00): it names no city, so no record
        if self.unit_code and self.layer_id:
            # A semi-join: the records the layer's assignment put in the unit (record_units).
            bits.append(f"{alias}.record_id IN (SELECT u.record_id FROM record_units u"
                        " WHERE u.layer_id = $f_layer AND u.unit_code = $f_unit)")
            params["f_layer"] = self.layer_id
            params["f_unit"] = self.unit_code
        elif self.unit_code:
            bits.append("FALSE")  # a unit of no known layer names no record
        return (" AND ".join(bits) or "TRUE"), params

    def to_query_params(self) -> dict[str, str]:
        """URL query parameters; empty filters are left out so links stay short."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, ()):
                continue
            if isinstance(value, tuple):
                out[URL_NAMES[f.name]] = ",".join(str(v) for v in value)
            else:
                out[URL_NAMES[f.name]] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    @classmethod
    def from_query_params(cls, params: Mapping[str, object], *, layers_by_level: Mapping[str, str] | None = None) -> Filter:
        """Parse URL parameters; values outside the allowed sets are dropped, never passed on.

        ``layers_by_level`` (level → layer id) says which layer a shorthand such as
        ``?township=CODE`` means; without it (or with no layer of that level) the unit is kept
        without a layer, names nothing, and the page says why. ``?layer=&unit=`` win over it.
        """

        def text(name: str) -> str:
            return raw_text(URL_NAMES[name])

        def raw_text(param: str) -> str:
            raw = params.get(param, "")
            if isinstance(raw, list):
                raw = ",".join(str(r) for r in raw)
            return str(raw)[:2000]

        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(text(name)) if text(name) else None
            except ValueError:
                return None

        def codes(name: str) -> tuple[str, ...]:
            allowed = _LIST_FIELDS[name]
            return tuple(dict.fromkeys(v for v in text(name).split(",") if v in allowed))

        def adcode(name: str) -> str | None:
            value = text(name)
            return value if _ADCODE.fullmatch(value) else None

        layer_id = text("layer_id") if _LAYER_ID.fullmatch(text("layer_id")) else None
        unit_code = text("unit_code") if _UNIT_CODE.fullmatch(text("unit_code")) else None
        if unit_code is None:
            for param, level in LEVEL_PARAMS.items():
                if _UNIT_CODE.fullmatch(raw_text(param)):
                    unit_code, layer_id = raw_text(param), (layers_by_level or {}).get(level)
                    break

        return cls(
            date_from=day("date_from"),
            date_to=day("date_to"),
            categories=codes("categories"),
            subcategories=tuple(dict.fromkeys(v.strip() for v in text("subcategories").split(",") if v.strip()))[:20],
            urgency=tuple(dict.fromkeys(int(v) for v in text("urgency").split(",") if v in {"1", "2", "3", "4"})),
            statuses=codes("statuses"),
            channels=codes("channels"),
            groups=codes("groups"),
            urban_rural=codes("urban_rural"),
            city_adcode=adcode("city_adcode"),
            district_adcode=adcode("district_adcode"),
            layer_id=layer_id,
            unit_code=unit_code,
        )

    def describe(self, lang: str, place_names: Mapping[str, str] | None = None) -> str:
        """The filters as words, e.g. ``杭州市 · 2025年7月–9月 · 养老服务``; a unit after its district
        (``西湖区 · 北山街道 · …``; ``place_names`` knows units by ``unit_key``)."""
        place_names = place_names or {}
        parts: list[str] = []
        place = self.district_adcode or self.city_adcode
        parts.append(place_names.get(place, place) if place else ("浙江省" if lang == "zh" else "Zhejiang"))
        if self.unit_code:
            parts.append(place_names.get(self.unit_key or "", self.unit_code))
        if self.date_from or self.date_to:
            parts.append(_describe_period(self.date_from, self.date_to, lang))
        if self.categories:
            parts.append("、".join(taxonomy.label(taxonomy.CATEGORIES, c, lang) for c in self.categories)
                         if lang == "zh" else ", ".join(taxonomy.label(taxonomy.CATEGORIES, c, lang) for c in self.categories))
        for terms, values in (
            (taxonomy.URBAN_RURAL, self.urban_rural), (taxonomy.STATUSES, self.statuses),
            (taxonomy.CHANNELS, self.channels), (taxonomy.GROUPS, self.groups),
        ):
            if values:
                parts.append("/".join(taxonomy.label(terms, v, lang) for v in values))
        if self.urgency:
            parts.append("/".join(taxonomy.label(taxonomy.URGENCY, str(u), lang) for u in self.urgency))
        if self.subcategories:
            parts.append("/".join(self.subcategories))
        return " · ".join(parts)


def in_sql(column: str, name: str, values: Sequence[object]) -> tuple[str, dict[str, object]]:
    """``column IN ($name_0, $name_1, …)`` and the values by those names (one per value, bound)."""
    names = [f"{name}_{number}" for number in range(len(values))]
    return f"{column} IN ({', '.join('$' + n for n in names)})", dict(zip(names, values, strict=True))


def _without_nul(text: str) -> str:
    """``text`` with each NUL character replaced by U+FFFD: it still names nothing (no stored text
    holds either, and an empty value would mean "all"), but on a lake DuckLake writes a filter's
    constant into the SQL it sends PostgreSQL to prune files, where a NUL cuts the statement short
    (a parser error instead of an empty answer)."""
    return text.replace("\x00", "\ufffd")


def _shown(value: object) -> str:
    """A value for an error message: its repr, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe_period(start: date | None, end: date | None, lang: str) -> str:
    """A period in words; whole months and years are named as such in Chinese (2025年7–9月)."""
    if lang != "zh":
        return f"{start.isoformat() if start else '…'} – {end.isoformat() if end else '…'}"
    if start and end and start.day == 1 and _is_month_end(end) and start <= end:
        if start.year == end.year:
            if start.month == 1 and end.month == 12:
                return f"{start.year}年"
            if start.month == end.month:
                return f"{start.year}年{start.month}月"
            return f"{start.year}年{start.month}–{end.month}月"
        return f"{start.year}年{start.month}月–{end.year}年{end.month}月"
    if start and end and start.year == end.year:
        return f"{start.year}年{start.month}月{start.day}日–{end.month}月{end.day}日"
    left = f"{start.year}年{start.month}月{start.day}日" if start else "…"
    right = f"{end.year}年{end.month}月{end.day}日" if end else "…"
    return f"{left}–{right}"


def _is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1
