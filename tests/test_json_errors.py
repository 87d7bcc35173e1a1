"""A JSON client gets JSON errors everywhere: the API, a request that sent JSON, a client that
asks only for JSON; a browser gets the HTML page."""

from __future__ import annotations

import pytest
from builder import build
from site_client import PASSWORD, login
from stock import HUB

from web import create_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    built = build(tmp_path_factory.mktemp("json-errors"), [HUB])
    built.core.accounts.add("editor", PASSWORD, "editor")
    return create_app({"TESTING": True}, core=built.core)


@pytest.mark.parametrize("method, url, kwargs, status, code", [
    ("get", "/api/nope", {}, 404, "not_found"),
    ("post", "/api/search", {}, 405, "method_not_allowed"),
    ("get", "/api/documents/t-hub", {}, 401, "login_required"),
    ("get", "/nope", {"headers": {"Accept": "application/json"}}, 404, "not_found"),
    ("post", "/pearls/1/order", {"json": [1]}, 400, "csrf"),
    ("get", "/review", {"headers": {"Accept": "application/json"}}, 401, "login_required"),
])
def test_json_clients_get_json_errors(app, method, url, kwargs, status, code):
    answer = getattr(app.test_client(), method)(url, **kwargs)
    assert answer.status_code == status and answer.mimetype == "application/json"
    body = answer.get_json()
    assert body["error"] == code and body["message"]


def test_a_logged_in_json_client_gets_json_for_a_missing_case(app):
    answer = login(app, "editor").get("/doc/t-none", headers={"Accept": "application/json"})
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"


@pytest.mark.parametrize("accept", ["text/html,application/xhtml+xml,*/*;q=0.8", "*/*", None])
def test_browsers_and_plain_clients_get_the_page(app, accept):
    headers = {"Accept": accept} if accept else {}
    answer = login(app, "editor").get("/doc/t-none", headers=headers)
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert "没有编号为 t-none 的文档" in answer.get_data(as_text=True)


# ------------------------------------------------------------------ what readers are not shown
@pytest.fixture(scope="module")
def readers_app(tmp_path_factory):
    built = build(tmp_path_factory.mktemp("reader-view"), [HUB])
    built.core.accounts.add("editor", PASSWORD, "editor")
    built.core.accounts.add("reader", PASSWORD, "reader")
    built.core.tagging.decide("t-hub", "文化嵌入型", "rejected", actor="editor")
    return create_app({"TESTING": True}, core=built.core), built


def test_readers_get_the_file_name_not_the_server_path(readers_app):
    app, built = readers_app
    full = built.core.documents.show("t-hub").source_path
    assert "/" in full
    as_reader = login(app, "reader").get("/api/documents/t-hub").get_json()
    as_editor = login(app, "editor").get("/api/documents/t-hub").get_json()
    assert as_reader["source_path"] == "t-hub.md" and as_editor["source_path"] == full


def test_the_tagging_history_is_for_editors(readers_app):
    app, _ = readers_app
    assert "标注历史" not in login(app, "reader").get("/doc/t-hub").get_data(as_text=True)
    assert "标注历史" in login(app, "editor").get("/doc/t-hub").get_data(as_text=True)
