"""Header aliases: which column of an input file holds which canonical field.

Input files come with English canonical names (``record_id``, ``created_at``, ``lon`` …, see
``schema.DEMAND_COLUMN_NAMES``) or with the Chinese headers of hotline exports (工单编号,
受理时间, 经度 …). Headers are compared after ``taxonomy.normalize_text`` (NFKC, no white
space, lower-case ASCII), with bracketed notes such as ``经度(GCJ-02)`` and the marks ``* _ -
:`` removed. When two columns name the same field, the one whose alias comes first in
``HEADER_ALIASES`` wins (受理时间 before 来电时间); the other stays only in a rejected row's
``raw_row``. Columns of national ID numbers are dropped entirely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from needsmap.errors import UnusableFileError
from needsmap.taxonomy import normalize_text

# canonical field → header aliases, best first. ``geometry.lon/lat`` are a GeoJSON point's own
# coordinates (set by the reader), which win over any lon/lat property.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "record_id": ("record_id", "工单编号", "工单号", "工单id", "受理编号", "事件编号", "诉求编号", "编号", "单号",
                  "id", "recordid", "ticket_id", "case_id"),
    "created_at": ("created_at", "受理时间", "来电时间", "登记时间", "创建时间", "诉求时间", "反映时间", "发生时间",
                   "时间", "日期", "created", "date", "time", "timestamp"),
    "category": ("category", "诉求类别", "诉求类型", "诉求分类", "问题类别", "问题类型", "事项类别", "类别", "类型",
                 "分类", "source_category", "type"),
    "subcategory": ("subcategory", "诉求子类", "子类别", "子类", "诉求小类", "小类", "二级分类", "sub_category"),
    "description": ("description", "诉求内容", "诉求描述", "问题描述", "内容", "描述", "详细内容", "事项内容", "content",
                    "text"),
    "lon": ("geometry.lon", "lon", "经度", "lng", "long", "longitude", "x坐标", "坐标x"),
    "lat": ("geometry.lat", "lat", "纬度", "latitude", "y坐标", "坐标y"),
    "district": ("district", "district_adcode", "区县", "区县名称", "所属区县", "区县代码", "行政区", "行政区划", "区划代码",
                 "县区", "区", "adcode", "county"),
    "address": ("address", "地址", "诉求地址", "事发地址", "详细地址", "事发地点", "地点", "location"),
    "channel": ("channel", "来源渠道", "渠道", "受理渠道", "来源", "source"),
    "urgency": ("urgency", "紧急程度", "紧急度", "缓急程度", "priority"),
    "people_affected": ("people_affected", "影响人数", "涉及人数", "人数", "affected"),
    "status": ("status", "办理状态", "工单状态", "处理状态", "状态"),
    "responded_at": ("responded_at", "响应时间", "首次响应时间", "签收时间", "response_time"),
    "resolved_at": ("resolved_at", "办结时间", "完成时间", "解决时间", "resolution_time"),
    "feedback_at": ("feedback_at", "回访时间", "反馈时间", "feedback_time"),
    "satisfaction": ("satisfaction", "满意度", "满意度评价", "评价", "评价结果"),
    "requester_group": ("requester_group", "人群", "人群类别", "人群类型", "诉求人类型", "群体", "group"),
    "phone": ("phone", "来电号码", "联系电话", "电话", "电话号码", "手机", "手机号", "手机号码", "联系方式", "mobile",
              "tel", "requester_phone"),
    "name": ("name", "姓名", "诉求人", "诉求人姓名", "来电人", "来电人姓名", "联系人", "requester_name"),
}

# Headers of national ID numbers (身份证号): such a column is never read, stored or echoed.
ID_NUMBER_HEADERS: tuple[str, ...] = ("身份证号", "身份证", "身份证号码", "证件号", "证件号码", "公民身份号码",
                                      "诉求人身份证号", "id_number", "id_card", "idcard", "id_no")

# Fields a file must have; a location is lon+lat, or district.
REQUIRED_FIELDS = ("record_id", "created_at", "category")
_FIELD_LABELS = {"record_id": "工单编号 record_id", "created_at": "受理时间 created_at", "category": "诉求类别 category"}

_BRACKETED = re.compile(r"\(.*?\)|\[.*?\]|【.*?】|〔.*?〕")
_MARKS = re.compile(r"[*_\-:]")


def header_key(header: object) -> str:
    """A header folded for comparison: ``' 经度（GCJ-02）'`` → ``'经度'``, ``'Record ID'`` → ``'recordid'``."""
    folded = normalize_text(str(header)).lstrip("\ufeff")
    return _MARKS.sub("", _BRACKETED.sub("", folded))


_ALIAS_RANK: dict[str, tuple[str, int]] = {}
for _field, _aliases in HEADER_ALIASES.items():
    for _rank, _alias in enumerate(_aliases):
        _ALIAS_RANK.setdefault(header_key(_alias), (_field, _rank))
_ID_KEYS = frozenset(header_key(h) for h in ID_NUMBER_HEADERS)


@dataclass(frozen=True)
class ColumnMap:
    """Which input column feeds each canonical field, and which columns are personal data."""

    field_to_header: dict[str, str]
    id_number_headers: tuple[str, ...]  # dropped everywhere
    unused_headers: tuple[str, ...]  # kept only in a rejected row's raw_row

    @property
    def phone_headers(self) -> tuple[str, ...]:
        return self._headers_of("phone")

    @property
    def name_headers(self) -> tuple[str, ...]:
        return self._headers_of("name")

    def _headers_of(self, field: str) -> tuple[str, ...]:
        # Every column that *could* be the field (not only the chosen one) is personal data.
        return tuple(h for h in (*self.field_to_header.values(), *self.unused_headers)
                     if _ALIAS_RANK.get(header_key(h), ("",))[0] == field)

    def has_location(self) -> bool:
        return {"lon", "lat"} <= self.field_to_header.keys() or "district" in self.field_to_header

    def missing_fields(self) -> list[str]:
        """Labels of the required fields the file lacks (empty when it has them all)."""
        missing = [_FIELD_LABELS[f] for f in REQUIRED_FIELDS if f not in self.field_to_header]
        if not self.has_location():
            missing.append("经纬度或区县 lon+lat or district")
        return missing

    def canonical_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The input's columns renamed to canonical fields; other columns left out."""
        return pd.DataFrame({field: frame[header] for field, header in self.field_to_header.items()},
                            index=frame.index)


def map_columns(headers: Iterable[object]) -> ColumnMap:
    """Match a file's headers to canonical fields (best alias wins; ID-number columns dropped)."""
    best: dict[str, tuple[int, str]] = {}
    id_headers: list[str] = []
    unused: list[str] = []
    for header in headers:
        key = header_key(header)
        if key in _ID_KEYS:
            id_headers.append(str(header))
            continue
        match = _ALIAS_RANK.get(key)
        if match is None:
            unused.append(str(header))
            continue
        field, rank = match
        if field not in best or rank < best[field][0]:
            if field in best:
                unused.append(best[field][1])
            best[field] = (rank, str(header))
        else:
            unused.append(str(header))
    return ColumnMap(
        field_to_header={field: header for field, (_, header) in best.items()},
        id_number_headers=tuple(id_headers),
        unused_headers=tuple(unused),
    )


def require_columns(column_map: ColumnMap, file_name: str) -> None:
    """Raise ``UnusableFileError`` naming every required column the file lacks."""
    missing = column_map.missing_fields()
    if missing:
        # Not one known header: most often a title line above the real header row.
        hint = ("；第一行不是表头，表头须在文件的第一行 (the first row is not a header: the header must be the file's"
                " first row)") if not column_map.field_to_header else ""
        raise UnusableFileError(
            f"{file_name} 缺少必需列：{'、'.join(missing)} (missing required columns: "
            f"{', '.join(label.split(' ', 1)[1] for label in missing)}){hint}"
        )
