"""Figures and places as people read them, framework-free and written once.

The pages (through ``ui/widgets``'s KPI strip), the gap page, the needs map's tooltips and the
briefing print numbers, shares, small counts and urban/rural gaps with these functions, so a
figure reads the same on the screen and on paper. A missing value prints as ``MISSING`` ("–").
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from needsmap.i18n import t

MISSING = "–"
# Measures that are shares (0–1): printed as percentages, their differences in percentage points.
PERCENT_MEASURES = frozenset({"urgent_share", "responded_within_target_share", "resolution_rate"})


def missing(value: object) -> bool:
    """True for None, NaN and pandas' NA."""
    return value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and math.isnan(value))


def fmt_int(value: object) -> str:
    """A count with thousands separators: ``12,345``."""
    return MISSING if missing(value) else f"{int(value):,}"


def fmt_pct(value: object) -> str:
    """A share (0–1) as a percentage with one decimal: ``0.1234`` → ``12.3%``."""
    return MISSING if missing(value) else f"{float(value) * 100:.1f}%"


def fmt_num(value: object, digits: int = 1) -> str:
    """A number with thousands separators and ``digits`` decimals."""
    return MISSING if missing(value) else f"{float(value):,.{digits}f}"


def small_count(value: object, k: int, *, group_too_small: bool = False) -> str:
    """A count for a public document or screen: counts of 1 … k−1 read ``<k`` (k = 0: never).

    ``group_too_small``: the group counted is itself too small to show (fewer than k records or
    k distinct requesters, e.g. five calls from one person), so its larger counts read ``MISSING``.
    """
    if not missing(value) and 0 < float(value) < k:
        return f"<{k}"
    return MISSING if group_too_small and not missing(value) and float(value) > 0 else fmt_int(value)


def measure_value(measure: str, value: object) -> str:
    """One value of a gap-page measure: shares as percentages, the rest with two decimals."""
    return fmt_pct(value) if measure in PERCENT_MEASURES else fmt_num(value, 2)


# The unit a difference of each measure is in (i18n keys); shares differ in percentage points.
DIFFERENCE_UNITS = {"median_hours_to_response": "unit_hours", "mean_satisfaction": "unit_satisfaction",
                    "per_10k": "unit_per_10k", "requesters_per_10k": "unit_per_10k",
                    "demands_per_10k": "unit_per_10k"}


def _unit(measure: str, lang: str) -> str:
    key = "unit_points" if measure in PERCENT_MEASURES else DIFFERENCE_UNITS.get(measure)
    return f" {t(key, lang)}" if key else ""


def difference(measure: str, value: float, lang: str = "zh") -> str:
    """A signed difference of ``measure`` with its unit: ``+1.5 个百分点`` (``+1.5 pp``) for shares,
    ``-2.50 小时`` for hours, ``+0.25`` for a measure without one. The sign is ASCII (``st.metric``
    reads a leading ``-`` as a fall)."""
    number = f"{value * 100:+.1f}" if measure in PERCENT_MEASURES else f"{value:+.2f}"
    return number + _unit(measure, lang)


def gap_cell(row: object, lang: str, *, name_difference: bool = False) -> str:
    """The urban/rural gap of one ``queries.gap_summary`` row (``kind``, ``measure``, ``gap``,
    ``low``, ``high``) with its 95 % interval: ``县域 ÷ 城区 = 1.52× (1.31–1.75)`` for a ratio,
    ``+3.1 pp (+1.0 – +5.2)`` for a difference of shares, ``+2.40 h (+0.80 – +4.10)`` for hours.
    Without an interval (too few districts to judge their spread) the gap alone, then ``(–)``.
    ``name_difference`` writes the words for a difference in front, as the ratio has its own."""
    if missing(row.gap):
        return MISSING
    no_interval = missing(row.low)
    if row.kind == "ratio":
        interval = MISSING if no_interval else f"{fmt_num(row.low, 2)}–{fmt_num(row.high, 2)}"
        return f"{t('gap_ratio', lang)} = {fmt_num(row.gap, 2)}× ({interval})"
    value = difference(row.measure, row.gap, lang)
    if row.measure in PERCENT_MEASURES:
        interval = MISSING if no_interval else f"{row.low * 100:+.1f} – {row.high * 100:+.1f}"
    else:
        interval = MISSING if no_interval else f"{row.low:+.2f} – {row.high:+.2f}"
    text = f"{value} ({interval})"
    return f"{t('gap_difference', lang)} = {text}" if name_difference else text


def place_names(districts: pd.DataFrame) -> dict[str, str]:
    """adcode → name of every district and city, from ``queries.districts`` (for titles,
    breadcrumbs and ``Filter.describe``)."""
    names = dict(zip(districts["adcode"], districts["name"], strict=True))
    names.update(dict(zip(districts["city_adcode"], districts["city"], strict=True)))
    return names


def supply_distance_note(distances: dict[str, object], minutes: int, lang: str) -> str:
    """The sentence saying which distance the supply figures use (``CategorySupply.distances``):
    walking along the road network, with the records and facilities measured in straight line
    because they lie off it, or straight line × the detour factor."""
    from needsmap import network, supply

    walk = supply.LIFE_CIRCLE_WALK_M[minutes]
    if distances.get("kind") == "network":
        return t("supply_network_note", lang, network=distances.get("network") or "—", walk=walk,
                 snap=network.SNAP_MAX_M, records=int(distances["records_off_network"]),
                 facilities=int(distances["facilities_off_network"]), detour=supply.DETOUR_FACTOR)
    return t("supply_distance_note", lang, detour=supply.DETOUR_FACTOR, walk=walk,
             radius=supply.catchment_radius_m(minutes))


# Suffixes of Zhejiang's place names in English (longest first); a prefecture city takes none.
_PLACE_SUFFIXES = (("畲族自治县", " She Autonomous County"), ("自治县", " Autonomous County"), ("区", " District"),
                   ("县", " County"), ("市", " City"))


def place_pinyin(name: str, *, city: bool = False) -> str:
    """A Chinese place name in pinyin for English readers: ``西湖区`` → ``Xihu District``,
    ``磐安县`` → ``Pan'an County``, ``杭州市`` (``city``: a prefecture) → ``Hangzhou``.
    Names already in Latin letters come back unchanged."""
    from pypinyin import lazy_pinyin

    text = str(name).strip()
    if not text or text.isascii():
        return text
    suffix = ""
    for chinese, english in _PLACE_SUFFIXES:
        if text.endswith(chinese) and len(text) > len(chinese):
            text, suffix = text[: -len(chinese)], "" if city else english
            break
    syllables = lazy_pinyin(text)
    # An apostrophe before a syllable starting with a vowel: Pan'an, not Panan (Pa-nan).
    word = syllables[0] + "".join(("'" if s[:1] in "aoe" else "") + s for s in syllables[1:])
    return word[:1].upper() + word[1:] + suffix
