"""Posting lists as arrays: the block reads (Whoosh internals) against the public matcher API.

If a Whoosh upgrade removes or renames the internals, the first test fails (search still works,
through the public API, only slower) and the others keep checking that both paths agree.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_settings
from whoosh import query as wq

from hongxian import Hongxian
from indexer import postings
from indexer.postings import query_ids, term_ids, term_postings
from kb.jobs import JobKind

DOC = "---\nid: {id}\ntitle: 第{n}篇\n---\n一、做法\n{text}\n二、成效\n居民满意，社区和谐。\n"
WORDS = ["社区", "居民", "文化长廊", "读书会", "满意", "做法", "没有的词"]


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """An index of several segments, some with deleted entries."""
    root = tmp_path_factory.mktemp("postings")
    core = Hongxian(make_settings(root / "data"), background=False)
    src = root / "src"
    src.mkdir()

    def write(i: int, text: str) -> None:
        (src / f"d{i}.md").write_text(DOC.format(id=f"d{i}", n=i, text=text), encoding="utf-8")

    for i in range(40):
        write(i, f"社区设置文化长廊第{i}处。" + "居民参加读书会。" * (i % 3))
    core.documents.ingest([str(src)])
    for i in range(0, 40, 3):
        write(i, f"改写：社区居民读书会第{i}期。")
    core.documents.ingest([str(src)])
    with core.kb as kb:
        kb.documents.remove("d7")
    core.jobs.run(JobKind.INDEX).result["index"]
    ix = core.index.open()
    with ix.searcher() as s:
        r = s.reader()
        assert len(list(r.leaf_readers())) >= 2
        assert any(leaf.has_deletions() for leaf, _ in r.leaf_readers())
        yield s


def _all(reader) -> dict:
    out = {}
    for field in ("body", "section", "title"):
        for word in WORDS:
            ids, weights = term_postings(reader.reader(), field, word)
            out[field, word] = (ids.tolist(), weights.tolist(), term_ids(reader.reader(), field, word).tolist())
    out["query"] = query_ids(reader, wq.Or([wq.Term("body", "读书会"), wq.Phrase("body", ["文化长廊", "第"])])).tolist()
    return out


def test_this_whoosh_has_the_internals_we_read():
    assert postings.BLOCK_READS, "Whoosh changed: indexer/postings.py falls back to the slower public API"


def test_block_reads_equal_the_public_api(reader, monkeypatch):
    fast = _all(reader)
    monkeypatch.setattr(postings, "BLOCK_READS", False)
    slow = _all(reader)
    assert fast == slow
    assert any(ids for ids, _, _ in (v for k, v in fast.items() if k != "query"))


def test_block_reads_leave_out_deleted_entries(reader):
    r = reader.reader()
    ids, _ = term_postings(r, "body", "社区")
    assert len(ids) and not any(r.is_deleted(int(n)) for n in ids)
    assert np.all(np.diff(ids) > 0)
    live = [n for n in range(r.doc_count_all()) if not r.is_deleted(n) and "社区" in (r.stored_fields(n).get("body") or "")]
    assert ids.tolist() == live


def test_the_fast_path_is_taken(reader, monkeypatch):
    def refuse(matcher, weights):  # noqa: ANN001
        raise AssertionError(f"public API used for {type(matcher).__name__}")

    monkeypatch.setattr(postings, "_public_items", refuse)
    for word in WORDS:
        term_postings(reader.reader(), "body", word)  # on-disk lists, with and without deletions


def test_the_fallback_is_taken_without_the_internals(reader, monkeypatch):
    monkeypatch.setattr(postings, "BLOCK_READS", False)
    monkeypatch.setattr(postings, "_block_items", None)  # would fail if called
    assert term_postings(reader.reader(), "body", "社区")[0].size
