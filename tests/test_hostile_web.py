"""Hostile input on the site (issue 10, item 7): out-of-range ids and pages, malformed JSON
bodies, ``next`` with control characters. Each test reproduced its failure (a 500, or a 500
after the change was made) before the fix. The helpers here serve tests/test_sessions.py and
tests/test_odd_names.py too.
"""

from __future__ import annotations

import re

import pytest
from builder import build
from site_client import PASSWORD, login, post, token
from stock import DOCS, HUB

from kb.model import TagStatus
from web import create_app

HUGE = "99999999999999999999"  # 20 digits: beyond SQLite's largest integer


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    built = build(tmp_path_factory.mktemp("hostile"), DOCS)
    with built.core.kb as handle:
        for name, role in (("admin", "admin"), ("editor", "editor"), ("reader", "reader")):
            handle.accounts.add(name, PASSWORD, role)
    return built


@pytest.fixture(scope="module")
def app(built):
    return create_app({"TESTING": True}, core=built.core)


@pytest.fixture(scope="module")
def editor(app):
    return login(app, "editor")


@pytest.fixture(scope="module")
def string_id(editor) -> int:
    response = post(editor, "/pearls", {"title": "边界测试"})
    assert response.status_code == 302
    return int(re.search(r"/pearls/(\d+)/edit", response.headers["Location"]).group(1))


# ------------------------------------------------------------------ ids and pages out of range
@pytest.mark.parametrize("url", [f"/pearls/{HUGE}", f"/pearls/{HUGE}/print", f"/pearls/{HUGE}/edit",
                                 f"/api/pearls/{HUGE}", f"/doc/{HUB.id}/similar/{HUGE}"])
def test_a_twenty_digit_id_in_a_url_is_404(editor, url):
    response = editor.get(url)
    assert response.status_code == 404
    if url.startswith("/api/"):
        assert response.get_json()["error"] == "not_found"


@pytest.mark.parametrize("path", [f"/pearls/{HUGE}/edit", f"/pearls/{HUGE}/pearls/1", "/pearls/<id>/pearls/" + HUGE,
                                  f"/pearls/{HUGE}/order", f"/pearls/{HUGE}/publish", f"/pearls/{HUGE}/delete"])
def test_a_twenty_digit_id_in_a_post_is_404(editor, string_id, path):
    response = post(editor, path.replace("<id>", str(string_id)), {"action": "remove", "order": "1"})
    # POST …/edit: werkzeug first meets the GET rule of the same path, so an id no rule takes is 405
    assert response.status_code == (405 if path.endswith("/edit") else 404)


@pytest.mark.parametrize("url", [f"/review?page={HUGE}", "/review?page=10001", "/review?page=0",
                                 "/review?page=²", "/review?page=1_0", f"/search?q=党建&page={HUGE}",
                                 f"/api/search?q=党建&page={HUGE}", f"/api/search?q=党建&limit={HUGE}0",
                                 f"/api/documents/{HUB.id}/similar?ord={HUGE}0", f"/api/documents/{HUB.id}/similar?ord=²"])
def test_a_bad_page_or_number_is_400_with_a_chinese_message(editor, url):
    response = editor.get(url)
    assert response.status_code == 400, url
    text = response.get_json()["message"] if url.startswith("/api/") else response.get_data(as_text=True)
    assert re.search(r"不能大于|不能小于|必须是整数", text)


def test_pages_in_range_still_answer(editor):
    assert editor.get("/review?page=1").status_code == 200
    assert editor.get("/review?page=10000").status_code == 200
    assert editor.get("/api/search?q=党建&page=2&limit=5").status_code == 200


@pytest.mark.parametrize("ord_", [HUGE, "²", "-2"])
def test_a_tag_decision_with_an_impossible_section_is_400_and_stores_nothing(built, editor, ord_):
    mode = built.core.modes.taxonomy().names()[0]
    before = built.core.tagging.history(HUB.id)
    response = post(editor, f"/doc/{HUB.id}/modes", {"decision": "confirm", "mode": mode, "ord": ord_})
    assert response.status_code == 400
    assert built.core.tagging.history(HUB.id) == before


def test_a_tag_decision_for_a_section_that_does_not_exist_is_refused(built, editor):
    mode = built.core.modes.taxonomy().names()[0]
    before = built.core.tagging.history(HUB.id)
    response = post(editor, f"/doc/{HUB.id}/modes", {"decision": "confirm", "mode": mode, "ord": "424242"})
    assert response.status_code in (400, 404)
    assert built.core.tagging.history(HUB.id) == before


@pytest.mark.parametrize(("target", "status"), [(HUGE, 404), ("²", 400), ("", 400), ("-1", 400)])
def test_adding_a_pearl_to_an_impossible_string_is_refused(editor, target, status):
    response = post(editor, "/pearls/add", {"doc_id": HUB.id, "string_id": target})
    assert response.status_code == status


@pytest.mark.parametrize("ord_", [HUGE, "²"])
def test_adding_a_pearl_with_an_impossible_section_is_400(editor, string_id, ord_):
    response = post(editor, "/pearls/add", {"doc_id": HUB.id, "string_id": str(string_id), "ord": ord_})
    assert response.status_code == 400


@pytest.mark.parametrize("body", ['["1"]', '"1,2"', "12", "null", '{"order": "1"}', '{"order": [true]}',
                                  '{"order": ["²"]}', f'{{"order": [{HUGE}]}}', '{"order": [[1]]}',
                                  '{"order": [1.5]}', "{not json"])
def test_a_malformed_order_body_is_400(editor, string_id, body):
    response = editor.post(f"/pearls/{string_id}/order", data=body, content_type="application/json",
                           headers={"X-CSRFToken": token(editor, "/pearls")})
    assert response.status_code == 400, body


def test_a_malformed_order_form_is_400(editor, string_id):
    for order in ("²", HUGE, "1,,2", "a"):
        assert post(editor, f"/pearls/{string_id}/order", {"order": order}).status_code == 400


def test_a_well_formed_order_still_works(editor, string_id, built):
    assert post(editor, "/pearls/add", {"doc_id": HUB.id, "string_id": str(string_id)}).status_code == 302
    pearls = built.core.pearls.editable(string_id, built.core.accounts.get("editor"))["pearls"]
    ids = [p["id"] for p in pearls]
    response = editor.post(f"/pearls/{string_id}/order", json={"order": [str(i) for i in ids]},
                           headers={"X-CSRFToken": token(editor, "/pearls")})
    assert response.status_code == 200 and response.get_json()["order"] == ids


# --------------------------------------------------------------------- next with control chars
EVIL_NEXT = ["/\r\nX: 1", "/\nSet-Cookie: a=b", "/x\x00y", "/a\u2028b", "/" + "a" * 3000]


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_login_with_a_next_holding_control_characters_logs_in_and_goes_home(app, evil):
    client = app.test_client()
    response = client.post("/login", data={"username": "reader", "password": PASSWORD, "next": evil,
                                           "csrf_token": token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "X" not in response.headers and client.get("/").status_code == 200


def test_the_login_form_never_echoes_a_bad_next(app):
    html = app.test_client().get("/login?next=/%0d%0aX:%201").get_data(as_text=True)
    assert 'name="next" value="/"' in html


@pytest.mark.parametrize("evil", EVIL_NEXT[:3])
def test_a_tag_decision_with_a_bad_next_is_saved_and_redirects_to_the_case(built, editor, evil):
    mode = built.core.modes.taxonomy().names()[-1]
    response = post(editor, f"/doc/{HUB.id}/modes", {"decision": "reject", "mode": mode, "next": evil})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/doc/{HUB.id}#modes"
    latest = built.core.tagging.history(HUB.id)[0]  # newest first
    assert (latest.mode, latest.status) == (mode, TagStatus.REJECTED)


@pytest.mark.parametrize("evil", EVIL_NEXT[:3])
def test_adding_a_pearl_with_a_bad_next_adds_it_and_redirects_home(built, editor, evil):
    response = post(editor, "/pearls/add", {"doc_id": HUB.id, "string_id": "new", "new_title": "下一步", "next": evil})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    titles = [s["title"] for s in built.core.pearls.visible(built.core.accounts.get("editor"))]
    assert "下一步" in titles


def test_a_good_next_is_still_followed(built, editor):
    mode = built.core.modes.taxonomy().names()[-1]
    response = post(editor, f"/doc/{HUB.id}/modes", {"decision": "reject", "mode": mode, "next": "/review?page=1"})
    assert response.headers["Location"] == "/review?page=1"
