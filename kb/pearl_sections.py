"""Where a pearl points: the section it holds now, across re-imports that renumber sections.

A practice pearl stores its section's ``ord`` and a snapshot of its heading path. After a
re-import the section is found again at that ``ord`` if the path still matches, else by its path
(:func:`resolve`); a heading-only section folds into the first section below it that has text
(:func:`pearl_section`). The checks here run inside :class:`kb.pearls.PearlStrings`'
transactions, on the string's ``pearls`` rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence

from .errors import BadRequest
from .model import WHOLE_DOCUMENT, Section
from .structure import first_text_descendant, is_heading_only


def resolve(sections: Sequence[Section], stored_ord: int, stored_path: Sequence[str]) -> Section | None:
    """The section a practice pearl points at now, or None if it is gone.

    The section at ``stored_ord`` if its path is still the stored one; otherwise (the document
    was re-imported and its sections renumbered) the section with the stored path, the one
    nearest to the old position if several share it.
    """
    path = tuple(stored_path)
    at_ord = next((s for s in sections if s.ord == stored_ord), None)
    if at_ord is not None and (not path or at_ord.path == path):
        return at_ord
    if not path:
        return None
    matches = [s for s in sections if s.path == path]
    if not matches:
        return None
    return min(matches, key=lambda s: (abs(s.ord - stored_ord), s.ord))


def pearl_section(sections: Sequence[Section], section_ord: int, doc_id: str = "") -> Section:
    """The section a pearl for ``section_ord`` holds.

    The section itself when it has text; a heading-only section (``二、主要做法`` directly
    followed by ``（一）…``) folds into the first section below it that has text. Raises
    :class:`BadRequest` when there is no such section or nothing below the heading has text, so
    that no empty pearl is ever created.
    """
    by_ord = {s.ord: s for s in sections}
    section = by_ord.get(section_ord)
    if section is None:
        where = f"文档 {doc_id} 中" if doc_id else ""
        raise BadRequest(f"{where}没有序号为 {section_ord} 的段落")
    if not is_heading_only(section):
        return section
    below = first_text_descendant(sections, section_ord)
    if below is None:
        raise BadRequest(f"“{section.heading}”只有标题，下面也没有带正文的小节，不能作为一颗珍珠；"
                         "可以把整篇案例加入串珍珠")
    return by_ord[below]


def check_folded(conn: sqlite3.Connection, string_id: int, doc_id: str, sections: Sequence[Section],
                 section_ord: int) -> None:
    """Refuse a section that an older empty pearl (a bare heading, from before headings were
    folded) already shows: that pearl is displayed as this very section."""
    rows = conn.execute(
        "SELECT section_ord, section_path FROM pearls WHERE string_id = ? AND doc_id = ?"
        " AND section_ord NOT IN (?, ?)", (string_id, doc_id, WHOLE_DOCUMENT, section_ord)).fetchall()
    for r in rows:
        old = resolve(sections, r["section_ord"], json.loads(r["section_path"]))
        if old is not None and is_heading_only(old) and first_text_descendant(sections, old.ord) == section_ord:
            raise BadRequest(f"这一颗珍珠已经在这串中（以“{old.heading}”加入）")


def heal(conn: sqlite3.Connection, string_id: int, doc_id: str, sections: Sequence[Section]) -> None:
    """Re-point this document's practice pearls at their sections' current ``ord``.

    After a re-import an old pearl may still hold an ``ord`` that now belongs to another
    section; without this, adding that section would collide with the stale row. Moves that
    would clash with each other are left out (those pearls stay as they are).
    """
    rows = conn.execute(
        "SELECT id, section_ord, section_path FROM pearls"
        " WHERE string_id = ? AND doc_id = ? AND section_ord != ?",
        (string_id, doc_id, WHOLE_DOCUMENT)).fetchall()
    current = {r["id"]: r["section_ord"] for r in rows}
    final = dict(current)
    for r in rows:
        section = resolve(sections, r["section_ord"], json.loads(r["section_path"]))
        if section is not None:
            final[r["id"]] = section.ord
    while True:
        counts = Counter(final.values())
        clashing = [pid for pid, o in final.items() if counts[o] > 1 and o != current[pid]]
        if not clashing:
            break
        for pid in clashing:
            final[pid] = current[pid]
    moved = [pid for pid in final if final[pid] != current[pid]]
    # two steps, so that swapping ords never trips UNIQUE (string_id, doc_id, section_ord)
    conn.executemany("UPDATE pearls SET section_ord = ? WHERE id = ?", [(-2 - pid, pid) for pid in moved])
    conn.executemany("UPDATE pearls SET section_ord = ? WHERE id = ?", [(final[pid], pid) for pid in moved])


def check_new(conn: sqlite3.Connection, string_id: int, doc_id: str, sections: Sequence[Section],
              section_ord: int) -> None:
    """Refuse a pearl the string already holds, or one whose ``ord`` a stale pearl still takes."""
    row = conn.execute(
        "SELECT section_path FROM pearls WHERE string_id = ? AND doc_id = ? AND section_ord = ?",
        (string_id, doc_id, section_ord)).fetchone()
    if row is None:
        return
    path = json.loads(row["section_path"])
    section = None if section_ord == WHOLE_DOCUMENT else resolve(sections, section_ord, path)
    if section_ord == WHOLE_DOCUMENT or (section is not None and section.ord == section_ord):
        raise BadRequest("这一颗珍珠已经在这串中")
    label = " › ".join(path) or str(section_ord)
    raise BadRequest(f"这串中一颗已失效的珍珠（{label}）仍占着这个段落序号；请先移除它再添加")
