"""Markdown files with YAML front matter (the native corpus format)."""

from __future__ import annotations

import datetime as dt
import math
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

# Front matter is a few fields; these bound what a hostile header can cost before it is loaded.
MAX_FRONT_MATTER = 64 * 1024  # characters
MAX_YAML_DEPTH = 16  # nested lists and mappings
MAX_YAML_NODES = 5_000  # scalars, lists and mappings


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when present
    """Safe YAML without implicit timestamps: dates stay text and are validated by us.

    A number YAML cannot convert (``0x_``) is a YAML error at its line, and a float that is not
    finite (``.nan``, ``.inf``, ``1.0e+999``) stays the text the user wrote: JSON has no NaN.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except (ValueError, IndexError) as exc:  # "0x_", "0b_", `!!int ""`, more digits than Python converts
        raise yaml.constructor.ConstructorError(
            None, None, f"无法识别的整数 {node.value[:40]!r}", node.start_mark) from exc


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        value = yaml.SafeLoader.construct_yaml_float(loader, node)
    except (ValueError, IndexError) as exc:  # `!!float x`, `!!float ""`
        raise yaml.constructor.ConstructorError(
            None, None, f"无法识别的数值 {node.value[:40]!r}", node.start_mark) from exc
    return value if math.isfinite(value) else str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)  # `!!timestamp x`


def _check_shape(raw: str, path: Path) -> None:
    """Refuse, before anything is built, front matter that could cost more than a header should:
    anchors and aliases (a few hundred bytes of aliases expand to gigabytes: "billion laughs"),
    deep nesting and very many values. Reading the events costs time linear in the text."""
    if len(raw) > MAX_FRONT_MATTER:
        raise ImportRejected(f"YAML 头部过大（超过 {MAX_FRONT_MATTER:,} 个字符）", path=str(path), line=1)
    depth = nodes = 0
    for event in yaml.parse(raw, Loader=_Loader):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ImportRejected("YAML 头部不能使用锚点和别名（& 与 *）", path=str(path), line=line)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise ImportRejected(f"YAML 头部嵌套过深（超过 {MAX_YAML_DEPTH} 层）", path=str(path), line=line)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise ImportRejected(f"YAML 头部的值过多（超过 {MAX_YAML_NODES} 个）", path=str(path), line=line)


def _yaml_rejection(exc: yaml.YAMLError, path: Path) -> ImportRejected:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None  # raw starts on the fence line
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [""])[0]
    return ImportRejected(f"YAML 头部格式错误：{yaml_problem_zh(str(problem))}", path=str(path), line=line)


# PyYAML's words for what is wrong (English) → what to tell the writer of the file
_YAML_PROBLEMS = (
    ("mapping values are not allowed", "这里不能出现冒号（值里有冒号时请用引号括起来）"),
    ("could not find expected ':'", "缺少冒号（每行应为“字段: 值”）"),
    ("'\\t'", "不能用制表符缩进，请改用空格"),
    ("tab character", "不能用制表符缩进，请改用空格"),
    ("expected ',' or ']'", "方括号没有闭合"),
    ("expected ',' or '}'", "花括号没有闭合"),
    ("cannot start any token", "有不能出现在这里的字符（如 @ 或 `，请用引号括起来）"),
    ("end of stream", "引号或括号没有闭合"),
    ("quoted scalar", "引号没有闭合"),
    ("escape", "引号里有无效的转义字符（\\ 后面的字母）"),
    ("block end", "缩进不一致"),
    ("tag", "使用了不支持的标签（以 ! 开头的写法）"),
    ("flow", "方括号或花括号没有闭合"),
    ("duplicate", "有重复的内容"),
)


def yaml_problem_zh(problem: str) -> str:
    """A YAML parser's problem in Chinese (never its English words)."""
    for words, said in _YAML_PROBLEMS:
        if words in problem:
            return said
    return "写法无法识别，请检查冒号、缩进和引号"


def parse(data: bytes, path: Path) -> ParsedDocument:
    """Parse a Markdown document; the front matter is optional but must be valid when present."""
    text, encoding = decode(data, str(path))
    text, cleanup = clean_text(text)  # front matter included: line numbers are the file's
    meta: dict[str, object] = {}
    content = text
    if _FENCE.match(text):
        if not re.search(r"\n---\s*(\n|\Z)", text[3:]):
            raise ImportRejected("YAML 头部没有结束的 `---` 行", path=str(path), line=1)
        try:
            raw, content = _HANDLER.split(text.lstrip())
        except ValueError as exc:  # the closing line found was the opening one
            raise ImportRejected("YAML 头部没有结束的 `---` 行", path=str(path), line=1) from exc
        try:
            _check_shape(raw, path)
            loaded = yaml.load(raw, Loader=_Loader)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            raise _yaml_rejection(exc, path) from exc
        except (ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError,
                RecursionError) as exc:
            raise ImportRejected("YAML 头部有无法转换的值（如写错的数字或日期），请用引号括起来", path=str(path)) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ImportRejected("YAML 头部必须是“字段: 值”的映射", path=str(path), line=1)
        meta = {str(k): _plain(v, str(k), path) for k, v in (loaded or {}).items()}
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


def _plain(value: object, name: str, path: Path) -> object:
    """A YAML value as strict JSON: dates become ISO strings, a float that is not finite its text
    (the loader already keeps what was written), pairs lists; binary data and sets are refused."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v, name, path) for v in value]
    if isinstance(value, dict):
        return {str(_plain(k, name, path)): _plain(v, name, path) for k, v in value.items()}
    kind = {bytes: "二进制数据（!!binary）", set: "集合（!!set）"}.get(type(value), "这种类型")
    raise ImportRejected(f"YAML 头部字段 {name} 的值不能是{kind}", path=str(path))
