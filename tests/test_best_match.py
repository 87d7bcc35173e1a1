"""Best-match search on short texts without headings (tests/data/realtext, our own writing).

Each test here shows a symptom seen on real text: every word required, a dictionary compound
that finds fewer documents than its parts, typos that find nothing, heading-only sections shown
as hits of their own.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import DATA, make_settings

from hongxian import Hongxian
from hongxian.cli import main
from kb.jobs import JobKind

MARK = re.compile(r"<mark>(.*?)</mark>")
SAMPLES = sorted(str(p) for p in (DATA / "realtext").glob("rt-*.md"))


@pytest.fixture(scope="module")
def realtext(tmp_path_factory) -> Hongxian:
    core = Hongxian(make_settings(tmp_path_factory.mktemp("realtext")), background=False)
    report, _ = core.documents.ingest(SAMPLES)
    assert report.counts()["added"] == len(SAMPLES), report.to_dict()
    return core


@pytest.fixture(scope="module")
def search(realtext):
    """Search, with results in their JSON form (as ``kb search --json`` prints them)."""
    return lambda *args, **kwargs: realtext.search.search(*args, **kwargs).to_dict()


def doc_ids(result):
    return list(dict.fromkeys(h["doc_id"] for h in result["hits"]))


def test_a_missing_word_does_not_empty_the_page(search):
    result = search("快递 无人机")  # no document mentions drones
    assert result["total"] >= 1 and result["total_all"] == 0
    assert doc_ids(result)[0] == "rt-01"


def test_documents_holding_every_word_come_first(search):
    result = search("党支部 居民区")
    ranked = doc_ids(result)
    assert ranked[0] == "rt-02" and result["total_all"] == 1
    assert len(ranked) > 1  # documents with one of the words follow


@pytest.mark.parametrize(("compound", "written_apart"), [
    ("快递行业党建", "rt-01"),  # 快递行业的党建工作
    ("居民区党支部", "rt-02"),  # 在居民区成立党支部
    ("党员示范岗", "rt-03"),  # 党员骑手争当示范岗
])
def test_a_dictionary_compound_finds_its_parts_written_apart(realtext, search, compound, written_apart):
    analyzer = realtext.analyzer
    assert analyzer.terms(compound) == [compound], "the dictionary keeps the compound whole"
    result = search(compound)
    assert doc_ids(result)[0] == written_apart
    assert result["total_all"] >= 1


@pytest.mark.parametrize("compound", ["快递行业党建", "居民区党支部", "党员示范岗"])
def test_a_compound_finds_no_fewer_documents_than_its_parts(realtext, search, compound):
    parts = " ".join(realtext.analyzer.parts(compound))
    whole, apart = search(compound, limit=100), search(parts, limit=100)
    holding_all_parts = doc_ids(apart)[:apart["total_all"]]  # they come first
    assert holding_all_parts and set(holding_all_parts) <= set(doc_ids(whole)[:whole["total_all"]])
    assert whole["total_all"] >= apart["total_all"]


def test_parts_are_highlighted_exactly(search):
    hit = search("快递行业党建")["hits"][0]
    marked = MARK.findall(hit["snippet"])  # 快递行业 is one word of the text, 党建 another
    assert all(any(part in m for m in marked) for part in ("快递", "行业", "党建"))
    assert all(m in ("快递", "行业", "快递行业", "党建") for m in marked)


def test_a_word_the_dictionary_splits_differently_still_meets_the_text(realtext, search):
    # 区党委 is one word of a query; in rt-02 the same characters belong to 社区党委
    analyzer = realtext.analyzer
    assert analyzer.terms("区党委") == ["区党委"]
    assert "区党委" not in analyzer.terms("社区党委在居民区成立党支部后")
    result = search("区党委")
    assert result["total"] >= 1 and "rt-02" in doc_ids(result)[:3]


def test_plus_requires_a_word(search):
    loose, strict = search("快递 社区"), search("+快递 社区")
    assert "rt-02" in doc_ids(loose)
    assert doc_ids(strict) == ["rt-01"] and strict["total"] == 1


def test_exclusion_and_or_still_work(search):
    assert "rt-03" not in doc_ids(search("骑手 OR 快递 -外卖", limit=100))
    either = search("骑手 OR 快递")
    assert set(doc_ids(either)[:2]) == {"rt-01", "rt-03"} and either["total_all"] == 2


def test_a_phrase_matches_across_an_enumeration_comma(search):
    result = search('"亮身份作表率"')
    assert doc_ids(result) == ["rt-05"]
    assert "<mark>亮身份、作表率</mark>" in result["hits"][0]["snippet"]


def test_a_phrase_does_not_match_across_a_sentence_end(search):
    # rt-06: “…投篮比赛。组委会…”; the words are there, the phrase is not
    assert search('"比赛组委会"')["total"] == 0
    assert search("比赛 组委会")["total_all"] == 1


def test_traditional_text_is_found_by_simplified_words(search):
    result = search("楼宇党建 党群服务站")
    assert doc_ids(result)[0] == "rt-04" and result["total_all"] == 1


@pytest.mark.parametrize(("typo", "meant"), [
    ("楼于党建", "楼宇党建"),  # a homophone (于/宇)
    ("会所文话", "会所文化"),  # a homophone (话/化)
    ("党群服物站", "党群服务站"),  # 物 for 务
])
def test_a_typo_gets_a_suggestion_from_the_index(search, typo, meant):
    result = search(typo)
    assert result["total_all"] == 0
    assert result["suggestion"] == meant
    assert search(result["suggestion"])["total_all"] >= 1


def test_a_suggestion_keeps_the_rest_of_the_query(search):
    assert search("会所文话 type:案例")["suggestion"] == "会所文化 type:案例"


def test_no_suggestion_when_the_words_are_found(search):
    assert search("会所文化")["suggestion"] is None
    assert search("快递 无人机")["suggestion"] is None  # 无人机 is simply absent, not a typo


def test_a_heading_only_section_is_not_a_hit_of_its_own(realtext, search):
    with realtext.kb as kb:
        sections = kb.documents.get("rt-05").to_dict()["sections"]
    empty = {s["ord"] for s in sections if not s["text"]}
    assert empty, "rt-05 has heading-only sections (一、主要做法)"
    result = search("主要做法 亮身份")
    hits = [h for h in result["hits"] if h["doc_id"] == "rt-05"]
    assert hits and not {h["ord"] for h in hits} & empty
    snippets = [h["snippet"] for h in hits]
    assert len(snippets) == len(set(snippets))
    # the folded heading still counts for the section it folds into
    assert hits[0]["section"].startswith("一、主要做法 › （一）")


def test_facets_count_the_documents_shown(search):
    result = search("党支部 居民区", limit=100)
    assert sum(f["count"] for f in result["facets"]["type"]) == result["total"]
    assert len(doc_ids(result)) == result["total"]


def test_cli_prints_the_suggestion_and_json_carries_it(runner, realtext):
    data_dir = str(realtext.settings.data_dir)
    shown = runner.invoke(main, ["--data-dir", data_dir, "search", "楼于党建"])
    assert shown.exit_code == 0 and "您是不是要找：楼宇党建" in shown.output
    as_json = runner.invoke(main, ["--data-dir", data_dir, "search", "--json", "楼于党建"])
    out = json.loads(as_json.output)
    assert out["suggestion"] == "楼宇党建" and out["total_all"] == 0
    counted = runner.invoke(main, ["--data-dir", data_dir, "search", "党支部 居民区"])
    assert "1 篇包含全部检索词" in counted.output


def test_two_character_words_are_corrected_only_by_homophones(search):
    # 骑车 is one character away from 骑手, which the index knows, but does not sound like it
    result = search("骑车")
    assert result["total_all"] == 0 and result["suggestion"] is None
    assert search("骑首")["suggestion"] == "骑手"  # 首 sounds like 手


def test_a_suggestion_replaces_the_plain_clause_only(search):
    assert search("title:会所文话 会所文话")["suggestion"] == "title:会所文话 会所文化"
    assert search("-会所文话党建 会所文话")["suggestion"] == "-会所文话党建 会所文化"
    assert search("+会所文话")["suggestion"] == "+会所文化"


def test_punctuation_beside_a_filter_is_not_an_error(search):
    result = search("，，， type:案例")
    assert result["total"] == 2 and result["total_all"] == 2


def test_an_empty_index_answers_with_nothing(tmp_path):
    core = Hongxian(make_settings(tmp_path / "data"), background=False)
    core.jobs.run(JobKind.INDEX).result["index"]
    assert core.search.search("学会").total == 0
    assert core.search.search("type:案例").total == 0


def test_suggestions_come_from_live_documents_only(tmp_path):
    core = Hongxian(make_settings(tmp_path / "data"), background=False)
    one = tmp_path / "x001.md"
    one.write_text("---\nid: x001\ntitle: 小区来了新邻居\n---\n\n社区里来了一只熊猫，孩子们都去看。\n", encoding="utf-8")
    core.documents.ingest([str(one)] + SAMPLES[:2])
    assert core.search.search("雄猫").suggestion == "熊猫"
    one.write_text("---\nid: x001\ntitle: 小区来了新邻居\n---\n\n社区里来了一只老虎，孩子们都去看。\n", encoding="utf-8")
    core.documents.ingest([str(one)])
    assert core.search.search("熊猫").total == 0
    assert core.search.search("雄猫").suggestion is None
