"""Validating and normalising metadata fields, shared by every importer."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ..errors import ImportRejected
from ..model import ParsedDocument

_ID = re.compile(r"[\w][\w.\-]{0,127}")  # fullmatch: "$" would let a trailing newline through
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_KNOWN = {"id", "title", "type", "unit", "author", "date", "region", "domain", "modes", "keywords", "source"}


def _as_list(value: object, name: str, path: Path) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = re.split(r"[,，、;；]", value)
    elif isinstance(value, list):
        items = value
    else:
        raise ImportRejected(f"字段 {name} 应为列表或以逗号分隔的文本", path=str(path))
    out = []
    for item in items:
        if isinstance(item, dict | list):
            raise ImportRejected(f"字段 {name} 的条目应为文本", path=str(path))
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return out


def _as_text(value: object, name: str, path: Path) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise ImportRejected(f"字段 {name} 应为文本", path=str(path))
    text = str(value).strip()
    return text or None


def normalise_date(value: str, path: Path) -> str:
    """Accept ``2021``, ``2021-6``, ``2021-06-18``; reject impossible dates."""
    m = _DATE.match(value.strip())
    if not m:
        raise ImportRejected(f"日期格式无效：{value!r}（应为 YYYY、YYYY-MM 或 YYYY-MM-DD）", path=str(path))
    year, month, day = m.group(1), m.group(2), m.group(3)
    try:
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError as exc:
        raise ImportRejected(f"日期不存在：{value!r}", path=str(path)) from exc
    out = year
    if month:
        out += f"-{int(month):02d}"
    if day:
        out += f"-{int(day):02d}"
    return out


def apply_fields(doc: ParsedDocument, meta: dict[str, object], path: Path) -> ParsedDocument:
    """Fill a parsed document from metadata (front matter or inferred lines) and validate it."""
    doc_id = _as_text(meta.get("id"), "id", path) or path.stem
    if not _ID.fullmatch(doc_id):
        raise ImportRejected(f"文档编号无效：{doc_id!r}（只能用字母、数字、汉字、- _ .）", path=str(path))
    title = _as_text(meta.get("title"), "title", path)
    if not title:
        raise ImportRejected("缺少标题（title）", path=str(path))
    doc.id, doc.title = doc_id, title
    doc.type = _as_text(meta.get("type"), "type", path)
    doc.unit = _as_text(meta.get("unit"), "unit", path)
    doc.author = _as_text(meta.get("author"), "author", path)
    date = _as_text(meta.get("date"), "date", path)
    doc.date = normalise_date(date, path) if date else None
    region = _as_text(meta.get("region"), "region", path)
    doc.region = "/".join(p.strip() for p in re.split(r"[/／>›]", region) if p.strip()) if region else None
    doc.domains = _as_list(meta.get("domain"), "domain", path)
    doc.modes = _as_list(meta.get("modes"), "modes", path)
    doc.keywords = _as_list(meta.get("keywords"), "keywords", path)
    doc.source = _as_text(meta.get("source"), "source", path)
    doc.extra = {k: v for k, v in meta.items() if k not in _KNOWN}
    return doc
