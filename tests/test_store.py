"""The migration runner: statements split as SQLite reads them, every old version brought up to
date, a newer database refused, a failed migration rolled back."""

from __future__ import annotations

import sqlite3

import pytest

from kb import store
from kb.errors import StartupError

TRIGGER_SCRIPT = """
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, edits INTEGER NOT NULL DEFAULT 0);
CREATE TABLE log (note INTEGER, what TEXT);
-- a comment; with a semicolon
CREATE TRIGGER notes_edited AFTER UPDATE OF body ON notes
BEGIN
    UPDATE notes SET edits = edits + 1 WHERE id = NEW.id;
    INSERT INTO log (note, what) VALUES (NEW.id, 'edited; again');
END;
INSERT INTO notes (body) VALUES ('first; with a semicolon, and ''quotes''; too');
"""


def test_statements_keep_triggers_and_string_literals_whole():
    parts = list(store.statements(TRIGGER_SCRIPT))
    assert len(parts) == 4
    assert parts[2].strip().startswith("-- a comment; with a semicolon\nCREATE TRIGGER")
    assert parts[2].rstrip().endswith("END;")
    assert "'first; with a semicolon, and ''quotes''; too'" in parts[3]
    assert all(sqlite3.complete_statement(p) for p in parts)


def test_statements_refuse_an_unfinished_script():
    with pytest.raises(ValueError, match="incomplete"):
        list(store.statements("CREATE TABLE t (a TEXT);\nINSERT INTO t VALUES ('never closed;"))


def test_a_migration_with_a_trigger_runs_and_the_trigger_works():
    conn = sqlite3.connect(":memory:", isolation_level=None)
    store.migrate(conn, (TRIGGER_SCRIPT,))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT body FROM notes").fetchone()[0] == "first; with a semicolon, and 'quotes'; too"
    conn.execute("UPDATE notes SET body = 'second' WHERE id = 1")
    assert conn.execute("SELECT edits FROM notes").fetchone()[0] == 1
    assert conn.execute("SELECT what FROM log").fetchall() == [("edited; again",)]


def test_a_failed_migration_changes_nothing():
    conn = sqlite3.connect(":memory:", isolation_level=None)
    broken = ("CREATE TABLE a (x);", "CREATE TABLE b (y);\nINSERT INTO no_such_table VALUES (1);")
    with pytest.raises(sqlite3.OperationalError):
        store.migrate(conn, broken)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1  # the first one stands
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"a"}


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return sorted(tuple(r) for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))


@pytest.mark.parametrize("version", range(store.SCHEMA_VERSION))
def test_every_older_version_is_migrated_to_the_current_schema(tmp_path, version):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)
    for number in range(version):
        for statement in store.statements(store.MIGRATIONS[number]):
            old.execute(statement)
    old.execute(f"PRAGMA user_version = {version}")
    old.close()
    fresh = store.connect(tmp_path / "fresh.sqlite3")
    upgraded = store.connect(path)
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    assert _schema(upgraded) == _schema(fresh)
    assert upgraded.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0] == "0"
    store.migrate(upgraded)  # up to date: nothing more to do
    assert _schema(upgraded) == _schema(fresh)


def test_a_newer_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "new.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StartupError, match="结构版本"):
        store.connect(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION + 1
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
