"""The Whoosh schema: one entry per document (title, metadata) followed by one per section.

Our text fields turn a string straight into ``(term, positions)`` pairs with the analyzer's fast
path (:class:`Postings` may also be passed in directly) and store positions as packed integers
instead of Whoosh's default per-term pickles. The analyzer adapter is picklable (the schema is
pickled into the index) and calls the analyzer the index store activates in this process, or
inherited from it: worker processes of a parallel build are forked after activation.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

from whoosh import columns, fields, formats
from whoosh.analysis import Token as WhooshToken
from whoosh.analysis import Tokenizer
from whoosh.system import _INT_SIZE, pack_uint

from .analysis import Analyzer

_active: dict[str, Analyzer] = {}

TITLE_BOOST = 3.0
SECTION_BOOST = 1.5
SCHEMA_VERSION = "4"


def activate(analyzer: Analyzer) -> None:
    """Make ``analyzer`` the one the index's fields use in this process."""
    _active["analyzer"] = analyzer


class Postings(tuple):
    """Pre-analyzed field content: ``(term, positions)`` pairs."""

    __slots__ = ()


class PackedPositions(formats.Positions):
    """Positions as a packed uint32 array; accepts :class:`Postings` as well as text."""

    def word_values(self, value, analyzer, **kwargs):  # noqa: ANN001, ANN201
        if isinstance(value, str) and isinstance(analyzer, HongxianTokenizer):
            value = Postings(_analyzer().index_terms(value).items())  # the fast path, no Token objects
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
        return [(ch, count, count * fb, b"") for ch, count in _analyzer().chars(value).items()]

    def decode_frequency(self, valuestring: bytes) -> int:
        return 1


def _analyzer() -> Analyzer:
    analyzer = _active.get("analyzer")
    if analyzer is None:
        raise RuntimeError("no analyzer is active; the index store registers one before writing")
    return analyzer


class HongxianTokenizer(Tokenizer):
    """Feeds Whoosh the tokens of our analyzer for plain-text values."""

    def __init__(self, kind: str = "words") -> None:
        self.kind = kind

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HongxianTokenizer) and other.kind == self.kind

    def __hash__(self) -> int:
        return hash(("HongxianTokenizer", self.kind))

    def __call__(self, value: str, positions: bool = False, chars: bool = False,  # noqa: PLR0913
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "",
                 **kwargs: object) -> Iterator[WhooshToken]:
        t = WhooshToken(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for tok in _analyzer().tokens(value):
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


def _text(boost: float = 1.0, stored: bool = True) -> fields.TEXT:
    field = fields.TEXT(analyzer=HongxianTokenizer(), stored=stored, field_boost=boost)
    field.format = PackedPositions(field_boost=boost)
    return field


def _chars() -> fields.TEXT:
    field = fields.TEXT(analyzer=HongxianTokenizer("chars"), stored=False, phrase=False)
    field.format = CharCounts()
    return field


def make_schema() -> fields.Schema:
    """Document entries carry the title and every filterable field; section entries only their
    heading path and text (nothing else is indexed for them, to keep postings few). A document's
    sections follow it directly in entry numbers, which is how a section finds its document."""
    return fields.Schema(
        # Documents only: their id (also as a unique key) and "kind:doc", which lists them.
        uid=fields.ID(unique=True, stored=True),
        kind=fields.ID(stored=True),
        doc_id=fields.ID(stored=True),
        owner=fields.STORED(),  # sections: the document id (stored, not indexed)
        ord=fields.STORED(),
        practice=fields.STORED(),
        title=_text(TITLE_BOOST),  # documents
        section=_text(SECTION_BOOST),  # sections: the heading path
        body=_text(),  # sections: the text; documents: stored only, for whole-document snippets
        chars=_chars(),  # documents: the characters of the title, the headings and the text
        mode=fields.KEYWORD(commas=True),
        domain=fields.KEYWORD(commas=True),
        region=fields.KEYWORD(commas=True),
        year=fields.NUMERIC(),
        type=fields.ID(),
        unit=fields.ID(),
        unit_text=_text(stored=False),
        meta=fields.COLUMN(columns.VarBytesColumn()),  # documents: JSON metadata
    )
