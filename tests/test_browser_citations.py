"""Copying a citation from a page that is not a secure context: the site served over plain HTTP
under a host name (Chromium maps ``hongxian.test`` to the live server, as a LAN deployment with
``--host 0.0.0.0`` is reached), where ``navigator.clipboard`` does not exist. 127.0.0.x itself
counts as secure in Chromium, so the test must use a name. Screenshots in test-artifacts/browser/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from browser_support import CHROMIUM, DESKTOP, Watch, login, shot
from playwright.sync_api import Browser, Page, expect, sync_playwright
from stock import CLUBHOUSE

HOST = "hongxian.test"

# Every "copy" event records what was selected (what execCommand("copy") puts on the clipboard).
RECORD_COPIES = """
window.__copies = [];
document.addEventListener("copy", () => window.__copies.push(String(window.getSelection())));
"""
NO_EXEC_COPY = "document.execCommand = () => false;"


@pytest.fixture(scope="module")
def named_browser() -> Iterator[Browser]:
    """Chromium resolving hongxian.test to 127.0.0.1."""
    assert CHROMIUM.exists(), f"Chromium is needed for the browser tests but {CHROMIUM} is missing"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", f"--host-resolver-rules=MAP {HOST} 127.0.0.1"])
        try:
            yield browser
        finally:
            browser.close()


def open_case(named_browser: Browser, live, init_script: str) -> tuple[Page, Watch]:  # noqa: ANN001
    port = urlsplit(live.url).port
    base = f"http://{HOST}:{port}"
    context = named_browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=base)
    context.add_init_script(RECORD_COPIES + init_script)
    watch = Watch(f"{HOST}:{port}")
    page = watch.attach(context.new_page())
    login(page, "teacher", f"/doc/{CLUBHOUSE.id}")
    assert page.evaluate("window.isSecureContext") is False
    assert page.evaluate("typeof navigator.clipboard") == "undefined"
    return page, watch


def test_copy_a_citation_where_the_clipboard_api_is_missing(named_browser, live):
    page, watch = open_case(named_browser, live, "")
    box = page.locator(".citation-box")
    reference = box.locator("#cite-print").inner_text().strip()
    assert reference.startswith("陆晓禾. ") and reference.endswith("2019.")
    box.get_by_role("button", name="复制").first.click()
    expect(box.get_by_role("status")).to_have_text("已复制")
    assert page.evaluate("window.__copies") == [reference]
    shot(page, "citation-copied-plain-http")
    watch.assert_clean()
    page.context.close()


def test_when_copying_fails_the_page_asks_to_copy_by_hand_with_the_text_selected(named_browser, live):
    page, watch = open_case(named_browser, live, NO_EXEC_COPY)
    box = page.locator(".citation-box")
    reference = box.locator("#cite-print").inner_text().strip()
    box.get_by_role("button", name="复制").first.click()
    expect(box.get_by_role("status")).to_have_text(re.compile("^请手动复制"))
    assert page.evaluate("String(window.getSelection())").strip() == reference
    shot(page, "citation-copy-by-hand")
    watch.assert_clean()
    page.context.close()
