"""Tagging by working mode: people's decisions, their history, the review queue, and the
suggestions the system recomputes from the taxonomy and what the decisions teach (:mod:`kb.learn`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from . import learn, store
from .documents import read_tags
from .errors import BadRequest, NotFound
from .learn import ModeModel
from .model import WHOLE_DOCUMENT, Decision, ModeTags, Suggestion, TagStatus
from .modes import Modes
from .settings import Settings
from .suggest import suggest_document

Progress = Callable[[int], None]
SYSTEM_ACTOR = "system"  # who made a suggestion


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def store_suggestions(conn: sqlite3.Connection, doc_id: str, section_ord: int,
                      suggestions: Iterable[Suggestion], stamp: str) -> None:
    """Write suggestions for a document or section (a mode already decided there is left alone)."""
    conn.executemany(
        "INSERT OR IGNORE INTO tags (doc_id, section_ord, mode, status, score, evidence, actor,"
        " decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(doc_id, section_ord, s.mode, TagStatus.SUGGESTED, s.score,
          json.dumps([e.to_dict() for e in s.evidence], ensure_ascii=False), SYSTEM_ACTOR, stamp)
         for s in suggestions])


def record_history(conn: sqlite3.Connection, doc_id: str, section_ord: int, mode: str,
                   status: TagStatus, actor: str, stamp: str) -> None:
    conn.execute(
        "INSERT INTO tag_history (doc_id, section_ord, mode, status, actor, at) VALUES (?,?,?,?,?,?)",
        (doc_id, section_ord, mode, str(status), actor, stamp))


class Tags:
    """The ``tags`` and ``tag_history`` tables."""

    def __init__(self, conn: sqlite3.Connection, settings: Settings, modes: Modes) -> None:
        self.conn = conn
        self.settings = settings
        self.modes = modes

    def decide(self, doc_id: str, mode: str, status: TagStatus | str, actor: str,
               section_ord: int = WHOLE_DOCUMENT) -> None:
        """Record a person's decision on a mode of a document or of one of its sections."""
        if status not in (TagStatus.CONFIRMED, TagStatus.REJECTED):
            raise BadRequest(f"无效的决定 {str(status)!r}：应为 confirmed 或 rejected")
        if mode not in self.modes.taxonomy().names():
            raise BadRequest(f"未知的工作模式：{mode}")
        if not self.conn.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone():
            raise NotFound(f"没有编号为 {doc_id} 的文档")
        if section_ord != WHOLE_DOCUMENT and not self.conn.execute(
                "SELECT 1 FROM sections WHERE doc_id = ? AND ord = ?", (doc_id, section_ord)).fetchone():
            raise NotFound(f"文档 {doc_id} 没有第 {section_ord} 节")
        status = TagStatus(status)
        stamp = _now()
        with store.transaction(self.conn):
            self.conn.execute(
                "INSERT INTO tags (doc_id, section_ord, mode, status, actor, decided_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (doc_id, section_ord, mode) DO UPDATE SET"
                " status = excluded.status, actor = excluded.actor, decided_at = excluded.decided_at",
                (doc_id, section_ord, mode, str(status), actor, stamp))
            record_history(self.conn, doc_id, section_ord, mode, status, actor, stamp)
            store.touch(self.conn, doc_id)

    def history(self, doc_id: str) -> list[Decision]:
        """Every tag decision on a document and its practices, newest first."""
        rows = self.conn.execute(
            "SELECT section_ord, mode, status, actor, at FROM tag_history WHERE doc_id = ?"
            " ORDER BY id DESC", (doc_id,)).fetchall()
        return [Decision(r["section_ord"], r["mode"], TagStatus(r["status"]), r["actor"], r["at"]) for r in rows]

    def review_queue(self, limit: int = 50, offset: int = 0) -> tuple[int, list[dict[str, object]]]:
        """Documents with unconfirmed suggestions, strongest suggestion first.

        Returns (how many documents wait, one page of them with their suggestions).
        """
        total = self.conn.execute(
            "SELECT COUNT(DISTINCT doc_id) FROM tags WHERE section_ord = ? AND status = ?",
            (WHOLE_DOCUMENT, TagStatus.SUGGESTED)).fetchone()[0]
        rows = self.conn.execute(
            "SELECT d.id, d.title, d.type, d.unit, d.date, MAX(t.score) AS best FROM tags t"
            " JOIN documents d ON d.id = t.doc_id WHERE t.section_ord = ? AND t.status = ?"
            " GROUP BY d.id ORDER BY best DESC, d.id LIMIT ? OFFSET ?",
            (WHOLE_DOCUMENT, TagStatus.SUGGESTED, limit, offset)).fetchall()
        out: list[dict[str, object]] = []
        for r in rows:
            tags = read_tags(self.conn, r["id"]).get(WHOLE_DOCUMENT, ModeTags())
            out.append({"doc_id": r["id"], "title": r["title"], "type": r["type"], "unit": r["unit"],
                        "date": r["date"], "best": r["best"], "suggested": tags.suggested,
                        "confirmed": tags.confirmed})
        return total, out

    def documents_with_mode(self, mode: str) -> dict[str, list[dict[str, object]]]:
        """The cases that carry a mode: confirmed, and suggested (strongest first)."""
        rows = self.conn.execute(
            "SELECT d.id, d.title, d.date, d.unit, t.status, t.score FROM tags t JOIN documents d"
            " ON d.id = t.doc_id WHERE t.mode = ? AND t.section_ord = ? AND t.status != ?"
            " ORDER BY t.status, t.score DESC, d.date DESC, d.id",
            (mode, WHOLE_DOCUMENT, TagStatus.REJECTED)).fetchall()
        out: dict[str, list[dict[str, object]]] = {TagStatus.CONFIRMED.value: [], TagStatus.SUGGESTED.value: []}
        for r in rows:
            out[r["status"]].append({"doc_id": r["id"], "title": r["title"], "date": r["date"],
                                     "unit": r["unit"], "score": r["score"]})
        return out

    def mode_model(self) -> ModeModel | None:
        """What the decisions so far teach about the modes (None while there are none); trained
        again only when decisions changed (see :mod:`kb.learn`)."""
        return learn.model_for(self.conn, self.modes.taxonomy().modes, str(self.settings.db_path))

    def resuggest(self, doc_ids: Iterable[str] | None = None, progress: Progress | None = None,
                  total: Progress | None = None) -> int:
        """Recompute suggestions (after the taxonomy or people's decisions changed), with the model
        learned from the decisions so far; decisions by people are kept.

        Only documents whose suggestions actually change are rewritten (and so re-indexed).
        Returns how many changed. ``total`` is told how many documents will be looked at and
        ``progress`` is told of each one done.
        """
        modes = self.modes.taxonomy().modes
        threshold = self.settings.suggest_threshold
        model = self.mode_model()
        ids = list(doc_ids) if doc_ids is not None else [
            r["id"] for r in self.conn.execute("SELECT id FROM documents ORDER BY id")]
        if total:
            total(len(ids))
        changed = 0
        for doc_id in ids:
            changed += self._resuggest_one(doc_id, modes, threshold, model)
            if progress:
                progress(1)
        return changed

    def _resuggest_one(self, doc_id: str, modes: list, threshold: float, model: ModeModel | None) -> bool:
        row = self.conn.execute("SELECT title, body FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            return False
        practices = self.conn.execute(
            "SELECT ord, text FROM sections WHERE doc_id = ? AND is_practice = 1", (doc_id,)).fetchall()
        fresh = suggest_document(row["title"], row["body"], [(p["ord"], p["text"]) for p in practices],
                                 modes, threshold, model)
        decided = {(r["section_ord"], r["mode"]) for r in self.conn.execute(
            "SELECT section_ord, mode FROM tags WHERE doc_id = ? AND status != ?", (doc_id, TagStatus.SUGGESTED))}
        wanted = sorted((o, s.mode, round(s.score, 6)) for o, items in fresh.items() for s in items
                        if (o, s.mode) not in decided)
        stored = sorted((r["section_ord"], r["mode"], round(r["score"], 6)) for r in self.conn.execute(
            "SELECT section_ord, mode, score FROM tags WHERE doc_id = ? AND status = ?",
            (doc_id, TagStatus.SUGGESTED)))
        if wanted == stored:
            return False
        stamp = _now()
        with store.transaction(self.conn):
            self.conn.execute("DELETE FROM tags WHERE doc_id = ? AND status = ?", (doc_id, TagStatus.SUGGESTED))
            for ord_, suggestions in fresh.items():
                store_suggestions(self.conn, doc_id, ord_, suggestions, stamp)
            store.touch(self.conn, doc_id)
        return True
