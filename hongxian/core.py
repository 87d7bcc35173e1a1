"""The application core: one object that both fronts (the site, the ``kb`` command) call.

``Hongxian`` holds the settings and the handles (this thread's knowledge-base connection, the
analyzer, the index, the search service) and, as attributes, the use cases grouped by what the
user is doing:

=================  ==========================================================================
``documents``      import files or uploads, remove a document, show one, its original
``search``         search, similar practices
``tagging``        decide a suggested mode, the review queue, a document's decision history
``modes``          the “1+N” taxonomy: list, save or extend it, load a file, re-suggest
``pearls``         curate and publish pearl strings (串珍珠)
``accounts``       accounts and roles, logging in, the first administrator
``jobs``           slow work off the request (index updates, rebuilds, re-suggesting)
``operations``     backup, check and repair, export and import of the curated state
``stats``          a picture of the collection: counts per mode, domain, region, year, gap map
``handouts``       a pearl string or a case as a handout: PDF, Word, Markdown
=================  ==========================================================================

Every use case that writes the knowledge base keeps the index in step here (by asking for a
job), and every business rule lives in the use case, so the fronts only parse input and render.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from indexer.analysis import Analyzer, get_analyzer
from indexer.index import IndexStore
from indexer.search import MAX_SEARCHERS, SearchService
from indexer.source import KnowledgeBaseSource
from kb.database import KnowledgeBase
from kb.errors import BadRequest, ConfigError, StorageFull, storage_error
from kb.jobs import JobKind
from kb.settings import Settings, load_settings
from kb.taxonomy import load_taxonomy

from .accounts import AccountCases
from .citations import CitationCases
from .curation import PearlCases
from .documents import DocumentCases
from .handouts import HandoutCases
from .jobs import Jobs
from .operations import OperationCases
from .searching import SearchCases
from .statistics import StatsCases
from .tagging import ModeCases, TaggingCases

log = logging.getLogger(__name__)

FULL_BELOW = 1 << 20  # bytes free: less is a full disk (SQLite needs room for its shared memory)
Progress = Callable[[int], None]
ProgressFactory = Callable[[str], tuple[Progress, Progress, Callable[[], None]]]


def _no_space(path: Path) -> bool:
    """Whether the file system of ``path`` is (as good as) full."""
    try:
        found = os.statvfs(path)
    except OSError:
        return False
    return found.f_bavail * found.f_frsize < FULL_BELOW


class Hongxian:
    """Cheap to create: nothing is opened or loaded until first used (:meth:`check` loads the
    configuration at once, as the fronts do when they start)."""

    def __init__(self, settings: Settings, background: bool = True) -> None:
        self.settings = settings
        self._lock = threading.RLock()  # searcher → index take it in turn
        self._local = threading.local()
        self._handles: list[KnowledgeBase] = []
        self._index: IndexStore | None = None
        self._search: SearchService | None = None
        self.jobs = Jobs(self, background=background)
        self.documents = DocumentCases(self)
        self.search = SearchCases(self)
        self.tagging = TaggingCases(self)
        self.modes = ModeCases(self)
        self.pearls = PearlCases(self)
        self.accounts = AccountCases(self)
        self.operations = OperationCases(self)
        self.stats = StatsCases(self)
        self.citations = CitationCases(self)
        self.handouts = HandoutCases(self)

    @classmethod
    def open(cls, data_dir: str | Path | None = None, background: bool = False,
             **overrides: object) -> Hongxian:
        return cls(load_settings(data_dir=data_dir, overrides=overrides), background=background)

    # ----------------------------------------------------------------- handles
    @property
    def kb(self) -> KnowledgeBase:
        """This thread's knowledge-base handle (opened on first use, closed by :meth:`close`)."""
        handle = getattr(self._local, "kb", None)
        if handle is None:
            handle = self._local.kb = KnowledgeBase(self.settings)
            with self._lock:
                self._handles.append(handle)
        return handle

    @property
    def analyzer(self) -> Analyzer:
        return get_analyzer(self.settings)

    @property
    def index(self) -> IndexStore:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = IndexStore(self.settings.index_dir, self.analyzer)
        return self._index

    @property
    def searcher(self) -> SearchService:
        if self._search is None:
            with self._lock:
                if self._search is None:
                    self._search = SearchService(self.index, self.analyzer, self.settings.page_size)
        return self._search

    def close(self) -> None:
        """Stop the job worker after its current job and close every thread's connection."""
        self.jobs.stop()
        with self._lock:
            handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()
        if self._search is not None:
            self._search.close()
        self._local = threading.local()

    # ------------------------------------------------------------ start-up
    def check(self, database: bool = True) -> Hongxian:
        """Fail fast: load what the configuration names (the dictionary, the synonyms, the
        taxonomy file and, if there is one yet and ``database``, the database) and raise
        :class:`ConfigError` with a clear message if any of it is unusable. The fronts call
        this when they start, not on the first request. Nothing is created: a new data
        directory is made on the first write."""
        try:
            self.analyzer  # noqa: B018 - loads the dictionary and the synonyms
            taxonomy = Path(self.settings.taxonomy_file) if self.settings.taxonomy_file else None
            if taxonomy is not None and taxonomy.is_file():
                load_taxonomy(taxonomy)
            if database and self.settings.db_path.is_file():
                self.kb.conn  # noqa: B018 - opens (and migrates) the database
        except ConfigError:
            raise
        except BadRequest as exc:  # a bad taxonomy file is the server's, not the request's
            raise ConfigError(f"工作模式分类文件 {self.settings.taxonomy_file} 有误：{exc.message}") from exc
        except (OSError, sqlite3.OperationalError) as exc:  # opening migrates: it may write
            fault = storage_error(exc)
            if fault is not None and not isinstance(fault, StorageFull) and _no_space(self.settings.data_dir):
                # SQLite cannot even make its shared-memory file: "disk I/O error"
                fault = StorageFull(f"磁盘空间已满，无法打开知识库（{exc}）；请腾出空间后重试")
            if isinstance(fault, StorageFull):  # not a fault of the configuration
                raise fault from exc
            if isinstance(exc, sqlite3.OperationalError) and fault is None:
                raise
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ConfigError(f"无法打开数据目录 {self.settings.data_dir}：{reason}") from exc
        return self

    def bootstrap(self, progress: ProgressFactory | None = None) -> dict[str, object]:
        """First run: import the sample corpus into an empty knowledge base, then index."""
        done: dict[str, object] = {}
        kb = self.kb
        corpus = Path(self.settings.corpus_dir) if self.settings.corpus_dir else None
        if kb.documents.count() == 0 and corpus is not None and corpus.is_dir():
            step, total, close = progress("导入示例语料") if progress else (None, None, lambda: None)
            try:
                done["ingest"] = kb.imports.ingest([str(corpus)], progress=step, total=total).counts()
            finally:
                close()
        if self.index_stale():
            step, total, close = progress("建立索引") if progress else (None, None, lambda: None)
            try:
                done["index"] = self.jobs.run(JobKind.INDEX, "首次启动", progress=step,
                                              total=total).result.get("index")
            finally:
                close()
        return done

    # ------------------------------------------------------------ the index
    def index_stale(self) -> bool:
        return self.index.is_stale(KnowledgeBaseSource(self.kb))

    def index_update(self, kb: KnowledgeBase, rebuild: bool = False, progress: Progress | None = None,
                     total: Progress | None = None, repair: bool = False) -> dict[str, object]:
        """Bring the index in step with the knowledge base ``kb`` (jobs call this): by its
        change numbers, or by a fresh build (``rebuild``), or by comparing every document
        (``repair``, after ``kb check`` found the index disagreeing)."""
        source = KnowledgeBaseSource(kb)
        if repair:
            return self.index.repair(source, progress=progress, total=total)
        if rebuild:
            return self.index.rebuild(source, progress=progress, total=total)
        return self.index.update(source, progress=progress, total=total)

    def status(self) -> dict[str, object]:
        """The knowledge base, the index and the jobs at a glance (``kb status``, ``/jobs``)."""
        kb = self.kb
        state = self.index.state()
        rev = kb.documents.current_rev()
        index_rev = int(state["rev"]) if state.get("rev") is not None else None
        return {
            "documents": kb.documents.count(), "rev": rev,
            "index": {"exists": bool(state), "rev": index_rev, "stale": self.index_stale(),
                      "updated_at": state.get("updated_at")},
            "jobs": [j.to_dict() for j in self.jobs.active()],
        }

    def process(self) -> dict[str, object]:
        """This process at a glance, for the server's ``/jobs`` page and ``/api/jobs``: its id,
        resident memory in MB (from ``/proc``; ``None`` where there is none): all of it, its
        peak, the private part and the part that is mapped files (the index, shared with the
        page cache and given back under memory pressure), the ``threads`` setting and the
        searchers it holds open (at most ``max_searchers``)."""
        memory = _memory_mb()
        service = self._search
        return {"pid": os.getpid(), "rss_mb": memory.get("VmRSS"), "peak_rss_mb": memory.get("VmHWM"),
                "rss_anon_mb": memory.get("RssAnon"), "rss_file_mb": memory.get("RssFile"),
                "threads": self.settings.threads,
                "searchers": service.open_searchers() if service is not None else 0,
                "max_searchers": service.max_searchers if service is not None else MAX_SEARCHERS}


def _memory_mb() -> dict[str, float]:
    """``VmRSS``, ``VmHWM``, ``RssAnon`` and ``RssFile`` of this process, in MB (Linux); empty elsewhere."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return {}
    return {key: round(int(kb) / 1024, 1) for key, kb in re.findall(r"^(VmRSS|VmHWM|RssAnon|RssFile):\s+(\d+) kB", status, re.M)}
