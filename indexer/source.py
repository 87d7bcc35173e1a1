"""What the index is built from: any store of documents with revisions (the knowledge base is one).

:class:`indexer.index.IndexStore` reads documents only through this protocol, so the
application core, a test double or a second backend can feed it. Only
:func:`indexer.index.doc_meta` and :func:`indexer.index.entries` read a document's fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol


class ModeNames(Protocol):
    def names(self) -> list[str]:
        """The names of the working modes, in order."""
        ...


class DocumentSource(Protocol):
    def current_rev(self) -> int:
        """The revision of the latest change (it grows with every change)."""
        ...

    def changes_since(self, rev: int) -> tuple[list[str], list[str]]:
        """Ids of the documents added or changed since revision ``rev``, and of those removed."""
        ...

    def documents(self, ids: Sequence[str]) -> Iterable[Any]:
        """The documents with these ids, each with its sections and modes."""
        ...

    def all_ids(self) -> list[str]:
        ...

    def count(self) -> int:
        ...

    def taxonomy(self) -> ModeNames:
        """The working modes (the index keeps their names: the only valid ``mode:`` values)."""
        ...


class KnowledgeBaseSource:
    """Our knowledge base (:class:`kb.KnowledgeBase`) as a :class:`DocumentSource`."""

    def __init__(self, kb: Any) -> None:  # a kb.KnowledgeBase
        self.kb = kb

    def current_rev(self) -> int:
        return self.kb.documents.current_rev()

    def changes_since(self, rev: int) -> tuple[list[str], list[str]]:
        return self.kb.documents.changes_since(rev)

    def documents(self, ids: Sequence[str]) -> Iterable[Any]:
        return self.kb.documents.many(ids)

    def all_ids(self) -> list[str]:
        return self.kb.documents.all_ids()

    def count(self) -> int:
        return self.kb.documents.count()

    def taxonomy(self) -> ModeNames:
        return self.kb.modes.taxonomy()
