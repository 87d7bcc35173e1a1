"""The taxonomy as stored: the programme and the working modes, edited from a file or by hand.

Changing a mode changes what the suggester looks for, but nothing here recomputes suggestions:
that is :meth:`kb.tags.Tags.resuggest`, slow work that the caller runs when it suits it (the
application core runs it as a background job).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from . import store
from .errors import BadRequest
from .model import WHOLE_DOCUMENT, TagStatus
from .taxonomy import Mode, Taxonomy, load_taxonomy

ADDED, UPDATED = "added", "updated"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_mode(conn: sqlite3.Connection, mode: Mode, position: int) -> str | None:
    """Insert ``mode`` at ``position``, or update the mode of that name (keeping its position).

    Returns ``added``, ``updated``, or None when the stored mode was already the same. Call it
    inside a transaction.
    """
    row = conn.execute("SELECT short, description, signals FROM modes WHERE name = ?", (mode.name,)).fetchone()
    signals = json.dumps(mode.signals, ensure_ascii=False)
    if row is None:
        conn.execute("INSERT INTO modes (name, short, description, signals, position, updated_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (mode.name, mode.short, mode.description, signals, position, _now()))
        return ADDED
    if (row["short"], row["description"], row["signals"]) == (mode.short, mode.description, signals):
        return None
    conn.execute("UPDATE modes SET short = ?, description = ?, signals = ?, updated_at = ? WHERE name = ?",
                 (mode.short, mode.description, signals, _now(), mode.name))
    return UPDATED


def _next_position(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM modes").fetchone()[0]


class Modes:
    """The ``modes`` table and the programme (``meta``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def taxonomy(self) -> Taxonomy:
        rows = self.conn.execute("SELECT * FROM modes ORDER BY position, name").fetchall()
        modes = [Mode(r["name"], r["short"], r["description"], json.loads(r["signals"])) for r in rows]
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'programme'").fetchone()
        programme = json.loads(row["value"]) if row else {"name": "", "description": ""}
        return Taxonomy(programme, modes)

    def load_file(self, path: Path) -> dict[str, list[str]]:
        """Add or update modes from a taxonomy file (modes not in the file are kept); returns the
        names ``added`` and ``updated``. Suggestions are not recomputed here (see the module doc)."""
        taxonomy = load_taxonomy(path)
        changed: dict[str, list[str]] = {ADDED: [], UPDATED: []}
        with store.transaction(self.conn):
            self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('programme', ?)",
                              (json.dumps(taxonomy.programme, ensure_ascii=False),))
            base = _next_position(self.conn)
            for i, mode in enumerate(taxonomy.modes):
                outcome = write_mode(self.conn, mode, base + i)
                if outcome is not None:
                    changed[outcome].append(mode.name)
        return changed

    def save(self, name: str, short: str = "", description: str = "",
             signals: dict[str, float] | None = None) -> str:
        """Add a mode or update one (by name); returns ``added`` or ``updated``.

        The mode takes effect in suggestions once they are recomputed and, after the index update
        that follows, in search facets, without a restart.
        """
        name = name.strip()
        if not name or len(name) > 40:
            raise BadRequest("模式名称不能为空，且不超过 40 个字符")
        if not signals:
            raise BadRequest("请至少给出一个信号词，系统才能据此建议这个模式")
        if len(description) > 2000 or len(short) > 200:
            raise BadRequest("简介不超过 200 字，说明不超过 2000 字")
        mode = Mode(name, short.strip(), description.strip(), dict(signals))
        with store.transaction(self.conn):
            outcome = write_mode(self.conn, mode, _next_position(self.conn))
        return ADDED if outcome == ADDED else UPDATED

    def counts(self) -> list[dict[str, object]]:
        """Every mode with the number of documents that carry it, confirmed and suggested."""
        counts = {
            (r["mode"], r["status"]): r["n"]
            for r in self.conn.execute(
                "SELECT mode, status, COUNT(DISTINCT doc_id) AS n FROM tags WHERE section_ord = ?"
                " GROUP BY mode, status", (WHOLE_DOCUMENT,))
        }
        out = []
        for mode in self.taxonomy().modes:
            entry = mode.to_dict()
            entry["confirmed"] = counts.get((mode.name, TagStatus.CONFIRMED), 0)
            entry["suggested"] = counts.get((mode.name, TagStatus.SUGGESTED), 0)
            out.append(entry)
        return out
