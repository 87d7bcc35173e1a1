"""Use cases of finding: search, and practices similar to one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cases import Cases

if TYPE_CHECKING:
    from indexer.results import SearchResult


class SearchCases(Cases):

    def search(self, q: str, filters: dict[str, list[str]] | None = None, page: int = 1,
               limit: int | None = None, sort: str = "relevance") -> SearchResult:
        """Best-match search over documents and practices (see the README's query language);
        answers from the last good index while a job updates it."""
        return self.core.searcher.search(q, filters=filters, page=page, limit=limit, sort=sort)

    def similar(self, doc_id: str, ord: int | None = None, limit: int = 5,
                missing_ok: bool = False) -> list:
        """Practices of other documents like this document (or its section ``ord``). An unknown
        document is NotFound; without an index yet: IndexMissing, or nothing with ``missing_ok``."""
        self.core.kb.documents.get(doc_id)
        if missing_ok and not self.core.index.exists():
            return []
        return self.core.searcher.similar(doc_id, ord, limit=limit)
