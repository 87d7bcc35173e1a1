"""The JSON API: the same objects as ``kb search --json`` and ``kb show --json``."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from kb.errors import BadRequest

from . import get_kb, library
from .params import search_params

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
def search():  # noqa: ANN201
    p = search_params(request.args)
    if not p["q"] and not p["filters"]:
        raise BadRequest("请提供检索词 q 或筛选条件（mode、domain、region、year、type、unit）")
    return jsonify(library().search.search(p["q"], filters=p["filters"], page=p["page"],
                                           limit=p["limit"], sort=p["sort"]))


@bp.get("/documents/<doc_id>")
def document(doc_id: str):  # noqa: ANN201
    return jsonify(get_kb().document(doc_id))


@bp.get("/documents/<doc_id>/similar")
def similar(doc_id: str):  # noqa: ANN201
    ord_ = request.args.get("ord")
    if ord_ is not None and not ord_.lstrip("-").isdigit():
        raise BadRequest("ord 必须是整数")
    get_kb().document(doc_id)  # 404 for an unknown document
    hits = library().search.similar(doc_id, int(ord_) if ord_ is not None else None)
    return jsonify({"doc_id": doc_id, "ord": int(ord_) if ord_ is not None else None, "similar": hits})


@bp.get("/modes")
def modes():  # noqa: ANN201
    kb = get_kb()
    return jsonify({"programme": kb.taxonomy().programme, "modes": kb.mode_counts()})
