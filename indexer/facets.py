"""The facets and filters, declared once, the way :mod:`kb.settings` declares the settings.

A facet is a field of a document's metadata that search can filter on (``mode:文化嵌入型``,
``--mode``, ``?mode=``) and count (the site's side bar, ``facets`` in JSON). Each declaration
says everything about it: its name (in the query language, URLs, ``kb search`` options, JSON
and the index), its Chinese label, its aliases in the query language, the help of its
``kb search`` option, which values a document has (read from the metadata the index stores with
the document, :func:`indexer.index.doc_meta`), and its *kind*: how those values are indexed,
how a filter value becomes a query, and how the values are shown. The query parser, the
schema, the index entries, the facet counts, the site and the command line all read this list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from whoosh import fields
from whoosh import query as wq

from kb.errors import QueryError
from kb.normalize import normalize

Meta = Mapping[str, object]  # a document's metadata, as stored with its index entry
TextField = Callable[[], fields.FieldType]  # makes a field analysed like the text (words)
_YEAR = re.compile(r"^(\d{4})(?:(?:\.\.|-|–|~|～)(\d{4})?)?$")


@dataclass(frozen=True)
class FacetCount:
    """One value of a facet and how many matching documents have it."""

    value: str
    count: int


def year_range(value: str) -> tuple[int, int]:
    """``2021`` → (2021, 2021); ``2019..2021`` → (2019, 2021); ``2019..`` → (2019, 9999)."""
    m = _YEAR.match(value.strip())
    if not m:
        raise QueryError(f"年份应写作 2021 或 2019..2021：{value!r}", fragment=value)
    low = int(m.group(1))
    high = int(m.group(2)) if m.group(2) else (9999 if re.search(r"\.\.|[-–~～]$", value) else low)
    if high < low:
        raise QueryError(f"年份范围颠倒：{value!r}", fragment=value)
    return low, high


def _words(fieldname: str, words: list[str]) -> wq.Query:
    return wq.Term(fieldname, words[0]) if len(words) == 1 else wq.Phrase(fieldname, words)


class Kind:
    """How a facet's values are indexed, filtered and shown (the base: one exact term each)."""

    def fields(self, name: str, text: TextField) -> dict[str, fields.FieldType]:
        return {name: fields.ID()}

    def document(self, name: str, values: list[str]) -> dict[str, object]:
        """The entry's fields: the first value, folded (nothing when the document has none)."""
        return {name: normalize(values[0])} if values else {}

    def query(self, name: str, value: str, words: Callable[[str], list[str]]) -> wq.Query:
        return wq.Term(name, normalize(value.strip()))

    def check(self, value: str) -> None:
        """Refuse a malformed filter value while parsing (nothing is malformed here)."""

    def shown(self, values: list[str]) -> list[str]:
        return values

    def order(self, value: str) -> object:
        """How buckets with the same count are ordered."""
        return value


_COMMA = "\ue000"  # a comma inside a value (a private-use character: the field splits at commas)


def keyword(value: str) -> str:
    """A value as one term of a comma-separated field: folded, its own commas (``联建,共建型``,
    also a full-width ``，``, which folds to one) kept inside the term."""
    return normalize(value).replace(",", _COMMA)


class Keywords(Kind):
    """Several values per document, each one exact term (folded); a filter names one value."""

    def fields(self, name: str, text: TextField) -> dict[str, fields.FieldType]:
        return {name: fields.KEYWORD(commas=True)}

    def document(self, name: str, values: list[str]) -> dict[str, object]:
        return {name: ",".join(self.terms(values))}

    def terms(self, values: list[str]) -> list[str]:
        return [keyword(v) for v in values]

    def query(self, name: str, value: str, words: Callable[[str], list[str]]) -> wq.Query:
        return wq.Term(name, keyword(value.strip()))


class Paths(Keywords):
    """A path (``海州市/临江区/新华街道``): a filter names any level, or a leading part of the
    path; the facet counts the first ``depth`` levels."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def terms(self, values: list[str]) -> list[str]:
        out: list[str] = []
        for value in values:
            parts = [keyword(p) for p in value.split("/") if p]
            out.extend(parts + ["/".join(parts[: i + 1]) for i in range(len(parts))])
        return list(dict.fromkeys(out))

    def query(self, name: str, value: str, words: Callable[[str], list[str]]) -> wq.Query:
        folded = keyword(value.strip())
        return wq.Term(name, "/".join(p for p in folded.split("/") if p))

    def shown(self, values: list[str]) -> list[str]:
        return ["/".join(v.split("/")[: self.depth]) for v in values]


class Exact(Kind):
    """One value per document, matched exactly (folded)."""


class Name(Exact):
    """A name (an issuing unit): a filter gives the exact name or words of it (in a row)."""

    def fields(self, name: str, text: TextField) -> dict[str, fields.FieldType]:
        return {name: fields.ID(), f"{name}_text": text()}

    def document(self, name: str, values: list[str]) -> dict[str, object]:
        return {name: normalize(values[0]), f"{name}_text": values[0]} if values else {}

    def query(self, name: str, value: str, words: Callable[[str], list[str]]) -> wq.Query:
        alternatives: list[wq.Query] = [wq.Term(name, normalize(value.strip()))]
        found = words(value)
        if found:
            alternatives.append(_words(f"{name}_text", found))
        return wq.Or(alternatives)


class Years(Exact):
    """A year; a filter gives a year or a range (``2019..2021``, ``2019..``); the facet lists the
    most frequent first, then the most recent."""

    def fields(self, name: str, text: TextField) -> dict[str, fields.FieldType]:
        return {name: fields.NUMERIC()}

    def document(self, name: str, values: list[str]) -> dict[str, object]:
        return {name: int(values[0])} if values else {}

    def query(self, name: str, value: str, words: Callable[[str], list[str]]) -> wq.Query:
        low, high = year_range(value)
        return wq.NumericRange(name, low, high)

    def check(self, value: str) -> None:
        year_range(value)

    def order(self, value: str) -> object:
        return -int(value) if value.isdigit() else 0


@dataclass(frozen=True)
class Facet:
    name: str
    label: str  # as the site shows it
    aliases: tuple[str, ...]  # other names in the query language
    help: str  # of the `kb search` option
    values: Callable[[Meta], list[str]]  # a document's values, from its stored metadata
    kind: Kind
    choices: str | None = None  # the index state's list of the only valid values, if any

    def document(self, meta: Meta) -> dict[str, object]:
        """The index fields of a document's entry for this facet."""
        return self.kind.document(self.name, self.values(meta))

    def shown(self, meta: Meta) -> list[str]:
        """The values a document is counted under."""
        return self.kind.shown(self.values(meta))

    def query(self, value: str, words: Callable[[str], list[str]]) -> wq.Query:
        """The query for a filter value (``words`` analyses a value into words)."""
        return self.kind.query(self.name, value, words)

    def check_known(self, value: str, known: Sequence[str]) -> None:
        """Refuse a value outside the index's own list (when the facet has one and it is known)."""
        if known and value.strip() not in known:
            raise QueryError(f"未知的{self.label} {value!r}；可用：{'、'.join(known)}", fragment=value)


def _list(key: str) -> Callable[[Meta], list[str]]:
    return lambda meta: list(dict.fromkeys(meta.get(key) or []))  # type: ignore[call-overload]


def _one(key: str) -> Callable[[Meta], list[str]]:
    return lambda meta: [str(meta[key])] if meta.get(key) else []


def _modes(meta: Meta) -> list[str]:
    """Confirmed and suggested modes: the mode filter and facet count both."""
    return list(dict.fromkeys([*meta.get("modes", []), *meta.get("suggested_modes", [])]))  # type: ignore[misc]


FACETS: tuple[Facet, ...] = (
    Facet("mode", "工作模式", ("模式", "工作模式"), "按工作模式筛选（可重复）", _modes, Keywords(),
          choices="modes"),
    Facet("domain", "领域", ("领域",), "按领域筛选（可重复）", _list("domain"), Keywords()),
    Facet("region", "地区", ("地区", "区域"), "按地区筛选，如 临江区 或 海州市/临江区", _one("region"),
          Paths(depth=2)),
    Facet("year", "年份", ("年份", "年"), "按年份筛选，如 2021 或 2019..2021", _one("year"), Years()),
    Facet("type", "类型", ("类型",), "按文档类型筛选，如 案例", _one("type"), Exact()),
    Facet("unit", "单位", ("单位",), "按发文单位筛选", _one("unit"), Name()),
)
FACET_NAMES: tuple[str, ...] = tuple(f.name for f in FACETS)
BY_NAME: dict[str, Facet] = {f.name: f for f in FACETS}


def facet(name: str) -> Facet:
    return BY_NAME[name]


def labels() -> dict[str, str]:
    """Facet name → Chinese label."""
    return {f.name: f.label for f in FACETS}


def aliases() -> dict[str, str]:
    """Every name a facet has in the query language → its name (the name itself first)."""
    out: dict[str, str] = {}
    for f in FACETS:
        out[f.name] = f.name
        out.update((alias, f.name) for alias in f.aliases)
    return out
