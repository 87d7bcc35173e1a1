"""Search: compile the query into a plan, match, rank, page, make the hits, count the facets.

Following one query: :func:`indexer.plan.compile_query` parses and analyses it once into a
:class:`~indexer.plan.QueryPlan`; :func:`indexer.matching.match` finds the documents that match
it, what units each holds and their BM25F scores (:mod:`indexer.ranking`); the documents are
ordered (most units held first, then the score; or newest first); the page's documents become
:class:`~indexer.results.Hit` objects with their best sections and snippets
(:class:`~indexer.results.HitMaker`); the facets are counted over every matching document
(:mod:`indexer.doctable`); and a query whose words no document holds gets a 您是不是要找
correction from the index's own vocabulary (:mod:`indexer.spelling`). The result is data
(:class:`~indexer.results.SearchResult`); its JSON form is ``to_dict()``.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from kb.errors import BadRequest, QueryError

from .analysis import Analyzer
from .doctable import DocTable
from .facets import FACETS
from .index import IndexStore
from .matching import Matches, match
from .plan import QueryPlan, compile_query
from .ranking import Postings, order
from .results import Hit, HitMaker, SearchResult, SimilarHit
from .similar import similar
from .spelling import Sounds, Vocabulary, suggest

MAX_LIMIT = 100  # cases per page at most (each becomes hits with snippets)
MAX_PAGE = 10_000  # page numbers from 1 to this; every listing of the site shares the bound
SORTS = ("relevance", "date")
SUGGEST_BELOW = 3  # offer 您是不是要找 when fewer documents than this hold every word
MAX_SEARCHERS = 4  # searches at once per process (more wait for a free searcher)


def _bounded(name: str, value: int, maximum: int) -> int:
    value = int(value)
    if value < 1:
        raise BadRequest(f"{name} 不能小于 1")
    if value > maximum:
        raise BadRequest(f"{name} 不能大于 {maximum}")
    return value


def _close_idle(idle: list[tuple[object, Searcher]]) -> None:
    while idle:
        idle.pop()[1].close()


class SearchService:
    """Searches one index; safe to share between threads.

    A search takes a searcher of its own from a small pool and gives it back (a Whoosh searcher
    keeps file positions, so two threads never use one at once). The pool holds at most
    ``max_searchers``, whatever the number of threads: a further search waits for one to be
    free (searching is pure Python, so under the GIL more at once would not be faster, only
    hold more memory). A searcher of an older index version is closed when it is given back
    or found idle, so a replaced generation is let go at the next search."""

    def __init__(self, store: IndexStore, analyzer: Analyzer, page_size: int = 10,
                 max_searchers: int = MAX_SEARCHERS) -> None:
        self.store = store
        self.analyzer = analyzer
        self.page_size = page_size
        self.max_searchers = max(1, int(max_searchers))
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.max_searchers)
        self._ix = None
        self._ix_dir: Path | None = None
        self._table: DocTable | None = None
        self._state: dict = {}
        self._sounds: tuple[tuple, Sounds] | None = None
        self._idle: list[tuple[object, Searcher]] = []  # (its index, the searcher), free to take
        self._busy = 0
        # A searcher holds its segment files open: close the idle ones when the service goes,
        # even if nobody called close() (a core a test or a script never closed).
        weakref.finalize(self, _close_idle, self._idle)

    # ------------------------------------------------------------- plumbing
    @contextmanager
    def _searcher(self) -> Iterator[Searcher]:
        """A searcher of the live index for this thread alone while the block runs, kept open
        between searches (opening one costs a few milliseconds) and renewed when the index
        changes."""
        with self._slots:
            ix = self._current()
            searcher = self._take(ix)
            try:
                yield searcher
            finally:
                self._give_back(ix, searcher)

    def _current(self):  # noqa: ANN202 - a whoosh Index
        """The live generation's index; when it was replaced, the idle searchers of the old one close."""
        current = self.store.current_dir()
        stale: list[Searcher] = []
        with self._lock:
            if self._ix is None or current != self._ix_dir:
                self._ix = self.store.open()
                self._ix_dir = current
                self._state = self.store.state()
                stale = [s for _ix, s in self._idle]
                self._idle.clear()
            ix = self._ix
        for s in stale:
            s.close()
        return ix

    def _take(self, ix) -> Searcher:  # noqa: ANN001 - a whoosh Index
        """An idle searcher of the latest version of ``ix`` (the others idle are closed), or a new one."""
        latest = ix.latest_generation()  # one look at the folder for every idle searcher
        with self._lock:
            fresh = [e for e in self._idle if e[0] is ix and e[1].reader().generation() == latest]
            stale = [s for owner, s in self._idle if not (owner is ix and s.reader().generation() == latest)]
            found = fresh.pop()[1] if fresh else None
            self._idle[:] = fresh
            self._busy += 1
        for s in stale:
            s.close()
        if found is not None:
            return found
        try:
            return ix.searcher(weighting=BM25F())
        except BaseException:
            with self._lock:
                self._busy -= 1
            raise

    def _give_back(self, ix, searcher: Searcher) -> None:  # noqa: ANN001 - a whoosh Index
        with self._lock:
            self._busy -= 1
            if ix is self._ix:
                self._idle.append((ix, searcher))
                return
        searcher.close()  # of a replaced generation

    def open_searchers(self) -> int:
        """How many searchers this service holds open (busy and idle): at most ``max_searchers``."""
        with self._lock:
            return self._busy + len(self._idle)

    def close(self) -> None:
        """Close the idle searchers (those in use close when given back)."""
        with self._lock:
            self._ix = self._ix_dir = None
            idle = list(self._idle)
            self._idle.clear()
        _close_idle(idle)

    def _doc_table(self, s: Searcher) -> DocTable:
        """Documents' metadata and facet values, rebuilt when the index changes."""
        key = (self._ix_dir, s.reader().generation(), s.doc_count_all())
        with self._lock:
            if self._table is None or self._table.key != key:
                self._table = DocTable(s.reader(), key)
                self._state = self.store.state()
            return self._table

    def _known(self) -> dict[str, list[str]]:
        """The index's own lists of valid values, for the facets that have one (modes)."""
        return {f.name: list(self._state.get(f.choices) or []) for f in FACETS if f.choices}

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

    # --------------------------------------------------------------- search
    def search(self, q: str, filters: dict[str, list[str]] | None = None, page: int = 1,
               limit: int | None = None, sort: str = "relevance") -> SearchResult:
        """Search documents and their sections. ``limit`` (cases per page; None: the
        ``page_size`` setting) from 1 to :data:`MAX_LIMIT` and ``page`` from 1 to
        :data:`MAX_PAGE`, else BadRequest."""
        started = time.perf_counter()
        if limit is not None:
            limit = _bounded("limit", limit, MAX_LIMIT)
        page = _bounded("page", page, MAX_PAGE)
        plan = compile_query(q, self.analyzer, filters)
        limit = limit or max(1, min(int(self.page_size), MAX_LIMIT))
        if sort not in SORTS:
            raise QueryError(f"无效的排序方式 {sort!r}：可用 relevance、date")
        with self._searcher() as s:
            return self._search(s, q, plan, page, limit, sort, started)

    def _search(self, s: Searcher, q: str, plan: QueryPlan, page: int, limit: int, sort: str,
                started: float) -> SearchResult:
        table = self._doc_table(s)
        plan.check_known(self._known())
        postings = Postings(s.reader(), table)
        found = match(plan, s, table, postings)
        if found.scores is not None and sort == "relevance":
            ranked = order(found.docs, found.level, found.scores, table.id_rank)
        else:
            ranked = table.by_date(found.docs)
        maker = HitMaker(s, table, postings, plan.weights, plan.highlight, self.analyzer)
        first = (page - 1) * limit
        hits: list[Hit] = []
        for rank, ord_ in enumerate(ranked[first: first + limit], first + 1):
            hits.extend(maker.hits(ord_, rank))
        total_all = found.total_all
        suggestion = None
        if plan.units and total_all < SUGGEST_BELOW:
            suggestion = self._suggest(s, table, plan, found)
        return SearchResult(
            query=q, filters=plan.written_filters, total=found.total, total_all=total_all, page=page,
            pages=max(1, math.ceil(found.total / limit)), limit=limit, sort=sort, hits=tuple(hits),
            facets=table.facets(found.docs), suggestion=suggestion,
            took_ms=round((time.perf_counter() - started) * 1000, 1))

    def _suggest(self, s: Searcher, table: DocTable, plan: QueryPlan, found: Matches) -> str | None:
        """您是不是要找: the query with the words no document holds replaced by known ones, or None."""
        held = {unit.label: int(present.sum()) for unit, present in zip(plan.units, found.held, strict=True)}
        chunks = []
        for text, words in plan.corrections:
            missing = [w for w in words if not held.get(w, 0)]
            if missing:  # a word no document holds, not even by a synonym or its parts
                chunks.append((text, missing))
        if not chunks:
            return None
        return suggest(self._vocabulary(s, table), plan.query, chunks)

    # ----------------------------------------------------------- frequencies
    def frequencies(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        """(entries of the index, {term: entries whose text holds it}): the document
        frequencies keywords are weighed by (a case page's extracted keywords)."""
        with self._searcher() as s:
            reader = s.reader()
            return s.doc_count_all(), {t: reader.doc_frequency("body", t) for t in terms}

    # -------------------------------------------------------------- similar
    def similar(self, doc_id: str, ord: int | None = None, limit: int = 5) -> list[SimilarHit]:
        """Practices from other documents that share the most distinctive words with this one."""
        with self._searcher() as s:
            return similar(s, self._doc_table(s), self.analyzer, doc_id, ord, limit)


__all__ = ["SearchResult", "SearchService"]
