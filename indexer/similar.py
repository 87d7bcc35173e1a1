"""Similar practices: sections of other documents that share the most distinctive words with a
document or one of its sections (a "more like this" query of its top words, by tf·idf)."""

from __future__ import annotations

import math
from collections import Counter

from whoosh import query as wq
from whoosh.searching import Searcher

from kb.errors import NotFound
from kb.normalize import normalize

from .analysis import Analyzer
from .doctable import DocTable
from .highlight import match_spans, snippet
from .results import SimilarHit

SECTION_FIELDS = ("section", "body")
TOP_WORDS = 15  # words in the query
MARKED_WORDS = 8  # of which the snippets mark the first
SHARED_SHOWN = 6


def _entry(s: Searcher, table: DocTable, doc_id: str, ord_: int | None) -> dict:
    """Stored fields of a document's entry (with all its text), or of one of its sections."""
    at = table.index.get(doc_id)
    if at is None:
        raise NotFound(f"索引中没有文档 {doc_id}")
    sections = table.sections(s, at)
    if ord_ is None:
        fields = dict(s.stored_fields(table.docnums[at]))
        fields["body"] = "\n".join(f.get("body", "") for _, f in sections)
        return fields
    for _, fields in sections:
        if fields.get("ord") == ord_ and fields.get("body"):
            return fields
    raise NotFound(f"索引中没有文档 {doc_id} 的第 {ord_} 节（只有带正文的小节才有相似做法）")


def similar(s: Searcher, table: DocTable, analyzer: Analyzer, doc_id: str, ord_: int | None,
            limit: int) -> list[SimilarHit]:
    """Practices from other documents that share the most distinctive words with this one (at
    most one per document). A document without headings is one practice, so it can be found."""
    stored = _entry(s, table, doc_id, ord_)
    heading = (stored.get("section") or stored.get("title") or "").split(" › ")[-1]
    text = heading + "\n" + stored.get("body", "")
    counts = Counter(t.text for t in analyzer.tokens(text, subwords=False)
                     if len(t.text) >= 2 and not t.text.isdigit())
    reader = s.reader()
    # Words found nowhere else cannot match anything: leave them out of the query.
    weights = {t: (1 + math.log(c)) * s.idf("body", t) for t, c in counts.items()
               if reader.doc_frequency("body", t) + reader.doc_frequency("section", t) > 1}
    top = sorted(weights, key=lambda t: (-weights[t], t))[:TOP_WORDS]
    if not top:
        return []
    q = wq.Or([wq.Term(f, t, boost=weights[t]) for t in top for f in SECTION_FIELDS])
    results = s.search(q, limit=limit * 6 + 20)
    seen, out = {doc_id}, []
    marks = set(top[:MARKED_WORDS])
    for hit in results:
        other_ord = int(table.entry_doc[hit.docnum])
        other = table.ids[other_ord] if other_ord >= 0 else None
        # Only practices: not a case's opening before its first heading, nor a bare heading.
        if other is None or other in seen or not hit.get("practice"):
            continue
        seen.add(other)
        body = hit.get("body", "")
        excerpt = snippet(body, match_spans(body, analyzer, marks, []))
        out.append(SimilarHit(
            doc_id=other, title=table.meta[other_ord].get("title", ""), section=hit.get("section"),
            ord=hit.get("ord"), snippet=excerpt.text, snippet_spans=excerpt.spans,
            score=round(float(hit.score), 4),
            shared_terms=tuple(t for t in top if t in normalize(body))[:SHARED_SHOWN]))
        if len(out) >= limit:
            break
    return out
