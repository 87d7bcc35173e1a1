"""Building the index: the parallel build against a single writer, and indexes with different
dictionaries side by side in one process (each finds its own analyzer by fingerprint)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_settings
from whoosh import index as whoosh_index

from hongxian import Hongxian
from indexer.analysis import get_analyzer
from indexer.doctable import DocTable
from indexer.index import IndexStore, Parallel
from indexer.schema import make_schema, resolve
from indexer.search import SearchService
from indexer.source import KnowledgeBaseSource

DOC = """---
id: {id}
title: {title}
modes: [文化嵌入型]
---
{body}
"""
TOPICS = ["文化长廊", "读书会", "志愿服务", "议事协商", "楼宇党建", "网格管理", "快递小哥", "老年食堂"]
QUERIES = ["文化长廊", "读书会 志愿服务", '"议事协商"', "楼宇党建 -网格管理", "快递 OR 食堂", "社区", "title:案例"]


def write(folder, doc_id: str, title: str, body: str) -> None:
    folder.joinpath(f"{doc_id}.md").write_text(DOC.format(id=doc_id, title=title, body=body), encoding="utf-8")


def corpus(folder, count: int = 16) -> None:
    """Documents of one to four sections each, so that batches of entries end mid-corpus."""
    folder.mkdir(exist_ok=True)
    for i in range(count):
        parts = []
        for k in range(1 + i % 4):
            topic = TOPICS[(i + k) % len(TOPICS)]
            parts.append(f"{'一二三四'[k]}、{topic}的做法\n第{i}个社区开展{topic}，居民参与{topic}活动。")
        write(folder, f"d{i:02d}", f"案例{i}：{TOPICS[i % len(TOPICS)]}", "\n".join(parts))


def results(service: SearchService) -> list[list[tuple[str, int | None, str]]]:
    out = []
    for q in QUERIES:
        result = service.search(q, limit=100)
        out.append([(h.doc_id, h.ord, h.snippet) for h in result.hits] + [("total", result.total, "")])
    return out


def check_layout(store: IndexStore) -> int:
    """Every live entry belongs to the document its stored fields name; returns the segments."""
    with store.open().searcher() as s:
        reader = s.reader()
        table = DocTable(reader, key=())
        for n in range(reader.doc_count_all()):
            if not reader.is_deleted(n):
                fields = reader.stored_fields(n)
                assert table.ids[table.entry_doc[n]] == (fields.get("doc_id") or fields.get("owner"))
        return len(list(reader.leaf_readers()))


def test_parallel_build_equals_a_single_writer_build(tmp_path):
    core = Hongxian(make_settings(tmp_path / "data"), background=False)
    src = tmp_path / "src"
    corpus(src)
    core.documents.ingest([str(src)], index=False)
    single = core.index
    parallel = IndexStore(tmp_path / "parallel", core.analyzer,
                          Parallel(from_documents=2, procs=2, batch_entries=5))
    with core.kb as kb:
        assert single.rebuild(KnowledgeBaseSource(kb))["documents"] == 16
        assert parallel.rebuild(KnowledgeBaseSource(kb))["documents"] == 16
    assert check_layout(parallel) >= 2  # several workers wrote segments of whole documents
    by_single = SearchService(single, core.analyzer)
    by_parallel = SearchService(parallel, core.analyzer)
    with single.open().searcher() as a, parallel.open().searcher() as b:
        assert a.doc_count() == b.doc_count() > 16
    assert results(by_parallel) == results(by_single)
    # an incremental update of the parallel build afterwards
    write(src, "d03", "案例3：改写", "一、新的做法\n社区开办读书会和老年食堂。")
    write(src, "d99", "新增案例", "一、做法\n楼宇党建与文化长廊结合。")
    core.documents.ingest([str(src)], index=False)
    with core.kb as kb:
        kb.documents.remove("d05")
        assert parallel.update(KnowledgeBaseSource(kb))["mode"] == "incremental"
        single.update(KnowledgeBaseSource(kb))
    check_layout(parallel)
    assert results(by_parallel) == results(by_single)
    assert "d05" not in {h.doc_id for h in by_parallel.search("社区", limit=100).hits}
    assert by_parallel.search("文化长廊 楼宇党建").hits[0].doc_id == "d99"


def test_a_small_build_uses_one_writer_by_default(tmp_path):
    core = Hongxian(make_settings(tmp_path / "data"), background=False)
    src = tmp_path / "src"
    corpus(src, count=6)
    core.documents.ingest([str(src)])
    assert core.index.parallel == Parallel()  # from 200 documents, one process per core
    assert check_layout(core.index) == 1


@pytest.fixture
def two_dictionaries(tmp_path):
    """Two analyzers whose dictionaries differ in one word: 银发课堂 (else 银发 + 课堂)."""
    default = make_settings(tmp_path / "a")
    plain = get_analyzer(default)
    extended = tmp_path / "dict.txt"
    extended.write_text(Path(default.dictionary_file).read_text(encoding="utf-8") + "\n银发课堂 50000\n",
                        encoding="utf-8")
    other = get_analyzer(make_settings(tmp_path / "b", dictionary_file=str(extended)))
    assert plain.terms("银发课堂") == ["银发", "课堂"] and other.terms("银发课堂") == ["银发课堂"]
    assert plain.fingerprint != other.fingerprint
    return plain, other


def test_indexes_with_different_dictionaries_keep_their_own_analyzer(tmp_path, two_dictionaries):
    plain, other = two_dictionaries
    text = "社区开办银发课堂，老人们去银发课堂上课。"
    indexes = {}
    for name, analyzer in (("plain", plain), ("other", other)):
        folder = tmp_path / name
        folder.mkdir()
        indexes[name] = whoosh_index.create_in(str(folder), make_schema(analyzer))
    # writers of both indexes open at once, written in turn (no "active" analyzer to switch)
    writers = {name: ix.writer() for name, ix in indexes.items()}
    for i, name in enumerate(("plain", "other", "plain", "other")):
        writers[name].add_document(uid=f"{name}-{i}", body=text)
    for w in writers.values():
        w.commit()
    for name, ix in indexes.items():  # reopened: the schema comes back from the index, pickled
        reopened = whoosh_index.open_dir(ix.storage.folder)
        with reopened.writer() as w:
            w.add_document(uid=f"{name}-again", body=text)
        with reopened.searcher() as s:
            words = {t.decode() for t in s.reader().lexicon("body")}
            assert ("银发课堂" in words) == (name == "other"), name
            assert {"银发", "课堂"} <= words  # words, or the dictionary words inside a word
            assert s.doc_frequency("body", "银发课堂") == (3 if name == "other" else 0)


@pytest.mark.usefixtures("two_dictionaries")
def test_two_libraries_with_different_dictionaries_search_side_by_side(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    write(src, "p1", "银发课堂开课", "一、做法\n社区开办银发课堂，老人们去银发课堂上课。")
    write(src, "p2", "老人进课堂", "一、做法\n老人走进课堂，满头银发。")
    cores = [Hongxian(make_settings(tmp_path / "one"), background=False),
                 Hongxian(make_settings(tmp_path / "two", dictionary_file=str(tmp_path / "dict.txt")), background=False)]
    for core in cores:
        core.documents.ingest([str(src)])
    for core in cores:  # each built and updated after the other existed
        write(src, "p3", "又一篇", "一、做法\n银发课堂旁边开了书店。")
        core.documents.ingest([str(src)])
    plain_hits = cores[0].search.search('"银发课堂"', limit=10)
    other_hits = cores[1].search.search('"银发课堂"', limit=10)
    assert {h.doc_id for h in plain_hits.hits} == {h.doc_id for h in other_hits.hits} == {"p1", "p3"}
    with cores[1].index.open().searcher() as s:
        assert s.doc_frequency("body", "银发课堂") == 2
    with cores[0].index.open().searcher() as s:
        assert s.doc_frequency("body", "银发课堂") == 0


def test_an_unknown_fingerprint_is_named():
    with pytest.raises(RuntimeError, match="0000deadbeef"):
        resolve("0000deadbeef")
