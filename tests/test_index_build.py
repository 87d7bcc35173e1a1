"""Building the index: the parallel build against a single writer."""

from __future__ import annotations

from conftest import make_settings

from indexer.doctable import DocTable
from indexer.index import IndexStore, Parallel
from indexer.library import Library
from indexer.search import SearchService

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
        out.append([(h["doc_id"], h["ord"], h["snippet"]) for h in result["hits"]] + [("total", result["total"], "")])
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
    library = Library(make_settings(tmp_path / "data"))
    src = tmp_path / "src"
    corpus(src)
    library.ingest([str(src)], index=False)
    single = library.store
    parallel = IndexStore(tmp_path / "parallel", library.analyzer,
                          Parallel(from_documents=2, procs=2, batch_entries=5))
    with library.kb() as kb:
        assert single.rebuild(kb)["documents"] == 16
        assert parallel.rebuild(kb)["documents"] == 16
    assert check_layout(parallel) >= 2  # several workers wrote segments of whole documents
    by_single = SearchService(single, library.analyzer)
    by_parallel = SearchService(parallel, library.analyzer)
    with single.open().searcher() as a, parallel.open().searcher() as b:
        assert a.doc_count() == b.doc_count() > 16
    assert results(by_parallel) == results(by_single)
    # an incremental update of the parallel build afterwards
    write(src, "d03", "案例3：改写", "一、新的做法\n社区开办读书会和老年食堂。")
    write(src, "d99", "新增案例", "一、做法\n楼宇党建与文化长廊结合。")
    library.ingest([str(src)], index=False)
    with library.kb() as kb:
        kb.remove("d05")
        assert parallel.update(kb)["mode"] == "incremental"
        single.update(kb)
    check_layout(parallel)
    assert results(by_parallel) == results(by_single)
    assert "d05" not in {h["doc_id"] for h in by_parallel.search("社区", limit=100)["hits"]}
    assert by_parallel.search("文化长廊 楼宇党建")["hits"][0]["doc_id"] == "d99"


def test_a_small_build_uses_one_writer_by_default(tmp_path):
    library = Library(make_settings(tmp_path / "data"))
    src = tmp_path / "src"
    corpus(src, count=6)
    library.ingest([str(src)])
    assert library.store.parallel == Parallel()  # from 200 documents, one process per core
    assert check_layout(library.store) == 1
