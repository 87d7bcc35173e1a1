"""Highlighting: exact match spans, sentence-aware snippets (plain text and spans), and the
HTML-safe marking of the JSON form."""

from __future__ import annotations

import html
import re

import pytest

from indexer.highlight import SNIPPET_CHARS, Excerpt, match_spans, window
from indexer.highlight import snippet as excerpt
from indexer.results import mark

SENTENCE_ENDS = "。！？；"


def snippet(text: str, spans, size: int = SNIPPET_CHARS) -> str:
    """The snippet as the JSON gives it: HTML with <mark>."""
    return mark(*excerpt(text, spans, size))


def _plain(fragment: str) -> str:
    """The text of a snippet without its <mark> tags, entities and ellipses."""
    return html.unescape(fragment.replace("<mark>", "").replace("</mark>", "")).strip("…")


def _marked(fragment: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", fragment)]


def _only_mark_tags(fragment: str) -> bool:
    return all(tag in ("<mark>", "</mark>") for tag in re.findall(r"<[^>]*>", fragment))


# --- match_spans ---------------------------------------------------------------------------------


def test_every_occurrence_of_a_repeated_word(analyzer):
    assert match_spans("党建，党建，党建引领", analyzer, {"党建"}, []) == [(0, 2), (3, 5), (6, 8)]


def test_repeated_word_far_apart(analyzer):
    text = "楼宇党建是重点。" + "其他内容。" * 50 + "楼宇党建再次出现，楼宇党建。"
    first = text.index("楼宇党建")
    second = text.index("楼宇党建", first + 1)
    third = text.index("楼宇党建", second + 1)
    assert match_spans(text, analyzer, {"楼宇党建"}, []) == [
        (first, first + 4), (second, second + 4), (third, third + 4)]


def test_repeated_traditional_word(analyzer):
    assert match_spans("黨建工作，黨建工作。", analyzer, {"党建"}, []) == [(0, 2), (5, 7)]


def test_terms_absent_from_the_text_give_no_spans(analyzer):
    assert match_spans("党建引领工作", analyzer, {"农村"}, []) == []
    assert match_spans("党建引领工作", analyzer, set(), []) == []


def test_term_spans_follow_word_boundaries(analyzer):
    # 党建 inside 党建引领 is a sub-word; "建引" is not a word and is not marked
    assert match_spans("推进党建引领", analyzer, {"党建"}, []) == [(2, 4)]
    assert match_spans("推进党建引领", analyzer, {"建引"}, []) == []


def test_phrase_spans_every_exact_occurrence(analyzer):
    text = "楼宇党建，园区党建与楼宇党建"
    assert match_spans(text, analyzer, set(), ["楼宇党建"]) == [(0, 4), (10, 14)]


def test_traditional_text_matched_by_a_simplified_phrase(analyzer):
    text = "推進兩新組織黨建工作"
    assert match_spans(text, analyzer, set(), ["两新组织党建"]) == [(2, 8)]


def test_simplified_text_matched_by_a_traditional_or_full_width_phrase(analyzer):
    assert match_spans("推进两新组织党建工作", analyzer, set(), ["兩新組織黨建"]) == [(2, 8)]
    assert match_spans("推行1+N模式", analyzer, set(), ["１＋Ｎ"]) == [(2, 5)]


def test_empty_phrase_is_ignored(analyzer):
    assert match_spans("党建引领", analyzer, set(), ["", "党建"]) == [(0, 2)]


def test_overlapping_spans_are_merged(analyzer):
    assert match_spans("推进党建引领工作", analyzer, {"党建"}, ["建引领"]) == [(2, 6)]


def test_word_inside_a_matched_word_is_merged(analyzer):
    assert match_spans("党建引领", analyzer, {"党建引领", "引领"}, []) == [(0, 4)]


def test_spans_are_sorted_and_disjoint(analyzer):
    text = "党建引领工作，服务联盟。党建引领！"
    spans = match_spans(text, analyzer, {"党建引领", "服务联盟", "党建"}, ["工作", "引领"])
    assert spans == sorted(spans)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert spans == [(0, 6), (7, 11), (12, 16)]


# --- mark ----------------------------------------------------------------------------------------


def test_mark_wraps_spans():
    assert mark("推进党建引领", [(2, 4)]) == "推进<mark>党建</mark>引领"


def test_mark_escapes_html():
    text = "<script>alert('x')</script>党建 & <b>引领</b>"
    start = text.index("党建")
    out = mark(text, [(start, start + 2)])
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert "&lt;b&gt;" in out
    assert "&amp;" in out
    assert _only_mark_tags(out)
    assert _marked(out) == ["党建"]
    assert html.unescape(out.replace("<mark>", "").replace("</mark>", "")) == text


def test_mark_escapes_inside_the_mark():
    out = mark("a<b>c", [(1, 4)])
    assert out == "a<mark>&lt;b&gt;</mark>c"


def test_mark_clips_spans_to_the_window():
    assert mark(*window("推进党建引领工作", [(2, 6)], 4, 8)) == "<mark>引领</mark>工作"
    assert mark(*window("推进党建引领工作", [(2, 6)], 0, 3)) == "推进<mark>党</mark>"
    assert mark(*window("推进党建引领工作", [(0, 2)], 4, 8)) == "引领工作"
    assert window("推进党建引领工作", [(2, 6)], 4, 8) == Excerpt("引领工作", ((0, 2),))


# --- snippet -------------------------------------------------------------------------------------


def _numbered_sentences(count: int, length: int = 30) -> list[str]:
    """Distinct filler sentences of ``length`` characters, ending with varied Chinese stops."""
    out = []
    for i in range(count):
        stop = SENTENCE_ENDS[i % len(SENTENCE_ENDS)]
        body = f"第{i:02d}句" + "普通内容" * length
        out.append(body[: length - 1] + stop)
    return out


def test_snippet_picks_the_sentence_with_the_matches(analyzer):
    sentences = _numbered_sentences(12)
    sentences[7] = "第07句介绍楼宇党建的做法和经验成效" + "显著" * 5 + "。"
    text = "".join(sentences)
    spans = match_spans(text, analyzer, {"楼宇党建"}, [])
    out = snippet(text, spans)
    plain = _plain(out)
    assert _marked(out) == ["楼宇党建"]
    assert plain.startswith("第07句")
    assert out.startswith("…")
    assert out.endswith("…")
    assert len(plain) <= SNIPPET_CHARS
    assert plain in text


def test_snippet_prefers_the_sentence_with_more_distinct_matches(analyzer):
    sentences = _numbered_sentences(10)
    sentences[2] = "第02句讲楼宇党建。"
    sentences[8] = "第08句讲楼宇党建和服务联盟。"
    text = "".join(sentences)
    spans = match_spans(text, analyzer, {"楼宇党建", "服务联盟"}, [])
    out = snippet(text, spans, size=40)
    assert _plain(out).startswith("第08句")
    assert _marked(out) == ["楼宇党建", "服务联盟"]


def test_snippet_cuts_at_chinese_sentence_ends(analyzer):
    sentences = _numbered_sentences(12, length=25)
    sentences[5] = "第05句推动服务联盟建设！"
    text = "".join(sentences)
    spans = match_spans(text, analyzer, {"服务联盟"}, [])
    out = snippet(text, spans, size=60)
    plain = _plain(out)
    start = text.index(plain)
    assert text[start - 1] in SENTENCE_ENDS  # begins right after a sentence end
    assert plain[-1] in SENTENCE_ENDS  # and ends on one
    assert "服务联盟" in plain
    assert len(plain) <= 60


def test_snippet_of_a_short_text_is_the_whole_text_without_ellipses(analyzer):
    text = "第一句话没有。第二句讲党建引领工作！第三句也没有？第四句；"
    spans = match_spans(text, analyzer, {"党建引领"}, [])
    assert snippet(text, spans) == "第一句话没有。第二句讲<mark>党建引领</mark>工作！第三句也没有？第四句；"


def test_snippet_has_no_leading_ellipsis_at_the_start(analyzer):
    text = "党建引领是第一句。" + "".join(_numbered_sentences(20))
    spans = match_spans(text, analyzer, {"党建引领"}, [])
    out = snippet(text, spans)
    assert out.startswith("<mark>党建引领</mark>是第一句。")
    assert out.endswith("…")


def test_snippet_has_no_trailing_ellipsis_at_the_end(analyzer):
    text = "".join(_numbered_sentences(20)) + "最后一句讲党建引领。\n"
    spans = match_spans(text, analyzer, {"党建引领"}, [])
    out = snippet(text, spans)
    assert out.startswith("…")
    assert out.endswith("最后一句讲<mark>党建引领</mark>。")


def test_snippet_ignores_indentation_before_the_first_sentence(analyzer):
    # Chinese paragraphs are indented with two ideographic spaces; that is still the start
    text = "\u3000\u3000党建引领是第一句。" + "".join(_numbered_sentences(20))
    spans = match_spans(text, analyzer, {"党建引领"}, [])
    assert snippet(text, spans).startswith("<mark>党建引领</mark>是第一句。")
    assert snippet(text, []).startswith("党建引领是第一句。")


def test_snippet_windows_one_very_long_sentence(analyzer):
    text = "这是一个很长的句子" * 100 + "党建引领" + "继续说" * 100 + "。"
    first = text.index("党建引领")
    spans = match_spans(text, analyzer, {"党建引领"}, [])
    assert spans == [(first, first + 4)]
    out = snippet(text, spans)
    plain = _plain(out)
    assert len(plain) == SNIPPET_CHARS
    assert _marked(out) == ["党建引领"]
    at = plain.index("党建引领")
    assert at > 0 and at + 4 < len(plain)  # context on both sides of the match
    assert text[text.index(plain) :].startswith(plain)
    assert out.startswith("…") and out.endswith("…")


@pytest.mark.parametrize("size", [20, 60, 200])
def test_snippet_respects_the_size(analyzer, size):
    text = "开头" * 400 + "服务联盟" + "结尾" * 400
    spans = match_spans(text, analyzer, {"服务联盟"}, [])
    out = snippet(text, spans, size=size)
    assert len(_plain(out)) == size
    assert _marked(out) == ["服务联盟"]


def test_snippet_window_at_the_end_of_a_long_sentence(analyzer):
    text = "前文" * 300 + "服务联盟"
    spans = match_spans(text, analyzer, {"服务联盟"}, [])
    out = snippet(text, spans)
    assert out.startswith("…")
    assert out.endswith("<mark>服务联盟</mark>")
    assert len(_plain(out)) == SNIPPET_CHARS


def test_snippet_of_a_very_long_text_with_the_match_near_the_end(analyzer):
    text = "普通的文字内容没有特别之处。" * 3100 + "这里讲党建引领的经验。" + "结尾的话。"
    assert len(text) > 40_000
    spans = match_spans(text, analyzer, {"党建引领"}, [])
    at = text.index("党建引领")
    assert spans == [(at, at + 4)]
    out = snippet(text, spans)
    assert _marked(out) == ["党建引领"]
    assert "这里讲<mark>党建引领</mark>的经验。" in out
    assert len(_plain(out)) <= SNIPPET_CHARS


def test_snippet_of_a_very_long_unpunctuated_text_with_the_match_near_the_end(analyzer):
    text = "普通文字内容" * 7000 + "党建引领" + "其他" * 20
    assert len(text) > 40_000
    spans = match_spans(text, analyzer, {"党建引领"}, [])
    at = text.index("党建引领")
    assert spans == [(at, at + 4)]
    out = snippet(text, spans)
    assert _marked(out) == ["党建引领"]
    assert len(_plain(out)) == SNIPPET_CHARS


def test_snippet_without_matches_is_the_opening(analyzer):
    text = "".join(_numbered_sentences(20))
    out = snippet(text, [])
    assert "<mark>" not in out
    assert not out.startswith("…")
    assert out.endswith("…")
    plain = _plain(out)
    assert text.startswith(plain)
    assert plain[-1] in SENTENCE_ENDS
    assert len(plain) <= SNIPPET_CHARS


def test_snippet_without_matches_of_one_long_sentence():
    text = "很长" * 300
    out = snippet(text, [])
    assert out == text[:SNIPPET_CHARS] + "…"


def test_snippet_of_empty_text():
    assert snippet("", []) == ""
    assert excerpt("", []) == Excerpt("", ())


def test_snippet_is_plain_text_with_spans_into_it(analyzer):
    text = "".join(_numbered_sentences(10)) + "这里讲<党建>引领 & 服务联盟。" + "".join(_numbered_sentences(10))
    piece, spans = excerpt(text, match_spans(text, analyzer, {"党建", "服务联盟"}, []), size=40)
    assert piece.startswith("…") and piece.endswith("…")
    assert "<mark>" not in piece and "&amp;" not in piece  # plain text: the fronts mark it
    assert [piece[s:e] for s, e in spans] == ["党建", "服务联盟"]
    assert piece.strip("…") in text


def test_snippet_trims_white_space_but_never_a_marked_character(analyzer):
    text = "\u3000\u3000党建引领。"
    assert excerpt(text, [(2, 6)]) == Excerpt("党建引领。", ((0, 4),))
    assert excerpt("  党建  ", [(2, 4)]) == Excerpt("党建", ((0, 2),))
    assert excerpt("  ", []) == Excerpt("", ())


def test_snippet_escapes_html(analyzer):
    text = "<script>alert('党建')</script>。党建&引领"
    spans = match_spans(text, analyzer, {"党建"}, [])
    out = snippet(text, spans)
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert _only_mark_tags(out)
    assert _marked(out) == ["党建", "党建"]
