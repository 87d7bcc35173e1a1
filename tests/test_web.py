"""The reading pages and the JSON API with Flask's test client, with ``login_required`` off
(the site open to readers without an account), over the documents of tests/stock.py. Accounts,
roles and writes: test_site.py."""

from __future__ import annotations

import json
import re

import pytest
from builder import build
from stock import CLUBHOUSE, DOCS, HUB, LINKAGE, SERVICE

from hongxian import Hongxian
from kb.settings import override
from web import create_app


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("web"), DOCS)


@pytest.fixture(scope="module")
def client(built):
    app = create_app({"TESTING": True}, core=Hongxian(override(built.settings, {"login_required": False}),
                                                      background=False))
    with app.test_client() as client:
        yield client


def get(client, url):
    response = client.get(url)
    response.close()
    return response


@pytest.mark.parametrize("url", ["/", "/search?q=会所文化", "/search?mode=文化嵌入型", f"/doc/{CLUBHOUSE.id}",
                                 "/api/search?q=双报到", f"/api/documents/{HUB.id}", "/api/modes",
                                 f"/api/documents/{CLUBHOUSE.id}/similar"])
def test_pages_answer(client, url):
    response = get(client, url)
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_old_search_urls_redirect(client):
    response = get(client, "/?q=会所文化&mode=文化嵌入型")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/search?q=")
    assert get(client, "/search").status_code == 302


def test_home_shows_the_programme_and_modes(client):
    html = get(client, "/").get_data(as_text=True)
    assert "凝聚力工程" in html
    for mode in ("枢纽中介型", "服务导入型", "联动互补型", "文化嵌入型"):
        assert mode in html
    assert 'lang="zh-CN"' in html


def test_search_page_highlights_groups_and_facets(client):
    html = get(client, "/search?q=会所文化").get_data(as_text=True)
    assert "<mark>会所文化</mark>" in html
    assert "一、主要做法 › " in html  # the practice's heading path
    assert "工作模式" in html and "领域" in html and "年份" in html
    assert 'href="/search?q=%E4%BC%9A%E6%89%80%E6%96%87%E5%8C%96&amp;mode=' in html  # one-click filter


def test_opening_text_is_labelled_as_such(client, built):
    result = built.core.search.search("两新组织", limit=100)
    openings = [h for h in result.hits if h.kind != "document" and not h.section]
    assert openings, "some hits should come from text before the first heading"
    assert LINKAGE.id in [h.doc_id for h in openings]  # it writes the word only there
    html = get(client, "/search?q=两新组织&limit=100").get_data(as_text=True)
    assert "导语" in html


def test_facet_link_filters_and_can_be_removed(client):
    html = get(client, "/search?q=党建&mode=文化嵌入型").get_data(as_text=True)
    assert "已选条件" in html and "工作模式：文化嵌入型 ✕" in html


def test_malformed_query_page(client):
    response = get(client, '/search?q="未闭合')
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "引号不成对" in html and "写法示例" in html


def test_no_results_page_gives_suggestions(client):
    html = get(client, "/search?q=量子计算机").get_data(as_text=True)
    assert "没有找到" in html and "简称和全称" in html


def test_document_page(client):
    html = get(client, f"/doc/{SERVICE.id}").get_data(as_text=True)
    assert "目录" in html and 'id="s1"' in html
    assert "系统建议" not in html and "mode suggested" not in html  # suggestions: editors only
    assert "尚无已确认的工作模式" in html and "摘要（自动摘取）" in html
    assert "其他案例中的相似做法" in html


def test_missing_document(client):
    response = get(client, "/doc/no-such-doc")
    assert response.status_code == 404 and "no-such-doc" in response.get_data(as_text=True)
    api = get(client, "/api/documents/no-such-doc")
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"


def test_api_search_matches_the_cli_shape(client, built):
    data = get(client, "/api/search?q=会所文化&limit=5").get_json()
    direct = built.core.search.search("会所文化", limit=5).to_dict()
    assert direct["total"] == 2
    for key in ("query", "total", "hits", "facets"):
        assert data[key] == json.loads(json.dumps(direct[key]))


def test_api_errors_are_json(client):
    bad = get(client, '/api/search?q="x')
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_query"
    assert get(client, "/api/search").status_code == 400
    assert get(client, "/api/search?q=x&page=abc").status_code == 400
    assert get(client, "/api/nope").get_json()["error"] == "not_found"


def test_script_in_a_query_is_escaped(client):
    html = get(client, "/search?q=<script>alert(1)</script>").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_no_external_resources(client):
    for url in ("/", "/search?q=党建", f"/doc/{HUB.id}"):
        html = get(client, url).get_data(as_text=True)
        assert "http://" not in html.replace("http://localhost", "") and "https://" not in html
        # a link to the Atom feed (rel="alternate") names it; it is not loaded with the page
        assert re.findall(r'<link rel="alternate"[^>]+href="([^"]+)"', html) == ["/feed.atom"]
        html = re.sub(r'<link rel="alternate"[^>]+>', "", html)
        sources = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
        assert sources and all(src.startswith("/static/") for src in sources), sources
        assert "<script>" not in html  # no inline script: the CSP forbids it


def test_pages_without_an_index_say_what_to_do(tmp_path):
    app = create_app({"TESTING": True, "data_dir": str(tmp_path / "empty"), "login_required": False})
    with app.test_client() as client:
        response = client.get("/search?q=党建")
        assert response.status_code == 503
        assert "kb index" in response.get_data(as_text=True)
        response.close()


def test_create_app_creates_nothing_at_import_or_construction(tmp_path):
    data = tmp_path / "lazy"
    create_app({"data_dir": str(data)})
    assert not data.exists()
