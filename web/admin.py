"""Administration: importing uploaded files and managing accounts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from kb.accounts import ROLE_LABELS, ROLES
from kb.errors import BadRequest
from kb.model import Role

from . import core
from .auth import require, viewer

bp = Blueprint("admin", __name__)
BATCH_FORM_FIELDS = ("type", "region", "domain")  # the import form's batch metadata


@bp.route("/import", methods=["GET", "POST"])
@require(Role.ADMIN)
def import_files():  # noqa: ANN201
    """The upload form; POST: the files (``files``) and, for what they leave empty, the batch's
    ``type``, ``region`` and ``domain`` (a bad one: the form again with the message, nothing
    imported)."""
    if request.method != "POST":  # GET and HEAD (HEAD is not CSRF-checked: it must never import)
        return render_template("admin/import.html", report=None, job=None, batch={})
    batch = {name: request.form.get(name, "") for name in BATCH_FORM_FIELDS}
    files = [(f.filename, f.read()) for f in request.files.getlist("files") if f and f.filename]
    try:
        report, job = core().documents.import_uploads(files, actor=viewer().username, defaults=batch)
    except BadRequest as exc:
        return render_template("admin/import.html", report=None, job=None, batch=batch, error=exc.message), 400
    return render_template("admin/import.html", report=report, job=job, batch=batch)


@bp.get("/admin/users")
@require(Role.ADMIN)
def users():  # noqa: ANN201
    return render_template("admin/users.html", users=core().accounts.list(), roles=ROLES, labels=ROLE_LABELS)


@bp.post("/admin/users")
@require(Role.ADMIN)
def users_change():  # noqa: ANN201
    form = request.form
    accounts = core().accounts
    action = form.get("action", "")
    name = form.get("username", "").strip()
    if action == "add":
        accounts.add(name, form.get("password", ""), form.get("role", "reader"))
        flash(f"已新建用户 {name}", "ok")
    elif action == "role":
        accounts.set_role(name, form.get("role", ""), actor=viewer().username)
        flash(f"已修改 {name} 的角色", "ok")
    elif action == "password":
        accounts.set_password(name, form.get("password", ""))
        flash(f"已重设 {name} 的密码；其已登录的会话随即失效", "ok")
    else:
        raise BadRequest("action 应为 add、role 或 password")
    return redirect(url_for("admin.users"))
