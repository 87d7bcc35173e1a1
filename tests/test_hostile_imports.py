"""Hostile and malformed files: every importer either returns a document or raises ImportRejected
with a reason, in time linear in the file and with bounded memory (issue 10, items 1–3).

The pathological inputs are sized so that the patterns and readers they replaced would take
minutes or gigabytes; no test measures time: one that hangs is the failure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from kb.errors import ImportRejected
from kb.importers import parse_bytes
from kb.structure import (
    build_sections,
    clean_lines,
    first_text_descendant,
    fold_heading_only,
    heading_level,
    markdown_lines,
)

LONG = 30_000  # 3,000 spaces took the old heading pattern 35 s; it was cubic


def md(text: str) -> bytes:
    return text.encode("utf-8")


def rejected(data: bytes, name: str) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        parse_bytes(data, Path(name))
    assert caught.value.message and re.search(r"[\u4e00-\u9fff]", caught.value.message)
    assert caught.value.path == name
    return caught.value


# ------------------------------------------------------------------ 1. regular expressions
_OLD_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")  # the cubic pattern, for reference


def test_markdown_heading_with_a_long_run_of_spaces_is_read_in_linear_time():
    inner = "a" + " " * LONG + "b"
    doc = parse_bytes(md(f"# 标题\n\n## {inner}\n\n正文。\n"), Path("spaces.md"))
    assert doc.title == "标题"
    assert [(s.level, s.heading) for s in doc.sections] == [(2, inner)]
    assert doc.sections[0].text == "正文。"
    # and the same with closing hashes, tabs and ideographic spaces
    spaces, wide = " " * LONG, "\u3000" * LONG
    lines = markdown_lines(f"### x{spaces}\t##  \n#{spaces}\n##{wide}y")
    assert [(ln.text, ln.level) for ln in lines] == [("x", 3), ("y", 2)]


def _old_markdown_lines(content: str) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    for text in clean_lines(content):
        if re.fullmatch(r"#{1,6}", text):
            continue
        m = _OLD_MD_HEADING.match(text)
        if m:
            inner = m.group(2).replace("**", "").strip()
            if inner:
                out.append((inner, heading_level(inner) or len(m.group(1))))
            continue
        out.append((text.replace("**", "").replace("__", ""), None))
    return out


@hsettings(max_examples=300, deadline=None)
@given(st.text(alphabet="#\n \t\u3000\x1cab*_1、", max_size=24))
def test_markdown_headings_read_as_the_old_pattern_read_them(text):
    """On short lines, where the old pattern was fast, the new reading is the same."""
    assert [(ln.text, ln.level) for ln in markdown_lines(text)] == _old_markdown_lines(text)


@pytest.mark.parametrize("line, field, value", [
    ("作者：" + " " * LONG + "张三", "author", "张三"),
    ("（执笔：张三" + " " * LONG + "）", "author", "张三"),
    ("【作者】" + "\u3000" * LONG + "李四", "author", "李四"),
    ("作者单位：" + " " * LONG + "东湖街道", "unit", "东湖街道"),
])
def test_closing_labelled_lines_with_long_runs_of_spaces(line, field, value):
    text = f"工作总结\n\n一、做法\n建立服务联盟。\n{line}\n"
    doc = parse_bytes(text.encode("utf-8"), Path("closing.txt"))
    assert getattr(doc, field) == value


@pytest.mark.parametrize("filler", [" ", "\u3000", "\t", "-", "#", "?", "？", "(", "（", "1", "年", "·", "*"])
@pytest.mark.parametrize("prefix", ["", "# ", "## 1、", "第 1 页", "page 1", "1 /", "2022年3月", "（2022年",
                                    "作者：", "（执笔", "【作者", "作者单位：", "一、", "（一）", "1、", "党",
                                    "区(", "- ", "---"])
def test_pathological_lines_parse_or_are_rejected(prefix, filler):
    """Every regular expression over imported text, fed long runs of what it repeats."""
    line = prefix + filler * 10_000 + "x"
    for name, data in (("p.md", f"# 标题\n\n{line}\n\n正文。\n{line}\n"),
                       ("p.txt", f"标题\n{line}\n正文。\n{line}\n")):
        try:
            doc = parse_bytes(data.encode("utf-8"), Path(name))
        except ImportRejected:
            continue
        assert doc.body


def test_front_matter_fences_with_long_runs():
    data = md("---\ntitle: 标题" + " " * LONG + "\n---" + " " * LONG + "\n正文。\n")
    assert parse_bytes(data, Path("fence.md")).title == "标题"
    rejected(md("---" + " " * LONG + "\n" + "\n---" * 10_000 + " " * LONG + "x"), "fence.md")


def test_many_empty_headings_fold_in_linear_time():
    lines = ["# 总标题"] + [f"## 标题{i}" for i in range(15_000)] + ["正文。"]
    _, sections = build_sections(markdown_lines("\n".join(lines)))
    last = len(sections) - 1
    folds = fold_heading_only(sections)
    assert len(folds) == last and set(folds.values()) == {last}
    assert first_text_descendant(sections, 0) == last


def test_fold_heading_only_agrees_with_first_text_descendant():
    text = "# 一\n## 二\n正文甲。\n## 三\n# 四\n## 五\n### 六\n正文乙。\n# 七\n"
    _, sections = build_sections(markdown_lines(text))
    folds = fold_heading_only(sections)
    for s in sections:
        if s.ord in folds and first_text_descendant(sections, s.ord) is not None:
            assert folds[s.ord] == first_text_descendant(sections, s.ord)
    assert folds[sections[-1].ord] is None


def test_too_many_sections_are_rejected():
    text = "\n".join(f"## 标题{i}\n正文{i}。" for i in range(25_000))
    assert "标题过多" in rejected(md(f"# 标题\n\n{text}\n"), "many.md").message
