"""Small shared display pieces: KPI strip, markdown escaping, tables with translated headers
(numbers are written by ``needsmap.formatting``)."""

from __future__ import annotations

import math
import re

import pandas as pd
import streamlit as st

from needsmap import formatting, i18n, presentation, settings
from needsmap.formatting import fmt_num, fmt_pct
from needsmap.i18n import t
from needsmap.ui import data, state


# Everything Streamlit's markdown (titles, captions, labels, st.markdown) could read as syntax:
# CommonMark punctuation, raw HTML's < >, KaTeX's $, colour/directive colons (:red[…]).
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$^=&])")


def md_escape(text: object) -> str:
    """``text`` (a district name, a sub-category, a file name…) for a markdown element, shown as typed.

    Streamlit renders titles, captions, widget labels and ``st.markdown`` as markdown: a name like
    ``上城`区``` would become code, ``[x](…)`` a link, ``$…$`` math. Each such character is
    backslash-escaped; line breaks become spaces.
    """
    return _MARKDOWN_SYNTAX.sub(r"\\\1", " ".join(str(text).split()))


def kpi_strip(kpis: dict, lang: str, reference: dict | None = None, per_row: int = 4) -> None:
    """Eight headline numbers, ``per_row`` to a row; with ``reference`` (e.g. the province) each
    shows the difference.

    In public mode (``state.is_public``) counts of 1 … k−1 read "<k", and nothing of a selection
    too small to show (``presentation.enough_in``: k records and k distinct requesters) is shown.
    """
    public = state.is_public()
    k = data.k_anonymity() if public else 0
    too_few = public and not presentation.enough_in(kpis, k)

    def count(value: object) -> str:
        return formatting.small_count(value, k, group_too_small=too_few)

    def measured(text: str) -> str:
        return formatting.MISSING if too_few else text

    items = (
        ("k_records", count(kpis["records"]), None),
        ("k_requesters", ("≈ " if kpis.get("distinct_requesters_approx") else "") + count(kpis["distinct_requesters"]), None),
        ("k_urgent_share", measured(fmt_pct(kpis["urgent_share"])), "urgent_share"),
        ("k_unresolved", count(kpis["unresolved"]), None),
        ("k_overdue", count(kpis["overdue"]), None),
        ("k_resolution_rate", measured(fmt_pct(kpis["resolution_rate"])), "resolution_rate"),
        ("k_median_response", measured(f"{fmt_num(kpis['median_hours_to_response'])} {t('hours', lang)}"), "median_hours_to_response"),
        ("k_satisfaction", measured(fmt_num(kpis["mean_satisfaction"], 2)), "mean_satisfaction"),
    )
    # Rows of four (two beside the map in presentation mode): readable on a projector, no truncation.
    columns = [column for _ in range(0, len(items), per_row) for column in st.columns(per_row)]
    for column, (key, value, ref_key) in zip(columns, items, strict=True):
        delta = None
        if (reference is not None and ref_key and not too_few and reference.get(ref_key) is not None
                and kpis.get(ref_key) is not None):
            difference = float(kpis[ref_key]) - float(reference[ref_key])
            if not math.isnan(difference):
                delta = f"{formatting.difference(ref_key, difference, lang)} {t('vs_province', lang)}"
        inverse = ref_key in ("urgent_share", "median_hours_to_response")
        column.metric(t(key, lang), value, delta=delta, delta_color="inverse" if inverse else "normal")
        # Both counts per 10,000 residents: records (every call) and people (repeat calls once).
        rate_key = {"k_records": "per_10k", "k_requesters": "requesters_per_10k"}.get(key)
        if rate_key and kpis.get(rate_key) is not None:
            column.caption(t("per_10k_line", lang, value=measured(fmt_num(kpis[rate_key], 2))))


def table(frame: pd.DataFrame, *, where: object = st, column_config: dict | None = None, **kwargs) -> None:
    """``st.dataframe`` (in ``where``: a column, a tab) with every whole-number column written with
    thousands separators (12,345; the grid's default is 12345) and still sorting as numbers."""
    counts = {column: st.column_config.NumberColumn(format="%,d") for column in frame.columns
              if pd.api.types.is_integer_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])}
    where.dataframe(frame, column_config={**counts, **(column_config or {})}, **kwargs)


def file_uploader(label: str, types: list[str], lang: str, **kwargs: object) -> object:
    """``st.file_uploader`` whose own texts ("Upload", "1GB per file • CSV, …", and while a file is
    dragged over it "Drag and drop a file here") read in the page's language.

    Streamlit has no parameter for those texts (streamlit#10042 was closed unmerged), so in
    Chinese they are replaced by CSS scoped to this uploader (by its label, which Streamlit puts in
    the drop zone's ``aria-label``): the English text is sized to nothing and the Chinese drawn
    after it. Labels come from ``i18n`` (no quotes or backslashes), never from data.
    """
    if lang != "en":
        limit_mb = int(st.get_option("server.maxUploadSize"))
        limit = f"{limit_mb // 1024}GB" if limit_mb % 1024 == 0 else f"{limit_mb}MB"
        texts = {"button": t("uploader_button", lang), "drop": t("uploader_drop", lang),
                 "limit": t("uploader_limit", lang, limit=limit, types="、".join(kind.upper() for kind in types))}
        zone = f'[data-testid="stFileUploaderDropzone"][aria-label="{_css_text(label)}"]'
        st.html(f"""<style>
{zone} button [data-testid="stMarkdownContainer"] p,
{zone} [data-testid="stFileUploaderDropzoneInstructions"] span,
{zone} > div:not([data-testid]) span {{ font-size: 0 !important; }}
{zone} button [data-testid="stMarkdownContainer"] p::after {{ content: "{_css_text(texts['button'])}"; font-size: 0.875rem; }}
{zone} [data-testid="stFileUploaderDropzoneInstructions"] span::after {{ content: "{_css_text(texts['limit'])}"; font-size: 0.875rem; }}
{zone} > div:not([data-testid]) span::after {{ content: "{_css_text(texts['drop'])}"; font-size: 1rem; }}
</style>""")
    return st.file_uploader(label, type=types, **kwargs)


def _css_text(text: str) -> str:
    """``text`` inside a CSS string: quotes, backslashes and angle brackets escaped."""
    return "".join(f"\\{ord(ch):x} " if ch in '"\\<>\n' else ch for ch in text)


def with_headers(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``frame`` with each column named by its ``c_<column>`` label (columns without one keep their name)."""
    return frame.rename(columns={column: t(f"c_{column}", lang) for column in frame.columns if f"c_{column}" in i18n.STRINGS})


def overdue_days() -> int:
    return settings.get("resolve_days_target")
