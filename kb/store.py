"""The SQLite store: connection settings, the schema and its migrations.

WAL mode (readers never wait for the writer), foreign keys on, ``PRAGMA user_version`` as the
schema version. Every migration runs in one transaction; an old database is brought up to date
when it is opened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import StartupError

MIGRATIONS: tuple[str, ...] = (
    # 1: documents, sections/practices, taxonomy, tag decisions and their history
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        type TEXT, unit TEXT, author TEXT, date TEXT, year INTEGER, region TEXT,
        domains TEXT NOT NULL DEFAULT '[]',
        keywords TEXT NOT NULL DEFAULT '[]',
        source TEXT,
        extra TEXT NOT NULL DEFAULT '{}',
        body TEXT NOT NULL,
        format TEXT NOT NULL,
        source_path TEXT,
        content_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        rev INTEGER NOT NULL
    );
    CREATE INDEX documents_hash ON documents(content_hash, source_path);
    CREATE INDEX documents_rev ON documents(rev);
    CREATE TABLE sections (
        doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        ord INTEGER NOT NULL,
        parent_ord INTEGER,
        level INTEGER NOT NULL,
        heading TEXT NOT NULL,
        path TEXT NOT NULL,
        text TEXT NOT NULL,
        is_practice INTEGER NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        PRIMARY KEY (doc_id, ord)
    );
    CREATE TABLE modes (
        name TEXT PRIMARY KEY,
        short TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        signals TEXT NOT NULL DEFAULT '{}',
        position INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE tags (
        doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        section_ord INTEGER NOT NULL DEFAULT -1,
        mode TEXT NOT NULL REFERENCES modes(name) ON UPDATE CASCADE ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN ('suggested', 'confirmed', 'rejected')),
        score REAL,
        evidence TEXT NOT NULL DEFAULT '[]',
        actor TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        PRIMARY KEY (doc_id, section_ord, mode)
    );
    CREATE INDEX tags_mode ON tags(mode, status);
    CREATE TABLE tag_history (
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        section_ord INTEGER NOT NULL,
        mode TEXT NOT NULL,
        status TEXT NOT NULL,
        actor TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE tombstones (doc_id TEXT PRIMARY KEY, rev INTEGER NOT NULL);
    INSERT INTO meta (key, value) VALUES ('rev', '0');
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    """Open (and if needed create and migrate) the knowledge base at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Apply every migration newer than the database's ``user_version``."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StartupError(
            f"知识库的结构版本 {version} 比本程序支持的 {SCHEMA_VERSION} 新；请升级红线。"
        )
    for number in range(version, SCHEMA_VERSION):
        with transaction(conn):
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")


def _statements(script: str) -> Iterator[str]:
    for part in script.split(";"):
        if part.strip():
            yield part


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def next_rev(conn: sqlite3.Connection) -> int:
    """Take the next change number (call inside a transaction)."""
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rev'")
    return int(conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])
