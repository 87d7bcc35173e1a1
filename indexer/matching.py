"""Which documents match a :class:`~indexer.plan.QueryPlan`, as boolean arrays over documents.

Every term's posting list is read once, as arrays (:class:`indexer.ranking.Postings`), and
summed per document: a document *holds* a word when it has the word, one of its synonyms or
all of its parts; it holds a phrase when one of its sections or its title has the phrase's
words in a row; it holds a unit when it holds any of the unit's alternatives. A document
*matches* when it shares a word, a synonym or a part with the query (or holds a unit), holds
every required unit, passes the filters and holds none of the exclusions. So the totals, the
coordination levels and the facets are exact and cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from whoosh import query as wq
from whoosh.searching import Searcher

from .doctable import DocTable
from .plan import Alternative, Phrase, QueryPlan, Word
from .postings import query_ids
from .ranking import Postings, coordination, score


@dataclass(frozen=True)
class Matches:
    docs: np.ndarray  # the documents that match
    held: tuple[np.ndarray, ...]  # per unit of the plan: the documents holding it
    level: np.ndarray  # how many units each document holds
    scores: np.ndarray | None  # BM25F per document (None without units)

    @property
    def total(self) -> int:
        return int(self.docs.sum())

    @property
    def total_all(self) -> int:
        """Matching documents that hold every unit."""
        if not self.held:
            return self.total
        return int((self.docs & (self.level == len(self.held))).sum())


def match(plan: QueryPlan, s: Searcher, table: DocTable, postings: Postings) -> Matches:
    """The documents matching ``plan``, what each holds and how it scores."""
    found = _Finder(s, table, postings)
    held = tuple(found.unit(alternatives) for alternatives in (u.alternatives for u in plan.units))
    scores, shares = score(postings, plan.weights) if plan.units else (None, None)
    docs = table.live.copy()
    if plan.units:
        any_held = shares.copy() if shares is not None else np.zeros(table.size, dtype=bool)
        for unit, present in zip(plan.units, held, strict=True):
            any_held |= present
            if unit.required:
                docs &= present
        docs &= any_held
    kept = [f.query for f in plan.filters if not f.negated]
    if kept:
        docs &= found.filtered(kept[0] if len(kept) == 1 else wq.And(kept))
    for f in plan.filters:
        if f.negated:
            docs &= ~found.filtered(f.query)
    for clause in plan.exclusions:  # the phrase, or every word (or a synonym) of it
        docs &= ~found.clause(clause, parts=False)
    return Matches(docs, held, coordination(list(held), table.size), scores)


class _Finder:
    """Document sets of one search (the posting lists it reads are read once)."""

    def __init__(self, s: Searcher, table: DocTable, postings: Postings) -> None:
        self.s = s
        self.table = table
        self.postings = postings

    def _entry_docs(self, ids: np.ndarray) -> np.ndarray:
        found = np.zeros(self.table.size, dtype=bool)
        ords = self.table.docs_of_entries(ids)
        found[ords[ords >= 0]] = True
        return found

    def words(self, form: tuple[str, ...], fields: tuple[str, ...]) -> np.ndarray:
        """Documents holding one word, or a sequence of words in a row (a phrase)."""
        if len(form) == 1:
            return self.postings.present(fields, form[0])
        phrases = [wq.Phrase(f, list(form)) for f in fields]
        return self._entry_docs(query_ids(self.s, phrases[0] if len(phrases) == 1 else wq.Or(phrases)))

    def forms(self, word: Word) -> np.ndarray:
        """Documents with the word or one of its synonyms."""
        present = self.words(word.forms[0], word.fields)
        for form in word.forms[1:]:
            present |= self.words(form, word.fields)
        return present

    def held(self, word: Word) -> np.ndarray:
        """Documents with the word, a synonym, or all of its parts."""
        present = self.forms(word)
        if word.parts:
            every = self.table.live.copy()
            for part in word.parts:
                every &= self.postings.present(word.fields, part)
            present |= every
        return present

    def clause(self, clause: Alternative, parts: bool = True) -> np.ndarray:
        """Documents holding a phrase, or every word of a plain clause (itself or a synonym, or
        with ``parts`` also all of its parts)."""
        if isinstance(clause, Phrase):
            return self.words(clause.words, clause.fields)
        present = self.table.live.copy()
        for word in clause:
            present &= self.held(word) if parts else self.forms(word)
        return present

    def unit(self, alternatives: tuple[Alternative, ...]) -> np.ndarray:
        if len(alternatives) == 1:
            return self.clause(alternatives[0])
        present = np.zeros(self.table.size, dtype=bool)
        for alternative in alternatives:
            present |= self.clause(alternative)
        return present

    def filtered(self, q: wq.Query) -> np.ndarray:
        """Documents passing a filter query."""
        return self._entry_docs(query_ids(self.s, wq.And([wq.Term("kind", "doc"), q])))
