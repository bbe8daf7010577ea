"""Hot spots and surges on the pages (AppTest) and in the map builder (HTML without a browser)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from needsmap import hotspots, maps
from needsmap.filters import Filter
from tests.apptest_pages import open_page


@pytest.fixture
def demo_app(bundled_demo_db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NEEDSMAP_DB", str(bundled_demo_db))
    return bundled_demo_db


def _markdown(app) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_home_lists_the_water_outage_in_its_week_with_links_to_district_and_needs(demo_app):
    app = open_page(to="2025-09-14")
    assert not app.exception
    text = _markdown(app)
    assert app.subheader.values.count("本周异常") == 1
    assert "1. **宁波市 · 鄞州区 · 供水** — 本周诉求人 679" in text
    assert ("[区县详情](./district?from=2025-09-08&to=2025-09-14&cat=water&city=330200&district=330212)" in text)
    assert "[相关需求](./priorities?from=2025-09-08&to=2025-09-14&cat=water&city=330200&district=330212)" in text
    assert any("2025-09-08 至 2025-09-14：与各自往年同期相比" in c.value for c in app.caption)


def test_an_ordinary_week_is_quiet_and_presentation_mode_keeps_the_list(demo_app):
    app = open_page(to="2025-03-16")
    assert "这一周没有显著异常。" in [i.value for i in app.info]
    app = open_page(to="2025-09-14", present="1", lang="en")
    text = _markdown(app)
    assert "**Ningbo" in text or "鄞州" in text
    assert "present=1" in text and "lang=en" in text


def test_district_page_explains_the_hot_spots_and_shows_the_cell_size(demo_app):
    app = open_page("pages/1_district.py", city="330200", district="330212")
    assert not app.exception
    text = _markdown(app)
    assert "统计显著的热点：在 95% 置信水平下，且已控制多重检验" in text
    captions = [c.value for c in app.caption]
    # 0.71 km sides: 1.5 · √3 · 0.71² = 1.31 km² per cell.
    assert f"{1.5 * 3 ** 0.5 * 0.71 ** 2:.2f}" == "1.31"
    with duckdb.connect(str(demo_app), read_only=True) as con:
        spots = hotspots.hot_spot_map(con, Filter(district_adcode="330212"))
    hot = int((spots.cells["kind"] == "hot").sum())
    assert any(c == f"六边形网格（等面积），每格约 1.31 平方公里（边长 0.71 公里，按数据量选定），共 {len(spots.cells)} 格；"
               f"热点 {hot} 格、冷点 0 格（90% 及以上）。" for c in captions)
    assert hot >= 1
    assert "**最显著的热点**" in text and "1. 鄞州区，约" in text


def test_hot_spot_map_draws_the_given_cells_with_their_colours_and_escaped_text():
    cells = pd.DataFrame({"q": [0, 5], "r": [0, 1], "kind": ["hot", "cold"], "level": [99, 90]})
    fmap = maps.hot_spot_map(
        [], cells, 1.0, legend_title="热点", legend_labels={("hot", 99): "热点 99%", ("cold", 90): "冷点 90%"},
        cell_text=["<b>x</b>", "plain"])
    page = fmap.get_root().render()
    assert maps.HOT_SPOT_COLOURS[("hot", 99)] in page and maps.HOT_SPOT_COLOURS[("cold", 90)] in page
    assert "\\u0026lt;b\\u0026gt;x" in page and "<b>x</b>" not in page  # escaped, then JSON-encoded


def test_the_hot_spot_measure_comes_from_the_url_and_goes_back_into_it(demo_app):
    app = open_page("pages/1_district.py", city="330200", district="330212", hs="records")
    assert not app.exception
    radio = next(r for r in app.radio if r.label == "热点依据")
    assert radio.value == "records"
    assert app.query_params["hs"] == ["records"] or app.query_params["hs"] == "records"
    assert any("· 诉求数 " in m.value for m in app.markdown)  # the top three count records now
