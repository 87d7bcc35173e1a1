"""The Whoosh schema: one entry per document (title, metadata) followed by one per section.

Our text fields turn a string straight into ``(term, positions)`` pairs with the analyzer's fast
path (:class:`Postings` may also be passed in directly) and store positions as packed integers
instead of Whoosh's default per-term pickles. The schema is pickled into the index, so its
analyzer adapter holds no analyzer, only the analyzer's *fingerprint* (its version and
dictionary: everything that decides how text is indexed), and looks the analyzer up by it when
text is analysed. Every analyzer an index store or :func:`make_schema` is given is registered
under its fingerprint, so indexes built with different dictionaries in one process each get
their own; worker processes of a parallel build inherit the registry (they are forked).
"""

from __future__ import annotations

import threading
import weakref
from array import array
from collections.abc import Iterator

from whoosh import columns, fields, formats
from whoosh.analysis import Token as WhooshToken
from whoosh.analysis import Tokenizer
from whoosh.system import _INT_SIZE, pack_uint

from .analysis import Analyzer
from .facets import FACETS

TITLE_BOOST = 3.0
SECTION_BOOST = 1.5
SCHEMA_VERSION = "6"  # 5: the analyzer adapters name the analyzer by fingerprint; 6: digest

# fingerprint → analyzer; weak, so an analyzer lives as long as the stores and callers using it
_analyzers: weakref.WeakValueDictionary[str, Analyzer] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def register(analyzer: Analyzer) -> str:
    """Make ``analyzer`` the one that index fields with its fingerprint use; returns the
    fingerprint. Analyzers with one fingerprint index text identically (synonyms only serve
    queries), so any of them serves."""
    with _lock:
        _analyzers[analyzer.fingerprint] = analyzer
    return analyzer.fingerprint


def resolve(fingerprint: str) -> Analyzer:
    """The registered analyzer with this fingerprint."""
    analyzer = _analyzers.get(fingerprint)
    if analyzer is None:
        raise RuntimeError(f"no analyzer with fingerprint {fingerprint} in this process: the index was "
                           "built with another dictionary (rebuild it), or its store was not created")
    return analyzer


class Postings(tuple):
    """Pre-analyzed field content: ``(term, positions)`` pairs."""

    __slots__ = ()


class PackedPositions(formats.Positions):
    """Positions as a packed uint32 array; accepts :class:`Postings` as well as text."""

    def word_values(self, value, analyzer, **kwargs):  # noqa: ANN001, ANN201
        if isinstance(value, str) and isinstance(analyzer, HongxianTokenizer):
            value = Postings(analyzer.analyzer().index_terms(value).items())  # the fast path, no Token objects
        if isinstance(value, Postings):
            fb = self.field_boost
            encode = self.encode
            return [(term, len(poses), len(poses) * fb, encode(poses)) for term, poses in value]
        return super().word_values(value, analyzer, **kwargs)

    def encode(self, poslist) -> bytes:  # noqa: ANN001
        return pack_uint(len(poslist)) + array("I", poslist).tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        packed = array("I")
        packed.frombytes(valuestring[_INT_SIZE:])
        return packed.tolist()


class CharCounts(formats.Existence):
    """Characters with their counts as weights, and nothing else: no positions, no value bytes
    (the character field only ranks; phrases and highlights use words)."""

    def word_values(self, value, analyzer, **kwargs):  # noqa: ANN001, ANN201
        fb = self.field_boost
        return [(ch, count, count * fb, b"") for ch, count in analyzer.analyzer().chars(value).items()]

    def decode_frequency(self, valuestring: bytes) -> int:
        return 1


class HongxianTokenizer(Tokenizer):
    """Feeds Whoosh the tokens of our analyzer (the one registered under ``fingerprint``)."""

    def __init__(self, fingerprint: str, kind: str = "words") -> None:
        self.fingerprint = fingerprint
        self.kind = kind

    def analyzer(self) -> Analyzer:
        return resolve(self.fingerprint)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, HongxianTokenizer) and other.kind == self.kind
                and other.fingerprint == self.fingerprint)

    def __hash__(self) -> int:
        return hash(("HongxianTokenizer", self.kind, self.fingerprint))

    def __call__(self, value: str, positions: bool = False, chars: bool = False,  # noqa: PLR0913
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "",
                 **kwargs: object) -> Iterator[WhooshToken]:
        t = WhooshToken(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for tok in self.analyzer().tokens(value):
            t.text = tok.text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = tok.text
            if positions:
                t.pos = start_pos + tok.pos
            if chars:
                t.startchar = start_char + tok.start
                t.endchar = start_char + tok.end
            yield t


def _text(fingerprint: str, boost: float = 1.0, stored: bool = True) -> fields.TEXT:
    field = fields.TEXT(analyzer=HongxianTokenizer(fingerprint), stored=stored, field_boost=boost)
    field.format = PackedPositions(field_boost=boost)
    return field


def _chars(fingerprint: str) -> fields.TEXT:
    field = fields.TEXT(analyzer=HongxianTokenizer(fingerprint, "chars"), stored=False, phrase=False)
    field.format = CharCounts()
    return field


def make_schema(analyzer: Analyzer) -> fields.Schema:
    """Document entries carry the title and every facet's fields (:mod:`indexer.facets`);
    section entries only their heading path and text (nothing else is indexed for them, to keep
    postings few). A document's sections follow it directly in entry numbers, which is how a
    section finds its document."""
    fp = register(analyzer)
    facet_fields: dict[str, fields.FieldType] = {}
    for facet in FACETS:
        facet_fields.update(facet.kind.fields(facet.name, lambda: _text(fp, stored=False)))
    return fields.Schema(
        # Documents only: their id (also as a unique key) and "kind:doc", which lists them.
        uid=fields.ID(unique=True, stored=True),
        kind=fields.ID(stored=True),
        doc_id=fields.ID(stored=True),
        owner=fields.STORED(),  # sections: the document id (stored, not indexed)
        ord=fields.STORED(),
        practice=fields.STORED(),
        digest=fields.STORED(),  # documents: a hash of all its entries (`kb check` compares it)
        title=_text(fp, TITLE_BOOST),  # documents
        section=_text(fp, SECTION_BOOST),  # sections: the heading path
        body=_text(fp),  # sections: the text; documents: stored only, for whole-document snippets
        chars=_chars(fp),  # documents: the characters of the title, the headings and the text
        meta=fields.COLUMN(columns.VarBytesColumn()),  # documents: JSON metadata
        **facet_fields,  # documents
    )
