"""Plain-text files: UTF-8 (BOM or not), GBK/GB18030; structure and metadata inferred."""

from __future__ import annotations

from pathlib import Path

from ..cleanup import clean_text
from ..errors import ImportRejected
from ..model import ParsedDocument
from ..structure import Line, build_sections, clean_lines, infer_front
from .encoding import decode
from .fields import apply_fields


def parse(data: bytes, path: Path) -> ParsedDocument:
    text, encoding = decode(data, str(path))
    text, cleanup = clean_text(text)
    lines = [Line(t) for t in clean_lines(text)]
    doc = from_lines(lines, path, "text", {"encoding": encoding})
    doc.cleanup, doc.charset = cleanup, encoding
    return doc


def from_lines(lines: list[Line], path: Path, fmt: str, extra: dict[str, object]) -> ParsedDocument:
    """Shared by plain text and Word: infer the front lines, then the section tree."""
    if not lines:
        raise ImportRejected("文件没有文字内容", path=str(path))
    found, rest = infer_front(lines)
    if not rest:
        raise ImportRejected("文档只有标题，没有正文", path=str(path))
    body, sections = build_sections(rest)
    doc = ParsedDocument(id="", title="", body=body, sections=sections, format=fmt)
    meta: dict[str, object] = dict(found)
    meta.update(extra)
    return apply_fields(doc, meta, path)
