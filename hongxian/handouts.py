"""Handouts (教学讲义): a pearl string, or a single case, as a PDF, a Word file or Markdown.

A handout is first made into a neutral :class:`Outline` — a cover (title, theme, curator, date),
the contents, the parts in the handout's own order and a GB/T 7714—2015 reference list — and
that outline is then rendered three ways (:data:`FORMATS`): PDF made by the server with
WeasyPrint (:mod:`hongxian.handout_pdf`), an editable Word file with python-docx
(:mod:`hongxian.handout_docx`) and Markdown (:mod:`hongxian.handout_md`). The site's print view
shows the same outline.

Numbering. Each part is numbered in the handout's own sequence (pearls ``1.`` ``2.`` …; the
sections of a single case ``1`` ``1.1`` ``1.1.1`` …). The source's own numbering (``一、``
``（三）`` ``2、`` ``①`` ``【…】``, the patterns of :data:`kb.structure.HEADING_PATTERNS`) is taken
off headings and heading paths (:func:`strip_numbering`), so a handout never reads
“1. 2、党员亮身份领岗位”.

References are numbered in order of first citation; two pearls of one case share a number, and
each part says which number its source has. A pearl whose case has been removed keeps its
snapshot heading and title, says so, and has no reference.

Who may have a handout is who may see its page: a published string is public, a draft only for
its curator and administrators (:meth:`PearlCases.get`); the command line acts for the operator
and exports drafts as well. Everything is rendered to memory; the fronts write or send it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kb.accounts import User
from kb.citation import cite
from kb.errors import BadRequest, NotFound
from kb.model import Document
from kb.structure import HEADING_PATTERNS

from .cases import Cases

__all__ = ["FORMATS", "Handout", "HandoutCases", "Outline", "Part", "document_outline",
           "pearl_outline", "render", "strip_numbering"]


@dataclass(frozen=True)
class Format:
    """One way to render a handout: its name (``pdf``), MIME type and file suffix."""

    name: str
    label: str
    mime: str
    suffix: str


FORMATS: Mapping[str, Format] = {
    "pdf": Format("pdf", "PDF", "application/pdf", ".pdf"),
    "docx": Format("docx", "Word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                   ".docx"),
    "md": Format("md", "Markdown", "text/markdown; charset=utf-8", ".md"),
}
SITE_NAME = "红线 基层党建经验与案例库"
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")
MAX_NAME = 60  # characters of the title in a file name
MAX_ID = 2**63 - 1  # SQLite's largest INTEGER


def format_of(name: str) -> Format:
    """The format named ``name`` (``pdf``, ``docx`` or ``md``), or a Chinese BadRequest."""
    found = FORMATS.get(str(name).lower().lstrip("."))
    if found is None:
        raise BadRequest(f"不支持的讲义格式“{str(name)[:20]}”：应为 pdf、docx 或 md")
    return found


# ------------------------------------------------------------------------ the outline
def strip_numbering(heading: str) -> str:
    """A heading without the source's own numbering: ``2、党员亮身份领岗位`` → ``党员亮身份领岗位``,
    ``（三）组建多个服务联盟`` → ``组建多个服务联盟``, ``【主要做法】`` → ``主要做法``. A heading that
    is nothing but its number is kept as it is."""
    text = heading.strip()
    for _ in range(3):  # "（一）1、…": a number directly after a number
        match = next((m for _, p in HEADING_PATTERNS if (m := p.match(text))), None)
        if match is None:
            break
        rest = text[match.end():].strip() if match.end() < len(text) else text.strip("【】").strip()
        if not rest:
            break
        text = rest
    return text or heading


@dataclass
class Part:
    """One part of a handout: a pearl, or a section of a single case."""

    number: str  # in the handout's own sequence: "3" (a pearl), "1.2" (a case's section)
    anchor: str  # "part-3": the target of the contents' links
    heading: str  # without the source's numbering
    level: int = 1  # 1 for pearls and a case's top sections, 2 … below
    path: list[str] = field(default_factory=list)  # the heading path in the case, numbering off
    source: str = ""  # the case it comes from (title), for pearls
    source_details: str = ""  # its unit and date
    commentary: str = ""  # the curator's commentary (Markdown)
    paragraphs: list[str] = field(default_factory=list)
    reference: int | None = None  # its number in the reference list
    missing: bool = False  # the case is no longer in the knowledge base
    pearl_id: int | None = None  # the pearl's own id (pearl strings only)

    @property
    def title(self) -> str:
        """The heading as the handout prints it: ``3. 组建多个服务联盟``."""
        return f"{self.number}. {self.heading}" if "." not in self.number else f"{self.number} {self.heading}"


@dataclass
class Outline:
    """What every rendering of a handout holds, in the order it holds it."""

    kind: str  # "pearls" or "document"
    title: str
    theme: str = ""
    curator: str = ""
    date: str = ""
    draft: bool = False
    facts: list[tuple[str, str]] = field(default_factory=list)  # (label, value) under the title
    intro: str = ""  # Markdown (a string's introduction)
    lead: list[str] = field(default_factory=list)  # a case's opening paragraphs (before a heading)
    parts: list[Part] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # [1] is references[0]

    @property
    def kicker(self) -> str:
        return "教学讲义 · 串珍珠" if self.kind == "pearls" else "教学讲义 · 案例"

    @property
    def contents(self) -> list[Part]:
        """The parts the contents list: every pearl; a case's sections down to the second level."""
        return [p for p in self.parts if p.level <= 2]

    @property
    def file_name(self) -> str:
        """A file name stem made of the title (no path separators or control characters)."""
        stem = _UNSAFE_NAME.sub(" ", self.title).strip(" .") or "讲义"
        return f"{stem[:MAX_NAME].strip()}-讲义"


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in (text or "").split("\n") if line.strip()]


def _details(doc: Document | None) -> str:
    if doc is None:
        return ""
    return "，".join(x for x in (doc.unit, doc.date) if x)


def pearl_outline(string: Mapping[str, Any], citations: Mapping[int, str]) -> Outline:
    """The outline of a pearl string as :meth:`PearlCases.get` returns it; ``citations`` are
    :meth:`PearlCases.citations` (each pearl's reference, by pearl id)."""
    outline = Outline(kind="pearls", title=string["title"], theme=string.get("theme") or "",
                      curator=string.get("owner") or "",
                      date=(string.get("published_at") or string.get("updated_at") or "")[:10],
                      draft=string.get("status") != "published", intro=string.get("intro") or "")
    outline.facts = [("编者", outline.curator), ("日期", outline.date)]
    numbers: dict[str, int] = {}  # a case's reference number, by document id
    for n, pearl in enumerate(string["pearls"], start=1):
        doc: Document | None = pearl.get("doc")
        practice = pearl["kind"] == "practice"
        heading = strip_numbering(pearl["heading"] or pearl["path_label"]) if practice else pearl["doc_title"]
        part = Part(number=str(n), anchor=f"part-{n}", heading=heading or pearl["doc_title"],
                    path=[strip_numbering(h) for h in pearl["path"]] if practice else [],
                    source=pearl["doc_title"], source_details=_details(doc),
                    commentary=pearl.get("commentary") or "", paragraphs=_paragraphs(pearl.get("text", "")),
                    missing=bool(pearl.get("missing")), pearl_id=pearl["id"])
        reference = citations.get(pearl["id"])
        if doc is not None and reference:
            if pearl["doc_id"] not in numbers:
                outline.references.append(reference)
                numbers[pearl["doc_id"]] = len(outline.references)
            part.reference = numbers[pearl["doc_id"]]
        outline.parts.append(part)
    return outline


def document_outline(doc: Document) -> Outline:
    """The outline of one case: its sections numbered 1, 1.1, 1.1.1 …, its one reference."""
    outline = Outline(kind="document", title=doc.title, date=doc.date or "", references=[cite(doc)])
    outline.facts = [(label, value) for label, value in (
        ("类型", doc.type), ("单位", doc.unit), ("作者", doc.author), ("日期", doc.date),
        ("地区", doc.region), ("关键词", "、".join(doc.keywords))) if value]
    counters: list[int] = []
    depth_of: dict[int, int] = {}
    for section in doc.sections:
        if not section.heading:
            outline.lead += _paragraphs(section.text)
            continue
        depth = depth_of.get(section.parent, 0) + 1 if section.parent is not None else 1
        depth_of[section.ord] = depth
        counters = counters[:depth]
        counters += [0] * (depth - len(counters))
        counters[depth - 1] += 1
        number = ".".join(str(c) for c in counters)
        outline.parts.append(Part(
            number=number, anchor=f"part-{number.replace('.', '-')}",
            heading=strip_numbering(section.heading), level=min(depth, 4),
            path=[strip_numbering(h) for h in section.path], source=doc.title,
            paragraphs=_paragraphs(section.text), reference=1))
    return outline


# ------------------------------------------------------------------------ rendering
def render(outline: Outline, fmt: str) -> bytes:
    """The handout in format ``fmt`` (``pdf``, ``docx``, ``md``), in memory."""
    name = format_of(fmt).name
    if name == "pdf":
        from .handout_pdf import to_pdf

        return to_pdf(outline)
    if name == "docx":
        from .handout_docx import to_docx

        return to_docx(outline)
    from .handout_md import to_markdown

    return to_markdown(outline).encode("utf-8")


@dataclass(frozen=True)
class Handout:
    """A rendered handout: its bytes, a file name (with suffix) and MIME type."""

    data: bytes
    filename: str
    mime: str


class HandoutCases(Cases):
    """The use cases: a pearl string's or a case's handout, rendered."""

    def pearl_outline(self, string_id: int, user: User | None, operator: bool = False) -> Outline:
        """The outline of a string ``user`` may see (``operator``: the command line, every string)."""
        pearls = self.core.pearls
        if not 0 < string_id <= MAX_ID:  # SQLite's integers: no string has such an id
            raise NotFound(f"没有编号为 {str(string_id)[:30]} 的珍珠串")
        string = self.core.kb.pearls.get(string_id) if operator else pearls.get(string_id, user)
        return pearl_outline(string, pearls.citations(string))

    def document_outline(self, doc_id: str) -> Outline:
        return document_outline(self.core.documents.show(doc_id))

    def pearl_string(self, string_id: int, fmt: str, user: User | None = None,
                     operator: bool = False) -> Handout:
        """A pearl string's handout in ``fmt``; a draft is NotFound to all but its curator and
        administrators (and the ``operator``)."""
        kind = format_of(fmt)
        outline = self.pearl_outline(string_id, user, operator)
        return Handout(render(outline, kind.name), outline.file_name + kind.suffix, kind.mime)

    def document(self, doc_id: str, fmt: str) -> Handout:
        """One case's handout in ``fmt`` (NotFound for an unknown id)."""
        kind = format_of(fmt)
        outline = self.document_outline(doc_id)
        return Handout(render(outline, kind.name), outline.file_name + kind.suffix, kind.mime)
