"""Search: parse → per-clause document sets → facets; ranked sections grouped under documents.

*Which documents match?* Each clause becomes a boolean array over documents, read from whole
posting lists (a word matches a document when its title or any of its sections holds it, so
the words of a query may sit in different sections; a phrase must sit in one section). The
arrays are combined with the query's AND / OR / NOT, so the total and the facets are exact and
cheap. *What comes first?* The best-scoring sections (BM25F, heading path boosted) and titles,
grouped by document, with highlighted snippets.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
from whoosh import query as wq
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from kb.errors import NotFound, QueryError
from kb.normalize import normalize

from .analysis import Analyzer
from .doctable import FACETS, DocTable
from .highlight import mark, match_spans, snippet
from .index import IndexStore
from .postings import query_ids, term_ids
from .query import FILTER_FIELDS, Clause, ParsedQuery, parse_query, year_range

SECTION_FIELDS = ("section", "body")
TEXT_FIELDS = ("title", "section", "body")
PER_DOC = 3
MAX_LIMIT = 100


class Highlights:
    """What to mark in results: word tokens (with synonyms) and exact strings."""

    def __init__(self) -> None:
        self.terms: set[str] = set()
        self.phrases: list[str] = []


class SearchService:
    """Searches one index; safe to share between threads (each thread keeps its own searcher)."""

    def __init__(self, store: IndexStore, analyzer: Analyzer, page_size: int = 10) -> None:
        self.store = store
        self.analyzer = analyzer
        self.page_size = page_size
        self._lock = threading.Lock()
        self._ix = None
        self._ix_dir: Path | None = None
        self._table: DocTable | None = None
        self._state: dict = {}
        self._local = threading.local()

    # ------------------------------------------------------------- plumbing
    def _searcher(self) -> Searcher:
        """This thread's searcher, kept open between searches (opening one costs tens of
        milliseconds) and renewed when the index changes."""
        current = self.store.current_dir()
        with self._lock:
            if self._ix is None or current != self._ix_dir:
                self._ix = self.store.open()
                self._ix_dir = current
                self._state = self.store.state()
            ix = self._ix
        cached = getattr(self._local, "searcher", None)
        if cached is not None and cached[0] is ix and cached[1].up_to_date():
            return cached[1]
        if cached is not None:
            cached[1].close()
        searcher = ix.searcher(weighting=BM25F())
        self._local.searcher = (ix, searcher)
        return searcher

    def _doc_table(self, s: Searcher) -> DocTable:
        """Documents' metadata and facet values, rebuilt when the index changes."""
        key = (self._ix_dir, s.reader().generation(), s.doc_count_all())
        with self._lock:
            if self._table is None or self._table.key != key:
                self._table = DocTable(s.reader(), key)
                self._state = self.store.state()
            return self._table

    # ------------------------------------------------------- query building
    def _forms(self, token: str) -> list[list[str]]:
        """A token and its synonyms, each as the token list it analyzes to."""
        forms = [[token]]
        for other in self.analyzer.synonyms.expand(token):
            terms = self.analyzer.terms(other)
            if terms and terms not in forms:
                forms.append(terms)
        return forms

    @staticmethod
    def _seq(fieldname: str, terms: list[str], boost: float = 1.0) -> wq.Query:
        if len(terms) == 1:
            return wq.Term(fieldname, terms[0], boost=boost)
        return wq.Phrase(fieldname, terms, boost=boost)

    def _clause(self, clause: Clause, marks: Highlights | None) -> tuple[wq.Query | None, wq.Query | None]:
        """(title query, section query) of one clause, for ranking; None where it cannot match."""
        tokens = self.analyzer.terms(clause.text)
        if not tokens:
            return None, None
        if clause.phrase:
            if marks is not None:
                marks.phrases.append(clause.text)
            title = self._seq("title", tokens)
            if clause.field == "title":
                return title, None
            return title, _or([self._seq(f, tokens) for f in SECTION_FIELDS])
        title_parts, sec_parts = [], []
        for token in tokens:
            forms = self._forms(token)
            if marks is not None:
                for form in forms:
                    (marks.terms.add(form[0]) if len(form) == 1 else marks.phrases.append("".join(form)))
            title_parts.append(_or([self._seq("title", form) for form in forms]))
            sec_parts.append(_or([self._seq(f, form) for f in SECTION_FIELDS for form in forms]))
        if len(tokens) > 1 and marks is not None:
            marks.phrases.append(clause.text)
        title_q = _and(title_parts)
        sec_q = None if clause.field == "title" else _and(sec_parts)
        if sec_q is not None and len(tokens) > 1:  # the words in sequence rank higher
            sec_q = wq.AndMaybe(sec_q, _or([wq.Phrase(f, tokens, boost=2.0) for f in SECTION_FIELDS]))
        return title_q, sec_q

    def _filter_query(self, name: str, value: str, known_modes: list[str]) -> wq.Query:
        if name == "year":
            low, high = year_range(value)
            return wq.NumericRange("year", low, high)
        folded = normalize(value.strip())
        if name == "mode" and known_modes and value.strip() not in known_modes:
            raise QueryError(f"未知的工作模式 {value!r}；可用：{'、'.join(known_modes)}", fragment=value)
        if name == "region":
            return wq.Term("region", "/".join(p for p in folded.split("/") if p))
        if name == "unit":
            words = self.analyzer.terms(value)
            alternatives = [wq.Term("unit", folded)]
            if words:
                alternatives.append(self._seq("unit_text", words))
            return wq.Or(alternatives)
        return wq.Term(name, folded)

    # ------------------------------------------------------- document sets
    def _entry_docs(self, table: DocTable, ids: np.ndarray) -> np.ndarray:
        found = np.zeros(table.size, dtype=bool)
        ords = table.docs_of_entries(ids)
        found[ords[ords >= 0]] = True
        return found

    def _word_docs(self, s: Searcher, table: DocTable, form: list[str], fields: tuple[str, ...]) -> np.ndarray:
        """Documents holding one word (or, for a multi-word synonym, that phrase)."""
        if len(form) == 1:
            reader = s.reader()
            ids = [term_ids(reader, f, form[0]) for f in fields]
            return self._entry_docs(table, np.concatenate(ids))
        return self._entry_docs(table, query_ids(s, _or([wq.Phrase(f, form) for f in fields])))

    def _clause_docs(self, s: Searcher, table: DocTable, clause: Clause) -> np.ndarray:
        """Documents matching one clause: every word somewhere in the document, or the phrase in
        one of its sections or its title."""
        tokens = self.analyzer.terms(clause.text)
        fields = ("title",) if clause.field == "title" else TEXT_FIELDS
        if clause.phrase:
            return self._word_docs(s, table, tokens, fields)
        docs = table.live.copy()
        for token in tokens:
            either = np.zeros(table.size, dtype=bool)
            for form in self._forms(token):
                either |= self._word_docs(s, table, form, fields)
            docs &= either
        return docs

    def _filter_docs(self, s: Searcher, table: DocTable, q: wq.Query) -> np.ndarray:
        return self._entry_docs(table, query_ids(s, wq.And([wq.Term("kind", "doc"), q])))

    # --------------------------------------------------------------- search
    def search(self, q: str, filters: dict[str, list[str]] | None = None, page: int = 1,
               limit: int | None = None, sort: str = "relevance") -> dict[str, object]:
        """Search documents and their sections; returns the JSON-ready result object."""
        started = time.perf_counter()
        parsed = self._searchable(parse_query(_merge_filters(q, filters)))
        limit = max(1, min(int(limit or self.page_size), MAX_LIMIT))
        page = max(1, int(page))
        if sort not in ("relevance", "date"):
            raise QueryError(f"无效的排序方式 {sort!r}：可用 relevance、date")
        marks = Highlights()
        s = self._searcher()
        table = self._doc_table(s)
        known_modes = list(self._state.get("modes") or [])
        filter_q = self._filters(parsed, known_modes)
        docs = self._matching_docs(s, table, parsed, filter_q, known_modes)
        ranked_sections: dict[int, list[tuple[float, int]]] = {}
        if parsed.has_text and sort == "relevance":
            order, ranked_sections = self._rank(s, table, parsed, docs, marks, page * limit)
        else:
            self._collect_marks(parsed, marks)
            order = table.by_date(docs)
        total = int(docs.sum())
        pages = max(1, math.ceil(total / limit))
        hits = []
        page_sec_q = None  # built once, only if a page document needs its sections looked up
        for rank, ord_ in enumerate(order[(page - 1) * limit: page * limit], (page - 1) * limit + 1):
            sections = ranked_sections.get(ord_)
            if sections is None and parsed.has_text:
                page_sec_q = page_sec_q or self._section_query(parsed, None)
                sections = self._best_sections(s, table, page_sec_q, ord_)
            hits.extend(self._group_hits(s, table, ord_, sections or [], marks, rank))
        facets = table.facets(docs)
        return {
            "query": q, "filters": dict(parsed.filters), "total": total, "page": page,
            "pages": pages, "limit": limit, "sort": sort, "hits": hits, "facets": facets,
            "took_ms": round((time.perf_counter() - started) * 1000, 1),
        }

    def _searchable(self, parsed: ParsedQuery) -> ParsedQuery:
        """Drop clauses with nothing to search (only punctuation); refuse a query left empty."""
        had_text = parsed.has_text
        parsed.groups = [g for g in ([c for c in group if self.analyzer.terms(c.text)]
                                     for group in parsed.groups) if g]
        parsed.negated = [c for c in parsed.negated if self.analyzer.terms(c.text)]
        if had_text and not parsed.groups:
            raise QueryError("检索词里没有可检索的文字（只有标点或空白）")
        return parsed

    def _filters(self, parsed: ParsedQuery, known_modes: list[str]) -> wq.Query | None:
        queries = [self._filter_query(name, v, known_modes)
                   for name, values in parsed.filters.items() if not name.startswith("-") for v in values]
        return _and(queries) if queries else None

    def _matching_docs(self, s: Searcher, table: DocTable, parsed: ParsedQuery,
                       filter_q: wq.Query | None, known_modes: list[str]) -> np.ndarray:
        docs = table.live.copy()
        for group in parsed.groups:
            either = np.zeros(table.size, dtype=bool)
            for clause in group:
                either |= self._clause_docs(s, table, clause)
            docs &= either
        if filter_q is not None:
            docs &= self._filter_docs(s, table, filter_q)
        for name, values in parsed.filters.items():
            if name.startswith("-"):
                for v in values:
                    docs &= ~self._filter_docs(s, table, self._filter_query(name[1:], v, known_modes))
        for clause in parsed.negated:
            docs &= ~self._clause_docs(s, table, clause)
        return docs

    def _section_query(self, parsed: ParsedQuery, marks: Highlights | None) -> wq.Query | None:
        groups = []
        for group in parsed.groups:
            parts = [sec for sec in (self._clause(c, marks)[1] for c in group) if sec is not None]
            if len(parts) == len(group):  # a title-only alternative leaves the group unconstrained
                groups.append(_or(parts))
        return _and(groups) if groups else None

    def _title_query(self, parsed: ParsedQuery) -> wq.Query | None:
        groups = []
        for group in parsed.groups:
            parts = [t for t in (self._clause(c, None)[0] for c in group) if t is not None]
            if not parts:
                return None
            groups.append(_or(parts))
        return _and(groups) if groups else None

    def _collect_marks(self, parsed: ParsedQuery, marks: Highlights) -> None:
        for clause in parsed.clauses():
            self._clause(clause, marks)

    def _rank(self, s: Searcher, table: DocTable, parsed: ParsedQuery, docs: np.ndarray,
              marks: Highlights, needed: int) -> tuple[list[int], dict[int, list[tuple[float, int]]]]:
        """Document order by best entry score, and each document's best sections."""
        sec_q = self._section_query(parsed, marks)
        title_q = self._title_query(parsed)
        want = int(docs.sum())
        # A selective query (few documents) lets Whoosh score only those documents' sections.
        allowed = set(table.section_entries(docs).tolist()) if want < 0.2 * table.size else None
        k = max(60, needed * 6)
        while True:
            best: dict[int, float] = {}
            sections: dict[int, list[tuple[float, int]]] = {}
            exhausted = True  # no search filled its limit: a larger limit would find nothing more
            if sec_q is not None:
                found = s.search(sec_q, filter=allowed, limit=k).top_n
                exhausted = len(found) < k
                for hit_score, docnum in found:
                    ord_ = int(table.entry_doc[docnum])
                    if ord_ >= 0 and docs[ord_]:
                        sections.setdefault(ord_, []).append((hit_score, docnum))
                        best[ord_] = max(best.get(ord_, 0.0), hit_score)
            if title_q is not None:
                found = s.search(title_q, limit=k).top_n
                exhausted = exhausted and len(found) < k
                for hit_score, docnum in found:
                    ord_ = int(table.entry_doc[docnum])
                    if ord_ >= 0 and docs[ord_]:
                        best[ord_] = max(best.get(ord_, 0.0), hit_score)
            if len(best) >= min(needed, want) or exhausted or k >= table.entries:
                break
            k *= 4
        order = sorted(best, key=lambda o: (-best[o], table.ids[o]))
        if len(order) < want:  # documents matched only across sections, newest first
            seen = set(order)
            order += [o for o in table.by_date(docs) if o not in seen]
        return order, sections

    @staticmethod
    def _best_sections(s: Searcher, table: DocTable, sec_q: wq.Query | None,
                       ord_: int) -> list[tuple[float, int]]:
        """One document's best sections for a query (its entries follow the document's entry)."""
        allowed = set(table.entries_of(ord_))
        if sec_q is None or not allowed:
            return []
        return list(s.search(sec_q, filter=allowed, limit=PER_DOC).top_n)

    def _group_hits(self, s: Searcher, table: DocTable, ord_: int, sections: list[tuple[float, int]],
                    marks: Highlights, rank: int) -> list[dict[str, object]]:
        meta = table.meta[ord_]
        title = meta.get("title", "")
        base = {
            "doc_id": meta["doc_id"], "title": title,
            "title_html": mark(title, match_spans(title, self.analyzer, marks.terms, marks.phrases)),
            "rank": rank, "modes": meta.get("modes", []), "suggested_modes": meta.get("suggested_modes", []),
            "date": meta.get("date"), "region": meta.get("region"), "domain": meta.get("domain", []),
            "type": meta.get("type"), "unit": meta.get("unit"),
        }
        chosen = sorted(sections, key=lambda e: -e[0])[:PER_DOC]
        if not chosen:
            body, spans = self._document_passage(s, table, ord_, marks)
            return [dict(base, section=None, section_html=None, ord=None, kind="document",
                         practice=False, snippet=snippet(body, spans), score=0.0)]
        out = []
        for hit_score, docnum in chosen:
            fields = s.stored_fields(docnum)
            body, section = fields.get("body", ""), fields.get("section", "")
            if not body:  # a bare heading: show the text that follows it
                body = next((f.get("body", "") for _, f in self._sections(s, table, ord_)
                             if f.get("ord", -1) > fields.get("ord", -1) and f.get("body")), "")
            spans = match_spans(body, self.analyzer, marks.terms, marks.phrases)
            out.append(dict(
                base, section=section,
                section_html=mark(section, match_spans(section, self.analyzer, marks.terms, marks.phrases)),
                ord=fields.get("ord"), kind="practice" if fields.get("practice") else "section",
                practice=bool(fields.get("practice")), snippet=snippet(body, spans),
                score=round(float(hit_score), 4)))
        return out

    @staticmethod
    def _sections(s: Searcher, table: DocTable, ord_: int) -> list[tuple[int, dict]]:
        """(entry number, stored fields) of a document's live section entries, in order."""
        reader = s.reader()
        return [(n, s.stored_fields(n)) for n in table.entries_of(ord_) if not reader.is_deleted(n)]

    def _document_passage(self, s: Searcher, table: DocTable, ord_: int,
                          marks: Highlights) -> tuple[str, list[tuple[int, int]]]:
        """For a whole-document hit: the first section text with a match, else the opening."""
        first = ""
        for _, fields in self._sections(s, table, ord_):
            body = fields.get("body", "")
            if not body:
                continue
            first = first or body
            if marks.terms or marks.phrases:
                spans = match_spans(body, self.analyzer, marks.terms, marks.phrases)
                if spans:
                    return body, spans
            else:
                break
        return first, []

    # -------------------------------------------------------------- similar
    @staticmethod
    def _entry(s: Searcher, table: DocTable, doc_id: str, ord_: int | None) -> dict:
        """Stored fields of a document's entry, or of one of its sections."""
        at = table.index.get(doc_id)
        if at is None:
            raise NotFound(f"索引中没有文档 {doc_id}")
        sections = SearchService._sections(s, table, at)
        if ord_ is None:
            fields = dict(s.stored_fields(table.docnums[at]))
            fields["body"] = "\n".join(f.get("body", "") for _, f in sections)
            return fields
        for _, fields in sections:
            if fields.get("ord") == ord_ and fields.get("body"):
                return fields
        raise NotFound(f"索引中没有文档 {doc_id} 的第 {ord_} 节（只有带正文的小节才有相似做法）")

    def similar(self, doc_id: str, ord: int | None = None, limit: int = 5) -> list[dict[str, object]]:
        """Practices from other documents that share the most distinctive words with this one."""
        s = self._searcher()
        table = self._doc_table(s)
        stored = self._entry(s, table, doc_id, ord)
        heading = (stored.get("section") or stored.get("title") or "").split(" › ")[-1]
        text = heading + "\n" + stored.get("body", "")
        counts = Counter(t.text for t in self.analyzer.tokens(text, subwords=False)
                         if len(t.text) >= 2 and not t.text.isdigit())
        reader = s.reader()
        # Words found nowhere else cannot match anything: leave them out of the query.
        weights = {t: (1 + math.log(c)) * s.idf("body", t) for t, c in counts.items()
                   if reader.doc_frequency("body", t) + reader.doc_frequency("section", t) > 1}
        top = sorted(weights, key=lambda t: (-weights[t], t))[:15]
        if not top:
            return []
        q = wq.Or([wq.Term(f, t, boost=weights[t]) for t in top for f in SECTION_FIELDS])
        results = s.search(q, limit=limit * 6 + 20)
        seen, out = {doc_id}, []
        marks = set(top[:8])
        for hit in results:
            ord_ = int(table.entry_doc[hit.docnum])
            other = table.ids[ord_] if ord_ >= 0 else None
            if other is None or other in seen:
                continue
            seen.add(other)
            body = hit.get("body", "")
            out.append({
                "doc_id": other, "title": table.meta[ord_].get("title", ""),
                "section": hit.get("section"), "ord": hit.get("ord"),
                "snippet": snippet(body, match_spans(body, self.analyzer, marks, [])),
                "score": round(float(hit.score), 4),
                "shared_terms": [t for t in top if t in normalize(body)][:6],
            })
            if len(out) >= limit:
                break
        return out


def _or(parts: list[wq.Query]) -> wq.Query:
    return parts[0] if len(parts) == 1 else wq.Or(parts)


def _and(parts: list[wq.Query]) -> wq.Query:
    return parts[0] if len(parts) == 1 else wq.And(parts)


def _merge_filters(q: str, filters: dict[str, list[str]] | None) -> str:
    """Fold option-style filters (``--mode X``) into the query string as ``mode:"X"``."""
    parts = [q or ""]
    for name, values in (filters or {}).items():
        if name not in FILTER_FIELDS:
            raise QueryError(f"未知的筛选字段 {name!r}；可用：{'、'.join(FILTER_FIELDS)}")
        for value in values:
            if value:
                parts.append(f'{name}:"{value}"')
    return " ".join(p for p in parts if p)


__all__ = ["FACETS", "SearchService"]
