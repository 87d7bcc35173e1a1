"""What search returns: results as data (plain text and character spans), and their JSON form.

A :class:`SearchResult` holds :class:`Hit` objects; each hit carries its title, heading path and
snippet as plain text with the spans that matched (offsets into that text). The fronts mark the
spans their own way: the site's templates with ``<mark>``, ``kb search`` with 【】. The JSON of
``kb search --json`` and ``/api/search`` is :meth:`SearchResult.to_dict`, where :func:`mark` (the
one place that writes HTML) turns text and spans into ``title_html``, ``section_html`` and
``snippet``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from html import escape

from whoosh.searching import Searcher

from .analysis import Analyzer
from .doctable import DocTable
from .facets import FacetCount
from .highlight import Excerpt, Highlight, Spans, snippet
from .ranking import Postings, Weights, section_scores

PER_DOC = 3  # hits per document at most


def pieces(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut at the spans: (piece, marked) in order; a span overlapping the one before
    it is marked from where that one ended. Every front marks hits from these pieces."""
    out: list[tuple[str, bool]] = []
    at = 0
    for s, e in spans:
        s, e = max(s, at), min(e, len(text))
        if e <= s:
            continue
        out.append((text[at:s], False))
        out.append((text[s:e], True))
        at = e
    out.append((text[at:], False))
    return out


def mark(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` as HTML, with the spans wrapped in ``<mark>`` (the only markup)."""
    return "".join(f"<mark>{escape(piece)}</mark>" if marked else escape(piece)
                   for piece, marked in pieces(text, spans))


class HitKind(StrEnum):
    PRACTICE = "practice"  # a leaf section
    SECTION = "section"  # text before the first heading, or a part's own introduction
    DOCUMENT = "document"  # the words matched in the title or across several sections


@dataclass(frozen=True)
class Hit:
    """One hit: a section of a document (or the whole document), with the document's metadata."""

    doc_id: str
    title: str
    title_spans: Spans
    rank: int  # the document's rank
    modes: tuple[str, ...]  # confirmed
    suggested_modes: tuple[str, ...]  # suggested, not yet decided
    date: str | None
    region: str | None
    domains: tuple[str, ...]
    type: str | None
    unit: str | None
    section: str | None  # the heading path; None for a whole-document hit
    section_spans: Spans
    ord: int | None  # the section number (None for a whole-document hit)
    kind: HitKind
    practice: bool
    snippet: str  # the excerpt, with "…" where it leaves text out
    snippet_spans: Spans
    score: float

    def to_dict(self) -> dict[str, object]:
        return {
            "doc_id": self.doc_id, "title": self.title, "title_html": mark(self.title, self.title_spans),
            "rank": self.rank, "modes": list(self.modes), "suggested_modes": list(self.suggested_modes),
            "date": self.date, "region": self.region, "domain": list(self.domains), "type": self.type,
            "unit": self.unit, "section": self.section,
            "section_html": None if self.section is None else mark(self.section, self.section_spans),
            "ord": self.ord, "kind": self.kind.value, "practice": self.practice,
            "snippet": mark(self.snippet, self.snippet_spans), "score": self.score,
        }


@dataclass(frozen=True)
class SearchResult:
    query: str
    filters: Mapping[str, tuple[str, ...]]  # as given ("-mode" for an excluded value)
    total: int  # documents that match
    total_all: int  # documents that hold every word
    page: int
    pages: int
    limit: int
    sort: str
    hits: tuple[Hit, ...]  # in rank order, a document's hits together
    facets: Mapping[str, tuple[FacetCount, ...]]  # over the matching documents
    suggestion: str | None  # 您是不是要找
    took_ms: float

    def to_dict(self) -> dict[str, object]:
        """The JSON object of ``kb search --json`` and ``/api/search`` (see the README)."""
        return {
            "query": self.query, "filters": {k: list(v) for k, v in self.filters.items()},
            "total": self.total, "total_all": self.total_all, "page": self.page, "pages": self.pages,
            "limit": self.limit, "sort": self.sort, "hits": [h.to_dict() for h in self.hits],
            "facets": {name: [{"value": b.value, "count": b.count} for b in buckets]
                       for name, buckets in self.facets.items()},
            "suggestion": self.suggestion, "took_ms": self.took_ms,
        }


@dataclass(frozen=True)
class SimilarHit:
    """A practice of another document that shares distinctive words with the one asked about."""

    doc_id: str
    title: str
    section: str | None
    ord: int | None
    snippet: str
    snippet_spans: Spans
    score: float
    shared_terms: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"doc_id": self.doc_id, "title": self.title, "section": self.section, "ord": self.ord,
                "snippet": mark(self.snippet, self.snippet_spans), "score": self.score,
                "shared_terms": list(self.shared_terms)}


class HitMaker:
    """Makes the hits of the documents on a result page: each document's best sections (at
    most :data:`PER_DOC`, by BM25 over its sections), or the document itself."""

    def __init__(self, s: Searcher, table: DocTable, postings: Postings, weights: Weights,
                 highlight: Highlight, analyzer: Analyzer) -> None:
        self.s = s
        self.table = table
        self.postings = postings
        self.weights = weights
        self.highlight = highlight
        self.analyzer = analyzer

    def spans(self, text: str) -> Spans:
        return self.highlight.spans(text, self.analyzer)

    def hits(self, ord_: int, rank: int) -> list[Hit]:
        meta = self.table.meta[ord_]
        title = meta.get("title", "")
        sections = {n: f for n, f in self.table.sections(self.s, ord_) if f.get("body")}
        lengths = {n: len(f.get("body", "")) + len(f.get("section", "")) for n, f in sections.items()}
        scored = section_scores(self.postings, self.weights, self.table.entries_of(ord_), lengths)
        chosen = sorted((n for n in scored if n in sections and scored[n] > 0),
                        key=lambda n: (-scored[n], n))[:PER_DOC]
        title_spans = self.spans(title)

        def hit(section: str | None, ord_: int | None, kind: HitKind, excerpt: Excerpt, score: float) -> Hit:
            return Hit(
                doc_id=meta["doc_id"], title=title, title_spans=title_spans, rank=rank,
                modes=tuple(meta.get("modes", [])), suggested_modes=tuple(meta.get("suggested_modes", [])),
                date=meta.get("date"), region=meta.get("region"), domains=tuple(meta.get("domain", [])),
                type=meta.get("type"), unit=meta.get("unit"), section=section,
                section_spans=self.spans(section) if section else (), ord=ord_, kind=kind,
                practice=kind is HitKind.PRACTICE, snippet=excerpt.text, snippet_spans=excerpt.spans,
                score=score)

        if not chosen:
            return [hit(None, None, HitKind.DOCUMENT, snippet(*self._passage(list(sections.values()))), 0.0)]
        out = []
        for n in chosen:
            fields = sections[n]
            body = fields.get("body", "")
            kind = HitKind.PRACTICE if fields.get("practice") else HitKind.SECTION
            out.append(hit(fields.get("section", ""), fields.get("ord"), kind,
                           snippet(body, self.spans(body)), round(float(scored[n]), 4)))
        return out

    def _passage(self, sections: list[dict]) -> tuple[str, Spans]:
        """For a whole-document hit: the first section text (of the stored fields of sections
        with text, in order) with a match, else the opening."""
        first = ""
        for fields in sections:
            body = fields["body"]
            first = first or body
            if not self.highlight:
                break
            spans = self.spans(body)
            if spans:
                return body, spans
        return first, ()
