"""Pearl strings (串珍珠): build, reorder, annotate, publish, print.

Published strings are public at ``/pearls/<id>`` (a stable URL) even when the rest of the site
needs a login; drafts are seen by their curator and administrators only (the rules are the
core's: :mod:`hongxian.curation`).

Every form of the edit page, and the drag-and-drop order request, carries the ``version`` of the
string it was made from; a save from an older version than the stored one is refused with 409
and the edit page shown again with what is stored now and the user's unsaved text still in the
form (see :func:`conflict`). A request without ``version`` is applied as before.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from hongxian.curation import NEW_STRING
from kb.errors import BadRequest, Conflict, KbError, NotFound
from kb.model import WHOLE_DOCUMENT, Role

from . import core, public
from .auth import require, safe_next, viewer
from .params import ID, id_list, id_value, int_arg, version_of

bp = Blueprint("pearls", __name__, url_prefix="/pearls")


@bp.errorhandler(Conflict)
def conflict(exc: Conflict):  # noqa: ANN201
    """A change made from an older version of the string (someone else saved in between): 409.
    The drag and drop gets the JSON error (with the stored ``version``); a form gets the edit
    page again, showing what is stored now, with what the user typed kept in its form."""
    if request.is_json:
        return jsonify(exc.to_dict()), 409
    try:
        string = core().pearls.editable(request.view_args["string_id"], viewer())
    except KbError:  # no longer theirs to edit: just say what happened
        return render_template("error.html", message=exc.message, status=409), 409
    form, draft, commentary = request.form, None, {}
    if request.endpoint == "pearls.update":
        draft = {name: form.get(name, "") for name in ("title", "theme", "intro")}
    elif request.endpoint == "pearls.pearl" and form.get("action") == "annotate":
        commentary = {request.view_args["pearl_id"]: form.get("commentary", "")}
    return render_template("pearls/edit.html", string=string, conflict=exc.message, draft=draft,
                           unsaved_commentary=commentary), 409


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
    """The handout to print from the browser: the outline of the PDF (:mod:`hongxian.handouts`)."""
    string = core().pearls.get(string_id, viewer())
    return render_template("pearls/print.html", string=string,
                           outline=core().handouts.pearl_outline(string_id, viewer()))


@bp.get(f"/<{ID}:string_id>/edit")
@require(Role.EDITOR)
def edit(string_id: int):  # noqa: ANN201
    return render_template("pearls/edit.html", string=core().pearls.editable(string_id, viewer()))


@bp.post(f"/<{ID}:string_id>/edit")
@require(Role.EDITOR)
def update(string_id: int):  # noqa: ANN201
    form = request.form
    core().pearls.update(string_id, viewer(), form.get("title", ""), form.get("theme", ""), form.get("intro", ""),
                         version_of(form.get("version")))
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
    version = version_of(request.form.get("version"))
    if action in ("up", "down"):
        pearls.move(string_id, pearl_id, user, -1 if action == "up" else 1, version)
    elif action == "remove":
        pearls.remove(string_id, pearl_id, user, version)
        flash("已移除这颗珍珠", "ok")
    elif action == "annotate":
        pearls.annotate(string_id, pearl_id, user, request.form.get("commentary", ""), version)
        flash("已保存点评", "ok")
    else:
        pearls.editable(string_id, user)  # a stranger learns nothing from a bad action
        raise BadRequest("action 应为 up、down、remove 或 annotate")
    return redirect(url_for("pearls.edit", string_id=string_id) + f"#pearl-{pearl_id}")


@bp.post(f"/<{ID}:string_id>/order")
@require(Role.EDITOR)
def order(string_id: int):  # noqa: ANN201
    """The new order after drag and drop: JSON ``{"order": [pearl ids], "version": N}`` or form
    fields ``order`` (ids separated by commas) and ``version``. Answers ``{"ok", "order",
    "version"}`` (the stored order and the string's new version)."""
    core().pearls.editable(string_id, viewer())
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nested too deep for the JSON parser: not an order either
            body = None
        raw = body.get("order") if isinstance(body, dict) else None  # a list or a string: 400
        version = version_of(body.get("version")) if isinstance(body, dict) else None
    else:
        raw = request.form.get("order", "").split(",")
        version = version_of(request.form.get("version"))
    string = core().pearls.reorder(string_id, viewer(), id_list(raw, "order 应为珍珠编号的列表"), version)
    if request.is_json or request.path.startswith("/api/"):
        return jsonify({"ok": True, "order": [p["id"] for p in string["pearls"]], "version": string["version"]})
    return redirect(url_for("pearls.edit", string_id=string_id))


@bp.post(f"/<{ID}:string_id>/publish")
@require(Role.EDITOR)
def publish(string_id: int):  # noqa: ANN201
    action = request.form.get("action", "publish")
    version = version_of(request.form.get("version"))
    if action == "publish":
        core().pearls.publish(string_id, viewer(), version)
        flash("已发布：公开页面人人可见", "ok")
    elif action == "unpublish":
        core().pearls.unpublish(string_id, viewer(), version)
        flash("已撤回为草稿：公开页面不再可见", "ok")
    else:
        core().pearls.editable(string_id, viewer())  # a stranger learns nothing from a bad action
        raise BadRequest("action 应为 publish 或 unpublish")
    return redirect(url_for("pearls.edit", string_id=string_id))


@bp.post(f"/<{ID}:string_id>/delete")
@require(Role.EDITOR)
def delete(string_id: int):  # noqa: ANN201
    core().pearls.delete(string_id, viewer())
    flash("已删除这串珍珠", "ok")
    return redirect(url_for("pearls.index"))
