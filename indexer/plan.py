"""A query compiled once: everything search needs to know about it, analysed in one place.

:func:`compile_query` parses the query (:mod:`indexer.query`) and analyses each clause once:
its words, each word's synonyms (as the words they analyse to), its parts and characters. The
result, a :class:`QueryPlan`, is read by every later step and changed by none:

- **matching** (:mod:`indexer.matching`): the *units* (each word of a plain clause, each quoted
  phrase, each ``OR`` group; ``+`` makes one required), the filters and the exclusions;
- **ranking** (:mod:`indexer.ranking`): the weights of every word, synonym, part and character;
- **highlighting** (:mod:`indexer.highlight`): the words, phrases and parts to mark;
- **您是不是要找** (:mod:`indexer.spelling`): the plain clauses as typed, with their words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from whoosh import query as wq

from kb.errors import QueryError

from .analysis import Analyzer
from .facets import BY_NAME, FACET_NAMES, Facet
from .highlight import Highlight
from .query import Clause, ParsedQuery, parse_query, quote
from .ranking import CHAR_WEIGHT, PART_WEIGHT, SYNONYM_WEIGHT, Weights, WeightsBuilder

TEXT_FIELDS = ("title", "section", "body")
TITLE_FIELDS = ("title",)
# Words of the text clauses after segmentation, counted each time they are written: every word
# reads its posting lists (with its synonyms, parts and characters), so a longer query is refused
# before any is read (a 250-character sentence is some 110 words: seconds on 20,000 documents).
MAX_WORDS = 32


@dataclass(frozen=True)
class Word:
    """One word of a plain clause. A document holds it when it has one of its forms (the word,
    or a synonym: a multi-word synonym as a phrase) or all of its parts, in ``fields``."""

    text: str
    fields: tuple[str, ...]
    forms: tuple[tuple[str, ...], ...]  # the word itself first
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Phrase:
    """A quoted phrase: its words in a row, in one section or the title."""

    text: str
    words: tuple[str, ...]
    fields: tuple[str, ...]


Alternative = Phrase | tuple[Word, ...]  # a phrase, or the words of a plain clause (all of them)


@dataclass(frozen=True)
class Unit:
    """One thing the query asks for: held by a document that holds any of its alternatives."""

    label: str
    alternatives: tuple[Alternative, ...]
    required: bool = False  # written with +: only documents holding it match


@dataclass(frozen=True)
class Filter:
    facet: Facet
    value: str
    query: wq.Query
    negated: bool = False


@dataclass(frozen=True)
class QueryPlan:
    query: str  # as typed
    written_filters: Mapping[str, tuple[str, ...]]  # as given ("-mode" for an excluded value)
    units: tuple[Unit, ...]
    exclusions: tuple[Alternative, ...]  # documents holding any of these do not match
    filters: tuple[Filter, ...]  # those to keep first, then those to leave out
    weights: Weights
    highlight: Highlight
    corrections: tuple[tuple[str, tuple[str, ...]], ...]  # plain clauses as typed, with their words

    def check_known(self, known: Mapping[str, Sequence[str]]) -> None:
        """Refuse a filter value outside the index's own list of a facet's values (modes)."""
        for f in self.filters:
            if f.facet.name in known:
                f.facet.check_known(f.value, known[f.facet.name])


def merge_filters(q: str, filters: Mapping[str, Sequence[str]] | None) -> str:
    """Fold option-style filters (``--mode X``) into the query string as ``mode:"X"``."""
    parts = [q or ""]
    for name, values in (filters or {}).items():
        if name not in BY_NAME:
            raise QueryError(f"未知的筛选字段 {name!r}；可用：{'、'.join(FACET_NAMES)}")
        for value in values:
            if value:
                parts.append(f"{name}:{quote(value)}")
    return " ".join(p for p in parts if p)


def compile_query(q: str, analyzer: Analyzer,
                  filters: Mapping[str, Sequence[str]] | None = None) -> QueryPlan:
    """Parse and analyse a query (with option-style ``filters``); raise :class:`QueryError` when
    it is malformed or, once clauses with nothing to search (only punctuation) are dropped, empty."""
    parsed = parse_query(merge_filters(q, filters))
    return _Compiler(analyzer).compile(q, parsed)


class _Compiler:
    """Analyses each clause once, collecting the weights and the highlights as it goes."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.weights = WeightsBuilder()
        self.terms: set[str] = set()
        self.phrases: list[str] = []
        self.parts: dict[str, tuple[str, ...]] = {}

    def compile(self, q: str, parsed: ParsedQuery) -> QueryPlan:
        words = self.analyzer.terms
        groups = [g for g in ([c for c in group if words(c.text)] for group in parsed.groups) if g]
        if parsed.has_text and not groups and not any(not k.startswith("-") for k in parsed.filters):
            raise QueryError("检索词里没有可检索的文字（只有标点或空白）")
        count = sum(len(words(c.text)) for c in [*(c for g in groups for c in g), *parsed.negated])
        if count > MAX_WORDS:
            raise QueryError(f"检索词太多（分词后 {count} 个词，最多 {MAX_WORDS} 个）：请只留下关键的词语",
                             fragment=q[:40])
        units: list[Unit] = []
        for group in groups:
            required = ParsedQuery.required(group)
            if len(group) == 1 and not group[0].phrase:
                units.extend(Unit(w.text, ((w,),), required) for w in self._plain(group[0]))
            else:
                alternatives = tuple(self._clause(c) for c in group)
                units.append(Unit(" OR ".join(c.text for c in group), alternatives, required))
        exclusions = tuple(self._excluded(c) for c in parsed.negated if words(c.text))
        return QueryPlan(
            query=q, written_filters={k: tuple(v) for k, v in parsed.filters.items()},
            units=tuple(units), exclusions=exclusions, filters=self._filters(parsed),
            weights=self.weights.build(),
            highlight=Highlight(frozenset(self.terms), tuple(self.phrases), tuple(self.parts.items())),
            corrections=tuple((c.text, tuple(words(c.text))) for g in groups for c in g
                              if not c.field and not c.phrase))

    def _filters(self, parsed: ParsedQuery) -> tuple[Filter, ...]:
        """Each filter value with its query: those to keep first, then those to leave out."""
        out = []
        for negated in (False, True):
            for name, values in parsed.filters.items():
                if name.startswith("-") == negated:
                    f = BY_NAME[name.lstrip("-")]
                    out.extend(Filter(f, v, f.query(v, self.analyzer.terms), negated) for v in values)
        return tuple(out)

    @staticmethod
    def _fields(clause: Clause) -> tuple[str, ...]:
        return TITLE_FIELDS if clause.field == "title" else TEXT_FIELDS

    def _clause(self, clause: Clause) -> Alternative:
        """A clause of an OR group or a quoted phrase: what it matches, ranks and marks."""
        if not clause.phrase:
            return self._plain(clause)
        fields = self._fields(clause)
        tokens = tuple(self.analyzer.terms(clause.text))
        self.phrases.append(clause.text)
        for token in tokens:
            self.weights.add_word(fields, token, 1.0, exact=True)
        return Phrase(clause.text, tokens, fields)

    def _plain(self, clause: Clause) -> tuple[Word, ...]:
        """The distinct words of a plain clause (the clause is also marked as a whole)."""
        tokens = self.analyzer.terms(clause.text)
        if len(tokens) > 1:
            self.phrases.append(clause.text)
        return tuple(self._word(token, self._fields(clause)) for token in dict.fromkeys(tokens))

    def _word(self, token: str, fields: tuple[str, ...], ranks: bool = True) -> Word:
        """A word with its synonyms and parts; unless it only excludes, what it scores with
        (its characters too, which rank over the whole document but do not match) and marks."""
        forms = [(token,)]
        for other in self.analyzer.synonyms.expand(token):
            form = tuple(self.analyzer.terms(other))
            if form and form not in forms:
                forms.append(form)
        word = Word(token, fields, tuple(forms), tuple(dict.fromkeys(self.analyzer.parts(token))))
        if not ranks:
            return word
        add = self.weights.add_word
        add(fields, token, 1.0)
        self.terms.add(token)
        for form in word.forms[1:]:
            if len(form) == 1:
                add(fields, form[0], SYNONYM_WEIGHT)
                self.terms.add(form[0])
            else:
                for term in form:
                    add(fields, term, SYNONYM_WEIGHT / len(form))
                self.phrases.append("".join(form))
        if word.parts:
            self.parts[token] = word.parts
            for part in word.parts:
                add(fields, part, PART_WEIGHT)
        if "body" in fields:
            for ch in self.analyzer.word_chars(token):
                self.weights.add_char(ch, CHAR_WEIGHT)
        return word

    def _excluded(self, clause: Clause) -> Alternative:
        """A -clause: it neither ranks nor marks."""
        fields = self._fields(clause)
        tokens = self.analyzer.terms(clause.text)
        if clause.phrase:
            return Phrase(clause.text, tuple(tokens), fields)
        return tuple(self._word(t, fields, ranks=False) for t in dict.fromkeys(tokens))
