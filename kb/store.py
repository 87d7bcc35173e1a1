"""The SQLite store: connection settings, the schema and its migrations.

WAL mode (readers never wait for the writer), foreign keys on, ``PRAGMA user_version`` as the
schema version. Every migration runs in one transaction; an old database is brought up to date
when it is opened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
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
        section_ord INTEGER NOT NULL, mode TEXT NOT NULL, status TEXT NOT NULL,
        actor TEXT NOT NULL, at TEXT NOT NULL
    );
    CREATE TABLE tombstones (doc_id TEXT PRIMARY KEY, rev INTEGER NOT NULL);
    INSERT INTO meta (key, value) VALUES ('rev', '0');
    """,
    # 2: accounts, pearl strings (串珍珠) and their pearls
    """
    CREATE TABLE users (
        username TEXT PRIMARY KEY COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'reader')),
        session_version INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE pearl_strings (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        theme TEXT NOT NULL DEFAULT '',
        intro TEXT NOT NULL DEFAULT '',
        owner TEXT NOT NULL REFERENCES users(username) ON UPDATE CASCADE,
        status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        published_at TEXT
    );
    CREATE INDEX pearl_strings_owner ON pearl_strings(owner, status);
    CREATE TABLE pearls (
        id INTEGER PRIMARY KEY,
        string_id INTEGER NOT NULL REFERENCES pearl_strings(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        doc_id TEXT NOT NULL,
        section_ord INTEGER NOT NULL DEFAULT -1,
        section_path TEXT NOT NULL DEFAULT '[]',
        doc_title TEXT NOT NULL,
        commentary TEXT NOT NULL DEFAULT '',
        added_at TEXT NOT NULL,
        UNIQUE (string_id, doc_id, section_ord)
    );
    CREATE INDEX pearls_doc ON pearls(doc_id);
    """,
    # 3: each document's imported file as it was (bytes, name, type) and what clean-up changed
    """
    CREATE TABLE originals (
        doc_id TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        cleanup TEXT NOT NULL DEFAULT '[]',
        data BLOB NOT NULL
    );
    """,
    # 4: background jobs (index updates, rebuilds, re-suggesting) and their progress
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        requested_by TEXT NOT NULL DEFAULT '',
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER,
        message TEXT NOT NULL DEFAULT '',
        result TEXT NOT NULL DEFAULT '{}',
        pid INTEGER,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
    );
    CREATE INDEX jobs_state ON jobs(state, id);
    """,
    # 5: a version number on each pearl string, bumped by every change, so that a save made from
    # an older version is refused instead of silently overwriting someone else's change
    """
    ALTER TABLE pearl_strings ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    """,
    # 6: login sessions (revoked at logout) and failed logins (throttling), times in Unix seconds
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES users(username) ON UPDATE CASCADE ON DELETE CASCADE,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX sessions_expiry ON sessions(expires_at);
    CREATE TABLE login_failures (
        id INTEGER PRIMARY KEY,
        attempt TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('account', 'address')),
        key TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX login_failures_key ON login_failures(kind, key, at);
    CREATE INDEX login_failures_attempt ON login_failures(attempt);
    """,
    # 7: corrections of a document's metadata made in the site (who, when, what), and a version
    # of each document's metadata, so that a save made from an older version is refused
    """
    ALTER TABLE documents ADD COLUMN meta_version INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE document_edits (
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        actor TEXT NOT NULL,
        at TEXT NOT NULL,
        changes TEXT NOT NULL
    );
    CREATE INDEX document_edits_doc ON document_edits(doc_id, id);
    """,
    # 8: documents removed (in the site or by ``kb remove``): which one, its title, who, when;
    # and the type / region / domains an import batch gave a document for what its file leaves
    # empty (kept for its re-imports)
    """
    ALTER TABLE documents ADD COLUMN batch_defaults TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE document_removals (
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL,
        title TEXT NOT NULL,
        actor TEXT NOT NULL,
        at TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    );
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


BACKUPS = "backups"  # beside the database: the copies taken before each schema upgrade


def backup_before_upgrade(conn: sqlite3.Connection, version: int) -> Path | None:
    """Before an old database is migrated, keep a consistent copy of it as it was
    (``backups/kb-schema-<version>-<time>.sqlite3`` beside it): an upgrade never leaves a
    database that only the new program can read without a way back. None for a database in
    memory."""
    row = next((r for r in conn.execute("PRAGMA database_list") if r[1] == "main"), None)
    if row is None or not row[2]:
        return None
    folder = Path(row[2]).parent / BACKUPS
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = folder / f"kb-schema-{version}-{stamp}.sqlite3"
    conn.execute("VACUUM INTO ?", (str(target),))
    return target


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> None:
    """Apply every migration newer than the database's ``user_version``, each in one transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(migrations):
        raise StartupError(
            f"知识库的结构版本 {version} 比本程序支持的 {len(migrations)} 新；请升级红线。"
        )
    if 0 < version < len(migrations):
        backup_before_upgrade(conn, version)
    for number in range(version, len(migrations)):
        with transaction(conn):
            for statement in statements(migrations[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")


def statements(script: str) -> Iterator[str]:
    """The SQL statements of a script, one at a time.

    A statement ends at a ``;`` that SQLite's own tokenizer agrees ends it
    (:func:`sqlite3.complete_statement`): not one inside a string literal, a quoted name or a
    comment, nor one inside a trigger's ``BEGIN … END``.
    """
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                yield pending
            pending = ""
    if pending.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending.strip()[:60]}")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (unless SQLite already rolled it
    back itself, as it does on a full disk: then the original error is the one raised)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def next_rev(conn: sqlite3.Connection) -> int:
    """Take the next change number (call inside a transaction)."""
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rev'")
    return int(conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])


def touch(conn: sqlite3.Connection, doc_id: str) -> None:
    """Give a document the next change number, so the index updates it (call inside a transaction)."""
    conn.execute("UPDATE documents SET rev = ? WHERE id = ?", (next_rev(conn), doc_id))
