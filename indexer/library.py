"""One object for both fronts: the knowledge base, its index and search, from one set of settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kb import IngestReport, KnowledgeBase
from kb.settings import Settings, load_settings

from .analysis import Analyzer, get_analyzer
from .index import IndexStore
from .search import SearchService
from .source import KnowledgeBaseSource

Progress = Callable[[int], None]
Total = Callable[[int], None]


class Library:
    """Cheap to create: nothing is opened or loaded until first used."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._search: SearchService | None = None
        self._store: IndexStore | None = None

    @classmethod
    def open(cls, data_dir: str | Path | None = None, **overrides: object) -> Library:
        return cls(load_settings(data_dir=data_dir, overrides=overrides))

    def kb(self) -> KnowledgeBase:
        """A new knowledge-base handle (one per thread or request; close it when done)."""
        return KnowledgeBase(self.settings)

    @property
    def analyzer(self) -> Analyzer:
        return get_analyzer(self.settings)

    @property
    def store(self) -> IndexStore:
        if self._store is None:
            self._store = IndexStore(self.settings.index_dir, self.analyzer)
        return self._store

    @property
    def search(self) -> SearchService:
        if self._search is None:
            self._search = SearchService(self.store, self.analyzer, self.settings.page_size)
        return self._search

    def ingest(self, paths: list[str], index: bool = True, progress: Progress | None = None,
               total: Total | None = None) -> tuple[IngestReport, dict[str, object] | None]:
        """Import files and (by default) bring the index up to date."""
        with self.kb() as kb:
            report = kb.imports.ingest(paths, progress=progress, total=total)
            summary = self.store.update(KnowledgeBaseSource(kb)) if index else None
        return report, summary

    def update_index(self, rebuild: bool = False, progress: Progress | None = None,
                     total: Total | None = None) -> dict[str, object]:
        with self.kb() as kb:
            if rebuild:
                return self.store.rebuild(KnowledgeBaseSource(kb), progress=progress, total=total)
            return self.store.update(KnowledgeBaseSource(kb), progress=progress, total=total)

    def bootstrap(self, progress_factory: Callable[[str], tuple[Progress, Total, Callable[[], None]]] | None = None
                  ) -> dict[str, object]:
        """First run: import the sample corpus into an empty knowledge base, then index."""
        done: dict[str, object] = {}
        with self.kb() as kb:
            corpus = Path(self.settings.corpus_dir) if self.settings.corpus_dir else None
            if kb.documents.count() == 0 and corpus is not None and corpus.is_dir():
                step, total, close = progress_factory("导入示例语料") if progress_factory else (None, None, lambda: None)
                done["ingest"] = kb.imports.ingest([str(corpus)], progress=step, total=total).counts()
                close()
            if self.store.is_stale(KnowledgeBaseSource(kb)):
                step, total, close = progress_factory("建立索引") if progress_factory else (None, None, lambda: None)
                done["index"] = self.store.update(KnowledgeBaseSource(kb), progress=step, total=total)
                close()
        return done
