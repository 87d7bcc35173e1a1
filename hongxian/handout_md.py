"""A handout as Markdown: the same parts as the PDF and the Word file, as plain text."""

from __future__ import annotations

import re

from .handouts import SITE_NAME, Outline, Part

_LEADING_MARK = re.compile(r"^([#>+*\-=]|\d+[.)])")  # would start a heading, quote or list
_COMMENTARY_HEADING = re.compile(r"^(#{1,6})(?=\s)", re.M)


def _text(line: str) -> str:
    """A paragraph of the source as Markdown text: a leading mark is escaped."""
    return _LEADING_MARK.sub(lambda m: "\\" + m.group(1), line)


def _commentary(text: str) -> str:
    """The curator's Markdown, its headings put below the part's own (``#`` → ``####``)."""
    return _COMMENTARY_HEADING.sub(lambda m: "#" * min(len(m.group(1)) + 3, 6), text)


def _source(outline: Outline, part: Part) -> str:
    if outline.kind != "pearls":
        return ""
    where = f"《{part.source}》" + (f"，{part.source_details}" if part.source_details else "")
    ref = f" [{part.reference}]" if part.reference else ""
    missing = "（原文已不在知识库中）" if part.missing else ""
    return f"*出自{where}{ref}{missing}*"


def to_markdown(outline: Outline) -> str:
    """The handout as Markdown: cover, contents, introduction, parts, references."""
    out = [f"# {outline.title}", "", f"*{outline.kicker}*", ""]
    if outline.theme:
        out += [f"> {line}" for line in outline.theme.splitlines()] + [""]
    facts = [f"{label}：{value}" for label, value in outline.facts if value]
    if outline.draft:
        facts.append("（草稿）")
    if facts:
        out += ["  \n".join(facts), ""]
    out += [f"{SITE_NAME}", "", "## 目录", ""]
    for part in outline.contents:
        source = f"（《{part.source}》）" if outline.kind == "pearls" and part.source != part.heading else ""
        if part.level == 1:  # an ordered list whose numbers are the handout's own
            out.append(f"{part.number}. {part.heading}{source}")
        else:
            out.append(f"{'   ' * (part.level - 1)}- {part.title}")
    out.append("")
    if outline.intro:
        out += ["## 导言", "", outline.intro, ""]
    if outline.lead:
        out += ["## 导语", ""] + [p for line in outline.lead for p in (_text(line), "")]
    for part in outline.parts:
        out += [f"{'#' * min(part.level + 1, 6)} {part.title}", ""]
        source = _source(outline, part)
        if source:
            out += [source, ""]
        if outline.kind == "pearls" and part.path:
            out += ["位置：" + " › ".join(part.path), ""]
        if part.commentary:
            out += ["**编者点评**", "", _commentary(part.commentary), ""]
        for line in part.paragraphs:
            out += [_text(line), ""]
    if outline.references:
        out += ["## 参考文献", ""]
        out += [f"[{n}] {ref}  " for n, ref in enumerate(outline.references, start=1)]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
