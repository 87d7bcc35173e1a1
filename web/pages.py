"""The pages: home with search, search results with facets, and the document page."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from kb.errors import QueryError

from . import get_kb, library
from .params import search_params

bp = Blueprint("pages", __name__)

FACET_LABELS = {"mode": "工作模式", "domain": "领域", "region": "地区", "year": "年份",
                "type": "类型", "unit": "单位"}


def _url_with(params: dict, name: str | None = None, value: str | None = None,
              remove: bool = False, **extra: object) -> str:
    """The search URL for the current parameters with one filter added or removed."""
    args: dict[str, object] = {"q": params["q"]} if params["q"] else {}
    for field, values in params["filters"].items():
        kept = [v for v in values if not (remove and field == name and v == value)]
        if kept:
            args[field] = kept
    if name and not remove:
        args.setdefault(name, [])
        if value not in args[name]:  # type: ignore[operator]
            args[name] = [*args[name], value]  # type: ignore[misc]
    if params["sort"] != "relevance":
        args["sort"] = params["sort"]
    args.update(extra)
    return url_for("pages.search", **args)


@bp.get("/")
def index():  # noqa: ANN201
    if request.args.get("q") or any(request.args.get(f) for f in FACET_LABELS):
        return redirect(url_for("pages.search", **request.args.to_dict(flat=False)))
    kb = get_kb()
    return render_template("home.html", taxonomy=kb.taxonomy(), modes=kb.mode_counts(),
                           recent=kb.recent(8), total=kb.count())


@bp.get("/search")
def search():  # noqa: ANN201
    params = search_params(request.args)
    if not params["q"] and not params["filters"]:
        return redirect(url_for("pages.index"))
    try:
        result = library().search.search(params["q"], filters=params["filters"], page=params["page"],
                                         limit=params["limit"], sort=params["sort"])
    except QueryError as exc:
        return render_template("search.html", params=params, error=exc.message, result=None,
                               labels=FACET_LABELS, url_with=_url_with), 400
    groups: list[list[dict]] = []
    for hit in result["hits"]:
        if groups and groups[-1][0]["doc_id"] == hit["doc_id"]:
            groups[-1].append(hit)
        else:
            groups.append([hit])
    return render_template("search.html", params=params, result=result, groups=groups, error=None,
                           labels=FACET_LABELS, url_with=_url_with)


@bp.get("/doc/<doc_id>")
def document(doc_id: str):  # noqa: ANN201
    doc = get_kb().document(doc_id)
    similar = library().search.similar(doc_id) if library().store.exists() else []
    return render_template("document.html", doc=doc, similar=similar)


@bp.get("/doc/<doc_id>/similar/<int:ord_>")
def similar(doc_id: str, ord_: int):  # noqa: ANN201
    doc = get_kb().document(doc_id)
    section = next((s for s in doc["sections"] if s["ord"] == ord_), None)
    if section is None:
        from kb.errors import NotFound

        raise NotFound(f"文档 {doc_id} 没有第 {ord_} 节")
    hits = library().search.similar(doc_id, ord_, limit=8)
    return render_template("similar.html", doc=doc, section=section, similar=hits)
