"""Search: parse → units → per-document arrays → best-match order → hits grouped under documents.

*Which documents match?* Every query term's whole posting list is read once as arrays and
summed per document (:mod:`indexer.ranking`): a document matches when it shares a word, a
synonym or a part of a word with the query, holds every ``+`` unit and passes the
filters and exclusions; a phrase must sit in one section or the title. So the total, the count
of documents holding every word and the facets are exact and cheap. *What comes first?* The
documents holding the most units, then BM25F; each document's best sections become its hits,
with highlighted snippets. A query whose words no document holds gets a 您是不是要找
correction from the index's own vocabulary (:mod:`indexer.spelling`).
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
from .doctable import DocTable
from .facets import facet
from .highlight import mark, match_spans, snippet
from .index import IndexStore
from .postings import query_ids, term_ids
from .query import FILTER_FIELDS, Clause, ParsedQuery, parse_query
from .ranking import (
    CHAR_WEIGHT,
    PART_WEIGHT,
    SYNONYM_WEIGHT,
    Postings,
    Terms,
    Unit,
    coordination,
    order,
    score,
    section_scores,
)
from .spelling import Sounds, Vocabulary, suggest

SECTION_FIELDS = ("section", "body")
TEXT_FIELDS = ("title", "section", "body")
PER_DOC = 3
MAX_LIMIT = 100
SUGGEST_BELOW = 3  # offer 您是不是要找 when fewer documents than this hold every word


class Highlights:
    """What to mark in results: word tokens (with synonyms), exact strings, and the parts of
    compounds, which are marked only in a text that does not hold the compound itself (so
    服务联盟 does not light up every 服务 of a text that has 服务联盟)."""

    def __init__(self) -> None:
        self.terms: set[str] = set()
        self.phrases: list[str] = []
        self.parts: dict[str, list[str]] = {}

    def spans(self, text: str, analyzer: Analyzer) -> list[tuple[int, int]]:
        """The spans to mark in ``text``."""
        terms = self.terms
        if self.parts:
            folded = normalize(text)
            missing = [p for word, parts in self.parts.items() if word not in folded for p in parts]
            terms = terms | set(missing) if missing else terms
        return match_spans(text, analyzer, terms, self.phrases)


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
        self._sounds: tuple[tuple, Sounds] | None = None
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

    def _filter_query(self, name: str, value: str, known_modes: list[str]) -> wq.Query:
        """A filter value as a query (:mod:`indexer.facets`); a mode must be one the index knows."""
        f = facet(name)
        if f.choices:
            f.check_known(value, known_modes)
        return f.query(value, self.analyzer.terms)

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

    # ---------------------------------------------------------------- units
    def _word_present(self, s: Searcher, table: DocTable, postings: Postings, token: str,
                      fields: tuple[str, ...], terms: Terms, marks: Highlights) -> np.ndarray:
        """Documents that hold one query word (itself, a synonym or all of its parts); adds what
        it scores with (also its characters) to ``terms``."""
        terms.add_word(fields, token, 1.0)
        marks.terms.add(token)
        present = postings.present(fields, token)
        for form in self._forms(token)[1:]:
            if len(form) == 1:
                terms.add_word(fields, form[0], SYNONYM_WEIGHT)
                marks.terms.add(form[0])
                present |= postings.present(fields, form[0])
            else:
                for term in form:
                    terms.add_word(fields, term, SYNONYM_WEIGHT / len(form))
                marks.phrases.append("".join(form))
                present |= self._word_docs(s, table, form, fields)
        parts = list(dict.fromkeys(self.analyzer.parts(token)))
        if parts:
            every = table.live.copy()
            marks.parts[token] = parts
            for part in parts:
                terms.add_word(fields, part, PART_WEIGHT)
                every &= postings.present(fields, part)
            present |= every
        if "body" in fields:  # characters rank (over the whole document), they do not match
            for ch in self.analyzer.word_chars(token):
                terms.add_char(ch, CHAR_WEIGHT)
        return present

    def _clause_present(self, s: Searcher, table: DocTable, postings: Postings, clause: Clause,
                        terms: Terms, marks: Highlights) -> np.ndarray:
        """Documents that hold a whole clause: the phrase in one section or the title, or every
        word of it somewhere in the document."""
        tokens = self.analyzer.terms(clause.text)
        fields = ("title",) if clause.field == "title" else TEXT_FIELDS
        if clause.phrase:
            marks.phrases.append(clause.text)
            for token in tokens:
                terms.add_word(fields, token, 1.0, exact=True)
            return self._word_docs(s, table, tokens, fields)
        present = table.live.copy()
        for _, held in self._word_units(s, table, postings, clause, terms, marks):
            present &= held
        return present

    def _word_units(self, s: Searcher, table: DocTable, postings: Postings, clause: Clause,
                    terms: Terms, marks: Highlights) -> list[tuple[str, np.ndarray]]:
        """Each distinct word of a plain clause with the documents that hold it."""
        tokens = self.analyzer.terms(clause.text)
        fields = ("title",) if clause.field == "title" else TEXT_FIELDS
        if len(tokens) > 1:
            marks.phrases.append(clause.text)
        return [(token, self._word_present(s, table, postings, token, fields, terms, marks))
                for token in dict.fromkeys(tokens)]

    def _units(self, s: Searcher, table: DocTable, postings: Postings, parsed: ParsedQuery,
               terms: Terms, marks: Highlights) -> list[Unit]:
        """The query's units: each word of a plain clause, each phrase, each OR group."""
        units = []
        for group in parsed.groups:
            required = parsed.required(group)
            if len(group) == 1 and not group[0].phrase:
                units.extend(Unit(token, held, required)
                             for token, held in self._word_units(s, table, postings, group[0], terms, marks))
                continue
            present = np.zeros(table.size, dtype=bool)
            for alternative in group:
                present |= self._clause_present(s, table, postings, alternative, terms, marks)
            units.append(Unit(" OR ".join(c.text for c in group), present, required))
        return units

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
        postings = Postings(s.reader(), table)
        terms = Terms()
        units = self._units(s, table, postings, parsed, terms, marks)
        scores, shares = score(postings, terms) if units else (None, None)
        docs = self._matching_docs(s, table, parsed, units, shares, known_modes)
        level = coordination(units, table.size)
        total = int(docs.sum())
        total_all = int((docs & (level == len(units))).sum()) if units else total
        if scores is not None and sort == "relevance":
            ranked = order(docs, level, scores, table.id_rank)
        else:
            ranked = table.by_date(docs)
        pages = max(1, math.ceil(total / limit))
        hits = []
        for rank, ord_ in enumerate(ranked[(page - 1) * limit: page * limit], (page - 1) * limit + 1):
            hits.extend(self._group_hits(s, table, ord_, postings, terms, marks, rank))
        suggestion = None
        if units and total_all < SUGGEST_BELOW:
            suggestion = self._suggest(s, table, q, parsed, units)
        return {
            "query": q, "filters": dict(parsed.filters), "total": total, "total_all": total_all,
            "page": page, "pages": pages, "limit": limit, "sort": sort, "hits": hits,
            "facets": table.facets(docs), "suggestion": suggestion,
            "took_ms": round((time.perf_counter() - started) * 1000, 1),
        }

    def _searchable(self, parsed: ParsedQuery) -> ParsedQuery:
        """Drop clauses with nothing to search (only punctuation); refuse a query left empty."""
        had_text = parsed.has_text
        parsed.groups = [g for g in ([c for c in group if self.analyzer.terms(c.text)]
                                     for group in parsed.groups) if g]
        parsed.negated = [c for c in parsed.negated if self.analyzer.terms(c.text)]
        if had_text and not parsed.groups and not any(not k.startswith("-") for k in parsed.filters):
            raise QueryError("检索词里没有可检索的文字（只有标点或空白）")
        return parsed

    def _filters(self, parsed: ParsedQuery, known_modes: list[str]) -> wq.Query | None:
        queries = [self._filter_query(name, v, known_modes)
                   for name, values in parsed.filters.items() if not name.startswith("-") for v in values]
        return _and(queries) if queries else None

    def _matching_docs(self, s: Searcher, table: DocTable, parsed: ParsedQuery, units: list[Unit],
                       shares: np.ndarray | None, known_modes: list[str]) -> np.ndarray:
        """Documents that share a word, a synonym or a part of a word with the query (and hold
        every required unit), within the filters, without the excluded words."""
        docs = table.live.copy()
        if units:
            held = shares.copy() if shares is not None else np.zeros(table.size, dtype=bool)
            for unit in units:
                held |= unit.present
                if unit.required:
                    docs &= unit.present
            docs &= held
        filter_q = self._filters(parsed, known_modes)
        if filter_q is not None:
            docs &= self._filter_docs(s, table, filter_q)
        for name, values in parsed.filters.items():
            if name.startswith("-"):
                for v in values:
                    docs &= ~self._filter_docs(s, table, self._filter_query(name[1:], v, known_modes))
        for clause in parsed.negated:
            docs &= ~self._clause_docs(s, table, clause)
        return docs

    def _group_hits(self, s: Searcher, table: DocTable, ord_: int, postings: Postings, terms: Terms,
                    marks: Highlights, rank: int) -> list[dict[str, object]]:
        """A document's hits: its best sections (at most three), or the document itself."""
        meta = table.meta[ord_]
        title = meta.get("title", "")
        base = {
            "doc_id": meta["doc_id"], "title": title,
            "title_html": mark(title, marks.spans(title, self.analyzer)),
            "rank": rank, "modes": meta.get("modes", []), "suggested_modes": meta.get("suggested_modes", []),
            "date": meta.get("date"), "region": meta.get("region"), "domain": meta.get("domain", []),
            "type": meta.get("type"), "unit": meta.get("unit"),
        }
        sections = {n: f for n, f in self._sections(s, table, ord_) if f.get("body")}
        lengths = {n: len(f.get("body", "")) + len(f.get("section", "")) for n, f in sections.items()}
        scored = section_scores(postings, terms, table.entries_of(ord_), lengths)
        chosen = sorted((n for n in scored if n in sections and scored[n] > 0),
                        key=lambda n: (-scored[n], n))[:PER_DOC]
        if not chosen:
            body, spans = self._document_passage(list(sections.values()), marks)
            return [dict(base, section=None, section_html=None, ord=None, kind="document",
                         practice=False, snippet=snippet(body, spans), score=0.0)]
        out = []
        for n in chosen:
            fields = sections[n]
            body, section = fields.get("body", ""), fields.get("section", "")
            spans = marks.spans(body, self.analyzer)
            out.append(dict(
                base, section=section,
                section_html=mark(section, marks.spans(section, self.analyzer)),
                ord=fields.get("ord"), kind="practice" if fields.get("practice") else "section",
                practice=bool(fields.get("practice")), snippet=snippet(body, spans),
                score=round(float(scored[n]), 4)))
        return out

    @staticmethod
    def _sections(s: Searcher, table: DocTable, ord_: int) -> list[tuple[int, dict]]:
        """(entry number, stored fields) of a document's live section entries, in order."""
        reader = s.reader()
        return [(n, s.stored_fields(n)) for n in table.entries_of(ord_) if not reader.is_deleted(n)]

    def _document_passage(self, sections: list[dict],
                          marks: Highlights) -> tuple[str, list[tuple[int, int]]]:
        """For a whole-document hit: the first section text (of the stored fields of sections
        with text, in order) with a match, else the opening."""
        first = ""
        for fields in sections:
            body = fields["body"]
            first = first or body
            if marks.terms or marks.phrases:
                spans = marks.spans(body, self.analyzer)
                if spans:
                    return body, spans
            else:
                break
        return first, []

    # ----------------------------------------------------------- suggestion
    def _vocabulary(self, s: Searcher, table: DocTable) -> Vocabulary:
        """The index's vocabulary for corrections, with this thread's reader; what it shares
        between searches is built on first need per index version."""
        with self._lock:
            cached = self._sounds
        if cached is None or cached[0] != table.key:
            cached = (table.key, Sounds(s.reader()))
            with self._lock:
                self._sounds = cached
        return Vocabulary(s.reader(), cached[1])

    def _suggest(self, s: Searcher, table: DocTable, q: str, parsed: ParsedQuery,
                 units: list[Unit]) -> str | None:
        """您是不是要找: the query with the words no document holds replaced by known ones, or None."""
        held = {u.label: int(u.present.sum()) for u in units}
        chunks = []
        for clause in parsed.clauses():
            if clause.field or clause.phrase:
                continue
            words = self.analyzer.terms(clause.text)
            missing = [w for w in words if not held.get(w, 0)]
            if missing:  # a word no document holds, not even by a synonym or its parts
                chunks.append((clause.text, missing))
        if not chunks:
            return None
        return suggest(self._vocabulary(s, table), q, chunks)

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


__all__ = ["SearchService"]
