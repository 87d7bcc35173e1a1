"""Importers through the knowledge base: Markdown, plain text (UTF-8, GBK, BOM), Word, rejections."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from kb.errors import ImportRejected, NotFound
from kb.importers import parse_bytes
from kb.settings import load_settings

DATA = Path(__file__).parent / "data"
TAXONOMY = DATA / "importer_taxonomy.yaml"
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"


@pytest.fixture
def settings(tmp_path):
    """A knowledge base with the importer tests' own two-mode taxonomy."""
    return load_settings(data_dir=tmp_path / "data", overrides={"taxonomy_file": str(TAXONOMY)},
                         environ={})


def ingest_one(kb, path: Path):
    report = kb.imports.ingest([path])
    assert len(report.items) == 1, report.to_dict()
    return report.items[0]


def sections_of(doc: dict) -> list[tuple[int, str, bool]]:
    return [(s["level"], s["path_label"], s["is_practice"]) for s in doc["sections"]]


def snapshot(kb) -> str:
    """Everything stored, as one string: documents with sections and tags, and the change number."""
    docs = [d.to_dict() for d in kb.documents.many(kb.documents.all_ids())]
    return json.dumps({"rev": kb.documents.current_rev(), "docs": docs}, ensure_ascii=False, sort_keys=True)


# ------------------------------------------------------------------ Markdown


def test_markdown_front_matter_fields_all_land_in_the_document(kb):
    item = ingest_one(kb, DATA / "full_front_matter.md")
    assert (item.status, item.doc_id, item.reason) == ("added", "hx-test-full", None)
    doc = kb.documents.get("hx-test-full").to_dict()
    assert doc["title"] == "楼宇党建的探索与实践"
    assert doc["type"] == "经验材料"
    assert doc["unit"] == "东湖街道党工委"
    assert doc["author"] == "陈思远"
    assert doc["date"] == "2021-06-18"
    assert doc["year"] == 2021
    assert doc["region"] == "海州市/东湖区/东湖街道"
    assert doc["domain"] == ["楼宇", "两新组织"]
    assert doc["modes"]["confirmed"] == ["测试服务型"]
    assert doc["keywords"] == ["楼宇党建", "白领服务"]
    assert doc["source"] == "测试材料（自撰）"
    assert doc["extra"] == {"reviewed": True, "batch": 3}
    assert doc["format"] == "markdown"
    assert doc["source_path"] == str(DATA / "full_front_matter.md")


def test_markdown_body_and_sections(kb):
    ingest_one(kb, DATA / "full_front_matter.md")
    doc = kb.documents.get("hx-test-full").to_dict()
    # The "# title" line repeating the front-matter title is not part of the body; ** is dropped.
    assert doc["body"].startswith("东湖街道辖区内商务楼宇集中")
    assert "楼宇党建的探索与实践" not in doc["body"]
    assert "**" not in doc["body"] and "月度联席会" in doc["body"]
    assert sections_of(doc) == [
        (0, "", False),
        (1, "一、主要做法", False),
        (2, "一、主要做法 › （一）组建楼宇联盟", True),
        (2, "一、主要做法 › （二）开设午间课堂", True),
        (1, "二、初步成效", True),
    ]
    for s in doc["sections"][1:]:
        assert doc["body"][s["start"] : s["end"]].startswith(s["heading"])


def test_markdown_id_falls_back_to_file_name_and_title_to_first_heading(kb, tmp_path):
    path = tmp_path / "党课-2022.md"
    path.write_text("# 微党课进楼宇\n\n每周三中午在大堂开讲。\n", encoding="utf-8")
    item = ingest_one(kb, path)
    assert (item.status, item.doc_id) == ("added", "党课-2022")
    doc = kb.documents.get("党课-2022").to_dict()
    assert doc["title"] == "微党课进楼宇"
    assert doc["body"] == "每周三中午在大堂开讲。"
    assert doc["date"] is None and doc["domain"] == [] and doc["extra"] == {}


def test_markdown_lists_given_as_text_are_split(kb, tmp_path):
    path = tmp_path / "lists.md"
    path.write_text("---\ntitle: 列表字段\ndomain: 社区、楼宇；社区\nmodes: 测试服务型, 测试联动型\n---\n正文。\n",
                    encoding="utf-8")
    assert ingest_one(kb, path).status == "added"
    doc = kb.documents.get("lists").to_dict()
    assert doc["domain"] == ["社区", "楼宇"]
    assert sorted(doc["modes"]["confirmed"]) == ["测试服务型", "测试联动型"]


def test_ingest_bytes_and_parse_bytes_agree(kb):
    data = (DATA / "full_front_matter.md").read_bytes()
    parsed = parse_bytes(data, Path("any/where/full_front_matter.md"))
    assert (parsed.id, parsed.title, parsed.format) == ("hx-test-full", "楼宇党建的探索与实践", "markdown")
    item = kb.imports.ingest_bytes(data, Path("upload/full_front_matter.md"))
    assert (item.status, item.doc_id) == ("added", "hx-test-full")
    doc = kb.documents.get("hx-test-full").to_dict()
    assert doc["body"] == parsed.body
    assert [s["heading"] for s in doc["sections"]] == [s.heading for s in parsed.sections]


# ------------------------------------------------------------------ plain text

REPORT_SECTIONS = [
    (1, "一、基本情况", True),
    (1, "二、主要做法", False),
    (2, "二、主要做法 › （一）建强阵地", True),
    (2, "二、主要做法 › （二）完善机制", False),
    (3, "二、主要做法 › （二）完善机制 › 1、建立例会制度", True),
    (3, "二、主要做法 › （二）完善机制 › 2、公开服务承诺", True),
]


def assert_is_the_report(doc: dict) -> None:
    assert doc["title"] == "社区党群服务站建设情况"
    assert doc["unit"] == "中共东湖街道工作委员会"
    assert doc["date"] == "2022-03"
    assert doc["author"] == "王晓红"
    assert sections_of(doc) == REPORT_SECTIONS
    assert doc["body"].startswith("一、基本情况\n街道共有社区党组织十二个")
    assert doc["body"].endswith("在服务站醒目位置公示承诺事项。")
    # Page debris is gone; the title, unit, date and author lines are not in the body.
    for gone in ("- 2 -", "第 1 页", "作者", "社区党群服务站建设情况", "2022年3月"):
        assert gone not in doc["body"]


def test_utf8_text(kb):
    item = ingest_one(kb, DATA / "report.txt")
    assert (item.status, item.doc_id) == ("added", "report")
    doc = kb.documents.get("report").to_dict()
    assert_is_the_report(doc)
    assert doc["format"] == "text"
    assert doc["extra"] == {"encoding": "utf-8"}
    practice = next(s for s in doc["sections"] if s["heading"] == "1、建立例会制度")
    assert practice["text"] == "每月召开一次，及时解决群众反映的问题。"


def test_gbk_text(kb, tmp_path):
    path = tmp_path / "gbk_report.txt"
    path.write_text((DATA / "report.txt").read_text(encoding="utf-8"), encoding="gbk")
    assert ingest_one(kb, path).status == "added"
    doc = kb.documents.get("gbk_report").to_dict()
    assert_is_the_report(doc)
    assert doc["extra"]["encoding"] in ("gbk", "gb18030")
    utf8 = parse_bytes((DATA / "report.txt").read_bytes(), Path("report.txt"))
    assert doc["body"] == utf8.body


def test_short_gbk_note_is_read_as_chinese(kb, tmp_path):
    path = tmp_path / "short_gbk.txt"
    path.write_text("标题\n正文内容。\n", encoding="gbk")
    assert ingest_one(kb, path).status == "added"
    doc = kb.documents.get("short_gbk").to_dict()
    assert doc["title"] == "标题"
    assert doc["body"] == "正文内容。"


def test_utf8_with_bom_text(kb, tmp_path):
    path = tmp_path / "bom_report.txt"
    path.write_text((DATA / "report.txt").read_text(encoding="utf-8"), encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert ingest_one(kb, path).status == "added"
    doc = kb.documents.get("bom_report").to_dict()
    assert "\ufeff" not in doc["title"] and "\ufeff" not in doc["body"]
    assert_is_the_report(doc)


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_traditional_characters_are_kept_as_written(kb, tmp_path, encoding):
    text = (DATA / "traditional.txt").read_text(encoding="utf-8")
    path = tmp_path / "traditional.txt"
    path.write_text(text, encoding=encoding)
    assert ingest_one(kb, path).status == "added"
    doc = kb.documents.get("traditional").to_dict()
    assert doc["title"] == "社區黨建工作紀實"
    assert doc["unit"] == "東湖街道黨工委"
    assert doc["body"] == "一、組織建設\n各社區黨組織每月召開一次組織生活會。"
    assert sections_of(doc) == [(1, "一、組織建設", True)]


def test_text_with_crlf_form_feeds_and_no_headings(kb, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("学习心得\r\n通过学习，我深受教育。\r\n\f- 2 -\r\n今后要把学到的用到工作中。\r\n".encode())
    assert ingest_one(kb, path).status == "added"
    doc = kb.documents.get("notes").to_dict()
    assert doc["title"] == "学习心得"
    assert doc["body"] == "通过学习，我深受教育。\n今后要把学到的用到工作中。"
    assert sections_of(doc) == [(0, "", True)]


def test_closing_author_line_in_brackets_fills_author_and_leaves_the_body(kb, tmp_path, make_docx):
    """Sample text written for this test; the people are fictional."""
    path = tmp_path / "closing.txt"
    path.write_text("工作总结\n今年以来，支部认真组织学习。\n（作 者：张三）\n", encoding="utf-8")
    ingest_one(kb, path)
    doc = kb.documents.get("closing").to_dict()
    assert (doc["author"], doc["body"]) == ("张三", "今年以来，支部认真组织学习。")
    word = make_docx("closing-word.docx", [("工作总结", "Title"), ("今年以来，支部认真组织学习。", None),
                                           ("【作者】李四 王五", None)])
    ingest_one(kb, word)
    doc = kb.documents.get("closing-word").to_dict()
    assert (doc["author"], doc["body"]) == ("李四 王五", "今年以来，支部认真组织学习。")


def test_a_3000_space_line_imports(kb, tmp_path):
    path = tmp_path / "spaces.txt"
    path.write_text("工作总结\n今年以来，支部认真组织学习。\n作者：" + " " * 3000 + "张三\n", encoding="utf-8")
    assert ingest_one(kb, path).status == "added"
    assert kb.documents.get("spaces").to_dict()["author"] == "张三"


# ------------------------------------------------------------------ web-text clean-up
# The texts below are fictional samples written for these tests.
PINYIN_SAMPLE = ("区域化党建样例\n临江区样例街道\n推进區(qū)域化黨(dǎng)建，促进發(fā)展。\n"
                 "社区\ufffd\ufffd服务和党建??工作有序推进。\n（一）建立制度(2021)（试行）\n")


def test_pinyin_debris_is_removed_mojibake_flagged_and_both_reported(kb, tmp_path):
    path = tmp_path / "web-copy.txt"
    path.write_text(PINYIN_SAMPLE, encoding="utf-8")
    item = ingest_one(kb, path)
    assert item.status == "added"
    assert item.cleanup == [
        {"kind": "pinyin", "action": "removed", "count": 3, "line": 3, "example": "區(qū)域→區域"},
        {"kind": "mojibake", "action": "flagged", "count": 2, "line": 4, "example": "社区��服务和党"},
    ]
    assert item.cleanup_note() == "已清理：拼音注音 3 处（第 3 行起）；请核对：疑似乱码 2 处（第 4 行起）"
    body = kb.documents.get("web-copy").to_dict()["body"]
    assert "推进區域化黨建，促进發展。" in body
    assert "社区\ufffd\ufffd服务和党建??工作" in body  # flagged, never changed
    assert "（一）建立制度(2021)（试行）" in body  # legitimate parentheses stay
    again = ingest_one(kb, path)
    assert (again.status, again.cleanup) == ("unchanged", [])


def test_clean_text_reports_nothing_for_clean_text(kb, tmp_path):
    path = tmp_path / "clean.txt"
    path.write_text("工作简报\n本周开展志愿服务(2次)，参加党员(party members)十二名。\n", encoding="utf-8")
    item = ingest_one(kb, path)
    assert (item.status, item.cleanup, item.cleanup_note()) == ("added", [], "")
    assert "(2次)" in kb.documents.get("clean").to_dict()["body"] and "(party members)" in kb.documents.get("clean").to_dict()["body"]


def test_pinyin_in_markdown_front_matter_and_body_with_file_line_numbers(kb, tmp_path):
    path = tmp_path / "md-copy.md"
    path.write_text("---\ntitle: 區(qū)域化党建样例\n---\n\n一、做法\n\n党(dǎng)建引领。\n", encoding="utf-8")
    item = ingest_one(kb, path)
    assert item.cleanup[0]["kind"] == "pinyin" and item.cleanup[0]["count"] == 2
    assert item.cleanup[0]["line"] == 2
    doc = kb.documents.get("md-copy").to_dict()
    assert doc["title"] == "區域化党建样例" and doc["body"] == "一、做法\n党建引领。"


def test_pinyin_in_word_paragraphs_is_reported_by_paragraph(kb, make_docx):
    path = make_docx("word-copy.docx", [("區(qū)域化党建样例", "Title"), ("临江区样例街道", None),
                                        ("党(dǎng)建引领，区(qu)域联动。", None)])
    item = ingest_one(kb, path)
    assert item.cleanup == [{"kind": "pinyin", "action": "removed", "count": 3, "line": 1,
                             "example": "區(qū)域→區域"}]
    assert item.cleanup_note() == "已清理：拼音注音 3 处（第 1 段起）"
    doc = kb.documents.get("word-copy").to_dict()
    assert (doc["title"], doc["body"]) == ("區域化党建样例", "党建引领，区域联动。")


def test_utf8_read_as_gbk_is_flagged(kb, tmp_path):
    garbled = "党建工作有序推进".encode().decode("gbk", errors="replace")
    path = tmp_path / "garbled.txt"
    path.write_text(f"样例标题\n{garbled}\n正文一段。\n", encoding="utf-8")
    item = ingest_one(kb, path)
    assert [(e["kind"], e["action"], e["line"]) for e in item.cleanup] == [("utf8_as_gbk", "flagged", 2)]
    assert "疑似编码错乱 1 处（第 2 行）" in item.cleanup_note()


# ------------------------------------------------------------------ the original bytes


def test_the_original_file_is_kept_byte_for_byte(kb, tmp_path, make_docx):
    gbk = tmp_path / "gbk-copy.txt"
    gbk.write_bytes(PINYIN_SAMPLE.replace("\ufffd", "").encode("gbk", errors="strict"))
    md = tmp_path / "md-original.md"
    md.write_text("---\ntitle: 區(qū)域化党建样例\n---\n\n党(dǎng)建引领。\n", encoding="utf-8-sig")
    word = make_docx("word-original.docx", [("區(qū)域化党建样例", "Title"), ("党(dǎng)建引领。", None)])
    report = kb.imports.ingest([gbk, md, word])
    assert [i.status for i in report.items] == ["added"] * 3
    types = {
        "gbk-copy": "text/plain; charset=gb18030",
        "md-original": "text/markdown; charset=utf-8",
        "word-original": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }
    for path, doc_id in ((gbk, "gbk-copy"), (md, "md-original"), (word, "word-original")):
        original, data = kb.documents.original(doc_id)
        assert data == path.read_bytes()
        assert (original.name, original.media_type) == (path.name, types[doc_id])
        assert original.size == len(path.read_bytes())
        assert original.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        doc = kb.documents.get(doc_id).to_dict()
        assert doc["original"] == original.to_dict()
        assert doc["cleanup"] and doc["cleanup"][0]["kind"] == "pinyin"  # kept with the document
        assert "(qū)" not in doc["title"] + doc["body"]


def test_reimporting_keeps_or_replaces_the_original_and_removing_drops_it(kb, tmp_path):
    path = tmp_path / "case.txt"
    path.write_text(PINYIN_SAMPLE, encoding="utf-8")
    ingest_one(kb, path)
    before = snapshot(kb)
    assert ingest_one(kb, path).status == "unchanged"
    assert snapshot(kb) == before
    path.write_text(PINYIN_SAMPLE + "补充一段。\n", encoding="utf-8")
    assert ingest_one(kb, path).status == "updated"
    assert kb.documents.original("case")[1] == path.read_bytes()
    kb.documents.remove("case")
    assert kb.conn.execute("SELECT COUNT(*) FROM originals").fetchone()[0] == 0
    with pytest.raises(NotFound):
        kb.documents.original("case")


def test_a_rejected_file_stores_no_original(kb, tmp_path):
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: [unclosed\n---\n正文\n", encoding="utf-8")
    assert ingest_one(kb, path).status == "rejected"
    assert kb.conn.execute("SELECT COUNT(*) FROM originals").fetchone()[0] == 0


def test_the_sample_corpus_needs_no_cleanup(corpus_copy):
    for path in sorted(corpus_copy.iterdir()):
        assert parse_bytes(path.read_bytes(), path).cleanup == [], path.name


# ------------------------------------------------------------------ Word


def test_docx_styles_give_title_and_heading_levels(kb, make_docx):
    path = make_docx("楼宇.docx", [
        ("楼宇党建工作报告", "Title"),
        ("中共东湖街道工作委员会", None),
        ("总体情况", "Heading 1"),
        ("辖区共有商务楼宇八栋，党员三百余名。", None),
        ("主要做法", "Heading 1"),
        ("组建楼宇党委", "Heading 2"),
        ("吸纳驻楼企业党组织，轮流主持联席会。", None),
        ("开设午间课堂", "Heading 2"),
        ("每周三中午举办微党课。", None),
        ("作者：陈思远", None),
    ])
    item = ingest_one(kb, path)
    assert (item.status, item.doc_id) == ("added", "楼宇")
    doc = kb.documents.get("楼宇").to_dict()
    assert doc["format"] == "docx"
    assert doc["title"] == "楼宇党建工作报告"
    assert doc["unit"] == "中共东湖街道工作委员会"
    assert doc["author"] == "陈思远"
    assert sections_of(doc) == [
        (1, "总体情况", True),
        (1, "主要做法", False),
        (2, "主要做法 › 组建楼宇党委", True),
        (2, "主要做法 › 开设午间课堂", True),
    ]
    assert "作者" not in doc["body"] and "楼宇党建工作报告" not in doc["body"]


def test_docx_numbered_normal_paragraphs_are_headings_too(kb, make_docx):
    path = make_docx("numbered.docx", [
        ("社区议事会工作情况", "Title"),
        ("一、基本情况", None),
        ("社区每月召开议事会。", None),
        ("（一）议题征集", None),
        ("通过楼组长收集居民意见。", None),
    ])
    assert ingest_one(kb, path).status == "added"
    assert sections_of(kb.documents.get("numbered").to_dict()) == [
        (1, "一、基本情况", False),
        (2, "一、基本情况 › （一）议题征集", True),
    ]


def test_docx_unit_is_the_line_under_a_title_that_is_not_first(kb, make_docx):
    path = make_docx("attachment.docx", [
        ("附件2", None),
        ("楼宇党建工作报告", "Title"),
        ("中共东湖街道工作委员会", None),
        ("辖区共有商务楼宇八栋，党员三百余名。", None),
    ])
    assert ingest_one(kb, path).status == "added"
    doc = kb.documents.get("attachment").to_dict()
    assert doc["title"] == "楼宇党建工作报告"
    assert doc["unit"] == "中共东湖街道工作委员会"


def test_docx_table_rows_become_body_lines(kb, make_docx):
    import docx

    path = make_docx("table.docx", [
        ("楼宇党组织情况", "Title"),
        ("一、基本情况", "Heading 1"),
        ("辖区楼宇情况见下表。", None),
    ])
    document = docx.Document(path)
    table = document.add_table(rows=3, cols=2)
    for r, row in enumerate([("楼宇", "党员数"), ("金融大厦", "32"), ("科创中心", "18")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    merged = document.add_table(rows=1, cols=2)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "合计五十名"
    document.add_paragraph("表中数据截至年底。")
    document.save(path)

    assert ingest_one(kb, path).status == "added"
    doc = kb.documents.get("table").to_dict()
    body_lines = doc["body"].split("\n")
    assert body_lines == ["一、基本情况", "辖区楼宇情况见下表。", "楼宇\u3000党员数", "金融大厦\u300032",
                          "科创中心\u300018", "合计五十名", "表中数据截至年底。"]
    practice = doc["sections"][0]
    assert practice["is_practice"] and "金融大厦\u300032" in practice["text"]


# ------------------------------------------------------------------ rejections

BAD_FILES = [
    # (file name, contents, words the reason must contain)
    ("case.txt", b"", ["文件为空"]),
    ("case.md", b"", ["文件为空"]),
    ("case.txt", b"   \n\t\r\n  \n", ["文件为空"]),
    ("case.docx", b" \n ", ["文件为空"]),
    ("case.txt", PNG_HEADER + b"\x00" * 64, ["二进制"]),
    ("case.docx", random.Random(7).randbytes(2048), [".docx"]),
    ("case.md", "---\ntitle: 坏头部\nunit: 东湖: 街道\n---\n正文。\n".encode(), ["YAML"]),
    ("case.md", "---\n- 标题\n- 单位\n---\n# 标题\n\n正文。\n".encode(), ["映射"]),
    ("case.md", "---\ntitle: 没有结束\n正文。\n".encode(), ["---"]),
    ("case.md", "---\ntitle: 日期\ndate: 2021-13-40\n---\n正文。\n".encode(), ["日期", "2021-13-40"]),
    ("case.md", "---\ntitle: 日期\ndate: '2021-13-40'\n---\n正文。\n".encode(), ["日期", "2021-13-40"]),
    ("case.md", "---\ntitle: 日期\ndate: '2021-02-30'\n---\n正文。\n".encode(), ["日期", "2021-02-30"]),
    ("case.md", "---\ntitle: 只有标题\n---\n".encode(), ["正文"]),
    ("case.txt", "只有一行标题\n".encode(), ["正文"]),
    ("case.md", "---\ntitle: 领域\ndomain: {社区: 1}\n---\n正文。\n".encode(), ["domain"]),
    ("case.md", "---\nid: 坏 编号!\ntitle: 编号\n---\n正文。\n".encode(), ["编号"]),
]
BAD_IDS = ["empty-txt", "empty-md", "whitespace-txt", "whitespace-docx", "png-as-txt", "random-docx",
           "bad-yaml", "list-front-matter", "unterminated-front-matter", "bad-date-unquoted",
           "bad-date-quoted", "impossible-day", "no-body-md", "title-only-txt", "domain-mapping",
           "bad-id"]


@pytest.fixture
def stored(kb, tmp_path):
    """A knowledge base holding one document, ``case``, and a snapshot of everything stored."""
    path = tmp_path / "stored" / "case.md"
    path.parent.mkdir()
    path.write_text("---\ntitle: 原有文档\nmodes: [测试服务型]\n---\n## 一、做法\n\n开设午间课堂。\n",
                    encoding="utf-8")
    assert ingest_one(kb, path).status == "added"
    return kb.documents.get("case").to_dict(), snapshot(kb)


@pytest.mark.parametrize(("name", "data", "words"), BAD_FILES, ids=BAD_IDS)
def test_bad_file_is_rejected_and_changes_nothing(kb, stored, tmp_path, name, data, words):
    before_doc, before = stored
    path = tmp_path / "incoming" / name
    path.parent.mkdir()
    path.write_bytes(data)
    item = ingest_one(kb, path)
    assert item.status == "rejected", item
    assert item.doc_id is None
    for word in words:
        assert word in item.reason
    assert kb.documents.count() == 1
    assert kb.documents.get("case").to_dict() == before_doc
    assert snapshot(kb) == before


@pytest.mark.parametrize(("name", "data", "words"), BAD_FILES, ids=BAD_IDS)
def test_bad_bytes_are_rejected_by_ingest_bytes_and_parse_bytes(kb, stored, name, data, words):
    _, before = stored
    item = kb.imports.ingest_bytes(data, Path(name))
    assert item.status == "rejected" and item.reason
    with pytest.raises(ImportRejected) as excinfo:
        parse_bytes(data, Path(name))
    assert excinfo.value.message and excinfo.value.path == name
    assert snapshot(kb) == before


def test_malformed_yaml_gives_the_line_of_the_error(kb, tmp_path):
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: 坏头部\nunit: 东湖: 街道\ntype: 经验\n---\n正文。\n", encoding="utf-8")
    item = ingest_one(kb, path)
    assert item.status == "rejected"
    assert "YAML" in item.reason
    assert item.line == 3  # the "unit:" line, counting the opening --- as line 1
    assert kb.documents.count() == 0


def test_unterminated_front_matter_points_at_line_one(kb, tmp_path):
    path = tmp_path / "open.md"
    path.write_text("---\ntitle: 没有结束\n正文。\n", encoding="utf-8")
    item = ingest_one(kb, path)
    assert (item.status, item.line) == ("rejected", 1)


def test_unknown_mode_is_rejected_with_the_valid_modes(kb, stored, tmp_path):
    before_doc, before = stored
    path = tmp_path / "case.md"
    path.write_text("---\ntitle: 原有文档\nmodes: [测试服务型, 不存在的模式]\n---\n正文。\n", encoding="utf-8")
    item = ingest_one(kb, path)
    assert item.status == "rejected"
    assert "不存在的模式" in item.reason
    valid = kb.modes.taxonomy().names()
    assert valid == ["测试服务型", "测试联动型"]
    for name in valid:
        assert name in item.reason
    assert kb.documents.get("case").to_dict() == before_doc
    assert snapshot(kb) == before


def test_unsupported_extension_given_explicitly(kb, stored, tmp_path):
    _, before = stored
    path = tmp_path / "case.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    item = ingest_one(kb, path)
    assert item.status == "rejected"
    assert ".pdf" in item.reason and "不支持" in item.reason
    assert snapshot(kb) == before
    with pytest.raises(ImportRejected) as excinfo:
        parse_bytes(b"%PDF-1.4\n", Path("case.pdf"))
    for ext in (".md", ".txt", ".docx"):
        assert ext in excinfo.value.message


def test_unsupported_files_inside_a_folder_are_ignored_not_rejected(kb, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4\n")
    (folder / "note.txt").write_text("笔记\n正文一句。\n", encoding="utf-8")
    report = kb.imports.ingest([folder])
    assert report.counts() == {"added": 1, "updated": 0, "unchanged": 0, "rejected": 0, "ignored": 1}
    assert report.ignored == [str(folder / "scan.pdf")]


def test_missing_path_is_rejected(kb, stored, tmp_path):
    _, before = stored
    item = ingest_one(kb, tmp_path / "no-such-file.txt")
    assert item.status == "rejected"
    assert "不存在" in item.reason
    assert snapshot(kb) == before


def test_same_id_twice_in_one_batch(kb, tmp_path):
    first, second = tmp_path / "a.md", tmp_path / "b.md"
    first.write_text("---\nid: same\ntitle: 第一份\n---\n正文一。\n", encoding="utf-8")
    second.write_text("---\nid: same\ntitle: 第二份\n---\n正文二。\n", encoding="utf-8")
    report = kb.imports.ingest([first, second])
    assert [i.status for i in report.items] == ["added", "rejected"]
    assert "same" in report.items[1].reason and str(first) in report.items[1].reason
    assert kb.documents.count() == 1
    assert kb.documents.get("same").to_dict()["title"] == "第一份"


def test_same_id_twice_in_one_batch_when_the_first_is_unchanged(kb, tmp_path):
    first, second = tmp_path / "a.md", tmp_path / "b.md"
    first.write_text("---\nid: same\ntitle: 第一份\n---\n正文一。\n", encoding="utf-8")
    second.write_text("---\nid: same\ntitle: 第二份\n---\n正文二。\n", encoding="utf-8")
    assert ingest_one(kb, first).status == "added"
    before = snapshot(kb)
    report = kb.imports.ingest([first, second])
    assert [i.status for i in report.items] == ["unchanged", "rejected"]
    assert kb.documents.get("same").to_dict()["title"] == "第一份"
    assert snapshot(kb) == before


# ------------------------------------------------------------------ re-ingesting


def test_reingesting_an_unchanged_file_changes_nothing(kb, tmp_path):
    path = tmp_path / "case.txt"
    path.write_text("工作简报\n本周开展志愿服务两次。\n", encoding="utf-8")
    assert ingest_one(kb, path).status == "added"
    before_doc, before = kb.documents.get("case").to_dict(), snapshot(kb)
    item = ingest_one(kb, path)
    assert (item.status, item.doc_id) == ("unchanged", "case")
    assert kb.documents.get("case").to_dict() == before_doc
    assert kb.documents.get("case").to_dict()["rev"] == before_doc["rev"]
    assert snapshot(kb) == before


def test_editing_a_file_updates_the_document(kb, tmp_path):
    path = tmp_path / "case.txt"
    path.write_text("工作简报\n本周开展志愿服务两次。\n", encoding="utf-8")
    assert ingest_one(kb, path).status == "added"
    before = kb.documents.get("case").to_dict()
    path.write_text("工作简报\n本周开展志愿服务三次。\n", encoding="utf-8")
    item = ingest_one(kb, path)
    assert (item.status, item.doc_id) == ("updated", "case")
    after = kb.documents.get("case").to_dict()
    assert after["rev"] > before["rev"]
    assert after["body"] == "本周开展志愿服务三次。"
    assert after["created_at"] == before["created_at"]
    assert kb.documents.count() == 1
    assert ingest_one(kb, path).status == "unchanged"


def test_a_copy_under_another_name_is_its_own_document(kb, tmp_path):
    """Without an ``id`` the file name is the id, so the same bytes under two names are two documents."""
    first, copy = tmp_path / "first.txt", tmp_path / "copy.txt"
    first.write_text("工作简报\n本周开展志愿服务两次。\n", encoding="utf-8")
    copy.write_bytes(first.read_bytes())
    assert ingest_one(kb, first).status == "added"
    item = ingest_one(kb, copy)
    assert (item.status, item.doc_id) == ("added", "copy")
    assert kb.documents.count() == 2
