"""Browser tests (Chromium) of the case page and what goes with it: an editor corrects a
document's metadata and finds it by the new value in the search filters; the phone's 筛选 button
above the results; the case page at phone width for a reader (confirmed modes, 摘要 and 关键词,
no suggestions) and for an editor (suggestions with their legend); the mode form's signal-word
label on one line. Screenshots: ``test-artifacts/case/``."""

from __future__ import annotations

import re

import pytest
from browser_support import DESKTOP, PHONE, login, shot
from playwright.sync_api import Page, expect
from stock import CLUBHOUSE, PLATFORM, SERVICE

from kb.settings import CHECKOUT

ARTIFACTS = CHECKOUT / "test-artifacts" / "case"
ADMIN = ("chief", "chief-pass-123")


@pytest.fixture(scope="module", autouse=True)
def _admin(live):
    if live.core.accounts.get(ADMIN[0]) is None:
        live.core.accounts.add(ADMIN[0], ADMIN[1], "admin")


def login_admin(page: Page, start: str) -> None:
    page.goto(start)
    page.get_by_label("用户名").fill(ADMIN[0])
    page.get_by_label("密码").fill(ADMIN[1])
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".sitenav .who")).to_have_text(ADMIN[0])


def test_an_editor_corrects_metadata_and_finds_it_in_the_filters(page, watch):
    assert PLATFORM.region is None and PLATFORM.type is None  # a Word file: neither can be written
    login(page, "curator", f"/doc/{PLATFORM.id}")
    page.get_by_role("link", name="修改文档信息").click()
    expect(page).to_have_url(re.compile(rf"/doc/{PLATFORM.id}/edit$"))
    page.get_by_label(re.compile("^类型")).fill("调研报告")
    page.get_by_label(re.compile("^地区")).fill("海州市/南湖区")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(rf"/doc/{PLATFORM.id}$"))
    expect(page.locator(".flash.ok")).to_contain_text("已保存：类型、地区")
    expect(page.locator(".metadata")).to_contain_text("调研报告")

    box = page.get_by_role("searchbox", name="检索")
    box.fill("平台")
    box.press("Enter")
    facet = page.locator("section.facet").filter(has=page.get_by_role("heading", name="类型"))
    link = facet.get_by_role("link", name="调研报告")
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(re.compile(r"type=%E8%B0%83%E7%A0%94%E6%8A%A5%E5%91%8A"))
    hits = page.locator("ol.hits > li.case")
    expect(hits).to_have_count(1)
    expect(hits.first.get_by_role("heading").get_by_role("link")).to_have_attribute("href", f"/doc/{PLATFORM.id}")
    region = page.locator("section.facet").filter(has=page.get_by_role("heading", name="地区"))
    expect(region.get_by_role("link", name=re.compile("南湖区"))).to_be_visible()
    watch.assert_clean()


def test_the_phone_filter_button_is_above_the_results_and_brings_the_filters(page, watch, context):
    page.set_viewport_size(PHONE)
    login(page, "teacher", "/search?q=会所文化")
    button = page.get_by_role("link", name=re.compile("^筛选"))
    first = page.locator("ol.hits > li.case").first
    expect(button).to_be_visible()
    assert button.bounding_box()["y"] < first.bounding_box()["y"]
    assert button.bounding_box()["y"] + button.bounding_box()["height"] < PHONE["height"]  # on the first screen
    facets = page.locator("aside.facets")
    expect(facets).not_to_be_in_viewport()
    shot(page, "search-phone-top", ARTIFACTS, full_page=False)
    button.click()
    expect(page).to_have_url(re.compile(r"#filters$"))
    expect(facets).to_be_in_viewport()
    expect(facets.get_by_role("heading", name="工作模式")).to_be_in_viewport()
    shot(page, "search-phone-filters", ARTIFACTS, full_page=False)
    facets.get_by_role("link", name="↑ 回到检索结果").click()
    expect(first).to_be_in_viewport()
    # a chosen filter is counted on the button
    page.goto("/search?q=会所文化&mode=文化嵌入型")
    expect(page.get_by_role("link", name="筛选（已选 1）")).to_be_visible()
    page.set_viewport_size(DESKTOP)  # the desktop layout has the facets beside the results: no button
    expect(page.get_by_role("link", name=re.compile("^筛选"))).to_be_hidden()
    expect(facets).to_be_in_viewport()
    watch.assert_clean()


def test_the_case_page_at_phone_width_for_a_reader_and_an_editor(page, watch, browser, live):
    page.set_viewport_size(PHONE)
    login(page, "teacher", f"/doc/{SERVICE.id}")  # 服务导入型 suggested, nothing confirmed
    abstract = page.locator("section.abstract")
    expect(abstract).to_contain_text("摘要（自动摘取）")
    expect(abstract).to_contain_text("关键词（自动提取）")
    expect(abstract.get_by_role("link", name="服务联盟")).to_be_visible()
    expect(page.locator("mark.evidence")).to_have_count(0)
    expect(page.locator(".mode.suggested")).to_have_count(0)
    expect(page.locator(".doc-modes")).to_contain_text("尚无已确认的工作模式")
    expect(page.get_by_text("系统建议")).to_have_count(0)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide at phone width"
    shot(page, "case-phone", ARTIFACTS)
    shot(page, "case-phone-top", ARTIFACTS, full_page=False)

    editor = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live.url)
    try:
        other = editor.new_page()
        login(other, "tagger", f"/doc/{SERVICE.id}")
        expect(other.locator(".legend")).to_contain_text("读者只看到已确认的模式")
        expect(other.locator("mark.evidence").first).to_be_visible()
        expect(other.locator(".doc-modes .mode.suggested", has_text="服务导入型")).to_be_visible()
        width = other.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the editor's page is {width}px wide at phone width"
        shot(other, "case-phone-editor", ARTIFACTS)
        other.locator("#modes").scroll_into_view_if_needed()
        shot(other, "case-phone-editor-modes", ARTIFACTS, full_page=False)
        other.locator("mark.evidence").first.scroll_into_view_if_needed()
        shot(other, "case-phone-editor-evidence", ARTIFACTS, full_page=False)
    finally:
        editor.close()
    page.set_viewport_size(DESKTOP)
    page.goto(f"/doc/{CLUBHOUSE.id}")  # the author's keywords, an extracted summary
    expect(page.locator("section.abstract")).to_contain_text("关键词会所文化")
    shot(page, "case-desktop-reader", ARTIFACTS)
    watch.assert_clean()


@pytest.mark.parametrize("viewport, most", [(DESKTOP, 1), (PHONE, 2)], ids=["desktop", "phone"])
def test_the_signal_word_label_does_not_wrap_over_three_lines(page, watch, viewport, most):
    page.set_viewport_size(viewport)
    login_admin(page, "/modes/文化嵌入型")
    label = page.locator("form .stacked, form.stacked").get_by_text(re.compile("^信号词")).first
    expect(label).to_be_visible()
    lines = label.evaluate("el => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)")
    assert round(lines) <= most, f"the signal-word label takes {lines:.1f} lines at {viewport['width']}px"
    watch.assert_clean()

