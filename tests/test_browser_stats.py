"""Browser tests of /stats (Chromium): a bar and a gap-map cell lead to the filtered results
whose count is the chart's; the page at desktop and phone width (screenshots in
``test-artifacts/stats/``); a visitor who is not logged in sees the public scope, no links.

The documents are those of tests/stock.py (written for the tests; fictional places and units).
"""

from __future__ import annotations

import re

from browser_support import DESKTOP, PHONE, login, query_of, seed_string, shot
from playwright.sync_api import Page, expect

from kb.settings import CHECKOUT

ARTIFACTS = CHECKOUT / "test-artifacts" / "stats"


def _count_shown(page: Page) -> int:
    """The number of cases the results page says it found."""
    text = page.locator("main").inner_text()
    match = re.search(r"共找到\s*(\d+)\s*个案例", text)
    assert match, text[:400]
    return int(match.group(1))


def test_bar_and_gap_cell_lead_to_results_with_the_same_count(page: Page, live, watch) -> None:
    login(page, "teacher")
    page.goto("/stats")
    expect(page.get_by_role("heading", name="案例库统计", level=1)).to_be_visible()
    expected = {m.value: m.count for m in live.core.stats.compute("full").modes}

    # a bar of the modes chart: the one with the most cases
    mode = max(expected, key=lambda name: expected[name])
    bar = page.locator("#modes svg a").filter(has=page.locator(f"text.bar-label:text-is('{mode}')"))
    expect(bar).to_have_count(1)
    label = bar.get_attribute("aria-label") or ""
    assert label.startswith(f"{mode}：{expected[mode]}"), label
    bar.locator("rect.bar").first.click()
    expect(page).to_have_url(re.compile(r"/search\?"))
    assert query_of(page.url) == {"mode": [mode]}
    assert _count_shown(page) == expected[mode]

    # a cell of the gap map: a second-level region × a mode
    page.goto("/stats")
    cell = page.locator("#gaps td a").filter(has_text=re.compile(r"\d")).first
    says = cell.get_attribute("aria-label") or ""
    count = int(re.search(r"：(\d+) 个案例", says).group(1))
    cell.click()
    expect(page).to_have_url(re.compile(r"/search\?"))
    found = query_of(page.url)
    assert set(found) == {"region", "mode"}, found
    assert _count_shown(page) == count
    assert says.startswith(f"{found['region'][0]} · {found['mode'][0]}："), says
    watch.assert_clean()


def test_stats_at_desktop_and_phone_width(page: Page, live, watch) -> None:
    login(page, "teacher")
    page.goto("/stats")
    page.set_viewport_size(DESKTOP)
    shot(page, "stats-desktop", ARTIFACTS)
    page.set_viewport_size(PHONE)
    page.reload()
    # charts scale to the phone: no chart wider than the page
    widths = page.evaluate("() => [...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().right)")
    assert widths and max(widths) <= PHONE["width"], widths
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(page, "stats-phone", ARTIFACTS)
    page.locator("#modes").screenshot(path=str(ARTIFACTS / "stats-phone-modes.png"))
    page.emulate_media(media="print")
    page.set_viewport_size(DESKTOP)
    shot(page, "stats-print", ARTIFACTS)
    watch.assert_clean()


def test_visitor_sees_published_material_only(page: Page, live, watch) -> None:
    clubhouse = live.practice("t-clubhouse")
    string_id, _ = seed_string(live, "浏览器统计用的公开串", [("t-clubhouse", clubhouse, "")], publish=True)
    try:
        page.goto("/stats")
        expect(page).to_have_url(re.compile(r"/stats$"))
        expect(page.locator(".scope")).to_contain_text("已公开的材料")
        expect(page.locator(".totals dd").first).to_have_text("1")
        assert page.locator("#modes svg a").count() == 0  # nothing to link to without a login
        assert page.locator("#gaps td a").count() == 0
        shot(page, "stats-public", ARTIFACTS)
        feed = page.locator("link[rel=alternate][type='application/atom+xml']")
        expect(feed).to_have_attribute("href", "/feed.atom")
        watch.assert_clean()
    finally:
        with live.core.kb as kb:
            kb.pearls.delete(string_id)
