"""GB/T 7714—2015 (信息与文献 参考文献著录规则) references for documents in the knowledge base.

The input is a :class:`kb.model.Document`, or a mapping with the same keys (only ``title``,
``type``, ``unit``, ``author``, ``date``, ``year``, ``region``, ``source`` and ``extra`` are read),
and the output is one line a teacher can paste into a handout, for example::

    周明远. 以学会为枢纽 汇聚区域党建合力——临江区凝聚力工程学会工作经验[R]. 海州: 临江区凝聚力工程学会, 2021.

Decisions (GB/T 7714—2015 leaves some of these to the cataloguer):

* **Type codes** (:data:`DOC_TYPE_CODES`, our ``type`` → the standard's code):

  ============================================  ======  =========================================
  ``type``                                      code    form
  ============================================  ======  =========================================
  经验材料, 案例, 调研报告, 工作报告, 报告       [R]     责任者. 题名[R]. 出版地: 出版者, 出版年.
  理论文章, 期刊文章, 论文 (with                 [J]     作者. 题名[J]. 刊名, 年, 卷(期): 页码.
  ``extra.journal``; without it a report)
  报纸文章, 新闻报道, 新闻, 评论 (with           [N]     作者. 题名[N]. 报纸名, 出版日期(版次).
  ``extra.newspaper``, else ``source``;
  without either a report)
  网页, 网络文章, 网文                           [EB/OL] 责任者. 题名[EB/OL]. (发布日期)[引用日期]. URL.
  汇编, 资料汇编, 文件汇编                       [G]     责任者. 题名[G]. 出版地: 出版者, 出版年.
  内部资料, 其他                                 [Z]     责任者. 题名[Z]. 出版地: 出版者, 出版年.
  ============================================  ======  =========================================

  An unknown or missing type is a report, the kind of grey literature we mostly store. With a URL
  the codes become online ones (``[R/OL]``, ``[J/OL]``, ``[N/OL]``, ``[G/OL]``, ``[Z/OL]``): the
  access date follows the year (or the newspaper's date) in brackets, then the URL. A web page's
  URL is its own (``extra.url``, or ``source`` when that is a web address), else the one given;
  the access date defaults to today.
* **Punctuation** follows the 2015 edition: half-width ``. `` ``: `` ``, `` between elements,
  also in Chinese references, and every reference ends with an ASCII full stop ``.`` (never
  ``。``). A full stop is not added after an element that already ends with one.
* **Responsibility.** The author(s) if known, else the issuing unit, else ``佚名`` (``Anon`` in a
  Latin reference). Authors are split on 、 , ， ; ； and " and "/``&`` (Latin), at most three are
  listed, separated by ``, ``, then ``, 等`` — or ``, et al.`` when the first author is written in
  Latin letters. Chinese names stay as written. Latin names written "Given Family"
  (``John Smith``, ``Mary Ann Lee``) are inverted to the standard's surname first, surname in
  capitals and given names as initials without dots (``SMITH J``, ``LEE M A``); a name already in
  that form (``SMITH J``) is kept. When the unit stands in for the author it is still repeated as
  the publisher, as GB/T 7714 does for corporate authors.
* **Title** is kept verbatim (including a "——" subtitle), except that a trailing separator
  (``.`` ``。`` ``:`` ``,`` ``;`` ``、`` or a dash) is dropped; a trailing ``？``/``！`` is kept.
* **Place of publication** (出版地) is the city: the first component of ``region``
  (``海州市/临江区/新华街道`` → ``海州市``), skipping a leading province-level component
  (…省, …自治区, …特别行政区) when a city follows it. A trailing 市/县/区 is dropped when at least
  two characters remain (海州市 → 海州, but 沙市 stays). No region → ``[出版地不详]``; no unit →
  ``[出版者不详]`` (``[S.l.]`` / ``[s.n.]`` in a Latin reference).
* **Year** only, from ``date`` (first four digits) or else ``year``; no year → ``[出版年不详]``
  (``[s.a.]``). A newspaper and a web page carry the full date (``2024-03-05``) when known.
* **Reference lists** (:func:`reference_list`) follow 著者-出版年制 (9.3.2): Chinese references
  first, then Latin ones; within each, by author (Chinese by the pinyin of the responsibility,
  from ``pypinyin``; Latin alphabetically), then year, then title; a reference listed twice is
  listed once.
* **Practices.** GB/T 7714 cites the whole document, not a section of it, so
  :func:`cite_practice` returns the document's reference.

RIS and BibTeX forms of the same data are in :mod:`kb.citation_formats`.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pypinyin import Style, lazy_pinyin

if TYPE_CHECKING:
    from .model import Document, Section

__all__ = ["DOC_TYPE_CODES", "Reference", "cite", "cite_practice", "describe", "reference_list",
           "type_code"]

REPORT = "R"
JOURNAL = "J"
NEWSPAPER = "N"
WEB_PAGE = "EB"
COMPILATION = "G"
OTHER = "Z"

DOC_TYPE_CODES: Mapping[str, str] = MappingProxyType({
    **dict.fromkeys(("经验材料", "案例", "调研报告", "工作报告", "报告"), REPORT),
    # [J] only when extra["journal"] is known, [N] only with a newspaper; else a report.
    **dict.fromkeys(("理论文章", "期刊文章", "论文"), JOURNAL),
    **dict.fromkeys(("报纸文章", "新闻报道", "新闻", "评论"), NEWSPAPER),
    **dict.fromkeys(("网页", "网络文章", "网文"), WEB_PAGE),
    **dict.fromkeys(("汇编", "资料汇编", "文件汇编"), COMPILATION),
    **dict.fromkeys(("内部资料", "其他"), OTHER),
})
"""Our document type → GB/T 7714 document type code (without brackets; ``EB`` is ``EB/OL``)."""

DOCUMENT_TYPES: tuple[str, ...] = tuple(DOC_TYPE_CODES)
"""The document types the citation rules know, for forms that offer a choice."""

ANONYMOUS = "佚名"
NO_PLACE = "[出版地不详]"
NO_PUBLISHER = "[出版者不详]"
NO_YEAR = "[出版年不详]"
LATIN_BLANKS = {ANONYMOUS: "Anon", NO_PLACE: "[S.l.]", NO_PUBLISHER: "[s.n.]", NO_YEAR: "[s.a.]"}
MAX_AUTHORS = 3

_AUTHOR_SEPARATORS = re.compile(r"[、,，;；]|\s+and\s+|\s*&\s*")
_REGION_SEPARATORS = re.compile(r"[/／]")
_LATIN = re.compile(r"^[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f.'’\- ]*$")
_INVERTED = re.compile(r"^[A-Z\u00c0-\u00de][A-Z\u00c0-\u00de'’\-]+( [A-Z]{1,2})+$")  # SMITH J, LEE M A
_URL = re.compile(r"^https?://\S+$")
_PROVINCIAL = ("省", "自治区", "特别行政区")
_CITY_SUFFIXES = ("市", "县", "区", "縣", "區")
_TRAILING_SEPARATORS = ".。．:：,，;；、—–- \t\u3000"
_TERMINAL = (".", "。", "．", "?", "？", "!", "！")


def _text(value: object) -> str | None:
    """A stripped, non-empty string, or None."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _get(doc: Document | Mapping[str, object], name: str) -> object:
    return doc.get(name) if isinstance(doc, Mapping) else getattr(doc, name, None)


def _extra(doc: Document | Mapping[str, object]) -> Mapping[str, object]:
    extra = _get(doc, "extra")
    return extra if isinstance(extra, Mapping) else {}


def is_latin(name: str) -> bool:
    """Whether a name (or title) is written in Latin letters."""
    return bool(_LATIN.match(name.strip()))


def latin_parts(name: str) -> tuple[str, list[str]]:
    """A Latin personal name as (surname, given names or initials): ``John Smith`` → ``("Smith",
    ["John"])``; a name already written surname first (``SMITH J``, ``Smith J``, ``LI M``) is
    read that way."""
    parts = name.replace(".", " ").split()
    if len(parts) < 2:
        return (parts[0] if parts else name), []
    if _INVERTED.match(" ".join(parts)) or (
            len(parts[0]) > 2 and all(len(p) <= 2 and p.isupper() for p in parts[1:])):
        return parts[0], parts[1:]
    return parts[-1], parts[:-1]


def latin_name(name: str) -> str:
    """A Latin personal name in the standard's form: ``John Smith`` → ``SMITH J``."""
    family, given = latin_parts(name)
    initials = " ".join(p[0].upper() for g in given for p in g.split("-") if p)
    return f"{family.upper()} {initials}" if initials else family.upper()


def authors(doc: Document | Mapping[str, object]) -> list[str]:
    """The document's authors as written, split on the separators the module docstring names."""
    text = _text(_get(doc, "author"))
    if text is None:
        return []
    return [name.strip() for name in _AUTHOR_SEPARATORS.split(text) if name and name.strip()]


class Reference:
    """The elements of one reference, worked out once (for the GB/T 7714 line, RIS and BibTeX)."""

    def __init__(self, doc: Document | Mapping[str, object], url: str | None = None,
                 accessed: datetime.date | None = None) -> None:
        self.doc = doc
        self.code = type_code(doc)
        self.names = authors(doc)
        self.latin = bool(self.names) and is_latin(self.names[0])
        self.unit = _text(_get(doc, "unit"))
        self.title = _title(doc)
        self.year = _year(doc)
        self.date = _full_date(doc)
        self.place = _place(_get(doc, "region"))
        self.extra = extra = _extra(doc)
        self.container = (_text(extra.get("journal")) if self.code == JOURNAL else
                          _newspaper(doc) if self.code == NEWSPAPER else None)
        own = _text(extra.get("url")) or (_text(_get(doc, "source")) if _URL.match(
            _text(_get(doc, "source")) or "") else None)
        self.url = (own or _text(url)) if self.code == WEB_PAGE else _text(url)
        when = accessed or datetime.date.today()
        self.accessed = when.date() if isinstance(when, datetime.datetime) else when

    def blank(self, text: str) -> str:
        return LATIN_BLANKS.get(text, text) if self.latin else text

    @property
    def responsibility(self) -> str:
        if self.names:
            shown = [latin_name(n) if is_latin(n) else n for n in self.names[:MAX_AUTHORS]]
            more = (", et al" if self.latin else ", 等") if len(self.names) > MAX_AUTHORS else ""
            return ", ".join(shown) + more
        return self.unit or self.blank(ANONYMOUS)

    @property
    def code_label(self) -> str:
        if self.code == WEB_PAGE:
            return "EB/OL"
        return f"{self.code}/OL" if self.url else self.code

    def line(self) -> str:
        head = f"{_end(self.responsibility)} {self.title}[{self.code_label}]. "
        year = self.year or self.blank(NO_YEAR)
        if self.code == JOURNAL:
            body = _journal_tail(self.doc, year)
        elif self.code == NEWSPAPER:
            page = _text(_extra(self.doc).get("page"))
            body = f"{self.container}, {self.date or year}" + (f"({page})" if page else "")
        elif self.code == WEB_PAGE:
            body = f"({self.date or year})" if (self.date or self.year) else ""
        else:
            publisher = self.unit or self.blank(NO_PUBLISHER)
            place = self.place or self.blank(NO_PLACE)
            body = f"{place}: {publisher}, {year}"
        if self.url:
            body += f"[{self.accessed.isoformat()}]. {self.url}"
        elif self.code == WEB_PAGE:
            body += f"[{self.accessed.isoformat()}]"
        return _end(head + body)

    def sort_key(self) -> tuple[int, str, str, str]:
        """著者-出版年制: Chinese first, then Latin; by author (pinyin), year, title."""
        who = self.responsibility
        spelled = who.lower() if self.latin else " ".join(lazy_pinyin(who, style=Style.NORMAL))
        return (1 if self.latin else 0, spelled, self.year or "", self.title)


def _title(doc: Document | Mapping[str, object]) -> str:
    title = _text(_get(doc, "title")) or ""
    return title.rstrip(_TRAILING_SEPARATORS) or title


def _place(region: object) -> str | None:
    text = _text(region)
    parts = [p.strip() for p in _REGION_SEPARATORS.split(text or "") if p.strip()]
    if not parts:
        return None
    place = parts[0]
    if place.endswith(_PROVINCIAL) and len(parts) > 1:
        place = parts[1]
    if place.endswith(_PROVINCIAL[1:]):  # 广西壮族自治区 is not "广西壮族自治"
        return place
    if place.endswith(_CITY_SUFFIXES + ("省",)) and len(place) - 1 >= 2:
        return place[:-1]
    return place


def _year(doc: Document | Mapping[str, object]) -> str | None:
    date = _text(_get(doc, "date"))
    if date is not None:
        match = re.match(r"\d{4}", date)
        if match:
            return match.group()
    year = _text(_get(doc, "year"))
    return year if year is not None and year.isdigit() else None


def _full_date(doc: Document | Mapping[str, object]) -> str | None:
    date = _text(_get(doc, "date"))
    match = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", date or "")
    if not match:
        return None
    y, m, d = match.groups()
    return f"{y}-{int(m):02d}-{int(d):02d}"


def _newspaper(doc: Document | Mapping[str, object]) -> str | None:
    source = _text(_get(doc, "source"))
    if source is not None and _URL.match(source):
        source = None
    return _text(_extra(doc).get("newspaper")) or source


def type_code(doc: Document | Mapping[str, object]) -> str:
    """The GB/T 7714 type code that :func:`cite` uses for ``doc``: ``R``, ``J``, ``N``, ``EB``
    (web page, cited as ``[EB/OL]``), ``G`` or ``Z``."""
    code = DOC_TYPE_CODES.get(_text(_get(doc, "type")) or "", REPORT)
    if code == JOURNAL and _text(_extra(doc).get("journal")) is None:
        return REPORT
    if code == NEWSPAPER and _newspaper(doc) is None:
        return REPORT
    return code


def _end(text: str) -> str:
    """Close a reference with a full stop unless it already ends with terminal punctuation."""
    return text if text.endswith(_TERMINAL) else text + "."


def _journal_tail(doc: Document | Mapping[str, object], year: str) -> str:
    extra = _extra(doc)
    journal = _text(extra.get("journal")) or ""
    volume, issue, pages = (_text(extra.get(k)) for k in ("volume", "issue", "pages"))
    issue_part = f"({issue})" if issue else ""
    tail = f"{journal}, {year}, {volume}{issue_part}" if volume else f"{journal}, {year}{issue_part}"
    return f"{tail}: {pages}" if pages else tail


def doc_id_of(doc: Document | Mapping[str, object]) -> str:
    """The id of a document (a :class:`kb.model.Document` or a mapping like its JSON)."""
    return str(_get(doc, "doc_id") or _get(doc, "id") or "")


def describe(doc: Document | Mapping[str, object], url: str | None = None,
             accessed: datetime.date | None = None) -> Reference:
    """The worked-out elements of ``doc``'s reference (see :class:`Reference`)."""
    return Reference(doc, url=url, accessed=accessed)


def cite(doc: Document | Mapping[str, object], url: str | None = None,
         accessed: datetime.date | None = None) -> str:
    """The GB/T 7714—2015 reference of a document.

    ``doc`` is a :class:`kb.model.Document` (or a mapping like its JSON). With ``url`` the reference
    is an online one (``[R/OL]``, ``[J/OL]`` …) and ends with the access date (``accessed``,
    default today) in brackets and the URL. See the module docstring for the rules.
    """
    return Reference(doc, url=url, accessed=accessed).line()


def reference_list(docs: Iterable[Document | Mapping[str, object]],
                   url_of: Mapping[str, str] | None = None,
                   accessed: datetime.date | None = None) -> list[str]:
    """The references of ``docs`` sorted as a 著者-出版年制 list, each once. ``url_of`` maps a
    document id to its online address (for the online form)."""
    url_of = url_of or {}
    refs = [Reference(d, url=url_of.get(doc_id_of(d)), accessed=accessed) for d in docs]
    out: list[str] = []
    for ref in sorted(refs, key=Reference.sort_key):
        line = ref.line()
        if line not in out:
            out.append(line)
    return out


def cite_practice(doc: Document | Mapping[str, object], section: Section | Mapping[str, object],
                  url: str | None = None, accessed: datetime.date | None = None) -> str:
    """The reference for one practice (a section of ``doc``).

    GB/T 7714 cites whole documents, so this is the document's reference, :func:`cite`;
    ``section`` is accepted, and currently unused, so callers can switch to a finer reference
    later without changing their calls.
    """
    return cite(doc, url=url, accessed=accessed)
