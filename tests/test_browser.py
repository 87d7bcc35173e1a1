"""End-to-end flows in a real browser (Playwright's sync API driving Debian's headless Chromium)
against the site served by waitress on a free port, with ``login_required`` on (the default).
Fixtures and helpers: tests/browser_support.py.

Every flow ends with a full-page screenshot of its last page in ``test-artifacts/browser/``.
Chromium must be installed at /usr/bin/chromium: without it these tests fail (never skip).
"""

from __future__ import annotations

import re

from browser_support import (
    ACCOUNTS,
    ARTIFACTS,
    DESKTOP,
    PHONE,
    QUERY,
    Watch,
    doc_id_of,
    login,
    query_of,
    search_from_header,
    seed_string,
    shot,
)
from playwright.sync_api import Page, expect
from stock import CLUBHOUSE, HUB, SALON

from hongxian.handouts import strip_numbering


def editor_order(page: Page) -> list[int]:
    return [int(x) for x in page.locator("ol.pearl-editor > li.pearl-item").evaluate_all(
        "items => items.map(li => li.dataset.pearlId)")]


def expect_editor_order(page: Page, ids: list[int]) -> None:
    items = page.locator("ol.pearl-editor > li.pearl-item")
    expect(items).to_have_count(len(ids))
    for n, pearl_id in enumerate(ids):
        expect(items.nth(n)).to_have_attribute("data-pearl-id", str(pearl_id))
        expect(items.nth(n).locator(".pearl-no")).to_have_text(str(n + 1))


# --------------------------------------------------------------------------- 1. teacher
def test_teacher_searches_filters_opens_a_case_and_follows_similar_practices(page, watch):
    login(page, "teacher")
    expect(page.get_by_role("link", name="待审标注")).to_have_count(0)  # a reader: no review queue

    search_from_header(page, QUERY)
    marks = page.locator("ol.hits mark", has_text=QUERY)
    expect(marks.first).to_be_visible()
    expect(page.locator("ol.hits li.case")).not_to_have_count(0)

    # One click on a mode in the facet sidebar filters the results.
    facet = page.locator("aside.facets section.facet").filter(
        has=page.get_by_role("heading", name="工作模式"))
    mode_link = facet.get_by_role("link").first
    mode = mode_link.inner_text().strip()
    mode_link.click()
    expect(page).to_have_url(re.compile(r"[?&]mode="))
    assert query_of(page.url) == {"q": [QUERY], "mode": [mode]}
    expect(page.locator(".active-filters .chip")).to_have_text(f"工作模式：{mode} ✕")
    expect(facet.locator("li.active")).to_have_count(1)
    expect(page.get_by_role("searchbox", name="检索")).to_have_value(QUERY)
    cases = page.locator("ol.hits > li.case")
    expect(cases).not_to_have_count(0)
    for n in range(cases.count()):
        carried = [re.sub(r"^(建议|待确认)：", "", t.strip()) for t in cases.nth(n).locator(".meta .mode").all_inner_texts()]
        assert mode in carried, f"result {n + 1} does not carry {mode}: {carried}"
    filtered_url = page.url

    # Open a case from the results.
    first = cases.first.get_by_role("heading").get_by_role("link")
    title = first.inner_text().strip()
    case_id = doc_id_of(first.get_attribute("href"))
    first.click()
    expect(page).to_have_url(re.compile(rf"/doc/{case_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    toc = page.get_by_role("navigation", name="目录")
    expect(toc.get_by_role("heading", name="目录")).to_be_visible()
    expect(toc.get_by_role("link")).not_to_have_count(0)
    expect(page.get_by_role("heading", name="引用（GB/T 7714—2015）")).to_be_visible()
    expect(page.locator("#cite-print")).to_contain_text(re.compile(r"\[(R|J)\]"))
    expect(page.locator("#cite-print")).to_contain_text(title)

    # Back returns to the filtered search with the query kept.
    page.go_back()
    expect(page).to_have_url(filtered_url)
    assert query_of(page.url) == {"q": [QUERY], "mode": [mode]}
    expect(page.get_by_role("searchbox", name="检索")).to_have_value(QUERY)
    expect(page.locator(".active-filters .chip")).to_have_text(f"工作模式：{mode} ✕")
    page.go_forward()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)

    # A practice's "相似做法 →" link leads to the similar-practices page ...
    page.get_by_role("link", name="相似做法 →").first.click()
    expect(page).to_have_url(re.compile(rf"/doc/{case_id}/similar/\d+$"))
    expect(page.get_by_role("heading", level=1, name="相似做法")).to_be_visible()
    expect(page.locator("ol.hits > li.case")).not_to_have_count(0)
    page.go_back()

    # ... and the aside "其他案例中的相似做法" leads to another case.
    aside = page.locator("aside.similar")
    expect(aside.get_by_role("heading", name="其他案例中的相似做法")).to_be_visible()
    other = aside.get_by_role("link").first
    other_title = other.inner_text().strip()
    other_id = doc_id_of(other.get_attribute("href"))
    assert other_id != case_id
    other.click()
    expect(page).to_have_url(re.compile(rf"/doc/{other_id}#s\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(other_title)
    watch.assert_clean()
    shot(page, "teacher-search")


def test_teacher_on_a_phone(browser, live):
    """The same reading at a phone's width: no sideways scrolling, search box and results usable."""
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live.url,
                              is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        watch = Watch(live.host)
        page = watch.attach(ctx.new_page())
        login(page, "teacher")
        search_from_header(page, QUERY)
        expect(page.locator("ol.hits mark", has_text=QUERY).first).to_be_visible()
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the search page scrolls sideways on a phone: {width}"
        page.locator("ol.hits > li.case").first.get_by_role("heading").get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the case page scrolls sideways on a phone: {width}"
        watch.assert_clean()
        shot(page, "teacher-phone")
    finally:
        ctx.close()


# --------------------------------------------------------------------------- 2. tagger
def test_editor_confirms_a_suggested_mode_from_the_review_queue(page, watch):
    login(page, "tagger", start="/review")  # the login form sends the editor back to /review
    expect(page).to_have_url(re.compile(r"/review$"))
    expect(page.get_by_role("heading", level=1, name="待审标注")).to_be_visible()

    item = page.locator("ol.review > li").filter(has=page.locator(".decision")).first
    link = item.get_by_role("heading").get_by_role("link")
    title = link.inner_text().strip()
    doc_id = doc_id_of(link.get_attribute("href"))
    decision = item.locator(".decision").first
    mode = decision.locator(".mode.suggested").inner_text().strip()
    decision.get_by_role("button", name="确认").click()

    expect(page).to_have_url(re.compile(r"/review\??$"))  # redirected back to the queue
    expect(page.locator(".flash.ok")).to_have_text(f"已确认工作模式“{mode}”")

    page.goto(f"/doc/{doc_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    modes = page.locator("#modes")
    expect(modes.locator(".mode.confirmed", has_text=mode)).to_be_visible()
    expect(modes.locator(".mode.suggested", has_text=mode)).to_have_count(0)
    history = modes.locator("details.history")
    history.locator("summary").click()
    expect(history).to_have_attribute("open", "")
    expect(history.get_by_role("listitem").filter(has_text=f"tagger 确认“{mode}”")).to_be_visible()
    watch.assert_clean()
    shot(page, "tagger-review")


# --------------------------------------------------------------------------- 3. curator
def add_pearl_here(page: Page, scope, string_id: int) -> None:  # noqa: ANN001
    """Open the "加入串珍珠" disclosure inside ``scope``, choose the string and submit."""
    details = scope.locator("details.add-pearl").first
    if details.get_attribute("open") is None:  # a page restored from history may keep it open
        details.locator("summary").click()
    expect(details).to_have_attribute("open", "")
    select = details.get_by_role("combobox")
    select.select_option(str(string_id))
    # app.js marks the "new string" title field hidden once an existing string is chosen (whether
    # it really disappears is checked in test_new_title_field_only_for_a_new_string).
    expect(details.locator(".new-title")).to_have_attribute("hidden", "")
    details.get_by_role("button", name="加入").click()


def test_curator_builds_reorders_annotates_and_publishes_a_pearl_string(page, watch, browser, live):
    # /pearls is public: log in with the header's 登录 link, which comes back to /pearls.
    page.goto("/pearls")
    expect(page.get_by_role("heading", name="新建一串")).to_have_count(0)
    page.get_by_role("navigation", name="栏目").get_by_role("link", name="登录").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/pearls$"))
    page.get_by_label("用户名").fill("curator")
    page.get_by_label("密码").fill(ACCOUNTS["curator"][0])
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/pearls$"))
    title = "以文化凝聚人心——浏览器测试"
    page.get_by_label("标题").fill(title)
    page.get_by_label("主线").fill("社区文化是党组织走进居民的入口")
    page.get_by_role("button", name="新建草稿").click()
    expect(page).to_have_url(re.compile(r"/pearls/\d+/edit$"))
    string_id = int(re.search(r"/pearls/(\d+)/edit", page.url).group(1))
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    expect(page.get_by_role("button", name="发布", exact=True)).to_be_disabled()

    # Pearl 1: a hit from the search results (the form sends the curator back to the results).
    search_from_header(page, QUERY)
    results_url = page.url
    cases = page.locator("ol.hits > li.case")
    first_link = cases.first.get_by_role("heading").get_by_role("link")
    first_case, first_title = doc_id_of(first_link.get_attribute("href")), first_link.inner_text().strip()
    add_pearl_here(page, cases.first.locator("li.practice").first, string_id)
    expect(page).to_have_url(results_url)
    expect(page.locator(".flash.ok")).to_have_text(f"已加入“{title}”（现有 1 颗）")

    # Pearls 2 and 3: a practice and the whole case, from the page of another case.
    other = cases.filter(has_not=page.locator(f'h2 a[href="/doc/{first_case}"]')).first
    other.get_by_role("heading").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/doc/"))
    second_case = doc_id_of(page.url)
    assert second_case != first_case
    case_title = page.get_by_role("heading", level=1).inner_text().strip()
    practice = page.locator("section.practice").first
    practice_heading = practice.get_by_role("heading").first.inner_text().strip()
    practice_id = practice.get_attribute("id")
    add_pearl_here(page, practice.locator(".practice-tools"), string_id)
    # as from the results: back to the page it was added from (at the practice)
    expect(page).to_have_url(re.compile(rf"/doc/{second_case}#{practice_id}$"))
    expect(page.locator(".flash.ok")).to_have_text(f"已加入“{title}”（现有 2 颗）")
    expect(page.get_by_role("heading", level=1)).to_have_text(case_title)
    details = page.locator("details.add-pearl").filter(has=page.locator("summary", has_text="把整篇案例加入串珍珠"))
    add_pearl_here(page, details.locator(".."), string_id)
    expect(page).to_have_url(re.compile(rf"/doc/{second_case}$"))
    expect(page.locator(".flash.ok")).to_have_text(f"已加入“{title}”（现有 3 颗）")
    page.locator(".in-strings").get_by_role("link", name=title).click()  # 收入串珍珠：…
    expect(page).to_have_url(re.compile(rf"/pearls/{string_id}$"))
    page.goto(f"/pearls/{string_id}/edit")

    items = page.locator("ol.pearl-editor > li.pearl-item")
    expect(items).to_have_count(3)
    a, b, c = editor_order(page)
    expect(items.nth(0).locator(".pearl-title .meta")).to_contain_text(f"《{first_title}》")
    expect(items.nth(1).locator(".pearl-title strong")).to_have_text(practice_heading)
    expect(items.nth(2).locator(".pearl-title strong")).to_have_text("整篇案例")
    expect(items.nth(2).locator(".pearl-title .meta")).to_contain_text(f"《{case_title}》")

    # Reorder with the keyboard: focus "上移第 3 颗" and press Enter, then click "下移第 1 颗".
    up = page.get_by_role("button", name="上移第 3 颗")
    up.focus()
    expect(up).to_be_focused()
    page.keyboard.press("Enter")
    expect_editor_order(page, [a, c, b])
    expect(page.get_by_role("button", name="上移第 1 颗")).to_be_disabled()
    expect(page.get_by_role("button", name="下移第 3 颗")).to_be_disabled()
    page.get_by_role("button", name="下移第 1 颗").click()
    expect_editor_order(page, [c, a, b])
    order = [c, a, b]

    # The public headings to expect, read off the editor in the new order.
    expected = []
    for n in range(3):
        strong = items.nth(n).locator(".pearl-title strong").inner_text().strip()
        source = items.nth(n).locator(".pearl-title .meta").inner_text().strip()
        doc_title = re.match(r"《(.*?)》", source).group(1)
        expected.append(doc_title if strong == "整篇案例" else strong)

    # Commentary for each pearl: Markdown, a script attempt, and plain text.
    commentary = {
        c: "这是**重点**：把整篇案例放在最前面。",
        a: "<script>alert('xss')</script> <img src=x onerror=\"alert('img')\"> 注入的尝试应当只是文字。",
        b: "第三颗：_强调_ 居民自治。",
    }
    for pearl_id in order:
        item = page.locator(f"#pearl-{pearl_id}")
        item.get_by_label("编者点评（Markdown）").fill(commentary[pearl_id])
        # The flash reads the same after each save: wait for the reload itself.
        with page.expect_navigation(url=re.compile(rf"/pearls/{string_id}/edit#pearl-{pearl_id}$")):
            item.get_by_role("button", name="保存点评").click()
        expect(page.locator(".flash.ok")).to_have_text("已保存点评")
        expect(page.locator(f"#pearl-{pearl_id} .commentary.preview")).to_be_visible()
        expect(page.locator(f"#pearl-{pearl_id}").get_by_label("编者点评（Markdown）")).to_have_value(
            commentary[pearl_id])
    expect(page.locator(f"#pearl-{c} .commentary.preview strong")).to_have_text("重点")
    expect(page.locator(f"#pearl-{b} .commentary.preview em")).to_have_text("强调")
    expect(page.locator(".commentary script, .commentary img")).to_have_count(0)
    expect_editor_order(page, order)

    # The introduction, then publish.
    page.get_by_label("导言（Markdown）").fill("本讲义讲**会所文化**，共三颗珍珠。")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator(".flash.ok")).to_have_text("已保存")
    expect(page.get_by_label("导言（Markdown）")).to_have_value("本讲义讲**会所文化**，共三颗珍珠。")
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.locator(".flash.ok")).to_have_text("已发布：公开页面人人可见")
    expect(page.locator("h1 .status.published")).to_have_text("已发布")
    public_link = page.locator(".publish-bar a")
    expect(public_link).to_have_text(f"{live.url}/pearls/{string_id}")
    watch.assert_clean()

    # A visitor who is not logged in: a case page needs a login, the published string does not.
    stranger = browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=live.url)
    try:
        seen = Watch(live.host)
        visitor = seen.attach(stranger.new_page())
        visitor.goto(f"/doc/{second_case}")
        expect(visitor).to_have_url(re.compile(rf"/login\?next=/doc/{second_case}$"))
        expect(visitor.get_by_role("heading", name="登录红线")).to_be_visible()

        visitor.goto(f"/pearls/{string_id}")
        expect(visitor).to_have_url(re.compile(rf"/pearls/{string_id}$"))
        expect(visitor.get_by_role("heading", level=1)).to_have_text(title)
        expect(visitor.get_by_role("link", name="登录")).to_be_visible()  # really logged out
        pearls = visitor.locator("article.pearl-string ol.pearls > li.pearl")
        expect(pearls).to_have_count(3)
        assert [int(x) for x in pearls.evaluate_all("els => els.map(e => e.id.split('-')[1])")] == order
        # Numbered in the string's own order, without the source's 2、 or （三） (strip_numbering).
        shown = [strip_numbering(t) for t in expected]
        assert shown != expected  # the flow's practices carry source numbers
        expect(pearls.locator("header h2")).to_have_text([f"{n + 1}{t}" for n, t in enumerate(shown)])
        expect(visitor.get_by_role("navigation", name="目录").get_by_role("link")).to_have_text(shown)
        expect(visitor.locator(".string-intro strong")).to_have_text("会所文化")
        expect(visitor.locator(f"#pearl-{c} .commentary strong")).to_have_text("重点")
        expect(visitor.locator(f"#pearl-{a} .commentary")).to_contain_text("<script>alert('xss')</script>")
        expect(visitor.locator(".commentary script, .commentary img, .commentary [onerror]")).to_have_count(0)
        expect(pearls.locator(".source a")).to_have_count(0)  # case pages need a login: no dead links
        assert visitor.evaluate("() => document.scripts.length") == 1  # only app.js
        seen.assert_clean()  # among others: no dialog, so the script did not run
        shot(visitor, "curator-pearls")
    finally:
        stranger.close()


def test_curator_reorders_pearls_by_drag_and_drop(page, watch, live):
    string_id, (a, b, c) = seed_string(live, "拖放排序", [
        (CLUBHOUSE.id, live.practice(CLUBHOUSE.id), ""), (SALON.id, live.practice(SALON.id), ""),
        (SALON.id, -1, "")])
    login(page, "curator", start=f"/pearls/{string_id}/edit")
    expect_editor_order(page, [a, b, c])
    with live.core.kb as kb:
        version = kb.pearls.get(string_id)["version"]
    items = page.locator("ol.pearl-editor > li.pearl-item")
    with page.expect_navigation():  # the script reloads the page once the order is saved
        with page.expect_response(lambda r: r.url.endswith(f"/pearls/{string_id}/order")
                                  and r.request.method == "POST") as saved:
            drag_last_to_first(items)
    assert saved.value.ok, saved.value.status
    assert saved.value.request.post_data_json == {"order": [c, a, b], "version": version}
    assert saved.value.request.headers["content-type"] == "application/json"
    expect_editor_order(page, [c, a, b])
    with live.core.kb as kb:
        assert [p["id"] for p in kb.pearls.get(string_id)["pearls"]] == [c, a, b]
    watch.assert_clean()
    shot(page, "curator-drag")


def drag_last_to_first(items) -> None:  # noqa: ANN001
    # Both ends of the drag in the viewport, so that Playwright does not scroll between pressing
    # the mouse on the handle and releasing it over the first pearl.
    items.nth(0).evaluate("li => li.scrollIntoView({block: 'start'})")
    box = items.last.locator(".handle").bounding_box()
    assert box and box["y"] + box["height"] < DESKTOP["height"], box
    items.last.locator(".handle").drag_to(items.nth(0), target_position={"x": 40, "y": 4})


def expected_refusals(watch: Watch, count: int) -> None:
    """The browser logs each 409 as a console error: these are the refusals the test asked for."""
    refusals = [e for e in watch.console_errors if "status of 409" in e]
    assert len(refusals) == count, watch.console_errors
    watch.console_errors[:] = [e for e in watch.console_errors if e not in refusals]


def test_a_drag_from_an_old_page_is_refused_and_the_page_shows_the_other_change(page, watch, live):
    """Someone else changes the string after the page was loaded: the drag is not saved (409),
    the curator is told so in Chinese and the page reloads with the other change visible."""
    string_id, (a, b, c) = seed_string(live, "两人同时编辑", [
        (CLUBHOUSE.id, live.practice(CLUBHOUSE.id), ""), (SALON.id, live.practice(SALON.id), ""),
        (SALON.id, -1, "")])
    login(page, "curator", start=f"/pearls/{string_id}/edit")
    expect_editor_order(page, [a, b, c])
    with live.core.kb as kb:  # another curator, meanwhile
        kb.pearls.annotate(string_id, a, "另一位编者刚保存的点评")
        kb.pearls.move_pearl(string_id, b, -1)
    items = page.locator("ol.pearl-editor > li.pearl-item")
    with page.expect_navigation(), page.expect_event("dialog"):  # told, then the page reloads
        with page.expect_response(lambda r: r.url.endswith(f"/pearls/{string_id}/order")
                                  and r.request.method == "POST") as refused:
            drag_last_to_first(items)
    assert refused.value.status == 409  # (its JSON body is checked in tests/test_pearl_versions.py)
    assert len(watch.dialogs) == 1 and "已被别人" in watch.dialogs[0] and "页面将刷新" in watch.dialogs[0], watch.dialogs
    watch.dialogs.clear()
    expect_editor_order(page, [b, a, c])
    expect(page.locator(f"#pearl-{a}").get_by_label("编者点评（Markdown）")).to_have_value("另一位编者刚保存的点评")
    with live.core.kb as kb:
        assert [p["id"] for p in kb.pearls.get(string_id)["pearls"]] == [b, a, c]
    expected_refusals(watch, 1)
    watch.assert_clean()


def test_a_refused_drag_keeps_unsaved_text_on_the_page(page, watch, live):
    """With a commentary typed but not saved, a refused drag does not reload (nothing typed is
    lost): the list goes back to the order it showed, and saving the commentary then comes back
    with the text kept beside the stored one."""
    string_id, (a, b) = seed_string(live, "未保存的文字", [
        (CLUBHOUSE.id, live.practice(CLUBHOUSE.id), ""), (SALON.id, -1, "")])
    login(page, "curator", start=f"/pearls/{string_id}/edit")
    page.locator(f"#pearl-{b}").get_by_label("编者点评（Markdown）").fill("我写了一半的点评")
    with live.core.kb as kb:
        kb.pearls.update(string_id, title="别人改过的标题")
    items = page.locator("ol.pearl-editor > li.pearl-item")
    with page.expect_event("dialog"), page.expect_response(
            lambda r: r.url.endswith(f"/pearls/{string_id}/order")) as refused:
        drag_last_to_first(items)
    assert refused.value.status == 409
    expect(page.locator(f"#pearl-{b}").get_by_label("编者点评（Markdown）")).to_have_value("我写了一半的点评")
    expect_editor_order(page, [a, b])
    assert len(watch.dialogs) == 1 and "没有刷新" in watch.dialogs[0], watch.dialogs
    watch.dialogs.clear()
    with page.expect_navigation():
        page.locator(f"#pearl-{b}").get_by_role("button", name="保存点评").click()
    expect(page.get_by_role("alert")).to_contain_text("已被别人")
    expect(page.locator(f"#pearl-{b}").get_by_label("编者点评（Markdown）（您的，未保存）")).to_have_value("我写了一半的点评")
    expect(page.locator("h1")).to_contain_text("别人改过的标题")
    with live.core.kb as kb:
        assert kb.pearls.get(string_id)["pearls"][1]["commentary"] == ""
    expected_refusals(watch, 2)  # the drag and the commentary
    watch.assert_clean()
    shot(page, "curator-conflict")


def test_new_title_field_only_for_a_new_string(page, watch, live):
    """The "新一串的标题" field of the add-to-string form is only shown for "新建一串……"."""
    string_id, _ = seed_string(live, "已有的一串", [(CLUBHOUSE.id, live.practice(CLUBHOUSE.id), "")])
    login(page, "curator", start=f"/doc/{SALON.id}")
    details = page.locator("details.add-pearl").first
    details.locator("summary").click()
    select = details.get_by_role("combobox")
    new_title = details.get_by_label("新一串的标题")
    select.select_option("new")
    expect(new_title).to_be_visible()
    select.select_option(str(string_id))
    expect(details.locator(".new-title")).to_have_attribute("hidden", "")
    shot(page, "add-pearl-form")
    expect(new_title).to_be_hidden(timeout=2_000)  # fails while `.add-pearl label { display: grid }` beats [hidden]
    watch.assert_clean()


# --------------------------------------------------------------------------- 4. print view
def test_print_handout_of_a_published_string(page, watch, live):
    pearls = [(CLUBHOUSE.id, live.practice(CLUBHOUSE.id), "文化活动是**入口**。"),
              (SALON.id, live.practice(SALON.id), ""), (HUB.id, -1, "整篇案例作对照。")]
    title = "讲义：以文化凝聚人心"
    string_id, ids = seed_string(live, title, pearls, publish=True, intro="导言：三颗珍珠。")

    page.goto(f"/pearls/{string_id}/print")  # public: no login
    expect(page).to_have_url(re.compile(rf"/pearls/{string_id}/print$"))
    expect(page.locator(".cover").get_by_role("heading", level=1)).to_have_text(title)
    toc = page.locator(".handout-toc")
    expect(toc.get_by_role("heading", name="目录")).to_be_visible()
    expect(toc.get_by_role("listitem")).to_have_count(3)
    items = page.locator("ol.pearls > li.pearl")
    expect(items).to_have_count(3)
    for n, pearl_id in enumerate(ids):
        expect(items.nth(n)).to_have_attribute("id", f"pearl-{pearl_id}")
        citation = items.nth(n).locator(".citation")
        expect(citation).to_contain_text("参考文献")
        expect(citation).to_contain_text(re.compile(r"\[(R|J)\]"))
    expect(page.locator(".references li")).to_have_count(3)
    expect(page.locator(f"#pearl-{ids[0]} .commentary strong")).to_have_text("入口")
    expect(page.get_by_role("button", name="打印 / 存为 PDF")).to_be_visible()

    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="打印 / 存为 PDF")).to_be_hidden()
    expect(page.locator(".cover").get_by_role("heading", level=1)).to_be_visible()
    watch.assert_clean()
    shot(page, "handout-print")
    pdf = ARTIFACTS / "handout.pdf"
    pdf.unlink(missing_ok=True)
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000, len(data)
    # cover, contents, the pearls, references: at least four A4 pages
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 4


# --------------------------------------------------------------------------- 5. hygiene
def test_main_pages_have_no_console_errors_and_only_talk_to_the_server(page, watch, live):
    practice = live.practice(CLUBHOUSE.id)
    string_id, _ = seed_string(live, "公开的一串", [(CLUBHOUSE.id, practice, "**好**")], publish=True)
    page.goto("/login")
    expect(page.get_by_role("heading", name="登录红线")).to_be_visible()
    page.goto(f"/pearls/{string_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("公开的一串")
    login(page, "curator")
    for url, heading in [("/", None), (f"/search?q={QUERY}", None), ("/search?mode=文化嵌入型", None),
                         (f"/doc/{CLUBHOUSE.id}", None), (f"/doc/{CLUBHOUSE.id}/similar/{practice}", "相似做法"),
                         ("/modes", None), ("/pearls", "串珍珠"), ("/review", "待审标注"),
                         (f"/pearls/{string_id}/edit", "公开的一串"), (f"/pearls/{string_id}/print", None)]:
        response = page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        if heading:
            expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    watch.assert_clean()
    shot(page, "hygiene")


def test_pages_name_an_icon_or_serve_favicon(page, live):
    """Chromium asks for /favicon.ico when a page names no icon, and a 404 there is a console
    error on the first page of a visit. Chromium remembers the answer for the whole browser, so
    the console alone cannot tell deterministically (test order): check the cause instead."""
    for url in ("/login", "/pearls"):
        page.goto(url)
        if page.locator('head link[rel~="icon"]').count():
            continue
        answer = page.request.get("/favicon.ico")
        assert answer.ok, (
            f"{url} names no <link rel=\"icon\"> and /favicon.ico answers {answer.status}: "
            "every first visit logs a 404 console error")
