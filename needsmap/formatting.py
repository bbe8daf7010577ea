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


def difference(measure: str, value: float) -> str:
    """A signed difference of ``measure``: ``+1.5 pt`` for shares, else ``+0.25``."""
    return f"{value * 100:+.1f} pt" if measure in PERCENT_MEASURES else f"{value:+.2f}"


def gap_cell(row: object, lang: str, *, name_difference: bool = False) -> str:
    """The urban/rural gap of one ``queries.gap_summary`` row (``kind``, ``measure``, ``gap``,
    ``low``, ``high``) with its 95 % interval: ``县域 ÷ 城区 = 1.52× (1.31–1.75)`` for a ratio,
    ``+3.1 pt (+1.0 – +5.2)`` for a difference of shares, ``+2.40 (+0.80 – +4.10)`` otherwise.
    Without an interval (too few districts to judge their spread) the gap alone, then ``(–)``.
    ``name_difference`` writes the words for a difference in front, as the ratio has its own."""
    if missing(row.gap):
        return MISSING
    no_interval = missing(row.low)
    if row.kind == "ratio":
        interval = MISSING if no_interval else f"{fmt_num(row.low, 2)}–{fmt_num(row.high, 2)}"
        return f"{t('gap_ratio', lang)} = {fmt_num(row.gap, 2)}× ({interval})"
    if row.measure in PERCENT_MEASURES:
        value = f"{row.gap * 100:+.1f} pt"
        interval = MISSING if no_interval else f"{row.low * 100:+.1f} – {row.high * 100:+.1f}"
    else:
        value = f"{row.gap:+.2f}"
        interval = MISSING if no_interval else f"{row.low:+.2f} – {row.high:+.2f}"
    text = f"{value} ({interval})"
    return f"{t('gap_difference', lang)} = {text}" if name_difference else text


def place_names(districts: pd.DataFrame) -> dict[str, str]:
    """adcode → name of every district and city, from ``queries.districts`` (for titles,
    breadcrumbs and ``Filter.describe``)."""
    names = dict(zip(districts["adcode"], districts["name"], strict=True))
    names.update(dict(zip(districts["city_adcode"], districts["city"], strict=True)))
    return names
