"""The JSON API: the same objects as ``kb search --json`` and ``kb show --json``."""

from __future__ import annotations

import io
import re
from pathlib import PurePath

from flask import Blueprint, jsonify, request, send_file

from kb.errors import BadRequest
from kb.model import Role
from kb.pearls import to_dict

from . import core, public
from .auth import viewer
from .params import ID, MAX_ID, int_arg, search_params

bp = Blueprint("api", __name__, url_prefix="/api")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # a header cannot hold a line break


@bp.get("/search")
def search():  # noqa: ANN201
    p = search_params(request.args)
    if not p["q"] and not p["filters"]:
        raise BadRequest("请提供检索词 q 或筛选条件（mode、domain、region、year、type、unit）")
    return jsonify(core().search.search(p["q"], filters=p["filters"], page=p["page"],
                                        limit=p["limit"], sort=p["sort"]).to_dict())


@bp.get("/documents/<doc_id>")
def document(doc_id: str):  # noqa: ANN201
    """The object of ``kb show --json``; ``source_path`` (where on the server the file was
    imported from) is only the file's name for anyone but editors."""
    doc = core().documents.show(doc_id)
    found = doc.to_dict()
    # the case page's 摘要 and 关键词, under keys of their own (kb.summary.Profile.to_dict)
    found.update({k: v for k, v in core().documents.profile(doc).to_dict().items() if k not in found})
    user = viewer()
    if found.get("source_path") and not (user and user.can(Role.EDITOR)):
        found["source_path"] = PurePath(str(found["source_path"])).name
    return jsonify(found)


@bp.get("/documents/<doc_id>/original")
def original(doc_id: str):  # noqa: ANN201
    """The file the document was imported from, byte for byte, as a download."""
    found, data = core().documents.original(doc_id)
    response = send_file(io.BytesIO(data), mimetype=found.media_type, as_attachment=True,
                         download_name=_CONTROL.sub("_", found.name), conditional=False, etag=False,
                         max_age=None)
    response.headers["Content-Type"] = found.media_type  # as stored: werkzeug would add utf-8
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/documents/<doc_id>/similar")
def similar(doc_id: str):  # noqa: ANN201
    ord_ = int_arg(request.args, "ord", None, minimum=-MAX_ID)  # type: ignore[arg-type]
    hits = core().search.similar(doc_id, ord_)  # 404: unknown document
    return jsonify({"doc_id": doc_id, "ord": ord_, "similar": [h.to_dict() for h in hits]})


@bp.get("/modes")
def modes():  # noqa: ANN201
    return jsonify({"programme": core().modes.taxonomy().programme, "modes": core().modes.counts()})


@bp.get("/pearls")
@public
def pearls():  # noqa: ANN201
    """Published pearl strings; with a login also the viewer's own drafts (all, for admins)."""
    return jsonify({"pearl_strings": core().pearls.visible(viewer())})


@bp.get(f"/pearls/<{ID}:string_id>")
@public
def pearl_string(string_id: int):  # noqa: ANN201
    string = core().pearls.get(string_id, viewer())
    citations = core().pearls.citations(string)
    out = to_dict(string)
    for shown in out["pearls"]:
        shown["citation"] = citations.get(shown["id"])
    return jsonify(out)
