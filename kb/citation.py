"""GB/T 7714-2015 (信息与文献 参考文献著录规则) references for documents in the knowledge base.

The input is a :class:`kb.model.Document`, or a mapping with the same keys (only ``title``,
``type``, ``unit``, ``author``, ``date``, ``year``, ``region`` and ``extra`` are read), and the
output is one line a teacher can paste into a handout, for example::

    周明远. 以学会为枢纽 汇聚区域党建合力——临江区凝聚力工程学会工作经验[R]. 海州: 临江区凝聚力工程学会, 2021.

Decisions (GB/T 7714-2015 leaves some of these to the cataloguer):

* **Type codes** (:data:`DOC_TYPE_CODES`). 经验材料, 案例 and 调研报告 are reports, ``[R]``.
  理论文章 is a journal article, ``[J]``, only when ``extra`` names the journal (``journal``);
  without it we cannot fill the journal elements, so it is cited as a report as well. An unknown
  or missing type is a report. With a URL the codes become ``[R/OL]`` / ``[J/OL]``.
* **Punctuation** follows the 2015 edition: half-width ``. `` ``: `` ``, `` between elements,
  also in Chinese references, and every reference ends with an ASCII full stop ``.`` (never
  ``。``). A full stop is not added after an element that already ends with one (an author
  "Smith J.", a URL ending in ".").
* **Responsibility.** The author(s) if known, else the issuing unit, else ``佚名``. Authors are
  split on 、 , ， ; ； and at most three are listed, separated by ``, ``, followed by ``, 等``
  when there are more. When the unit stands in for the author it is still repeated as the
  publisher, as GB/T 7714 does for corporate authors.
* **Title** is kept verbatim (including a "——" subtitle, so the reference can be searched for),
  except that a trailing separator (``.`` ``。`` ``:`` ``,`` ``;`` ``、`` or a dash) is dropped;
  a trailing ``？`` / ``！`` is part of the title and kept.
* **Place of publication** (出版地) is the city: the first component of ``region``
  (``海州市/临江区/新华街道`` → ``海州市``), skipping a leading province-level component
  (…省, …自治区, …特别行政区) when a city follows it. A trailing 市/县/区 is dropped when at least
  two characters remain (海州市 → 海州, but 沙市 stays). No region → ``[出版地不详]``; no unit →
  ``[出版者不详]``.
* **Year** only, from ``date`` (first four digits) or else ``year``; the full date of grey
  literature is not added. No year → ``[出版年不详]``.
* **Online.** With ``url`` the access date (default: today) follows in brackets and then the URL:
  ``…, 2021[2026-11-28]. http://example.org/doc/hx-1.``
* **Journal articles**: ``作者. 题名[J]. 刊名, 年, 卷(期): 页码.`` using whichever of ``extra``'s
  ``volume``, ``issue`` and ``pages`` exist (``刊名, 2024(3): 5-9.`` without a volume,
  ``刊名, 2024, 12: 5-9.`` without an issue).
* **Practices.** GB/T 7714 cites the whole document, not a section of it, so
  :func:`cite_practice` returns the document's reference; it exists so callers can switch to a
  finer reference later without changing their call sites.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Document, Section

__all__ = ["DOC_TYPE_CODES", "cite", "cite_practice", "type_code"]

REPORT = "R"
JOURNAL = "J"

DOC_TYPE_CODES: Mapping[str, str] = MappingProxyType({
    "经验材料": REPORT,
    "案例": REPORT,
    "调研报告": REPORT,
    # [J] only when extra["journal"] is known; otherwise a report (see the module docstring).
    "理论文章": JOURNAL,
})
"""Our document type → GB/T 7714 document type code (without brackets)."""

ANONYMOUS = "佚名"
NO_PLACE = "[出版地不详]"
NO_PUBLISHER = "[出版者不详]"
NO_YEAR = "[出版年不详]"
MAX_AUTHORS = 3

_AUTHOR_SEPARATORS = re.compile(r"[、,，;；]")
_REGION_SEPARATORS = re.compile(r"[/／]")
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


def _authors(raw: object) -> list[str]:
    text = _text(raw)
    if text is None:
        return []
    return [name.strip() for name in _AUTHOR_SEPARATORS.split(text) if name.strip()]


def _responsibility(doc: Document | Mapping[str, object]) -> str:
    names = _authors(_get(doc, "author"))
    if names:
        listed = ", ".join(names[:MAX_AUTHORS])
        return f"{listed}, 等" if len(names) > MAX_AUTHORS else listed
    return _text(_get(doc, "unit")) or ANONYMOUS


def _title(doc: Document | Mapping[str, object]) -> str:
    title = _text(_get(doc, "title")) or ""
    return title.rstrip(_TRAILING_SEPARATORS) or title


def _place(region: object) -> str:
    text = _text(region)
    parts = [p.strip() for p in _REGION_SEPARATORS.split(text or "") if p.strip()]
    if not parts:
        return NO_PLACE
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


def _extra(doc: Document | Mapping[str, object]) -> Mapping[str, object]:
    extra = _get(doc, "extra")
    return extra if isinstance(extra, Mapping) else {}


def type_code(doc: Document | Mapping[str, object]) -> str:
    """The GB/T 7714 type code (``"R"`` or ``"J"``) that :func:`cite` uses for ``doc``."""
    code = DOC_TYPE_CODES.get(_text(_get(doc, "type")) or "", REPORT)
    if code == JOURNAL and _text(_extra(doc).get("journal")) is None:
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


def cite(doc: Document | Mapping[str, object], url: str | None = None,
         accessed: datetime.date | None = None) -> str:
    """The GB/T 7714-2015 reference of a document.

    ``doc`` is a :class:`kb.model.Document` (or a mapping like its JSON). With ``url`` the reference
    is an online one (``[R/OL]``, ``[J/OL]``) and ends with the access date (``accessed``,
    default today) in brackets and the URL. See the module docstring for the rules.
    """
    code = type_code(doc)
    url = _text(url)
    if url is not None:
        code += "/OL"
    year = _year(doc) or NO_YEAR
    head = f"{_end(_responsibility(doc))} {_title(doc)}[{code}]. "
    if code.startswith(JOURNAL):
        body = _journal_tail(doc, year)
    else:
        publisher = _text(_get(doc, "unit")) or NO_PUBLISHER
        body = f"{_place(_get(doc, 'region'))}: {publisher}, {year}"
    if url is not None:
        when = accessed or datetime.date.today()
        if isinstance(when, datetime.datetime):
            when = when.date()
        body += f"[{when.isoformat()}]. {url}"
    return _end(head + body)


def cite_practice(doc: Document | Mapping[str, object], section: Section | Mapping[str, object],
                  url: str | None = None, accessed: datetime.date | None = None) -> str:
    """The reference for one practice (a section of ``doc``).

    GB/T 7714 cites whole documents, so this is the document's reference, :func:`cite`;
    ``section`` (a dict with ``heading``, ``path`` and ``ord``) is accepted, and currently
    unused, so callers can switch to a finer reference later without changing their calls.
    """
    return cite(doc, url=url, accessed=accessed)
