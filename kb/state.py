"""The curated state of a knowledge base as plain JSON: what people decided and made.

``kb export`` writes the working modes, the tag decisions (confirmed and rejected modes, by
whom and when), the decision history and the pearl strings with their pearls; ``kb
import-state`` reads such a file back into a knowledge base that holds the documents (by id: a
document's id is its front-matter ``id`` or its file name, so importing the same files again
gives the same ids). Suggestions are not exported: they are recomputed from the text.

Importing is idempotent and atomic: one transaction, all or nothing; a decision is taken when
the knowledge base has none there or an older one; a decision already in the history is not
recorded twice; a pearl string already there (same owner, title and creation time) is not
added again. What cannot be imported (a document or section the knowledge base does not hold,
a curator without an account) is skipped and listed with the reason.
"""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import UTC, datetime
from typing import Any

from . import store
from .errors import BadRequest
from .model import WHOLE_DOCUMENT, TagStatus
from .modes import _next_position, write_mode
from .taxonomy import Mode

STATE_FORMAT = "hongxian-state"
STATE_VERSION = 1
MAX_SKIPPED_LISTED = 200  # reasons listed in the report; the counts are always complete


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def export_state(conn: sqlite3.Connection) -> dict[str, Any]:
    """Everything people decided and made, as plain JSON-ready data (no suggestions, no text)."""
    modes = [{"name": r["name"], "short": r["short"], "description": r["description"],
              "signals": json.loads(r["signals"])}
             for r in conn.execute("SELECT * FROM modes ORDER BY position, name")]
    programme = conn.execute("SELECT value FROM meta WHERE key = 'programme'").fetchone()
    tags = [{"doc_id": r["doc_id"], "section_ord": r["section_ord"], "mode": r["mode"], "status": r["status"],
             "actor": r["actor"], "decided_at": r["decided_at"]}
            for r in conn.execute("SELECT * FROM tags WHERE status != ? ORDER BY doc_id, section_ord, mode",
                                  (str(TagStatus.SUGGESTED),))]
    decisions = [{"doc_id": r["doc_id"], "section_ord": r["section_ord"], "mode": r["mode"],
                  "status": r["status"], "actor": r["actor"], "at": r["at"]}
                 for r in conn.execute("SELECT * FROM tag_history ORDER BY id")]
    strings = []
    for r in conn.execute("SELECT * FROM pearl_strings ORDER BY id").fetchall():
        pearls = [{"doc_id": p["doc_id"], "section_ord": p["section_ord"],
                   "section_path": json.loads(p["section_path"]), "doc_title": p["doc_title"],
                   "commentary": p["commentary"], "added_at": p["added_at"]}
                  for p in conn.execute("SELECT * FROM pearls WHERE string_id = ? ORDER BY position, id", (r["id"],))]
        strings.append({"id": r["id"], "title": r["title"], "theme": r["theme"], "intro": r["intro"],
                        "owner": r["owner"], "status": r["status"], "created_at": r["created_at"],
                        "updated_at": r["updated_at"], "published_at": r["published_at"],
                        "pearls": pearls})
    return {"format": STATE_FORMAT, "version": STATE_VERSION, "exported_at": _now(),
            "documents": conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
            "programme": json.loads(programme["value"]) if programme else None,
            "modes": modes, "tags": tags, "decisions": decisions, "pearl_strings": strings}


# ------------------------------------------------------------------ reading it back
def _fail(where: str, what: str) -> BadRequest:
    return BadRequest(f"状态文件有误：{where}{what}")


def _text(row: dict, key: str, where: str, optional: bool = False, limit: int = 200_000) -> str | None:
    value = row.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise _fail(where, f"的 {key} 应为文本")
    return value


def _int(row: dict, key: str, where: str) -> int:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value < 2**63:
        raise _fail(where, f"的 {key} 应为整数")
    return value


def _rows(data: dict, key: str) -> list[dict]:
    rows = data.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise _fail("", f"{key} 应为对象的列表")
    return rows


def validate(data: object) -> dict[str, Any]:
    """Check the shape of a state file before anything is written; return it."""
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise BadRequest(f"这不是红线的状态文件（应有 \"format\": \"{STATE_FORMAT}\"，由 kb export 生成）")
    if data.get("version") != STATE_VERSION:
        raise BadRequest(f"状态文件的版本 {data.get('version')!r} 不受支持（本程序读取版本 {STATE_VERSION}）")
    for i, m in enumerate(_rows(data, "modes"), 1):
        where = f"第 {i} 个模式"
        _text(m, "name", where, limit=40)
        _text(m, "short", where, optional=True)
        _text(m, "description", where, optional=True)
        signals = m.get("signals", {})
        if not isinstance(signals, dict) or not all(
                isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for k, v in signals.items()):
            raise _fail(where, "的 signals 应为 {词: 权重}")
    for i, t in enumerate(_rows(data, "tags"), 1):
        where = f"第 {i} 个标注"
        for key in ("doc_id", "mode", "actor", "decided_at"):
            _text(t, key, where)
        _int(t, "section_ord", where)
        if t.get("status") not in (TagStatus.CONFIRMED, TagStatus.REJECTED):
            raise _fail(where, "的 status 应为 confirmed 或 rejected")
    for i, d in enumerate(_rows(data, "decisions"), 1):
        where = f"第 {i} 条决定记录"
        for key in ("doc_id", "mode", "status", "actor", "at"):
            _text(d, key, where)
        _int(d, "section_ord", where)
    for i, s in enumerate(_rows(data, "pearl_strings"), 1):
        where = f"第 {i} 串珍珠"
        for key in ("title", "owner", "created_at", "updated_at"):
            _text(s, key, where)
        for key in ("theme", "intro", "published_at"):
            _text(s, key, where, optional=True)
        if s.get("status", "draft") not in ("draft", "published"):
            raise _fail(where, "的 status 应为 draft 或 published")
        for j, p in enumerate(_rows(s, "pearls"), 1):
            inner = f"{where}的第 {j} 颗珍珠"
            for key in ("doc_id", "doc_title", "added_at"):
                _text(p, key, inner)
            _text(p, "commentary", inner, optional=True)
            _int(p, "section_ord", inner)
            path = p.get("section_path", [])
            if not isinstance(path, list) or not all(isinstance(x, str) for x in path):
                raise _fail(inner, "的 section_path 应为文本列表")
    return data


class _Report:
    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self.skipped: list[str] = []

    def count(self, part: str, outcome: str) -> None:
        self.counts.setdefault(part, {}).setdefault(outcome, 0)
        self.counts[part][outcome] += 1

    def skip(self, part: str, reason: str) -> None:
        self.count(part, "skipped")
        if len(self.skipped) < MAX_SKIPPED_LISTED:
            self.skipped.append(reason)


def import_state(conn: sqlite3.Connection, data: object, owner: str | None = None) -> dict[str, Any]:
    """Read an exported state back (see the module doc); ``owner`` takes the pearl strings of
    curators who have no account here (else they are skipped). Returns the report, with the
    documents whose modes changed (their index entries must follow)."""
    data = validate(data)
    report = _Report()
    touched: set[str] = set()
    if owner is not None and not conn.execute("SELECT 1 FROM users WHERE username = ?", (owner,)).fetchone():
        raise BadRequest(f"账户 {owner} 不存在，不能接收珍珠串")
    docs = {r[0] for r in conn.execute("SELECT id FROM documents")}

    def section_exists(doc_id: str, ord_: int) -> bool:
        return ord_ == WHOLE_DOCUMENT or conn.execute(
            "SELECT 1 FROM sections WHERE doc_id = ? AND ord = ?", (doc_id, ord_)).fetchone() is not None

    with store.transaction(conn):
        for m in data.get("modes", []):
            if conn.execute("SELECT 1 FROM modes WHERE name = ?", (m["name"],)).fetchone():
                report.count("modes", "kept")
                continue
            write_mode(conn, Mode(m["name"], m.get("short") or "", m.get("description") or "",
                                  dict(m.get("signals") or {})), _next_position(conn))
            report.count("modes", "added")
        modes = {r[0] for r in conn.execute("SELECT name FROM modes")}
        for t in data.get("tags", []):
            doc_id, ord_, mode = t["doc_id"], t["section_ord"], t["mode"]
            if doc_id not in docs or not section_exists(doc_id, ord_):
                where = "全文" if ord_ == WHOLE_DOCUMENT else f"第 {ord_} 节"
                report.skip("tags", f"标注 {doc_id} {where} {mode}：知识库中没有这篇文档或这一节")
                continue
            if mode not in modes:
                report.skip("tags", f"标注 {doc_id} {mode}：没有这个工作模式")
                continue
            row = conn.execute("SELECT status, decided_at FROM tags WHERE doc_id = ? AND section_ord = ?"
                               " AND mode = ?", (doc_id, ord_, mode)).fetchone()
            if row is not None and row["status"] != TagStatus.SUGGESTED and row["decided_at"] >= t["decided_at"]:
                report.count("tags", "kept" if row["status"] != t["status"] else "unchanged")
                continue
            conn.execute(
                "INSERT INTO tags (doc_id, section_ord, mode, status, actor, decided_at) VALUES (?,?,?,?,?,?)"
                " ON CONFLICT (doc_id, section_ord, mode) DO UPDATE SET status = excluded.status,"
                " actor = excluded.actor, decided_at = excluded.decided_at",
                (doc_id, ord_, mode, t["status"], t["actor"], t["decided_at"]))
            touched.add(doc_id)
            report.count("tags", "added" if row is None or row["status"] == TagStatus.SUGGESTED else "updated")
        for d in data.get("decisions", []):
            if d["doc_id"] not in docs:
                report.count("decisions", "skipped")
                continue
            key = (d["doc_id"], d["section_ord"], d["mode"], d["status"], d["actor"], d["at"])
            if conn.execute("SELECT 1 FROM tag_history WHERE doc_id = ? AND section_ord = ? AND mode = ?"
                            " AND status = ? AND actor = ? AND at = ?", key).fetchone():
                report.count("decisions", "unchanged")
                continue
            conn.execute("INSERT INTO tag_history (doc_id, section_ord, mode, status, actor, at)"
                         " VALUES (?,?,?,?,?,?)", key)
            report.count("decisions", "added")
        for s in data.get("pearl_strings", []):
            curator = s["owner"]
            if not conn.execute("SELECT 1 FROM users WHERE username = ?", (curator,)).fetchone():
                if owner is None:
                    report.skip("pearl_strings", f"珍珠串《{s['title']}》：账户 {curator} 不存在"
                                                 "（用 --owner 指定接收的账户）")
                    continue
                curator = owner
            if conn.execute("SELECT 1 FROM pearl_strings WHERE owner = ? AND title = ? AND created_at = ?",
                            (curator, s["title"], s["created_at"])).fetchone():
                report.count("pearl_strings", "unchanged")
                continue
            cur = conn.execute(
                "INSERT INTO pearl_strings (title, theme, intro, owner, status, created_at, updated_at,"
                " published_at) VALUES (?,?,?,?,?,?,?,?)",
                (s["title"], s.get("theme") or "", s.get("intro") or "", curator, s.get("status", "draft"),
                 s["created_at"], s["updated_at"], s.get("published_at")))
            seen: set[tuple[str, int]] = set()
            for position, p in enumerate(s.get("pearls", []), 1):
                if (p["doc_id"], p["section_ord"]) in seen:
                    continue
                seen.add((p["doc_id"], p["section_ord"]))
                conn.execute(
                    "INSERT INTO pearls (string_id, position, doc_id, section_ord, section_path, doc_title,"
                    " commentary, added_at) VALUES (?,?,?,?,?,?,?,?)",
                    (cur.lastrowid, position, p["doc_id"], p["section_ord"],
                     json.dumps(p.get("section_path", []), ensure_ascii=False), p["doc_title"],
                     p.get("commentary") or "", p["added_at"]))
                report.count("pearls", "added")
            report.count("pearl_strings", "added")
        for doc_id in sorted(touched):
            store.touch(conn, doc_id)
    return {"counts": report.counts, "skipped": report.skipped, "changed_documents": len(touched)}
