"""SQL of the demo: strings are composed by DuckDB from the code lists bound as parameters."""

from __future__ import annotations

import re

from needsmap import schema, taxonomy
from needsmap.demo.geography import _geography
from needsmap.demo.model import _CATEGORY_CODES, _NUMBER_WORDS, _PLACE_SUFFIXES, _SYLLABLE_A, _SYLLABLE_B, _T
from needsmap.demo.people import _MASKED_NAMES, _NAMES

_RECORD_ID = "'ZJ' || strftime(created_at, '%Y') || '-' || lpad(CAST(seq AS VARCHAR), 9, '0')"
_PLACE = """($district_names[district + 1]
        || CASE WHEN place_kind IN (2, 4) THEN $syllable_a[s3 + 1] || $syllable_b[s4 + 1]
                ELSE $syllable_a[s1 + 1] || $syllable_b[s2 + 1] END
        || $place_suffixes[place_kind + 1])"""
_DESCRIPTION = f"""(CASE WHEN is_repeat THEN '再次反映：' ELSE '' END
        || replace(replace($templates[template + 1], '{{p}}', {_PLACE}), '{{n}}', $number_words[n_idx + 1]))"""
_ADDRESS = """($cities[district + 1] || $district_names[district + 1] || $syllable_a[s3 + 1] || $syllable_b[s4 + 1]
        || CASE WHEN $urban_rural[district + 1] = 'rural'
                THEN '镇' || $syllable_a[s1 + 1] || $syllable_b[s2 + 1] || '村'
                ELSE '路' END
        || CAST(house_no AS VARCHAR) || '号')"""

_INSERT_DEMANDS = f"""
INSERT INTO demands ({", ".join(schema.DEMAND_COLUMN_NAMES + schema.PLACE_COLUMN_NAMES)})
SELECT
    {_RECORD_ID},
    created_at,
    $category_codes[cat + 1],
    $subcategories[sub + 1],
    $category_labels[cat + 1],
    {_DESCRIPTION},
    lon,
    lat,
    $adcodes[district + 1],
    {_ADDRESS},
    $channel_codes[channel + 1],
    urgency,
    people_affected,
    $status_codes[status + 1],
    responded_at,
    resolved_at,
    feedback_at,
    NULLIF(satisfaction, 0),
    $group_codes[grp + 1],
    $urban_rural[district + 1],
    requester_hash,
    requester_phone_masked,
    CASE WHEN name_id >= 0 THEN $masked_names[name_id + 1] END,
    1,
    substr($adcodes[district + 1], 1, 4) || '00',
    'point'
FROM demo_chunk
"""

_TIME_FORMAT = "'%Y-%m-%d %H:%M:%S'"
CSV_HEADERS = (
    "工单编号", "受理时间", "诉求类别", "诉求子类", "诉求内容", "经度", "纬度", "区县", "地址", "来源渠道",
    "紧急程度", "影响人数", "办理状态", "响应时间", "办结时间", "回访时间", "满意度", "人群", "来电号码", "姓名",
)
_SELECT_HOTLINE_EXPORT = f"""
SELECT
    {_RECORD_ID} AS 工单编号,
    strftime(created_at, {_TIME_FORMAT}) AS 受理时间,
    $category_labels[cat + 1] AS 诉求类别,
    $subcategories[sub + 1] AS 诉求子类,
    {_DESCRIPTION} AS 诉求内容,
    lon AS 经度,
    lat AS 纬度,
    $district_names[district + 1] AS 区县,
    {_ADDRESS} AS 地址,
    $channel_labels[channel + 1] AS 来源渠道,
    $urgency_labels[urgency] AS 紧急程度,
    people_affected AS 影响人数,
    $status_labels[status + 1] AS 办理状态,
    strftime(responded_at, {_TIME_FORMAT}) AS 响应时间,
    strftime(resolved_at, {_TIME_FORMAT}) AS 办结时间,
    strftime(feedback_at, {_TIME_FORMAT}) AS 回访时间,
    CASE satisfaction WHEN 5 THEN '满意' WHEN 3 THEN '基本满意' WHEN 1 THEN '不满意' END AS 满意度,
    $group_labels[grp + 1] AS 人群,
    CASE WHEN phone > 0 THEN CAST(phone AS VARCHAR) END AS 来电号码,
    CASE WHEN name_id >= 0 THEN $names[name_id + 1] END AS 姓名
FROM demo_chunk
"""


def _code_lists() -> dict[str, list]:
    geo = _geography()
    return {
        "adcodes": geo.adcodes, "district_names": geo.names, "cities": geo.cities, "urban_rural": geo.urban_rural,
        "category_codes": _CATEGORY_CODES, "category_labels": [t.zh for t in taxonomy.CATEGORIES],
        "subcategories": _T["subcategories"], "templates": _T["templates"],
        "syllable_a": list(_SYLLABLE_A), "syllable_b": list(_SYLLABLE_B),
        "place_suffixes": list(_PLACE_SUFFIXES), "number_words": list(_NUMBER_WORDS),
        "channel_codes": [t.code for t in taxonomy.CHANNELS], "channel_labels": [t.zh for t in taxonomy.CHANNELS],
        "status_codes": [t.code for t in taxonomy.STATUSES], "status_labels": [t.zh for t in taxonomy.STATUSES],
        "group_codes": [t.code for t in taxonomy.GROUPS], "group_labels": [t.zh for t in taxonomy.GROUPS],
        "urgency_labels": [t.zh for t in taxonomy.URGENCY],
        "names": _NAMES, "masked_names": _MASKED_NAMES,
    }


def _parameters(sql: str) -> dict[str, list]:
    """The code lists a statement uses (DuckDB rejects unused named parameters)."""
    used = set(re.findall(r"\$([a-z_]+)", sql))
    return {name: values for name, values in _code_lists().items() if name in used}
