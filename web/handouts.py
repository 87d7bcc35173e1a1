"""Handouts to download: a pearl string or a case as PDF, Word or Markdown.

``/pearls/<id>/handout.<fmt>`` follows the string's page (public when published, a draft only for
its curator and administrators, 404 to everyone else); ``/doc/<doc_id>/handout.<fmt>`` follows
the case page (a login when the site requires one). ``fmt`` is ``pdf``, ``docx`` or ``md``. The
file is rendered in memory by the core (:mod:`hongxian.handouts`) and sent as an attachment
with its Chinese name (RFC 5987 ``filename*``) and an ASCII one for old clients.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response

from hongxian.handouts import Handout

from . import core, public
from .auth import viewer
from .downloads import attachment as download
from .params import ID

bp = Blueprint("handouts", __name__)
FORMAT = "any(pdf, docx, md)"  # the route converter of the format


def attachment(handout: Handout, fallback: str) -> Response:
    """``handout`` as a download (:func:`web.downloads.attachment`), never cached by others."""
    response = download(handout.data, handout.mime, fallback, handout.filename)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get(f"/pearls/<{ID}:string_id>/handout.<{FORMAT}:fmt>")
@public
def pearl_string(string_id: int, fmt: str):  # noqa: ANN201
    handout = core().handouts.pearl_string(string_id, fmt, viewer())
    return attachment(handout, f"handout-{string_id}.{fmt}")


@bp.get(f"/doc/<doc_id>/handout.<{FORMAT}:fmt>")
def document(doc_id: str, fmt: str):  # noqa: ANN201
    handout = core().handouts.document(doc_id, fmt)
    return attachment(handout, f"handout-{quote(doc_id, safe='')[:60]}.{fmt}")
