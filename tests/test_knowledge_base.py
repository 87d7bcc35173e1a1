"""The knowledge base's Python API: one handle whose parts share a connection, typed documents
whose JSON is the historic one, and the rules that live in kb (tags, modes, accounts)."""

from __future__ import annotations

import dataclasses

import pytest

from kb import IngestReport, KnowledgeBase
from kb.errors import BadRequest, NotFound
from kb.model import (
    WHOLE_DOCUMENT,
    Decision,
    Document,
    Evidence,
    IngestStatus,
    ModeTags,
    Role,
    Section,
    Suggestion,
    TagStatus,
)

REPORT = """---
id: t-building
title: 以服务联盟凝聚楼宇白领
type: 案例
unit: 测试街道党工委
date: 2020-05-01
region: 海州市/临江区/新华街道
domain: [楼宇, 两新组织]
keywords: [白领]
modes: [服务导入型]
reviewed: true
---

一、主要做法
（一）组建楼宇服务联盟
联盟为白领提供就餐、健康、维权等便利服务，搭建服务网络，楼宇白领踊跃参加。
二、工作成效
服务联盟覆盖楼宇20幢。
"""
DOCUMENT_KEYS = ["doc_id", "title", "type", "unit", "author", "date", "year", "region", "domain",
                 "keywords", "source", "extra", "format", "source_path", "created_at", "updated_at",
                 "rev", "body", "sections", "modes", "original", "cleanup"]
SECTION_KEYS = ["ord", "heading", "level", "path", "path_label", "parent", "text", "is_practice",
                "start", "end", "modes"]


@pytest.fixture
def report(kb, tmp_path) -> Document:
    path = tmp_path / "t-building.md"
    path.write_text(REPORT, encoding="utf-8")
    result = kb.imports.ingest([path])
    assert isinstance(result, IngestReport) and result.items[0].status is IngestStatus.ADDED
    return kb.documents.get("t-building")


def test_the_parts_share_one_connection_and_follow_a_reopened_one(settings):
    kb = KnowledgeBase(settings)
    conn = kb.conn
    parts = (kb.documents, kb.imports, kb.tags, kb.modes, kb.accounts, kb.pearls)
    assert all(part.conn is conn for part in parts)
    assert kb.documents is kb.documents and kb.pearls.documents is kb.documents
    kb.close()
    assert kb.documents.conn is kb.conn is not conn
    kb.close()


def test_a_document_is_typed_and_frozen(report):
    doc = report
    assert doc.domains == ("楼宇", "两新组织") and doc.keywords == ("白领",)
    assert doc.extra == {"reviewed": True} and doc.year == 2020
    assert doc.modes.confirmed == ("服务导入型",)
    assert all(isinstance(s, Section) for s in doc.sections)
    practice = next(s for s in doc.sections if s.is_practice)
    assert practice.path == ("一、主要做法", "（一）组建楼宇服务联盟")
    assert practice.path_label == "一、主要做法 › （一）组建楼宇服务联盟"
    assert doc.section(practice.ord) is practice and doc.section(99) is None
    suggested = {s.mode: s for s in practice.modes.suggested}
    assert isinstance(suggested["服务导入型"], Suggestion)
    evidence = suggested["服务导入型"].evidence[0]
    assert isinstance(evidence, Evidence) and not evidence.learned
    assert practice.text[evidence.start:evidence.end] == evidence.sentence
    assert doc.original is not None and doc.original.name == "t-building.md"
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.title = "别的标题"  # type: ignore[misc]


def test_to_dict_is_the_historic_json(report):
    data = report.to_dict()
    assert list(data) == DOCUMENT_KEYS
    assert data["domain"] == ["楼宇", "两新组织"] and data["keywords"] == ["白领"]
    assert list(data["modes"]) == ["confirmed", "suggested", "rejected"]
    assert all(list(s) == SECTION_KEYS for s in data["sections"])
    section = next(s for s in data["sections"] if s["is_practice"])
    assert section["path"] == ["一、主要做法", "（一）组建楼宇服务联盟"]
    evidence = section["modes"]["suggested"][0]["evidence"][0]
    assert list(evidence) == ["sentence", "terms", "start", "end"]  # "learned" only when true
    assert list(data["original"]) == ["name", "media_type", "size", "sha256"]
    assert Evidence("句子。", ("词",), 0, 3, learned=True).to_dict()["learned"] is True
    assert ModeTags().to_dict() == {"confirmed": [], "suggested": [], "rejected": []}


def test_decisions_are_typed_and_refuse_a_section_the_document_lacks(kb, report):
    practice = next(s for s in report.sections if s.is_practice)
    kb.tags.decide(report.doc_id, "联动互补型", TagStatus.CONFIRMED, actor="editor1", section_ord=practice.ord)
    kb.tags.decide(report.doc_id, "文化嵌入型", "rejected", actor="editor1")
    with pytest.raises(NotFound, match="没有第 99 节"):
        kb.tags.decide(report.doc_id, "文化嵌入型", TagStatus.CONFIRMED, actor="editor1", section_ord=99)
    with pytest.raises(BadRequest, match="'suggested'"):
        kb.tags.decide(report.doc_id, "文化嵌入型", TagStatus.SUGGESTED, actor="editor1")
    newest, older, imported = kb.tags.history(report.doc_id)
    assert newest == Decision(WHOLE_DOCUMENT, "文化嵌入型", TagStatus.REJECTED, "editor1", newest.at)
    assert (older.section_ord, older.status) == (practice.ord, TagStatus.CONFIRMED)
    assert imported.actor == "import" and imported.status is TagStatus.CONFIRMED
    assert list(newest.to_dict()) == ["section_ord", "mode", "status", "actor", "at"]
    doc = kb.documents.get(report.doc_id)
    assert doc.modes.rejected == ("文化嵌入型",)
    assert "联动互补型" in doc.section(practice.ord).modes.confirmed


def test_saving_a_mode_does_not_recompute_suggestions(kb, tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("网格做法\n一、网格\n推行网格化管理，网格员每日巡查，网格议事会每月召开。\n", encoding="utf-8")
    kb.imports.ingest([path])
    rev = kb.documents.current_rev()
    assert kb.modes.save("网格治理型", "测试", signals={"网格": 2.0, "网格员": 2.0}) == "added"
    assert kb.documents.get("g").modes.suggested == () and kb.documents.current_rev() == rev
    assert kb.tags.resuggest() == 1
    assert [s.mode for s in kb.documents.get("g").modes.suggested] == ["网格治理型"]
    assert kb.modes.save("网格治理型", "测试", signals={"网格": 2.0, "网格员": 2.0}) == "updated"
    counts = {m["name"]: m for m in kb.modes.counts()}
    assert counts["网格治理型"]["suggested"] == 1 and counts["网格治理型"]["signals"] == {"网格": 2.0, "网格员": 2.0}


def test_resuggest_reports_progress(kb, report):
    seen: list[int] = []
    assert kb.tags.resuggest(progress=seen.append, total=seen.append) == 0
    assert seen == [1, 1]  # one document to look at, one done


def test_an_administrator_cannot_demote_themself(kb):
    kb.accounts.add("admin1", "password123", Role.ADMIN)
    kb.accounts.add("admin2", "password123", "admin")
    for name in ("admin1", "ADMIN1"):
        with pytest.raises(BadRequest, match="不能撤销自己的管理员角色"):
            kb.accounts.set_role("admin1", Role.EDITOR, actor=name)
    kb.accounts.set_role("admin1", Role.ADMIN, actor="admin1")  # keeping one's role is fine
    kb.accounts.set_role("admin2", Role.EDITOR, actor="admin1")  # another administrator may
    assert kb.accounts.get("admin2").role == "editor"
    with pytest.raises(BadRequest, match="最后一位管理员"):
        kb.accounts.set_role("admin1", Role.READER)  # no actor: only the last-administrator rule
