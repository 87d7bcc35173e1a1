"""Word (.docx) files: paragraphs, tables and heading styles; metadata inferred as for text.

A .docx is a zip of XML parts, so a small file can stand for a great deal of work: a zip bomb,
an XML part of millions of paragraphs, one text node of a gigabyte, nesting deeper than any
document has. Before python-docx sees a file, :func:`check_package` reads every member with
limits on what the members declare and on what they actually yield, and parses every XML part
with a hardened parser (no entities, no DTD, no network, no ``huge_tree``) that counts element
depth and text-node size. Every failure, ours or the libraries', is an :class:`ImportRejected`
with a reason in Chinese.
"""

from __future__ import annotations

import io
import lzma
import re
import zipfile
import zlib
from pathlib import Path

import docx
from docx.document import Document
from docx.exceptions import PythonDocxError
from docx.opc.exceptions import OpcError
from docx.oxml.exceptions import XmlchemyError
from docx.oxml.table import CT_Tbl
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from lxml import etree

from ..cleanup import clean_paragraphs
from ..errors import ImportRejected
from ..model import ParsedDocument
from ..structure import Line, is_debris
from .encoding import check_bytes
from .plaintext import from_lines

MAX_UNCOMPRESSED = 64 * 1024 * 1024  # all members together, as declared and as read
MAX_XML_PART = 16 * 1024 * 1024  # one XML part (document.xml of a 300-page report is a few MB)
MAX_MEMBERS = 2_000
MAX_XML_DEPTH = 100  # Word's deepest nesting (tables in text boxes in tables) is a few dozen
MAX_TEXT_NODE = 1_000_000  # characters in one text node
MAX_BLOCKS = 100_000  # paragraphs and table rows
MAX_GRID_SPAN = 1_000  # columns one table cell spans (Word allows 63 columns)

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# What python-docx, lxml and zipfile raise on a damaged or hostile file.
_READ_ERRORS = (OpcError, PythonDocxError, XmlchemyError, etree.LxmlError, zipfile.BadZipFile,
                zipfile.LargeZipFile, zlib.error, lzma.LZMAError, KeyError, ValueError, TypeError,
                AttributeError, IndexError, OverflowError, NotImplementedError, RuntimeError, EOFError,
                OSError, RecursionError)


def _style_level(style_name: str) -> tuple[int | None, bool]:
    name = (style_name or "").strip()
    if name.lower() in ("title", "标题"):
        return None, True
    m = _HEADING_STYLE.match(name)
    return (int(m.group(1)) if m else None), False


def check_package(data: bytes, path: Path) -> None:
    """Refuse a .docx whose zip or XML would cost more than a document should (see the module)."""
    where = str(path)
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OverflowError, OSError, EOFError) as exc:
        raise ImportRejected("无法读取 Word 文件：不是有效的 .docx（.docx 应是 zip 压缩包）", path=where) from exc
    with package:
        members = package.infolist()
        if len(members) > MAX_MEMBERS:
            raise ImportRejected(f"Word 文件的组成部分过多（超过 {MAX_MEMBERS} 个）", path=where)
        if sum(m.file_size for m in members) > MAX_UNCOMPRESSED:
            raise ImportRejected(f"Word 文件解压后过大（超过 {MAX_UNCOMPRESSED // 1024 // 1024} MB）", path=where)
        total = 0
        for member in members:
            is_xml = member.filename.lower().endswith((".xml", ".rels"))
            if is_xml and member.file_size > MAX_XML_PART:
                raise ImportRejected(f"Word 文件的部分 {member.filename[:60]} 解压后过大", path=where)
            chunks: list[bytes] = []
            size = 0
            try:
                with package.open(member) as stream:
                    while chunk := stream.read(1 << 20):
                        size += len(chunk)
                        total += len(chunk)
                        if total > MAX_UNCOMPRESSED or (is_xml and size > MAX_XML_PART):
                            raise ImportRejected("Word 文件解压后过大（压缩包声明的大小不实）", path=where)
                        chunks.append(chunk)
            except ImportRejected:
                raise
            except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, NotImplementedError, RuntimeError,
                    EOFError, OSError, ValueError, OverflowError) as exc:
                raise ImportRejected(f"Word 文件已损坏或加密，无法解压 {member.filename[:60]}",
                                     path=where) from exc
            blob = b"".join(chunks)
            # python-docx parses parts by their declared content type, whatever their name: any
            # member that looks like XML (pictures aside) is checked as one.
            if is_xml or (blob.lstrip()[:1] == b"<" and not member.filename.startswith("word/media/")):
                if size > MAX_XML_PART:
                    raise ImportRejected(f"Word 文件的部分 {member.filename[:60]} 解压后过大", path=where)
                _check_xml(blob, member.filename, where)


def _check_xml(blob: bytes, name: str, where: str) -> None:
    """Parse one XML part with a hardened parser, bounding depth and text nodes."""
    if b"<!DOCTYPE" in blob or b"<!ENTITY" in blob:
        raise ImportRejected(f"Word 文件的部分 {name[:60]} 含有 DTD 或实体声明（Word 不会写这些）", path=where)
    depth = 0
    try:
        for event, element in etree.iterparse(io.BytesIO(blob), events=("start", "end"),
                                              resolve_entities=False, load_dtd=False,
                                              no_network=True, huge_tree=False):
            if event == "start":
                depth += 1
                if depth > MAX_XML_DEPTH:
                    raise ImportRejected(f"Word 文件的 XML 嵌套过深（超过 {MAX_XML_DEPTH} 层）", path=where)
                continue
            depth -= 1
            if len(element.text or "") > MAX_TEXT_NODE or any(
                    len(child.tail or "") > MAX_TEXT_NODE for child in element):
                raise ImportRejected(f"Word 文件中有一段文字过长（超过 {MAX_TEXT_NODE:,} 字符）", path=where)
            if element.tag == f"{_W}gridSpan":
                span = element.get(f"{_W}val", "1")
                if not (span.isascii() and span.isdigit() and len(span) <= 6 and int(span) <= MAX_GRID_SPAN):
                    raise ImportRejected(f"Word 文件中的表格单元格跨列数无效：{span[:20]!r}", path=where)
            element.clear(keep_tail=True)  # its text and its children's tails have been looked at
    except etree.LxmlError as exc:
        raise ImportRejected(f"Word 文件已损坏：其中的 {name[:60]} 格式错误", path=where) from exc


def parse(data: bytes, path: Path) -> ParsedDocument:
    check_bytes(data, str(path))
    check_package(data, path)
    try:
        blocks = _blocks(data, path)
    except ImportRejected:
        raise
    except _READ_ERRORS as exc:
        raise ImportRejected("无法读取 Word 文件：不是有效的 .docx，或文件已损坏", path=str(path)) from exc
    texts, cleanup = clean_paragraphs([text for text, _, _ in blocks])
    lines = [Line(text, level, is_title) for text, (_, level, is_title) in zip(texts, blocks, strict=True)
             if text and not is_debris(text)]
    doc = from_lines(lines, path, "docx", {})
    doc.cleanup = cleanup
    return doc


def _blocks(data: bytes, path: Path) -> list[tuple[str, int | None, bool]]:
    """Every paragraph and table row, in order (empty ones too: clean-up counts paragraphs)."""
    document = docx.Document(io.BytesIO(data))
    blocks: list[tuple[str, int | None, bool]] = []
    styles: dict[str | None, tuple[int | None, bool]] = {}  # style id → (level, is title)
    for block in document.element.body.iterchildren():
        if len(blocks) > MAX_BLOCKS:
            raise ImportRejected(f"Word 文件的段落过多（超过 {MAX_BLOCKS:,} 段）", path=str(path))
        tag = block.tag  # a comment's tag is a function
        if tag == f"{_W}p":
            para = Paragraph(block, document)
            style_id = block.style
            if style_id not in styles:
                styles[style_id] = _style_level(para.style.name if para.style is not None else "")
            level, is_title = styles[style_id]
            blocks.append((para.text.strip(), level, is_title))
        elif tag == f"{_W}tbl":
            blocks.extend((row, None, False) for row in _table_rows(block, document))
    return blocks


def _table_rows(tbl: CT_Tbl, document: Document) -> list[str]:
    """One line per row: its cells' texts, each once, joined by an ideographic space.

    A cell merged down from the row above (``vMerge`` continue) shows the text of the cell it
    continues, as python-docx's ``row.cells`` would; but read here in one pass over the rows
    (``row.cells`` repeats a cell once per column it spans and walks up recursively).
    """
    table = Table(tbl, document)
    rows = []
    above: dict[int, str] = {}  # grid column → text of the cell there in the previous row
    for tr in tbl.tr_lst:
        offset = tr.grid_before
        here: dict[int, str] = {}
        cells = []
        for tc in tr.tc_lst:
            text = above.get(offset, "") if tc.vMerge == "continue" else _Cell(tc, table).text.strip()
            here[offset] = text
            cells.append(text)
            offset += tc.grid_span
        above = here
        rows.append("　".join(dict.fromkeys(c for c in cells if c)))
    return rows
