"""plotly builders: plotly reads a little HTML in labels, so data must arrive escaped."""

import pandas as pd

from needsmap import charts

HOSTILE = '<b>x</b><a href="javascript:alert(1)">链接</a><br>'
ESCAPED = '&lt;b&gt;x&lt;/b&gt;&lt;a href="javascript:alert(1)"&gt;链接&lt;/a&gt;&lt;br&gt;'


def test_score_component_labels_and_names_are_html_escaped():
    frame = pd.DataFrame({"label": [f"1. {HOSTILE}"], "u": [2.0], "p": [1.5]})
    fig = charts.score_components(frame, "label", ["u", "p"], [HOSTILE, "人数"], f"标题 {HOSTILE}", HOSTILE)
    assert list(fig.data[0].y) == [f"1. {ESCAPED}"]
    assert fig.data[0].name == ESCAPED
    assert fig.layout.title.text == f"标题 {ESCAPED}"
    assert fig.layout.xaxis.title.text == ESCAPED


def test_category_bars_gap_and_lines_escape_their_labels():
    frame = pd.DataFrame({"label": [HOSTILE, "供水"], "records": [3, 1], "urban": [1.0, 2.0], "rural": [2.0, 3.0],
                          "month": pd.to_datetime(["2025-01-01", "2025-01-01"])})
    assert ESCAPED in list(charts.category_bars(frame, "label", "records", "t").data[0].y)
    assert ESCAPED in list(charts.gap_dumbbell(frame, "label", "urban", "rural", "城区", "县域", "t").data[-1].y)
    assert ESCAPED in [trace.name for trace in charts.monthly_lines(frame, "label", "t").data]


def test_counts_on_charts_have_thousands_separators_and_projector_type():
    frame = pd.DataFrame({"label": ["供水", "道路"], "records": [12345, 987],
                          "month": pd.to_datetime(["2025-01-01", "2025-02-01"])})
    bars = charts.category_bars(frame, "label", "records", "类别构成", large=True)
    assert bars.data[0].texttemplate == "%{x:,}" and bars.layout.xaxis.tickformat == ","
    # Streamlit's plotly theme sets tick and title sizes itself: each is set here, larger on a projector.
    assert bars.layout.xaxis.tickfont.size == 20 and bars.layout.yaxis.tickfont.size == 20
    assert bars.layout.title.font.size == 24
    assert charts.category_bars(frame, "label", "records", "t").layout.xaxis.tickfont.size == 13
    lines = charts.monthly_lines(frame, "label", "月度趋势")
    assert lines.layout.yaxis.rangemode == "tozero" and lines.layout.yaxis.tickformat == ","
    funnel = charts.funnel(["受理", "办结"], [49555, 40000], "漏斗", large=True)
    assert funnel.data[0].textfont.size == 20 and "%{value:,d}" in funnel.data[0].texttemplate
