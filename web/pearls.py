"""Pearl strings (串珍珠): build, reorder, annotate, publish, print.

Published strings are public at ``/pearls/<id>`` (a stable URL) even when the rest of the site
needs a login; drafts are seen by their curator and administrators only (the rules are the
core's: :mod:`hongxian.curation`).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from hongxian.curation import NEW_STRING
from kb.errors import BadRequest, NotFound
from kb.model import WHOLE_DOCUMENT, Role

from . import core, public
from .auth import require, safe_next, viewer
from .params import ID, id_list, id_value, int_arg

bp = Blueprint("pearls", __name__, url_prefix="/pearls")


@bp.get("")
@public
def index():  # noqa: ANN201
    return render_template("pearls/index.html", **core().pearls.overview(viewer()))


@bp.post("")
@require(Role.EDITOR)
def create():  # noqa: ANN201
    form = request.form
    string_id = core().pearls.create(viewer(), form.get("title", ""), form.get("theme", ""), form.get("intro", ""))
    flash("已新建一串珍珠（草稿）。从检索结果或案例页把做法加进来。", "ok")
    return redirect(url_for("pearls.edit", string_id=string_id))


@bp.get(f"/<{ID}:string_id>")
@public
def view(string_id: int):  # noqa: ANN201
    string = core().pearls.get(string_id, viewer())
    return render_template("pearls/view.html", string=string, citations=core().pearls.citations(string),
                           editable=core().pearls.may_edit(string, viewer()))


@bp.get(f"/<{ID}:string_id>/print")
@public
def handout(string_id: int):  # noqa: ANN201
    string = core().pearls.get(string_id, viewer())
    return render_template("pearls/print.html", string=string, citations=core().pearls.citations(string))


@bp.get(f"/<{ID}:string_id>/edit")
@require(Role.EDITOR)
def edit(string_id: int):  # noqa: ANN201
    return render_template("pearls/edit.html", string=core().pearls.editable(string_id, viewer()))


@bp.post(f"/<{ID}:string_id>/edit")
@require(Role.EDITOR)
def update(string_id: int):  # noqa: ANN201
    form = request.form
    core().pearls.update(string_id, viewer(), form.get("title", ""), form.get("theme", ""), form.get("intro", ""))
    flash("已保存", "ok")
    return redirect(url_for("pearls.edit", string_id=string_id))


@bp.post("/add")
@require(Role.EDITOR)
def add():  # noqa: ANN201
    """Add a case (``ord`` absent or -1) or one of its practices to a string, or to a new one."""
    form = request.form
    back = safe_next(form.get("next")) if form.get("next") else None  # checked before acting
    section_ord = int_arg(form, "ord", WHOLE_DOCUMENT, minimum=WHOLE_DOCUMENT)
    target = form.get("string_id", "")
    if target != NEW_STRING:
        string_id = id_value(target)
        if string_id is None and target.isascii() and target.isdigit():  # no string has such an id
            raise NotFound(f"没有编号为 {target[:30]} 的串珍珠")
        if string_id is None:
            raise BadRequest("请选择要加入的那一串珍珠")
        target = str(string_id)
    string, folded = core().pearls.add(viewer(), form.get("doc_id", ""), section_ord, target,
                                       form.get("new_title", ""))
    note = f"“{folded[0]}”只有标题，已加入它下面的“{folded[1]}”；" if folded else ""
    flash(f"{note}已加入“{string['title']}”（现有 {len(string['pearls'])} 颗）", "ok")
    return redirect(back or url_for("pearls.edit", string_id=string["id"]))


@bp.post(f"/<{ID}:string_id>/pearls/<{ID}:pearl_id>")
@require(Role.EDITOR)
def pearl(string_id: int, pearl_id: int):  # noqa: ANN201
    """One form per pearl: ``action`` = up, down, remove or annotate (with ``commentary``)."""
    pearls, user = core().pearls, viewer()
    action = request.form.get("action", "")
    if action in ("up", "down"):
        pearls.move(string_id, pearl_id, user, -1 if action == "up" else 1)
    elif action == "remove":
        pearls.remove(string_id, pearl_id, user)
        flash("已移除这颗珍珠", "ok")
    elif action == "annotate":
        pearls.annotate(string_id, pearl_id, user, request.form.get("commentary", ""))
        flash("已保存点评", "ok")
    else:
        pearls.editable(string_id, user)  # a stranger learns nothing from a bad action
        raise BadRequest("action 应为 up、down、remove 或 annotate")
    return redirect(url_for("pearls.edit", string_id=string_id) + f"#pearl-{pearl_id}")


@bp.post(f"/<{ID}:string_id>/order")
@require(Role.EDITOR)
def order(string_id: int):  # noqa: ANN201
    """The new order after drag and drop: JSON ``{"order": [pearl ids]}`` or a form field
    ``order`` with ids separated by commas."""
    core().pearls.editable(string_id, viewer())
    if request.is_json:
        body = request.get_json(silent=True)
        raw = body.get("order") if isinstance(body, dict) else None  # a list or a string: 400
    else:
        raw = request.form.get("order", "").split(",")
    stored = core().pearls.reorder(string_id, viewer(), id_list(raw, "order 应为珍珠编号的列表"))
    if request.is_json or request.path.startswith("/api/"):
        return jsonify({"ok": True, "order": stored})
    return redirect(url_for("pearls.edit", string_id=string_id))


@bp.post(f"/<{ID}:string_id>/publish")
@require(Role.EDITOR)
def publish(string_id: int):  # noqa: ANN201
    action = request.form.get("action", "publish")
    if action == "publish":
        core().pearls.publish(string_id, viewer())
        flash("已发布：公开页面人人可见", "ok")
    elif action == "unpublish":
        core().pearls.unpublish(string_id, viewer())
        flash("已撤回为草稿：公开页面不再可见", "ok")
    else:
        core().pearls.editable(string_id, viewer())
        abort(400)
    return redirect(url_for("pearls.edit", string_id=string_id))


@bp.post(f"/<{ID}:string_id>/delete")
@require(Role.EDITOR)
def delete(string_id: int):  # noqa: ANN201
    core().pearls.delete(string_id, viewer())
    flash("已删除这串珍珠", "ok")
    return redirect(url_for("pearls.index"))
