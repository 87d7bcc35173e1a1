"""The tests' document builder (tests/builder.py): what a test describes is what gets imported."""

from __future__ import annotations

import pytest
from builder import Doc, write

BODY = """
    一句导语。

    一、主要做法

    （一）搭建平台

    1、设立议事点。每周三晚上居民围坐议事。

    2、请来规划师。规划师把想法画成草图。

    二、成效

    三条小巷完成改造。
"""
HEADINGS = ["", "一、主要做法", "（一）搭建平台", "1、设立议事点", "2、请来规划师", "二、成效"]


@pytest.mark.parametrize("fmt", ["md", "txt", "docx"])
def test_each_format_carries_title_unit_date_author_and_headings(build, fmt):
    doc = Doc(f"t-{fmt}", "以小巷议事带动老街区更新", BODY, unit="梧桐街道工作委员会", author="林一",
              date="2023-05-10", format=fmt)
    built = build([doc])
    with built.kb() as kb:
        got = kb.documents.get(doc.id).to_dict()
    assert (got["title"], got["unit"], got["author"], got["date"]) == (
        doc.title, "梧桐街道工作委员会", "林一", "2023-05-10")
    assert [s["heading"] for s in got["sections"]] == HEADINGS
    assert got["format"] == {"md": "markdown", "txt": "text", "docx": "docx"}[fmt]


def test_markdown_carries_every_field_and_says_it_is_a_fixture(build):
    doc = Doc("t-full", "标题", "正文一段。", type="案例", unit="单位", author="作者", date="2021",
              region="海州市/临江区", domains=["社区", "楼宇"], keywords=["议事"], modes=["枢纽中介型"],
              extra={"note": "备注"})
    assert "测试夹具" in doc.to_bytes().decode("utf-8")
    built = build([doc])
    with built.kb() as kb:
        got = kb.documents.get(doc.id).to_dict()
    assert (got["type"], got["region"], got["domain"], got["keywords"], got["extra"]) == (
        "案例", "海州市/临江区", ["社区", "楼宇"], ["议事"], {"note": "备注"})
    assert got["modes"]["confirmed"] == ["枢纽中介型"] and "测试夹具" in got["source"]


def test_word_headings_from_markdown_marks_and_plain_text_encodings(build, tmp_path):
    word = Doc("t-word", "标题", "导语。\n\n# 第一部分\n\n正文。\n\n## 其中一点\n\n更多正文。", format="docx")
    gbk = Doc("t-gbk", "國標編碼的標題", "一、做法\n\n正文。", format="txt", encoding="gbk")
    built = build([word, gbk])
    with built.kb() as kb:
        sections = kb.documents.get(word.id).to_dict()["sections"]
        assert kb.documents.get(gbk.id).to_dict()["title"] == "國標編碼的標題"
    assert [(s["level"], s["heading"]) for s in sections] == [(0, ""), (1, "第一部分"), (2, "其中一点")]
    assert write([gbk], tmp_path)[0].read_bytes() == "國標編碼的標題\n\n一、做法\n\n正文。\n\n".encode("gbk")


def test_fields_a_format_cannot_carry_are_refused():
    with pytest.raises(ValueError, match="modes"):
        Doc("t-x", "标题", "正文。", modes=["文化嵌入型"], format="txt")
    with pytest.raises(ValueError, match="month"):
        Doc("t-x", "标题", "正文。", date="2021", format="txt")
    with pytest.raises(ValueError, match="format"):
        Doc("t-x", "标题", "正文。", format="pdf")


def test_a_document_the_importer_rejects_fails_the_build(build):
    with pytest.raises(AssertionError, match="rejected"):
        build([Doc("t-bad", "标题", "正文。", modes=["没有的模式"])])
