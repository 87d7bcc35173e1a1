"""Pearl strings (串珍珠): build, reorder, annotate, publish, print.

Published strings are public at ``/pearls/<id>`` (a stable URL) even when the rest of the site
needs a login; drafts are seen by their curator and administrators only.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from kb.citation import cite
from kb.errors import BadRequest, Forbidden, NotFound
from kb.model import WHOLE_DOCUMENT
from kb.pearls import can_edit, can_view, pearl_section

from . import get_kb, public
from .auth import require, safe_next, viewer
from .params import int_arg

bp = Blueprint("pearls", __name__, url_prefix="/pearls")


def visible_string(string_id: int) -> dict:
    """The string, if the viewer may see it; a draft is NotFound to everyone else."""
    string = get_kb().pearls.get(string_id)
    if not can_view(string, viewer()):
        # A draft is not acknowledged to strangers: same answer as a missing one.
        raise NotFound("没有这串珍珠，或它还是草稿")
    return string


def _editable(string_id: int) -> dict:
    string = visible_string(string_id)
    if not can_edit(string, viewer()):
        raise Forbidden("只有这串珍珠的编者或管理员可以修改它")
    return string


def editable_strings() -> list[dict]:
    """The strings the viewer may add pearls to (for the “add to a pearl string” forms)."""
    user = viewer()
    if user is None or not user.can("editor"):
        return []
    pearls = get_kb().pearls
    return pearls.summaries() if user.can("admin") else pearls.summaries(owner=user.username)


def _citations(string: dict) -> dict[int, str]:
    return {p["id"]: cite(p["doc"]) for p in string["pearls"] if p["doc"]}


@bp.get("")
@public
def index():  # noqa: ANN201
    user = viewer()
    pearls = get_kb().pearls
    published = pearls.summaries(status="published")
    mine = pearls.summaries(owner=user.username) if user and user.can("editor") else []
    others = ([s for s in pearls.summaries(status="draft") if s["owner"] != user.username]
              if user and user.can("admin") else [])
    return render_template("pearls/index.html", published=published, mine=mine, others=others)


@bp.post("")
@require("editor")
def create():  # noqa: ANN201
    form = request.form
    string_id = get_kb().pearls.create(viewer().username, form.get("title", ""),
                                       form.get("theme", ""), form.get("intro", ""))
    flash("已新建一串珍珠（草稿）。从检索结果或案例页把做法加进来。", "ok")
    return redirect(url_for("pearls.edit", string_id=string_id))


@bp.get("/<int:string_id>")
@public
def view(string_id: int):  # noqa: ANN201
    string = visible_string(string_id)
    return render_template("pearls/view.html", string=string, citations=_citations(string),
                           editable=can_edit(string, viewer()))


@bp.get("/<int:string_id>/print")
@public
def handout(string_id: int):  # noqa: ANN201
    string = visible_string(string_id)
    return render_template("pearls/print.html", string=string, citations=_citations(string))


@bp.get("/<int:string_id>/edit")
@require("editor")
def edit(string_id: int):  # noqa: ANN201
    string = _editable(string_id)
    return render_template("pearls/edit.html", string=string)


@bp.post("/<int:string_id>/edit")
@require("editor")
def update(string_id: int):  # noqa: ANN201
    _editable(string_id)
    form = request.form
    get_kb().pearls.update(string_id, title=form.get("title", ""), theme=form.get("theme", ""),
                           intro=form.get("intro", ""))
    flash("已保存", "ok")
    return redirect(url_for("pearls.edit", string_id=string_id))


@bp.post("/add")
@require("editor")
def add():  # noqa: ANN201
    """Add a case (``ord`` absent or -1) or one of its practices to a string, or to a new one."""
    form = request.form
    kb = get_kb()
    doc_id = form.get("doc_id", "")
    ord_ = int_arg(form, "ord", WHOLE_DOCUMENT, minimum=WHOLE_DOCUMENT)
    target = form.get("string_id", "")
    doc = kb.documents.get(doc_id)  # check the pearl before anything is created for it
    folded = None
    if ord_ != WHOLE_DOCUMENT:
        asked = doc.section(ord_)
        if asked is None:
            raise BadRequest(f"案例 {doc_id} 没有第 {ord_} 节")
        section = pearl_section(doc.sections, ord_, doc_id)  # a bare heading: its first passage
        if section.ord != ord_:
            folded = asked.heading, section.heading
    if target == "new":
        title = form.get("new_title", "").strip() or "未命名的一串珍珠"
        string_id = kb.pearls.create(viewer().username, title)
    else:
        if not target.isdigit():
            raise BadRequest("请选择要加入的那一串珍珠")
        string_id = int(target)
        _editable(string_id)
    kb.pearls.add_pearl(string_id, doc_id, ord_)
    string = kb.pearls.get(string_id)
    note = f"“{folded[0]}”只有标题，已加入它下面的“{folded[1]}”；" if folded else ""
    flash(f"{note}已加入“{string['title']}”（现有 {len(string['pearls'])} 颗）", "ok")
    back = form.get("next")
    return redirect(safe_next(back) if back else url_for("pearls.edit", string_id=string_id))


@bp.post("/<int:string_id>/pearls/<int:pearl_id>")
@require("editor")
def pearl(string_id: int, pearl_id: int):  # noqa: ANN201
    """One form per pearl: ``action`` = up, down, remove or annotate (with ``commentary``)."""
    _editable(string_id)
    pearls = get_kb().pearls
    action = request.form.get("action", "")
    if action in ("up", "down"):
        pearls.move_pearl(string_id, pearl_id, -1 if action == "up" else 1)
    elif action == "remove":
        pearls.remove_pearl(string_id, pearl_id)
        flash("已移除这颗珍珠", "ok")
    elif action == "annotate":
        pearls.annotate(string_id, pearl_id, request.form.get("commentary", ""))
        flash("已保存点评", "ok")
    else:
        raise BadRequest("action 应为 up、down、remove 或 annotate")
    return redirect(url_for("pearls.edit", string_id=string_id) + f"#pearl-{pearl_id}")


@bp.post("/<int:string_id>/order")
@require("editor")
def order(string_id: int):  # noqa: ANN201
    """The new order after drag and drop: JSON ``{"order": [pearl ids]}`` or a form field
    ``order`` with ids separated by commas."""
    _editable(string_id)
    if request.is_json:
        raw = (request.get_json(silent=True) or {}).get("order")
    else:
        raw = request.form.get("order", "").split(",")
    if not isinstance(raw, list) or not all(str(x).strip().isdigit() for x in raw):
        raise BadRequest("order 应为珍珠编号的列表")
    get_kb().pearls.reorder(string_id, [int(x) for x in raw])
    if request.is_json or request.path.startswith("/api/"):
        return jsonify({"ok": True, "order": [p["id"] for p in get_kb().pearls.get(string_id)["pearls"]]})
    return redirect(url_for("pearls.edit", string_id=string_id))


@bp.post("/<int:string_id>/publish")
@require("editor")
def publish(string_id: int):  # noqa: ANN201
    _editable(string_id)
    action = request.form.get("action", "publish")
    pearls = get_kb().pearls
    if action == "publish":
        pearls.publish(string_id)
        flash("已发布：公开页面人人可见", "ok")
    elif action == "unpublish":
        pearls.unpublish(string_id)
        flash("已撤回为草稿：公开页面不再可见", "ok")
    else:
        abort(400)
    return redirect(url_for("pearls.edit", string_id=string_id))


@bp.post("/<int:string_id>/delete")
@require("editor")
def delete(string_id: int):  # noqa: ANN201
    _editable(string_id)
    get_kb().pearls.delete(string_id)
    flash("已删除这串珍珠", "ok")
    return redirect(url_for("pearls.index"))
