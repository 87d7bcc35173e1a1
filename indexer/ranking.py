"""Best-match ranking over whole posting lists: BM25F per document, with a coordination level.

A query is a list of *units* (each word of the query, each quoted phrase, each ``OR`` group).
A document matches when it shares a word, a synonym or a part of a word with the query;
documents holding every unit come first, then those holding most of them, and within one level
BM25F decides (title ×3, heading ×1.5, text ×1; k1 = 1.2, b = 0.75). A word unit is held when
the document has the word, one of its synonyms or all of its parts (快递行业党建 → 快递 + 行业 +
党建; 书法课 → 书法 + 课). The score adds the word (weight 1), its synonyms (0.8), its parts
(0.5) and its characters (0.5, over the whole document): the dictionary adds precision, the
parts and characters keep recall.

The field weights are those of the schema (``TITLE_BOOST``, ``SECTION_BOOST``), which Whoosh
already multiplies into each posting's weight. Each (field, term) posting list is read once per search as two arrays (entry numbers and term
frequencies) and summed per document with ``numpy.bincount``, so the cost follows the number
of postings, not the number of matching documents times the number of terms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .doctable import B, DocTable
from .postings import term_postings

K1 = 1.2
SYNONYM_WEIGHT = 0.8
PART_WEIGHT = 0.5
CHAR_WEIGHT = 0.5
WORD_FIELDS = ("title", "section", "body")


WordKey = tuple[tuple[str, ...], str]  # (the fields a word is looked for in, the word)


@dataclass(frozen=True)
class Weights:
    """What a query scores with: each (fields, word) and each character with its weight, in the
    order the query gives them; the words of quoted phrases (``exact``) rank, but a document
    holding them apart does not match."""

    words: tuple[tuple[WordKey, float], ...] = ()
    chars: tuple[tuple[str, float], ...] = ()
    exact: frozenset[WordKey] = frozenset()


@dataclass
class WeightsBuilder:
    """Collects :class:`Weights` while a query is compiled: the highest weight of a word wins,
    and a word is exact only when every clause that gives it is a quoted phrase."""

    words: dict[WordKey, float] = field(default_factory=dict)
    chars: dict[str, float] = field(default_factory=dict)
    exact: set[WordKey] = field(default_factory=set)

    def add_word(self, fields: tuple[str, ...], term: str, weight: float, exact: bool = False) -> None:
        key = (fields, term)
        if not exact:
            self.exact.discard(key)
        elif key not in self.words:
            self.exact.add(key)
        self.words[key] = max(weight, self.words.get(key, 0.0))

    def add_char(self, ch: str, weight: float) -> None:
        self.chars[ch] = max(weight, self.chars.get(ch, 0.0))

    def build(self) -> Weights:
        return Weights(tuple(self.words.items()), tuple(self.chars.items()), frozenset(self.exact))


class Postings:
    """The posting lists one search reads, each once, as per-document arrays."""

    def __init__(self, reader, table: DocTable) -> None:  # noqa: ANN001 - a whoosh IndexReader
        self.reader = reader
        self.table = table
        self._raw: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._doc: dict[tuple[str, str], np.ndarray] = {}
        self._idf: dict[tuple[tuple[str, ...], str], float] = {}

    def raw(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(entry numbers, frequencies) of a term in a field."""
        key = (fieldname, term)
        got = self._raw.get(key)
        if got is None:
            got = self._raw[key] = term_postings(self.reader, fieldname, term)
        return got

    def doc_tf(self, fieldname: str, term: str) -> np.ndarray:
        """The term's frequency in a field, summed over each document's entries."""
        key = (fieldname, term)
        got = self._doc.get(key)
        if got is None:
            ids, weights = self.raw(fieldname, term)
            got = np.zeros(self.table.size, dtype=np.float64)
            if len(ids):
                ords = self.table.entry_doc[ids]
                keep = ords >= 0
                got = np.bincount(ords[keep], weights=weights[keep], minlength=self.table.size)
            self._doc[key] = got
        return got

    def word_tf(self, fields: tuple[str, ...], term: str) -> np.ndarray:
        """BM25F's length-normalised, field-weighted frequency of a word per document."""
        t = self.table
        out = np.zeros(t.size, dtype=np.float64)
        text = np.zeros(t.size, dtype=np.float64)
        for f in fields:
            tf = self.doc_tf(f, term)  # the field's boost is already in its posting weights
            if f == "title":
                out += tf / t.title_norm
            else:
                text += tf
        return out + text / t.text_norm

    def word_idf(self, fields: tuple[str, ...], term: str) -> float:
        """The word's idf over documents (0 when no document holds it)."""
        key = (fields, term)
        got = self._idf.get(key)
        if got is None:
            df = int(np.count_nonzero(self.word_tf(fields, term)))
            got = self._idf[key] = idf(df, self.table.size) if df else 0.0
        return got

    def present(self, fields: tuple[str, ...], term: str) -> np.ndarray:
        found = np.zeros(self.table.size, dtype=bool)
        for f in fields:
            found |= self.doc_tf(f, term) > 0
        return found

    def char_tf(self, ch: str) -> np.ndarray:
        """A character's length-normalised frequency in each document (title, headings, text)."""
        return self.doc_tf("chars", ch) / self.table.chars_norm


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def saturate(tf: np.ndarray, weight: float) -> np.ndarray:
    """One term's BM25 contribution per document (before its idf)."""
    return weight * tf * (K1 + 1) / (tf + K1)


def score(postings: Postings, weights: Weights) -> tuple[np.ndarray, np.ndarray]:
    """BM25F over documents: every word and character of the query, each with its weight; and
    the documents that share a word, a synonym or a part with the query (phrase words and
    characters rank, but do not make a document match)."""
    n = postings.table.size
    total = np.zeros(n, dtype=np.float64)
    shares = np.zeros(n, dtype=bool)
    for (fields, term), weight in weights.words:
        term_idf = postings.word_idf(fields, term)
        if term_idf:
            tf = postings.word_tf(fields, term)
            total += term_idf * saturate(tf, weight)
            if (fields, term) not in weights.exact:
                shares |= tf > 0
    for ch, weight in weights.chars:
        tf = postings.char_tf(ch)
        df = int(np.count_nonzero(tf))
        if df:
            total += idf(df, n) * saturate(tf, weight)
    return total, shares


def coordination(held: list[np.ndarray], size: int) -> np.ndarray:
    """How many units each document holds (``held``: each unit's documents)."""
    level = np.zeros(size, dtype=np.int64)
    for present in held:
        level += present
    return level


def order(docs: np.ndarray, level: np.ndarray, scores: np.ndarray, id_rank: np.ndarray) -> list[int]:
    """Matching documents: most units held first, then by score, then by id (stable pages)."""
    chosen = np.flatnonzero(docs)
    if not len(chosen):
        return []
    keys = np.lexsort((id_rank[chosen], -scores[chosen], -level[chosen]))
    return chosen[keys].tolist()


def section_scores(postings: Postings, weights: Weights, entries: range,
                   lengths: dict[int, int]) -> dict[int, float]:
    """BM25 of the section entries of one document (heading ×1.5), for choosing its snippets
    (words only: characters are counted per document)."""
    if not len(entries):
        return {}
    avg = postings.table.avg_section_length
    out: dict[int, float] = {}
    for (fields, term), weight in weights.words:
        term_idf = postings.word_idf(fields, term)
        if not term_idf:
            continue
        for f in fields:
            if f == "title":
                continue
            ids, weights = postings.raw(f, term)
            a, b = np.searchsorted(ids, entries.start), np.searchsorted(ids, entries.stop)
            found = ids[a:b].tolist()
            if not found:
                continue
            norms = np.array([1 - B + B * lengths.get(entry, avg) / avg for entry in found])
            gains = term_idf * saturate(weights[a:b] / norms, weight)
            for entry, gain in zip(found, gains.tolist(), strict=True):
                out[entry] = out.get(entry, 0.0) + gain
    return out
