"""Presentation (public) mode, framework-free: the title in words and small-count suppression.

A council meeting sees the screen, not the filters: the title states the place, the period and
the filters in words (``杭州市 · 2025年7–9月 · 养老服务``). What is shown in public is aggregated,
and an aggregate over fewer than k records (setting ``k_anonymity``, default 5) could point at a
household, so such numbers are suppressed (shown as "too few") or merged into one group.

The rule itself lives here once (``PUBLIC_COUNT_COLUMNS``, ``enough_to_show``); the data layer
(``needsmap.ui.data``) applies it to every grouped result whenever the page is public, so pages
get results already suppressed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from needsmap import formatting
from needsmap.filters import Filter
from needsmap.i18n import t, term

RATE_MEASURES = ("per_10k", "smoothed_per_10k")

# The public-mode rule, in one place: a group (a district, a category, a cluster, a map cell, the
# whole selection) is shown in public only if it counts at least k in each of these columns of
# its query result. Counting people as well as records is this one line:
# ("records", "distinct_requesters") — the grouped results then need that column.
PUBLIC_COUNT_COLUMNS: tuple[str, ...] = ("records",)
# Category codes of rows made in public mode: small categories merged, all categories summed.
MERGED_CATEGORIES = "__merged__"
ALL_CATEGORIES = "__all__"


def enough_to_show(groups: pd.DataFrame, k: int, count_columns: Sequence[str] = PUBLIC_COUNT_COLUMNS) -> np.ndarray:
    """True for each group (row) that counts at least k in every one of ``count_columns``."""
    enough = np.ones(len(groups), dtype=bool)
    for column in count_columns:
        enough &= groups[column].astype("float64").fillna(0).to_numpy() >= k
    return enough


def enough_in(counts: Mapping[str, object], k: int, count_columns: Sequence[str] = PUBLIC_COUNT_COLUMNS) -> bool:
    """``enough_to_show`` for one group given as a mapping (e.g. ``queries.kpis``)."""
    return bool(enough_to_show(pd.DataFrame([{c: counts.get(c) for c in count_columns}]), k, count_columns)[0])


def suppress_small_groups(frame: pd.DataFrame, k: int, count_columns: Sequence[str] = PUBLIC_COUNT_COLUMNS) -> pd.DataFrame:
    """The rows of ``frame`` that may be shown in public (``enough_to_show``); the others left out."""
    return frame[enough_to_show(frame, k, count_columns)]


def title(f: Filter, lang: str, place_names: Mapping[str, str] | None = None,
          data_first: date | None = None, data_last: date | None = None) -> str:
    """Place · period · filters in words, e.g. ``杭州市 · 2025年7–9月 · 养老服务``.

    The period is always stated: where the filter leaves a side open, the data's own first or
    last day (``data_first``/``data_last``) stands in, so the screen never says less than it shows.
    """
    return f.with_changes(date_from=f.date_from or data_first, date_to=f.date_to or data_last).describe(lang, place_names)


def suppress_small_counts(frame: pd.DataFrame, count_columns: Sequence[str], k: int, *,
                          dependent_columns: Sequence[str] = ()) -> pd.DataFrame:
    """A copy where small numbers are blanked (NaN), and a boolean ``suppressed`` column.

    Each count in ``count_columns`` between 1 and k−1 becomes NaN (0 reveals no one and stays).
    Where the row is too few to show (``too_few_mask``), the whole row's counts and
    ``dependent_columns`` (rates, scores, shares computed from those records) become NaN too,
    and ``suppressed`` is True.
    """
    out = frame.copy()
    too_few = pd.Series(too_few_mask(out, k), index=out.index)
    for column in count_columns:
        values = out[column].astype("float64")
        out[column] = values.mask(((values > 0) & (values < k)) | too_few)
    for column in dependent_columns:
        out[column] = out[column].astype("float64").mask(too_few)
    out["suppressed"] = too_few.to_numpy()
    return out


def merge_small_groups(frame: pd.DataFrame, label_column: str, count_column: str, k: int, other_label: str) -> pd.DataFrame:
    """Rows with fewer than k in ``count_column`` merged into one row labelled ``other_label``.

    The merged row has only the label and the summed count; if even the sum is below k it is
    left out. Other rows keep their columns. Order: the kept rows as given, then the merged row.
    """
    counts = frame[count_column].astype("float64")
    small = ~enough_to_show(frame, k)
    kept = frame[~small]
    merged_total = float(counts[small].sum())
    if not small.any() or merged_total < k:
        return kept.reset_index(drop=True)
    merged = pd.DataFrame({label_column: [other_label], count_column: [merged_total]})
    out = pd.concat([kept, merged], ignore_index=True)
    return out


def district_aggregates(measures: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per-district numbers safe to hand out: the counts and rates of ``queries.district_measures``
    with small counts suppressed (see ``suppress_small_counts``; rates need k records).

    Columns: city, adcode, name, urban_rural, population_2020, records, unresolved, overdue,
    urgent, per_10k, smoothed_per_10k, suppressed.
    """
    columns = ["city", "adcode", "name", "urban_rural", "population_2020", "records", "unresolved", "overdue", "urgent",
               "per_10k", "smoothed_per_10k"]
    table = suppress_small_counts(measures[columns], ["records", "unresolved", "overdue", "urgent"], k,
                                  dependent_columns=["per_10k", "smoothed_per_10k"])
    for column in ("per_10k", "smoothed_per_10k"):
        table[column] = table[column].round(3)
    return table


def too_few_mask(groups: pd.DataFrame, k: int) -> np.ndarray:
    """True where a group has some records but not enough to show (drawn as "too few", no value);
    a group of none reveals no one and keeps its 0."""
    return (groups["records"].astype("float64").fillna(0).to_numpy() > 0) & ~enough_to_show(groups, k)


def map_frame(measures: pd.DataFrame, measure: str, *, lang: str, public: bool, k: int) -> pd.DataFrame:
    """What the needs map draws per district: adcode, ``measure`` (NaN = no colour), ``value_text``
    and ``top_text`` (the tooltip's words).

    Rates need ``rankable`` districts (enough records to be honest); in presentation mode a
    district with fewer than k records shows no number at all, just "too few records".
    """
    shown = measures[list(dict.fromkeys(["adcode", measure, "records", *PUBLIC_COUNT_COLUMNS, "rankable", "top_categories"]))].copy()
    values = shown[measure].astype("float64")
    if measure in RATE_MEASURES:
        values = values.where(shown["rankable"])
    hidden = too_few_mask(shown, k) if public else np.zeros(len(shown), dtype=bool)
    values = values.mask(hidden)
    digits = 2 if measure in RATE_MEASURES else 0
    shown[measure] = values
    shown["value_text"] = [t("too_few", lang) if hide else formatting.fmt_num(v, digits)
                           for v, hide in zip(values, hidden, strict=True)]
    shown["top_text"] = ["–" if hide else "、".join(term("category", c, lang) for c in codes)
                         for codes, hide in zip(shown["top_categories"], hidden, strict=True)]
    return shown[["adcode", measure, "value_text", "top_text"]]


def ranking(measures: pd.DataFrame, k: int, top: int = 15) -> pd.DataFrame:
    """Districts with the most demands per 10,000 (smoothed) among those rankable and with at
    least k records, largest first: name, city, smoothed_per_10k."""
    eligible = measures[measures["rankable"] & enough_to_show(measures, k)]
    return eligible.sort_values("smoothed_per_10k", ascending=False).head(top)[["name", "city", "smoothed_per_10k"]]


def monthly_totals(trend: pd.DataFrame, label_column: str, total_label: str, k: int) -> pd.DataFrame:
    """One line instead of one per category: records per month (``queries.monthly_trend``
    summed), months under k records blanked. Columns: month, ``label_column``, records."""
    totals = trend.groupby("month", as_index=False)["records"].sum()
    totals[label_column] = total_label
    return suppress_small_counts(totals, ["records"], k).drop(columns="suppressed")
