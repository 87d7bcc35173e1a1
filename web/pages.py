"""The pages: home with search, search results with facets, and the document page."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from markupsafe import Markup, escape

from indexer.facets import labels
from indexer.results import Hit
from kb.citation import cite
from kb.errors import NotFound, QueryError
from kb.model import Document, Role

from . import core
from .auth import viewer
from .params import ID, search_params

bp = Blueprint("pages", __name__)

FACET_LABELS = labels()


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
    app = core()
    return render_template("home.html", taxonomy=app.modes.taxonomy(), modes=app.modes.counts(),
                           recent=app.documents.recent(8), total=app.documents.count(),
                           strings=app.pearls.published(limit=6))


@bp.get("/search")
def search():  # noqa: ANN201
    params = search_params(request.args)
    if not params["q"] and not params["filters"]:
        return redirect(url_for("pages.index"))
    try:
        result = core().search.search(params["q"], filters=params["filters"], page=params["page"],
                                      limit=params["limit"], sort=params["sort"])
    except QueryError as exc:
        return render_template("search.html", params=params, error=exc.message, result=None,
                               labels=FACET_LABELS, url_with=_url_with), 400
    groups: list[list[Hit]] = []
    for hit in result.hits:
        if groups and groups[-1][0].doc_id == hit.doc_id:
            groups[-1].append(hit)
        else:
            groups.append([hit])
    return render_template("search.html", params=params, result=result, groups=groups, error=None,
                           labels=FACET_LABELS, url_with=_url_with, strings=core().pearls.addable(viewer()))


def evidence_sentences(doc: Document) -> dict[str, list[str]]:
    """Each sentence that justifies a suggested mode → the modes it supports."""
    out: dict[str, list[str]] = {}
    suggestions = list(doc.modes.suggested)
    for section in doc.sections:
        suggestions.extend(section.modes.suggested)
    for suggestion in suggestions:
        for item in suggestion.evidence:
            sentence = item.sentence.strip()
            if len(sentence) >= 4 and suggestion.mode not in out.setdefault(sentence, []):
                out[sentence].append(suggestion.mode)
    return out


def marked_paragraphs(text: str, evidence: dict[str, list[str]]) -> list[Markup]:
    """The section's paragraphs, escaped, with evidence sentences wrapped in ``<mark>``."""
    out = []
    for para in text.split("\n"):
        if not para.strip():
            continue
        spans = []
        for sentence, modes in evidence.items():
            start = para.find(sentence)
            while start >= 0:
                spans.append((start, start + len(sentence), modes))
                start = para.find(sentence, start + len(sentence))
        spans.sort()
        html, at = Markup(""), 0
        for start, end, modes in spans:
            if start < at:
                continue
            title = "模式建议的依据：" + "、".join(modes)
            html += escape(para[at:start]) + Markup('<mark class="evidence" title="{}">{}</mark>').format(
                title, para[start:end])
            at = end
        out.append(html + escape(para[at:]))
    return out


@bp.get("/doc/<doc_id>")
def document(doc_id: str):  # noqa: ANN201
    app = core()
    doc = app.documents.show(doc_id)
    similar = app.search.similar(doc_id, missing_ok=True)
    url = app.citations.document_url(doc_id, request.url_root)
    user = viewer()
    editor = bool(user and user.can(Role.EDITOR))
    return render_template(
        "document.html", doc=doc, similar=similar, evidence=evidence_sentences(doc) if editor else {},
        profile=app.documents.profile(doc),
        marked=marked_paragraphs, citation=cite(doc), citation_online=cite(doc, url=url) if url else None,
        strings=app.pearls.addable(user), history=app.tagging.history(doc_id) if user and user.can(Role.EDITOR) else [],
        in_strings=app.pearls.containing(doc_id, user), taxonomy=app.modes.taxonomy())


@bp.get(f"/doc/<doc_id>/similar/<{ID}:ord_>")
def similar(doc_id: str, ord_: int):  # noqa: ANN201
    doc = core().documents.show(doc_id)
    section = next((s for s in doc.sections if s.ord == ord_), None)
    if section is None:
        raise NotFound(f"文档 {doc_id} 没有第 {ord_} 节")
    hits = core().search.similar(doc_id, ord_, limit=8)
    return render_template("similar.html", doc=doc, section=section, similar=hits)
