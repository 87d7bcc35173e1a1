"""The Whoosh schema: one index holding whole documents and their practices.

The Whoosh analyzers below are thin, picklable adapters: the schema is pickled into the index,
so they carry only a name and call the process's :class:`~indexer.analysis.Analyzer`, which the
index store registers before it writes.
"""

from __future__ import annotations

from collections.abc import Iterator

from whoosh import fields
from whoosh.analysis import Token as WhooshToken
from whoosh.analysis import Tokenizer

from .analysis import Analyzer

_active: dict[str, Analyzer] = {}

TITLE_BOOST = 3.0
SECTION_BOOST = 1.5
BIGRAM_BOOST = 0.4


def activate(analyzer: Analyzer) -> None:
    """Make ``analyzer`` the one the index's fields use in this process."""
    _active["analyzer"] = analyzer


class HongxianTokenizer(Tokenizer):
    """Feeds Whoosh the tokens of our analyzer: ``kind`` is "words" or "bigrams"."""

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
        analyzer = _active.get("analyzer")
        if analyzer is None:
            raise RuntimeError("no analyzer is active; the index store registers one before writing")
        tokens = analyzer.bigrams(value) if self.kind == "bigrams" else analyzer.tokens(value)
        t = WhooshToken(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for tok in tokens:
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


def make_schema() -> fields.Schema:
    words = HongxianTokenizer("words")
    bigrams = HongxianTokenizer("bigrams")
    return fields.Schema(
        uid=fields.ID(unique=True, stored=True),
        kind=fields.ID(stored=True, sortable=True),
        doc_id=fields.ID(stored=True, sortable=True),
        ord=fields.NUMERIC(stored=True, signed=True, sortable=True),
        title=fields.TEXT(analyzer=words, stored=True, field_boost=TITLE_BOOST),
        section=fields.TEXT(analyzer=words, stored=True, field_boost=SECTION_BOOST),
        body=fields.TEXT(analyzer=words, stored=True),
        bigram=fields.TEXT(analyzer=bigrams, field_boost=BIGRAM_BOOST),
        mode=fields.KEYWORD(commas=True),
        domain=fields.KEYWORD(commas=True),
        region=fields.KEYWORD(commas=True),
        year=fields.NUMERIC(stored=True),
        date=fields.ID(stored=True, sortable=True),
        type=fields.ID(),
        unit=fields.ID(),
        unit_text=fields.TEXT(analyzer=words),
        meta=fields.STORED(),
    )
