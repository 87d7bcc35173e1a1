"""The query language: words, phrases, exclusion, OR groups, field filters and their errors."""

from __future__ import annotations

import pytest

from indexer.query import MAX_LENGTH, Clause, ParsedQuery, parse_query
from kb.errors import QueryError


def _texts(parsed: ParsedQuery) -> list[list[str]]:
    return [[c.text for c in group] for group in parsed.groups]


# --- words and phrases ---------------------------------------------------------------------------


def test_words_are_anded():
    parsed = parse_query("会所文化 楼宇党建")
    assert parsed.groups == [[Clause("会所文化")], [Clause("楼宇党建")]]
    assert parsed.negated == []
    assert parsed.filters == {}
    assert parsed.has_text


def test_surrounding_space_is_ignored():
    assert _texts(parse_query("  \u3000党建\t引领  ")) == [["党建"], ["引领"]]


@pytest.mark.parametrize(("query", "phrase"), [
    ('"楼宇 党建"', "楼宇 党建"),
    ("“楼宇 党建”", "楼宇 党建"),
    ("「楼宇 党建」", "楼宇 党建"),
    ("＂楼宇 党建＂", "楼宇 党建"),
    ('"  楼宇 党建 "', "楼宇 党建"),
])
def test_quoted_phrases(query, phrase):
    parsed = parse_query(query + " 引领")
    assert parsed.groups == [[Clause(phrase, phrase=True)], [Clause("引领")]]


def test_phrase_directly_after_a_word():
    parsed = parse_query('会所"楼宇党建"')
    assert parsed.groups == [[Clause("会所")], [Clause("楼宇党建", phrase=True)]]


def test_full_example_from_the_docs():
    parsed = parse_query('会所文化 "楼宇党建" -农村 服务联盟 OR 服务网络 '
                         "mode:文化嵌入型 region:临江区 year:2019..2021")
    assert parsed.groups == [
        [Clause("会所文化")],
        [Clause("楼宇党建", phrase=True)],
        [Clause("服务联盟"), Clause("服务网络")],
    ]
    assert parsed.negated == [Clause("农村")]
    assert parsed.filters == {"mode": ["文化嵌入型"], "region": ["临江区"], "year": ["2019..2021"]}


# --- exclusion -----------------------------------------------------------------------------------


@pytest.mark.parametrize("minus", ["-", "－"])
def test_exclusion_of_a_word(minus):
    parsed = parse_query(f"党建 {minus}农村")
    assert _texts(parsed) == [["党建"]]
    assert parsed.negated == [Clause("农村")]


def test_exclusion_of_a_phrase():
    parsed = parse_query('党建 -"农村 党建"')
    assert parsed.negated == [Clause("农村 党建", phrase=True)]


def test_a_lone_minus_is_a_word_not_an_exclusion():
    parsed = parse_query("党建 - 引领")
    assert _texts(parsed) == [["党建"], ["-"], ["引领"]]
    assert parsed.negated == []


# --- OR ------------------------------------------------------------------------------------------


def test_or_groups_its_neighbours():
    parsed = parse_query("a OR b c")
    assert _texts(parsed) == [["a", "b"], ["c"]]


@pytest.mark.parametrize("operator", ["OR", "|", "或"])
def test_or_spellings(operator):
    parsed = parse_query(f"服务联盟 {operator} 服务网络 党建")
    assert _texts(parsed) == [["服务联盟", "服务网络"], ["党建"]]


def test_or_chains():
    assert _texts(parse_query("a OR b OR c d | e")) == [["a", "b", "c"], ["d", "e"]]


def test_or_joins_phrases():
    parsed = parse_query('"楼宇党建" OR “园区党建”')
    assert parsed.groups == [[Clause("楼宇党建", phrase=True), Clause("园区党建", phrase=True)]]


def test_lower_case_or_is_a_word():
    assert _texts(parse_query("a or b")) == [["a"], ["or"], ["b"]]


# --- field filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "filters"), [
    ("党建 mode:文化嵌入型", {"mode": ["文化嵌入型"]}),
    ("党建 模式：文化嵌入型", {"mode": ["文化嵌入型"]}),
    ("党建 模式:文化嵌入型", {"mode": ["文化嵌入型"]}),
    ("党建 工作模式：文化嵌入型", {"mode": ["文化嵌入型"]}),
    ("党建 MODE:文化嵌入型", {"mode": ["文化嵌入型"]}),
    ("党建 region:临江区", {"region": ["临江区"]}),
    ("党建 地区：临江区", {"region": ["临江区"]}),
    ("党建 区域:临江区", {"region": ["临江区"]}),
    ("党建 domain:社区", {"domain": ["社区"]}),
    ("党建 领域：社区", {"domain": ["社区"]}),
    ("党建 type:案例", {"type": ["案例"]}),
    ("党建 类型：案例", {"type": ["案例"]}),
    ("党建 unit:组织部", {"unit": ["组织部"]}),
    ("党建 单位：组织部", {"unit": ["组织部"]}),
    ("党建 year:2020", {"year": ["2020"]}),
    ("党建 年份：2020", {"year": ["2020"]}),
    ("党建 年:2020", {"year": ["2020"]}),
    ("党建 year:2019..2021", {"year": ["2019..2021"]}),
    ("党建 year:2019..", {"year": ["2019.."]}),
    ("党建 year:2019-2021", {"year": ["2019-2021"]}),
    ("党建 mode:a mode:b", {"mode": ["a", "b"]}),
    ('党建 mode:"文化 嵌入型"', {"mode": ["文化 嵌入型"]}),
    ("党建 模式：“文化 嵌入型”", {"mode": ["文化 嵌入型"]}),
])
def test_field_filters(query, filters):
    parsed = parse_query(query)
    assert parsed.filters == filters
    assert _texts(parsed) == [["党建"]]


def test_a_filter_alone_is_a_valid_query():
    parsed = parse_query("mode:文化嵌入型")
    assert parsed.filters == {"mode": ["文化嵌入型"]}
    assert not parsed.has_text


@pytest.mark.parametrize("query", ["title:楼宇党建 引领", "标题：楼宇党建 引领"])
def test_title_filter_becomes_a_title_clause(query):
    parsed = parse_query(query)
    assert parsed.groups == [[Clause("楼宇党建", field="title")], [Clause("引领")]]
    assert parsed.filters == {}


def test_quoted_title_value():
    parsed = parse_query('title:"楼宇 党建"')
    assert parsed.groups == [[Clause("楼宇 党建", field="title")]]


def test_negated_filters_are_stored_under_a_minus_name():
    parsed = parse_query("党建 -mode:文化嵌入型 -地区：临江区 mode:服务导入型")
    assert parsed.filters == {"-mode": ["文化嵌入型"], "-region": ["临江区"], "mode": ["服务导入型"]}
    assert parsed.negated == []


def test_negated_title_is_a_negated_title_clause():
    parsed = parse_query("党建 -title:农村")
    assert parsed.negated == [Clause("农村", field="title")]


@pytest.mark.parametrize("word", ["时间：2020", "会议：党建", "10:30", "模式a：x", "党建:"])
def test_colon_in_a_word_that_is_not_a_field_is_kept_as_a_word(word):
    assert _texts(parse_query(f"{word} 引领")) == [[word], ["引领"]]


# --- errors --------------------------------------------------------------------------------------


def _error(query: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    return info.value


@pytest.mark.parametrize("query", ['"楼宇党建', "“楼宇党建", "党建 「楼宇", '-"楼宇党建', 'mode:"文化'])
def test_unbalanced_quote(query):
    error = _error(query)
    assert "引号不成对" in error.message
    assert error.fragment


@pytest.mark.parametrize("query", ["OR 党建", "| 党建", "党建 OR", "党建 |", "党建 OR OR 引领",
                                   "党建 OR | 引领", "OR"])
def test_or_needs_a_clause_on_both_sides(query):
    error = _error(query)
    assert "OR" in error.message
    assert "两边" in error.message


def test_or_before_an_empty_phrase_is_an_error():
    # the right-hand side of OR is empty; today the OR silently swallows 引领 ([[党建, 引领]])
    with pytest.raises(QueryError):
        parse_query('党建 OR "" 引领')


def test_negation_inside_or():
    error = _error("党建 OR -农村")
    assert "OR" in error.message
    assert "排除" in error.message
    assert error.fragment == "农村"


def test_or_cannot_join_a_filter():
    assert "筛选" in _error("党建 OR mode:文化嵌入型").message


def test_a_url_is_a_word_not_a_field():
    parsed = parse_query("http://example.com")
    assert [c.text for c in parsed.clauses()] == ["http://example.com"] and not parsed.filters


@pytest.mark.parametrize("query", ["党建 foo:bar", "党建 Colour:red"])
def test_unknown_ascii_field_lists_the_valid_fields(query):
    error = _error(query)
    assert "未知的字段" in error.message
    for name in ("mode", "domain", "region", "year", "type", "unit", "title"):
        assert name in error.message
    assert ":" in error.fragment


@pytest.mark.parametrize("query", ["党建 mode:", "党建 模式：", "党建 mode: 文化嵌入型", '党建 mode:""',
                                   '党建 region:"  "'])
def test_empty_field_value(query):
    error = _error(query)
    assert "缺少" in error.message


@pytest.mark.parametrize("query", ["-农村", "-农村 -城市", '-"农村党建"', "-mode:文化嵌入型",
                                   "-农村 -year:2020"])
def test_only_exclusions(query):
    assert "只有排除条件" in _error(query).message


@pytest.mark.parametrize("query", ["", "   ", "\u3000", '""', "“ ”"])
def test_empty_query(query):
    assert "请输入检索词" in _error(query).message


def test_none_is_an_empty_query():
    assert "请输入检索词" in _error(None).message  # type: ignore[arg-type]


def test_too_long():
    error = _error("党" * (MAX_LENGTH + 1))
    assert "太长" in error.message
    assert str(MAX_LENGTH) in error.message


def test_longest_allowed_query():
    assert _texts(parse_query("党" * MAX_LENGTH)) == [["党" * MAX_LENGTH]]


def test_too_many_clauses():
    assert "太多" in _error(" ".join(f"w{i}" for i in range(40))).message


@pytest.mark.parametrize("value", ["20x1", "21", "二〇二〇", "2019..2021..2022", "2019...2021", "1/2020"])
def test_bad_year(value):
    error = _error(f"党建 year:{value}")
    assert "年份" in error.message
    assert error.fragment == value


@pytest.mark.parametrize("value", ["2021..2019", "2021-2019", "2021～2000"])
def test_reversed_year_range(value):
    error = _error(f"党建 year:{value}")
    assert "颠倒" in error.message


def test_negated_year_is_checked_too():
    assert "年份" in _error("党建 -year:abc").message


# --- hostile input -------------------------------------------------------------------------------


HOSTILE = [
    '"',
    "“",
    "”",
    "「」",
    "-",
    "--",
    "- -",
    "，。！？；：",
    "：：",
    ":",
    "|||",
    "OR OR OR",
    "' OR 1=1; DROP TABLE documents; --",
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    "党" * 10_000,
    "a " * 200,
    "\x00\x01\x02\x1b[31m",
    "\u200b\u200d\ufeff",
    "😀😀 🇨🇳 OR 👍",
    "year:２０２０",
    "year:𝟐𝟎𝟐𝟎..",
    "mode:mode:mode:",
    "-：",
    "title:",
    "\\\"党建\\\"",
    "%s%s%n ${jndi:ldap://x}",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_input_parses_or_raises_query_error(query):
    try:
        parsed = parse_query(query)
    except QueryError as error:
        assert error.message
    else:
        assert isinstance(parsed, ParsedQuery)
        assert parsed.groups or parsed.filters
