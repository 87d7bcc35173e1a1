"""The typed contracts between the knowledge base, the indexer and the fronts.

What an importer makes of a file (:class:`ParsedDocument`, :class:`ParsedSection`), and what
the knowledge base hands out (:class:`Document`, :class:`Section`, :class:`ModeTags`,
:class:`Suggestion`, :class:`Evidence`, :class:`Original`, :class:`Decision`): frozen
dataclasses, with statuses and roles as ``StrEnum``. JSON is made at the edges only, by each
object's ``to_dict()``; :meth:`Document.to_dict` is exactly what ``kb show --json`` and
``/api/documents/<id>`` print.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# Metadata fields of the corpus format, in display order. Anything else in front matter is kept
# in ``extra``.
META_FIELDS = ("type", "unit", "author", "date", "region", "domain", "modes", "keywords", "source")
IMPORT_ACTOR = "import"  # who decided the modes a file's front matter declares


WHOLE_DOCUMENT = -1  # the ``section_ord`` of a tag, decision or pearl about the whole document


class TagStatus(StrEnum):
    """Where a mode stands on a document or practice."""

    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Role(StrEnum):
    """Account roles, weakest first: each can do everything the ones before it can."""

    READER = "reader"
    EDITOR = "editor"
    ADMIN = "admin"


class PearlStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class IngestStatus(StrEnum):
    """What importing one file did."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


@dataclass
class ParsedSection:
    """One node of a parsed document's heading tree. Leaves with text are *practices*."""

    ord: int
    level: int  # 0 = text before the first heading; 1 = 一、 2 = （一） 3 = 1、 4 = （1）
    heading: str
    path: list[str]
    text: str
    parent: int | None = None
    is_practice: bool = False
    start: int = 0  # offsets in the body of the heading line and the section's own text,
    end: int = 0  # not of its child sections

    @property
    def path_label(self) -> str:
        return " › ".join(self.path)


@dataclass
class ParsedDocument:
    """What an importer makes of one file, before it is stored."""

    id: str
    title: str
    body: str
    sections: list[ParsedSection]
    format: str
    type: str | None = None
    unit: str | None = None
    author: str | None = None
    date: str | None = None
    region: str | None = None
    domains: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    source: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    # What the import changed or flagged in the text (kb.cleanup), the file's bytes as read and
    # the text encoding they were decoded with (None for Word).
    cleanup: list[dict[str, object]] = field(default_factory=list)
    original: bytes = b""
    charset: str | None = None

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date and self.date[:4].isdigit() else None


# ------------------------------------------------------------------ what the knowledge base hands out
@dataclass(frozen=True)
class Evidence:
    """A sentence that justifies a suggestion: its text, the signal terms in it and where it is
    (offsets in the text that was scored); ``learned`` when the terms were learned from people's
    decisions (:mod:`kb.learn`) rather than taken from the taxonomy."""

    sentence: str
    terms: tuple[str, ...]
    start: int
    end: int
    learned: bool = False

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"sentence": self.sentence, "terms": list(self.terms),
                                  "start": self.start, "end": self.end}
        if self.learned:
            out["learned"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Evidence:
        return cls(str(data["sentence"]), tuple(data["terms"]), int(data["start"]),  # type: ignore[arg-type]
                   int(data["end"]), bool(data.get("learned", False)))  # type: ignore[call-overload]


@dataclass(frozen=True)
class Suggestion:
    """A mode the system suggests, how strongly (0–1) and why."""

    mode: str
    score: float
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"mode": self.mode, "score": self.score, "evidence": [e.to_dict() for e in self.evidence]}


@dataclass(frozen=True)
class ModeTags:
    """The modes of a document or of one of its sections, by status."""

    confirmed: tuple[str, ...] = ()
    suggested: tuple[Suggestion, ...] = ()
    rejected: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"confirmed": list(self.confirmed), "suggested": [s.to_dict() for s in self.suggested],
                "rejected": list(self.rejected)}


@dataclass(frozen=True)
class Section:
    """A stored section of a document, with its modes. Leaves with text are *practices*."""

    ord: int
    heading: str
    level: int
    path: tuple[str, ...]
    parent: int | None
    text: str
    is_practice: bool
    start: int
    end: int
    modes: ModeTags = ModeTags()

    @property
    def path_label(self) -> str:
        return " › ".join(self.path)

    def to_dict(self) -> dict[str, object]:
        return {"ord": self.ord, "heading": self.heading, "level": self.level, "path": list(self.path),
                "path_label": self.path_label, "parent": self.parent, "text": self.text,
                "is_practice": self.is_practice, "start": self.start, "end": self.end,
                "modes": self.modes.to_dict()}


@dataclass(frozen=True)
class Original:
    """The file a document was imported from (its bytes are read separately)."""

    name: str
    media_type: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "media_type": self.media_type, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class Document:
    """One stored document: metadata, body, sections (practices marked) and modes."""

    doc_id: str
    title: str
    type: str | None
    unit: str | None
    author: str | None
    date: str | None
    year: int | None
    region: str | None
    domains: tuple[str, ...]
    keywords: tuple[str, ...]
    source: str | None
    extra: Mapping[str, object]
    format: str
    source_path: str | None
    created_at: str
    updated_at: str
    rev: int
    body: str
    sections: tuple[Section, ...]
    modes: ModeTags
    original: Original | None = None
    cleanup: tuple[Mapping[str, object], ...] = ()  # what the import changed or flagged (kb.cleanup)

    def section(self, ord_: int) -> Section | None:
        """The section numbered ``ord_``, or None."""
        return next((s for s in self.sections if s.ord == ord_), None)

    def to_dict(self) -> dict[str, object]:
        """The document as ``kb show --json`` prints it (the key is ``domain``, as it always was)."""
        return {
            "doc_id": self.doc_id, "title": self.title, "type": self.type, "unit": self.unit,
            "author": self.author, "date": self.date, "year": self.year, "region": self.region,
            "domain": list(self.domains), "keywords": list(self.keywords), "source": self.source,
            "extra": dict(self.extra), "format": self.format, "source_path": self.source_path,
            "created_at": self.created_at, "updated_at": self.updated_at, "rev": self.rev,
            "body": self.body, "sections": [s.to_dict() for s in self.sections],
            "modes": self.modes.to_dict(),
            "original": self.original.to_dict() if self.original else None,
            "cleanup": [dict(c) for c in self.cleanup],
        }


@dataclass(frozen=True)
class Decision:
    """One entry of a document's tag history: who decided what about a mode, and when."""

    section_ord: int
    mode: str
    status: TagStatus
    actor: str
    at: str

    def to_dict(self) -> dict[str, object]:
        return {"section_ord": self.section_ord, "mode": self.mode, "status": str(self.status),
                "actor": self.actor, "at": self.at}
