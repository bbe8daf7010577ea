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

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from needsmap import formatting
from needsmap.filters import Filter
from needsmap.i18n import t, term

RATE_MEASURES = ("per_10k", "smoothed_per_10k", "requesters_per_10k", "smoothed_requesters_per_10k")
# Map measures that count people (distinct requesters) rather than records.
PEOPLE_MEASURES = ("distinct_requesters", "requesters_per_10k", "smoothed_requesters_per_10k")

# The public-mode rule, in one place: a group (a district, a category, a need, a map cell, the
# whole selection) is shown in public only if it counts at least k in each of these columns of
# its query result: k records *and* k distinct requesters, because privacy is about people — five
# calls from one person are one person's figures. Every grouped query result carries both columns.
PUBLIC_COUNT_COLUMNS: tuple[str, ...] = ("records", "distinct_requesters")
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


def both_sides_shown(by_area: pd.DataFrame, k: int) -> bool:
    """Whether an urban/rural comparison may be shown: both sides' totals (``queries.urban_rural_gap``
    rows of category ``__all__``) are big enough to show; with one small side it would show that
    side's figures."""
    overall = by_area[by_area["category"] == ALL_CATEGORIES]
    return {"urban", "rural"} <= set(overall.loc[enough_to_show(overall, k), "urban_rural"])


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


def merge_small_groups(frame: pd.DataFrame, label_column: str, count_column: str, k: int, other_label: str,
                       merged_requesters: int | None = None) -> pd.DataFrame:
    """Rows too small to show (``enough_to_show``) merged into one row labelled ``other_label``.

    The merged row has only the label, the summed count and ``merged_requesters`` (the distinct
    requesters of the merged rows together — not a sum, one person may be in several); it is
    left out unless it is big enough to show itself (unknown requesters: left out). Other rows
    keep their columns. Order: the kept rows as given, then the merged row.
    """
    counts = frame[count_column].astype("float64")
    small = ~enough_to_show(frame, k)
    kept = frame[~small]
    merged_total = float(counts[small].sum())
    merged = {label_column: other_label, count_column: merged_total, "distinct_requesters": merged_requesters}
    if not small.any() or merged_requesters is None or not enough_in(merged, k):
        return kept.reset_index(drop=True)
    return pd.concat([kept, pd.DataFrame([merged])], ignore_index=True)


def merge_small_categories(counts: pd.DataFrame, label_column: str, k: int, other_label: str,
                           requesters_of: Callable[[tuple[str, ...]], int]) -> pd.DataFrame:
    """``merge_small_groups`` of per-category counts (``category``, ``records``, ``distinct_requesters``):
    the merged row's people are ``requesters_of(the small categories' codes)``, asked of the
    database so that a person who called about several of them counts once."""
    small = tuple(counts.loc[~enough_to_show(counts, k), "category"])
    return merge_small_groups(counts, label_column, "records", k, other_label, requesters_of(small) if small else 0)


def district_aggregates(measures: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per-district numbers safe to hand out: the counts and rates of ``queries.district_measures``
    with small counts suppressed (see ``suppress_small_counts``; rates need k records).

    Columns: city, adcode, name, urban_rural, population_2020, records, distinct_requesters,
    unresolved, overdue, urgent, per_10k, smoothed_per_10k, requesters_per_10k, suppressed.
    """
    columns = ["city", "adcode", "name", "urban_rural", "population_2020", "records", "distinct_requesters", "unresolved",
               "overdue", "urgent", "per_10k", "smoothed_per_10k", "requesters_per_10k"]
    table = suppress_small_counts(measures[columns], ["records", "distinct_requesters", "unresolved", "overdue", "urgent"], k,
                                  dependent_columns=["per_10k", "smoothed_per_10k", "requesters_per_10k"])
    for column in ("per_10k", "smoothed_per_10k", "requesters_per_10k"):
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
    separator = "、" if lang == "zh" else ", "
    shown["top_text"] = ["–" if hide else separator.join(term("category", c, lang) for c in codes)
                         for codes, hide in zip(shown["top_categories"], hidden, strict=True)]
    columns = ["adcode", measure, "value_text", "top_text"]
    if lang == "en" and {"name", "city"} <= set(measures.columns):
        # Place names stay as written; the English tooltip adds their pinyin (西湖区 (Xihu District)).
        shown["tip_name"] = [f"{name} ({formatting.place_pinyin(name)})" for name in measures["name"]]
        shown["tip_city"] = [f"{city} ({formatting.place_pinyin(city, city=True)})" for city in measures["city"]]
        columns += ["tip_name", "tip_city"]
    return shown[columns]


def ranking(measures: pd.DataFrame, k: int, top: int = 15, by: str = "smoothed_per_10k") -> pd.DataFrame:
    """Districts with the most demands (or, ``by="smoothed_requesters_per_10k"``, distinct
    requesters) per 10,000 (smoothed) among those rankable and big enough to show, largest first:
    name, city, ``by``."""
    eligible = measures[measures["rankable"] & enough_to_show(measures, k)]
    return eligible.sort_values(by, ascending=False).head(top)[["name", "city", by]]


def ranking_measure(map_measure: str) -> str:
    """The smoothed rate districts are ranked by beside a map of ``map_measure``: per person when
    the map counts people, else per record."""
    return "smoothed_requesters_per_10k" if map_measure in PEOPLE_MEASURES else "smoothed_per_10k"


def monthly_totals(totals: pd.DataFrame, label_column: str, total_label: str, k: int) -> pd.DataFrame:
    """One line instead of one per category: ``totals`` (``queries.monthly_totals``: month,
    records, distinct_requesters) labelled ``total_label``, months too small to show blanked.
    Columns: month, ``label_column``, records."""
    out = suppress_small_counts(totals, ["records"], k)
    out[label_column] = total_label
    return out[["month", label_column, "records"]]
