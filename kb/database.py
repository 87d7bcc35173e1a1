"""The knowledge base handle: one SQLite connection, and the parts of the record that share it."""

from __future__ import annotations

import sqlite3
from functools import cached_property
from pathlib import Path

from . import store
from .accounts import Accounts
from .documents import Documents
from .ingest import Imports
from .modes import Modes
from .pearls import PearlStrings
from .settings import Settings, load_settings
from .tags import Tags


class KnowledgeBase:
    """Documents, practices, taxonomy, tag decisions, pearl strings and accounts in one SQLite
    database. Open one per thread or request and close it when done (or use ``with``).

    The connection is opened on first use; a new database is created and migrated, and an empty
    ``modes`` table is filled from the configured taxonomy file.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._conn: sqlite3.Connection | None = None

    @classmethod
    def open(cls, data_dir: str | Path | None = None, **overrides: object) -> KnowledgeBase:
        return cls(load_settings(data_dir=data_dir, overrides=overrides))

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = store.connect(self.settings.db_path)
            self._load_first_taxonomy()
        return self._conn

    def _load_first_taxonomy(self) -> None:
        """Fill an empty ``modes`` table from the taxonomy file. Documents imported while there
        were no modes at all get their suggestions now (this happens once, if ever)."""
        if self.conn.execute("SELECT 1 FROM modes LIMIT 1").fetchone():
            return
        path = Path(self.settings.taxonomy_file)
        if self.settings.taxonomy_file and path.is_file():
            changed = self.modes.load_file(path)
            if changed["added"] and self.documents.count():
                self.tags.resuggest()

    def close(self) -> None:
        for part in _PARTS:  # the parts hold the connection: made again with the next one
            self.__dict__.pop(part, None)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @cached_property
    def documents(self) -> Documents:
        """Reading documents (with sections, modes and original), change numbers, removal."""
        return Documents(self.conn)

    @cached_property
    def modes(self) -> Modes:
        """The taxonomy: the programme and the working modes."""
        return Modes(self.conn)

    @cached_property
    def tags(self) -> Tags:
        """Tag decisions, their history, the review queue and recomputing suggestions."""
        return Tags(self.conn, self.settings, self.modes)

    @cached_property
    def imports(self) -> Imports:
        """Importing files and uploads."""
        return Imports(self.conn, self.settings, self.modes, self.tags)

    @cached_property
    def accounts(self) -> Accounts:
        """User accounts and roles (``kb user …``, the site's login)."""
        return Accounts(self.conn)

    @cached_property
    def pearls(self) -> PearlStrings:
        """Pearl strings (串珍珠): curated, ordered, annotated collections of practices."""
        return PearlStrings(self.conn, self.documents)


_PARTS = ("documents", "modes", "tags", "imports", "accounts", "pearls")
