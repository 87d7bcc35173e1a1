"""Plain data objects passed between importers, the store, the indexer and the fronts."""

from __future__ import annotations

from dataclasses import dataclass, field

# Metadata fields of the corpus format, in display order. Anything else in front matter is kept
# in ``extra``.
META_FIELDS = ("type", "unit", "author", "date", "region", "domain", "modes", "keywords", "source")
IMPORT_ACTOR = "import"  # who decided the modes a file's front matter declares


@dataclass
class Section:
    """One node of a document's heading tree. Leaves with text are *practices*."""

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
    sections: list[Section]
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
