"""Reading the record: documents with their sections, modes and original file; change numbers.

Every write to a document bumps its ``rev`` to the next change number (:func:`kb.store.next_rev`),
and a removal leaves a tombstone with one; :meth:`Documents.changes_since` is how the index
catches up.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from . import store
from .errors import NotFound
from .model import (
    WHOLE_DOCUMENT,
    Document,
    Evidence,
    ModeTags,
    Original,
    Section,
    Suggestion,
    TagStatus,
)


def read_tags(conn: sqlite3.Connection, doc_id: str) -> dict[int, ModeTags]:
    """The modes of a document (key ``WHOLE_DOCUMENT``) and of its sections (key ``ord``);
    suggestions strongest first. Sections without any tag are not in the map."""
    found: dict[int, dict[str, list]] = {}
    rows = conn.execute("SELECT * FROM tags WHERE doc_id = ? ORDER BY section_ord, score DESC, mode", (doc_id,))
    for r in rows:
        entry = found.setdefault(r["section_ord"], {status: [] for status in TagStatus})
        if r["status"] == TagStatus.SUGGESTED:
            evidence = tuple(Evidence.from_dict(e) for e in json.loads(r["evidence"]))
            entry[TagStatus.SUGGESTED].append(Suggestion(r["mode"], r["score"], evidence))
        else:
            entry[TagStatus(r["status"])].append(r["mode"])
    return {ord_: ModeTags(confirmed=tuple(e[TagStatus.CONFIRMED]), suggested=tuple(e[TagStatus.SUGGESTED]),
                           rejected=tuple(e[TagStatus.REJECTED])) for ord_, e in found.items()}


def _original(row: sqlite3.Row) -> Original:
    return Original(row["name"], row["media_type"], row["size"], row["sha256"])


class Documents:
    """The ``documents``, ``sections`` and ``originals`` tables, read; and removal."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, doc_id: str) -> Document:
        """One document with metadata, sections (practices marked) and modes."""
        row = self.conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            raise NotFound(f"没有编号为 {doc_id} 的文档", doc_id=doc_id)
        return self._document(row)

    def many(self, ids: Iterable[str]) -> Iterator[Document]:
        """The documents with these ids, in this order (unknown ids are skipped)."""
        for doc_id in ids:
            row = self.conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
            if row is not None:
                yield self._document(row)

    def original(self, doc_id: str) -> tuple[Original, bytes]:
        """The file a document was imported from: what is known about it, and its bytes."""
        row = self.conn.execute("SELECT name, media_type, size, sha256, data FROM originals"
                                " WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            self.get(doc_id)  # NotFound for an unknown document
            raise NotFound(f"文档 {doc_id} 没有保存原始文件（它在保存原始文件之前导入；重新导入一次即可）",
                           doc_id=doc_id)
        return _original(row), bytes(row["data"])

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def recent(self, limit: int = 8) -> list[dict[str, object]]:
        """The most recently added or updated documents (metadata only)."""
        rows = self.conn.execute(
            "SELECT id, title, date, region, type, unit, updated_at FROM documents"
            " ORDER BY updated_at DESC, id LIMIT ?", (limit,)).fetchall()
        return [{"doc_id": r["id"], "title": r["title"], "date": r["date"], "region": r["region"],
                 "type": r["type"], "unit": r["unit"], "updated_at": r["updated_at"]} for r in rows]

    def all_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM documents ORDER BY id")]

    def current_rev(self) -> int:
        return int(self.conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])

    def changes_since(self, rev: int) -> tuple[list[str], list[str]]:
        """Document ids changed and deleted after change number ``rev``."""
        changed = [r[0] for r in self.conn.execute("SELECT id FROM documents WHERE rev > ? ORDER BY id", (rev,))]
        deleted = [r[0] for r in self.conn.execute("SELECT doc_id FROM tombstones WHERE rev > ?", (rev,))]
        return changed, deleted

    def remove(self, doc_id: str, actor: str = "", detail: dict[str, object] | None = None) -> None:
        """Delete a document, its practices and tags, and record the removal (which document,
        its title, ``actor``, when, and ``detail``: e.g. the pearl strings that keep it as
        missing) in ``document_removals``; the index drops it at its next update."""
        with store.transaction(self.conn):
            row = self.conn.execute("SELECT title, unit, source_path FROM documents WHERE id = ?",
                                    (doc_id,)).fetchone()
            if row is None:
                raise NotFound(f"没有编号为 {doc_id} 的文档")
            self.conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            rev = store.next_rev(self.conn)
            self.conn.execute("INSERT OR REPLACE INTO tombstones (doc_id, rev) VALUES (?, ?)", (doc_id, rev))
            about = {"unit": row["unit"], "source_path": row["source_path"], **(detail or {})}
            self.conn.execute(
                "INSERT INTO document_removals (doc_id, title, actor, at, detail) VALUES (?, ?, ?, ?, ?)",
                (doc_id, row["title"], actor, datetime.now(UTC).isoformat(timespec="seconds"),
                 json.dumps(about, ensure_ascii=False)))

    def removals(self, limit: int = 100) -> list[dict[str, object]]:
        """The documents removed, newest first: ``doc_id``, ``title``, ``actor``, ``at``, ``detail``."""
        rows = self.conn.execute("SELECT * FROM document_removals ORDER BY id DESC LIMIT ?", (limit,))
        return [{"doc_id": r["doc_id"], "title": r["title"], "actor": r["actor"], "at": r["at"],
                 "detail": json.loads(r["detail"])} for r in rows]

    def _document(self, row: sqlite3.Row) -> Document:
        tags = read_tags(self.conn, row["id"])
        sections = tuple(
            Section(ord=s["ord"], heading=s["heading"], level=s["level"], path=tuple(json.loads(s["path"])),
                    parent=s["parent_ord"], text=s["text"], is_practice=bool(s["is_practice"]),
                    start=s["start"], end=s["end"], modes=tags.get(s["ord"], ModeTags()))
            for s in self.conn.execute("SELECT * FROM sections WHERE doc_id = ? ORDER BY ord", (row["id"],)))
        original = self.conn.execute("SELECT name, media_type, size, sha256, cleanup FROM originals"
                                     " WHERE doc_id = ?", (row["id"],)).fetchone()
        return Document(
            doc_id=row["id"], title=row["title"], type=row["type"], unit=row["unit"], author=row["author"],
            date=row["date"], year=row["year"], region=row["region"],
            domains=tuple(json.loads(row["domains"])), keywords=tuple(json.loads(row["keywords"])),
            source=row["source"], extra=json.loads(row["extra"]), format=row["format"],
            source_path=row["source_path"], created_at=row["created_at"], updated_at=row["updated_at"],
            rev=row["rev"], body=row["body"], sections=sections,
            modes=tags.get(WHOLE_DOCUMENT, ModeTags()),
            original=_original(original) if original else None,
            cleanup=tuple(json.loads(original["cleanup"])) if original else (),
        )
