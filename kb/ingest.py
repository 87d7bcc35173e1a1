"""Importing files: find them, parse them and suggest their modes (in worker processes when there
are many), and write each one to the record in its own transaction."""

from __future__ import annotations

import errno
import hashlib
import json
import multiprocessing
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import store
from .cleanup import summary_zh
from .errors import ImportRejected, StorageFull, storage_error
from .importers import is_supported, parse_bytes
from .learn import ModeModel
from .metadata import reapply as reapply_corrections
from .model import IMPORT_ACTOR, WHOLE_DOCUMENT, IngestStatus, ParsedDocument, Suggestion, TagStatus
from .modes import Modes
from .settings import Settings
from .suggest import suggest_document
from .tags import Tags, record_history, store_suggestions
from .taxonomy import Mode

BATCH_FIELDS = ("type", "region", "domains")  # what an import batch may give the files it holds
IMPORTER_VERSION = "2"  # bump when importers change what they make of the same bytes
# 2: bracketed and spaced author lines; web-text clean-up (kb.cleanup)
Progress = Callable[[int], None]


@dataclass
class IngestItem:
    """What importing one file did (``reason`` and ``line`` say why a file was rejected)."""

    path: str
    status: IngestStatus
    doc_id: str | None = None
    reason: str | None = None
    line: int | None = None
    cleanup: list[dict[str, object]] = field(default_factory=list)  # see kb.cleanup

    def cleanup_note(self) -> str:
        """The clean-up in one Chinese line (empty when nothing was changed or flagged)."""
        return summary_zh(self.cleanup, word=self.path.lower().endswith(".docx"))


@dataclass
class IngestReport:
    items: list[IngestItem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def by_status(self, status: IngestStatus | str) -> list[IngestItem]:
        return [i for i in self.items if i.status == status]

    def counts(self) -> dict[str, int]:
        out = {s.value: len(self.by_status(s)) for s in IngestStatus}
        out["ignored"] = len(self.ignored)
        return out

    def to_dict(self) -> dict[str, object]:
        return {"counts": self.counts(), "items": [asdict(i) for i in self.items],
                "ignored": self.ignored, "seconds": self.seconds}


def apply_defaults(doc: ParsedDocument, defaults: dict[str, object]) -> None:
    """Fill the fields of :data:`BATCH_FIELDS` that the file leaves empty from the batch's
    (already cleaned, :func:`kb.metadata.clean`): what the file says always wins."""
    for name in BATCH_FIELDS:
        value = defaults.get(name)
        if value and not getattr(doc, name):
            setattr(doc, name, list(value) if isinstance(value, list) else value)


_READ_ERRORS = {errno.EACCES: "没有读取权限", errno.EPERM: "没有读取权限", errno.ENOENT: "文件不存在",
                errno.EISDIR: "这是一个文件夹", errno.EIO: "磁盘读取出错", errno.ELOOP: "符号链接循环"}


def read_error(exc: OSError) -> str:
    """Why a file could not be read, in Chinese (the system's own words are English)."""
    return _READ_ERRORS.get(exc.errno or 0, f"系统错误（错误号 {exc.errno}）")


def rejected(path: str, reason: str, line: int | None = None) -> IngestItem:
    return IngestItem(path, IngestStatus.REJECTED, reason=reason, line=line)


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[str], list[IngestItem]]:
    """Expand files and folders (recursively) into importable files.

    Returns (files, ignored files inside folders, rejections for bad explicit paths).
    """
    files: list[Path] = []
    ignored: list[str] = []
    refused: list[IngestItem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                hidden = any(part.startswith((".", "~$")) for part in child.relative_to(path).parts)
                if hidden:
                    continue
                (files.append(child) if is_supported(child) else ignored.append(str(child)))
        elif path.is_file():
            if is_supported(path):
                files.append(path)
            else:
                refused.append(rejected(str(path), f"不支持的文件类型 {path.suffix or '（无扩展名）'}"))
        else:
            refused.append(rejected(str(path), "路径不存在（没有这个文件或文件夹）"))
    return files, ignored, refused


Prepared = tuple[ParsedDocument, dict[int, list[Suggestion]]] | ImportRejected
PARALLEL_FROM = 200  # files to parse; below this starting worker processes costs more than it saves
MAX_PROCS = 4
BATCH = 256  # files handed to the workers at a time: bounds what waits in memory


def prepare(path: Path, data: bytes, modes: list[Mode], threshold: float,
            model: ModeModel | None = None) -> Prepared:
    """Parse one file and suggest its modes (no database needed: runs in worker processes)."""
    try:
        doc = parse_bytes(data, path)
    except ImportRejected as exc:
        return exc
    practices = [(section.ord, section.text) for section in doc.sections if section.is_practice]
    return doc, suggest_document(doc.title, doc.body, practices, modes, threshold, model)


def read_and_prepare(path: Path, modes: list[Mode], threshold: float,
                     model: ModeModel | None = None) -> tuple[str | None, Prepared]:
    """(digest of the bytes read, prepared document) for one file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, ImportRejected(f"无法读取文件：{read_error(exc)}", path=str(path))
    return digest_of(data), prepare(path, data, modes, threshold, model)


_MEDIA_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain",
                ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def media_type(name: str, charset: str | None) -> str:
    """The content type of an imported file: by its extension, with the charset it was read in."""
    base = _MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
    if charset and base.startswith("text/"):
        return f"{base}; charset={'utf-8' if charset == 'utf-8-sig' else charset}"
    return base


def digest_of(data: bytes) -> str:
    return hashlib.sha256(IMPORTER_VERSION.encode() + b"\0" + data).hexdigest()


# What every file of one prepare_all needs. Set by the pool's initializer in each worker process
# (and only there): the importing process never holds it.
_worker_job: tuple[list[Mode], float, ModeModel | None] | None = None


def _start_worker(modes: list[Mode], threshold: float, model: ModeModel | None) -> None:
    global _worker_job
    _worker_job = (modes, threshold, model)


def _prepare_in_worker(path: Path) -> tuple[str | None, Prepared]:
    assert _worker_job is not None, "_start_worker runs first in every worker"
    return read_and_prepare(path, *_worker_job)


def prepare_all(paths: list[Path], modes: list[Mode], threshold: float, procs: int | None = None,
                model: ModeModel | None = None) -> Iterator[tuple[str | None, Prepared]]:
    """``read_and_prepare`` over many files, in order; large batches use one process per core.

    Workers read the files themselves and the results come back a batch at a time, so memory
    stays flat however many files there are.
    """
    if procs is None:
        procs = min(os.cpu_count() or 1, MAX_PROCS) if len(paths) >= PARALLEL_FROM else 1
    if procs < 2 or len(paths) < 2:
        for path in paths:
            yield read_and_prepare(path, modes, threshold, model)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(procs, initializer=_start_worker, initargs=(modes, threshold, model)) as pool:
        batches = [paths[start:start + BATCH] for start in range(0, len(paths), BATCH)]
        running = pool.map_async(_prepare_in_worker, batches[0], chunksize=8)
        for following in [*batches[1:], None]:  # the next batch is parsed while this one is written
            upcoming = pool.map_async(_prepare_in_worker, following, chunksize=8) if following else None
            yield from running.get()
            running = upcoming


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _stopped_at(exc: BaseException, done: list[IngestItem | None], count: int) -> BaseException:
    """A full disk (or an unwritable database) part way through a batch: the files before it are
    imported (each is its own transaction) and the message says so; anything else as it is."""
    fault = storage_error(exc)
    saved = sum(1 for item in done if item is not None and item.status in (IngestStatus.ADDED, IngestStatus.UPDATED))
    if fault is None or not saved:
        return exc
    kind = "磁盘空间已满" if isinstance(fault, StorageFull) else "无法写入知识库"
    return type(fault)(f"{kind}：本批 {count} 个文件中，前 {len(done)} 个已处理（新增或更新 {saved} 篇，已保存），"
                       f"其余没有导入（{exc}）。腾出空间后重新运行同一条命令即可：已导入的文件会跳过，索引随后更新")


class Imports:
    """Writes imported files to the ``documents``, ``sections``, ``tags`` and ``originals`` tables."""

    def __init__(self, conn: sqlite3.Connection, settings: Settings, modes: Modes, tags: Tags) -> None:
        self.conn = conn
        self.settings = settings
        self.modes = modes
        self.tags = tags

    def ingest(self, paths: Iterable[str | Path], progress: Progress | None = None,
               total: Progress | None = None, procs: int | None = None,
               defaults: dict[str, object] | None = None) -> IngestReport:
        """Import files and folders; every file is its own transaction.

        Files whose bytes were already imported from the same place are skipped unparsed. The
        rest are parsed and their modes suggested in one worker process per core when there are
        many (``procs``: None decides by the batch size), and written here in file order.
        ``defaults``: the batch's type / region / domains (:func:`apply_defaults`).
        """
        started = time.perf_counter()
        files, ignored, refused = discover(paths)
        report = IngestReport(items=list(refused), ignored=ignored)
        if total:
            total(len(files))
        seen: dict[str, str] = {}
        pending: list[tuple[Path, str]] = []  # to parse: path, source
        slots: list[IngestItem | None] = []
        for path in files:
            try:
                data = path.read_bytes()
            except OSError as exc:
                slots.append(rejected(str(path), f"无法读取文件：{read_error(exc)}"))
                continue
            digest, source = self._digest(data, path)
            same = self._same(digest, source)
            if same is not None:
                slots.append(self._unchanged(same, path, seen))
                if progress:
                    progress(1)
            else:
                slots.append(None)
                pending.append((path, source))
        prepared = prepare_all([p for p, _ in pending], self.modes.taxonomy().modes,
                               self.settings.suggest_threshold, procs, self.tags.mode_model() if pending else None)
        parsed = iter(pending)
        try:
            for i, slot in enumerate(slots):
                if slot is None:
                    path, source = next(parsed)
                    digest, result = next(prepared)  # the digest of the bytes the worker parsed
                    try:
                        slots[i] = (rejected(str(path), result.message)  # type: ignore[union-attr]
                                    if digest is None else self._store(result, path, digest, source, seen,
                                                                       defaults))
                    except (OSError, sqlite3.OperationalError) as exc:
                        stopped = _stopped_at(exc, slots[:i], len(files))
                        if stopped is exc:
                            raise
                        raise stopped from exc
                    if progress:
                        progress(1)
        finally:
            prepared.close()  # stops the worker processes
        report.items.extend(item for item in slots if item is not None)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def ingest_bytes(self, data: bytes, path: Path, seen: dict[str, str] | None = None,
                     uploaded: bool = False, defaults: dict[str, object] | None = None) -> IngestItem:
        """Import one file's contents. Rejections change nothing.

        A file already imported from the same place with the same bytes is skipped without being
        parsed; otherwise it is parsed and skipped only if its document is stored with these bytes.
        ``uploaded``: ``path`` names an upload, not a file of this machine (it is kept as it is,
        never looked up on the disk). ``defaults``: as for :meth:`ingest`.
        """
        digest, source = (digest_of(data), str(path)) if uploaded else self._digest(data, path)
        same = self._same(digest, source)
        if same is not None:
            return self._unchanged(same, path, seen)
        prepared = prepare(path, data, self.modes.taxonomy().modes, self.settings.suggest_threshold,
                           self.tags.mode_model())
        return self._store(prepared, path, digest, source, seen, defaults)

    @staticmethod
    def _digest(data: bytes, path: Path) -> tuple[str, str]:
        source = str(Path(path).resolve()) if Path(path).exists() else str(path)
        return digest_of(data), source

    def _same(self, digest: str, source: str) -> str | None:
        row = self.conn.execute("SELECT id FROM documents WHERE content_hash = ? AND source_path = ?",
                                (digest, source)).fetchone()
        return row["id"] if row else None

    def _unchanged(self, doc_id: str, path: Path, seen: dict[str, str] | None) -> IngestItem:
        try:
            self._check_batch(doc_id, path, seen)
        except ImportRejected as exc:
            return rejected(str(path), exc.message, exc.line)
        if seen is not None:
            seen[doc_id] = str(path)
        return IngestItem(str(path), IngestStatus.UNCHANGED, doc_id=doc_id)

    def _store(self, prepared: Prepared, path: Path, digest: str, source: str,
               seen: dict[str, str] | None, defaults: dict[str, object] | None = None) -> IngestItem:
        """Write one parsed file (or report why it was rejected)."""
        try:
            if isinstance(prepared, ImportRejected):
                raise prepared
            doc, suggestions = prepared
            self._check_modes(doc, path)
            self._check_batch(doc.id, path, seen)
            stored = self.conn.execute("SELECT content_hash FROM documents WHERE id = ?",
                                       (doc.id,)).fetchone()
            if stored and stored["content_hash"] == digest:
                status = IngestStatus.UNCHANGED
            else:
                status = self._write(doc, source, digest, suggestions, defaults or {})
        except ImportRejected as exc:
            return rejected(str(path), exc.message, exc.line)
        if seen is not None:
            seen[doc.id] = str(path)
        cleanup = doc.cleanup if status != IngestStatus.UNCHANGED else []  # unchanged: nothing was written
        return IngestItem(str(path), status, doc_id=doc.id, cleanup=cleanup)

    @staticmethod
    def _check_batch(doc_id: str, path: Path, seen: dict[str, str] | None) -> None:
        if seen is not None and doc_id in seen:
            raise ImportRejected(f"文档编号 {doc_id} 与本批次的 {seen[doc_id]} 重复", path=str(path))

    def _check_modes(self, doc: ParsedDocument, path: Path) -> None:
        known = self.modes.taxonomy().names()
        unknown = [m for m in doc.modes if m not in known]
        if unknown:
            raise ImportRejected(
                f"未知的工作模式：{'、'.join(unknown)}（可用：{'、'.join(known) or '无，请先载入分类文件'}）",
                path=str(path))

    def _write(self, doc: ParsedDocument, source: str, digest: str,
               suggestions: dict[int, list[Suggestion]], defaults: dict[str, object]) -> IngestStatus:
        conn = self.conn
        stamp = _now()
        with store.transaction(conn):
            rev = store.next_rev(conn)
            exists = conn.execute("SELECT batch_defaults FROM documents WHERE id = ?", (doc.id,)).fetchone()
            # an earlier batch's values stay for a re-import that gives none (this batch's replace them)
            kept = {**(json.loads(exists["batch_defaults"]) if exists else {}), **defaults}
            apply_defaults(doc, kept)
            values = (
                doc.title, doc.type, doc.unit, doc.author, doc.date, doc.year, doc.region,
                json.dumps(doc.domains, ensure_ascii=False), json.dumps(doc.keywords, ensure_ascii=False),
                doc.source, json.dumps(doc.extra, ensure_ascii=False, default=str), doc.body, doc.format,
                source, digest, stamp, rev, json.dumps(kept, ensure_ascii=False),
            )
            if exists:
                conn.execute(
                    "UPDATE documents SET title=?, type=?, unit=?, author=?, date=?, year=?, region=?,"
                    " domains=?, keywords=?, source=?, extra=?, body=?, format=?, source_path=?,"
                    " content_hash=?, updated_at=?, rev=?, batch_defaults=?, meta_version = meta_version + 1"
                    " WHERE id=?",
                    (*values, doc.id))
                reapply_corrections(conn, doc.id)  # what editors corrected by hand stays corrected
                conn.execute("DELETE FROM sections WHERE doc_id = ?", (doc.id,))
                conn.execute("DELETE FROM tags WHERE doc_id = ? AND status = ?", (doc.id, TagStatus.SUGGESTED))
                kept = ",".join("?" * len(doc.modes))
                conn.execute(f"DELETE FROM tags WHERE doc_id = ? AND actor = ? AND mode NOT IN ({kept})",
                             (doc.id, IMPORT_ACTOR, *doc.modes))
            else:
                conn.execute(
                    "INSERT INTO documents (title, type, unit, author, date, year, region, domains,"
                    " keywords, source, extra, body, format, source_path, content_hash, updated_at, rev,"
                    " batch_defaults, id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (*values, doc.id, stamp))
            conn.executemany(
                "INSERT INTO sections (doc_id, ord, parent_ord, level, heading, path, text, is_practice,"
                " start, \"end\") VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(doc.id, s.ord, s.parent, s.level, s.heading, json.dumps(s.path, ensure_ascii=False),
                  s.text, int(s.is_practice), s.start, s.end) for s in doc.sections])
            for mode in doc.modes:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO tags (doc_id, section_ord, mode, status, actor, decided_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (doc.id, WHOLE_DOCUMENT, mode, TagStatus.CONFIRMED, IMPORT_ACTOR, stamp))
                if cur.rowcount:
                    record_history(conn, doc.id, WHOLE_DOCUMENT, mode, TagStatus.CONFIRMED, IMPORT_ACTOR, stamp)
            for ord_, found in suggestions.items():
                store_suggestions(conn, doc.id, ord_, found, stamp)
            conn.execute(
                "INSERT OR REPLACE INTO originals (doc_id, name, media_type, size, sha256, cleanup, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (doc.id, Path(source).name, media_type(source, doc.charset), len(doc.original),
                 hashlib.sha256(doc.original).hexdigest(), json.dumps(doc.cleanup, ensure_ascii=False),
                 doc.original))
            conn.execute("DELETE FROM tombstones WHERE doc_id = ?", (doc.id,))
        return IngestStatus.UPDATED if exists else IngestStatus.ADDED
