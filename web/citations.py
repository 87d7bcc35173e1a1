"""References to take away: a case's, or a pearl string's, as RIS or BibTeX files for Zotero,
EndNote and NoteExpress (and the GB/T 7714 text).

``GET /doc/<id>/cite.<fmt>`` (``fmt``: ``txt``, ``bib``, ``ris``) follows the case page's rules
(a login when the site needs one); ``GET /pearls/<id>/references.<fmt>`` the pearl string's
(published strings are public, drafts only for their curator and administrators: 404 for others).
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, request

from hongxian.citations import MIME, SUFFIX
from kb.errors import NotFound

from . import core, public
from .auth import viewer
from .downloads import attachment
from .params import ID

bp = Blueprint("citations", __name__)

BY_SUFFIX = {suffix: fmt for fmt, suffix in SUFFIX.items()}


def _file(text: str, fmt: str, name: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", name)
    return attachment(text.encode("utf-8"), MIME[fmt], f"{safe}.{SUFFIX[fmt]}")


def _format(suffix: str) -> str:
    if suffix not in BY_SUFFIX:
        raise NotFound(f"没有 .{suffix} 格式的参考文献（可用：.txt、.bib、.ris）")
    return BY_SUFFIX[suffix]


@bp.get("/doc/<doc_id>/cite.<suffix>")
def document(doc_id: str, suffix: str):  # noqa: ANN201
    fmt = _format(suffix)
    text = core().citations.document(doc_id, fmt, online=True, request_root=request.url_root)
    return _file(text, fmt, f"cite-{doc_id}")


@bp.get(f"/pearls/<{ID}:string_id>/references.<suffix>")
@public
def pearl_string(string_id: int, suffix: str):  # noqa: ANN201
    fmt = _format(suffix)
    text = core().citations.pearl_string(string_id, viewer(), fmt, request_root=request.url_root)
    return _file(text, fmt, f"pearls-{string_id}-references")
