"""Markdown files with YAML front matter (the native corpus format)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import frontmatter
import yaml

from ..cleanup import clean_text
from ..errors import ImportRejected
from ..model import ParsedDocument
from ..structure import build_sections, markdown_lines
from .encoding import decode
from .fields import apply_fields

_FENCE = re.compile(r"\A\s*---\s*\n")
_HANDLER = frontmatter.default_handlers.YAMLHandler()


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when present
    """Safe YAML without implicit timestamps: dates stay text and are validated by us."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse(data: bytes, path: Path) -> ParsedDocument:
    """Parse a Markdown document; the front matter is optional but must be valid when present."""
    text, encoding = decode(data, str(path))
    text, cleanup = clean_text(text)  # front matter included: line numbers are the file's
    meta: dict[str, object] = {}
    content = text
    if _FENCE.match(text):
        if not re.search(r"\n---\s*(\n|\Z)", text[3:]):
            raise ImportRejected("YAML 头部没有结束的 `---` 行", path=str(path), line=1)
        raw, content = _HANDLER.split(text.lstrip())
        try:
            loaded = yaml.load(raw, Loader=_Loader)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None  # raw starts on the fence line
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ImportRejected(f"YAML 头部格式错误：{problem}", path=str(path), line=line) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ImportRejected("YAML 头部必须是“字段: 值”的映射", path=str(path), line=1)
        meta = {str(k): _plain(v) for k, v in (loaded or {}).items()}
    lines = markdown_lines(content)
    if not meta.get("title") and lines and lines[0].level == 1 and lines[0].text:
        meta["title"] = lines.pop(0).text
    elif lines and meta.get("title") and lines[0].level is not None and lines[0].text == meta["title"]:
        lines.pop(0)  # a "# Title" line repeating the front-matter title
    body, sections = build_sections(lines)
    if not body.strip():
        raise ImportRejected("文档没有正文", path=str(path))
    doc = ParsedDocument(id="", title="", body=body, sections=sections, format="markdown",
                         cleanup=cleanup, charset=encoding)
    return apply_fields(doc, meta, path)


def _plain(value: object) -> object:
    """YAML dates become ISO strings so that metadata is JSON-ready."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
