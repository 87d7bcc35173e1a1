"""Pearl strings (串珍珠): curated, ordered, annotated collections of cases and practices.

A pearl string has a title, a theme statement (the "red thread" that runs through it), an
introduction in Markdown, an owner, a status (``draft`` or ``published``) and an ordered list of
pearls. A pearl is a whole case (``section_ord = WHOLE_DOCUMENT``) or one section/practice of a case, with
the curator's commentary (Markdown, stored raw: rendering and sanitising happen in the site).
A pearl always holds text: a section that is only a heading (``二、主要做法`` directly followed
by ``（一）…``) is folded into the first section below it with text, and refused when nothing
below it has text (:func:`kb.pearl_sections.pearl_section`); empty pearls made by earlier
versions are shown as that first section.

Pearls point at documents by id and at sections by ``ord``; a snapshot of the section's heading
path and of the document's title is stored with each pearl, so a pearl survives a re-import that
renumbers sections (it is found again by its path) and still shows something when its document
has been removed (it is then reported as ``missing``).

The methods here do **not** check permissions: the site decides with :func:`can_view` and
:func:`can_edit` before it calls them. Every write runs in one transaction, and a rejected call
(:class:`BadRequest`, :class:`NotFound`) changes nothing.

Versions: every string has a ``version`` (1 when created) that every change to it (title, theme,
introduction, a pearl added, removed, moved, reordered or annotated, publishing, unpublishing)
increases by one. A change may name the version it was made from (``version=``): when that is not
the stored version, someone else saved in between and the change is refused with
:class:`~kb.errors.Conflict` (409), changing nothing — unless it would change nothing anyway (the
same text saved twice, a double click), which is no loss and not refused. A change that names no
version (scripts, older pages) is applied as before, last writer wins. A call that changes nothing
writes nothing and keeps the version.

Publication: ``published_at`` is the time of the *latest* publication. Publishing again (even
an already published string) moves it forward; unpublishing keeps it as "last published at"
while the status goes back to ``draft``. No other publication history is recorded.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import store
from .documents import Documents
from .errors import BadRequest, Conflict, NotFound
from .model import WHOLE_DOCUMENT, Document, PearlStatus, Role
from .pearl_sections import check_folded, check_new, heal, pearl_section, resolve
from .structure import first_text_descendant, is_heading_only

if TYPE_CHECKING:
    from .accounts import User

STATUSES: tuple[str, ...] = tuple(s.value for s in PearlStatus)
MAX_TITLE = 120
MAX_THEME = 500
MAX_INTRO = 20000
MAX_COMMENTARY = 20000
DOC_FIELDS: tuple[str, ...] = (  # what a pearl string's JSON says of each pearl's document
    "doc_id", "title", "type", "unit", "author", "date", "year", "region", "source", "extra",
)
__all__ = ["DOC_FIELDS", "STATUSES", "PearlStrings", "can_edit", "can_view", "pearl_section", "to_dict"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ------------------------------------------------------------------ input checks
def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{what}必须是文本")
    return value


def _title(value: object) -> str:
    """Whitespace (including line breaks) collapsed to single spaces; 1–120 characters."""
    title = " ".join(_text(value, "标题").split())
    if not title:
        raise BadRequest("标题不能为空")
    if len(title) > MAX_TITLE:
        raise BadRequest(f"标题最多 {MAX_TITLE} 个字（现有 {len(title)} 个）")
    return title


def _theme(value: object) -> str:
    theme = _text(value, "主题").replace("\r\n", "\n").strip()
    if len(theme) > MAX_THEME:
        raise BadRequest(f"主题陈述最多 {MAX_THEME} 个字（现有 {len(theme)} 个）")
    return theme


def _markdown(value: object, what: str, limit: int) -> str:
    """Markdown kept as written, except CRLF → LF, leading blank lines and trailing space."""
    text = _text(value, what).replace("\r\n", "\n").replace("\r", "\n")
    text = text.lstrip("\n").rstrip()
    if len(text) > limit:
        raise BadRequest(f"{what}最多 {limit} 个字（现有 {len(text)} 个）")
    return text


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{what}必须是整数")
    return value


def _stale(row: sqlite3.Row, version: int | None) -> bool:
    """Whether a change made from ``version`` comes too late (None: no check asked for)."""
    if version is None:
        return False
    return _int(version, "版本号") != row["version"]  # compared in Python: any integer is fine


def _conflict(row: sqlite3.Row, version: int | None) -> Conflict:
    return Conflict(f"这串珍珠在您打开之后已被别人（或您在另一个窗口中）修改过：您看到的是第 {version} 版，"
                    f"现在是第 {row['version']} 版。您这次的修改没有保存。", version=row["version"])


# -------------------------------------------------------------------- permissions
def can_view(string: dict[str, Any], user: User | None) -> bool:
    """Published strings are public (also without login); drafts only for the owner and admins."""
    if string.get("status") == PearlStatus.PUBLISHED:
        return True
    if user is None:
        return False
    return user.username == string.get("owner") or user.can(Role.ADMIN)


def can_edit(string: dict[str, Any], user: User | None) -> bool:
    """The owner may edit while at least an editor; administrators may edit every string."""
    if user is None:
        return False
    if user.can(Role.ADMIN):
        return True
    return user.username == string.get("owner") and user.can(Role.EDITOR)


def to_dict(string: dict[str, Any]) -> dict[str, Any]:
    """A string of :meth:`PearlStrings.get` as JSON: each pearl's ``doc`` cut to ``DOC_FIELDS``."""
    pearls = [{**pearl, "doc": _doc_fields(pearl["doc"])} for pearl in string["pearls"]]
    return {**string, "pearls": pearls}


def _doc_fields(doc: Document | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    fields = {key: getattr(doc, key) for key in DOC_FIELDS}
    fields["extra"] = dict(doc.extra)
    return fields


# -------------------------------------------------------------------------- service
class PearlStrings:
    """The ``pearl_strings`` and ``pearls`` tables (no permission checks: see the module doc)."""

    def __init__(self, conn: sqlite3.Connection, documents: Documents) -> None:
        self.conn = conn
        self.documents = documents

    # ------------------------------------------------------------------ strings
    def create(self, owner: str, title: str, theme: str = "", intro: str = "") -> int:
        """Start a new draft string owned by ``owner``; returns its id."""
        title, theme = _title(title), _theme(theme)
        intro = _markdown(intro, "导语", MAX_INTRO)
        owner = _text(owner, "所有者")
        stamp = _now()
        with store.transaction(self.conn):
            if not self.conn.execute("SELECT 1 FROM users WHERE username = ?", (owner,)).fetchone():
                raise NotFound(f"没有用户 {owner}")
            cur = self.conn.execute(
                "INSERT INTO pearl_strings (title, theme, intro, owner, status, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (title, theme, intro, owner, PearlStatus.DRAFT, stamp, stamp))
        return int(cur.lastrowid)

    def get(self, string_id: int) -> dict[str, Any]:
        """One string with its pearls in order, each resolved against the current documents.

        A pearl's ``section_ord`` is the section's current ``ord`` (it may differ from the
        stored one after a re-import); ``missing`` is True when its document or section is gone,
        and then ``doc_title``/``path`` are the snapshots taken when it was added. A pearl's
        ``doc`` is its :class:`~kb.model.Document` (None when missing); :func:`to_dict` makes the
        string JSON.
        """
        row = self._string(string_id)
        out: dict[str, Any] = {key: row[key] for key in (
            "id", "title", "theme", "intro", "owner", "status",
            "created_at", "updated_at", "published_at", "version")}
        documents: dict[str, Document | None] = {}
        pearls = []
        rows = self.conn.execute(
            "SELECT * FROM pearls WHERE string_id = ? ORDER BY position, id", (row["id"],))
        for position, pearl in enumerate(rows.fetchall(), start=1):
            doc_id = pearl["doc_id"]
            if doc_id not in documents:
                try:
                    documents[doc_id] = self.documents.get(doc_id)
                except NotFound:
                    documents[doc_id] = None
            pearls.append(self._pearl(pearl, position, documents[doc_id]))
        out["pearls"] = pearls
        return out

    @staticmethod
    def _pearl(row: sqlite3.Row, position: int, doc: Document | None) -> dict[str, Any]:
        stored_path: list[str] = json.loads(row["section_path"])
        kind = "case" if row["section_ord"] == WHOLE_DOCUMENT else "practice"
        pearl: dict[str, Any] = {
            "id": row["id"], "position": position, "doc_id": row["doc_id"],
            "section_ord": row["section_ord"], "kind": kind,
            "doc_title": doc.title if doc else row["doc_title"],
            "heading": stored_path[-1] if stored_path else "", "path": stored_path,
            "path_label": " › ".join(stored_path), "commentary": row["commentary"],
            "added_at": row["added_at"], "text": "", "missing": doc is None, "folded_from": None,
            "doc": doc,
        }
        if doc is None:
            return pearl
        if kind == "case":
            pearl["text"] = doc.body
            return pearl
        section = resolve(doc.sections, row["section_ord"], stored_path)
        if section is None:
            pearl["missing"] = True
            return pearl
        if is_heading_only(section):
            # An empty pearl from an earlier version: show the passage its heading introduces.
            below = first_text_descendant(doc.sections, section.ord)
            if below is not None:
                pearl["folded_from"] = section.path_label
                section = next(s for s in doc.sections if s.ord == below)
        pearl.update(section_ord=section.ord, heading=section.heading, path=list(section.path),
                     path_label=section.path_label, text=section.text)
        return pearl

    def summaries(self, owner: str | None = None,
                  status: PearlStatus | str | None = None) -> list[dict[str, Any]]:
        """Strings without their pearls (``pearl_count`` instead), newest updated first."""
        if status is not None and status not in STATUSES:
            raise BadRequest(f"无效的状态 {str(status)!r}：应为 draft 或 published")
        where, params = [], []
        if owner is not None:
            where.append("s.owner = ?")
            params.append(owner)
        if status is not None:
            where.append("s.status = ?")
            params.append(str(status))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.conn.execute(
            "SELECT s.id, s.title, s.theme, s.owner, s.status, s.updated_at, s.published_at,"
            " (SELECT COUNT(*) FROM pearls p WHERE p.string_id = s.id) AS pearl_count"
            f" FROM pearl_strings s {clause} ORDER BY s.updated_at DESC, s.id DESC", params)
        return [dict(r) for r in rows.fetchall()]

    def update(self, string_id: int, *, title: str | None = None, theme: str | None = None,
               intro: str | None = None, version: int | None = None) -> None:
        """Change the title, theme and/or introduction (None leaves a field as it is); from
        ``version`` if given (see the module doc)."""
        fields: dict[str, str] = {}
        if title is not None:
            fields["title"] = _title(title)
        if theme is not None:
            fields["theme"] = _theme(theme)
        if intro is not None:
            fields["intro"] = _markdown(intro, "导语", MAX_INTRO)
        with store.transaction(self.conn):
            row = self._string(string_id)
            changes = {name: value for name, value in fields.items() if row[name] != value}
            if changes and _stale(row, version):
                raise _conflict(row, version)
            if changes:
                sets = ", ".join(f"{name} = ?" for name in changes)
                self.conn.execute(f"UPDATE pearl_strings SET {sets}, updated_at = ?,"
                                  " version = version + 1 WHERE id = ?",
                                  (*changes.values(), _now(), string_id))

    def publish(self, string_id: int, *, version: int | None = None) -> None:
        """Make the string public; it needs at least one pearl. ``published_at`` becomes now
        (also when it already was public: a new publication of what is there now, so a stale
        ``version`` is always refused)."""
        with store.transaction(self.conn):
            row = self._string(string_id)
            if _stale(row, version):
                raise _conflict(row, version)
            if not self._ids(string_id):
                raise BadRequest("珍珠串里至少要有一颗珍珠才能发布")
            stamp = _now()
            self.conn.execute("UPDATE pearl_strings SET status = ?, published_at = ?, updated_at = ?,"
                              " version = version + 1 WHERE id = ?",
                              (PearlStatus.PUBLISHED, stamp, stamp, string_id))

    def unpublish(self, string_id: int, *, version: int | None = None) -> None:
        """Back to draft; ``published_at`` is kept as the time it was last published. A draft
        stays as it is."""
        with store.transaction(self.conn):
            row = self._string(string_id)
            if row["status"] == PearlStatus.DRAFT:
                return
            if _stale(row, version):
                raise _conflict(row, version)
            self.conn.execute("UPDATE pearl_strings SET status = ?, updated_at = ?,"
                              " version = version + 1 WHERE id = ?",
                              (PearlStatus.DRAFT, _now(), string_id))

    def delete(self, string_id: int) -> None:
        """Delete the string and its pearls (the documents are untouched)."""
        with store.transaction(self.conn):
            self._string(string_id)
            self.conn.execute("DELETE FROM pearls WHERE string_id = ?", (string_id,))
            self.conn.execute("DELETE FROM pearl_strings WHERE id = ?", (string_id,))

    def containing(self, doc_id: str) -> list[dict[str, Any]]:
        """Strings (any status; filter with :func:`can_view`) holding this case or its practices."""
        rows = self.conn.execute(
            "SELECT s.id, s.title, s.status, s.owner FROM pearl_strings s WHERE EXISTS"
            " (SELECT 1 FROM pearls p WHERE p.string_id = s.id AND p.doc_id = ?)"
            " ORDER BY s.updated_at DESC, s.id DESC", (doc_id,))
        return [dict(r) for r in rows.fetchall()]

    # ------------------------------------------------------------------- pearls
    def add_pearl(self, string_id: int, doc_id: str, section_ord: int = WHOLE_DOCUMENT,
                  commentary: str = "") -> int:
        """Append a whole case (``section_ord=WHOLE_DOCUMENT``) or one of its sections; returns the
        pearl id.

        A heading-only section is folded into the first section below it with text (see
        :func:`pearl_section`); one with no text below it is refused.
        """
        section_ord = _int(section_ord, "段落序号")
        commentary = _markdown(commentary, "点评", MAX_COMMENTARY)
        doc_id = _text(doc_id, "文档编号")
        with store.transaction(self.conn):
            self._string(string_id)
            doc = self.documents.get(doc_id)
            path: list[str] = []
            if section_ord != WHOLE_DOCUMENT:
                section = pearl_section(doc.sections, section_ord, doc_id)  # folds a bare heading
                section_ord, path = section.ord, list(section.path)
                heal(self.conn, string_id, doc_id, doc.sections)
                check_folded(self.conn, string_id, doc_id, doc.sections, section_ord)
            check_new(self.conn, string_id, doc_id, doc.sections, section_ord)
            position = self.conn.execute(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM pearls WHERE string_id = ?",
                (string_id,)).fetchone()[0]
            stamp = _now()
            cur = self.conn.execute(
                "INSERT INTO pearls (string_id, position, doc_id, section_ord, section_path,"
                " doc_title, commentary, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (string_id, position, doc_id, section_ord, json.dumps(path, ensure_ascii=False),
                 doc.title, commentary, stamp))
            self._bump(string_id, stamp)
        return int(cur.lastrowid)

    def remove_pearl(self, string_id: int, pearl_id: int, *, version: int | None = None) -> None:
        """Take a pearl off the string; the others close up (positions 1..n).

        The last pearl of a published string cannot be removed (unpublish first), so a
        published string is never empty.
        """
        with store.transaction(self.conn):
            row = self._string(string_id)
            if _stale(row, version):
                raise _conflict(row, version)
            self._pearl_row(string_id, pearl_id)
            ids = self._ids(string_id)
            if row["status"] == PearlStatus.PUBLISHED and len(ids) == 1:
                raise BadRequest("已发布的珍珠串至少要保留一颗珍珠；请先撤回发布再移除")
            self.conn.execute("DELETE FROM pearls WHERE id = ?", (pearl_id,))
            self._renumber([i for i in ids if i != pearl_id])
            self._bump(string_id)

    def annotate(self, string_id: int, pearl_id: int, commentary: str, *,
                 version: int | None = None) -> None:
        """Replace a pearl's commentary (Markdown, at most 20000 characters)."""
        commentary = _markdown(commentary, "点评", MAX_COMMENTARY)
        with store.transaction(self.conn):
            row = self._string(string_id)
            stale = _stale(row, version)
            pearl = self._find_pearl(string_id, pearl_id)
            if stale and (pearl is None or pearl["commentary"] != commentary):
                raise _conflict(row, version)  # a pearl removed meanwhile too: say so, not 404
            if pearl is None:
                raise NotFound(f"这串珍珠中没有编号为 {pearl_id} 的珍珠")
            if pearl["commentary"] == commentary:
                return
            self.conn.execute("UPDATE pearls SET commentary = ? WHERE id = ?",
                              (commentary, pearl_id))
            self._bump(string_id)

    def move_pearl(self, string_id: int, pearl_id: int, offset: int, *,
                   version: int | None = None) -> None:
        """Move a pearl ``offset`` places (-1 up, +1 down); at either end it simply stays."""
        offset = _int(offset, "移动的位数")
        with store.transaction(self.conn):
            row = self._string(string_id)
            stale = _stale(row, version)
            if stale and self._find_pearl(string_id, pearl_id) is None:
                raise _conflict(row, version)
            self._pearl_row(string_id, pearl_id)
            ids = self._ids(string_id)
            old = ids.index(pearl_id)
            new = max(0, min(len(ids) - 1, old + offset))
            if new == old:
                return
            if stale:  # "one place up" means something else in another order
                raise _conflict(row, version)
            ids.insert(new, ids.pop(old))
            self._renumber(ids)
            self._bump(string_id)

    def reorder(self, string_id: int, pearl_ids: list[int], *, version: int | None = None) -> None:
        """Put the pearls in this order; ``pearl_ids`` must list each of them exactly once."""
        if not isinstance(pearl_ids, list | tuple) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in pearl_ids):
            raise BadRequest("新的顺序必须是珍珠编号（整数）的列表")
        with store.transaction(self.conn):
            row = self._string(string_id)
            current = self._ids(string_id)
            if _stale(row, version) and list(pearl_ids) != current:
                raise _conflict(row, version)  # also when pearls were added or removed meanwhile
            if len(pearl_ids) != len(current) or set(pearl_ids) != set(current):
                raise BadRequest("新的顺序必须恰好包含这串中的每一颗珍珠，且每颗只出现一次")
            if list(pearl_ids) != current:
                self._renumber(list(pearl_ids))
                self._bump(string_id)

    # ------------------------------------------------------------------ helpers
    def _string(self, string_id: int) -> sqlite3.Row:
        row = None
        if isinstance(string_id, int) and not isinstance(string_id, bool):
            row = self.conn.execute("SELECT * FROM pearl_strings WHERE id = ?",
                                    (string_id,)).fetchone()
        if row is None:
            raise NotFound(f"没有编号为 {string_id} 的珍珠串")
        return row

    def _pearl_row(self, string_id: int, pearl_id: int) -> sqlite3.Row:
        row = self._find_pearl(string_id, pearl_id)
        if row is None:
            raise NotFound(f"这串珍珠中没有编号为 {pearl_id} 的珍珠")
        return row

    def _find_pearl(self, string_id: int, pearl_id: int) -> sqlite3.Row | None:
        if not isinstance(pearl_id, int) or isinstance(pearl_id, bool):
            return None
        return self.conn.execute("SELECT * FROM pearls WHERE id = ? AND string_id = ?",
                                 (pearl_id, string_id)).fetchone()

    def _ids(self, string_id: int) -> list[int]:
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM pearls WHERE string_id = ? ORDER BY position, id", (string_id,))]

    def _renumber(self, ids: list[int]) -> None:
        self.conn.executemany("UPDATE pearls SET position = ? WHERE id = ?",
                              [(position, pid) for position, pid in enumerate(ids, start=1)])

    def _bump(self, string_id: int, stamp: str | None = None) -> None:
        """The string changed: a new ``updated_at`` and the next version."""
        self.conn.execute("UPDATE pearl_strings SET updated_at = ?, version = version + 1 WHERE id = ?",
                          (stamp or _now(), string_id))
