"""Web security, table-driven: who may read and change what, CSRF, stored XSS, path traversal
and the session cookie, over every rule of ``app.url_map``.

1. :data:`POLICY` classifies every route (``static`` aside) by the least role that may read it
   (GET, HEAD) and change it (POST), and how a pearl string in its URL narrows that; the test
   fails when a route appears that the table does not list. Every route is requested by every
   identity (anonymous, reader, editor — the curator of the strings —, another editor, admin)
   with every method its rule allows, with ``login_required`` on and off, and the answer is
   compared with the table: allowed, or denied the way the README says (302 to the login page,
   401 JSON from the API, 403, 404 for a draft a stranger asks for). The database is compared
   before and after every request: a denied request and every GET change nothing; an allowed
   POST does change it (so the denied one was refused, not merely ineffective). Titles of
   drafts never appear in an answer to someone who may not see them.
2. Every POST rule refuses a missing, a forged and another session's CSRF token (400 with the
   site's message; JSON to a JSON request) and changes nothing.
3. XSS: payloads in every stored field a user can set (document metadata and text through the
   importer; pearl strings, Markdown, modes and signal terms, usernames, upload names, query
   parameters through the site), then every page and API answer where they are shown: the HTML
   holds them as text only (no script but the app's own, no ``on…`` attribute, no
   ``javascript:`` URL), the JSON is JSON with the string intact.
4. Path traversal in upload names and URL ids: a clear 4xx or a safe stored name, nothing
   written outside the data directory, no file served from outside ``static``.
5. The session cookie: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` with ``cookie_secure`` (and
   the CSRF referrer check then), and a session planted before login is not the one after.

Every text here was written for these tests; places, units and people are fictional.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher
from builder import Doc, build
from site_client import PASSWORD, login, token
from stock import CLUBHOUSE, HUB, SALON

import kb.accounts
from hongxian import Hongxian
from kb.settings import override
from web import create_app

# ================================================================================ the policy
ANON, READER, EDITOR, ADMIN = range(4)
# the identities that ask: "editor" curates the pearl strings in the URLs, "editor2" is another
IDENTITIES = {"anon": ANON, "reader": READER, "editor": EDITOR, "editor2": EDITOR, "admin": ADMIN}
CURATORS = {"editor", "admin"}  # who may see and change the table's pearl strings


@dataclass(frozen=True)
class Access:
    """Who may use one route, with ``login_required`` on. With it off, what needs a reader
    needs nobody (readers need no account); everything else stays as it is."""

    get: int | None = None  # the least role that may GET (and HEAD); None: the rule has no GET
    post: int | None = None  # the least role that may POST; None: the rule has no POST
    # a pearl string in the URL (or the form): "view" — published: everyone the role allows;
    # a draft: its curator and administrators, 404 to everyone else; "edit" — its curator and
    # administrators; another editor gets 403 for a published string, 404 for a draft
    string: str = ""
    closed: bool = False  # answers everyone with the login page (/setup once there are accounts)


# Routes that send a file to save (originals, references, handouts): attachments, never pages.
DOWNLOAD = re.compile(r"/original$|/cite\.\w+$|/references\.\w+$|/handout\.\w+$")

POLICY: dict[str, Access] = {
    "pages.index": Access(get=READER),
    "pages.search": Access(get=READER),
    "pages.document": Access(get=READER),
    "pages.similar": Access(get=READER),
    "auth.login": Access(get=ANON, post=ANON),
    "auth.logout": Access(post=ANON),
    "auth.setup": Access(get=ANON, post=ANON, closed=True),
    "modes.index": Access(get=READER),
    "modes.mode": Access(get=READER),
    "modes.save": Access(post=ADMIN),
    "tagging.decide": Access(post=EDITOR),
    "tagging.review": Access(get=EDITOR),
    "pearls.index": Access(get=ANON),
    "pearls.create": Access(post=EDITOR),
    "pearls.view": Access(get=ANON, string="view"),
    "pearls.handout": Access(get=ANON, string="view"),
    "pearls.edit": Access(get=EDITOR, string="edit"),
    "pearls.update": Access(post=EDITOR, string="edit"),
    "pearls.add": Access(post=EDITOR, string="edit"),
    "pearls.pearl": Access(post=EDITOR, string="edit"),
    "pearls.order": Access(post=EDITOR, string="edit"),
    "pearls.publish": Access(post=EDITOR, string="edit"),
    "pearls.delete": Access(post=EDITOR, string="edit"),
    "admin.import_files": Access(get=ADMIN, post=ADMIN),
    "admin.users": Access(get=ADMIN),
    "admin.users_change": Access(post=ADMIN),
    "api.search": Access(get=READER),
    "api.document": Access(get=READER),
    "api.original": Access(get=READER),
    "api.similar": Access(get=READER),
    "api.modes": Access(get=READER),
    "api.pearls": Access(get=ANON),
    "api.pearl_string": Access(get=ANON, string="view"),
    "jobs.index": Access(get=EDITOR),
    "jobs.api": Access(get=EDITOR),
    "editing.edit": Access(get=EDITOR),
    "editing.save": Access(post=EDITOR),
    "editing.api_metadata": Access(get=EDITOR),
    "editing.api_save": Access(post=EDITOR),
    "editing.remove": Access(get=ADMIN, post=ADMIN),
    "editing.removed": Access(get=ADMIN),
    "stats.page": Access(get=ANON),  # published material only without a login (tests/test_stats.py)
    "stats.api": Access(get=ANON),
    "feeds.atom": Access(get=ANON),
    "citations.document": Access(get=READER),
    "citations.pearl_string": Access(get=ANON, string="view"),
    "handouts.pearl_string": Access(get=ANON, string="view"),
    "handouts.document": Access(get=READER),
}

OK, LOGIN, FORBIDDEN, HIDDEN = "allowed", "login", "forbidden (403)", "hidden (404)"
VARIANTS = ("published", "draft")  # of the pearl string a "string" route names


def expected(access: Access, method: str, identity: str, login_required: bool, variant: str | None) -> str:
    """What the table says ``identity`` gets for ``method`` on the route."""
    if access.closed:
        return LOGIN
    need = access.post if method == "POST" else access.get
    assert need is not None
    if need == READER and not login_required:
        need = ANON
    role = IDENTITIES[identity]
    if role < need:
        return LOGIN if role == ANON else FORBIDDEN
    if access.string == "view" and variant == "draft" and identity not in CURATORS:
        return HIDDEN
    if access.string == "edit" and identity not in CURATORS:
        return HIDDEN if variant == "draft" else FORBIDDEN
    return OK


# ================================================================================ the site
DRAFT_MARK = "草稿秘密"  # in the title of every draft the table makes: never shown to strangers
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "javascript:alert(1)",
)
# Markdown that must not become markup: raw HTML (off), script URLs in every spelling
MARKDOWN_PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">原始链接</a>',
    "[点我](javascript:alert(1))",
    "[大写](JAVASCRIPT:alert(1))",
    "[实体](&#106;avascript:alert(1))",
    "[空白](  javascript:alert(1))",
    "[数据](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![图](javascript:alert(1))",
    "<javascript:alert(1)>",
    '[标题](https://example.org "x\\" onmouseover=\\"alert(1)")',
)
XSS_TERM = "防火墙演练"  # written only in the XSS documents; the payload modes' signal term


def xss_doc(i: int, p: str) -> Doc:
    """A document carrying payload ``p`` at the start of every field the importer stores."""
    return Doc(
        f"t-xss-{i}", f"{p}红线试题{i}", type=f"{p}类型{i}", unit=f"{p}单位{i}", author=f"{p}作者{i}",
        date=f"2020-01-0{i + 1}", region=f"{p}市{i}/{p}区{i}", domains=[f"{p}领域{i}"],
        keywords=[f"{p}关键词{i}"], source=f"{p}来源{i}", extra={"note": f"{p}附注{i}"}, body=f"""
        {XSS_TERM}是社区的一项活动，{p}导语{i}。

        一、{p}大标题{i}

        1、{p}做法{i}。{XSS_TERM}每月一次，居民和党员一起参加，{p}正文{i}，演练之后总结经验。

        2、总结演练。每次{XSS_TERM}之后开会总结，{p}正文二{i}，把经验写进社区的工作手册。

        # {p}井号标题{i}

        {XSS_TERM}的第二部分正文，{p}正文三{i}，党员志愿者轮流值守。
        """)


XSS_DOCS = [xss_doc(i, p) for i, p in enumerate(PAYLOADS)]


def mode_name(i: int) -> str:
    return f"{PAYLOADS[i]}型"


@dataclass
class Req:
    """One request of the table (its body is sent only with POST)."""

    url: str
    form: dict[str, object] | None = None
    json: object = None
    changes: bool = True  # an allowed POST changes the stored state
    client: str = "own"  # "own": the identity's client; "copy": a client with its cookie; "fresh": a new login


@dataclass
class Site:
    """The knowledge base of the module, its two apps (login required or not), a logged-in
    client per identity and app, and the means to make fresh pearl strings and compare states."""

    built: object
    apps: dict[bool, object]
    clients: dict[tuple[bool, str], object] = field(default_factory=dict)
    serial: Callable[[], int] = field(default_factory=lambda: itertools.count(1).__next__)
    practice: int = 0  # a practice of CLUBHOUSE (it has similar practices in SALON)
    xss: dict[str, object] = field(default_factory=dict)  # what the XSS set-up made
    _watch: sqlite3.Connection | None = None
    _last: tuple[int, dict] | None = None

    @property
    def core(self) -> Hongxian:
        return self.built.core

    @property
    def data_dir(self) -> Path:
        return Path(self.built.settings.data_dir)

    def client(self, login_required: bool, identity: str):  # noqa: ANN201
        key = (login_required, identity)
        if key not in self.clients:
            app = self.apps[login_required]
            self.clients[key] = app.test_client() if identity == "anon" else login(app, identity)
        return self.clients[key]

    def csrf(self, client) -> str:  # noqa: ANN001
        """The session's CSRF token (Flask-WTF keeps one per session: fetched once)."""
        if getattr(client, "csrf_token", None) is None:
            client.csrf_token = token(client, "/login")
        return client.csrf_token

    def state(self) -> dict[str, list[tuple]]:
        """The stored state (:func:`db_state`), read again only when some connection has
        committed since the last reading (SQLite's ``data_version``)."""
        if self._watch is None:
            self._watch = sqlite3.connect(f"file:{self.data_dir / 'kb.sqlite3'}?mode=ro", uri=True)
        version = self._watch.execute("PRAGMA data_version").fetchone()[0]
        if self._last is None or self._last[0] != version:
            self._last = (version, db_state(self.data_dir))
        return self._last[1]

    def string(self, variant: str) -> tuple[int, list[int]]:
        """A fresh pearl string of "editor" holding two whole cases: (id, pearl ids)."""
        n = self.serial()
        pearls, user = self.core.pearls, self.core.accounts.get("editor")
        title = f"{DRAFT_MARK}{n}" if variant == "draft" else f"公开的串{n}"
        string_id = pearls.create(user, title, "主线")
        for doc in (CLUBHOUSE, HUB):
            pearls.add(user, doc.id, -1, str(string_id))
        if variant == "published":
            pearls.publish(string_id, user)
        return string_id, [p["id"] for p in pearls.get(string_id, user)["pearls"]]


UNTRACKED = {"sessions", "login_failures"}  # written by logging in and out, by design


def db_state(data_dir: Path) -> dict[str, list[tuple]]:
    """Every row of every table but the session and login-failure tables."""
    with closing(sqlite3.connect(f"file:{data_dir / 'kb.sqlite3'}?mode=ro", uri=True)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall()
                for t in tables if t not in UNTRACKED}


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


@pytest.fixture(scope="module", autouse=True)
def _quick_password_hashing():
    """Argon2id at its real cost (64 MiB, three passes) takes 0.1–0.7 s a hash on this 2-core
    machine and this module logs in some forty times: here the hashes are made, and so checked,
    with the cheapest parameters (what is tested is who gets in, not how hard guessing is)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kb.accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield


def make_site(root: Path) -> Site:
    built = build(root, [CLUBHOUSE, SALON, HUB, *XSS_DOCS])
    with built.core.kb as handle:
        for name, role in (("admin", "admin"), ("editor", "editor"), ("editor2", "editor"), ("reader", "reader")):
            handle.accounts.add(name, PASSWORD, role)
    apps = {True: create_app({"TESTING": True}, core=built.core),
            False: create_app({"TESTING": True}, core=Hongxian(override(built.settings, {"login_required": False}),
                                                               background=False))}
    site = Site(built, apps, practice=built.ord_of(CLUBHOUSE.id, "会所文化"))
    _plant_payloads(site)
    return site


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    """The site of the access table, the CSRF, traversal and cookie tests (they write to it);
    the payloads are planted here too, so every page the table fetches is audited with them."""
    return make_site(tmp_path_factory.mktemp("security"))


@pytest.fixture(scope="module")
def xss_site(tmp_path_factory) -> Site:
    """A site of its own for the XSS tests: their pages list the newest cases, strings and jobs,
    which the table's writes would push the payloads off."""
    return make_site(tmp_path_factory.mktemp("xss"))


def _post(site: Site, identity: str, url: str, data: dict, status: int = 302):  # noqa: ANN202
    client = site.client(True, identity)
    response = client.post(url, data={**data, "csrf_token": site.csrf(client)})
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[-600:])
    return response


def _plant_payloads(site: Site) -> None:
    """Through the site, as its users would: payload modes (name, short description,
    description, signal terms), a confirmed payload mode, and a published payload pearl string
    per payload (title, theme, introduction and commentary)."""
    for i, p in enumerate(PAYLOADS):
        _post(site, "admin", "/modes", {"name": mode_name(i), "short": f"{p}简述{i}", "description": f"{p}说明{i}",
                                        "signals": f"{XSS_TERM}: 3\n{p}信号{i}"})
    _post(site, "editor", f"/doc/{XSS_DOCS[0].id}/modes", {"mode": mode_name(0), "decision": "confirm"})
    markdown = "\n\n".join(MARKDOWN_PAYLOADS)
    strings = []
    for i, p in enumerate(PAYLOADS):
        location = _post(site, "editor", "/pearls", {"title": f"{p}串{i}", "theme": f"{p}主线{i}"}).headers["Location"]
        string_id = int(re.search(r"/pearls/(\d+)/edit", location).group(1))
        doc = XSS_DOCS[i]
        ord_ = site.built.ord_of(doc.id, "1、")
        for section in (-1, ord_):
            _post(site, "editor", "/pearls/add", {"doc_id": doc.id, "ord": section, "string_id": string_id})
        _post(site, "editor", f"/pearls/{string_id}/edit", {"title": f"{p}串{i}", "theme": f"{p}主线{i}",
                                                           "intro": f"{p}导言{i}\n\n{markdown}"})
        for pearl in site.core.pearls.get(string_id, site.core.accounts.get("editor"))["pearls"]:
            _post(site, "editor", f"/pearls/{string_id}/pearls/{pearl['id']}",
                  {"action": "annotate", "commentary": f"{p}点评{i}\n\n{markdown}"})
        _post(site, "editor", f"/pearls/{string_id}/publish", {"action": "publish"})
        strings.append(string_id)
    site.xss["strings"] = strings


# ================================================================= the HTML audit
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "background", "srcset", "xlink:href"}
FOREIGN_TAGS = {"img", "svg", "math", "iframe", "frame", "object", "embed", "base", "style", "applet"}
_SCRIPT_URL = re.compile(r"^(javascript|vbscript|data):", re.IGNORECASE)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f]+")


class Audit(HTMLParser):
    """What a browser would make of a page: its tags and attributes (with the problems among
    them) and its text (character references resolved)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.texts: list[str] = []
        self.values: list[str] = []  # attribute values (a form field's value, a title …)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and not (attributes.get("src") or "").startswith("/static/"):
            self.problems.append(f"a script that is not the app's own: <script {attrs}>")
        if tag in FOREIGN_TAGS and not (tag == "svg" and (attributes.get("class") or "").startswith("chart ")):
            self.problems.append(f"a <{tag}> tag: {attrs}")  # the charts of /stats are the app's own SVG
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"an event handler attribute {name}={value!r} on <{tag}>")
            if name in URL_ATTRIBUTES and value and _SCRIPT_URL.match(_INVISIBLE.sub("", value)):
                self.problems.append(f"a script URL {name}={value!r} on <{tag}>")
            if value:
                self.values.append(value)

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


def audit(html: str) -> Audit:
    parser = Audit()
    parser.feed(html)
    parser.close()
    return parser


def inert_problems(html: str) -> list[str]:
    """Why this HTML is not inert: markup the page's templates never write, and any payload
    that appears as written (unescaped)."""
    problems = audit(html).problems
    problems += [f"the payload {p!r} as markup" for p in (*PAYLOADS, *MARKDOWN_PAYLOADS) if "<" in p and p in html]
    return problems


# ================================================================= 1. who may read and change
def _requests(site: Site) -> dict[str, Callable[[str | None], Req]]:
    """A concrete request for every route of the table (``variant``: of its pearl string)."""
    n = site.serial
    practice = site.practice

    def string_route(path: str, **kwargs: object) -> Callable[[str | None], Req]:
        def make(variant: str | None) -> Req:
            string_id, _ = site.string(variant)
            return Req(path.format(id=string_id), **kwargs)
        return make

    def update(variant: str | None) -> Req:
        string_id, _ = site.string(variant)
        title = f"{DRAFT_MARK}{n()}改" if variant == "draft" else f"改过的串{n()}"
        return Req(f"/pearls/{string_id}/edit", form={"title": title, "theme": "新主线", "intro": "新导言"})

    def add(variant: str | None) -> Req:
        string_id, _ = site.string(variant)
        return Req("/pearls/add", form={"doc_id": SALON.id, "ord": "-1", "string_id": str(string_id)})

    def annotate(variant: str | None) -> Req:
        string_id, pearls = site.string(variant)
        return Req(f"/pearls/{string_id}/pearls/{pearls[0]}", form={"action": "annotate", "commentary": f"点评{n()}"})

    def order(variant: str | None) -> Req:
        string_id, pearls = site.string(variant)
        return Req(f"/pearls/{string_id}/order", json={"order": pearls[::-1]})

    def publish(variant: str | None) -> Req:
        string_id, _ = site.string(variant)
        return Req(f"/pearls/{string_id}/publish", form={"action": "publish" if variant == "draft" else "unpublish"})

    def decide(variant: str | None) -> Req:
        return Req(f"/doc/{HUB.id}/modes", form={"mode": "文化嵌入型", "decision": ("confirm", "reject")[n() % 2]})

    def upload(variant: str | None) -> Req:
        name = f"t-upload-{n()}"
        text = f"---\ntitle: 上传的材料{name}\n---\n\n一段为测试编写的正文。\n".encode()
        return Req("/import", form={"files": (io.BytesIO(text), f"{name}.md")})

    def remove(variant: str | None) -> Req:
        """A fresh document each time (imported without the index), removed by the request."""
        doc_id = f"t-remove-{n()}"
        text = f"---\nid: {doc_id}\ntitle: 待删除的材料{doc_id}\n---\n\n一段为测试编写的正文。\n".encode()
        item = site.core.kb.imports.ingest_bytes(text, PurePosixPath("upload") / f"{doc_id}.md", uploaded=True)
        assert item.doc_id == doc_id, item
        return Req(f"/doc/{doc_id}/remove", form={})

    fixed = {
        "pages.index": Req("/"),
        "pages.search": Req("/search?q=会所文化"),
        "pages.document": Req(f"/doc/{CLUBHOUSE.id}"),
        "pages.similar": Req(f"/doc/{CLUBHOUSE.id}/similar/{practice}"),
        "modes.index": Req("/modes"),
        "modes.mode": Req("/modes/文化嵌入型"),
        "tagging.review": Req("/review"),
        "pearls.index": Req("/pearls"),
        "admin.users": Req("/admin/users"),
        "api.search": Req("/api/search?q=会所文化"),
        "api.document": Req(f"/api/documents/{CLUBHOUSE.id}"),
        "api.original": Req(f"/api/documents/{CLUBHOUSE.id}/original"),
        "api.similar": Req(f"/api/documents/{CLUBHOUSE.id}/similar?ord={practice}"),
        "api.modes": Req("/api/modes"),
        "api.pearls": Req("/api/pearls"),
        "jobs.index": Req("/jobs"),
        "jobs.api": Req("/api/jobs"),
        "editing.edit": Req(f"/doc/{HUB.id}/edit"),
        "editing.api_metadata": Req(f"/api/documents/{HUB.id}/metadata"),
        "editing.removed": Req("/admin/removed"),
        "stats.page": Req("/stats"),
        "stats.api": Req("/api/stats"),
        "feeds.atom": Req("/feed.atom"),
        "citations.document": Req(f"/doc/{CLUBHOUSE.id}/cite.ris"),
    }
    made: dict[str, Callable[[str | None], Req]] = {k: (lambda v, r=r: r) for k, r in fixed.items()}
    made.update({
        "auth.login": lambda v: Req("/login", form={"username": "reader", "password": PASSWORD},
                                    changes=False, client="copy"),
        "auth.logout": lambda v: Req("/logout", changes=False, client="fresh"),
        "auth.setup": lambda v: Req("/setup", form={"username": "intruder", "password": "pw-1234567",
                                                    "password2": "pw-1234567"}),
        "modes.save": lambda v: Req("/modes", form={"name": "表格模式", "short": f"第 {n()} 次保存",
                                                    "signals": "表格词"}),
        "tagging.decide": decide,
        "editing.save": lambda v: Req(f"/doc/{HUB.id}/edit", form={"unit": f"表格单位{n()}"}),
        "editing.api_save": lambda v: Req(f"/api/documents/{HUB.id}", json={"unit": f"表格单位{n()}"}),
        "pearls.create": lambda v: Req("/pearls", form={"title": f"新的串{n()}"}),
        "pearls.view": string_route("/pearls/{id}"),
        "pearls.handout": string_route("/pearls/{id}/print"),
        "citations.pearl_string": string_route("/pearls/{id}/references.bib"),
        "pearls.edit": string_route("/pearls/{id}/edit"),
        "pearls.update": update,
        "pearls.add": add,
        "pearls.pearl": annotate,
        "pearls.order": order,
        "pearls.publish": publish,
        "pearls.delete": string_route("/pearls/{id}/delete"),
        "admin.import_files": upload,
        "admin.users_change": lambda v: Req("/admin/users", form={"action": "add", "username": f"newcomer{n()}",
                                                                   "password": PASSWORD, "role": "reader"}),
        "api.pearl_string": string_route("/api/pearls/{id}"),
        "editing.remove": remove,
        "handouts.pearl_string": string_route("/pearls/{id}/handout.md"),  # the same rule for pdf, docx
        "handouts.document": lambda v: Req(f"/doc/{HUB.id}/handout.md"),
    })
    return made


def _rules(app) -> dict[str, set[str]]:  # noqa: ANN001
    """Endpoint → the methods its rule takes (one rule per endpoint; ``static`` aside)."""
    out: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            assert rule.endpoint not in out, f"two rules for {rule.endpoint}: the table needs one per endpoint"
            out[rule.endpoint] = set(rule.methods)
    return out


def test_every_route_is_in_the_table(site):
    """A new route must be classified here (who may read it, who may change it) to pass."""
    rules = _rules(site.apps[True])
    assert sorted(rules.keys() - POLICY.keys()) == [], "routes the table does not classify"
    assert sorted(POLICY.keys() - rules.keys()) == [], "the table lists routes that are gone"
    for endpoint, methods in rules.items():
        access = POLICY[endpoint]
        assert ("GET" in methods) == (access.get is not None), endpoint
        assert ("POST" in methods) == (access.post is not None), endpoint
        assert methods <= {"GET", "HEAD", "OPTIONS", "POST"}, (endpoint, methods)
    assert sorted(_requests(site).keys()) == sorted(POLICY.keys())


def test_every_request_of_the_table_reaches_its_route(site):
    adapter = site.apps[True].url_map.bind("localhost")
    for endpoint, make in _requests(site).items():
        req = make(VARIANTS[0] if POLICY[endpoint].string else None)
        path, _, query = req.url.partition("?")
        for method in sorted(_rules(site.apps[True])[endpoint] - {"OPTIONS"}):
            assert adapter.match(path, method=method, query_args=query)[0] == endpoint, (endpoint, method)


def _outcome(response) -> str:  # noqa: ANN001
    status = response.status_code
    location = response.headers.get("Location", "")
    if status == 401 or (status == 302 and location.startswith("/login")):
        return LOGIN
    if status in (403, 404):
        return {403: FORBIDDEN, 404: HIDDEN}[status]
    if 200 <= status < 400:
        return OK
    return f"status {status}: {response.get_data(as_text=True)[-300:]!r}"


def _check_shape(response, url: str, method: str, json_request: bool = False) -> list[str]:  # noqa: ANN001
    """Answers of the API and to JSON requests are JSON (the original file aside), pages HTML
    and inert; denials say why."""
    problems = []
    status, ctype = response.status_code, response.headers.get("Content-Type", "")
    body = response.get_data()
    if method == "HEAD":
        return [] if not body else ["HEAD answered with a body"]
    if status == 200 and DOWNLOAD.search(url.split("?")[0]):  # a download, never shown as a page
        if not response.headers.get("Content-Disposition", "").startswith("attachment"):
            problems.append(f"the download {url} is not sent as an attachment")
        if ctype.startswith("text/html"):
            problems.append(f"the download {url} is sent as a page")
    elif url.startswith("/api/") or json_request:
        if not ctype.startswith("application/json"):
            return [f"API answered {ctype}"]
        data = json.loads(body)
        wanted = {401: "login_required", 403: "forbidden", 404: "not_found"}.get(status)
        if wanted and data.get("error") != wanted:
            problems.append(f"API {status} with error {data.get('error')!r}, not {wanted!r}")
        if wanted and not data.get("message"):
            problems.append(f"API {status} without a message")
    elif url == "/feed.atom" and status == 200:  # the Atom feed: XML, every text escaped
        if not ctype.startswith("application/atom+xml"):
            return [f"the feed answered {ctype}"]
        ET.fromstring(body)
        problems += [f"the payload {p!r} as markup in the feed" for p in (*PAYLOADS, *MARKDOWN_PAYLOADS)
                     if "<" in p and p.encode() in body]
    elif status == 200:
        if not ctype.startswith("text/html"):
            problems.append(f"page answered {ctype}")
        else:
            problems.extend(inert_problems(body.decode("utf-8")))
    return problems


def _client_for(site: Site, login_required: bool, identity: str, req: Req):  # noqa: ANN202
    own = site.client(login_required, identity)
    app = site.apps[login_required]
    if req.client == "own":
        return own
    if req.client == "fresh" and identity != "anon":
        return login(app, identity)
    copy = app.test_client()
    cookie = own.get_cookie("hongxian_session")
    if cookie is not None:
        copy.set_cookie("hongxian_session", cookie.value)
    return copy


def _send(site: Site, client, method: str, req: Req):  # noqa: ANN001, ANN202
    """The request as the site's own pages send it (a POST with the session's CSRF token)."""
    if method != "POST":
        return client.open(req.url, method=method)
    if req.json is not None:
        return client.post(req.url, json=req.json, headers={"X-CSRFToken": site.csrf(client)})
    return client.post(req.url, data={**(req.form or {}), "csrf_token": site.csrf(client)})


def _cases(endpoint: str, methods: set[str]):  # noqa: ANN202
    variants = VARIANTS if POLICY[endpoint].string else (None,)
    for identity in IDENTITIES:
        for method in sorted(methods):
            for variant in variants:
                yield identity, method, variant


ENDPOINTS = sorted(POLICY)


@pytest.mark.parametrize("login_required", [True, False], ids=["login-required", "open-site"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_who_may_read_and_change(site, endpoint, login_required):
    access = POLICY[endpoint]
    methods = _rules(site.apps[login_required])[endpoint]
    make = _requests(site)[endpoint]
    problems = []
    for identity, method, variant in _cases(endpoint, methods):
        req = make(variant)
        client = _client_for(site, login_required, identity, req)
        if method == "POST":
            site.csrf(client)  # before the state is taken: fetching the token is a GET
        before = site.state()
        response = _send(site, client, method, req)
        after = site.state()
        changed = changed_tables(before, after)
        where = f"{identity} {method} {req.url}" + (f" ({variant})" if variant else "")
        json_answer = req.url.startswith("/api/") or (method == "POST" and req.json is not None)
        if method == "OPTIONS":  # Flask answers it without calling the view (the login gate first)
            if response.status_code not in (200, 302, 401) or changed or \
                    (response.status_code == 200 and (response.get_data() or not methods <= set(response.allow))):
                problems.append(f"{where}: OPTIONS answered {response.status_code} {response.allow}, changed {changed}")
            continue
        want = expected(access, method, identity, login_required, variant)
        got = _outcome(response)
        if got != want:
            problems.append(f"{where}: expected {want}, got {got}")
        if want == LOGIN and response.status_code == 302 and access.closed:
            if response.headers["Location"] != "/login":
                problems.append(f"{where}: redirected to {response.headers['Location']}")
        elif want == LOGIN and response.status_code != (401 if json_answer else 302):
            problems.append(f"{where}: a login is asked with {response.status_code}")
        problems.extend(f"{where}: {p}" for p in _check_shape(response, req.url, method, json_answer))
        if method != "POST" or want != OK:
            if changed:
                problems.append(f"{where}: changed {changed}")
        elif req.changes and not changed:
            problems.append(f"{where}: allowed, but changed nothing (the request of the table is not effective)")
        if identity in ("anon", "reader", "editor2") and DRAFT_MARK in response.get_data(as_text=True):
            problems.append(f"{where}: shows the title of someone else's draft")
    assert not problems, "\n".join(problems)


def test_head_with_a_form_changes_nothing(site):
    """HEAD runs the GET view and is not CSRF-checked: a rule that takes both GET and POST must
    not act on a HEAD carrying the POST's form (HEAD /import imported the files it carried)."""
    requests = _requests(site)
    both = [e for e, methods in _rules(site.apps[True]).items() if {"HEAD", "POST"} <= methods]
    assert both
    for endpoint in both:
        req = requests[endpoint](None)
        identity = "admin" if POLICY[endpoint].post == ADMIN else "anon"
        client = _client_for(site, True, identity, req)
        before = site.state()
        response = client.open(req.url, method="HEAD", data=dict(req.form or {}))
        assert response.status_code in (200, 302), (endpoint, response.status_code)
        assert changed_tables(before, site.state()) == [], endpoint


# ======================================================================== 2. CSRF on every write
def _allowed_identity(access: Access) -> str:
    """Someone the table lets make this change (so that only the token stops it)."""
    if access.string == "edit":
        return "editor"
    if access is POLICY["auth.logout"]:
        return "reader"  # logged in (a fresh session): anyone may log out
    return {ANON: "anon", READER: "reader", EDITOR: "editor", ADMIN: "admin"}[access.post]


POST_ENDPOINTS = sorted(e for e, a in POLICY.items() if a.post is not None)
CSRF_CASES = ("no", "a forged", "another session's")


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_every_write_refuses_a_missing_or_wrong_csrf_token(site, endpoint):
    assert set(POST_ENDPOINTS) == {e for e, m in _rules(site.apps[True]).items() if m & {"POST", "PUT", "PATCH", "DELETE"}}
    access = POLICY[endpoint]
    identity = _allowed_identity(access)
    stranger = site.apps[True].test_client()  # a session of its own, with a valid token of its own
    tokens = dict(zip(CSRF_CASES, (None, "forged-token", token(stranger, "/login")), strict=True))
    problems = []
    for case, bad in tokens.items():
        req = _requests(site)[endpoint]("draft" if access.string else None)
        client = _client_for(site, True, identity, req)
        before = site.state()
        if req.json is not None:
            response = client.post(req.url, json=req.json, headers={"X-CSRFToken": bad} if bad else {})
        else:
            response = client.post(req.url, data={**(req.form or {}), **({"csrf_token": bad} if bad else {})})
        where = f"{identity} POST {req.url} with {case} token"
        if response.status_code != 400:
            problems.append(f"{where}: answered {response.status_code}")
        elif req.json is not None or req.url.startswith("/api/"):
            if not response.is_json or response.get_json().get("error") != "csrf":
                problems.append(f"{where}: a JSON request got {response.content_type}, not the JSON csrf error")
        elif "CSRF" not in response.get_data(as_text=True) or "没有做任何修改" not in response.get_data(as_text=True):
            problems.append(f"{where}: the page does not say the token was missing")
        if changed := changed_tables(before, site.state()):
            problems.append(f"{where}: changed {changed}")
        if endpoint == "auth.logout" and client.get("/api/modes").status_code != 200:
            problems.append(f"{where}: the session was ended")
        if endpoint == "auth.login" and client.get("/api/modes").status_code != 401:
            problems.append(f"{where}: logged in")
    assert not problems, "\n".join(problems)


# ============================================================================ 3. stored XSS
def stored_values(site: Site) -> dict[tuple[str, int], str]:
    """(field, payload number) → a stored text that carries the payload, as the pages should
    show it (text, not markup)."""
    out: dict[tuple[str, int], str] = {}
    for i, p in enumerate(PAYLOADS):
        doc = site.core.documents.show(XSS_DOCS[i].id).to_dict()
        for name in ("title", "type", "unit", "author", "region", "source"):
            out[f"document {name}", i] = doc[name]
        out["document domain", i] = doc["domain"][0]
        out["document keyword", i] = doc["keywords"][0]
        out["document extra field", i] = doc["extra"]["note"]
        sections = doc["sections"]
        out["opening text", i] = sections[0]["text"]
        if p in sections[1]["heading"]:  # a heading ends at a colon: "javascript:" cannot be in one
            out["heading", i] = sections[1]["heading"]
        out["practice text", i] = f"{p}正文{i}"
        out["mode name", i] = mode_name(i)
        out["mode short description", i] = f"{p}简述{i}"
        out["mode description", i] = f"{p}说明{i}"
        out["signal term", i] = f"{p}信号{i}"
        out["pearl string title", i] = f"{p}串{i}"
        out["pearl string theme", i] = f"{p}主线{i}"
        out["pearl string introduction", i] = f"{p}导言{i}"
        out["pearl commentary", i] = f"{p}点评{i}"
    return out


DOCUMENT_FIELDS = ("document title", "document type", "document unit", "document author", "document region",
                   "document domain", "document keyword", "document source", "opening text", "heading",
                   "practice text")
PEARL_FIELDS = ("pearl string title", "pearl string theme", "pearl string introduction", "pearl commentary")
MODE_FIELDS = ("mode name", "mode short description", "mode description", "signal term")
READERS, EDITORS, ADMINS, EVERYONE = ("reader", "editor", "admin"), ("editor", "admin"), ("admin",), tuple(IDENTITIES)


@dataclass(frozen=True)
class Shown:
    """A page (``{i}``: one per payload, showing that payload's document, mode or string), who
    may see it, and the stored fields it shows to each of them."""

    url: str
    who: tuple[str, ...]
    fields: tuple[str, ...]
    others: bool = False  # shows the fields of the other payloads' documents (similar practices)


XSS_PAGES = (
    Shown("/", READERS, ("document title", "document type", "mode name", "mode short description",
                         "pearl string title", "pearl string theme")),
    Shown(f"/search?q={XSS_TERM}", READERS, ("document title", "document type", "document unit", "document region",
                                             "document domain", "opening text", "heading", "mode name")),
    Shown(f"/search?q={XSS_TERM}", EDITORS, ("pearl string title",)),  # “add to a pearl string”
    Shown("/doc/{doc}", READERS, (*DOCUMENT_FIELDS, "pearl string title")),
    Shown("/doc/{doc}", EDITORS, ("mode name",)),  # suggested (three of the four): editors only
    Shown("/doc/{doc}/remove", ADMINS, ("document title", "document unit", "pearl string title")),
    Shown("/doc/{doc}/similar/{practice}", READERS, ("document title", "heading")),
    Shown("/doc/{doc}/similar/{practice}", READERS, ("document title",), others=True),  # the similar ones
    Shown("/modes", READERS, MODE_FIELDS),
    Shown("/modes/{mode}", READERS, MODE_FIELDS),
    Shown("/modes/{mode}", EDITORS, ("document title",)),  # its suggested cases: editors only
    Shown("/review", EDITORS, ("document title", "document type", "document unit", "opening text", "mode name")),
    Shown("/pearls", EVERYONE, ("pearl string title", "pearl string theme")),
    Shown("/pearls/{string}", EVERYONE, (*PEARL_FIELDS, "document title", "document unit", "document author",
                                         "opening text", "heading", "practice text")),
    Shown("/pearls/{string}/print", EVERYONE, (*PEARL_FIELDS, "document title", "document unit",
                                               "document author", "opening text", "heading", "practice text")),
    Shown("/pearls/{string}/edit", EDITORS, (*PEARL_FIELDS, "document title", "heading")),
    Shown("/jobs", EDITORS, ("mode name",)),
    # the other fields are the form's input values (attributes, not text): inert is what is checked
    Shown("/doc/{doc}/edit", EDITORS, ("document title",)),
    Shown("/admin/users", ADMINS, ()),
    Shown("/import", ADMINS, ()),
    Shown("/stats", READERS, ("document type", "document domain", "mode name")),  # the charts' tables
    Shown("/stats", ("anon",), ()),  # the public scope: inert
)


def _page_urls(site: Site, shown: Shown) -> list[tuple[str, tuple[int, ...]]]:
    """The concrete URLs of a page, each with the payloads whose fields it shows."""
    if "{" not in shown.url:
        return [(shown.url, tuple(range(len(PAYLOADS))))]
    every = range(len(PAYLOADS))
    return [(shown.url.format(doc=XSS_DOCS[i].id, practice=site.built.ord_of(XSS_DOCS[i].id, "1、"),
                              mode=quote(mode_name(i)), string=site.xss["strings"][i]),
             tuple(j for j in every if j != i) if shown.others else (i,))
            for i in every]


@pytest.mark.parametrize("shown", XSS_PAGES, ids=[f"{s.url} {'+'.join(s.who)}" for s in XSS_PAGES])
def test_stored_payloads_are_shown_as_text(xss_site, shown):
    values = stored_values(xss_site)
    problems = []
    for url, payloads in _page_urls(xss_site, shown):
        for identity in shown.who:
            response = xss_site.client(True, identity).get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                problems.append(f"{identity} {url}: {response.status_code} {response.mimetype}")
                continue
            html = response.get_data(as_text=True)
            problems += [f"{identity} {url}: {p}" for p in inert_problems(html)]
            text = audit(html).text
            problems += [f"{identity} {url}: {f} {i} is not shown as text: {values[f, i]!r}"
                         for f in shown.fields for i in payloads if (f, i) in values and values[f, i] not in text]
    assert not problems, "\n".join(problems)


def _inert_json(value: object, where: str) -> list[str]:
    """The HTML the JSON carries (``*_html``, snippets) is inert too."""
    problems = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and (key.endswith("_html") or key == "snippet"):
                problems += [f"{where}.{key}: {p}" for p in inert_problems(item)]
            else:
                problems += _inert_json(item, f"{where}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            problems += _inert_json(item, f"{where}[{n}]")
    return problems


def _strings_in(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for item in [*value.keys(), *value.values()] for s in _strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings_in(item)]
    return [value] if isinstance(value, str) else []


XSS_JSON = (
    Shown(f"/api/search?q={XSS_TERM}", READERS, ("document title", "document type", "document unit",
                                                 "document region", "document domain")),
    Shown("/api/documents/{doc}", READERS, (*DOCUMENT_FIELDS, "document extra field", "mode name")),
    Shown("/api/documents/{doc}/similar?ord={practice}", READERS, ("document title",), others=True),
    Shown("/api/modes", READERS, MODE_FIELDS),
    Shown("/api/pearls", EVERYONE, ("pearl string title", "pearl string theme")),
    Shown("/api/pearls/{string}", EVERYONE, (*PEARL_FIELDS, "document title", "heading", "practice text")),
    Shown("/api/jobs", EDITORS, ("mode name",)),
    Shown("/api/stats", READERS, ("document type", "document domain", "mode name")),
)


@pytest.mark.parametrize("shown", XSS_JSON, ids=[s.url for s in XSS_JSON])
def test_the_api_carries_payloads_as_data(xss_site, shown):
    values = stored_values(xss_site)
    problems = []
    for url, payloads in _page_urls(xss_site, shown):
        for identity in shown.who:
            response = xss_site.client(True, identity).get(url)
            where = f"{identity} {url}"
            if response.status_code != 200 or response.mimetype != "application/json":
                problems.append(f"{where}: {response.status_code} {response.mimetype}")
                continue
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            data = json.loads(response.get_data(as_text=True))
            strings = "\n".join(_strings_in(data))  # every string of the answer, decoded
            problems += [f"{where}: {f} {i} is not in the JSON as it was stored: {values[f, i]!r}"
                         for f in shown.fields for i in payloads if (f, i) in values and values[f, i] not in strings]
            problems += _inert_json(data, where)
    assert not problems, "\n".join(problems)


def test_the_feed_carries_payloads_as_text(xss_site):
    """The Atom feed: XML whose entry titles are the stored titles, the payloads never markup."""
    values = stored_values(xss_site)
    atom = "{http://www.w3.org/2005/Atom}"
    for identity in ("anon", "reader"):
        body = xss_site.client(True, identity).get("/feed.atom").get_data()
        assert not [p for p in (*PAYLOADS, *MARKDOWN_PAYLOADS) if "<" in p and p.encode() in body], identity
        titles = {e.findtext(f"{atom}title") for e in ET.fromstring(body).iter(f"{atom}entry")}
        wanted = ["pearl string title"] + (["document title"] if identity == "reader" else [])
        missing = [(f, i) for f in wanted for i in range(len(PAYLOADS)) if values[f, i] not in titles]
        assert not missing, (identity, missing)


def _shows_as_text(response, wanted: str | None) -> list[str]:  # noqa: ANN001
    """The answer is an inert page showing ``wanted`` as text or as a form field's value."""
    html = response.get_data(as_text=True)
    if response.mimetype != "text/html":
        return [f"answered {response.mimetype}"]
    problems = inert_problems(html)
    parsed = audit(html)
    if wanted is not None and wanted not in parsed.text and wanted not in parsed.values:
        problems.append(f"does not show {wanted!r}")
    return problems


@pytest.mark.parametrize("p", PAYLOADS)
def test_a_payload_username_is_refused_and_never_echoed_as_markup(xss_site, p):
    admin, anon = xss_site.client(True, "admin"), xss_site.apps[True].test_client()
    problems = []
    for action in ("add", "role", "password"):
        response = admin.post("/admin/users", data={"action": action, "username": p, "password": PASSWORD,
                                                    "role": "editor", "csrf_token": xss_site.csrf(admin)})
        if response.status_code not in (400, 404):
            problems.append(f"{action} {p!r}: answered {response.status_code}")
        problems += [f"{action}: {x}" for x in _shows_as_text(response, None)]
    assert xss_site.core.accounts.get(p) is None
    problems += _shows_as_text(admin.get("/admin/users"), None)
    response = anon.post("/login", data={"username": p, "password": "wrong-password", "csrf_token": token(anon)})
    assert response.status_code == 401
    problems += [f"login: {x}" for x in _shows_as_text(response, p)]  # the name typed, in its field
    assert not problems, "\n".join(problems)


UPLOAD_NAMES = ("<img src=x onerror=alert(1)>.md", "<svg onload=alert(1)>.md", "javascript:alert(1).md",
                "<script>alert(1).md")


def test_payload_upload_names_are_reported_as_text(xss_site):
    admin = xss_site.client(True, "admin")
    files = [(io.BytesIO(b"---\ntitle: \xe4\xb8\x8a\xe4\xbc\xa0\n---\n\ntext.\n"), name) for name in UPLOAD_NAMES]
    response = admin.post("/import", data={"files": files, "csrf_token": xss_site.csrf(admin)})
    assert response.status_code == 200
    problems = [x for name in UPLOAD_NAMES for x in _shows_as_text(response, name)]
    assert not problems, "\n".join(problems)
    assert not any(d.startswith(("<", "javascript")) for d in db_ids(xss_site))


def db_ids(site: Site) -> list[str]:
    with closing(sqlite3.connect(f"file:{site.data_dir / 'kb.sqlite3'}?mode=ro", uri=True)) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM documents")]


def _unclosed(p: str) -> str:
    """A query with a quotation mark that is never closed, holding ``p``."""
    return quote(p if p.count('"') % 2 else f'"{p}', safe="")


def _reflected(p: str) -> list[tuple[str, str | None]]:
    """Pages that show what the request carried: (URL, what they must show of it)."""
    q = quote(p, safe="")
    return [
        (f"/search?q={q}", p),  # the search box, and “nothing found for …”
        (f"/search?q={XSS_TERM}&unit={q}&mode={q}", p),  # the chips of the filters and their hidden fields
        (f"/search?q={_unclosed(p)}", None),  # a malformed query: the message quotes its fragment
        (f"/doc/{q}", None),  # 404: “no document …”
        (f"/modes/{q}%E6%97%A0", None),  # 404: no such mode
        (f"/login?next={q}", None),
        (f"/review?page={q}", None),  # 400: a page number must be one
    ]


@pytest.mark.parametrize("p", PAYLOADS)
def test_payloads_in_the_request_come_back_as_text(xss_site, p):
    client = xss_site.client(True, "editor")
    problems = []
    for url, wanted in _reflected(p):
        response = client.get(url)
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
        problems += [f"{url}: {x}" for x in _shows_as_text(response, wanted)]
    response = client.get(f"/api/search?q={_unclosed(p)}")
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert response.get_json()["error"] == "bad_query" and p in response.get_json()["fragment"]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("p", PAYLOADS)
def test_messages_that_quote_what_was_typed_are_text(xss_site, p):
    """Refusals and flashed confirmations that repeat a name or a title."""
    admin, editor = xss_site.client(True, "admin"), xss_site.client(True, "editor")
    problems = []
    cases = [
        (admin, "/modes", {"name": p, "signals": p * 4}, 400),  # 信号词太长：<the term>…
        (admin, "/modes", {"name": "x" * 41 + p, "signals": "词"}, 400),
        (editor, f"/doc/{XSS_DOCS[0].id}/modes", {"mode": p, "decision": "confirm"}, None),  # no such mode
        (editor, "/pearls/add", {"doc_id": p, "string_id": "new", "new_title": p}, 404),  # no such case
        (editor, "/pearls/add", {"doc_id": HUB.id, "string_id": "new", "new_title": p}, 200),  # flashed: 已加入“…”
        (admin, "/modes", {"name": mode_name(PAYLOADS.index(p)), "signals": f"{XSS_TERM}: 3"}, 200),  # flashed
    ]
    for client, url, data, status in cases:
        response = client.post(url, data={**data, "csrf_token": xss_site.csrf(client)}, follow_redirects=True)
        if status is not None and response.status_code != status:
            problems.append(f"{url} {data}: answered {response.status_code}")
        problems += [f"{url} {data}: {x}" for x in _shows_as_text(response, p if status == 200 else None)]
    assert not problems, "\n".join(problems)


def test_a_refused_stale_save_shows_the_unsaved_payloads_as_text(xss_site):
    """409: the edit page again, with what the curator typed still in its form."""
    editor = xss_site.client(True, "editor")
    string_id, pearls = xss_site.string("draft")  # version 3 by now: two pearls were added
    problems = []
    for p in PAYLOADS:
        response = editor.post(f"/pearls/{string_id}/edit", data={
            "title": f"{p}改", "theme": f"{p}主线改", "intro": f"{p}导言改", "version": "1",
            "csrf_token": xss_site.csrf(editor)})
        assert response.status_code == 409
        problems += [x for wanted in (f"{p}改", f"{p}主线改", f"{p}导言改") for x in _shows_as_text(response, wanted)]
        response = editor.post(f"/pearls/{string_id}/pearls/{pearls[0]}", data={
            "action": "annotate", "commentary": f"{p}点评改", "version": "1", "csrf_token": xss_site.csrf(editor)})
        assert response.status_code == 409
        problems += _shows_as_text(response, f"{p}点评改")
    assert not problems, "\n".join(problems)


def test_the_audit_catches_what_it_looks_for():
    """The checks above are only as good as this parser: it flags markup, not escaped text."""
    bad = ['<script>alert(1)</script>', '<a href=" javascript:alert(1)">x</a>', '<a href="&#106;avascript:alert(1)">x</a>',
           '<a href="JaVaScRiPt&colon;alert(1)">x</a>', '<form action="javascript:alert(1)"></form>',
           '<div onclick="alert(1)">x</div>', '<p/onmouseover=alert(1)>x', '<img src=x>', '<svg onload=alert(1)>',
           '<iframe src="data:text/html,x"></iframe>', '<a href="java\tscript:alert(1)">x</a>']
    good = ['&lt;script&gt;alert(1)&lt;/script&gt;', '<input value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;">',
            '<textarea>&lt;/textarea&gt;&lt;script&gt;</textarea>', '<script src="/static/app.js" defer></script>',
            '<a href="/search?q=javascript%3Aalert(1)">javascript:alert(1)</a>', '<p title="onerror=alert(1)">x</p>']
    assert [b for b in bad if not inert_problems(b)] == []
    assert [(g, inert_problems(g)) for g in good if inert_problems(g)] == []


# ========================================================================= 4. path traversal
# (the file name as the upload's Content-Disposition header writes it, the name kept; None: refused)
TRAVERSAL_UPLOADS = (
    ('filename="../../etc/passwd.md"', "passwd.md"),
    ('filename="..\\\\..\\\\win.md"', "win.md"),  # a quoted backslash: the name holds ..\..\
    ('filename="/etc/hx-absolute.md"', "hx-absolute.md"),
    ('filename="C:\\\\Windows\\\\drive.md"', "drive.md"),
    ('filename="\\\\\\\\server\\\\share\\\\unc.md"', "unc.md"),
    ('filename="sub/../../../up.md"', "up.md"),
    ("filename*=UTF-8''..%2F..%2Fencoded.md", "encoded.md"),
    ('filename="....//....//dots.md"', "dots.md"),
    ('filename="%2e%2e%2fpct.md"', None),  # kept as written: "%" cannot be in a document id
    ('filename="nul\x00byte.md"', None),
    ('filename=".."', None),
    ('filename="."', None),
    ('filename=".md"', None),
    ('filename=".hidden.md"', None),
    ('filename="../"', None),
    ('filename="a/"', None),
    ("filename*=UTF-8''nl%0A.md", None),  # a newline: the id would be "nl\n", a 500 in the download header
    ("filename*=UTF-8''cr%0D.md", None),
    ("filename*=UTF-8''tab%09.md", None),
)


def _multipart(fields: dict[str, str], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A form-data body written by hand, so that the file names reach the server as written."""
    boundary = "hx-traversal-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="files"; {disposition}\r\n'
              f"Content-Type: text/markdown\r\n\r\n".encode() + data + b"\r\n" for disposition, data in files]
    return b"".join([*parts, f"--{boundary}--\r\n".encode()]), f"multipart/form-data; boundary={boundary}"


def _files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def test_upload_names_with_folders_store_a_bare_name_and_write_nothing(site):
    admin = site.client(True, "admin")
    data_dir, root = site.data_dir.resolve(), site.built.folder.parent.resolve()
    elsewhere = [Path("/etc/passwd.md"), Path("/etc/hx-absolute.md"), Path.cwd() / "up.md", Path("/up.md"),
                 root / "up.md", root / "encoded.md", data_dir / "upload", Path.cwd() / "upload"]
    existed = {p for p in elsewhere if p.exists()}
    before = {p for p in _files(root) if data_dir not in p.parents}
    body, content_type = _multipart({"csrf_token": site.csrf(admin)}, [
        (disposition, f"---\ntitle: 穿越{n}\n---\n\n为测试编写的第 {n} 段正文。\n".encode())
        for n, (disposition, _) in enumerate(TRAVERSAL_UPLOADS)])
    response = admin.post("/import", data=body, content_type=content_type)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert {p for p in _files(root) if data_dir not in p.parents} == before, "a file was written beside the data dir"
    assert {p for p in elsewhere if p.exists()} == existed
    assert response.get_data(as_text=True).count("<tr class=") == len(TRAVERSAL_UPLOADS)  # each file is reported
    with closing(sqlite3.connect(f"file:{data_dir / 'kb.sqlite3'}?mode=ro", uri=True)) as conn:
        kept = {title: (name, doc_id) for name, title, doc_id in conn.execute(
            "SELECT o.name, d.title, d.id FROM originals o JOIN documents d ON d.id = o.doc_id"
            " WHERE d.title LIKE '穿越%'")}
    assert {n: kept.get(f"穿越{n}", (None,))[0] for n in range(len(TRAVERSAL_UPLOADS))} == \
        {n: name for n, (_, name) in enumerate(TRAVERSAL_UPLOADS)}
    for name, doc_id in kept.values():
        response = admin.get(f"/api/documents/{doc_id}/original")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == f"attachment; filename={name}"


def test_a_file_name_with_a_newline_is_not_a_broken_download(site, tmp_path):
    """A file imported from disk (``kb ingest``) under a name holding a line break: its
    original downloads under that name with the break replaced (a header cannot hold one)."""
    path = tmp_path / "第一行\n第二行.md"
    path.write_text("---\nid: t-newline-name\ntitle: 文件名里有换行\n---\n\n为测试编写的正文。\n", encoding="utf-8")
    report, _ = site.core.documents.ingest([str(path)])
    assert [i.doc_id for i in report.items] == ["t-newline-name"]
    response = site.client(True, "admin").get("/api/documents/t-newline-name/original")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and not re.search(r"[\x00-\x1f\x7f]", disposition)
    assert response.get_data() == path.read_bytes()


TRAVERSAL_URLS = (
    "/doc/..", "/doc/..%2F..%2Fsecret_key", "/doc/%2e%2e%2f%2e%2e%2fkb.sqlite3", "/doc/..%5C..%5Csecret_key",
    "/doc/%00", "/doc/t-hub%00", "/doc/%C0%AE%C0%AE", "/doc/%252e%252e%252fsecret_key", "/doc/../../secret_key",
    "/doc/t-hub/similar/..%2F1", "/api/documents/..%2F..%2Fsecret_key/original", "/api/documents/%2e%2e/original",
    "/api/documents/../../kb.sqlite3/original", "/api/documents/%00/similar?ord=1",
    "/api/documents/..%2Fsecret_key", "/modes/..%2F..%2Fsecret_key", "/modes/../../../etc/passwd",
    "/modes/%2e%2e/%2e%2e/kb.sqlite3", "/modes/%00", "/pearls/..%2F1", "/pearls/%2e%2e/edit", "/pearls/1%00/edit",
    "/api/pearls/..%2F1", "/api/pearls/-1", "/static/../secret_key", "/static/..%2F..%2Fsecret_key",
    "/static/%2e%2e/%2e%2e/pyproject.toml", "/static/..%5Capp.js", "/static//etc/passwd", "/static/%00app.js",
    "/static/app.js%00.txt", "/static/../../../../etc/passwd",
)
SECRETS = (b"SQLite format 3", b"root:x:0:0", b"[project]", b"password_hash")


def test_traversal_in_url_ids_is_a_clear_4xx_and_serves_no_file(site):
    admin = site.client(True, "admin")
    key = (site.data_dir / "secret_key").read_bytes().strip()
    problems = []
    for url in TRAVERSAL_URLS:
        before = site.state()
        response = admin.get(url)
        if response.status_code in (301, 308):  # slashes merged: the same check on the target
            target = response.headers["Location"].removeprefix("http://localhost")
            assert target.startswith("/static/") and not target.startswith("//"), target
            response = admin.get(target)
        body = response.get_data()
        if response.status_code not in (400, 404):
            problems.append(f"{url}: answered {response.status_code}")
        if key in body or any(s in body for s in SECRETS):
            problems.append(f"{url}: served a file it must not")
        if changed_tables(before, site.state()):
            problems.append(f"{url}: changed the state")
    for url, data in (("/doc/..%2F..%2Fsecret_key/modes", {"mode": "文化嵌入型", "decision": "confirm"}),
                      ("/pearls/add", {"doc_id": "../../secret_key", "string_id": "new"}),
                      ("/pearls/add", {"doc_id": "..", "ord": "1", "string_id": "new"})):
        before = site.state()
        response = admin.post(url, data={**data, "csrf_token": site.csrf(admin)})
        if response.status_code not in (400, 404) or changed_tables(before, site.state()):
            problems.append(f"POST {url} {data}: answered {response.status_code}")
    assert not problems, "\n".join(problems)


# ========================================================================== 5. the session cookie
def _set_cookie(response) -> str:  # noqa: ANN001
    return next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("hongxian_session="))


def _attributes(cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}


def test_the_session_cookie_is_secure_only_with_cookie_secure(site):
    client = site.apps[True].test_client()
    response = client.post("/login", data={"username": "reader", "password": PASSWORD, "csrf_token": token(client)})
    cookie = _set_cookie(response)
    assert {"httponly", "path"} <= _attributes(cookie) and "SameSite=Lax" in cookie
    assert "secure" not in _attributes(cookie)

    app = create_app({"TESTING": True}, core=Hongxian(override(site.built.settings, {"cookie_secure": True}),
                                                      background=False))
    client = app.test_client()
    https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/login"}}
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login", **https).get_data(as_text=True))
    response = client.post("/login", data={"username": "reader", "password": PASSWORD, "csrf_token": csrf.group(1)},
                           **https)
    assert response.status_code == 302, response.get_data(as_text=True)
    cookie = _set_cookie(response)
    assert {"secure", "httponly"} <= _attributes(cookie) and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_with_cookie_secure_a_post_from_another_site_is_refused(site):
    """Over HTTPS Flask-WTF also checks that the Referer is this site (WTF_CSRF_SSL_STRICT)."""
    app = create_app({"TESTING": True}, core=Hongxian(override(site.built.settings, {"cookie_secure": True}),
                                                      background=False))
    client = app.test_client()
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    data = {"username": "reader", "password": PASSWORD, "csrf_token": csrf}
    for referer in (None, "https://evil.example/login", "http://localhost/login"):
        headers = {"Referer": referer} if referer else {}
        response = client.post("/login", data=data, base_url="https://localhost", headers=headers)
        assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True), referer
    response = client.post("/login", data=data, base_url="https://localhost",
                           headers={"Referer": "https://localhost/login"})
    assert response.status_code == 302


def test_a_session_planted_before_login_is_not_the_one_after(site):
    """Session fixation: what an attacker put in the browser's cookie before the login (here a
    session claiming a server-side token the attacker knows) is gone after it, and the cookie
    the attacker kept opens nothing."""
    app = site.apps[True]
    user = site.core.accounts.get("editor")
    victim = app.test_client()
    with victim.session_transaction() as session:
        session["_user_id"] = f"editor\n{user.session_version}\nattacker-chosen-token"
        session["planted"] = "by the attacker"
    planted = victim.get_cookie("hongxian_session").value
    assert victim.get("/review").status_code == 302  # an unknown token opens nothing
    victim.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token(victim)})
    assert victim.get("/review").status_code == 200
    after = victim.get_cookie("hongxian_session").value
    assert after != planted
    with victim.session_transaction() as session:
        assert "planted" not in session
        assert not session["_user_id"].endswith("attacker-chosen-token")
    attacker = app.test_client()
    attacker.set_cookie("hongxian_session", planted)
    assert attacker.get("/review").status_code == 302
    assert attacker.get("/api/modes").status_code == 401


def test_methods_no_rule_takes_are_405_and_change_nothing(site):
    client = site.client(True, "admin")
    requests = _requests(site)
    for endpoint, methods in _rules(site.apps[True]).items():
        req = requests[endpoint]("draft" if POLICY[endpoint].string else None)
        for method in sorted({"PUT", "PATCH", "DELETE"} - methods):
            before = site.state()
            response = client.open(req.url, method=method, data={"csrf_token": site.csrf(client)})
            assert response.status_code == 405, (endpoint, method, response.status_code)
            assert changed_tables(before, site.state()) == [], (endpoint, method)
