"""Importers turn a file into a :class:`~kb.model.ParsedDocument`, or reject it with a reason."""

from __future__ import annotations

from pathlib import Path

from ..errors import ImportRejected
from ..model import ParsedDocument
from . import docx, markdown, plaintext

PARSERS = {
    ".md": markdown.parse,
    ".markdown": markdown.parse,
    ".txt": plaintext.parse,
    ".docx": docx.parse,
}
SUPPORTED = tuple(PARSERS)


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in PARSERS


def parse_bytes(data: bytes, path: Path) -> ParsedDocument:
    """Parse file contents; ``path`` gives the format (by extension) and the default id.

    The document keeps the bytes it was made from (``original``) and what clean-up changed.
    """
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        raise ImportRejected(
            f"不支持的文件类型 {path.suffix or '（无扩展名）'}；支持：{', '.join(SUPPORTED)}", path=str(path)
        )
    try:
        doc = parser(data, path)
    except ImportRejected as exc:
        if exc.path is None:  # raised where the file is not known (structure)
            exc.path = exc.details["path"] = str(path)
        raise
    doc.original = data
    return doc
