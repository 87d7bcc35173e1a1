"""Tagging by working mode: confirm or reject a suggestion, add a mode by hand, and the review
queue of cases whose suggestions nobody has looked at yet."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from kb.errors import BadRequest
from kb.model import WHOLE_DOCUMENT, Role, TagStatus

from . import core
from .auth import require, safe_next, viewer
from .params import int_arg, page_arg

bp = Blueprint("tagging", __name__)
DECISIONS = {"confirm": TagStatus.CONFIRMED, "reject": TagStatus.REJECTED}
REVIEW_PAGE = 20


@bp.post("/doc/<doc_id>/modes")
@require(Role.EDITOR)
def decide(doc_id: str):  # noqa: ANN201
    form = request.form
    decision = DECISIONS.get(form.get("decision", ""))
    if decision is None:
        raise BadRequest("decision 应为 confirm 或 reject")
    section_ord = int_arg(form, "ord", WHOLE_DOCUMENT, minimum=WHOLE_DOCUMENT)
    mode = form.get("mode", "").strip()
    back = safe_next(form.get("next"), url_for("pages.document", doc_id=doc_id) + "#modes")  # before acting
    core().tagging.decide(doc_id, mode, decision, actor=viewer().username, section_ord=section_ord)
    flash(f"已{'确认' if decision == TagStatus.CONFIRMED else '拒绝'}工作模式“{mode}”", "ok")
    return redirect(back)


@bp.get("/review")
@require(Role.EDITOR)
def review():  # noqa: ANN201
    page = page_arg(request.args)
    total, items = core().tagging.review_queue(page, REVIEW_PAGE)
    pages = max(1, -(-total // REVIEW_PAGE))
    return render_template("tagging/review.html", items=items, total=total, page=page, pages=pages)
