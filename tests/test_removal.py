"""Removing a document: in the site (administrators, a confirmation page, a POST with the CSRF
token) and by ``kb remove``; recorded (who, when, which document, its title), the index kept in
step, and a document that pearl strings hold refused unless the remover says to keep its pearls."""

from __future__ import annotations

import json

import pytest
from builder import build
from click.testing import CliRunner
from site_client import PASSWORD, login, post
from stock import CLUBHOUSE, HUB, SALON

from hongxian.cli import main
from kb.errors import Conflict, NotFound
from web import create_app


@pytest.fixture
def built(tmp_path):
    built = build(tmp_path / "kb", [CLUBHOUSE, SALON, HUB])
    for name, role in (("admin", "admin"), ("editor", "editor"), ("reader", "reader")):
        built.core.accounts.add(name, PASSWORD, role)
    return built


@pytest.fixture
def app(built):
    return create_app({"TESTING": True}, core=built.core)


def _hits(built, query: str) -> set[str]:
    return {h.doc_id for h in built.core.search.search(query).hits}


def test_the_core_removes_records_and_indexes(built):
    assert HUB.id in _hits(built, "学会")
    built.core.documents.remove(HUB.id, actor="admin")
    assert HUB.id not in _hits(built, "学会")
    with pytest.raises(NotFound):
        built.core.documents.show(HUB.id)
    [record] = built.core.documents.removals()
    assert record["doc_id"] == HUB.id and record["title"] == HUB.title and record["actor"] == "admin"
    assert record["at"][:4].isdigit() and record["detail"]["unit"] == HUB.unit
    with pytest.raises(NotFound):
        built.core.documents.remove(HUB.id, actor="admin")
    assert len(built.core.documents.removals()) == 1  # a refused removal records nothing


def test_a_document_in_a_pearl_string_is_refused_unless_its_pearls_are_kept(built):
    core = built.core
    curator = core.accounts.get("editor")
    string_id = core.pearls.create(curator, "以文化凝聚人心")
    core.pearls.add(curator, CLUBHOUSE.id, -1, str(string_id))
    with pytest.raises(Conflict) as refused:
        core.documents.remove(CLUBHOUSE.id, actor="admin")
    assert "《以文化凝聚人心》" in refused.value.message and "没有删除" in refused.value.message
    assert core.documents.show(CLUBHOUSE.id).title == CLUBHOUSE.title  # nothing changed
    assert core.documents.removals() == []
    core.documents.remove(CLUBHOUSE.id, actor="admin", keep_pearls=True)
    [pearl] = core.pearls.get(string_id, curator)["pearls"]
    assert pearl["missing"] is True and pearl["doc_title"] == CLUBHOUSE.title
    [record] = core.documents.removals()
    assert record["detail"]["pearl_strings"] == [{"id": string_id, "title": "以文化凝聚人心"}]


def test_kb_remove_writes_the_record(built):
    runner = CliRunner()
    data = ["--data-dir", str(built.settings.data_dir)]
    curator = built.core.accounts.get("editor")
    string_id = built.core.pearls.create(curator, "服务联盟专题")
    built.core.pearls.add(curator, SALON.id, -1, str(string_id))
    refused = runner.invoke(main, [*data, "remove", SALON.id])
    assert refused.exit_code == 1 and "《服务联盟专题》" in refused.output and "--keep-pearls" in refused.output
    result = runner.invoke(main, [*data, "remove", HUB.id])
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, [*data, "remove", SALON.id, "--keep-pearls"]).exit_code == 0
    records = built.core.documents.removals()
    assert [(r["doc_id"], r["actor"]) for r in records] == [(SALON.id, "kb remove"), (HUB.id, "kb remove")]
    found = json.loads(runner.invoke(main, [*data, "search", "学会", "--json"]).output)
    assert HUB.id not in {h["doc_id"] for h in found["hits"]}


def test_admins_remove_in_the_site_with_a_confirmation(app, built):
    admin = login(app, "admin")
    page = admin.get(f"/doc/{HUB.id}").get_data(as_text=True)
    assert f'href="/doc/{HUB.id}/remove"' in page
    confirm = admin.get(f"/doc/{HUB.id}/remove")
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert HUB.title in text and "无法撤销" in text and 'name="keep_pearls"' not in text
    assert built.core.documents.show(HUB.id)  # the confirmation page removes nothing
    done = post(admin, f"/doc/{HUB.id}/remove")
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/removed")
    listing = admin.get("/admin/removed").get_data(as_text=True)
    assert HUB.title in listing and HUB.id in listing and "admin" in listing and "已删除《" in listing
    assert admin.get(f"/doc/{HUB.id}").status_code == 404
    assert HUB.id not in _hits(built, "学会")  # the index followed (a job)


def test_the_site_refuses_a_document_in_a_string_and_keeps_it_on_request(app, built):
    curator = built.core.accounts.get("editor")
    string_id = built.core.pearls.create(curator, "会所文化专题")
    built.core.pearls.add(curator, CLUBHOUSE.id, -1, str(string_id))
    admin = login(app, "admin")
    confirm = admin.get(f"/doc/{CLUBHOUSE.id}/remove").get_data(as_text=True)
    assert "会所文化专题" in confirm and 'name="keep_pearls"' in confirm
    refused = post(admin, f"/doc/{CLUBHOUSE.id}/remove")
    assert refused.status_code == 409 and "没有删除" in refused.get_data(as_text=True)
    assert built.core.documents.show(CLUBHOUSE.id)
    assert post(admin, f"/doc/{CLUBHOUSE.id}/remove", {"keep_pearls": "1"}).status_code == 302
    [record] = built.core.documents.removals()
    assert record["actor"] == "admin" and record["detail"]["pearl_strings"][0]["title"] == "会所文化专题"


def test_only_admins_see_the_button_and_may_remove(app, built):
    for name in ("editor", "reader"):
        client = login(app, name)
        assert "/remove" not in client.get(f"/doc/{HUB.id}").get_data(as_text=True)
        assert client.get(f"/doc/{HUB.id}/remove").status_code == 403
        assert post(client, f"/doc/{HUB.id}/remove").status_code == 403
    assert built.core.documents.show(HUB.id) and built.core.documents.removals() == []
