"""Web-text clean-up rules (kb.cleanup): pinyin debris removed, mojibake flagged, all reported.

Every text here is a short fictional sample written for these tests.
"""

from __future__ import annotations

import pytest

from kb.cleanup import clean_paragraphs, clean_text, summary_zh


def kinds(report: list[dict]) -> dict[str, tuple[str, int, int]]:
    return {e["kind"]: (e["action"], e["count"], e["line"]) for e in report}


# ------------------------------------------------------------------ pinyin


def test_tone_marked_pinyin_after_a_character_is_removed_and_reported():
    text, report = clean_text("样例标题\n推进區(qū)域化党（dǎng）建(jiàn)，促进發(fā)展。\n")
    assert text == "样例标题\n推进區域化党建，促进發展。\n"
    assert report == [{"kind": "pinyin", "action": "removed", "count": 4, "line": 2,
                       "example": "區(qū)域→區域"}]


@pytest.mark.parametrize("sample", [
    "（一）加强组织建设", "2021年(2021)的样例", "《办法（试行）》", "中国共产党(CPC)的样例",
    "样例(party)活动", "样例(PPT)材料", "（1）建立制度", "样例(A4)纸", "样例（附件2）",
    "样例(café)", "样例(a)项", "样例(a1)项", "样例 (qū) 不紧跟汉字", "样例(dǎngjiàn)多个音节",
    "样例(qǖā)两个声调",
])
def test_legitimate_parentheses_are_kept(sample):
    assert clean_text(sample) == (sample, [])


def test_tone_digits_count_as_tone_marks():
    assert clean_text("样例区(qu1)域(yu4)")[0] == "样例区域"


def test_toneless_pinyin_is_removed_only_when_several_occur():
    assert clean_text("样例学习(an)活动(he)") == ("样例学习(an)活动(he)", [])
    text, report = clean_text("样例区(qu)域(yu)化(hua)党建")
    assert text == "样例区域化党建"
    assert kinds(report) == {"pinyin": ("removed", 3, 1)}
    # one tone-marked annotation and two toneless ones: three in all, all removed
    assert clean_text("样例区(qū)域(yu)化(hua)")[0] == "样例区域化"


def test_pinyin_across_word_paragraphs_counts_paragraphs():
    texts, report = clean_paragraphs(["样例标题", "", "區(qu)域", "黨(dang)建(jian)"])
    assert texts == ["样例标题", "", "區域", "黨建"]
    assert kinds(report) == {"pinyin": ("removed", 3, 3)}


# ------------------------------------------------------------------ mojibake


def test_replacement_characters_and_question_mark_runs_are_flagged_not_changed():
    sample = "样例标题\n党建??工作有序推进。\n社区\ufffd\ufffd服务持续开展。\n这样做行吗？我们认为可行。\n"
    text, report = clean_text(sample)
    assert text == sample
    assert report == [{"kind": "mojibake", "action": "flagged", "count": 2, "line": 2,
                       "example": "党建??工作有序"}]


@pytest.mark.parametrize("sample", ["这样做行吗？我们认为可行。", "真的吗??", "样例? 说明",
                                    "What??样例"])
def test_single_question_marks_and_runs_outside_cjk_text_are_punctuation(sample):
    assert clean_text(sample) == (sample, [])


def test_utf8_read_as_gbk_is_flagged_with_the_likely_reading():
    garbled = "党建工作".encode().decode("gbk")  # what such a file looks like
    sample = f"样例标题\n正文一段。\n{garbled}\n"
    text, report = clean_text(sample)
    assert text == sample
    assert kinds(report) == {"utf8_as_gbk": ("flagged", 1, 3)}
    assert "疑为：党建工作" in report[0]["example"]
    text, report = clean_text("样例：锟斤拷锟斤拷")
    assert kinds(report) == {"utf8_as_gbk": ("flagged", 1, 1)}


def test_ordinary_simplified_and_traditional_text_is_not_flagged():
    sample = ("以学会为枢纽，汇聚区域化党建合力。楼宇党建与园区党建相结合，服务联盟覆盖白领。"
              "社區黨建工作紀實：各社區黨組織每月召開一次組織生活會。")
    assert clean_text(sample) == (sample, [])


def test_summary_line():
    report = [{"kind": "pinyin", "action": "removed", "count": 3, "line": 2, "example": ""},
              {"kind": "mojibake", "action": "flagged", "count": 1, "line": 5, "example": ""}]
    assert summary_zh(report) == "已清理：拼音注音 3 处（第 2 行起）；请核对：疑似乱码 1 处（第 5 行）"
    assert summary_zh(report, word=True).endswith("（第 5 段）")
    assert summary_zh([]) == ""


def test_long_text_with_many_annotations_is_cleaned_at_once():
    text, report = clean_text("區(qū)域" * 20000)
    assert text == "區域" * 20000
    assert report[0]["count"] == 20000
