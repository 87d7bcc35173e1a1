"""Structure inference: numbered headings, section trees, page debris, front lines, dates."""

from __future__ import annotations

import pytest

from kb.structure import (
    Line,
    build_sections,
    clean_lines,
    first_text_descendant,
    fold_heading_only,
    heading_level,
    infer_front,
    is_debris,
    is_heading_only,
    markdown_lines,
    parse_date,
    split_heading,
)


def lines(*texts: str) -> list[Line]:
    return [Line(t) for t in texts]


# ------------------------------------------------------------------ heading_level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("一、基本情况", 1),
        ("十一、其他事项", 1),
        ("三．工作成效", 1),
        ("【工作成效】", 1),
        ("（一）建强阵地", 2),
        ("(一)建强阵地", 2),
        ("（十二）完善机制", 2),
        ("1、建立服务联盟", 3),
        ("12、设立服务窗口", 3),
        ("1.建立服务联盟", 3),
        ("1. 建立服务联盟", 3),
        ("1．建立服务联盟", 3),
        ("（1）设立窗口", 4),
        ("(1)设立窗口", 4),
        ("①设立窗口", 4),
        ("⑳最后一项", 4),
    ],
)
def test_heading_level_of_numbered_headings(text, level):
    assert heading_level(text) == level


@pytest.mark.parametrize(
    "text",
    [
        "2023年全区共举办活动四十余场。",
        "2023年",
        "1.5万名党员参加了志愿服务。",
        "12.5%的党员来自非公企业。",
        "街道共有社区党组织十二个。",
        "一是加强组织建设，二是完善制度。",
        "十分重要的是坚持问题导向。",
        "第一书记驻村工作。",
        "“一、二、三”工作法在社区推广。",
        "",
    ],
)
def test_heading_level_of_plain_sentences_is_none(text):
    assert heading_level(text) is None


# ------------------------------------------------------------------ split_heading


def test_split_heading_separates_heading_from_following_text():
    head, rest = split_heading("1、建立服务联盟。围绕白领需求，提供就餐、健康等服务。")
    assert head == "1、建立服务联盟"
    assert rest == "围绕白领需求，提供就餐、健康等服务。"


def test_split_heading_at_a_colon():
    assert split_heading("（一）工作目标：实现楼宇党组织全覆盖，服务白领。") == (
        "（一）工作目标",
        "实现楼宇党组织全覆盖，服务白领。",
    )


@pytest.mark.parametrize(
    ("text", "heading"),
    [
        ("一、背景与问题", "一、背景与问题"),
        ("（一）搭建交流平台，让好经验“走出去”", "（一）搭建交流平台，让好经验“走出去”"),
        ("一、加强组织建设。", "一、加强组织建设"),
        ("2、公开服务承诺", "2、公开服务承诺"),
    ],
)
def test_split_heading_keeps_short_pure_headings_whole(text, heading):
    assert split_heading(text) == (heading, "")


def test_split_heading_long_line_without_sentence_end_is_all_heading():
    text = "1、" + "围绕楼宇白领的实际需要持续拓展服务内容" * 3
    assert len(text) > 40
    assert split_heading(text) == (text, "")


# ------------------------------------------------------------------ build_sections

REPORT = (
    "开头说明一段。",
    "第二段前言。",
    "一、基本情况",
    "社区有党员三十名。",
    "二、主要做法",
    "（一）建强阵地",
    "1、建立服务联盟。围绕白领需求提供服务。",
    "每月开展活动。",
    "2、设立服务窗口",
    "（二）完善机制",
    "建立例会制度。",
    "三、工作成效",
)


@pytest.fixture
def report():
    body, sections = build_sections(lines(*REPORT))
    return body, {s.heading: s for s in sections}, sections


def test_build_sections_body_is_the_lines_joined(report):
    body, _, _ = report
    assert body == "\n".join(REPORT)


def test_build_sections_tree_levels_parents_and_paths(report):
    _, by_heading, sections = report
    assert [s.ord for s in sections] == list(range(len(sections)))
    expected = {
        "": (0, None, []),
        "一、基本情况": (1, None, ["一、基本情况"]),
        "二、主要做法": (1, None, ["二、主要做法"]),
        "（一）建强阵地": (2, "二、主要做法", ["二、主要做法", "（一）建强阵地"]),
        "1、建立服务联盟": (3, "（一）建强阵地", ["二、主要做法", "（一）建强阵地", "1、建立服务联盟"]),
        "2、设立服务窗口": (3, "（一）建强阵地", ["二、主要做法", "（一）建强阵地", "2、设立服务窗口"]),
        "（二）完善机制": (2, "二、主要做法", ["二、主要做法", "（二）完善机制"]),
        "三、工作成效": (1, None, ["三、工作成效"]),
    }
    assert set(by_heading) == set(expected)
    for heading, (level, parent, path) in expected.items():
        section = by_heading[heading]
        assert section.level == level, heading
        assert section.path == path, heading
        if parent is None:
            assert section.parent is None, heading
        else:
            assert section.parent == by_heading[parent].ord, heading
    assert by_heading["1、建立服务联盟"].path_label == "二、主要做法 › （一）建强阵地 › 1、建立服务联盟"
    assert by_heading["一、基本情况"].path_label == "一、基本情况"


def test_build_sections_section_text(report):
    _, by_heading, _ = report
    assert by_heading[""].text == "开头说明一段。\n第二段前言。"
    assert by_heading["一、基本情况"].text == "社区有党员三十名。"
    # The rest of a "heading. text" line starts the section's text.
    assert by_heading["1、建立服务联盟"].text == "围绕白领需求提供服务。\n每月开展活动。"
    assert by_heading["2、设立服务窗口"].text == ""


def test_build_sections_practices_are_leaves_with_text(report):
    _, by_heading, _ = report
    practices = {h for h, s in by_heading.items() if s.is_practice}
    assert practices == {"一、基本情况", "1、建立服务联盟", "（二）完善机制"}
    # Parents are never practices, nor are leaves without text, nor the preamble.
    assert not by_heading["二、主要做法"].is_practice
    assert not by_heading["（一）建强阵地"].is_practice
    assert not by_heading["2、设立服务窗口"].is_practice
    assert not by_heading["三、工作成效"].is_practice
    assert not by_heading[""].is_practice


def test_build_sections_offsets_slice_the_body(report):
    body, by_heading, sections = report
    for s in sections:
        chunk = body[s.start : s.end]
        if s.level:
            assert chunk.split("\n")[0] == next(t for t in REPORT if t.startswith(s.heading))
            assert chunk.startswith(s.heading)
    assert body[by_heading[""].start : by_heading[""].end] == "开头说明一段。\n第二段前言。"
    leaf = by_heading["1、建立服务联盟"]
    assert body[leaf.start : leaf.end] == "1、建立服务联盟。围绕白领需求提供服务。\n每月开展活动。"
    last = by_heading["三、工作成效"]
    assert body[last.start : last.end] == "三、工作成效"
    assert last.end == len(body)
    # Consecutive sections tile the body: nothing is lost or counted twice.
    assert "\n".join(body[s.start : s.end] for s in sections) == body
    assert sections[0].start == 0


def test_preamble_is_the_practice_when_there_are_no_headings():
    body, sections = build_sections(lines("只有正文一段。", "第二段。"))
    assert len(sections) == 1
    only = sections[0]
    assert (only.level, only.heading, only.path, only.parent) == (0, "", [], None)
    assert only.is_practice
    assert only.text == "只有正文一段。\n第二段。"
    assert body[only.start : only.end] == body


def test_no_preamble_section_when_the_first_line_is_a_heading():
    body, sections = build_sections(lines("一、基本情况", "正文。"))
    assert [s.level for s in sections] == [1]
    assert (sections[0].start, sections[0].end) == (0, len(body))
    assert sections[0].is_practice


def test_build_sections_uses_levels_given_by_word_styles():
    given = [Line("总体情况", level=1), Line("辖区共有八栋楼宇。"),
             Line("组建楼宇党委", level=2), Line("吸纳驻楼企业党组织。")]
    _, sections = build_sections(given)
    assert [(s.level, s.heading, s.parent) for s in sections] == [
        (1, "总体情况", None),
        (2, "组建楼宇党委", 0),
    ]
    assert [s.is_practice for s in sections] == [False, True]


def test_skipped_levels_attach_to_the_nearest_higher_heading():
    _, sections = build_sections(lines("一、做法", "1、设立窗口", "窗口正文。", "二、成效", "（1）数字", "成效正文。"))
    by = {s.heading: s for s in sections}
    assert by["1、设立窗口"].parent == by["一、做法"].ord
    assert by["（1）数字"].parent == by["二、成效"].ord
    assert by["（1）数字"].path_label == "二、成效 › （1）数字"


def test_build_sections_of_nothing():
    assert build_sections([]) == ("", [])


# ------------------------------------------------------------------ debris


@pytest.mark.parametrize(
    "text",
    ["- 2 -", "— 3 —", "－ 12 －", "7", "第 2 页 共 3 页", "第2页", "第 2 頁 共 3 頁",
     "共 3 页 第 2 页", "Page 3 of 10", "page 3", "3 / 10", "------", "* * *"],
)
def test_is_debris_page_numbers_and_rules(text):
    assert is_debris(text)


@pytest.mark.parametrize(
    "text",
    ["一、基本情况", "社区共有党员120名。", "2022年3月", "第二章 工作回顾", "第2页的表格显示党员人数增加。",
     "Page views rose by 10%", "1、建立服务联盟", "3月份"],
)
def test_is_debris_keeps_real_lines(text):
    assert not is_debris(text)


def test_clean_lines_drops_debris_blank_lines_and_form_feeds():
    raw = (
        "\ufeff标题\r\n"
        "\u3000\u3000第一段正文。\r\n"
        "- 2 -\r\n"
        "\f第二页开头的正文。\n"
        "   \n"
        "— 3 —\n"
        "第 2 页 共 3 页\n"
        "第 2 頁 共 3 頁\n"
        "Page 3 of 10\n"
        "\n"
        "结尾一段。\r"
        "最后一行。"
    )
    assert clean_lines(raw) == ["标题", "第一段正文。", "第二页开头的正文。", "结尾一段。", "最后一行。"]


def test_clean_lines_splits_on_form_feed():
    assert clean_lines("上一页的末句。\f下一页的首句。") == ["上一页的末句。", "下一页的首句。"]


# ------------------------------------------------------------------ infer_front


def test_infer_front_title_unit_date_and_closing_author():
    found, rest = infer_front(lines(
        "关于社区党建的报告", "中共东湖街道工作委员会", "2022年3月", "一、基本情况", "正文。", "作者：王晓红"))
    assert found == {"title": "关于社区党建的报告", "unit": "中共东湖街道工作委员会",
                     "date": "2022-03", "author": "王晓红"}
    assert [ln.text for ln in rest] == ["一、基本情况", "正文。"]


def test_infer_front_subtitle_bracketed_date_and_closing_scribe():
    found, rest = infer_front(lines(
        "关于社区党建的报告", "——东湖街道的实践", "（2022年3月5日）", "中共东湖街道工作委员会",
        "正文一段。", "（执笔：李明）"))
    assert found == {"title": "关于社区党建的报告——东湖街道的实践", "date": "2022-03-05",
                     "unit": "中共东湖街道工作委员会", "author": "李明"}
    assert [ln.text for ln in rest] == ["正文一段。"]


def test_infer_front_closing_author_then_date():
    found, rest = infer_front(lines("工作总结", "今年以来，支部认真组织学习。", "执笔人：李明", "2021年12月"))
    assert found == {"title": "工作总结", "author": "李明", "date": "2021-12"}
    assert [ln.text for ln in rest] == ["今年以来，支部认真组织学习。"]


def test_infer_front_does_not_take_a_sentence_or_heading_as_unit():
    found, rest = infer_front(lines("工作总结", "今年以来，支部认真组织学习。", "一、做法"))
    assert found == {"title": "工作总结"}
    assert [ln.text for ln in rest] == ["今年以来，支部认真组织学习。", "一、做法"]
    found, rest = infer_front(lines("工作总结", "一、基本情况", "正文。"))
    assert found == {"title": "工作总结"}
    assert rest[0].text == "一、基本情况"


def test_infer_front_reads_the_unit_under_a_styled_title():
    """A Word title need not be the first paragraph; the unit is the line *under* it."""
    given = [Line("附件2"), Line("楼宇党建工作报告", is_title=True), Line("中共东湖街道工作委员会"),
             Line("辖区共有商务楼宇八栋，党员三百余名。")]
    found, rest = infer_front(given)
    assert found["title"] == "楼宇党建工作报告"
    assert found.get("unit") == "中共东湖街道工作委员会"
    assert "中共东湖街道工作委员会" not in [ln.text for ln in rest]


def test_infer_front_author_unit_label_is_not_an_author():
    """``作者单位：…`` names the author's organisation, not a person."""
    found, _ = infer_front(lines("工作总结", "今年以来，支部认真组织学习。", "作者单位：东湖街道党工委"))
    assert found.get("author") != "东湖街道党工委"


# Samples written for these tests; the names are fictional.
@pytest.mark.parametrize(("closing", "author"), [
    ("（作 者：张三）", "张三"),  # a space inside the label
    ("作　者：王晓红", "王晓红"),  # an ideographic space
    ("(作者: 张三 李四)", "张三 李四"),  # half-width brackets, a space after the colon, two names
    ("【作者】张三", "张三"),
    ("[执笔：李明]", "李明"),
    ("［执笔人：李明］", "李明"),
    ("〔撰稿〕赵晓", "赵晓"),
    ("执 笔 人：钱多多", "钱多多"),
    ("作者：张三（临江区委组织部）", "张三（临江区委组织部）"),  # the value's own brackets stay
    ("（作者：张三（临江区委组织部））", "张三（临江区委组织部）"),
])
def test_infer_front_closing_author_written_with_spaces_or_brackets(closing, author):
    found, rest = infer_front(lines("工作总结", "今年以来，支部认真组织学习。", closing))
    assert found == {"title": "工作总结", "author": author}
    assert [ln.text for ln in rest] == ["今年以来，支部认真组织学习。"]


@pytest.mark.parametrize("closing", ["（作者：）", "【作者】", "作者们都认为，这样做很好。", "作  者  单  位"])
def test_infer_front_an_author_label_without_a_name_is_body_text(closing):
    found, rest = infer_front(lines("工作总结", "今年以来，支部认真组织学习。", closing))
    assert "author" not in found
    assert rest[-1].text == closing


@pytest.mark.parametrize("line", [
    "作者：" + " " * 3000 + "张三",
    "作者：张" + " " * 3000 + "）x",
    "（" + " " * 3000 + "作者：" + " " * 3000 + "）",
    "【作者" + " " * 3000 + "】x",
    "第 1 页" + " " * 3000 + "，x",
    "2022年3月" + " " * 3000 + "x",
])
def test_long_runs_of_spaces_in_a_closing_line_do_not_hang(line):
    """The front-line patterns are linear-time: a line with 3,000 spaces is read at once."""
    found, _ = infer_front(lines("工作总结", "今年以来，支部认真组织学习。", line))
    assert found["title"] == "工作总结"
    is_debris(line)


def test_infer_front_of_nothing():
    assert infer_front([]) == ({}, [])


# ------------------------------------------------------------------ parse_date


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("2022年3月5日", "2022-03-05"),
        ("2022年3月", "2022-03"),
        ("2022 年 12 月 1 日", "2022-12-01"),
        ("（2021年6月18日）", "2021-06-18"),
        ("发布于2021年12月", "2021-12"),
        ("2022年13月", None),
        ("2022年0月", None),
        ("三月五日", None),
        ("没有日期的句子", None),
    ],
)
def test_parse_date(text, date):
    assert parse_date(text) == date


# ------------------------------------------------------------------ markdown_lines


def test_markdown_lines_heading_levels_and_markup():
    content = (
        "# 报告标题\n\n前言**一段**。\n\n## 一、基本情况\n\n内容。\n\n### （一）建强阵地\n\n做法。\n\n"
        "## 背景\n\n#### 1、细项 ##\n\n---\n\n- 2 -\n\n__结尾__。\n\n## ****\n"
    )
    got = [(ln.text, ln.level) for ln in markdown_lines(content)]
    assert got == [
        ("报告标题", 1),
        ("前言一段。", None),
        ("一、基本情况", 1),
        ("内容。", None),
        ("（一）建强阵地", 2),
        ("做法。", None),
        ("背景", 2),  # no numbering: the number of # decides
        ("1、细项", 3),  # numbering wins over the four #
        ("结尾。", None),
    ]


def test_markdown_lines_build_a_tree():
    content = "## 一、主要做法\n\n### （一）组建联盟\n\n联盟正文。\n\n## 二、成效\n\n成效正文。\n"
    body, sections = build_sections(markdown_lines(content))
    assert [(s.level, s.path_label, s.is_practice) for s in sections] == [
        (1, "一、主要做法", False),
        (2, "一、主要做法 › （一）组建联盟", True),
        (1, "二、成效", True),
    ]
    assert body == "一、主要做法\n（一）组建联盟\n联盟正文。\n二、成效\n成效正文。"


# ------------------------------------------------------------ heading-only sections
FOLDING = lines(
    "社区在去年春天开始这项工作。",          # 0 preamble
    "一、主要做法",                          # 1 heading only
    "（一）摸清需求",                        # 2 heading only
    "1、入户走访",                           # 3
    "网格员挨家挨户登记老人的用餐需求。",
    "2、建立台账",                           # 4
    "台账每月更新一次。",
    "（二）办好食堂",                        # 5
    "食堂由社区和一家餐饮企业合办。",
    "二、成效",                              # 6 has text and a heading-only child
    "一年来食堂供餐三万多人次。",
    "（一）下一步",                          # 7 heading only, nothing below
    "三、附记",                              # 8 heading only, last
)


def test_is_heading_only():
    _, sections = build_sections(FOLDING)
    assert [s.ord for s in sections if is_heading_only(s)] == [1, 2, 7, 8]
    assert is_heading_only({"heading": "二、做法", "text": ""})
    assert not is_heading_only({"heading": "", "text": ""})  # not a heading at all
    assert not is_heading_only({"heading": "二、做法", "text": "有正文。"})


def test_first_text_descendant():
    _, sections = build_sections(FOLDING)
    assert first_text_descendant(sections, 1) == 3  # 一、 → （一） → 1、入户走访
    assert first_text_descendant(sections, 2) == 3
    assert first_text_descendant(sections, 6) is None  # its only child has no text
    assert first_text_descendant(sections, 7) is None
    assert first_text_descendant(sections, 8) is None


def test_fold_heading_only_on_sections_and_on_document_dicts():
    _, sections = build_sections(FOLDING)
    expected = {1: 3, 2: 3, 7: 6, 8: None}  # 7 has nothing below: its parent (with text)
    assert fold_heading_only(sections) == expected
    as_dicts = [{"ord": s.ord, "parent": s.parent, "heading": s.heading, "text": s.text}
                for s in sections]
    assert fold_heading_only(as_dicts) == expected


def test_fold_heading_only_climbs_to_a_parent_that_folds_elsewhere():
    _, sections = build_sections(lines(
        "一、主要做法",        # 0
        "（一）暂缺",          # 1 heading only, nothing below
        "（二）结对帮扶",      # 2
        "党员与困难家庭结对。",
    ))
    assert fold_heading_only(sections) == {0: 2, 1: 2}


def test_fold_heading_only_of_a_document_without_headings():
    _, sections = build_sections(lines("只有一段正文，没有任何标题。"))
    assert fold_heading_only(sections) == {}
    assert fold_heading_only([]) == {}
