"""Chinese-first widgets as a planner sees them: no English text left in Streamlit's own widgets.

Streamlit draws some texts itself (the file uploader's "Upload" and "1GB per file • …", the
multiselect's "Select all"); the Chinese pages replace or leave them out. Screenshots go to
``test-artifacts/screenshots/zh-*.png``.
"""

from __future__ import annotations

from needsmap import taxonomy
from needsmap.i18n import t

from .browser_helpers import E2E_MARKS, EXCEPTION, SCREENSHOTS, SIDEBAR, Page, expect, goto, map_frame, rerun_after

pytestmark = E2E_MARKS

_DRAWN_TEXT = """(zone) => {
    // What the reader sees in a drop zone: each element's own text, or its ::after content when
    // the text is sized to nothing.
    const seen = [];
    for (const element of zone.querySelectorAll('p, span')) {
        if (element.children.length) continue;
        const style = getComputedStyle(element);
        const after = getComputedStyle(element, '::after').content;
        if (parseFloat(style.fontSize) > 0 && element.textContent.trim()) seen.push(element.textContent.trim());
        if (after && after !== 'none') seen.push(JSON.parse(after));
    }
    return seen;
}"""


def test_the_uploader_reads_in_chinese(page: Page, app_server: str) -> None:
    goto(page, f"{app_server}/data")
    zone = page.locator('[data-testid="stFileUploaderDropzone"]').first
    expect(zone).to_be_visible()
    seen = zone.evaluate(_DRAWN_TEXT)
    assert t("uploader_button", "zh") in seen, seen
    assert any(text.startswith("拖放文件到此处") and "每个文件不超过 1GB" in text for text in seen), seen
    assert not [text for text in seen if "Upload" in text or "per file" in text], seen
    zone.screenshot(path=str(SCREENSHOTS / "zh-uploader.png"))
    assert page.locator(EXCEPTION).count() == 0


def test_the_category_filter_offers_no_english_select_all(page: Page, app_server: str) -> None:
    goto(page, app_server)
    page.locator(SIDEBAR).get_by_role("combobox", name="类别", exact=True).click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    texts = options.all_inner_texts()  # the rows in view of a virtual list
    first = taxonomy.label(taxonomy.CATEGORIES, taxonomy.CATEGORIES[0].code, "zh")
    assert texts[0] == first and not [text for text in texts if "Select all" in text], texts


def test_the_first_start_says_what_it_is_doing_while_the_demo_is_built(new_page, serve, tmp_path) -> None:
    # A fresh install: the default database (in the data folder) does not exist yet.
    data_dir = tmp_path / "fresh"
    data_dir.mkdir()
    with serve(data_dir / "needsmap.duckdb", "first-start", {"NEEDSMAP_DATA_DIR": str(data_dir)}) as base_url:
        page = new_page()
        page.goto(base_url, wait_until="domcontentloaded")
        # The message comes before the page's heavy imports, not after a white page.
        expect(page.get_by_text(t("first_start", "zh"))).to_be_visible(timeout=15_000)
        page.screenshot(path=str(SCREENSHOTS / "zh-first-start.png"))
        expect(page.get_by_text(t("demo_badge", "zh"))).to_be_visible(timeout=120_000)
        expect(page.get_by_text(t("first_start", "zh"))).to_have_count(0)
        assert (data_dir / "needsmap.duckdb").exists()
        assert page.locator(EXCEPTION).count() == 0


def test_the_time_filter_is_a_chinese_month_range_moved_by_the_keyboard(page: Page, app_server: str) -> None:
    goto(page, f"{app_server}/?from=2025-07-01&to=2025-09-30")
    slider = page.locator(SIDEBAR).locator('[data-testid="stSlider"]').first
    expect(slider).to_contain_text("2025年7月")
    expect(slider).to_contain_text("2025年9月")
    slider.screenshot(path=str(SCREENSHOTS / "zh-month-range.png"))
    end = slider.get_by_role("slider").nth(1)
    rerun_after(page, lambda: (end.focus(), page.keyboard.press("ArrowLeft")))
    expect(slider).to_contain_text("2025年8月")
    assert "to=2025-08-31" in page.url and "from=2025-07-01" in page.url


def test_a_configured_basemap_that_cannot_load_says_so_on_the_map(new_page, serve, app_db) -> None:
    # An intranet tile server that does not answer (nothing listens on port 9 of this machine).
    with serve(app_db, "tiles", {"NEEDSMAP_TILES": "http://127.0.0.1:9/{z}/{x}/{y}.png"}) as base_url:
        page = new_page()
        goto(page, base_url)
        notice = map_frame(page).locator(".needsmap-tile-error")
        expect(notice).to_have_text(f"{t('tiles_failed', 'zh')} {t('tiles_failed', 'en')}", timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "zh-tiles-failed.png"))
