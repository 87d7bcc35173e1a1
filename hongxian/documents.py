"""Use cases on documents: import files (command line) or uploads (site), correct metadata, remove, show."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath

from kb import metadata, summary
from kb.errors import BadRequest, Conflict, IndexMissing
from kb.ingest import BATCH_FIELDS, IngestItem, IngestReport
from kb.jobs import Job, JobKind
from kb.model import Document, IngestStatus, Original
from kb.summary import Profile

from .cases import Cases

Progress = Callable[[int], None]
MAX_UPLOADS = 500  # files in one upload
MAX_NAME_BYTES = 255  # an upload's file name, in UTF-8 (what a file system allows)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # line breaks, NUL …: never in a file name shown or sent


def upload_name(filename: str | None) -> str:
    """The file's own name, without any folder a browser or a forged request put in front."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    if not name or name in (".", "..") or name.startswith("."):
        raise BadRequest("上传的文件没有有效的文件名")
    if _CONTROL.search(name):
        raise BadRequest("上传的文件名含有换行等控制字符，请改名后再导入")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise BadRequest(f"上传的文件名太长（最多 {MAX_NAME_BYTES} 字节，约 {MAX_NAME_BYTES // 3} 个汉字），请改名后再导入")
    return name


def batch_defaults(given: dict[str, object] | None) -> dict[str, object]:
    """The type / region / domains given for an import batch (``domains`` also as ``domain``),
    cleaned as a correction in the site is (:func:`kb.metadata.clean`): empty ones left out; a
    bad one is :class:`BadRequest`, before anything is imported."""
    out: dict[str, object] = {}
    for name, value in (given or {}).items():
        field = "domains" if name == "domain" else name
        if field not in BATCH_FIELDS:
            raise BadRequest(f"导入时不能统一设置的字段：{name}（可设：类型、地区、领域）")
        if value is None or value == "" or value == []:
            continue
        try:
            cleaned = metadata.clean(field, value)
        except BadRequest as exc:
            raise BadRequest(f"本批统一设置的{exc.message}；没有导入任何文件") from None
        if cleaned:
            out[field] = cleaned
    return out


def _changed(report: IngestReport) -> bool:
    return any(i.status in (IngestStatus.ADDED, IngestStatus.UPDATED) for i in report.items)


class DocumentCases(Cases):

    # ---------------------------------------------------------------- writing
    def ingest(self, paths: list[str], actor: str = "", index: bool = True,
               progress: Progress | None = None, total: Progress | None = None,
               defaults: dict[str, object] | None = None) -> tuple[IngestReport, Job | None]:
        """Import files and folders; then (unless ``index`` is off) bring the index up to date
        (a job: run now by the command line, in the background by the server). ``defaults``:
        the type / region / domains for what the files leave empty (:func:`batch_defaults`)."""
        given = batch_defaults(defaults)
        report = self.core.kb.imports.ingest(paths, progress=progress, total=total, defaults=given)
        job = self._index(f"导入 {len(report.items)} 个文件", actor) if index else None
        return report, job

    def import_uploads(self, files: list[tuple[str | None, bytes]], actor: str = "",
                       defaults: dict[str, object] | None = None) -> tuple[IngestReport, Job | None]:
        """Import uploaded files (name as the browser sent it, bytes); a file with an unusable
        name is rejected on its own. The index follows in a job when anything changed.
        ``defaults``: as for :meth:`ingest` (checked first: a bad one imports nothing)."""
        given = batch_defaults(defaults)
        if not files:
            raise BadRequest("请选择要导入的文件（.md、.txt、.docx）")
        if len(files) > MAX_UPLOADS:
            raise BadRequest(f"一次最多导入 {MAX_UPLOADS} 个文件")
        imports = self.core.kb.imports
        report = IngestReport()
        seen: dict[str, str] = {}
        for filename, data in files:
            try:
                name = upload_name(filename)
            except BadRequest as exc:
                report.items.append(IngestItem(filename or "?", IngestStatus.REJECTED, reason=exc.message))
                continue
            item = imports.ingest_bytes(data, PurePosixPath("upload") / name, seen=seen, uploaded=True,
                                        defaults=given)
            item.path = name
            report.items.append(item)
        job = self._index(f"网页导入 {len(files)} 个文件", actor) if _changed(report) else None
        return report, job

    def remove(self, doc_id: str, actor: str = "", keep_pearls: bool = False) -> Job:
        """Delete a document, its practices and tags, recording who removed which document when
        (:meth:`removals`); the index drops it in a job. A document that pearl strings hold is
        refused (:class:`Conflict`, naming the strings) unless ``keep_pearls``: then the strings
        keep its pearls, title and commentary, marked “原文已不在知识库中”."""
        kb = self.core.kb
        kb.documents.get(doc_id)  # NotFound first
        held = [{"id": s["id"], "title": s["title"]} for s in kb.pearls.containing(doc_id)]
        if held and not keep_pearls:
            names = "、".join(f"《{s['title']}》" for s in held)
            raise Conflict(f"文档 {doc_id} 收入了 {len(held)} 串珍珠：{names}。没有删除。请先从这些串中移除它，"
                           "或确认仍然删除（串中保留它的标题和点评，注明“原文已不在知识库中”）",
                           strings=held)
        detail = {"pearl_strings": held} if held else {}
        kb.documents.remove(doc_id, actor=actor, detail=detail)
        return self._index(f"删除 {doc_id}", actor)

    def removals(self, limit: int = 100) -> list[dict[str, object]]:
        """The documents removed (in the site or by ``kb remove``), newest first."""
        return self.core.kb.documents.removals(limit)

    def edit(self, doc_id: str, changes: dict[str, object], actor: str,
             version: int | None = None) -> tuple[dict[str, list[object]], Job | None]:
        """Correct a document's metadata (the fields of :data:`kb.metadata.FIELDS` given), made
        from metadata ``version`` (None: no check; an older one: :class:`kb.errors.Conflict`).
        Returns what changed (``{field: [old, new]}``) and the index job (None if nothing did)."""
        changed = metadata.edit(self.core.kb.conn, doc_id, changes, actor, version)
        return changed, (self._index(f"{actor} 修改 {doc_id} 的信息", actor) if changed else None)

    def metadata(self, doc_id: str) -> dict[str, object]:
        """The editable fields of a document as stored, with their ``version``."""
        return metadata.current(self.core.kb.conn, doc_id)

    def edits(self, doc_id: str) -> list[dict[str, object]]:
        """Every hand correction of a document's metadata, newest first."""
        return metadata.history(self.core.kb.conn, doc_id)

    def _index(self, reason: str, actor: str) -> Job:
        return self.core.jobs.request(JobKind.INDEX, reason, actor)

    # ---------------------------------------------------------------- reading
    def show(self, doc_id: str) -> Document:
        return self.core.kb.documents.get(doc_id)

    def profile(self, doc: Document) -> Profile:
        """The case's 摘要 and 关键词 (:mod:`kb.summary`): the author's, else extracted from the
        text (keywords weighed against the index's document frequencies; by the text alone
        while there is no index yet)."""
        core = self.core
        df = core.searcher.frequencies if core.index.exists() else None
        try:
            return summary.profile(doc, core.analyzer.terms, df)
        except IndexMissing:  # the index went between the check and the look-up
            return summary.profile(doc, core.analyzer.terms, None)

    def original(self, doc_id: str) -> tuple[Original, bytes]:
        """The file the document was imported from, byte for byte."""
        return self.core.kb.documents.original(doc_id)

    def recent(self, limit: int = 8) -> list[dict[str, object]]:
        return self.core.kb.documents.recent(limit)

    def count(self) -> int:
        return self.core.kb.documents.count()
