"""The query language: words, "quoted phrases", -exclusion, OR, and field filters.

    会所文化 "楼宇党建" -农村 服务联盟 OR 服务网络 mode:文化嵌入型 region:临江区 year:2019..2021

Best match: a document matches when it holds any of the words, and documents holding all of them
come first, then those holding most of them. ``+`` before a clause requires it; ``OR`` (or ``|``)
between two clauses makes them one alternative; ``-`` before a clause excludes documents that
contain it. Filters take ``field:value`` or
``field:"value with spaces"``; field names have Chinese aliases (模式 领域 地区 年份 类型 单位 标题;
the facets' are declared in :mod:`indexer.facets`). Errors name the offending part and the
valid choices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.errors import QueryError

from .facets import FACET_NAMES, aliases, facet

FILTER_FIELDS = FACET_NAMES
FIELD_ALIASES = {**aliases(), "title": "title", "标题": "title"}  # the facets, and the title
MAX_LENGTH = 256
MAX_CLAUSES = 32
_QUOTES = {'"': '"', "“": "”", "「": "」", "＂": "＂", "”": "”"}
_SURROGATE = re.compile("[\ud800-\udfff]")  # what Python makes of bytes that are not UTF-8


def quote(value: str) -> str:
    """``value`` in quotes the lexer reads back as exactly this value: the first pair of
    :data:`_QUOTES` whose closing mark the value does not contain (a unit named
    ``临江区"红色引擎"工作室`` goes in 「」). QueryError when it holds every closing mark."""
    for opening, closing in _QUOTES.items():
        if closing not in value:
            return f"{opening}{value}{closing}"
    raise QueryError(f"筛选值里的引号太多，无法检索：{value[:40]}", fragment=value[:40])


@dataclass
class Clause:
    text: str
    phrase: bool = False
    field: str | None = None  # "title" restricts a text clause to titles
    required: bool = False  # written with a leading +


@dataclass
class ParsedQuery:
    groups: list[list[Clause]] = field(default_factory=list)  # AND of ORs
    negated: list[Clause] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)

    @property
    def has_text(self) -> bool:
        return bool(self.groups)

    def clauses(self) -> list[Clause]:
        return [c for g in self.groups for c in g]

    @staticmethod
    def required(group: list[Clause]) -> bool:
        """A group is required when its clause was written with a leading +."""
        return any(c.required for c in group)


def _lex(text: str) -> list[tuple[str, str, bool | str]]:
    """Split into (kind, value, sign): kind is "word", "phrase", "or" or "field:<name>"; sign is
    False, True (a leading -) or "+" (a leading +)."""
    out: list[tuple[str, str, bool | str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        negated: bool | str = False
        if ch in "-－+＋" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] not in "-－+＋":
            negated = True if ch in "-－" else "+"
            i += 1
            ch = text[i]
        if ch in _QUOTES:
            close = text.find(_QUOTES[ch], i + 1)
            if close < 0:
                raise QueryError(f"引号不成对：{text[i:i + 20]}（请补上右引号）", fragment=text[i:])
            out.append(("phrase", text[i + 1:close].strip(), negated))
            i = close + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in _QUOTES:
            j += 1
        word = text[i:j]
        name, sep, value = word.replace("：", ":").partition(":")
        is_url = value.startswith("//")
        if sep and not is_url and (name in FIELD_ALIASES or re.fullmatch(r"[A-Za-z_]+", name)):
            canonical = FIELD_ALIASES.get(name.lower()) or FIELD_ALIASES.get(name)
            if canonical is None:
                choices = "、".join(k for k in FIELD_ALIASES if k.isascii())
                raise QueryError(f"未知的字段 {name!r}；可用字段：{choices}", fragment=word)
            if not value and j < n and text[j] in _QUOTES:
                close = text.find(_QUOTES[text[j]], j + 1)
                if close < 0:
                    raise QueryError(f"引号不成对：{text[i:i + 20]}", fragment=text[i:])
                value, j = text[j + 1:close], close + 1
            if not value.strip():
                raise QueryError(f"字段 {name} 后面缺少要筛选的值", fragment=word)
            out.append((f"field:{canonical}", value.strip(), negated))
        elif word in ("OR", "|", "或") and negated is False:
            out.append(("or", word, False))
        else:
            out.append(("word", word, negated))
        i = j
    return out


def parse_query(text: str) -> ParsedQuery:
    """Parse a query string; raise :class:`QueryError` with a helpful message when malformed."""
    text = (text or "").strip()
    if len(text) > MAX_LENGTH:
        raise QueryError(f"检索式太长（{len(text)} 字符，最多 {MAX_LENGTH}）", fragment=text[:40])
    if bad := _SURROGATE.search(text):
        raise QueryError("检索式里有无法识别的字符（不是有效的 UTF-8 文字：请检查终端或网页的编码）",
                         fragment=text[max(0, bad.start() - 10):bad.start()])  # the text before it
    parsed = ParsedQuery()
    tokens = _lex(text)
    if len(tokens) > MAX_CLAUSES:
        raise QueryError(f"检索条件太多（{len(tokens)} 个，最多 {MAX_CLAUSES}）")
    pending_or = False
    for index, (kind, value, sign) in enumerate(tokens):
        negated, required = sign is True, sign == "+"
        if kind == "or":
            if not parsed.groups or pending_or or index == len(tokens) - 1:
                raise QueryError("OR 的两边都需要检索词，例如：服务联盟 OR 服务网络", fragment=value)
            pending_or = True
            continue
        if kind.startswith("field:"):
            name = kind[6:]
            if name == "title":
                clause = Clause(value, phrase=False, field="title", required=required)
            else:
                if required:
                    raise QueryError(f"筛选条件本来就是必须满足的，不用加 +：{value}", fragment=value)
                if pending_or:
                    raise QueryError("OR 不能连接筛选条件", fragment=value)
                if negated:
                    name = "-" + name
                facet(name.lstrip("-")).kind.check(value)
                parsed.filters.setdefault(name, []).append(value)
                continue
        else:
            if not value:
                if pending_or:
                    raise QueryError("OR 的两边都需要检索词，例如：服务联盟 OR 服务网络", fragment='""')
                continue
            clause = Clause(value, phrase=kind == "phrase", required=required)
        if negated:
            if pending_or:
                raise QueryError("排除条件（-）不能和 OR 连用", fragment=value)
            parsed.negated.append(clause)
        elif pending_or:
            if required:
                raise QueryError("必须条件（+）不能和 OR 连用", fragment=value)
            parsed.groups[-1].append(clause)
            pending_or = False
        else:
            parsed.groups.append([clause])
    if not parsed.groups and not any(not k.startswith("-") for k in parsed.filters):
        if parsed.negated or parsed.filters:
            raise QueryError("只有排除条件：请至少给出一个检索词或筛选条件")
        raise QueryError("请输入检索词")
    return parsed
