"""What every browser test uses: the site on the documents of tests/stock.py behind a waitress
server (``live``, module scope, ``login_required`` on), Debian's headless Chromium driven by
Playwright (``browser``), a fresh context and page per test (``context``, ``page``), a
:class:`Watch` for console errors and foreign requests, and helpers (:func:`login`,
:func:`shot`, :func:`seed_string` ...).

A pytest plugin (tests/conftest.py lists it), so any ``tests/test_browser*.py`` file gets the
fixtures by naming them and imports the helpers from here. Screenshots go to
``test-artifacts/browser/``. Chromium must be installed at /usr/bin/chromium: without it these
tests fail (never skip).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import waitress
from builder import Built, build
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    expect,
    sync_playwright,
)
from stock import DOCS
from waitress import wasyncore

from hongxian import Hongxian
from kb.settings import CHECKOUT
from web import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = CHECKOUT / "test-artifacts" / "browser"
ACCOUNTS = {"teacher": ("teacher-pass-123", "reader"),
            "curator": ("curator-pass-123", "editor"),
            "tagger": ("tagger-pass-123", "editor")}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
QUERY = "会所文化"

expect.set_options(timeout=10_000)  # a busy 2-core machine: be patient, never sleep


# --------------------------------------------------------------------------- fixtures
@dataclass
class Live:
    url: str
    core: Hongxian
    built: Built

    def practice(self, doc_id: str, heading: str = "会所文化") -> int:
        """The ``ord`` of a document's section whose heading holds ``heading``."""
        return self.built.ord_of(doc_id, heading)

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Live]:
    """The documents of tests/stock.py in a fresh data dir, three accounts, the app behind a
    waitress server."""
    built = build(tmp_path_factory.mktemp("browser-data"), DOCS)
    core = built.core
    with core.kb as kb:
        for name, (password, role) in ACCOUNTS.items():
            kb.accounts.add(name, password, role)
    app = create_app({"TESTING": False}, core=core)
    assert app.config["LOGIN_REQUIRED"]
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress-browser-tests", daemon=True)
    thread.start()
    try:
        yield Live(f"http://127.0.0.1:{server.effective_port}", core, built)
    finally:
        # Stop inside the server's own loop thread (a trigger thunk): closing the sockets from
        # this thread would change the loop's socket map under its feet. The browser may still
        # hold keep-alive connections, so close every channel, which also ends the loop.
        def stop() -> None:
            server.close()
            wasyncore.close_all(server._map)

        server.trigger.pull_trigger(stop)
        thread.join(timeout=10)
        server.task_dispatcher.shutdown(timeout=5)
        assert not thread.is_alive(), "the waitress server did not stop"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is needed for the browser tests but {CHROMIUM} is missing: "
                    "install it with `apt-get install chromium fonts-noto-cjk`", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    """What a page did that it should not: console errors, uncaught exceptions, dialogs, and
    requests to any host other than the live server."""
    host: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("request", self._request)
        page.on("dialog", self._dialog)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} @ {message.location.get('url')}")

    def _request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc != self.host:
            self.foreign.append(request.url)

    def _dialog(self, dialog) -> None:  # noqa: ANN001
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def assert_clean(self) -> None:
        """No foreign request, exception, dialog or console error (pages name their icon, so the
        browser never asks for a missing ``/favicon.ico``)."""
        errors = list(self.console_errors)
        assert not self.foreign, f"requests to other hosts: {self.foreign}"
        assert not self.page_errors, f"uncaught exceptions: {self.page_errors}"
        assert not errors, f"console errors: {errors}"
        assert not self.dialogs, f"unexpected dialogs: {self.dialogs}"


@pytest.fixture
def context(browser, live) -> Iterator[BrowserContext]:
    """A fresh context per test, so that logins never leak from one test to the next."""
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=live.url)
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def watch(live) -> Watch:
    return Watch(live.host)


@pytest.fixture
def page(context, watch) -> Page:
    return watch.attach(context.new_page())


# --------------------------------------------------------------------------- helpers
def login(page: Page, username: str, start: str = "/") -> None:
    """Open ``start`` (which needs a login), log in on the form and land back on ``start``."""
    page.goto(start)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="登录红线")).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(ACCOUNTS[username][0])
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    expect(page.locator(".sitenav .who")).to_have_text(username)


def shot(page: Page, name: str, folder: Path = ARTIFACTS, full_page: bool = True) -> Path:
    """A screenshot of the flow's last page (the whole page unless ``full_page`` is false) in
    ``folder`` (``test-artifacts/browser/`` by default), checked to exist and hold something."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    assert path.is_file() and path.stat().st_size > 10_000, f"screenshot {path} is missing or empty"
    return path


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def doc_id_of(href: str) -> str:
    match = re.search(r"/doc/([^/#?]+)", href)
    assert match, href
    return match.group(1)


def search_from_header(page: Page, text: str) -> None:
    box = page.get_by_role("searchbox", name="检索")
    box.fill(text)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?"))
    assert query_of(page.url)["q"] == [text]


def seed_string(live: Live, title: str, pearls: list[tuple[str, int, str]],
                publish: bool = False, intro: str = "") -> tuple[int, list[int]]:
    """A string owned by the curator, built directly in the knowledge base (not the flow under
    test); returns its id and its pearl ids in order."""
    with live.core.kb as kb:
        string_id = kb.pearls.create("curator", title, "以文化凝聚人心", intro)
        ids = [kb.pearls.add_pearl(string_id, doc_id, ord_, commentary)
               for doc_id, ord_, commentary in pearls]
        if publish:
            kb.pearls.publish(string_id)
    return string_id, ids


