"""The knowledge base service: the one object the command line and the site both call."""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import learn, store
from .accounts import Accounts
from .cleanup import summary_zh
from .errors import BadRequest, ImportRejected, KbError, NotFound
from .importers import is_supported, parse_bytes
from .learn import ModeModel
from .model import IMPORT_ACTOR, ParsedDocument
from .pearls import PearlStrings
from .settings import Settings, load_settings
from .suggest import Suggestion, suggest_document
from .taxonomy import Mode, Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

IMPORTER_VERSION = "2"  # bump when importers change what they make of the same bytes
# 2: bracketed and spaced author lines; web-text clean-up (kb.cleanup)
Progress = Callable[[int], None]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class IngestItem:
    path: str
    status: str  # added | updated | unchanged | rejected
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

    def by_status(self, status: str) -> list[IngestItem]:
        return [i for i in self.items if i.status == status]

    def counts(self) -> dict[str, int]:
        out = {s: len(self.by_status(s)) for s in ("added", "updated", "unchanged", "rejected")}
        out["ignored"] = len(self.ignored)
        return out

    def to_dict(self) -> dict[str, object]:
        return {"counts": self.counts(), "items": [asdict(i) for i in self.items],
                "ignored": self.ignored, "seconds": self.seconds}


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[str], list[IngestItem]]:
    """Expand files and folders (recursively) into importable files.

    Returns (files, ignored files inside folders, rejections for bad explicit paths).
    """
    files: list[Path] = []
    ignored: list[str] = []
    rejected: list[IngestItem] = []
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
                rejected.append(IngestItem(str(path), "rejected", reason=f"不支持的文件类型 {path.suffix or '(无扩展名)'}"))
        else:
            rejected.append(IngestItem(str(path), "rejected", reason="路径不存在 (no such file or folder)"))
    return files, ignored, rejected


Prepared = tuple[ParsedDocument, dict[int, list[Suggestion]]] | ImportRejected
PARALLEL_FROM = 200  # files to parse; below this starting worker processes costs more than it saves
MAX_PROCS = 4


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
        return None, ImportRejected(f"无法读取文件：{exc.strerror}", path=str(path))
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


_JOB: tuple[list[Mode], float, ModeModel | None] | None = None  # set before forking the workers of prepare_all
BATCH = 256  # files handed to the workers at a time: bounds what waits in memory


def _prepare_forked(path: Path) -> tuple[str | None, Prepared]:
    assert _JOB is not None
    return read_and_prepare(path, *_JOB)


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
    global _JOB
    _JOB = (modes, threshold, model)
    try:
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            batches = [paths[start:start + BATCH] for start in range(0, len(paths), BATCH)]
            running = pool.map_async(_prepare_forked, batches[0], chunksize=8)
            for following in [*batches[1:], None]:  # the next batch is parsed while this one is written
                upcoming = pool.map_async(_prepare_forked, following, chunksize=8) if following else None
                yield from running.get()
                running = upcoming
    finally:
        _JOB = None


class KnowledgeBase:
    """Documents, practices, taxonomy and tag decisions in one SQLite database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._conn: sqlite3.Connection | None = None

    @classmethod
    def open(cls, data_dir: str | Path | None = None, **overrides: object) -> KnowledgeBase:
        return cls(load_settings(data_dir=data_dir, overrides=overrides))

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = store.connect(self.settings.db_path)
            if not self._conn.execute("SELECT 1 FROM modes LIMIT 1").fetchone():
                path = Path(self.settings.taxonomy_file)
                if self.settings.taxonomy_file and path.is_file():
                    self.load_taxonomy(path)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def accounts(self) -> Accounts:
        """User accounts and roles (``kb user …``, the site's login)."""
        return Accounts(self.conn)

    @property
    def pearls(self) -> PearlStrings:
        """Pearl strings (串珍珠): curated, ordered, annotated collections of practices."""
        return PearlStrings(self)

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- taxonomy
    def taxonomy(self) -> Taxonomy:
        rows = self.conn.execute("SELECT * FROM modes ORDER BY position, name").fetchall()
        modes = [Mode(r["name"], r["short"], r["description"], json.loads(r["signals"])) for r in rows]
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'programme'").fetchone()
        programme = json.loads(row["value"]) if row else {"name": "", "description": ""}
        return Taxonomy(programme, modes)

    def load_taxonomy(self, path: Path) -> dict[str, list[str]]:
        """Add or update modes from a taxonomy file (modes not in the file are kept)."""
        taxonomy = load_taxonomy(path)
        conn = self._conn if self._conn is not None else self.conn
        added, updated = [], []
        with store.transaction(conn):
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('programme', ?)",
                         (json.dumps(taxonomy.programme, ensure_ascii=False),))
            base = conn.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM modes").fetchone()[0]
            for i, mode in enumerate(taxonomy.modes):
                row = conn.execute("SELECT * FROM modes WHERE name = ?", (mode.name,)).fetchone()
                signals = json.dumps(mode.signals, ensure_ascii=False)
                if row is None:
                    conn.execute(
                        "INSERT INTO modes (name, short, description, signals, position, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (mode.name, mode.short, mode.description, signals, base + i, now()))
                    added.append(mode.name)
                elif (row["short"], row["description"], row["signals"]) != (mode.short, mode.description, signals):
                    conn.execute("UPDATE modes SET short = ?, description = ?, signals = ?, updated_at = ?"
                                 " WHERE name = ?", (mode.short, mode.description, signals, now(), mode.name))
                    updated.append(mode.name)
        if (added or updated) and conn.execute("SELECT 1 FROM documents LIMIT 1").fetchone():
            self.resuggest()
        return {"added": added, "updated": updated}

    def mode_counts(self) -> list[dict[str, object]]:
        """Every mode with the number of documents that carry it, confirmed and suggested."""
        counts = {
            (r["mode"], r["status"]): r["n"]
            for r in self.conn.execute(
                "SELECT mode, status, COUNT(DISTINCT doc_id) AS n FROM tags WHERE section_ord = -1"
                " GROUP BY mode, status")
        }
        out = []
        for mode in self.taxonomy().modes:
            entry = mode.to_dict()
            entry["confirmed"] = counts.get((mode.name, "confirmed"), 0)
            entry["suggested"] = counts.get((mode.name, "suggested"), 0)
            out.append(entry)
        return out

    # ------------------------------------------------------------------- ingest
    def ingest(self, paths: Iterable[str | Path], progress: Progress | None = None,
               total: Callable[[int], None] | None = None, procs: int | None = None) -> IngestReport:
        """Import files and folders; every file is its own transaction.

        Files whose bytes were already imported from the same place are skipped unparsed. The
        rest are parsed and their modes suggested in one worker process per core when there are
        many (``procs``: None decides by the batch size), and written here in file order.
        """
        started = time.perf_counter()
        files, ignored, rejected = discover(paths)
        report = IngestReport(items=list(rejected), ignored=ignored)
        if total:
            total(len(files))
        seen: dict[str, str] = {}
        pending: list[tuple[Path, str]] = []  # to parse: path, source
        slots: list[IngestItem | None] = []
        for path in files:
            try:
                data = path.read_bytes()
            except OSError as exc:
                slots.append(IngestItem(str(path), "rejected", reason=f"无法读取文件：{exc.strerror}"))
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
        prepared = prepare_all([p for p, _ in pending], self.taxonomy().modes,
                               self.settings.suggest_threshold, procs, self.mode_model() if pending else None)
        parsed = iter(pending)
        try:
            for i, slot in enumerate(slots):
                if slot is None:
                    path, source = next(parsed)
                    digest, result = next(prepared)  # the digest of the bytes the worker parsed
                    slots[i] = (IngestItem(str(path), "rejected", reason=result.message)
                                if digest is None else self._store(result, path, digest, source, seen))
                    if progress:
                        progress(1)
        finally:
            prepared.close()  # stops the worker processes
        report.items.extend(item for item in slots if item is not None)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

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
            return IngestItem(str(path), "rejected", reason=exc.message, line=exc.line)
        if seen is not None:
            seen[doc_id] = str(path)
        return IngestItem(str(path), "unchanged", doc_id=doc_id)

    def ingest_bytes(self, data: bytes, path: Path, seen: dict[str, str] | None = None) -> IngestItem:
        """Import one file's contents. Rejections change nothing.

        A file already imported from the same place with the same bytes is skipped without being
        parsed; otherwise it is parsed and skipped only if its document is stored with these bytes.
        """
        digest, source = self._digest(data, path)
        same = self._same(digest, source)
        if same is not None:
            return self._unchanged(same, path, seen)
        prepared = prepare(path, data, self.taxonomy().modes, self.settings.suggest_threshold, self.mode_model())
        return self._store(prepared, path, digest, source, seen)

    def _store(self, prepared: Prepared, path: Path, digest: str, source: str,
               seen: dict[str, str] | None) -> IngestItem:
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
                status = "unchanged"
            else:
                status = self._write(doc, source, digest, suggestions)
        except ImportRejected as exc:
            return IngestItem(str(path), "rejected", reason=exc.message, line=exc.line)
        if seen is not None:
            seen[doc.id] = str(path)
        cleanup = doc.cleanup if status != "unchanged" else []  # unchanged: nothing was written
        return IngestItem(str(path), status, doc_id=doc.id, cleanup=cleanup)

    @staticmethod
    def _check_batch(doc_id: str, path: Path, seen: dict[str, str] | None) -> None:
        if seen is not None and doc_id in seen:
            raise ImportRejected(f"文档编号 {doc_id} 与本批次的 {seen[doc_id]} 重复", path=str(path))

    def _check_modes(self, doc: ParsedDocument, path: Path) -> None:
        known = self.taxonomy().names()
        unknown = [m for m in doc.modes if m not in known]
        if unknown:
            raise ImportRejected(
                f"未知的工作模式：{'、'.join(unknown)}（可用：{'、'.join(known) or '无，请先载入分类文件'}）",
                path=str(path))

    def _write(self, doc: ParsedDocument, source: str, digest: str,
               suggestions: dict[int, list[Suggestion]]) -> str:
        conn = self.conn
        stamp = now()
        with store.transaction(conn):
            rev = store.next_rev(conn)
            exists = conn.execute("SELECT 1 FROM documents WHERE id = ?", (doc.id,)).fetchone()
            values = (
                doc.title, doc.type, doc.unit, doc.author, doc.date, doc.year, doc.region,
                json.dumps(doc.domains, ensure_ascii=False), json.dumps(doc.keywords, ensure_ascii=False),
                doc.source, json.dumps(doc.extra, ensure_ascii=False, default=str), doc.body, doc.format,
                source, digest, stamp, rev,
            )
            if exists:
                conn.execute(
                    "UPDATE documents SET title=?, type=?, unit=?, author=?, date=?, year=?, region=?,"
                    " domains=?, keywords=?, source=?, extra=?, body=?, format=?, source_path=?,"
                    " content_hash=?, updated_at=?, rev=? WHERE id=?", (*values, doc.id))
                conn.execute("DELETE FROM sections WHERE doc_id = ?", (doc.id,))
                conn.execute("DELETE FROM tags WHERE doc_id = ? AND status = 'suggested'", (doc.id,))
                kept = ",".join("?" * len(doc.modes))
                conn.execute(f"DELETE FROM tags WHERE doc_id = ? AND actor = ? AND mode NOT IN ({kept})",
                             (doc.id, IMPORT_ACTOR, *doc.modes))
            else:
                conn.execute(
                    "INSERT INTO documents (title, type, unit, author, date, year, region, domains,"
                    " keywords, source, extra, body, format, source_path, content_hash, updated_at, rev,"
                    " id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (*values, doc.id, stamp))
            conn.executemany(
                "INSERT INTO sections (doc_id, ord, parent_ord, level, heading, path, text, is_practice,"
                " start, \"end\") VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(doc.id, s.ord, s.parent, s.level, s.heading, json.dumps(s.path, ensure_ascii=False),
                  s.text, int(s.is_practice), s.start, s.end) for s in doc.sections])
            for mode in doc.modes:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO tags (doc_id, section_ord, mode, status, actor, decided_at)"
                    " VALUES (?, -1, ?, 'confirmed', ?, ?)", (doc.id, mode, IMPORT_ACTOR, stamp))
                if cur.rowcount:
                    self._history(doc.id, -1, mode, "confirmed", IMPORT_ACTOR, stamp)
            for ord_, found in suggestions.items():
                self._store_suggestions(doc.id, ord_, found, stamp)
            conn.execute(
                "INSERT OR REPLACE INTO originals (doc_id, name, media_type, size, sha256, cleanup, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (doc.id, Path(source).name, media_type(source, doc.charset), len(doc.original),
                 hashlib.sha256(doc.original).hexdigest(), json.dumps(doc.cleanup, ensure_ascii=False),
                 doc.original))
            conn.execute("DELETE FROM tombstones WHERE doc_id = ?", (doc.id,))
        return "updated" if exists else "added"

    def _store_suggestions(self, doc_id: str, ord_: int, suggestions: list, stamp: str) -> None:
        self.conn.executemany(
            "INSERT OR IGNORE INTO tags (doc_id, section_ord, mode, status, score, evidence, actor,"
            " decided_at) VALUES (?, ?, ?, 'suggested', ?, ?, 'system', ?)",
            [(doc_id, ord_, s.mode, s.score, json.dumps(s.evidence, ensure_ascii=False), stamp)
             for s in suggestions])

    def _history(self, doc_id: str, ord_: int, mode: str, status: str, actor: str, stamp: str) -> None:
        self.conn.execute(
            "INSERT INTO tag_history (doc_id, section_ord, mode, status, actor, at) VALUES (?,?,?,?,?,?)",
            (doc_id, ord_, mode, status, actor, stamp))

    def mode_model(self) -> ModeModel | None:
        """What the decisions so far teach about the modes (None while there are none); trained
        again only when decisions changed (see :mod:`kb.learn`)."""
        return learn.model_for(self.conn, self.taxonomy().modes, str(self.settings.db_path))

    def resuggest(self, doc_ids: Iterable[str] | None = None) -> int:
        """Recompute suggestions (after the taxonomy or people's decisions changed), with the model
        learned from the decisions so far; decisions by people are kept.

        Only documents whose suggestions actually change are rewritten (and so re-indexed).
        Returns how many changed.
        """
        modes = self.taxonomy().modes
        threshold = self.settings.suggest_threshold
        model = self.mode_model()
        ids = list(doc_ids) if doc_ids is not None else [
            r["id"] for r in self.conn.execute("SELECT id FROM documents ORDER BY id")]
        changed = 0
        for doc_id in ids:
            row = self.conn.execute("SELECT title, body FROM documents WHERE id = ?", (doc_id,)).fetchone()
            if row is None:
                continue
            practices = self.conn.execute(
                "SELECT ord, text FROM sections WHERE doc_id = ? AND is_practice = 1", (doc_id,)).fetchall()
            fresh = suggest_document(row["title"], row["body"], [(p["ord"], p["text"]) for p in practices],
                                     modes, threshold, model)
            decided = {(r["section_ord"], r["mode"]) for r in self.conn.execute(
                "SELECT section_ord, mode FROM tags WHERE doc_id = ? AND status != 'suggested'", (doc_id,))}
            wanted = sorted((o, s.mode, round(s.score, 6)) for o, items in fresh.items() for s in items
                            if (o, s.mode) not in decided)
            stored = sorted((r["section_ord"], r["mode"], round(r["score"], 6)) for r in self.conn.execute(
                "SELECT section_ord, mode, score FROM tags WHERE doc_id = ? AND status = 'suggested'",
                (doc_id,)))
            if wanted == stored:
                continue
            stamp = now()
            with store.transaction(self.conn):
                self.conn.execute("DELETE FROM tags WHERE doc_id = ? AND status = 'suggested'", (doc_id,))
                for ord_, suggestions in fresh.items():
                    self._store_suggestions(doc_id, ord_, suggestions, stamp)
                self._touch(doc_id)
            changed += 1
        return changed

    def save_mode(self, name: str, short: str = "", description: str = "",
                  signals: dict[str, float] | None = None) -> str:
        """Add a mode or update one (by name); suggestions are recomputed at once.

        Returns ``added`` or ``updated``. The mode takes effect in suggestions and, after the
        index update that follows, in search facets, without a restart.
        """
        name = name.strip()
        if not name or len(name) > 40:
            raise BadRequest("模式名称不能为空，且不超过 40 个字符")
        if not signals:
            raise BadRequest("请至少给出一个信号词，系统才能据此建议这个模式")
        if len(description) > 2000 or len(short) > 200:
            raise BadRequest("简介不超过 200 字，说明不超过 2000 字")
        encoded = json.dumps(signals, ensure_ascii=False)
        with store.transaction(self.conn):
            row = self.conn.execute("SELECT name FROM modes WHERE name = ?", (name,)).fetchone()
            if row is None:
                position = self.conn.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM modes").fetchone()[0]
                self.conn.execute(
                    "INSERT INTO modes (name, short, description, signals, position, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)", (name, short.strip(), description.strip(), encoded, position, now()))
            else:
                self.conn.execute("UPDATE modes SET short = ?, description = ?, signals = ?, updated_at = ?"
                                  " WHERE name = ?", (short.strip(), description.strip(), encoded, now(), name))
        self.resuggest()
        return "added" if row is None else "updated"

    def _touch(self, doc_id: str) -> None:
        rev = store.next_rev(self.conn)
        self.conn.execute("UPDATE documents SET rev = ? WHERE id = ?", (rev, doc_id))

    def remove(self, doc_id: str) -> None:
        """Delete a document, its practices and tags; the index drops it at its next update."""
        with store.transaction(self.conn):
            cur = self.conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            if not cur.rowcount:
                raise NotFound(f"没有编号为 {doc_id} 的文档")
            rev = store.next_rev(self.conn)
            self.conn.execute("INSERT OR REPLACE INTO tombstones (doc_id, rev) VALUES (?, ?)", (doc_id, rev))

    # ------------------------------------------------------------------ tagging
    def decide(self, doc_id: str, mode: str, status: str, actor: str, section_ord: int = -1) -> None:
        """Record a person's decision on a mode: confirmed or rejected."""
        if status not in ("confirmed", "rejected"):
            raise BadRequest(f"无效的决定 {status!r}：应为 confirmed 或 rejected")
        if mode not in self.taxonomy().names():
            raise BadRequest(f"未知的工作模式：{mode}")
        if not self.conn.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone():
            raise NotFound(f"没有编号为 {doc_id} 的文档")
        stamp = now()
        with store.transaction(self.conn):
            self.conn.execute(
                "INSERT INTO tags (doc_id, section_ord, mode, status, actor, decided_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (doc_id, section_ord, mode) DO UPDATE SET"
                " status = excluded.status, actor = excluded.actor, decided_at = excluded.decided_at",
                (doc_id, section_ord, mode, status, actor, stamp))
            self._history(doc_id, section_ord, mode, status, actor, stamp)
            self._touch(doc_id)

    def history(self, doc_id: str) -> list[dict[str, object]]:
        """Every tag decision on a document and its practices, newest first."""
        rows = self.conn.execute(
            "SELECT section_ord, mode, status, actor, at FROM tag_history WHERE doc_id = ?"
            " ORDER BY id DESC", (doc_id,)).fetchall()
        return [dict(r) for r in rows]

    def review_queue(self, limit: int = 50, offset: int = 0) -> tuple[int, list[dict[str, object]]]:
        """Documents with unconfirmed suggestions, strongest suggestion first.

        Returns (how many documents wait, one page of them with their suggestions).
        """
        total = self.conn.execute(
            "SELECT COUNT(DISTINCT doc_id) FROM tags WHERE section_ord = -1 AND status = 'suggested'"
        ).fetchone()[0]
        rows = self.conn.execute(
            "SELECT d.id, d.title, d.type, d.unit, d.date, MAX(t.score) AS best FROM tags t"
            " JOIN documents d ON d.id = t.doc_id WHERE t.section_ord = -1 AND t.status = 'suggested'"
            " GROUP BY d.id ORDER BY best DESC, d.id LIMIT ? OFFSET ?", (limit, offset)).fetchall()
        out = []
        for r in rows:
            tags = self._tags(r["id"]).get(-1, {"confirmed": [], "suggested": [], "rejected": []})
            out.append({"doc_id": r["id"], "title": r["title"], "type": r["type"], "unit": r["unit"],
                        "date": r["date"], "best": r["best"], "suggested": tags["suggested"],
                        "confirmed": tags["confirmed"]})
        return total, out

    def documents_with_mode(self, mode: str) -> dict[str, list[dict[str, object]]]:
        """The cases that carry a mode: confirmed, and suggested (strongest first)."""
        rows = self.conn.execute(
            "SELECT d.id, d.title, d.date, d.unit, t.status, t.score FROM tags t JOIN documents d"
            " ON d.id = t.doc_id WHERE t.mode = ? AND t.section_ord = -1 AND t.status != 'rejected'"
            " ORDER BY t.status, t.score DESC, d.date DESC, d.id", (mode,)).fetchall()
        out: dict[str, list[dict[str, object]]] = {"confirmed": [], "suggested": []}
        for r in rows:
            out[r["status"]].append({"doc_id": r["id"], "title": r["title"], "date": r["date"],
                                     "unit": r["unit"], "score": r["score"]})
        return out

    # ------------------------------------------------------------------ reading
    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def current_rev(self) -> int:
        return int(self.conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])

    def changes_since(self, rev: int) -> tuple[list[str], list[str]]:
        """Document ids changed and deleted after change number ``rev``."""
        changed = [r[0] for r in self.conn.execute("SELECT id FROM documents WHERE rev > ? ORDER BY id", (rev,))]
        deleted = [r[0] for r in self.conn.execute("SELECT doc_id FROM tombstones WHERE rev > ?", (rev,))]
        return changed, deleted

    def recent(self, limit: int = 8) -> list[dict[str, object]]:
        """The most recently added or updated documents (metadata only)."""
        rows = self.conn.execute(
            "SELECT id, title, date, region, type, unit, updated_at FROM documents"
            " ORDER BY updated_at DESC, id LIMIT ?", (limit,)).fetchall()
        return [{"doc_id": r["id"], "title": r["title"], "date": r["date"], "region": r["region"],
                 "type": r["type"], "unit": r["unit"], "updated_at": r["updated_at"]} for r in rows]

    def all_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM documents ORDER BY id")]

    def _tags(self, doc_id: str) -> dict[int, dict[str, list]]:
        out: dict[int, dict[str, list]] = {}
        rows = self.conn.execute(
            "SELECT * FROM tags WHERE doc_id = ? ORDER BY section_ord, score DESC, mode", (doc_id,))
        for r in rows:
            entry = out.setdefault(r["section_ord"], {"confirmed": [], "suggested": [], "rejected": []})
            if r["status"] == "suggested":
                entry["suggested"].append({"mode": r["mode"], "score": r["score"],
                                           "evidence": json.loads(r["evidence"])})
            else:
                entry[r["status"]].append(r["mode"])
        return out

    def original(self, doc_id: str) -> dict[str, object]:
        """The file a document was imported from, byte for byte: ``name``, ``media_type``,
        ``size``, ``sha256``, ``data``."""
        row = self.conn.execute("SELECT name, media_type, size, sha256, data FROM originals"
                                " WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            self.document(doc_id)  # NotFound for an unknown document
            raise NotFound(f"文档 {doc_id} 没有保存原始文件（它在保存原始文件之前导入；重新导入一次即可）",
                           doc_id=doc_id)
        return {**_original_meta(row), "data": bytes(row["data"])}

    def document(self, doc_id: str) -> dict[str, object]:
        """One document with metadata, sections (practices marked) and modes, JSON-ready."""
        row = self.conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            raise NotFound(f"没有编号为 {doc_id} 的文档", doc_id=doc_id)
        return self._document(row)

    def documents(self, ids: Iterable[str]) -> Iterator[dict[str, object]]:
        for doc_id in ids:
            row = self.conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
            if row is not None:
                yield self._document(row)

    def _document(self, row: sqlite3.Row) -> dict[str, object]:
        tags = self._tags(row["id"])
        empty = {"confirmed": [], "suggested": [], "rejected": []}
        sections = []
        for s in self.conn.execute("SELECT * FROM sections WHERE doc_id = ? ORDER BY ord", (row["id"],)):
            path = json.loads(s["path"])
            sections.append({
                "ord": s["ord"], "heading": s["heading"], "level": s["level"], "path": path,
                "path_label": " › ".join(path), "parent": s["parent_ord"], "text": s["text"],
                "is_practice": bool(s["is_practice"]), "start": s["start"], "end": s["end"],
                "modes": tags.get(s["ord"], empty),
            })
        return {
            "doc_id": row["id"], "title": row["title"], "type": row["type"], "unit": row["unit"],
            "author": row["author"], "date": row["date"], "year": row["year"], "region": row["region"],
            "domain": json.loads(row["domains"]), "keywords": json.loads(row["keywords"]),
            "source": row["source"], "extra": json.loads(row["extra"]), "format": row["format"],
            "source_path": row["source_path"], "created_at": row["created_at"],
            "updated_at": row["updated_at"], "rev": row["rev"], "body": row["body"],
            "sections": sections, "modes": tags.get(-1, empty), **self._original_info(row["id"]),
        }

    def _original_info(self, doc_id: str) -> dict[str, object]:
        row = self.conn.execute("SELECT name, media_type, size, sha256, cleanup FROM originals"
                                " WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            return {"original": None, "cleanup": []}
        return {"original": _original_meta(row), "cleanup": json.loads(row["cleanup"])}


def _original_meta(row: sqlite3.Row) -> dict[str, object]:
    """What ``kb show`` says about a stored original (everything but its bytes)."""
    return {"name": row["name"], "media_type": row["media_type"], "size": row["size"], "sha256": row["sha256"]}


__all__ = ["KnowledgeBase", "IngestReport", "IngestItem", "KbError"]
