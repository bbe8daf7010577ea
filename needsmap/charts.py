"""plotly figure builders: frames in, figures out; no queries, no Streamlit.

Labels arrive already translated. Plotly reads a little HTML in any text it draws (``<b>``,
``<br>``, ``<a href>``, entities), so every label, name and title is HTML-escaped here and a
district called ``<b>x</b>`` shows exactly that. The font stack names CJK fonts so Chinese
renders on a projector PC.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, WenQuanYi Micro Hei, sans-serif"
URBAN_COLOUR, RURAL_COLOUR = "#1b7837", "#762a83"  # colour-blind-safe pair (PRGn ends)
BAR_COLOUR, PROVINCE_COLOUR = "#f03b20", "#969696"


def _text(value: object) -> str:
    """One label as plotly shows it literally: its HTML-like markup escaped."""
    return html.escape(str(value), quote=False)


def _texts(values: Iterable[object]) -> list[str]:
    return [_text(value) for value in values]


# Type sizes in px: on screen, and on a projector (``large``). Each is set on the title, ticks and
# legend themselves: Streamlit's plotly theme sets those and would win over the layout's font.
SIZES = {False: {"text": 13, "title": 15}, True: {"text": 20, "title": 24}}


def _layout(fig: go.Figure, title: str, height: int = 360, large: bool = False) -> go.Figure:
    size = SIZES[large]
    fig.update_layout(
        title={"text": _text(title), "x": 0, "font": {"size": size["title"]}}, height=height,
        margin={"l": 10, "r": 10, "t": 60 if large else 50, "b": 10},
        font={"family": FONT, "size": size["text"]}, plot_bgcolor="white",
        legend={"orientation": "h", "font": {"size": size["text"]}},
        hoverlabel={"font": {"size": size["text"]}},
    )
    fig.update_xaxes(gridcolor="#eee", tickfont={"size": size["text"]}, title_font={"size": size["text"]})
    fig.update_yaxes(gridcolor="#eee", tickfont={"size": size["text"]}, title_font={"size": size["text"]})
    return fig


def category_bars(frame: pd.DataFrame, label_column: str, value_column: str, title: str, large: bool = False) -> go.Figure:
    """Horizontal bars, largest on top."""
    ordered = frame.sort_values(value_column)
    # Full numbers with thousands separators on the bars and the axis (12,345; plotly writes 12345 and 10k).
    fig = go.Figure(go.Bar(x=ordered[value_column], y=_texts(ordered[label_column]), orientation="h", marker_color=BAR_COLOUR,
                           text=ordered[value_column], texttemplate="%{x:,}", textposition="outside", cliponaxis=False))
    fig.update_xaxes(tickformat=",")
    return _layout(fig, title, height=max(260, (36 if large else 28) * len(ordered) + 80), large=large)


# Month ticks in the page's language: plotly's own are English ("Jan 2024") whatever the page.
MONTH_TICKS = {"zh": "%Y年%-m月", "en": "%b %Y"}


def monthly_lines(frame: pd.DataFrame, label_column: str, title: str, top_n: int = 6, large: bool = False,
                  lang: str = "zh") -> go.Figure:
    """Monthly records, one line per label (the top_n largest; the rest summed as the last line)."""
    totals = frame.groupby(label_column)["records"].sum().sort_values(ascending=False)
    keep = list(totals.index[:top_n])
    fig = go.Figure()
    for label in keep:
        part = frame[frame[label_column] == label]
        fig.add_trace(go.Scatter(x=part["month"], y=part["records"], mode="lines+markers", name=_text(label)))
    month = MONTH_TICKS.get(lang, MONTH_TICKS["en"])
    fig.update_xaxes(tickformat=month, hoverformat=month)
    fig.update_yaxes(rangemode="tozero", tickformat=",")  # counts from zero: an axis from 6 up makes small changes look steep
    return _layout(fig, title, large=large)


def gap_dumbbell(frame: pd.DataFrame, label_column: str, urban_column: str, rural_column: str,
                 urban_name: str, rural_name: str, title: str, large: bool = False) -> go.Figure:
    """One row per category: an urban dot, a rural dot, and the line between (the gap)."""
    ordered = frame.sort_values(rural_column)
    fig = go.Figure()
    for row in ordered.itertuples(index=False):
        fig.add_trace(go.Scatter(x=[getattr(row, urban_column), getattr(row, rural_column)], y=[_text(getattr(row, label_column))] * 2,
                                 mode="lines", line={"color": "#bbb", "width": 4}, showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=ordered[urban_column], y=_texts(ordered[label_column]), mode="markers", name=_text(urban_name),
                             marker={"color": URBAN_COLOUR, "size": 14 if large else 11}))
    fig.add_trace(go.Scatter(x=ordered[rural_column], y=_texts(ordered[label_column]), mode="markers", name=_text(rural_name),
                             marker={"color": RURAL_COLOUR, "size": 14 if large else 11, "symbol": "diamond"}))
    return _layout(fig, title, height=max(300, 30 * len(ordered) + 100), large=large)


def funnel(stages: list[str], counts: list[int], title: str, large: bool = False) -> go.Figure:
    # Whole counts with thousands separators (49,555), not plotly's SI "49.555k".
    fig = go.Figure(go.Funnel(y=_texts(stages), x=counts, texttemplate="%{value:,d}<br>%{percentInitial:.0%}",
                              hovertemplate="%{y}: %{x:,d}<extra></extra>", marker={"color": "#2c7fb8"},
                              textfont={"size": SIZES[large]["text"]}))
    return _layout(fig, title, height=460 if large else 360, large=large)


def score_components(frame: pd.DataFrame, label_column: str, component_columns: list[str], component_names: list[str],
                     title: str, axis_title: str, large: bool = False) -> go.Figure:
    """Stacked bars of each need's (log) score factors, so the ranking explains itself;
    ``axis_title`` (translated) names the x axis."""
    import numpy as np

    ordered = frame.iloc[::-1]
    fig = go.Figure()
    palette = ("#d7191c", "#fdae61", "#abd9e9", "#2c7bb6")
    for column, name, colour in zip(component_columns, component_names, palette, strict=False):
        fig.add_trace(go.Bar(y=_texts(ordered[label_column]), x=np.log(ordered[column].astype("float64")), name=_text(name),
                             orientation="h", marker_color=colour))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title=_text(axis_title))
    return _layout(fig, title, height=max(300, 26 * len(ordered) + 100), large=large)
