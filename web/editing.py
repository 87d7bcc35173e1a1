"""Correcting a document's metadata in the site (editors): ``/doc/<id>/edit`` and
``POST /api/documents/<id>``. A save made from an older version of the metadata is refused with
409 and shown beside what is stored now, with what the editor typed kept (as pearl strings do)."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from kb.errors import BadRequest, Conflict
from kb.metadata import FIELDS, LABELS, LIST_FIELDS
from kb.model import Role

from . import core
from .auth import require, viewer
from .params import version_of

bp = Blueprint("editing", __name__)


def _form_value(stored: object) -> str:
    """A stored value as the form shows it (lists as 、-separated text)."""
    if isinstance(stored, list):
        return "、".join(stored)
    return "" if stored is None else str(stored)


def _page(doc_id: str, draft: dict[str, str] | None = None, conflict: str | None = None,
          error: str | None = None, status: int = 200):  # noqa: ANN202
    app = core()
    stored = app.documents.metadata(doc_id)
    shown = {name: _form_value(stored[name]) for name in FIELDS}
    return render_template("documents/edit.html", doc_id=doc_id, stored=stored, shown=shown,
                           draft=draft, conflict=conflict, error=error, labels=LABELS,
                           fields=FIELDS, list_fields=LIST_FIELDS, edits=app.documents.edits(doc_id)), status


@bp.get("/doc/<doc_id>/edit")
@require(Role.EDITOR)
def edit(doc_id: str):  # noqa: ANN201
    return _page(doc_id)


@bp.post("/doc/<doc_id>/edit")
@require(Role.EDITOR)
def save(doc_id: str):  # noqa: ANN201
    form = request.form
    changes = {name: form.get(name, "") for name in FIELDS if name in form}
    try:
        version = version_of(form.get("version"))
        changed, _ = core().documents.edit(doc_id, changes, viewer().username, version)
    except Conflict as exc:
        return _page(doc_id, draft=changes, conflict=exc.message, status=409)
    except BadRequest as exc:
        if exc.status == 404:
            raise
        return _page(doc_id, draft=changes, error=exc.message, status=400)
    if changed:
        flash("已保存：" + "、".join(LABELS[name] for name in changed) + "。检索索引稍后更新。", "ok")
    else:
        flash("没有改动。", "ok")
    return redirect(url_for("pages.document", doc_id=doc_id))


@bp.get("/api/documents/<doc_id>/metadata")
@require(Role.EDITOR)
def api_metadata(doc_id: str):  # noqa: ANN201
    """The editable fields as stored, with their ``version`` (to send back with a correction)."""
    return jsonify(core().documents.metadata(doc_id))


@bp.post("/api/documents/<doc_id>")
@require(Role.EDITOR)
def api_save(doc_id: str):  # noqa: ANN201
    """JSON ``{"title": …, …, "version": n}`` (any of the fields): 200 with ``changed``
    (``{field: [old, new]}``) and the ``metadata`` now stored (with its ``version``); 409 with the
    stored ``metadata`` when ``version`` is older than the stored one."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("请求体应为 JSON 对象，例如 {\"title\": \"…\", \"version\": 3}")
    unknown = sorted(set(body) - set(FIELDS) - {"version"})
    if unknown:
        raise BadRequest(f"不能修改的字段：{'、'.join(unknown)}（可改：{'、'.join(FIELDS)}）")
    changes = {name: body[name] for name in FIELDS if name in body}
    try:
        changed, _ = core().documents.edit(doc_id, changes, viewer().username, version_of(body.get("version")))
    except Conflict as exc:
        return jsonify({**exc.to_dict(), "metadata": core().documents.metadata(doc_id)}), 409
    return jsonify({"doc_id": doc_id, "changed": changed, "metadata": core().documents.metadata(doc_id)})


# ------------------------------------------------------------------ removing (administrators)
def _removal_page(doc_id: str, error: str | None = None, status: int = 200):  # noqa: ANN202
    app = core()
    doc = app.documents.show(doc_id)
    return render_template("documents/remove.html", doc=doc, strings=app.pearls.containing(doc_id, viewer()),
                           error=error), status


@bp.route("/doc/<doc_id>/remove", methods=["GET", "POST"])
@require(Role.ADMIN)
def remove(doc_id: str):  # noqa: ANN201
    """GET: the confirmation page (what is removed, the pearl strings that hold it); POST (with
    the CSRF token; ``keep_pearls`` to remove one that pearl strings hold): remove it, record
    the removal and update the index in a job, then go to the list of removed documents."""
    if request.method != "POST":  # GET and HEAD never remove
        return _removal_page(doc_id)
    title = core().documents.show(doc_id).title
    try:
        core().documents.remove(doc_id, actor=viewer().username, keep_pearls=request.form.get("keep_pearls") == "1")
    except Conflict as exc:
        return _removal_page(doc_id, error=exc.message, status=409)
    flash(f"已删除《{title}》（{doc_id}），删除已记录。检索索引稍后更新。", "ok")
    return redirect(url_for("editing.removed"))


@bp.get("/admin/removed")
@require(Role.ADMIN)
def removed():  # noqa: ANN201
    """The documents removed, newest first (who, when, which document, its title)."""
    return render_template("documents/removed.html", removals=core().documents.removals())
