"""Saved views per browser, in Chromium: the cookie the app writes keeps a browser's views across
visits, and another browser does not see them (AppTest cannot run the page's JavaScript)."""

from __future__ import annotations

from needsmap import views

from .browser_helpers import E2E_MARKS, EXCEPTION, SIDEBAR, Page, expect, goto, rerun_after

pytestmark = E2E_MARKS


def _views_panel(page: Page):
    sidebar = page.locator(SIDEBAR)
    sidebar.get_by_text("已保存视图", exact=True).click()
    return sidebar


def test_a_browser_keeps_its_views_across_visits_and_another_browser_does_not_see_them(new_page, app_server, app_db):
    first = new_page()
    goto(first, f"{app_server}/district?district=330127")
    cookie = [c for c in first.context.cookies() if c["name"] == "needsmap_browser"]
    assert len(cookie) == 1 and views.is_owner_id(cookie[0]["value"]), first.context.cookies()
    assert cookie[0]["sameSite"] == "Lax" and cookie[0]["path"] == "/" and not cookie[0]["httpOnly"]
    sidebar = _views_panel(first)
    sidebar.get_by_role("textbox", name="视图名称").fill("淳安 · 本浏览器")
    rerun_after(first, lambda: sidebar.get_by_role("button", name="保存当前视图").click())
    expect(sidebar.get_by_text("已保存视图：淳安 · 本浏览器")).to_be_visible()
    owner = {v.name: v.owner for v in views.list_views(app_db)}["淳安 · 本浏览器"]
    assert owner == cookie[0]["value"]

    # A new visit from the same browser (a new Streamlit session) sends the cookie and lists the view.
    again = first.context.new_page()
    goto(again, app_server)
    expect(_views_panel(again).get_by_role("combobox", name="选择已保存的视图")).to_have_value("淳安 · 本浏览器")

    # Another browser has its own id and does not list it.
    other = new_page()
    goto(other, app_server)
    other_cookie = [c["value"] for c in other.context.cookies() if c["name"] == "needsmap_browser"]
    assert other_cookie and other_cookie[0] != cookie[0]["value"]
    sidebar = _views_panel(other)
    expect(sidebar.get_by_text("还没有已保存的视图。")).to_be_visible()  # the test database has no shared views
    assert sidebar.get_by_role("combobox", name="选择已保存的视图").count() == 0
    assert first.locator(EXCEPTION).count() == 0 and other.locator(EXCEPTION).count() == 0
