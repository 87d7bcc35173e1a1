"""The index: incremental updates, atomic rebuilds, one writer, round trips."""

from __future__ import annotations

import json

import pytest
from builder import Doc
from whoosh import query as wq

from indexer import index as index_module
from indexer.index import CURRENT, IndexStore
from kb.errors import IndexBusy, IndexMissing
from kb.jobs import JobKind
from kb.structure import fold_heading_only

DOC = """---
id: {id}
title: {title}
modes: [文化嵌入型]
---
一、主要做法
{text}
"""


def add(path, doc_id, title, text):
    path.joinpath(f"{doc_id}.md").write_text(DOC.format(id=doc_id, title=title, text=text), encoding="utf-8")


def hits(core, q):
    return [h.doc_id for h in core.search.search(q).hits]


def test_search_before_any_index_says_so(core):
    with pytest.raises(IndexMissing, match="kb index"):
        core.search.search("党建")


def test_incremental_update_adds_changes_and_deletes(core, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    add(src, "a", "甲", "社区设置文化长廊。")
    add(src, "b", "乙", "楼宇开展节庆展演。")
    report, job = core.documents.ingest([str(src)])
    summary = job.result["index"]
    assert summary["mode"] == "rebuild" and summary["documents"] == 2
    assert hits(core, "文化长廊") == ["a"]
    # Unchanged corpus: nothing to index.
    assert core.jobs.run(JobKind.INDEX).result["index"]["indexed"] == 0
    # Change one document, remove another.
    add(src, "a", "甲", "社区举办读书会。")
    summary = core.documents.ingest([str(src)])[1].result["index"]
    assert summary == {**summary, "mode": "incremental", "indexed": 1}
    assert hits(core, "文化长廊") == []
    assert hits(core, "读书会") == ["a"]
    with core.kb as kb:
        kb.documents.remove("b")
    assert core.jobs.run(JobKind.INDEX).result["index"]["deleted"] == 1
    assert hits(core, "节庆展演") == []


def test_index_round_trip_matches_knowledge_base(sample_core):
    """Every section with text is in the index with its heading path and text; a heading-only
    section has no entry of its own (its heading is indexed with the section it folds into)."""
    store = sample_core.index
    with sample_core.kb as kb, store.open().searcher() as s:
        everything = list(s.reader().all_stored_fields())
        for doc in (d.to_dict() for d in kb.documents.many(kb.documents.all_ids())):
            folds = fold_heading_only(doc["sections"])
            sections = [x for x in doc["sections"]
                        if (x["text"] or x["heading"]) and folds.get(x["ord"]) is None]
            stored = {f["ord"]: f for f in everything if f.get("owner") == doc["doc_id"]}
            assert sorted(stored) == [x["ord"] for x in sections]
            for x in sections:
                assert stored[x["ord"]]["section"] == x["path_label"]
                assert stored[x["ord"]]["body"] == x["text"]
                assert stored[x["ord"]]["practice"] == x["is_practice"]
            whole = s.document(uid=doc["doc_id"])
            assert whole["title"] == doc["title"] and whole["kind"] == "doc"
            assert "\n".join(f["body"] for _, f in sorted(stored.items()) if f["body"]) == "\n".join(
                x["text"] for x in sections if x["text"])


def test_rebuild_swaps_atomically(core, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    add(src, "a", "甲", "社区设置文化长廊。")
    core.documents.ingest([str(src)])
    old = core.index.current_dir()
    summary = core.jobs.run(JobKind.REBUILD).result["index"]
    new = core.index.current_dir()
    assert summary["mode"] == "rebuild" and new != old
    assert not old.exists()  # the replaced generation is removed
    assert (core.index.root / CURRENT).read_text().strip() == new.name
    assert hits(core, "文化长廊") == ["a"]


def test_failed_rebuild_leaves_the_old_index_searchable(core, tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        add(src, f"d{i}", f"文档{i}", f"第{i}个社区设置文化长廊。")
    core.documents.ingest([str(src)])
    old = core.index.current_dir()
    calls = {"n": 0}
    real_entries = index_module.entries

    def failing_entries(doc):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real_entries(doc)

    monkeypatch.setattr(index_module, "entries", failing_entries)
    with pytest.raises(OSError, match="No space"):
        core.jobs.run(JobKind.REBUILD).result["index"]
    monkeypatch.undo()
    assert core.index.current_dir() == old
    assert [p.name for p in core.index.root.iterdir() if p.name.startswith("gen-")] == [old.name]
    assert sorted(hits(core, "文化长廊")) == [f"d{i}" for i in range(5)]


def test_changed_dictionary_forces_a_rebuild(core, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    add(src, "a", "甲", "社区设置文化长廊。")
    core.documents.ingest([str(src)])
    state_path = core.index.current_dir() / "state.json"
    state = json.loads(state_path.read_text())
    state["fingerprint"] = "something-else"
    state_path.write_text(json.dumps(state))
    summary = core.jobs.run(JobKind.INDEX).result["index"]
    assert summary["mode"] == "rebuild" and summary["reason"] == "analyzer changed"


def test_one_writer_at_a_time(core):
    store: IndexStore = core.index
    with store.lock(), pytest.raises(IndexBusy):
        with store.lock(timeout=0.2):
            pass


def test_phrase_positions_in_the_index(build):
    """A word-field phrase query matches on its own (no bigram help), because positions are sequential."""
    built = build([Doc("t-phrase", "园区服务阵地", "一、建设阵地\n\n园区建起了服务联盟和服务站，企业就近办事。"),
                   Doc("t-apart", "服务站的做法", "一、做法\n\n服务站设在园区门口，服务联盟负责日常运行。")])
    analyzer = built.core.analyzer
    with built.core.index.open().searcher() as s:
        terms = analyzer.terms("楼宇党建与园区党建相结合")
        assert len(terms) == 1  # a dictionary term
        phrase = analyzer.terms("服务联盟和服务站")
        assert len(phrase) > 2
        found = s.search(wq.Phrase("body", phrase), limit=None)
        assert [h["owner"] for h in found] == ["t-phrase"]  # not t-apart, which has the words apart
        assert all("服务联盟和服务站" in h["body"] for h in found)
        shuffled = list(reversed(phrase))
        assert len(s.search(wq.Phrase("body", shuffled), limit=None)) == 0


def test_a_tag_decision_reaches_filters_and_facets(core, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    add(src, "a", "甲", "社区设置读书角。")
    add(src, "b", "乙", "社区开展议事。")
    core.documents.ingest([str(src)])
    before = core.search.search("社区")
    assert {f.value for f in before.facets["mode"]} == {"文化嵌入型"}
    with core.kb as kb:
        kb.tags.decide("b", "枢纽中介型", "confirmed", actor="editor")
    core.jobs.run(JobKind.INDEX).result["index"]
    after = core.search.search("社区", filters={"mode": ["枢纽中介型"]})
    assert [h.doc_id for h in after.hits] == ["b"]
    assert {f.value: f.count for f in after.facets["mode"]} == {"枢纽中介型": 1, "文化嵌入型": 1}


def test_entry_order_survives_incremental_updates(core, tmp_path):
    """Sections are found by their place after their document's entry; check every live entry."""
    from indexer.doctable import DocTable

    src = tmp_path / "src"
    src.mkdir()
    for i in range(6):
        add(src, f"d{i}", f"文档{i}", f"第{i}个社区设置读书角。\n二、成效\n居民满意。")
    core.documents.ingest([str(src)])
    add(src, "d2", "文档2", "改写后的内容，社区议事。\n二、成效\n更好。")
    add(src, "d9", "文档9", "新增文档。")
    core.documents.ingest([str(src)])
    with core.kb as kb:
        kb.documents.remove("d4")
    core.jobs.run(JobKind.INDEX).result["index"]
    with core.index.open().searcher() as s:
        reader = s.reader()
        assert len(list(reader.leaf_readers())) >= 2  # several segments, some with deletions
        table = DocTable(reader, key=())
        for n in range(reader.doc_count_all()):
            if reader.is_deleted(n):
                continue
            fields = reader.stored_fields(n)
            owner = fields.get("doc_id") or fields.get("owner")
            assert table.ids[table.entry_doc[n]] == owner
    assert sorted(h.doc_id for h in core.search.search("社区", limit=100).hits) == [
        "d0", "d1", "d2", "d3", "d5"]
