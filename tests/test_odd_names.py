"""Mode and unit names with commas, slashes and quotes (issue 10, item 11): each counts, filters
and has its page alike. Each test failed before the fix (0 found, a 404, a 400).
"""

from __future__ import annotations

import pytest
from builder import Doc, build
from flask import url_for
from site_client import PASSWORD, login, post
from stock import DOCS

from kb.model import TagStatus
from web import create_app

# ------------------------------------------------------------ names with , / and quotes (item 11)
ODD = Doc("t-odd", "“红色引擎”工作室的联建做法", unit='临江区"红色引擎"工作室', type="案例",
          region="海州市/临江区", body="""
    一、主要做法

    1、联建共建。工作室与辖区单位签订联建协议，共建活动阵地，每月开展一次联建活动。
    """)
ODD_MODES = ("联建,共建型", "联建，共享型", "联建/共建型", '联建"共建"型')


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    built = build(tmp_path_factory.mktemp("odd"), [*DOCS, ODD])
    core = built.core
    with core.kb as handle:
        handle.accounts.add("admin", PASSWORD, "admin")
    for name in ODD_MODES:
        core.modes.save(name, "简介", "说明", "签订联建协议:2", actor="admin")
        core.tagging.decide(ODD.id, name, TagStatus.CONFIRMED, actor="admin")
    return built, create_app({"TESTING": True}, core=core)


@pytest.mark.parametrize("name", ODD_MODES)
def test_an_odd_mode_name_counts_and_filters_alike(odd, name):
    _, app = odd
    client = login(app, "admin")
    everything = client.get("/api/search?q=联建协议").get_json()
    count = {b["value"]: b["count"] for b in everything["facets"]["mode"]}
    assert count[name] == 1
    filtered = client.get("/api/search", query_string={"q": "联建协议", "mode": name})
    assert filtered.status_code == 200, filtered.get_json()
    assert [h["doc_id"] for h in filtered.get_json()["hits"]][:1] == [ODD.id]
    assert filtered.get_json()["total"] == 1
    page = client.get("/search", query_string={"mode": name})
    assert page.status_code == 200 and "“红色引擎”工作室的联建做法" in page.get_data(as_text=True)


def test_a_mode_filter_written_in_the_query_language_finds_a_comma_name(odd):
    _, app = odd
    client = login(app, "admin")
    assert client.get("/api/search", query_string={"q": "mode:联建,共建型"}).get_json()["total"] == 1


@pytest.mark.parametrize("name", ODD_MODES)
def test_an_odd_mode_name_has_its_page(odd, name):
    _, app = odd
    client = login(app, "admin")
    with app.test_request_context():
        url = url_for("modes.mode", name=name)
    assert url.startswith("/modes/")
    response = client.get(url)
    assert response.status_code == 200, url
    assert "“红色引擎”工作室的联建做法" in response.get_data(as_text=True)


def test_saving_a_mode_with_a_slash_returns_to_its_page(odd):
    _, app = odd
    client = login(app, "admin")
    response = post(client, "/modes", {"name": "区域/联建型", "short": "简介", "description": "说明",
                                        "signals": "联建:1"})
    assert response.status_code == 302
    assert client.get(response.headers["Location"]).status_code == 200


@pytest.mark.parametrize("unit", ['临江区"红色引擎"工作室', "“红色引擎”工作室"])
def test_a_unit_with_quotes_filters(odd, unit):
    _, app = odd
    client = login(app, "admin")
    response = client.get("/api/search", query_string={"unit": unit})
    assert response.status_code == 200, response.get_json()
    assert ODD.id in [h["doc_id"] for h in response.get_json()["hits"]]
    facet = {b["value"] for b in client.get("/api/search?q=联建协议").get_json()["facets"]["unit"]}
    assert '临江区"红色引擎"工作室' in facet


def test_a_filter_value_holding_every_quote_is_a_clear_400(odd):
    _, app = odd
    client = login(app, "admin")
    response = client.get("/api/search", query_string={"unit": '"”」＂'})
    assert response.status_code == 400 and response.get_json()["error"] == "bad_query"


@pytest.mark.parametrize("value", ['临江区"红色引擎"工作室', "“红色引擎”工作室", "「一」", '"', "”", "a b", "联建,共建型"])
def test_every_filter_value_goes_into_the_query_and_back_unchanged(value):
    from indexer.plan import merge_filters
    from indexer.query import parse_query

    assert parse_query(merge_filters("党建", {"unit": [value]})).filters == {"unit": [value.strip()]}


def test_a_value_with_a_comma_is_one_keyword_term():
    from indexer.facets import facet

    mode = facet("mode")
    entry = mode.document({"modes": ["联建,共建型", "其他型"]})["mode"]
    assert len(entry.split(",")) == 2  # the field splits at commas: two values, two terms
    assert mode.query("联建，共建型", lambda v: []).text in entry.split(",")  # the full-width comma too
