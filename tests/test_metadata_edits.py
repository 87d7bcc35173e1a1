"""Correcting a document's metadata (core, site form, JSON API): recorded, indexed, kept across
re-imports, and never silently overwriting another editor's correction."""

from __future__ import annotations

import json

import pytest
from builder import build
from site_client import PASSWORD, login, post, token
from stock import CLUBHOUSE, HUB, SALON

from kb.errors import BadRequest, Conflict, NotFound
from web import create_app

PLAIN = CLUBHOUSE.replace(id="t-plain", format="txt", type=None, region=None, domains=[], keywords=[], modes=[])


@pytest.fixture
def built(tmp_path):
    built = build(tmp_path / "kb", [CLUBHOUSE, SALON, HUB, PLAIN])
    for name, role in (("editor", "editor"), ("other", "editor"), ("reader", "reader")):
        built.core.accounts.add(name, PASSWORD, role)
    return built


@pytest.fixture
def app(built):
    return create_app({"TESTING": True}, core=built.core)


def test_a_correction_is_saved_recorded_and_indexed(built):
    docs = built.core.documents
    before = docs.metadata("t-plain")
    assert before["type"] is None and before["region"] is None
    changed, job = docs.edit("t-plain", {"type": "经验材料", "region": "海州市 / 西岭区",
                                         "domains": "楼宇、社区", "date": "2019-4-16"}, "editor",
                             version=before["version"])
    assert changed == {"type": [None, "经验材料"], "region": [None, "海州市/西岭区"],
                       "domains": [[], ["楼宇", "社区"]]}  # the date, written otherwise, is the same
    assert job is not None
    after = docs.metadata("t-plain")
    assert after["version"] == before["version"] + 1 and after["domains"] == ["楼宇", "社区"]
    assert docs.show("t-plain").year == 2019
    [record] = docs.edits("t-plain")
    assert record["actor"] == "editor" and set(record["changes"]) == {"type", "region", "domains"}
    result = built.core.search.search("会所", filters={"type": ["经验材料"], "region": ["海州市/西岭区"]})
    assert "t-plain" in {h.doc_id for h in result.hits}  # filters find it now


def test_a_save_from_an_older_version_is_refused_and_changes_nothing(built):
    docs = built.core.documents
    seen = docs.metadata("t-salon")["version"]  # both editors opened the form at this version
    docs.edit("t-salon", {"title": "第一位编辑改的标题"}, "editor", version=seen)
    with pytest.raises(Conflict) as refused:
        docs.edit("t-salon", {"unit": "第二位编辑改的单位"}, "other", version=seen)
    assert "没有保存" in refused.value.message
    now = docs.metadata("t-salon")
    assert now["title"] == "第一位编辑改的标题" and now["unit"] == SALON.unit
    assert [e["actor"] for e in docs.edits("t-salon")] == ["editor"]
    # the same values again from the old version change nothing, so they are not refused
    assert docs.edit("t-salon", {"title": "第一位编辑改的标题"}, "other", version=seen)[0] == {}


def test_corrections_survive_a_reimport_of_the_changed_file(built):
    docs = built.core.documents
    docs.edit("t-hub", {"author": "改正后的作者"}, "editor", version=docs.metadata("t-hub")["version"])
    version = docs.metadata("t-hub")["version"]
    built.add([HUB.replace(title="文件里的新标题", body=HUB.body + "\n\n补充一段新的文字。")])
    now = docs.metadata("t-hub")
    assert now["author"] == "改正后的作者"  # the hand correction stays
    assert now["title"] == "文件里的新标题"  # the rest follows the file
    assert now["version"] > version  # an edit form opened before the re-import is now out of date
    with pytest.raises(Conflict):
        docs.edit("t-hub", {"unit": "x"}, "other", version=version)


@pytest.mark.parametrize("changes, message", [
    ({"title": "  "}, "标题不能为空"),
    ({"date": "2019-02-30"}, "日期不存在"),
    ({"date": "去年"}, "日期格式无效"),
    ({"unit": "单位\x00"}, "控制字符"),
    ({"unit": "长" * 121}, "不超过 120"),
    ({"keywords": ["词"] * 31 + [str(i) for i in range(31)]}, "最多 30 项"),
    ({"keywords": {"a": 1}}, "应为列表"),
    ({"body": "正文不能在这里改"}, "不能修改的字段"),
])
def test_bad_values_are_refused_with_a_reason(built, changes, message):
    before = built.core.documents.metadata("t-hub")
    with pytest.raises(BadRequest, match=message):
        built.core.documents.edit("t-hub", changes, "editor", version=before["version"])
    assert built.core.documents.metadata("t-hub") == before


def test_an_unknown_document_is_not_found(built):
    with pytest.raises(NotFound):
        built.core.documents.edit("t-none", {"title": "x"}, "editor")


# ------------------------------------------------------------------ the site
def test_editors_get_the_form_readers_do_not(app):
    assert login(app, "reader").get("/doc/t-hub/edit").status_code == 403
    assert app.test_client().get("/doc/t-hub/edit").status_code in (302, 401)
    page = login(app, "editor").get("/doc/t-hub/edit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="version"' in html and HUB.unit in html
    assert "修改文档信息" in login(app, "editor").get("/doc/t-hub").get_data(as_text=True)
    assert "修改文档信息" not in login(app, "reader").get("/doc/t-hub").get_data(as_text=True)


def test_two_editors_in_the_site_the_second_is_told_and_shown_both(app, built):
    first, second = login(app, "editor"), login(app, "other")
    version = built.core.documents.metadata("t-hub")["version"]
    fields = {"title": HUB.title, "unit": HUB.unit, "version": str(version)}
    saved = post(first, "/doc/t-hub/edit", {**fields, "unit": "第一位编辑的单位"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/doc/t-hub")
    refused = post(second, "/doc/t-hub/edit", {**fields, "unit": "第二位编辑的单位"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "没有保存" in html and "第二位编辑的单位" in html and "第一位编辑的单位" in html
    assert built.core.documents.metadata("t-hub")["unit"] == "第一位编辑的单位"
    history = login(app, "editor").get("/doc/t-hub/edit").get_data(as_text=True)
    assert "修改记录" in history and "第一位编辑的单位" in history


def test_a_bad_value_in_the_form_comes_back_with_the_message(app, built):
    before = built.core.documents.metadata("t-hub")
    answer = post(login(app, "editor"), "/doc/t-hub/edit", {"title": HUB.title, "date": "2019-13-01",
                                                            "version": str(before["version"])})
    assert answer.status_code == 400 and "日期" in answer.get_data(as_text=True)
    assert built.core.documents.metadata("t-hub") == before


def test_the_json_api_saves_and_refuses_an_older_version(app, built):
    client = login(app, "editor")
    version = client.get("/api/documents/t-salon/metadata").get_json()["version"]
    assert version == built.core.documents.metadata("t-salon")["version"]
    ok = client.post("/api/documents/t-salon", json={"keywords": ["读书会", "沙龙"], "version": version},
                     headers={"X-CSRFToken": token(client, "/pearls")})
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert ok.get_json()["changed"]["keywords"][1] == ["读书会", "沙龙"]
    late = client.post("/api/documents/t-salon", json={"source": "别处", "version": version},
                       headers={"X-CSRFToken": token(client, "/pearls")})
    body = late.get_json()
    assert late.status_code == 409 and body["error"] == "conflict"
    assert body["metadata"]["keywords"] == ["读书会", "沙龙"] and body["metadata"]["version"] == version + 1
    for bad in ([1, 2], {"text": "x"}, {"title": "x", "version": "abc"}):
        answer = client.post("/api/documents/t-salon", data=json.dumps(bad), content_type="application/json",
                             headers={"X-CSRFToken": token(client, "/pearls")})
        assert answer.status_code == 400 and answer.get_json()["error"] == "bad_request"
    reader = login(app, "reader")
    denied = reader.post("/api/documents/t-salon", json={"title": "x"}, headers={"X-CSRFToken": token(reader, "/pearls")})
    assert denied.status_code == 403
    assert built.core.documents.metadata("t-salon")["title"] == SALON.title

