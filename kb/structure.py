"""Structure inference: numbered Chinese headings, section trees, title/unit/author/date lines.

A report's own headings (``一、`` ``（一）`` ``1、`` ``（1）``, Markdown ``#``, Word heading styles)
split it into a tree of sections; the leaves are practices. Plain text and Word files have no
front matter, so their title, issuing unit, author and date are read from the lines that state them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ImportRejected
from .model import ParsedSection, Section

# What one document may hold: far above any report, far below what costs memory or time.
MAX_LINES = 500_000
MAX_SECTIONS = 20_000

_CN_NUM = "一二三四五六七八九十百零〇"
HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^[{_CN_NUM}]{{1,4}}[、．.](?![{_CN_NUM}])")),  # not "一、二季度…"
    (1, re.compile(r"^【[^】]{1,20}】$")),
    (2, re.compile(rf"^[（(][{_CN_NUM}]{{1,4}}[）)]")),
    (3, re.compile(r"^\d{1,3}(?:[、．]|\.(?!\d))")),
    (4, re.compile(r"^(?:[（(]\d{1,3}[）)]|[①-⑳])")),
)
# The hashes of a Markdown heading, then whitespace; the text and its closing hashes are taken in
# Python (``(.*?)\s*#*\s*$`` backtracks cubically on a long run of spaces inside the text).
_MD_HEADING = re.compile(r"(#{1,6})\s")
_SENTENCE_END = "。！？；：:!?;"
_MAX_PURE_HEADING = 40

_DEBRIS = (
    re.compile(r"^[-—–－_\s]*\d{1,3}[-—–－_\s]*$"),  # "- 2 -", "— 3 —", "12" (not a year)
    re.compile(r"^第\s*\d+\s*[页頁](?:(?:\s*[,，/])?\s*共\s*\d+\s*[页頁])?$"),  # no \s*x?\s*: quadratic
    re.compile(r"^共\s*\d+\s*[页頁]\s*第\s*\d+\s*[页頁]$"),
    re.compile(r"^(?:page|p\.)\s*\d+(?:\s*(?:of|/)\s*\d+)?$", re.IGNORECASE),
    re.compile(r"^\d+\s*/\s*\d+$"),
    re.compile(r"^[-—–－_=*·.。\s]{3,}$"),  # separator rules
)
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
_DATE_LINE = re.compile(r"^[（(]?\s*\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?\s*[）)]?$")
# Author lines: "作者：…", "（执笔：…）", "（作 者：…）" (a space, also U+3000, inside the label),
# "[执笔：…]", "【作者】…". Linear-time by construction: the spaces inside a label are bounded
# ({0,3}), every run of \s* is followed by a literal, and the name is taken greedily to the end
# of the line and trimmed in Python (a lazy name followed by \s* and an optional bracket is
# quadratic on long runs of spaces).
_OPEN, _CLOSE = "（(【〔［[", "）)】〕］]"
_GAP = r"[ \t\u3000]{0,3}"
_LABEL = rf"(?:作{_GAP}者|执{_GAP}笔(?:{_GAP}人)?|撰{_GAP}稿(?:{_GAP}人)?|供{_GAP}稿)"
_OPENER = rf"[{re.escape(_OPEN)}]"
_CLOSER = rf"[{re.escape(_CLOSE)}]"
_AUTHOR = re.compile(rf"^{_OPENER}?\s*{_LABEL}\s*[:：](.*)$")
_AUTHOR_TAG = re.compile(rf"^{_OPENER}\s*{_LABEL}\s*{_CLOSER}[:：]?(.*)$")
_AUTHOR_UNIT = re.compile(rf"^{_OPENER}?\s*(?:作者单位|供稿单位|报送单位)\s*[:：](.*)$")


@dataclass
class Line:
    """A paragraph of source text; ``level`` is set when a Word style already says it is a heading."""

    text: str
    level: int | None = None
    is_title: bool = False


def heading_level(text: str) -> int | None:
    """The heading level of a line by its numbering, or None for a plain paragraph."""
    for level, pattern in HEADING_PATTERNS:
        if pattern.match(text):
            return level
    return None


def split_heading(text: str) -> tuple[str, str]:
    """Split ``1、建立服务联盟。围绕……`` into the heading and the text that follows it on the line."""
    if len(text) <= _MAX_PURE_HEADING and not any(p in text[:-1] for p in _SENTENCE_END):
        return text.rstrip(_SENTENCE_END), ""
    marker = next((p.match(text) for _, p in HEADING_PATTERNS if p.match(text)), None)
    begin = marker.end() if marker else 0
    for i in range(begin, len(text)):
        if text[i] in _SENTENCE_END:
            head, rest = text[:i].strip(), text[i + 1 :].strip()
            if head:
                return head, rest
    return text, ""


def is_debris(text: str) -> bool:
    """Page numbers, "第 2 页 共 3 页" and rules left over from PDF or Word conversion."""
    return any(p.match(text) for p in _DEBRIS)


def clean_lines(raw: str) -> list[str]:
    """Split text into stripped, non-empty lines with page debris removed."""
    raw = raw.replace("\f", "\n").replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for line in raw.split("\n"):
        line = line.strip().strip("\u3000\ufeff").strip()
        if line and not is_debris(line):
            out.append(line)
            if len(out) > MAX_LINES:
                raise ImportRejected(f"文档的行数过多（超过 {MAX_LINES:,} 行）")
    return out


def parse_date(text: str) -> str | None:
    """``2022年3月5日`` → ``2022-03-05``; ``2022年3月`` → ``2022-03``."""
    m = _DATE.search(text)
    if not m:
        return None
    year, month, day = m.group(1), int(m.group(2)), m.group(3)
    try:
        dt.date(int(year), month, int(day or 1))
    except ValueError:
        return None
    return f"{year}-{month:02d}-{int(day):02d}" if day else f"{year}-{month:02d}"


def infer_front(lines: list[Line]) -> tuple[dict[str, str], list[Line]]:
    """Take the title, unit, date and author lines off a headerless document.

    Returns the inferred fields and the remaining body lines.
    """
    found: dict[str, str] = {}
    if not lines:
        return found, []
    title_at = next((i for i, ln in enumerate(lines) if ln.is_title), 0)
    head, body = list(lines[:title_at]), list(lines[title_at + 1 :])
    found["title"] = lines[title_at].text.lstrip("#").strip()
    # A subtitle such as "——临江区的做法" continues the title.
    if body and body[0].text.startswith(("——", "--")) and body[0].level is None:
        found["title"] += body.pop(0).text
    # Short lines right under the title: the issuing unit, the date, sometimes the author.
    for _ in range(3):
        if not body or body[0].level is not None or heading_level(body[0].text) is not None:
            break
        if not _take_front_line(body[0].text, found, under_title=True):
            break
        body.pop(0)
    # Closing lines: the author ("作者：…" / "（执笔：…）"), the author's unit, a date.
    for _ in range(3):
        if not body or not _take_front_line(body[-1].text, found, under_title=False):
            break
        body.pop()
    body = head + body
    return {k: v for k, v in found.items() if v}, body


def _take_front_line(text: str, found: dict[str, str], under_title: bool) -> bool:
    """Record ``text`` as the date, author or unit when it is one; False when it is body text."""
    if _DATE_LINE.match(text) and "date" not in found:
        found["date"] = parse_date(text) or ""
    elif "author" not in found and (name := _labelled(text, _AUTHOR, _AUTHOR_TAG)):
        found["author"] = name
    elif "unit" not in found and (name := _labelled(text, _AUTHOR_UNIT)):
        found["unit"] = name
    elif under_title and "unit" not in found and len(text) <= 40 and not any(p in text for p in "。！？；，,"):
        found["unit"] = text
    else:
        return False
    return True


def _labelled(text: str, *patterns: re.Pattern[str]) -> str | None:
    """The value of a labelled line (``作者：张三`` → ``张三``), without a closing bracket that
    belongs to the line rather than the value; None when no pattern matches or nothing follows."""
    m = next((m for p in patterns if (m := p.match(text))), None)
    if m is None:
        return None
    value = m.group(1).strip()
    if value and value[-1] in _CLOSE and sum(value.count(c) for c in _CLOSE) > sum(
            value.count(c) for c in _OPEN):
        value = value[:-1]
    return " ".join(value.split()) or None


def build_sections(lines: list[Line]) -> tuple[str, list[ParsedSection]]:
    """Join body lines into the stored body text and split it into a section tree."""
    sections: list[ParsedSection] = []
    stack: list[ParsedSection] = []
    parts: list[str] = []
    offset = 0
    current: ParsedSection | None = None
    current_text: list[str] = []

    def close(end: int) -> None:
        if current is not None:
            current.text = "\n".join(current_text)
            current.end = end

    for line in lines:
        text = line.text
        level = line.level if line.level is not None else heading_level(text)
        start = offset
        parts.append(text)
        offset += len(text) + 1
        if level is None:
            if current is None:
                current = ParsedSection(ord=0, level=0, heading="", path=[], text="", start=start)
                sections.append(current)
            current_text.append(text)
            continue
        close(start - 1)
        if len(sections) >= MAX_SECTIONS:
            raise ImportRejected(f"文档的标题过多（超过 {MAX_SECTIONS:,} 个）")
        heading, rest = split_heading(text)
        while stack and stack[-1].level >= level:
            stack.pop()
        parent = stack[-1] if stack else None
        current = ParsedSection(
            ord=len(sections),
            level=level,
            heading=heading,
            path=(parent.path if parent else []) + [heading],
            text="",
            parent=parent.ord if parent else None,
            start=start,
        )
        current_text = [rest] if rest else []
        sections.append(current)
        stack.append(current)
    close(max(offset - 1, 0))
    has_children = {s.parent for s in sections if s.parent is not None}
    has_headings = any(s.level > 0 for s in sections)
    for s in sections:
        if s.level == 0:
            s.is_practice = not has_headings and bool(s.text)
        else:
            s.is_practice = s.ord not in has_children and bool(s.text)
    return "\n".join(parts), sections


def markdown_lines(content: str) -> list[Line]:
    """Lines of a Markdown body; ``#`` headings keep their numbering level when they have one."""
    out = []
    for text in clean_lines(content):
        if re.fullmatch(r"#{1,6}", text):
            continue  # an empty heading
        m = _MD_HEADING.match(text)
        if m:
            inner = text[m.end():].rstrip().rstrip("#").rstrip().replace("**", "").strip()
            if inner:
                out.append(Line(inner, heading_level(inner) or len(m.group(1))))
            continue
        out.append(Line(text.replace("**", "").replace("__", "")))
    return out


# --------------------------------------------------------------- heading-only sections
AnySection = ParsedSection | Section | Mapping[str, Any]  # parsed, stored, or as JSON


def _field(section: AnySection, name: str) -> Any:
    return section[name] if isinstance(section, Mapping) else getattr(section, name)


def is_heading_only(section: AnySection) -> bool:
    """A heading with no text of its own (``二、主要做法`` directly followed by ``（一）…``)."""
    return bool(_field(section, "heading")) and not str(_field(section, "text") or "").strip()


def first_text_descendant(sections: Sequence[AnySection], ord_: int) -> int | None:
    """The ``ord`` of the first section below ``ord_`` (in document order) that has text of its
    own, or None when nothing below it has text. Works on :class:`~kb.model.ParsedSection` and
    :class:`~kb.model.Section` objects and on section dicts."""
    parent_of = {_field(s, "ord"): _field(s, "parent") for s in sections}
    for s in sorted(sections, key=lambda s: _field(s, "ord")):
        if _field(s, "ord") <= ord_ or not str(_field(s, "text") or "").strip():
            continue
        up = _field(s, "parent")
        seen: set[int] = set()
        while up is not None and up != ord_ and up not in seen:
            seen.add(up)
            up = parent_of.get(up)
        if up == ord_:
            return int(_field(s, "ord"))
    return None


def _first_text_descendants(sections: Sequence[AnySection]) -> dict[int, int]:
    """:func:`first_text_descendant` of every section at once, in time linear in the sections
    times the depth (calling it per section is quadratic: a file of many empty headings)."""
    parent_of = {_field(s, "ord"): _field(s, "parent") for s in sections}
    firsts: dict[int, int] = {}
    for s in sorted(sections, key=lambda s: _field(s, "ord")):
        if not str(_field(s, "text") or "").strip():
            continue
        ord_ = _field(s, "ord")
        up = _field(s, "parent")
        seen: set[int] = set()
        while up is not None and up not in seen:
            seen.add(up)
            if up < ord_ and up not in firsts:
                firsts[up] = int(ord_)
            up = parent_of.get(up)
    return firsts


def fold_heading_only(sections: Sequence[AnySection]) -> dict[int, int | None]:
    """Map each heading-only section's ``ord`` to the ``ord`` of the section it folds into.

    That is its first descendant with text (document order); if nothing below it has text, the
    section its parent folds into (the parent itself when the parent has text); None when no
    ancestor leads anywhere either. Sections with text of their own are not in the map. Search
    can use it to show a heading-only hit as the passage it introduces; pearl strings fold a
    heading-only section into its first descendant with text (and refuse it without one).
    """
    by_ord = {_field(s, "ord"): s for s in sections}
    firsts = _first_text_descendants(sections)
    out: dict[int, int | None] = {}

    def target(ord_: int, depth: int = 0) -> int | None:
        section = by_ord.get(ord_)
        if section is None or depth > len(by_ord):
            return None
        if not is_heading_only(section):
            return ord_
        below = firsts.get(ord_)
        if below is not None:
            return below
        parent = _field(section, "parent")
        return target(parent, depth + 1) if parent is not None else None

    for s in sections:
        if is_heading_only(s):
            out[_field(s, "ord")] = target(_field(s, "ord"))
    return out
