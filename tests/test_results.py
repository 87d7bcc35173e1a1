"""Search returns data: hits with plain text and character spans; each front marks the spans."""

from __future__ import annotations

import json

import pytest
from conftest import make_settings

from hongxian import Hongxian
from hongxian.cli import main
from indexer.results import Hit, HitKind, SearchResult, SimilarHit, mark
from kb.normalize import normalize
from web import create_app

DOCS = {
    "a1": ("社区<读书会>的故事", "一、主要做法\n（一）办好读书会\n社区每月举办读书会，每次读书会，居民分享“好书”。\n"
                          "（二）文化长廊\n在楼道设置文化长廊 & 宣传栏。\n"),
    "a2": ("楼宇党建的经验", "一、主要做法\n楼宇党建带动读书会，白领参加读书活动。\n"),
    "a3": ("农村文化", "一、做法\n村里建起文化长廊。\n"),
}
JSON_KEYS = ["query", "filters", "total", "total_all", "page", "pages", "limit", "sort", "hits", "facets",
             "suggestion", "took_ms"]
HIT_KEYS = ["doc_id", "title", "title_html", "rank", "modes", "suggested_modes", "date", "region", "domain",
            "type", "unit", "section", "section_html", "ord", "kind", "practice", "snippet", "score"]


@pytest.fixture(scope="module")
def core(tmp_path_factory) -> Hongxian:
    root = tmp_path_factory.mktemp("results")
    src = root / "src"
    src.mkdir()
    for doc_id, (title, body) in DOCS.items():
        src.joinpath(f"{doc_id}.md").write_text(f"---\nid: {doc_id}\ntitle: {title}\n---\n{body}", encoding="utf-8")
    core = Hongxian(make_settings(root / "data", login_required=False), background=False)
    core.documents.ingest([str(src)])
    return core


def marked(text: str, spans) -> list[str]:
    return [normalize(text[s:e]) for s, e in spans]


def test_hits_carry_plain_text_and_the_spans_that_matched(core):
    result = core.search.search("读书会")
    assert isinstance(result, SearchResult) and all(isinstance(h, Hit) for h in result.hits)
    first = result.hits[0]
    assert first.doc_id == "a1" and first.title == "社区<读书会>的故事"  # plain, not escaped
    assert marked(first.title, first.title_spans) == ["读书会"]
    assert first.kind is HitKind.PRACTICE and first.practice
    assert "读书会" in first.section and marked(first.section, first.section_spans) == ["读书会"]
    assert "<mark>" not in first.snippet and "&" not in first.snippet
    assert marked(first.snippet, first.snippet_spans) == ["读书会"] * first.snippet.count("读书会")
    for hit in result.hits:
        for text, spans in ((hit.title, hit.title_spans), (hit.section or "", hit.section_spans),
                            (hit.snippet, hit.snippet_spans)):
            assert all(0 <= s < e <= len(text) for s, e in spans)
            assert set(marked(text, spans)) <= {"读书会", "读书"}


def test_the_json_form_is_the_documented_object(core):
    result = core.search.search("文化长廊 宣传栏")
    data = result.to_dict()
    assert list(data) == JSON_KEYS
    assert all(list(hit) == HIT_KEYS for hit in data["hits"])
    assert json.loads(json.dumps(data)) == data  # plain JSON values only
    hit = next(h for h in result.hits if h.doc_id == "a1")
    as_json = next(h for h in data["hits"] if h["doc_id"] == "a1")
    assert as_json["title_html"] == "社区&lt;读书会&gt;的故事"
    assert as_json["snippet"] == mark(hit.snippet, hit.snippet_spans)
    assert "<mark>文化长廊</mark> &amp; <mark>宣传栏</mark>" in as_json["snippet"]
    assert as_json["section_html"] == mark(hit.section, hit.section_spans)
    assert data["facets"]["type"] == [] and isinstance(data["facets"]["mode"], list)


def test_a_whole_document_hit(core):
    hit = core.search.search("title:农村").hits[0]
    assert hit.kind is HitKind.DOCUMENT and hit.section is None and hit.section_spans == ()
    assert hit.to_dict()["section_html"] is None and hit.to_dict()["kind"] == "document"
    assert marked(hit.title, hit.title_spans) == ["农村"]


def test_similar_hits_are_data_too(core):
    hits = core.search.similar("a3")
    assert hits and all(isinstance(h, SimilarHit) for h in hits)
    assert all(list(h.to_dict()) == ["doc_id", "title", "section", "ord", "snippet", "score", "shared_terms"]
               for h in hits)
    hit = next(h for h in hits if h.doc_id == "a1")
    assert "文化长廊" in hit.shared_terms and "文化长廊" in marked(hit.snippet, hit.snippet_spans)


def test_the_command_line_marks_spans_with_brackets(core, runner):
    out = runner.invoke(main, ["--data-dir", str(core.settings.data_dir), "search", "读书会 宣传栏"]).output
    assert "社区<【读书会】>的故事  [a1]" in out
    assert "【宣传栏】" in out and "&amp;" not in out and "<mark>" not in out
    data = json.loads(runner.invoke(main, ["--data-dir", str(core.settings.data_dir), "search", "读书会",
                                           "--json"]).output)
    expected = core.search.search("读书会").to_dict()
    data.pop("took_ms"), expected.pop("took_ms")
    assert data == expected


def test_the_site_marks_spans_and_escapes_the_rest(core):
    client = create_app({"TESTING": True}, core=core).test_client()
    html = client.get("/search?q=读书会 宣传栏").get_data(as_text=True)
    assert "社区&lt;<mark>读书会</mark>&gt;的故事" in html
    assert "<mark>宣传栏</mark>" in html and "&amp; " in html
    api = client.get("/api/search?q=读书会").get_json()
    expected = core.search.search("读书会").to_dict()
    api.pop("took_ms"), expected.pop("took_ms")
    assert api == expected
    similar = client.get("/api/documents/a3/similar").get_json()["similar"]
    assert similar == [h.to_dict() for h in core.search.similar("a3")]
    page = client.get("/doc/a3").get_data(as_text=True)
    assert "<mark>文化长廊</mark>" in page
