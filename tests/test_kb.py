"""The knowledge base service: schema, incremental ingest, tag decisions, suggestions."""

from __future__ import annotations

import sqlite3

import pytest

from kb import store
from kb.errors import BadRequest, NotFound, StartupError

DOC = """---
id: t-001
title: 以服务联盟凝聚楼宇白领
type: 案例
unit: 测试街道党工委
date: 2020-05-01
region: 海州市/临江区/新华街道
domain: [楼宇]
modes: [服务导入型]
---

一、主要做法
（一）组建楼宇服务联盟
1、建立便利服务清单。联盟为白领提供就餐、健康、维权等便利服务，搭建服务网络。
2、开展读书会。每月一次，党员白领领读。
二、工作成效
服务联盟覆盖楼宇20幢。
"""


def write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def test_schema_is_versioned_and_in_wal_mode(kb):
    conn = kb.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_newer_schema_is_refused(settings):
    settings.data_dir.mkdir(parents=True)
    conn = sqlite3.connect(settings.db_path)
    conn.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StartupError, match="结构版本"):
        store.connect(settings.db_path)


def test_a_version_2_database_gains_the_originals_table_and_keeps_its_documents(settings, tmp_path):
    settings.data_dir.mkdir(parents=True)
    conn = sqlite3.connect(settings.db_path, isolation_level=None)
    for number in range(2):
        for statement in store.statements(store.MIGRATIONS[number]):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.execute("INSERT INTO documents (id, title, body, format, content_hash, created_at, updated_at,"
                 " rev) VALUES ('old-1', '旧文档', '正文。', 'text', 'x', 't', 't', 1)")
    conn.close()
    from kb import KnowledgeBase

    with KnowledgeBase(settings) as kb:
        assert kb.conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION >= 3
        doc = kb.documents.get("old-1").to_dict()
        assert (doc["title"], doc["original"], doc["cleanup"]) == ("旧文档", None, [])
        with pytest.raises(NotFound, match="没有保存原始文件"):
            kb.documents.original("old-1")
        # importing it again stores the file
        kb.imports.ingest([write(tmp_path / "old-1.txt", "旧文档\n正文。\n")])
        assert kb.documents.original("old-1")[1] == (tmp_path / "old-1.txt").read_bytes()


def test_taxonomy_is_loaded_from_the_corpus_file(kb):
    taxonomy = kb.modes.taxonomy()
    assert taxonomy.programme["name"] == "凝聚力工程"
    names = taxonomy.names()
    assert {"枢纽中介型", "服务导入型", "联动互补型", "文化嵌入型"} <= set(names)
    assert all(m.signals for m in taxonomy.modes)


def test_ingest_then_unchanged_then_updated(kb, tmp_path):
    path = write(tmp_path / "a.md", DOC)
    first = kb.imports.ingest([path])
    assert first.counts()["added"] == 1
    rev = kb.documents.get("t-001").to_dict()["rev"]
    second = kb.imports.ingest([path])
    assert [i.status for i in second.items] == ["unchanged"]
    assert kb.documents.get("t-001").to_dict()["rev"] == rev
    write(path, DOC.replace("20幢", "25幢"))
    third = kb.imports.ingest([path])
    assert [i.status for i in third.items] == ["updated"]
    doc = kb.documents.get("t-001").to_dict()
    assert doc["rev"] > rev and "25幢" in doc["body"]
    assert kb.documents.count() == 1


def test_sections_and_practices_are_stored(kb, tmp_path):
    kb.imports.ingest([write(tmp_path / "a.md", DOC)])
    doc = kb.documents.get("t-001").to_dict()
    practices = [s for s in doc["sections"] if s["is_practice"]]
    assert [p["path_label"] for p in practices] == [
        "一、主要做法 › （一）组建楼宇服务联盟 › 1、建立便利服务清单",
        "一、主要做法 › （一）组建楼宇服务联盟 › 2、开展读书会",
        "二、工作成效",
    ]
    assert practices[0]["text"].startswith("联盟为白领提供就餐")
    assert doc["year"] == 2020 and doc["domain"] == ["楼宇"]


def test_confirmed_modes_from_front_matter_and_suggestions_with_evidence(kb, tmp_path):
    kb.imports.ingest([write(tmp_path / "a.md", DOC)])
    modes = kb.documents.get("t-001").to_dict()["modes"]
    assert modes["confirmed"] == ["服务导入型"]
    # A confirmed mode is never also listed as a suggestion.
    assert "服务导入型" not in [s["mode"] for s in modes["suggested"]]
    practice = next(s for s in kb.documents.get("t-001").to_dict()["sections"] if s["heading"] == "1、建立便利服务清单")
    suggestion = practice["modes"]["suggested"][0]
    assert suggestion["mode"] == "服务导入型" and 0 < suggestion["score"] <= 1
    evidence = suggestion["evidence"][0]
    assert "便利服务" in evidence["terms"]
    assert evidence["sentence"] in practice["text"]
    assert practice["text"][evidence["start"]:evidence["end"]] == evidence["sentence"]


def test_suggestions_for_a_text_without_front_matter(kb, tmp_path):
    text = "楼宇文化建设的做法\n测试街道党工委\n一、建设文化长廊\n在楼宇大堂设置文化长廊，举办节庆展演和会所沙龙，企业文化与社区文化相融合。\n"
    kb.imports.ingest([write(tmp_path / "c.txt", text)])
    suggested = kb.documents.get("c").to_dict()["modes"]["suggested"]
    assert suggested and suggested[0]["mode"] == "文化嵌入型"
    assert any("文化长廊" in ev["terms"] for ev in suggested[0]["evidence"])


def test_decisions_survive_reingest_and_are_recorded(kb, tmp_path):
    path = write(tmp_path / "c.txt", "文化做法\n一、文化长廊\n设置文化长廊，举办节庆展演，开展会所活动。\n")
    kb.imports.ingest([path])
    kb.tags.decide("c", "文化嵌入型", "rejected", actor="editor1")
    write(path, "文化做法\n一、文化长廊\n设置文化长廊，举办节庆展演，开展会所活动和文艺汇演。\n")
    assert kb.imports.ingest([path]).items[0].status == "updated"
    modes = kb.documents.get("c").to_dict()["modes"]
    assert modes["rejected"] == ["文化嵌入型"]
    assert "文化嵌入型" not in [s["mode"] for s in modes["suggested"]]
    history = kb.conn.execute("SELECT actor, status FROM tag_history WHERE doc_id = 'c'").fetchall()
    assert [(r["actor"], r["status"]) for r in history] == [("editor1", "rejected")]


def test_decide_validates_its_input(kb, tmp_path):
    kb.imports.ingest([write(tmp_path / "a.md", DOC)])
    with pytest.raises(BadRequest):
        kb.tags.decide("t-001", "不存在的模式", "confirmed", actor="x")
    with pytest.raises(BadRequest):
        kb.tags.decide("t-001", "服务导入型", "maybe", actor="x")
    with pytest.raises(NotFound):
        kb.tags.decide("nope", "服务导入型", "confirmed", actor="x")


def test_changes_since_tracks_updates_and_removals(kb, tmp_path):
    kb.imports.ingest([write(tmp_path / "a.md", DOC), write(tmp_path / "b.txt", "标题\n正文一句。\n")])
    rev = kb.documents.current_rev()
    assert kb.documents.changes_since(rev) == ([], [])
    kb.tags.decide("b", "文化嵌入型", "confirmed", actor="x")
    kb.documents.remove("t-001")
    changed, deleted = kb.documents.changes_since(rev)
    assert changed == ["b"] and deleted == ["t-001"]
    with pytest.raises(NotFound):
        kb.documents.remove("t-001")


def test_a_new_mode_in_the_taxonomy_changes_suggestions(kb, tmp_path):
    kb.imports.ingest([write(tmp_path / "g.txt", "网格做法\n一、网格\n推行网格化管理，网格员每日巡查，网格议事会每月召开。\n")])
    assert kb.documents.get("g").to_dict()["modes"]["suggested"] == []
    extra = tmp_path / "taxonomy.yaml"
    extra.write_text("programme: {name: 凝聚力工程}\nmodes:\n  - name: 网格治理型\n    short: 测试\n"
                     "    signals: [网格: 2, 网格员: 2, 议事会]\n", encoding="utf-8")
    result = kb.modes.load_file(extra)
    assert result["added"] == ["网格治理型"]
    assert kb.documents.get("g").modes.suggested == ()  # loading does not recompute suggestions …
    assert kb.tags.resuggest() == 1  # … recomputing them does
    assert [s["mode"] for s in kb.documents.get("g").to_dict()["modes"]["suggested"]] == ["网格治理型"]
    assert "服务导入型" in kb.modes.taxonomy().names()  # modes not in the file are kept


def test_failed_write_leaves_nothing_behind(kb, tmp_path, monkeypatch):
    kb.imports.ingest([write(tmp_path / "a.md", DOC)])
    before = kb.documents.get("t-001").to_dict()

    def boom(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    write(tmp_path / "a.md", DOC.replace("20幢", "30幢"))
    monkeypatch.setattr("kb.ingest.store_suggestions", boom)
    with pytest.raises(sqlite3.OperationalError):
        kb.imports.ingest([tmp_path / "a.md"])
    monkeypatch.undo()
    assert kb.documents.get("t-001").to_dict() == before


def test_parallel_ingest_stores_the_same_as_serial(tmp_path):
    """Large batches are parsed in worker processes; the knowledge base must not differ."""
    from kb import KnowledgeBase
    from kb.settings import CHECKOUT, load_settings

    corpus = CHECKOUT / "corpus" / "docs"
    stored = []
    for procs in (1, 2):
        with KnowledgeBase(load_settings(data_dir=tmp_path / str(procs), environ={})) as kb:
            report = kb.imports.ingest([corpus], procs=procs)
            assert report.counts()["added"] == 32 and report.counts()["rejected"] == 0
            stored.append([{k: v for k, v in doc.to_dict().items() if k not in ("created_at", "updated_at")}
                           for doc in kb.documents.many(kb.documents.all_ids())])
            again = kb.imports.ingest([corpus], procs=procs)
            assert again.counts()["unchanged"] == 32
    assert stored[0] == stored[1]


def test_parallel_ingest_keeps_every_original_byte_for_byte(tmp_path):
    from kb import KnowledgeBase
    from kb.settings import CHECKOUT, load_settings

    corpus = CHECKOUT / "corpus" / "docs"
    with KnowledgeBase(load_settings(data_dir=tmp_path / "d", environ={})) as kb:
        kb.imports.ingest([corpus], procs=2)
        for path in sorted(corpus.iterdir()):
            doc_id = next(i for i in kb.documents.all_ids() if kb.documents.get(i).source_path == str(path.resolve()))
            assert kb.documents.original(doc_id)[1] == path.read_bytes(), path.name
