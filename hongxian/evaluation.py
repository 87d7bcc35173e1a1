"""Run a judged set against the current settings, in a temporary knowledge base (``kb eval``).

The set's documents are written as Markdown files (front matter ``id``, ``title``,
``source``) and imported into a temporary data dir with the running settings — dictionary,
synonyms, suggestion threshold, taxonomy — only ``data_dir`` replaced; the index is built,
every query is searched (relevance order, the first 30 documents, each at its first hit) and
scored with :mod:`kb.evaluation`. The real data dir is never written: the taxonomy of an
existing knowledge base is read through a read-only connection.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from kb.errors import QueryError
from kb.evaluation import (
    SEARCH_LIMIT,
    EvalSet,
    EvalSetError,
    first_per_document,
    mode_scores,
    score_query,
    summarize,
    to_markdown,
)
from kb.jobs import JobKind
from kb.model import IngestStatus
from kb.settings import Settings
from kb.taxonomy import Mode, Taxonomy

from .core import Hongxian

ProgressFactory = Callable[[str], tuple[Callable[[int], None], Callable[[int], None], Callable[[], None]]]


def current_taxonomy(settings: Settings) -> tuple[Taxonomy | None, str]:
    """The taxonomy the running ``kb`` uses, and where it came from.

    A ``taxonomy_file`` set explicitly (configuration file, ``KB_TAXONOMY_FILE``) wins: that is
    how one tries a new taxonomy. Otherwise an existing knowledge base's own modes (edited on
    the site or with ``kb modes --load``), read without writing anything; otherwise the file.
    ``None`` means: let the temporary knowledge base load ``taxonomy_file`` itself.
    """
    if settings.sources.get("taxonomy_file", "default") != "default" or not settings.db_path.is_file():
        return None, settings.taxonomy_file
    # A database without a write-ahead log beside it is complete and nobody is writing it: read
    # it as immutable, which creates no -wal/-shm files. Otherwise join the log read-only.
    wal = settings.db_path.with_name(settings.db_path.name + "-wal")
    mode = "mode=ro" if wal.exists() else "immutable=1"
    try:
        conn = sqlite3.connect(f"{settings.db_path.as_uri()}?{mode}", uri=True)
        try:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT name, short, description, signals FROM modes"
                                " ORDER BY position, name").fetchall()
            programme = conn.execute("SELECT value FROM meta WHERE key = 'programme'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None, settings.taxonomy_file
    if not rows:
        return None, settings.taxonomy_file
    modes = [Mode(r["name"], r["short"], r["description"], json.loads(r["signals"])) for r in rows]
    return Taxonomy(json.loads(programme["value"]) if programme else {}, modes), f"{settings.db_path}（知识库中的模式）"


def _write_taxonomy(taxonomy: Taxonomy, path: Path) -> None:
    data = {"programme": taxonomy.programme, "modes": [m.to_dict() for m in taxonomy.modes]}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def evaluate(settings: Settings, evalset: EvalSet, progress: ProgressFactory | None = None) -> dict:
    """Import, index, search and score; returns the report object of ``kb eval --json``."""
    taxonomy, _ = current_taxonomy(settings)
    with tempfile.TemporaryDirectory(prefix="hongxian-eval-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        corpus.mkdir()
        for doc in evalset.docs:
            (corpus / f"{doc.id}.md").write_text(to_markdown(doc), encoding="utf-8")
        changes: dict[str, object] = {"data_dir": root / "data", "corpus_dir": ""}
        if taxonomy is not None:
            _write_taxonomy(taxonomy, root / "taxonomy.yaml")
            changes["taxonomy_file"] = str(root / "taxonomy.yaml")
        temp = dataclasses.replace(settings, **changes,
                                   sources=dict(settings.sources, data_dir="kb eval（临时目录）"))
        core = Hongxian(temp, background=False)
        step, total, close = progress("导入") if progress else (None, None, lambda: None)
        try:
            report, _ = core.documents.ingest([str(corpus)], index=False, progress=step, total=total)
        finally:
            close()
        rejected = report.by_status(IngestStatus.REJECTED)
        if rejected:
            lines = [f"{Path(item.path).stem}：{item.reason}" + (f"（第 {item.line} 行）" if item.line else "")
                     for item in rejected[:5]]
            more = f"，另有 {len(rejected) - 5} 篇" if len(rejected) > 5 else ""
            raise EvalSetError(f"有 {len(rejected)} 篇文档无法导入{more}：" + "；".join(lines))
        step, total, close = progress("索引") if progress else (None, None, lambda: None)
        try:
            core.jobs.run(JobKind.REBUILD, "kb eval", progress=step, total=total)
        finally:
            close()
        per_query = []
        for q in evalset.queries:
            try:
                result = core.search.search(q.query, filters={}, page=1, limit=SEARCH_LIMIT,
                                            sort="relevance")
            except QueryError as exc:
                raise EvalSetError(f"查询 {q.qid}（{q.query}）无法解析：{exc.message}") from None
            ranked = first_per_document(hit.doc_id for hit in result.hits)
            per_query.append(score_query(q.qid, q.query, ranked, q.judgments))
        modes = None
        if evalset.labels is not None:
            suggested = {doc_id: [s.mode for s in core.documents.show(doc_id).modes.suggested]
                         for doc_id in evalset.labels}
            modes = mode_scores(suggested, evalset.labels)
        core.close()
    return summarize(per_query, len(evalset.docs), modes)
