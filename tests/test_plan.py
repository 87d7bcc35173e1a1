"""The query plan: a query analysed once, without an index, into what every later step reads."""

from __future__ import annotations

import dataclasses

import pytest

from indexer.plan import Phrase, QueryPlan, compile_query, merge_filters
from kb.errors import QueryError


@pytest.fixture(scope="module")
def plan(analyzer):
    return lambda q, **kwargs: compile_query(q, analyzer, **kwargs)


def words(plan: QueryPlan) -> dict:
    return {key: weight for key, weight in plan.weights.words}


def test_each_word_of_a_plain_clause_is_a_unit(plan):
    p = plan("会所文化 服务联盟")
    assert [u.label for u in p.units] == ["会所文化", "服务联盟"]
    assert not any(u.required for u in p.units)
    (word,), = p.units[1].alternatives
    assert word.forms[0] == ("服务联盟",) and word.parts == ("服务", "联盟")
    assert word.fields == ("title", "section", "body")


def test_required_phrase_and_or_units(plan):
    p = plan('+学会 "楼宇党建与园区党建相结合" 服务联盟 OR 服务网络')
    assert [(u.label, u.required) for u in p.units] == [
        ("学会", True), ("楼宇党建与园区党建相结合", False), ("服务联盟 OR 服务网络", False)]
    phrase, = p.units[1].alternatives
    assert isinstance(phrase, Phrase) and phrase.text == "楼宇党建与园区党建相结合"
    assert [alt[0].text for alt in p.units[2].alternatives] == ["服务联盟", "服务网络"]


def test_synonyms_parts_and_characters_weigh_what_the_ranking_says(plan):
    p = plan("两新组织 快递行业党建")
    text = ("title", "section", "body")
    w = words(p)
    assert w[text, "两新组织"] == 1.0
    assert w[text, "快递"] == w[text, "行业"] == w[text, "党建"] == 0.5  # the parts of 快递行业党建
    synonyms = [form for form in p.units[0].alternatives[0][0].forms[1:]]
    assert synonyms and all(w[text, t] > 0 for form in synonyms for t in form)
    assert dict(p.weights.chars).keys() >= {"快", "递", "两", "新"}


def test_phrase_words_rank_but_do_not_make_a_match(plan):
    p = plan('"比赛组委会"')
    assert all(key in p.weights.exact for key, _ in p.weights.words)
    assert not plan("比赛 组委会").weights.exact


def test_title_clause_looks_in_titles_only_and_ranks_no_characters(plan):
    p = plan("title:学会")
    assert p.units[0].alternatives[0][0].fields == ("title",)
    assert not p.weights.chars
    assert p.corrections == ()  # 您是不是要找 rewrites plain clauses only


def test_what_to_highlight(plan):
    h = plan('服务联盟 "楼宇党建" 楼于 党建 -农村').highlight
    assert {"服务联盟", "楼于", "党建"} <= h.terms and "农村" not in h.terms
    assert "楼宇党建" in h.phrases
    assert dict(h.parts)["服务联盟"] == ("服务", "联盟")


def test_exclusions_and_filters(plan):
    p = plan("党建 -农村 -\"文化长廊\" mode:文化嵌入型 -domain:楼宇 year:2019..2021",
             filters={"type": ["案例"]})
    assert [type(c).__name__ for c in p.exclusions] == ["tuple", "Phrase"]
    assert [(f.facet.name, f.value, f.negated) for f in p.filters] == [
        ("mode", "文化嵌入型", False), ("year", "2019..2021", False), ("type", "案例", False),
        ("domain", "楼宇", True)]
    assert p.written_filters == {"mode": ("文化嵌入型",), "-domain": ("楼宇",), "year": ("2019..2021",),
                                 "type": ("案例",)}
    assert [u.label for u in p.units] == ["党建"]


def test_the_plan_is_frozen(plan):
    p = plan("党建")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.units = ()  # type: ignore[misc]


def test_corrections_are_the_plain_clauses_as_typed(plan, analyzer):
    p = plan('会所文话 "楼宇" title:学会 服务 OR 联盟 -农村')
    assert [text for text, _ in p.corrections] == ["会所文话", "服务", "联盟"]
    assert all(words == tuple(analyzer.terms(text)) for text, words in p.corrections)


def test_unknown_values_of_a_closed_facet(plan):
    p = plan("mode:不存在的模式")
    p.check_known({"mode": []})  # an index without modes knows no list to check against
    with pytest.raises(QueryError, match="未知的工作模式 '不存在的模式'；可用：文化嵌入型"):
        p.check_known({"mode": ["文化嵌入型"]})


@pytest.mark.parametrize("query", ["，，，", "   "])
def test_nothing_to_search(plan, query):
    with pytest.raises(QueryError):
        plan(query)


def test_punctuation_beside_a_filter_is_a_filter_only_plan(plan):
    p = plan("，，， type:案例")
    assert p.units == () and [f.facet.name for f in p.filters] == ["type"]


def test_option_filters_join_the_query():
    assert merge_filters("党建", {"mode": ["文化嵌入型"], "year": []}) == '党建 mode:"文化嵌入型"'
    with pytest.raises(QueryError, match="未知的筛选字段 'colour'"):
        merge_filters("党建", {"colour": ["红"]})
