"""Word (.docx) files: paragraphs, tables and heading styles; metadata inferred as for text."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import docx
from docx.opc.exceptions import PackageNotFoundError

from ..cleanup import clean_paragraphs
from ..errors import ImportRejected
from ..model import ParsedDocument
from ..structure import Line, is_debris
from .encoding import check_bytes
from .plaintext import from_lines

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)


def _style_level(style_name: str) -> tuple[int | None, bool]:
    name = (style_name or "").strip()
    if name.lower() in ("title", "标题"):
        return None, True
    m = _HEADING_STYLE.match(name)
    return (int(m.group(1)) if m else None), False


def parse(data: bytes, path: Path) -> ParsedDocument:
    check_bytes(data, str(path))
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ImportRejected(f"无法读取 Word 文件（不是有效的 .docx）：{exc}", path=str(path)) from exc
    # Every paragraph and table row, in order (empty ones too: clean-up counts paragraphs).
    blocks: list[tuple[str, int | None, bool]] = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = docx.text.paragraph.Paragraph(block, document)
            level, is_title = _style_level(para.style.name if para.style is not None else "")
            blocks.append((para.text.strip(), level, is_title))
        elif tag == "tbl":
            table = docx.table.Table(block, document)
            for row in table.rows:
                cells = [c.text.strip() for c in row.cells]
                blocks.append(("　".join(dict.fromkeys(c for c in cells if c)), None, False))
    texts, cleanup = clean_paragraphs([text for text, _, _ in blocks])
    lines = [Line(text, level, is_title) for text, (_, level, is_title) in zip(texts, blocks, strict=True)
             if text and not is_debris(text)]
    doc = from_lines(lines, path, "docx", {})
    doc.cleanup = cleanup
    return doc
