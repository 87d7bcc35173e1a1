"""Per index version: every document's metadata, its facet values as arrays, and date order.

Built once from the document entries when the index changes; lets a search count facets over
any set of documents with a few array operations instead of a loop over matches.
"""

from __future__ import annotations

import json
import logging

import numpy as np
from whoosh.searching import Searcher

from .facets import FACETS, Facet, FacetCount

log = logging.getLogger(__name__)

B = 0.75  # BM25's length normalisation (indexer.ranking scores with it)


def _owner(reader, docnum: int) -> str | None:  # noqa: ANN001
    fields = reader.stored_fields(docnum)
    return fields.get("doc_id") or fields.get("owner")


class _Facet:
    """One facet as (document, value) pairs in arrays."""

    def __init__(self, facet: Facet, metas: list[dict]) -> None:
        self.facet = facet
        vocabulary: dict[str, int] = {}
        owners, values = [], []
        for ord_, meta in enumerate(metas):
            for value in facet.shown(meta):
                owners.append(ord_)
                values.append(vocabulary.setdefault(value, len(vocabulary)))
        self.labels = list(vocabulary)
        self.owners = np.array(owners, dtype=np.int64)
        self.values = np.array(values, dtype=np.int64)

    def counts(self, docs: np.ndarray) -> tuple[FacetCount, ...]:
        """The values the selected documents have, most frequent first."""
        if not len(self.values):
            return ()
        counted = np.bincount(self.values[docs[self.owners]], minlength=len(self.labels))
        pairs = [(self.labels[i], int(c)) for i in np.flatnonzero(counted) for c in (counted[i],)]
        order = self.facet.kind.order
        pairs.sort(key=lambda p: (-p[1], order(p[0])))
        return tuple(FacetCount(v, c) for v, c in pairs)


class DocTable:
    def __init__(self, reader, key: tuple) -> None:  # noqa: ANN001 - a whoosh IndexReader
        self.key = key
        self.entries = reader.doc_count_all()
        docnums = []
        if reader.doc_frequency("kind", "doc"):
            docnums = list(reader.postings("kind", "doc").all_ids())
        self.docnums: list[int] = docnums
        self.meta: list[dict] = []
        if docnums:  # an empty index has no column to read
            metas_col = reader.column_reader("meta")
            self.meta = [json.loads(bytes(metas_col[d]).decode("utf-8")) for d in docnums]
        self.ids: list[str] = [m["doc_id"] for m in self.meta]
        self.index: dict[str, int] = {doc_id: i for i, doc_id in enumerate(self.ids)}
        self.size = len(self.ids)
        self.id_rank = np.argsort(np.argsort(np.array(self.ids, dtype=object)))  # ids in sorted order
        self.live = np.ones(self.size, dtype=bool)
        self._ord = np.full(max(self.entries, 1), -1, dtype=np.int64)
        starts = self.starts = np.array(sorted(docnums), dtype=np.int64)
        if docnums:
            self._ord[np.array(docnums, dtype=np.int64)] = np.arange(self.size)
        # A document's sections follow its entry: entry i belongs to the last document at or before i.
        self.entry_doc = np.searchsorted(starts, np.arange(self.entries), side="right") - 1
        self._check_layout(reader)
        dates = [(m.get("date") or "", m["doc_id"]) for m in self.meta]
        self.date_order = np.array(sorted(range(self.size), key=lambda i: dates[i], reverse=True),
                                   dtype=np.int64)
        self._facets = [_Facet(facet, self.meta) for facet in FACETS]
        self._lengths()

    def _lengths(self) -> None:
        """BM25's length normalisation per document (1 - b + b·length/average), from the
        character lengths stored with each document's metadata."""
        title = np.array([len(m.get("title") or "") for m in self.meta], dtype=np.float64)
        text = np.array([m.get("length") or 0 for m in self.meta], dtype=np.float64)

        def norm(lengths: np.ndarray) -> np.ndarray:
            avg = float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
            return 1 - B + B * lengths / avg

        self.title_norm = norm(title)
        self.text_norm = norm(text)
        self.chars_norm = norm(title + text)
        sections = max(1, self.entries - self.size)
        self.avg_section_length = max(1.0, float(text.sum()) / sections)

    def _check_layout(self, reader) -> None:  # noqa: ANN001
        """Verify the entry order on a sample; rebuild the map from stored fields if it fails."""
        if not self.entries:
            return
        sample = np.unique(np.linspace(0, self.entries - 1, num=min(64, self.entries)).astype(np.int64))
        ok = all(
            reader.is_deleted(int(i)) or (self.entry_doc[i] >= 0 and _owner(reader, int(i)) == self.ids[self.entry_doc[i]])
            for i in sample)
        if not ok:
            log.warning("index entries are not in document order; mapping them one by one")
            self.entry_doc = np.array([
                -1 if reader.is_deleted(i) else self.index.get(_owner(reader, i), -1)
                for i in range(self.entries)], dtype=np.int64)

    def docs_of_entries(self, ids: np.ndarray) -> np.ndarray:
        """Document ordinals of any entries (documents or sections)."""
        return self.entry_doc[ids] if len(ids) else np.zeros(0, dtype=np.int64)

    def section_entries(self, docs: np.ndarray) -> np.ndarray:
        """Entry numbers of the sections of the selected documents."""
        owner = self.entry_doc
        return np.flatnonzero((owner >= 0) & docs[np.maximum(owner, 0)] & (self._ord[: self.entries] < 0))

    def entries_of(self, ord_: int) -> range:
        """Entry numbers of one document's sections (some may be deleted)."""
        start = self.docnums[ord_]
        later = self.starts[self.starts > start]
        return range(start + 1, int(later[0]) if len(later) else self.entries)

    def sections(self, s: Searcher, ord_: int) -> list[tuple[int, dict]]:
        """(entry number, stored fields) of a document's live section entries, in order."""
        reader = s.reader()
        return [(n, s.stored_fields(n)) for n in self.entries_of(ord_) if not reader.is_deleted(n)]

    def by_date(self, docs: np.ndarray) -> list[int]:
        """The selected documents, newest first."""
        return self.date_order[docs[self.date_order]].tolist()

    def facets(self, docs: np.ndarray) -> dict[str, tuple[FacetCount, ...]]:
        """Every facet's values over the selected documents."""
        return {f.facet.name: f.counts(docs) for f in self._facets}
