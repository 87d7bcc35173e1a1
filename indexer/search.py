"""Search: parse → Whoosh query → group practices under their documents → facets → snippets."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from pathlib import Path

from whoosh import query as wq
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from kb.errors import NotFound, QueryError
from kb.normalize import normalize

from .analysis import Analyzer
from .highlight import mark, match_spans, snippet
from .index import IndexStore
from .query import FILTER_FIELDS, Clause, ParsedQuery, parse_query, year_range

WORD_FIELDS = ("title", "section", "body")
FACETS = ("mode", "domain", "region", "year", "type", "unit")
PER_DOC = 3
MAX_LIMIT = 100


class Highlights:
    """What to mark in results: word tokens (with synonyms) and exact strings."""

    def __init__(self) -> None:
        self.terms: set[str] = set()
        self.phrases: list[str] = []


class SearchService:
    """Searches one index; safe to share between threads (each call opens its own searcher)."""

    def __init__(self, store: IndexStore, analyzer: Analyzer, page_size: int = 10) -> None:
        self.store = store
        self.analyzer = analyzer
        self.page_size = page_size
        self._lock = threading.Lock()
        self._ix = None
        self._ix_dir: Path | None = None
        self._meta: dict[str, dict] = {}
        self._meta_key: tuple | None = None

    # ------------------------------------------------------------- plumbing
    def _index(self):  # noqa: ANN202 - whoosh Index
        current = self.store.current_dir()
        with self._lock:
            if self._ix is None or current != self._ix_dir:
                self._ix = self.store.open()
                self._ix_dir = current
            return self._ix

    def _searcher(self) -> Searcher:
        return self._index().searcher(weighting=BM25F())

    def _doc_meta(self, s: Searcher) -> dict[str, dict]:
        """doc_id → stored metadata of every document, cached per index version."""
        key = (self._ix_dir, s.reader().generation() if hasattr(s.reader(), "generation") else None,
               s.doc_count_all())
        with self._lock:
            if self._meta_key != key:
                meta = {}
                for docnum in s.document_numbers(kind="doc"):
                    fields = s.stored_fields(docnum)
                    meta[fields["doc_id"]] = fields["meta"]
                self._meta, self._meta_key = meta, key
            return self._meta

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

    def _clause_query(self, clause: Clause, marks: Highlights) -> wq.Query | None:
        fields = ("title",) if clause.field == "title" else WORD_FIELDS
        tokens = self.analyzer.terms(clause.text)
        if not tokens:
            return None
        if clause.phrase:
            parts = [self._seq(f, tokens) for f in fields]
            marks.phrases.append(clause.text)
        else:
            per_token = []
            for token in tokens:
                forms = self._forms(token)
                for form in forms:
                    if len(form) == 1:
                        marks.terms.add(form[0])
                    else:
                        marks.phrases.append("".join(form))
                per_token.append(wq.Or([self._seq(f, form) for f in fields for form in forms]))
            parts = [wq.And(per_token) if len(per_token) > 1 else per_token[0]]
            if len(tokens) > 1:
                marks.phrases.append(clause.text)
        if clause.field != "title":
            grams = [t.text for t in self.analyzer.bigrams(clause.text)]
            if grams:
                parts.append(self._seq("bigram", grams))
                marks.phrases.append(clause.text)
        return wq.Or(parts) if len(parts) > 1 else parts[0]

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

    def _build(self, parsed: ParsedQuery, marks: Highlights, known_modes: list[str]):  # noqa: ANN202
        groups = []
        for group in parsed.groups:
            alternatives = [q for q in (self._clause_query(c, marks) for c in group) if q is not None]
            if alternatives:
                groups.append(wq.Or(alternatives) if len(alternatives) > 1 else alternatives[0])
        if parsed.has_text and not groups:
            raise QueryError("检索词里没有可检索的文字（只有标点或空白）")
        main = wq.And(groups) if len(groups) > 1 else (groups[0] if groups else wq.Term("kind", "doc"))
        filters, masks = [], []
        for name, values in parsed.filters.items():
            base = name.lstrip("-")
            queries = [self._filter_query(base, v, known_modes) for v in values]
            (masks if name.startswith("-") else filters).extend(queries)
        negated = [q for q in (self._clause_query(c, Highlights()) for c in parsed.negated) if q is not None]
        return main, (wq.And(filters) if filters else None), masks, negated

    # --------------------------------------------------------------- search
    def search(self, q: str, filters: dict[str, list[str]] | None = None, page: int = 1,
               limit: int | None = None, sort: str = "relevance") -> dict[str, object]:
        """Search documents and practices; returns the JSON-ready result object."""
        started = time.perf_counter()
        parsed = parse_query(_merge_filters(q, filters))
        limit = max(1, min(int(limit or self.page_size), MAX_LIMIT))
        page = max(1, int(page))
        if sort not in ("relevance", "date"):
            raise QueryError(f"无效的排序方式 {sort!r}：可用 relevance、date")
        known_modes = list(self.store.state().get("modes") or [])
        marks = Highlights()
        main, filter_q, masks, negated = self._build(parsed, marks, known_modes)
        with self._searcher() as s:
            meta = self._doc_meta(s)
            if negated:
                excluded = {s.stored_fields(n)["doc_id"] for n in
                            s.search(wq.Or(negated), filter=wq.Term("kind", "doc"), limit=None).docs()}
                masks.extend(wq.Term("doc_id", d) for d in excluded)
            mask = wq.Or(masks) if masks else None
            results = s.search(main, filter=filter_q, mask=mask, limit=None)
            doc_ids = s.reader().column_reader("doc_id")
            kinds = s.reader().column_reader("kind")
            groups: dict[str, list[tuple[float, int, bool]]] = {}
            for score, docnum in results.top_n:
                groups.setdefault(doc_ids[docnum], []).append((score, docnum, kinds[docnum] == "doc"))
            order = sorted(groups, key=lambda d: -max(h[0] for h in groups[d]))
            if sort == "date":
                order.sort(key=lambda d: (meta.get(d) or {}).get("date") or "", reverse=True)
            facets = _facets(order, meta)
            pages = max(1, math.ceil(len(order) / limit))
            hits = []
            for rank, doc_id in enumerate(order[(page - 1) * limit: page * limit], (page - 1) * limit + 1):
                hits.extend(self._group_hits(s, doc_id, groups[doc_id], meta.get(doc_id, {}), marks, rank))
        return {
            "query": q, "filters": {k: v for k, v in parsed.filters.items()}, "total": len(order),
            "page": page, "pages": pages, "limit": limit, "sort": sort, "hits": hits,
            "facets": facets, "took_ms": round((time.perf_counter() - started) * 1000, 1),
        }

    def _group_hits(self, s: Searcher, doc_id: str, entries: list[tuple[float, int, bool]],
                    meta: dict, marks: Highlights, rank: int) -> list[dict[str, object]]:
        practices = sorted((e for e in entries if not e[2]), key=lambda e: -e[0])[:PER_DOC]
        chosen = practices or sorted(entries, key=lambda e: -e[0])[:1]
        title_spans = match_spans(meta.get("title", ""), self.analyzer, marks.terms, marks.phrases)
        out = []
        for score, docnum, is_doc in chosen:
            fields = s.stored_fields(docnum)
            body = fields.get("body", "")
            spans = match_spans(body, self.analyzer, marks.terms, marks.phrases)
            section = None if is_doc else fields.get("section")
            out.append({
                "doc_id": doc_id, "title": meta.get("title", fields.get("title", "")),
                "title_html": mark(meta.get("title", ""), title_spans),
                "section": section,
                "section_html": mark(section, match_spans(section, self.analyzer, marks.terms,
                                                          marks.phrases)) if section else None,
                "ord": None if is_doc else fields.get("ord"),
                "kind": "document" if is_doc else "practice",
                "snippet": snippet(body, spans), "score": round(float(score), 4), "rank": rank,
                "modes": meta.get("modes", []), "suggested_modes": meta.get("suggested_modes", []),
                "date": meta.get("date"), "region": meta.get("region"), "domain": meta.get("domain", []),
                "type": meta.get("type"), "unit": meta.get("unit"),
            })
        return out

    # -------------------------------------------------------------- similar
    def similar(self, doc_id: str, ord: int | None = None, limit: int = 5) -> list[dict[str, object]]:
        """Practices from other documents that share the most distinctive words with this one."""
        uid = doc_id if ord is None else f"{doc_id}#{ord}"
        with self._searcher() as s:
            docnum = s.document_number(uid=uid)
            if docnum is None:
                raise NotFound(f"索引中没有 {uid}")
            stored = s.stored_fields(docnum)
            heading = (stored.get("section") or "").split(" › ")[-1]
            text = heading + "\n" + stored.get("body", "")
            counts = Counter(t.text for t in self.analyzer.tokens(text, subwords=False)
                             if len(t.text) >= 2 and not t.text.isdigit())
            weights = {t: (1 + math.log(c)) * s.idf("body", t) for t, c in counts.items()}
            top = sorted(weights, key=lambda t: (-weights[t], t))[:15]
            if not top:
                return []
            q = wq.Or([wq.Term(f, t, boost=weights[t]) for t in top for f in ("body", "section")])
            results = s.search(q, filter=wq.Term("kind", "practice"), mask=wq.Term("doc_id", doc_id),
                               limit=limit * 6)
            meta = self._doc_meta(s)
            seen, out = set(), []
            marks = set(top[:8])
            for hit in results:
                other = hit["doc_id"]
                if other in seen:
                    continue
                seen.add(other)
                body = hit.get("body", "")
                out.append({
                    "doc_id": other, "title": meta.get(other, {}).get("title", ""),
                    "section": hit.get("section"), "ord": hit.get("ord"),
                    "snippet": snippet(body, match_spans(body, self.analyzer, marks, [])),
                    "score": round(float(hit.score), 4),
                    "shared_terms": [t for t in top if t in body][:6],
                })
                if len(out) >= limit:
                    break
        return out


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


def _facet_values(field: str, meta: dict) -> list[str]:
    if field == "mode":
        return list(meta.get("modes", [])) + list(meta.get("suggested_modes", []))
    if field == "domain":
        return list(meta.get("domain") or [])
    if field == "region":
        region = meta.get("region")
        return ["/".join(region.split("/")[:2])] if region else []
    value = meta.get(field)
    return [str(value)] if value else []


def _facets(doc_ids: list[str], meta: dict[str, dict]) -> dict[str, list[dict[str, object]]]:
    out = {}
    for field in FACETS:
        counts: Counter[str] = Counter()
        for doc_id in doc_ids:
            counts.update(set(_facet_values(field, meta.get(doc_id, {}))))
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] if field != "year" else -int(kv[0])))
        out[field] = [{"value": v, "count": c} for v, c in ordered]
    return out
