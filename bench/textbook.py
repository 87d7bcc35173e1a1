"""The textbook stack: jieba's bundled ChineseAnalyzer, a plain Whoosh schema, one writer.

This is what a tutorial builds: one index entry per document, Whoosh's own query parser,
highlighter and facets. It is our baseline, measured in the same run as Hongxian.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from pathlib import Path

from whoosh import fields, index, sorting
from whoosh.qparser import QueryParser

from bench.documents import BenchDoc


def _analyzer():  # noqa: ANN202
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
        from jieba.analyse import ChineseAnalyzer
    jieba.setLogLevel(logging.WARNING)
    return ChineseAnalyzer()


def schema() -> fields.Schema:
    analyzer = _analyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        title=fields.TEXT(stored=True, analyzer=analyzer),
        content=fields.TEXT(stored=True, analyzer=analyzer),
        mode=fields.KEYWORD(stored=True, commas=True),
        domain=fields.KEYWORD(stored=True, commas=True),
        year=fields.NUMERIC(stored=True),
    )


def build(folder: Path, docs: Iterable[BenchDoc], procs: int = 1) -> int:
    """Index documents with a single writer.

    ``procs`` > 1 uses Whoosh's multiprocessing writer, only to save time building the large index
    that the search comparison needs. It keeps one segment per process (``multisegment``), as
    Hongxian's parallel build does, instead of merging them afterwards in one process, which
    re-sorts every posting serially and cost more than the parallel part saved.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(folder), schema())
    writer = ix.writer(procs=procs, multisegment=True) if procs > 1 else ix.writer()
    n = 0
    for doc in docs:
        writer.add_document(id=doc.doc_id, title=doc.title, content=doc.body, mode=",".join(doc.modes),
                            domain=",".join(doc.domains), year=doc.year)
        n += 1
    writer.commit()
    return n


class Searcher:
    """Queries as the tutorial does them: bare top 10, with highlights, with a facet on mode.

    One searcher stays open for all queries (a fair baseline: Whoosh caches facet data per
    searcher), as a long-running service would keep it.
    """

    def __init__(self, folder: Path) -> None:
        _analyzer()
        self.ix = index.open_dir(str(folder))
        self.parser = QueryParser("content", self.ix.schema)
        self.searcher = self.ix.searcher()

    def search(self, text: str, highlight: bool, facets: bool) -> int:
        q = self.parser.parse(text)
        kwargs = {"groupedby": sorting.FieldFacet("mode", allow_overlap=True)} if facets else {}
        results = self.searcher.search(q, limit=10, **kwargs)
        if facets:
            results.groups("mode")
        if highlight:
            for hit in results[:10]:
                hit.highlights("content")
        return len(results)
