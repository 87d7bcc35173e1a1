"""Hostile and malformed files: every importer either returns a document or raises ImportRejected
with a reason, in time linear in the file and with bounded memory (issue 10, items 1–3).

The pathological inputs are sized so that the patterns and readers they replaced would take
minutes or gigabytes; no test measures time: one that hangs is the failure.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from hongxian.cli import main
from kb.errors import ImportRejected
from kb.importers import docx as docx_importer
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


# ------------------------------------------------------------------ 2. YAML front matter
BILLION_LAUGHS = """---
title: 标题
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
---
正文。
"""


def test_billion_laughs_front_matter_is_rejected(kb, tmp_path):
    error = rejected(md(BILLION_LAUGHS), "laughs.md")
    assert "锚点" in error.message and error.line == 3
    path = tmp_path / "laughs.md"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    report = kb.imports.ingest([path])
    assert [item.status for item in report.items] == ["rejected"]
    assert kb.documents.all_ids() == []


@pytest.mark.parametrize("front, words", [
    ("x: " + "[" * 200 + "]" * 200, "嵌套过深"),
    ("x:\n" + "".join("  " * i + "- \n" for i in range(1, 40)), "嵌套过深"),
    ("x: [" + "1, " * 6_000 + "]", "值过多"),
    ("x: " + "长" * 70_000, "过大"),
    ("x: &only 1\ny: 2", "锚点"),
    ("x: !!binary aGVsbG8=", "二进制"),
    ("x: !!set {a, b}", "集合"),
])
def test_costly_or_unsupported_front_matter_is_rejected(kb, tmp_path, front, words):
    text = f"---\ntitle: 标题\n{front}\n---\n正文。\n"
    assert words in rejected(md(text), "front.md").message
    path = tmp_path / "front.md"
    path.write_text(text, encoding="utf-8")
    assert [item.status for item in kb.imports.ingest([path]).items] == ["rejected"]
    assert kb.documents.all_ids() == []


@pytest.mark.parametrize("value", ["0x_", "0b_", "-0x_", "1" * 5_000])
def test_numbers_yaml_cannot_convert_are_rejected_at_their_line(value):
    error = rejected(md(f"---\ntitle: 标题\nx: {value}\n---\n正文。\n"), "number.md")
    assert "YAML" in error.message and error.line == 3


def test_non_finite_floats_keep_the_text_written():
    text = "---\ntitle: 标题\nscore: .nan\nhigh: .inf\nlow: -.Inf\nbig: 1.0e+999\nok: 1.5\nn: [.NaN]\n---\n正文。\n"
    doc = parse_bytes(md(text), Path("nan.md"))
    assert doc.extra == {"score": ".nan", "high": ".inf", "low": "-.Inf", "big": "1.0e+999",
                         "ok": 1.5, "n": [".NaN"]}
    json.dumps(doc.extra, allow_nan=False)


def test_explicit_timestamps_stay_text_and_are_validated():
    doc = parse_bytes(md("---\ntitle: 标题\nwhen: !!timestamp 不是日期\n---\n正文。\n"), Path("t.md"))
    assert doc.extra == {"when": "不是日期"}
    assert "日期" in rejected(md("---\ntitle: 标题\ndate: !!timestamp 2021-13-45\n---\n正文。\n"),
                            "t.md").message


def _strict(text: str) -> object:
    def refuse(constant: str) -> object:
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_kb_show_json_is_strict_json_for_nan_front_matter(runner, tmp_path):
    path = tmp_path / "nan.md"
    path.write_text("---\nid: nan-doc\ntitle: 标题\nscore: .nan\nrank: .inf\n---\n正文。\n", encoding="utf-8")

    def kb(*args: str):
        return runner.invoke(main, ["--data-dir", str(tmp_path / "data"), *args], catch_exceptions=False)

    assert kb("ingest", str(path)).exit_code == 0
    shown = kb("show", "nan-doc", "--json")
    assert shown.exit_code == 0
    data = _strict(shown.output)
    assert data["extra"]["score"] == ".nan" and data["extra"]["rank"] == ".inf"


def test_a_closing_fence_that_is_the_opening_one_is_rejected():
    assert "结束" in rejected(md("\n\n\n\n---\ntitle: 标题\n"), "fence.md").message


# ------------------------------------------------------------------ 3. Word files
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


@pytest.fixture
def good_docx(make_docx) -> bytes:
    return make_docx("good.docx", [("标题", "Title"), ("一、做法", None), ("建立服务联盟。", None)]).read_bytes()


def replace_members(data: bytes, members: dict[str, bytes]) -> bytes:
    """The same .docx with some members replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename not in members:
                target.writestr(info, source.read(info))
        for name, blob in members.items():
            target.writestr(name, blob)
    return out.getvalue()


def document_xml(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body}</w:body></w:document>'.encode()


def paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def test_a_good_docx_still_reads(good_docx):
    doc = parse_bytes(good_docx, Path("good.docx"))
    assert doc.title == "标题" and doc.sections[0].text == "建立服务联盟。"


def test_a_docx_that_is_not_a_zip_is_rejected():
    assert "zip" in rejected(b"PK\x03\x04 not really a zip" * 10, "fake.docx").message
    rejected("标题\n正文".encode(), "text.docx")


def test_40_mb_of_paragraphs_in_a_small_docx_is_rejected(good_docx):
    body = paragraph("段落") * 1_200_000  # ~40 MB of XML, ~100 KB compressed
    data = replace_members(good_docx, {"word/document.xml": document_xml(body)})
    assert len(data) < 1_000_000
    assert "过大" in rejected(data, "big.docx").message


def test_a_zip_bomb_member_is_rejected(good_docx, monkeypatch):
    monkeypatch.setattr(docx_importer, "MAX_UNCOMPRESSED", 4 * 1024 * 1024)
    data = replace_members(good_docx, {"word/media/bomb.bin": bytes(8 * 1024 * 1024)})
    assert "过大" in rejected(data, "bomb.docx").message


def test_a_member_larger_than_it_declares_is_rejected(good_docx):
    data = bytearray(replace_members(good_docx, {"word/media/x.bin": bytes(1024 * 1024)}))
    central = data.index(b"PK\x01\x02")
    entry = data.rindex(b"PK\x01\x02", 0, data.index(b"word/media/x.bin", central))
    data[entry + 24:entry + 28] = struct.pack("<I", 100)  # its central directory entry says 100 bytes
    rejected(bytes(data), "liar.docx")


def test_a_huge_text_node_is_rejected(good_docx):
    data = replace_members(good_docx, {"word/document.xml": document_xml(paragraph("字" * 2_000_000))})
    assert "过长" in rejected(data, "node.docx").message
    data = replace_members(good_docx, {"word/document.xml": document_xml(paragraph("a" * 20_000_000))})
    assert "过大" in rejected(data, "node.docx").message


@pytest.mark.parametrize("xml, words", [
    (b"<w:document", "格式错误"),
    (b"\x00\x01\x02", "格式错误"),
    (document_xml("<w:p>" * 300 + "</w:p>" * 300), "嵌套过深"),
    (document_xml("<w:p>" * 1_000 + "</w:p>" * 1_000), "嵌套过深"),
    (b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
     b'<w:document ' + W.encode() + b"><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>",
     "DTD"),
    (document_xml('<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val="2000000000"/></w:tcPr>'
                  + paragraph("格") + "</w:tc></w:tr></w:tbl>"), "跨列"),
])
def test_malformed_or_hostile_xml_is_rejected(good_docx, xml, words):
    data = replace_members(good_docx, {"word/document.xml": xml})
    assert words in rejected(data, "bad.docx").message


def test_comments_and_merged_cells_in_the_body_read(good_docx):
    rows = "".join(
        "<w:tr><w:tc>" + ('<w:tcPr><w:vMerge w:val="restart"/></w:tcPr>' + paragraph("类别") if i == 0
                          else "<w:tcPr><w:vMerge/></w:tcPr><w:p/>")
        + f"</w:tc><w:tc>{paragraph(f'内容{i}')}</w:tc></w:tr>" for i in range(2_000))
    body = paragraph("标题") + "<!-- a comment -->" + paragraph("一、做法") + f"<w:tbl>{rows}</w:tbl>"
    doc = parse_bytes(replace_members(good_docx, {"word/document.xml": document_xml(body)}), Path("t.docx"))
    lines = doc.sections[0].text.split("\n")
    assert lines[:2] == ["类别　内容0", "类别　内容1"] and len(lines) == 2_000


# ------------------------------------------------------------------ 5. property-based
HYPOTHESIS = hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLE = "---\ntitle: 党建引领\ndate: 2021-06\n---\n# 党建引领\n\n一、主要做法\n（一）建立服务联盟。围绕群众需求，整合资源。\n作者：张三\n"


def parses_or_rejects(data: bytes, name: str) -> None:
    try:
        doc = parse_bytes(data, Path(name))
    except ImportRejected as exc:
        assert exc.message
        return
    assert doc.title and doc.body
    json.dumps(doc.extra, allow_nan=False)


@HYPOTHESIS
@given(st.binary(max_size=2_000), st.sampled_from(["f.md", "f.txt", "f.docx"]))
def test_random_bytes(data, name):
    parses_or_rejects(data, name)


@HYPOTHESIS
@given(st.integers(min_value=1, max_value=len(SAMPLE.encode("gb18030"))),
       st.sampled_from(["utf-8", "gb18030", "utf-16"]), st.sampled_from(["f.md", "f.txt"]))
def test_truncated_text(cut, encoding, name):
    parses_or_rejects(SAMPLE.encode(encoding)[:cut], name)


@HYPOTHESIS
@given(st.text(min_size=1, max_size=8), st.integers(min_value=1, max_value=5_000),
       st.sampled_from(["f.md", "f.txt"]))
def test_huge_single_lines(piece, times, name):
    parses_or_rejects((piece * times).encode("utf-8"), name)
    parses_or_rejects(("# 标题\n\n" + piece * times + "\n").encode("utf-8"), name)


_YAML_BITS = st.sampled_from(["title", "x", ":", ": ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "&a",
                              "*a", "!!", "!!binary", "!!set", "!!timestamp", "!!float", "!!int", "0x",
                              "_", ".nan", ".inf", "1e9", "'", '"', "#", "?", "|", ">", "---", "...",
                              "标题", "2021-13-45", "~", "<<", "%YAML 1.1"])


@HYPOTHESIS
@given(st.lists(_YAML_BITS, max_size=30))
def test_random_front_matter(bits):
    parses_or_rejects(("---\n" + "".join(bits) + "\n---\n正文。\n").encode("utf-8"), "f.md")
    parses_or_rejects(("---\ntitle: 标题\nx: " + "".join(bits) + "\n---\n正文。\n").encode("utf-8"), "f.md")


@hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_docx(good_docx, data):
    blob = bytearray(good_docx)
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        at = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
        blob[at] = data.draw(st.integers(min_value=0, max_value=255))
    parses_or_rejects(bytes(blob[:data.draw(st.integers(min_value=1, max_value=len(blob)))]), "f.docx")


def test_signal_text_with_a_long_run_of_spaces_is_refused_before_matching():
    """The mode form's signal words: an item of 100,000 spaces between two words would make the
    `词 权重` pattern backtrack for hours; it is refused as too long, and normal items still parse."""
    from kb.errors import BadRequest
    from kb.taxonomy import parse_signal_text

    with pytest.raises(BadRequest, match="信号词太长"):
        parse_signal_text("楼道" + " " * 100_000 + "议事")
    assert parse_signal_text("楼道 2, 议事会：1.5、电梯") == {"楼道": 2.0, "议事会": 1.5, "电梯": 1.0}
