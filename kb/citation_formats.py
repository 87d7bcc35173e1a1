"""RIS and BibTeX forms of a document's reference, for Zotero, EndNote and NoteExpress.

The elements come from :class:`kb.citation.Reference` (the same rules as the GB/T 7714 line).
RIS (``TY`` … ``ER``) is written with CRLF line ends, as RIS readers expect; authors are one
``AU`` line each, as written (Latin names surname first: ``Smith, John``). BibTeX entries are
``@techreport`` (reports, compilations, internal material: ``institution``, ``address``),
``@article`` (journals, newspapers: ``journal``), ``@online`` (web pages, with ``urldate``);
braces and backslashes in values are escaped, authors joined by ``and``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping

from .citation import (
    COMPILATION,
    JOURNAL,
    NEWSPAPER,
    OTHER,
    WEB_PAGE,
    Reference,
    doc_id_of,
    is_latin,
    latin_parts,
)

__all__ = ["bibtex", "export", "ris"]

RIS_TYPES = {JOURNAL: "JOUR", NEWSPAPER: "NEWS", WEB_PAGE: "ELEC", COMPILATION: "GEN", OTHER: "GEN"}
BIB_TYPES = {JOURNAL: "article", NEWSPAPER: "article", WEB_PAGE: "online"}


def _ris_author(name: str) -> str:
    """An author as reference managers read it: ``Smith, John`` (Chinese names as written)."""
    if not is_latin(name):
        return name
    family, given = latin_parts(name)
    return f"{family}, {' '.join(given)}" if given else name


def _one_line(value: str) -> str:
    return " ".join(value.split())


def ris(ref: Reference) -> str:
    """One RIS record (ending with ``ER  - `` and CRLF)."""
    extra = ref.extra
    lines = [("TY", RIS_TYPES.get(ref.code, "RPRT"))]
    lines += [("AU", _ris_author(n)) for n in ref.names]
    if not ref.names and ref.unit:
        lines.append(("A2" if ref.code == WEB_PAGE else "AU", ref.unit))
    lines.append(("TI", ref.title))
    if ref.container:
        lines.append(("T2" if ref.code == JOURNAL else "JO", ref.container))
    if ref.year:
        lines.append(("PY", ref.year))
    if ref.date:
        lines.append(("DA", ref.date.replace("-", "/")))
    for tag, key in (("VL", "volume"), ("IS", "issue")):
        if extra.get(key):
            lines.append((tag, str(extra[key])))
    pages = str(extra.get("pages") or extra.get("page") or "")
    if pages:
        start, _, end = pages.partition("-")
        lines.append(("SP", start))
        if end:
            lines.append(("EP", end))
    if ref.unit and ref.code not in (JOURNAL, NEWSPAPER):
        lines.append(("PB", ref.unit))
    if ref.place:
        lines.append(("CY", ref.place))
    if ref.url:
        lines += [("UR", ref.url), ("Y2", ref.accessed.isoformat().replace("-", "/"))]
    lines.append(("LA", "en" if ref.latin else "zh"))
    body = "".join(f"{tag}  - {_one_line(value)}\r\n" for tag, value in lines if value)
    return body + "ER  - \r\n"


def _bib_value(value: str) -> str:
    value = _one_line(value).replace("\\", "\\textbackslash{}")
    return re.sub(r"([{}])", r"\\\1", value).replace("\\textbackslash\\{\\}", "\\textbackslash{}")


def _bib_key(ref: Reference, doc_id: str) -> str:
    key = re.sub(r"[^A-Za-z0-9_-]+", "-", doc_id).strip("-") or "ref"
    return f"{key}-{ref.year}" if ref.year else key


def bibtex(ref: Reference, doc_id: str) -> str:
    """One BibTeX entry; its key is made from the document id (and year)."""
    kind = BIB_TYPES.get(ref.code, "techreport")
    fields: list[tuple[str, str]] = [("title", ref.title)]
    if ref.names:
        fields.append(("author", " and ".join(_ris_author(n) for n in ref.names)))
    elif ref.unit:
        fields.append(("author", "{" + ref.unit + "}"))
    if ref.container:
        fields.append(("journal", ref.container))
    if ref.code not in (JOURNAL, NEWSPAPER, WEB_PAGE) and ref.unit:
        fields.append(("institution", ref.unit))
    if ref.place and kind == "techreport":
        fields.append(("address", ref.place))
    if ref.year:
        fields.append(("year", ref.year))
    if ref.date and ref.code in (NEWSPAPER, WEB_PAGE):
        fields.append(("date", ref.date))
    extra = ref.extra
    for name, key in (("volume", "volume"), ("number", "issue"), ("pages", "pages")):
        if extra.get(key):
            fields.append((name, str(extra[key]).replace("-", "--")))
    if ref.url:
        fields += [("url", ref.url), ("urldate", ref.accessed.isoformat())]
    fields.append(("langid", "english" if ref.latin else "chinese"))
    body = ",\n".join(
        f"  {name} = {{{value if name == 'author' and value.startswith('{') else _bib_value(value)}}}"
        for name, value in fields)
    return f"@{kind}{{{_bib_key(ref, doc_id)},\n{body}\n}}\n"


def export(docs: Iterable[object], fmt: str, url_of: Mapping[str, str] | None = None,
           accessed: datetime.date | None = None) -> str:
    """The references of ``docs`` (each once, in the order of :func:`kb.citation.reference_list`)
    as one RIS file (``fmt="ris"``) or BibTeX file (``fmt="bibtex"``)."""
    url_of = url_of or {}
    seen: dict[str, Reference] = {}
    for doc in docs:
        doc_id = doc_id_of(doc)
        if doc_id not in seen:
            seen[doc_id] = Reference(doc, url=url_of.get(doc_id), accessed=accessed)  # type: ignore[arg-type]
    ordered = sorted(seen.items(), key=lambda item: item[1].sort_key())
    if fmt == "ris":
        return "\r\n".join(ris(ref) for _, ref in ordered)
    if fmt == "bibtex":
        return "\n".join(bibtex(ref, doc_id) for doc_id, ref in ordered)
    raise ValueError(fmt)
