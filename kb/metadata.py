"""Correcting a document's metadata by hand (title, unit, author, date, type, region, domains,
keywords, source), with a record of who changed what when, and a version against lost updates.

Every document's metadata has a version (``documents.meta_version``): a correction made from the
version the editor saw is applied and raises it; one made from an older version (another editor
saved in between, or the file was imported again) is refused with :class:`Conflict` and changes
nothing, unless it would change nothing at all. A correction is kept across re-imports of the
file: the fields corrected by hand keep their corrected value (the latest one), the others
follow the file.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import store
from .errors import BadRequest, Conflict, ImportRejected, NotFound
from .importers.fields import normalise_date

FIELDS = ("title", "unit", "author", "date", "type", "region", "domains", "keywords", "source")
LIST_FIELDS = frozenset({"domains", "keywords"})
LABELS = {"title": "标题", "unit": "单位", "author": "作者", "date": "日期", "type": "类型", "region": "地区",
          "domains": "领域", "keywords": "关键词", "source": "来源"}
MAX_TEXT = {"title": 200, "source": 500}  # the others: MAX_FIELD
MAX_FIELD = 120
MAX_ITEMS = 30
_SPLIT = re.compile(r"[,，、;；\n]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

Value = str | list[str] | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{LABELS[name]}应为文本")
    text = " ".join(value.split())
    if _CONTROL.search(text):
        raise BadRequest(f"{LABELS[name]}里有控制字符")
    limit = MAX_TEXT.get(name, MAX_FIELD)
    if len(text) > limit:
        raise BadRequest(f"{LABELS[name]}不超过 {limit} 个字符")
    return text or None


def clean(name: str, value: object) -> Value:
    """A field's value as stored, checked: text (None when empty), or a list for domains and
    keywords (a list, or text separated by commas, 、 or new lines)."""
    if name not in LABELS:
        raise BadRequest(f"不能修改的字段：{name}")
    if name in LIST_FIELDS:
        items = _SPLIT.split(value) if isinstance(value, str) else value
        if items is None:
            items = []
        if not isinstance(items, list):
            raise BadRequest(f"{LABELS[name]}应为列表或以逗号分隔的文本")
        out: list[str] = []
        for item in items:
            text = _text(name, item)
            if text and text not in out:
                out.append(text)
        if len(out) > MAX_ITEMS:
            raise BadRequest(f"{LABELS[name]}最多 {MAX_ITEMS} 项")
        return out
    text = _text(name, value)
    if name == "title" and not text:
        raise BadRequest("标题不能为空")
    if name == "date" and text:
        try:
            text = normalise_date(text, Path("-"))
        except ImportRejected as exc:
            raise BadRequest(exc.message) from None
    if name == "region" and text:
        text = "/".join(p.strip() for p in re.split(r"[/／>›]", text) if p.strip()) or None
    return text


def _row(conn: sqlite3.Connection, doc_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
    if row is None:
        raise NotFound(f"没有编号为 {doc_id} 的文档", doc_id=doc_id)
    return row


def _stored(row: sqlite3.Row, name: str) -> Value:
    return json.loads(row[name]) if name in LIST_FIELDS else row[name]


def current(conn: sqlite3.Connection, doc_id: str) -> dict[str, Any]:
    """The editable fields as stored, with ``version``."""
    row = _row(conn, doc_id)
    return {**{name: _stored(row, name) for name in FIELDS}, "version": row["meta_version"]}


def _write(conn: sqlite3.Connection, doc_id: str, values: dict[str, Value]) -> None:
    sets = {name: json.dumps(v, ensure_ascii=False) if name in LIST_FIELDS else v for name, v in values.items()}
    if "date" in sets:
        sets["year"] = int(str(sets["date"])[:4]) if sets["date"] else None
    assignments = ", ".join(f"{name} = ?" for name in sets)  # names from FIELDS only
    conn.execute(f"UPDATE documents SET {assignments} WHERE id = ?", (*sets.values(), doc_id))


def edit(conn: sqlite3.Connection, doc_id: str, changes: dict[str, object], actor: str,
         version: int | None = None) -> dict[str, list[Value]]:
    """Apply a correction (only the fields given); returns ``{field: [old, new]}`` of what
    changed (empty when nothing did). ``version``: the version the editor saw (None: no check)."""
    wanted = {name: clean(name, value) for name, value in changes.items()}
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise BadRequest("版本号必须是整数")
    with store.transaction(conn):
        row = _row(conn, doc_id)
        diff = {name: [_stored(row, name), value] for name, value in wanted.items() if _stored(row, name) != value}
        if not diff:
            return {}
        if version is not None and version != row["meta_version"]:
            raise Conflict(f"这篇文档的信息在您打开之后已被别人（或重新导入）修改过：您看到的是第 {version} 版，"
                           f"现在是第 {row['meta_version']} 版。您这次的修改没有保存。",
                           version=row["meta_version"])
        _write(conn, doc_id, {name: new for name, (_, new) in diff.items()})
        conn.execute("UPDATE documents SET meta_version = meta_version + 1, updated_at = ? WHERE id = ?",
                     (_now(), doc_id))
        conn.execute("INSERT INTO document_edits (doc_id, actor, at, changes) VALUES (?, ?, ?, ?)",
                     (doc_id, actor, _now(), json.dumps(diff, ensure_ascii=False)))
        store.touch(conn, doc_id)
    return diff


def corrections(conn: sqlite3.Connection, doc_id: str) -> dict[str, Value]:
    """The latest hand-corrected value of each field corrected by hand."""
    out: dict[str, Value] = {}
    for row in conn.execute("SELECT changes FROM document_edits WHERE doc_id = ? ORDER BY id", (doc_id,)):
        for name, (_, new) in json.loads(row[0]).items():
            if name in LABELS:
                out[name] = new
    return out


def reapply(conn: sqlite3.Connection, doc_id: str) -> None:
    """After a re-import: put the hand corrections back over what the file says (call inside the
    import's transaction)."""
    kept = corrections(conn, doc_id)
    if kept:
        _write(conn, doc_id, kept)


def history(conn: sqlite3.Connection, doc_id: str) -> list[dict[str, Any]]:
    """Every correction of a document's metadata, newest first."""
    return [{"actor": r["actor"], "at": r["at"], "changes": json.loads(r["changes"])}
            for r in conn.execute("SELECT * FROM document_edits WHERE doc_id = ? ORDER BY id DESC", (doc_id,))]
