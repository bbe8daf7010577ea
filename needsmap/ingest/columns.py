"""Header aliases: which column of an input file holds which canonical field.

Input files come with English canonical names (``record_id``, ``created_at``, ``lon`` …, see
``schema.DEMAND_COLUMN_NAMES``) or with the Chinese headers of hotline exports (工单编号 /
工单编码, 受理时间, 事项分类, 回复时间, 经度 …). The aliases are data: ``data/header_aliases.csv``
(``header,field``, best first), copied into each database's ``header_aliases`` table, where
staff extend them on the Data page; the importer uses the database's table.

Headers are compared after ``taxonomy.normalize_text`` (NFKC, no white space, lower-case
ASCII), with bracketed notes such as ``经度(GCJ-02)`` and the marks ``* _ - :`` removed. A
combined two-row header (``坐标-经度``) that matches nothing is tried by its last part (经度).
When two columns name the same field, the one whose alias comes first wins (受理时间 before
来电时间); the other stays only in a rejected row's ``raw_row`` (masked). Columns of national
ID numbers (field ``id_number``) are dropped entirely.

Besides the stored fields there are helper fields: ``category_level1`` … ``category_level4``
(一级分类 … 四级分类, joined into one category tree ``A>B>C``) and ``street`` (所属街道, used as the
address where the address is blank).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from needsmap import settings
from needsmap.errors import UnusableFileError
from needsmap.i18n import error
from needsmap.taxonomy import normalize_text

HEADER_ALIASES_CSV = settings.BUNDLED_DATA_DIR / "header_aliases.csv"

CATEGORY_LEVELS = ("category_level1", "category_level2", "category_level3", "category_level4")
# Fields an alias may name: the stored ones, the helpers, and id_number (dropped).
FIELDS = ("record_id", "created_at", "category", *CATEGORY_LEVELS, "subcategory", "description", "lon", "lat",
          "district", "street", "address", "channel", "urgency", "people_affected", "status", "responded_at",
          "resolved_at", "feedback_at", "satisfaction", "requester_group", "phone", "name", "id_number")
# GeoJSON points: the reader's own coordinate columns win over any lon/lat property.
_GEOMETRY_ALIASES = (("geometry.lon", "lon"), ("geometry.lat", "lat"))

# Fields a file must have; a location is lon+lat, or district; a category may come as levels.
REQUIRED_FIELDS = ("record_id", "created_at", "category")
FIELD_LABELS = {"record_id": "工单编号 record_id", "created_at": "受理时间 created_at", "category": "诉求类别 category",
                "lon": "经度 lon", "lat": "纬度 lat", "district": "区县 district"}
TREE_SEPARATOR = ">"

_BRACKETED = re.compile(r"\(.*?\)|\[.*?\]|【.*?】|〔.*?〕")
_MARKS = re.compile(r"[*_\-:]")
_COMBINED = re.compile(r"[-－—]")  # the joint of a two-row header made by the reader (坐标-经度)


def header_key(header: object) -> str:
    """A header folded for comparison: ``' 经度（GCJ-02）'`` → ``'经度'``, ``'Record ID'`` → ``'recordid'``."""
    folded = normalize_text(str(header)).lstrip("\ufeff")
    return _MARKS.sub("", _BRACKETED.sub("", folded))


@cache
def builtin_aliases() -> tuple[tuple[str, str], ...]:
    """The bundled ``(header, field)`` aliases, best first (``data/header_aliases.csv``)."""
    with HEADER_ALIASES_CSV.open(encoding="utf-8") as fh:
        return tuple((row["header"], row["field"]) for row in csv.DictReader(fh)
                     if row.get("header") and row.get("field") in FIELDS)


def alias_rank(aliases: Sequence[tuple[str, str]] | None = None) -> dict[str, tuple[str, int]]:
    """header key → (field, rank): the first alias of a key wins; GeoJSON coordinates rank first."""
    rank: dict[str, tuple[str, int]] = {}
    rows = (*_GEOMETRY_ALIASES, *(builtin_aliases() if aliases is None else aliases))
    for position, (header, field) in enumerate(rows):
        if field in FIELDS and str(header).strip():
            rank.setdefault(header_key(header), (field, position))
    return rank


@dataclass(frozen=True)
class ColumnMap:
    """Which input column feeds each canonical field, and which columns are personal data."""

    field_to_header: dict[str, str]
    id_number_headers: tuple[str, ...]  # dropped everywhere
    unused_headers: tuple[str, ...]  # kept only in a rejected row's raw_row, masked
    phone_headers: tuple[str, ...] = ()  # every column that could be a phone (not only the chosen one)
    name_headers: tuple[str, ...] = ()  # likewise for names

    def has_location(self) -> bool:
        return {"lon", "lat"} <= self.field_to_header.keys() or "district" in self.field_to_header

    def has_category(self) -> bool:
        return "category" in self.field_to_header or any(level in self.field_to_header for level in CATEGORY_LEVELS)

    def missing_fields(self) -> list[str]:
        """Labels of the required fields the file lacks (empty when it has them all)."""
        missing = [FIELD_LABELS[f] for f in REQUIRED_FIELDS
                   if f not in self.field_to_header and not (f == "category" and self.has_category())]
        if not self.has_location():
            missing.append("经纬度或区县 lon+lat or district")
        return missing

    def canonical_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The input's columns renamed to canonical fields; other columns left out.

        Category levels become one tree text ``一级>二级>三级`` in ``category`` (after a category
        column's own text, when the file has both); ``street`` fills a blank address, and is kept as
        ``street`` too (it can place a row whose address names no district).
        """
        fields = {field: frame[header] for field, header in self.field_to_header.items()
                  if field not in CATEGORY_LEVELS and field != "street"}
        levels = [frame[self.field_to_header[level]] for level in ("category", *CATEGORY_LEVELS)
                  if level in self.field_to_header]
        if len(levels) > 1:
            fields["category"] = join_levels(levels)
        elif levels:
            fields["category"] = levels[0]
        if "street" in self.field_to_header:
            street = frame[self.field_to_header["street"]]
            fields["address"] = fields["address"].fillna(street) if "address" in fields else street
            fields["street"] = street  # also read to place a row without a point (places.place_row)
        return pd.DataFrame(fields, index=frame.index)

    def describe(self) -> list[str]:
        """What each column was used for, in lines for people (the CLI prints them)."""
        used = ", ".join(f"{header}→{field}" for field, header in self.field_to_header.items())
        lines = [f"使用的列 columns used: {used}"]
        if self.unused_headers:
            lines.append(f"未使用的列 columns ignored: {', '.join(self.unused_headers)}")
        if self.id_number_headers:
            lines.append(f"身份证号列已丢弃 ID-number columns dropped: {', '.join(self.id_number_headers)}")
        return lines


def join_levels(levels: list[pd.Series]) -> pd.Series:
    """Category level columns as one tree text per row (``城乡建设>市政设施>路灯``), NaN when all blank."""
    parts = pd.concat([level.astype("str").str.strip() for level in levels], axis=1)
    parts = parts.where(parts != "")
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(parts.fillna("\0")))
    joined = [TREE_SEPARATOR.join(part for part in combination if part != "\0") or None for combination in uniques]
    return pd.Series(np.array(joined, dtype=object)[codes], index=parts.index, dtype="str")


_NAME_LIKE_HEADER = re.compile(r"姓名|名字|联系人|受理人|经办人|来电人|诉求人|投诉人|举报人|反映人|当事人|处理人|办理人|"
                               r"录入人|登记人|坐席|话务员|回访人|签收人|负责人|name")
_PHONE_LIKE_HEADER = re.compile(r"电话|手机|号码|联系方式|phone|mobile|tel")


def map_columns(headers: Iterable[object], aliases: Sequence[tuple[str, str]] | None = None) -> ColumnMap:
    """Match a file's headers to canonical fields (best alias wins; ID-number columns dropped).

    ``aliases``: ``(header, field)`` pairs, best first (a database's ``header_aliases`` table);
    the bundled table when None.
    """
    rank = alias_rank(aliases)
    best: dict[str, tuple[int, str]] = {}
    id_headers: list[str] = []
    unused: list[str] = []
    matched: dict[str, str] = {}
    for header in headers:
        key = header_key(header)
        match = rank.get(key)
        if match is None and _COMBINED.search(normalize_text(str(header))):
            match = rank.get(header_key(_COMBINED.split(normalize_text(str(header)))[-1]))
        if match is None:
            unused.append(str(header))
            continue
        field, position = match
        matched[str(header)] = field
        if field == "id_number":
            id_headers.append(str(header))
            continue
        if field not in best or position < best[field][0]:
            if field in best:
                unused.append(best[field][1])
            best[field] = (position, str(header))
        else:
            unused.append(str(header))
    # Personal data by what the alias says, and, for columns no alias knows, by the header's words.
    phone_headers = [h for h, f in matched.items() if f == "phone"]
    name_headers = [h for h, f in matched.items() if f == "name"]
    for header in unused:
        if header in matched:
            continue
        key = header_key(header)
        if _NAME_LIKE_HEADER.search(key):
            name_headers.append(header)
        elif _PHONE_LIKE_HEADER.search(key):
            phone_headers.append(header)
    return ColumnMap(
        field_to_header={field: header for field, (_, header) in best.items()},
        id_number_headers=tuple(id_headers),
        unused_headers=tuple(unused),
        phone_headers=tuple(phone_headers),
        name_headers=tuple(name_headers),
    )


class MissingColumnsError(UnusableFileError):
    """Required columns not found: carries the file's headers so a page can let a person assign them."""

    def __init__(self, message: str, headers: tuple[str, ...], missing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.headers, self.missing = headers, missing


def require_columns(column_map: ColumnMap, file_name: str, headers: Sequence[str] = ()) -> None:
    """Raise ``MissingColumnsError`` naming every required column the file lacks."""
    missing = column_map.missing_fields()
    if missing:
        # Not one known header: most often a title line above the real header row.
        hint = "；" + error("header_not_first") if not column_map.field_to_header else ""
        raise MissingColumnsError(missing_sentence(file_name, missing) + hint,
                                  headers=tuple(str(h) for h in headers), missing=tuple(missing))


def missing_sentence(file_name: str, missing: Sequence[str]) -> str:
    """The error sentence naming required columns a file lacks; each label reads ``"经度 lon"``."""
    return error("columns_missing", name=file_name, missing_zh="、".join(missing),
                 missing_en=", ".join(label.split(" ", 1)[1] for label in missing))


def known_header_count(cells: Iterable[object], rank: dict[str, tuple[str, int]] | None = None) -> int:
    """How many distinct fields the cells of a row name: how much it looks like a header row."""
    rank = alias_rank() if rank is None else rank
    fields = set()
    for cell in cells:
        if cell is None or (isinstance(cell, float) and np.isnan(cell)):
            continue
        text = normalize_text(str(cell))
        match = rank.get(header_key(text))
        if match is None and _COMBINED.search(text):
            match = rank.get(header_key(_COMBINED.split(text)[-1]))
        if match is not None:
            fields.add(match[0])
    return len(fields)
