"""The site with accounts: login, roles, CSRF, tagging, modes, pearl strings, import, the JSON API.

Flask's test client over a knowledge base of the documents in tests/stock.py, made for this
module (the tests write to it), with the default setting: login required.
"""

from __future__ import annotations

import io
import json
import re
from urllib.parse import unquote

import pytest
from builder import build
from conftest import make_settings
from site_client import PASSWORD, login, post, token
from stock import CLUBHOUSE, DOCS, HUB, LINKAGE, PLATFORM, SALON, SERVICE
from werkzeug.test import EnvironBuilder

from hongxian import Hongxian
from kb.settings import override
from web import create_app


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("site"), DOCS)


@pytest.fixture(scope="module")
def core(built) -> Hongxian:
    core = built.core
    with core.kb as kb:
        for name, role in (("admin", "admin"), ("editor", "editor"), ("editor2", "editor"),
                           ("reader", "reader")):
            kb.accounts.add(name, PASSWORD, role)
    return core


@pytest.fixture(scope="module")
def app(core):
    return create_app({"TESTING": True}, core=core)


@pytest.fixture(scope="module")
def anon(app):
    return app.test_client()


@pytest.fixture(scope="module")
def reader(app):
    return login(app, "reader")


@pytest.fixture(scope="module")
def editor(app):
    return login(app, "editor")


@pytest.fixture(scope="module")
def admin(app):
    return login(app, "admin")


# ----------------------------------------------------------------------------- login and setup
@pytest.mark.parametrize("url", ["/", "/search?q=党建", f"/doc/{HUB.id}", "/modes", "/review",
                                 "/import", "/admin/users"])
def test_pages_need_a_login_by_default(anon, url):
    response = anon.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("url", ["/api/search?q=党建", f"/api/documents/{HUB.id}", "/api/modes"])
def test_api_needs_a_login_and_says_so_in_json(anon, url):
    response = anon.get(url)
    assert response.status_code == 401
    assert response.get_json()["error"] == "login_required"


def test_login_form_has_the_documented_fields(anon):
    html = anon.get("/login").get_data(as_text=True)
    for name in ("username", "password", "csrf_token"):
        assert f'name="{name}"' in html


def test_wrong_password_is_refused_without_saying_which_part(app):
    client = app.test_client()
    for username in ("reader", "nobody"):
        response = client.post("/login", data={"username": username, "password": "wrong-password",
                                               "csrf_token": token(client)})
        assert response.status_code == 401
        assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_returns_to_the_page_asked_for_but_never_off_site(app):
    client = app.test_client()
    response = client.post("/login", data={"username": "reader", "password": PASSWORD,
                                           "next": "/search?q=学会", "csrf_token": token(client)})
    assert unquote(response.headers["Location"]) == "/search?q=学会"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client = app.test_client()
        response = client.post("/login", data={"username": "reader", "password": PASSWORD,
                                               "next": evil, "csrf_token": token(client)})
        assert response.headers["Location"] == "/", evil


def test_login_without_csrf_token_is_refused(app):
    client = app.test_client()
    response = client.post("/login", data={"username": "reader", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still not logged in


def test_session_cookie_is_http_only_and_same_site(app):
    client = app.test_client()
    response = client.post("/login", data={"username": "reader", "password": PASSWORD,
                                           "csrf_token": token(client)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logout_ends_the_session(app):
    client = login(app, "reader")
    assert client.get("/").status_code == 200
    assert post(client, "/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_password_change_signs_other_sessions_out(app, core):
    with core.kb as kb:
        kb.accounts.add("mover", PASSWORD, "reader")
    client = login(app, "mover")
    assert client.get("/").status_code == 200
    with core.kb as kb:
        kb.accounts.set_password("mover", "another-password")
    assert client.get("/").status_code == 302
    login(app, "mover", "another-password")


def test_setup_creates_the_first_admin_only_while_there_is_none(tmp_path):
    core = Hongxian(make_settings(tmp_path / "fresh", corpus_dir=""), background=False)
    app = create_app({"TESTING": True}, core=core)
    client = app.test_client()
    assert client.get("/").headers["Location"] == "/setup"
    assert client.get("/login").headers["Location"] == "/setup"
    csrf = token(client, "/setup")
    response = client.post("/setup", data={"username": "chief", "password": "pw-1234567",
                                           "password2": "pw-7654321", "csrf_token": csrf})
    assert response.status_code == 400 and "不一致" in response.get_data(as_text=True)
    response = client.post("/setup", data={"username": "chief", "password": "pw-1234567",
                                           "password2": "pw-1234567", "csrf_token": csrf})
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200  # logged in as the new administrator
    other = app.test_client()
    assert other.get("/setup").headers["Location"] == "/login"
    response = other.post("/setup", data={"username": "intruder", "password": "pw-1234567",
                                          "password2": "pw-1234567", "csrf_token": token(other)})
    with core.kb as kb:
        assert [u["username"] for u in kb.accounts.list()] == ["chief"]


def test_the_site_can_be_open_to_readers(core):
    app = create_app({"TESTING": True}, core=Hongxian(override(core.settings, {"login_required": False}),
                                                      background=False))
    client = app.test_client()
    assert client.get("/search?q=学会").status_code == 200
    assert client.get("/api/search?q=学会").status_code == 200
    assert client.get("/review").status_code == 302  # writing still needs an account


# ---------------------------------------------------------------------------------- roles
@pytest.mark.parametrize("url", ["/", "/search?q=会所文化", "/search?mode=文化嵌入型", f"/doc/{CLUBHOUSE.id}",
                                 f"/doc/{CLUBHOUSE.id}/similar/<practice>", "/modes", "/modes/文化嵌入型",
                                 "/pearls", "/api/search?q=双报到", f"/api/documents/{HUB.id}", "/api/modes",
                                 f"/api/documents/{CLUBHOUSE.id}/similar", "/api/pearls"])
def test_every_reading_page_answers_a_reader(reader, built, url):
    url = url.replace("<practice>", str(built.ord_of(CLUBHOUSE.id, "会所文化")))
    response = reader.get(url)
    assert response.status_code == 200, url
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_reader_cannot_tag_curate_or_import(reader, core):
    with core.kb as kb:
        before = kb.documents.get(SALON.id).to_dict()["modes"]
    forbidden = [
        (f"/doc/{SALON.id}/modes", {"mode": "文化嵌入型", "decision": "confirm"}),
        ("/pearls", {"title": "读者的串"}),
        ("/pearls/add", {"doc_id": SALON.id, "string_id": "new", "new_title": "x"}),
        ("/modes", {"name": "读者模式", "signals": "读者"}),
        ("/admin/users", {"action": "add", "username": "x1", "password": PASSWORD, "role": "admin"}),
    ]
    for url, data in forbidden:
        assert post(reader, url, data).status_code == 403, url
    assert reader.get("/review").status_code == 403
    assert reader.get("/import").status_code == 403
    response = reader.post("/import", data={"csrf_token": token(reader, "/pearls"),
                                            "files": (io.BytesIO(b"x"), "a.md")})
    assert response.status_code == 403
    with core.kb as kb:
        assert kb.documents.get(SALON.id).to_dict()["modes"] == before
        assert kb.pearls.summaries(owner="reader") == []
        assert kb.accounts.get("x1") is None


def test_editor_cannot_manage_users_import_or_edit_modes(editor, core):
    assert editor.get("/admin/users").status_code == 403
    assert post(editor, "/admin/users", {"action": "role", "username": "editor", "role": "admin"}).status_code == 403
    assert editor.get("/import").status_code == 403
    assert post(editor, "/modes", {"name": "编辑模式", "signals": "编辑"}).status_code == 403
    with core.kb as kb:
        assert kb.accounts.get("editor").role == "editor"
        assert "编辑模式" not in kb.modes.taxonomy().names()


def test_nav_shows_what_the_role_can_do(reader, editor, admin):
    assert "待审标注" not in reader.get("/").get_data(as_text=True)
    page = editor.get("/").get_data(as_text=True)
    assert "待审标注" in page and 'href="/import"' not in page
    page = admin.get("/").get_data(as_text=True)
    assert 'href="/import"' in page and 'href="/admin/users"' in page


# ----------------------------------------------------------------------------------- CSRF
@pytest.mark.parametrize("url, data", [
    (f"/doc/{HUB.id}/modes", {"mode": "文化嵌入型", "decision": "confirm"}),
    ("/pearls", {"title": "伪造的串"}),
    ("/modes", {"name": "伪造模式", "signals": "伪造"}),
    ("/admin/users", {"action": "add", "username": "forged", "password": PASSWORD, "role": "admin"}),
])
def test_forged_requests_without_a_token_change_nothing(admin, core, url, data):
    with core.kb as kb:
        before = (kb.documents.get(HUB.id).to_dict()["modes"], kb.pearls.summaries(), kb.modes.taxonomy().names(),
                  kb.accounts.list())
    response = admin.post(url, data=data)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    response = admin.post(url, data={**data, "csrf_token": "forged-token"})
    assert response.status_code == 400
    with core.kb as kb:
        after = (kb.documents.get(HUB.id).to_dict()["modes"], kb.pearls.summaries(), kb.modes.taxonomy().names(),
                 kb.accounts.list())
    assert after == before


def test_json_writes_need_the_token_header_too(editor, core, built):
    string_id = int(post(editor, "/pearls", {"title": "顺序测试"}).headers["Location"].split("/")[2])
    for ord_ in (-1, built.ord_of(LINKAGE.id, "双报到")):
        added = post(editor, "/pearls/add", {"doc_id": LINKAGE.id, "ord": ord_, "string_id": string_id})
        assert added.status_code == 302, added.get_data(as_text=True)
    with core.kb as kb:
        ids = [p["id"] for p in kb.pearls.get(string_id)["pearls"]]
    assert len(ids) == 2
    url = f"/pearls/{string_id}/order"
    assert editor.post(url, json={"order": ids[::-1]}).status_code == 400
    response = editor.post(url, json={"order": ids[::-1]}, headers={"X-CSRFToken": token(editor, "/pearls")})
    assert response.status_code == 200 and response.get_json()["order"] == ids[::-1]


# -------------------------------------------------------------------------------- tagging
def _suggested(core) -> tuple[str, str]:
    with core.kb as kb:
        _, items = kb.tags.review_queue(limit=50)
    item = next(i for i in items if i["doc_id"] not in (HUB.id,))
    return item["doc_id"], item["suggested"][0].mode


def test_review_queue_lists_suggestions_strongest_first(editor):
    html = editor.get("/review").get_data(as_text=True)
    firsts = re.findall(r'<li>\s*<h2><a href="/doc/([^"#]+)', html)
    assert len(firsts) >= 2
    items = re.split(r'<li>\s*<h2><a href="/doc/', html)[1:]
    scores = [[float(s) for s in re.findall(r"得分 ([0-9.]+)", item)] for item in items]
    assert all(scores) and all(s == sorted(s, reverse=True) for s in scores)  # each case's, strongest first
    best = [s[0] for s in scores]
    assert best == sorted(best, reverse=True) and best[0] > best[-1]  # the cases, strongest first


def test_editor_confirms_a_suggestion_and_history_records_it(editor, core):
    doc_id, mode = _suggested(core)
    response = post(editor, f"/doc/{doc_id}/modes", {"mode": mode, "decision": "confirm"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#modes")
    with core.kb as kb:
        doc = kb.documents.get(doc_id).to_dict()
        assert mode in doc["modes"]["confirmed"]
        assert kb.tags.history(doc_id)[0].to_dict() | {"at": None} == {
            "section_ord": -1, "mode": mode, "status": "confirmed", "actor": "editor", "at": None}
    html = editor.get(f"/doc/{doc_id}").get_data(as_text=True)
    assert "标注历史" in html and "editor 确认“" + mode in html
    # the search index follows at once: the mode is now a confirmed one in results
    hits = editor.get(f"/api/search?q=&mode={mode}&limit=100").get_json()["hits"]
    assert any(h["doc_id"] == doc_id and mode in h["modes"] for h in hits)


def test_editor_rejects_and_adds_a_mode_by_hand(editor, core):
    doc_id, mode = _suggested(core)
    post(editor, f"/doc/{doc_id}/modes", {"mode": mode, "decision": "reject"})
    with core.kb as kb:
        names = kb.modes.taxonomy().names()
        modes = kb.documents.get(doc_id).to_dict()["modes"]
    assert mode in modes["rejected"] and mode not in [s["mode"] for s in modes["suggested"]]
    other = next(n for n in names if n not in modes["confirmed"] and n != mode)
    post(editor, f"/doc/{doc_id}/modes", {"mode": other, "decision": "confirm"})
    with core.kb as kb:
        assert other in kb.documents.get(doc_id).to_dict()["modes"]["confirmed"]


@pytest.mark.parametrize("data, status", [
    ({"mode": "不存在的模式", "decision": "confirm"}, 400),
    ({"mode": "文化嵌入型", "decision": "maybe"}, 400),
    ({"mode": "文化嵌入型", "decision": "confirm", "ord": "x"}, 400),
])
def test_bad_tagging_requests_are_refused(editor, data, status):
    assert post(editor, f"/doc/{PLATFORM.id}/modes", data).status_code == status


def test_tagging_a_missing_document_is_404(editor):
    assert post(editor, "/doc/no-such-doc/modes", {"mode": "文化嵌入型", "decision": "confirm"}).status_code == 404


def test_case_page_marks_evidence_for_editors_and_offers_a_citation(reader, editor, core):
    with core.kb as kb:
        _, items = kb.tags.review_queue(limit=50)
    doc_id = items[-1]["doc_id"]
    html = editor.get(f"/doc/{doc_id}").get_data(as_text=True)
    assert '<mark class="evidence"' in html and "系统建议" in html and 'class="legend' in html
    html = reader.get(f"/doc/{doc_id}").get_data(as_text=True)  # readers: confirmed modes only
    assert '<mark class="evidence"' not in html and "系统建议" not in html and "得分" not in html
    assert 'class="legend' not in html and "mode suggested" not in html
    assert "GB/T 7714" in html and "[R]" in html
    assert "[R/OL]" not in html  # served at localhost: no online form (tests/test_citation_site.py)
    assert "目录" in html


# ---------------------------------------------------------------------------------- modes
def test_admin_adds_a_mode_that_takes_effect_without_restart(admin, reader, core):
    response = post(admin, "/modes", {"name": "数字赋能型", "short": "用数字平台做服务",
                                      "description": "以线上平台联系党员群众", "signals": "平台:3\n线上:2, 微信:2、数字化:2"})
    assert response.status_code == 302
    modes = reader.get("/api/modes").get_json()["modes"]
    added = next(m for m in modes if m["name"] == "数字赋能型")
    assert added["signals"] == {"平台": 3.0, "线上": 2.0, "微信": 2.0, "数字化": 2.0}
    assert added["suggested"] > 0
    facets = reader.get("/api/search?q=平台").get_json()["facets"]["mode"]
    assert any(b["value"] == "数字赋能型" for b in facets)
    assert "数字赋能型" in reader.get("/modes").get_data(as_text=True)
    # edit it: a stricter signal list changes the suggestions at once
    post(admin, "/modes", {"name": "数字赋能型", "signals": "不会出现的词语"})
    assert next(m for m in reader.get("/api/modes").get_json()["modes"]
                if m["name"] == "数字赋能型")["suggested"] == 0


def test_a_mode_without_signals_is_refused(admin, core):
    assert post(admin, "/modes", {"name": "空模式", "signals": ""}).status_code == 400
    with core.kb as kb:
        assert "空模式" not in kb.modes.taxonomy().names()


def test_unknown_mode_page_is_404(reader):
    assert reader.get("/modes/没有的模式").status_code == 404


# --------------------------------------------------------------------------- pearl strings
def _new_string(client, title: str = "以文化凝聚人心") -> int:
    response = post(client, "/pearls", {"title": title, "theme": "文化是最深沉的纽带"})
    assert response.status_code == 302
    return int(response.headers["Location"].split("/")[2])


def test_curator_builds_annotates_reorders_and_publishes(editor, anon, core):
    string_id = _new_string(editor)
    with core.kb as kb:
        practice = next(s for s in kb.documents.get(CLUBHOUSE.id).to_dict()["sections"] if s["is_practice"])
    post(editor, "/pearls/add", {"doc_id": CLUBHOUSE.id, "ord": practice["ord"], "string_id": string_id})
    post(editor, "/pearls/add", {"doc_id": CLUBHOUSE.id, "string_id": string_id})
    post(editor, "/pearls/add", {"doc_id": SERVICE.id, "string_id": string_id})
    with core.kb as kb:
        pearls = kb.pearls.get(string_id)["pearls"]
    assert [(p["doc_id"], p["kind"]) for p in pearls] == [
        (CLUBHOUSE.id, "practice"), (CLUBHOUSE.id, "case"), (SERVICE.id, "case")]
    first, second, third = (p["id"] for p in pearls)
    post(editor, f"/pearls/{string_id}/pearls/{third}", {"action": "up"})
    post(editor, f"/pearls/{string_id}/pearls/{first}", {"action": "annotate",
                                                          "commentary": "**重点**：<script>alert(1)</script>"})
    post(editor, f"/pearls/{string_id}/edit", {"title": "以文化凝聚人心", "theme": "文化是纽带",
                                               "intro": "## 导读\n[坏链接](javascript:alert(1))"})
    # a draft is not public
    assert anon.get(f"/pearls/{string_id}").status_code == 404
    assert anon.get(f"/api/pearls/{string_id}").status_code == 404
    assert post(editor, f"/pearls/{string_id}/publish", {"action": "publish"}).status_code == 302
    html = anon.get(f"/pearls/{string_id}").get_data(as_text=True)
    order = [html.index(f'id="pearl-{i}"') for i in (first, third, second)]
    assert order == sorted(order)
    assert "<strong>重点</strong>" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html
    assert 'href="javascript' not in html
    assert "<h4>导读</h4>" in html
    assert '<meta name="description" content="文化是纽带 导读 [坏链接](javascript:alert(1))">' in html
    data = anon.get(f"/api/pearls/{string_id}").get_json()
    assert [p["id"] for p in data["pearls"]] == [first, third, second]
    assert all(p["citation"].endswith(".") and "[R]" in p["citation"] for p in data["pearls"])
    assert any(s["id"] == string_id for s in anon.get("/api/pearls").get_json()["pearl_strings"])
    handout = anon.get(f"/pearls/{string_id}/print").get_data(as_text=True)
    assert "教学讲义" in handout and "参考文献" in handout and handout.count("[R]") >= 3
    # unpublish: gone from the public again
    post(editor, f"/pearls/{string_id}/publish", {"action": "unpublish"})
    assert anon.get(f"/pearls/{string_id}").status_code == 404


def test_drafts_are_private_to_their_curator_and_admins(editor, app, admin, reader):
    string_id = _new_string(editor, "草稿")
    other = login(app, "editor2")
    assert editor.get(f"/pearls/{string_id}").status_code == 200
    assert admin.get(f"/pearls/{string_id}").status_code == 200
    assert admin.get(f"/pearls/{string_id}/edit").status_code == 200
    for client in (other, reader):
        assert client.get(f"/pearls/{string_id}").status_code == 404
        assert client.get(f"/pearls/{string_id}/print").status_code == 404
        assert client.get(f"/api/pearls/{string_id}").status_code == 404
    assert other.get(f"/pearls/{string_id}/edit").status_code == 404
    response = post(other, "/pearls/add", {"doc_id": HUB.id, "string_id": string_id})
    assert response.status_code == 404
    assert "草稿" not in other.get("/pearls").get_data(as_text=True).split("已发布")[0].split("我编的")[1]


def test_another_editor_cannot_change_a_published_string(editor, app, core):
    string_id = _new_string(editor, "公开的串")
    post(editor, "/pearls/add", {"doc_id": SALON.id, "string_id": string_id})
    post(editor, f"/pearls/{string_id}/publish", {"action": "publish"})
    other = login(app, "editor2")
    assert other.get(f"/pearls/{string_id}").status_code == 200
    for url, data in ((f"/pearls/{string_id}/edit", {"title": "改掉"}),
                      (f"/pearls/{string_id}/publish", {"action": "unpublish"}),
                      (f"/pearls/{string_id}/delete", {})):
        assert post(other, url, data).status_code == 403
    with core.kb as kb:
        string = kb.pearls.get(string_id)
    assert (string["title"], string["status"]) == ("公开的串", "published")


def test_adding_to_a_new_string_from_a_search_result(editor, core):
    response = post(editor, "/pearls/add", {"doc_id": HUB.id, "ord": "-1", "string_id": "new",
                                            "new_title": "从检索结果新建", "next": "/search?q=学会"})
    assert unquote(response.headers["Location"]) == "/search?q=学会"
    with core.kb as kb:
        mine = [s for s in kb.pearls.summaries(owner="editor") if s["title"] == "从检索结果新建"]
    assert mine and mine[0]["pearl_count"] == 1


def test_bad_pearl_requests(editor, core):
    string_id = _new_string(editor, "坏请求")
    assert post(editor, "/pearls/add", {"doc_id": "no-such", "string_id": string_id}).status_code == 404
    def strings() -> int:
        with core.kb as kb:
            return len(kb.pearls.summaries(owner="editor"))

    before = strings()
    assert post(editor, "/pearls/add", {"doc_id": "no-such", "string_id": "new", "new_title": "孤儿"}).status_code == 404
    assert post(editor, "/pearls/add", {"doc_id": HUB.id, "ord": "9999", "string_id": "new"}).status_code == 400
    assert strings() == before  # no empty string left behind
    assert post(editor, "/pearls/add", {"doc_id": HUB.id, "string_id": ""}).status_code == 400
    assert post(editor, "/pearls/add", {"doc_id": HUB.id, "ord": "9999",
                                        "string_id": string_id}).status_code == 400
    assert post(editor, f"/pearls/{string_id}/publish", {"action": "publish"}).status_code == 400  # empty
    assert post(editor, f"/pearls/{string_id}/pearls/999999", {"action": "up"}).status_code == 404
    assert post(editor, "/pearls/add", {"doc_id": HUB.id, "string_id": string_id}).status_code == 302
    with core.kb as kb:
        [pearl] = kb.pearls.get(string_id)["pearls"]
    assert post(editor, f"/pearls/{string_id}/pearls/{pearl['id']}", {"action": "dance"}).status_code == 400
    assert post(editor, f"/pearls/{string_id}/order", {"order": "1,x"}).status_code == 400
    assert post(editor, "/pearls", {"title": "   "}).status_code == 400
    assert editor.get("/pearls/999999").status_code == 404


def test_search_and_case_pages_offer_add_to_pearl_string_to_editors(editor, reader):
    for url in ("/search?q=会所文化", f"/doc/{CLUBHOUSE.id}"):
        assert "加入串珍珠" in editor.get(url).get_data(as_text=True)
        assert "加入串珍珠" not in reader.get(url).get_data(as_text=True)


# --------------------------------------------------------------------------------- import
def _upload(client, files: list[tuple[bytes, str]]):
    data = {"csrf_token": token(client, "/pearls"),
            "files": [(io.BytesIO(content), name) for content, name in files]}
    return client.post("/import", data=data, content_type="multipart/form-data")


def test_admin_imports_files_and_sees_the_report(admin, reader, core):
    good = ("---\nid: upload-001\ntitle: 上传的案例：楼宇党建新做法\nunit: 测试单位\ndate: 2024-03-01\n---\n\n"
            "一、做法\n\n楼宇党建与园区党建相结合，上传测试用语“云端议事厅”。\n").encode()
    hostile = ("---\nid: upload-002\ntitle: 含脚本<script>alert(1)</script>的标题\n---\n\n"
               "正文<script>alert(2)</script><img src=x onerror=alert(3)>。\n").encode()
    bad = b"---\ntitle: [unclosed\n---\nbody\n"
    response = _upload(admin, [(good, "good.md"), (hostile, "../../etc/hostile.md"), (bad, "bad.md"),
                               (b"\x00\x01\x02", "binary.docx"), (b"x", "notes.pdf")])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "新增 2" in html and "拒绝 3" in html
    assert "hostile.md" in html and "../" not in html
    found = reader.get("/api/search?q=云端议事厅").get_json()
    assert found["hits"][0]["doc_id"] == "upload-001" and found["total_all"] == 1
    page = reader.get("/doc/upload-002").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    # the same upload again: unchanged
    again = _upload(admin, [(good, "good.md")]).get_data(as_text=True)
    assert "未变（跳过）1" in again


def test_import_report_says_what_cleanup_changed(admin):
    """A fictional sample with pinyin debris and mojibake, as text copied from a web page looks."""
    sample = "上传样例：區域化党建\n推进區(qū)域化黨(dǎng)建。\n社区??服务持续开展。\n".encode()
    html = _upload(admin, [(sample, "web-sample.txt")]).get_data(as_text=True)
    assert "已清理：拼音注音 2 处（第 2 行起）；请核对：疑似乱码 1 处（第 3 行）" in html


def test_api_returns_the_original_file_as_a_download(admin, reader, anon):
    sample = "原件样例\n推进區(qū)域化党建。\n".encode("gbk")
    _upload(admin, [(sample, "原件样例.txt")])
    response = reader.get("/api/documents/原件样例/original")
    assert response.status_code == 200
    assert response.data == sample
    assert response.headers["Content-Type"] == "text/plain; charset=gb18030"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "原件样例.txt"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert anon.get("/api/documents/原件样例/original").status_code == 401
    missing = reader.get("/api/documents/nope/original")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"


def test_import_without_files_or_too_large(admin, core):
    response = admin.post("/import", data={"csrf_token": token(admin, "/pearls")},
                          content_type="multipart/form-data")
    assert response.status_code == 400
    small = create_app({"TESTING": True}, core=Hongxian(override(core.settings, {"upload_mb": 1}),
                                                        background=False))
    client = login(small, "admin")
    builder = EnvironBuilder(path="/import", method="POST", data={
        "csrf_token": token(client, "/pearls"), "files": (io.BytesIO(b"x" * (2 * 1024 * 1024)), "big.md")})
    environ = builder.get_environ()  # a body this large is spooled to a temporary file …
    try:
        response = client.open(environ)
    finally:
        environ["wsgi.input"].close()  # … which the test client would leave open
        builder.close()
    assert response.status_code == 413 and "upload_mb" in response.get_data(as_text=True)


# ---------------------------------------------------------------------------------- users
def test_admin_manages_users(admin, app, core):
    assert post(admin, "/admin/users", {"action": "add", "username": "新读者", "password": PASSWORD,
                                        "role": "reader"}).status_code == 302
    assert post(admin, "/admin/users", {"action": "role", "username": "新读者", "role": "editor"}).status_code == 302
    assert post(admin, "/admin/users", {"action": "password", "username": "新读者",
                                        "password": "new-password-1"}).status_code == 302
    with core.kb as kb:
        assert kb.accounts.authenticate("新读者", "new-password-1").role == "editor"
    assert "新读者" in admin.get("/admin/users").get_data(as_text=True)
    assert post(admin, "/admin/users", {"action": "add", "username": "x", "password": "short",
                                        "role": "reader"}).status_code == 400
    assert post(admin, "/admin/users", {"action": "role", "username": "admin", "role": "reader"}).status_code == 400
    with core.kb as kb:
        assert kb.accounts.get("admin").role == "admin"


# ------------------------------------------------------------------------------------ API
def test_api_errors_are_json(reader, anon):
    response = reader.get("/api/documents/nope")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    response = anon.get("/api/pearls/123456")
    assert response.status_code == 404 and response.is_json
    response = reader.get("/api/nothing-here")
    assert response.status_code == 404 and response.is_json


def test_api_search_is_the_cli_json(reader, core):
    from click.testing import CliRunner

    from hongxian.cli import main

    api = reader.get("/api/search?q=学会&mode=枢纽中介型").get_json()
    result = CliRunner().invoke(main, ["--data-dir", str(core.settings.data_dir), "search", "学会",
                                       "--mode", "枢纽中介型", "--json"])
    cli = json.loads(result.output)
    for data in (api, cli):
        data.pop("took_ms", None)
    assert [h["doc_id"] for h in api["hits"]][:1] == [HUB.id]  # something to compare
    assert api == cli


def test_search_page_says_how_many_hold_every_word_and_offers_a_correction(reader):
    html = reader.get("/search?q=会所文化 服务联盟").get_data(as_text=True)
    found = reader.get("/api/search?q=会所文化 服务联盟").get_json()
    assert found["total"] > found["total_all"]
    assert f'<strong class="all-words">{found["total_all"]}</strong> 篇包含全部检索词' in html
    typo = reader.get("/search?q=楼于党建&type=案例").get_data(as_text=True)
    assert "您是不是要找" in typo
    link = re.search(r'class="suggestion"[^>]*>您是不是要找：<a href="([^"]+)">([^<]+)</a>', typo)
    assert link and link.group(2) == "楼宇党建"
    followed = reader.get(link.group(1).replace("&amp;", "&"))
    page = followed.get_data(as_text=True)
    assert followed.status_code == 200 and "您是不是要找" not in page and "类型：案例" in page
