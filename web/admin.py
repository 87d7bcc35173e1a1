"""Administration: importing uploaded files and managing accounts."""

from __future__ import annotations

from pathlib import PurePosixPath

from flask import Blueprint, flash, redirect, render_template, request, url_for

from indexer.source import KnowledgeBaseSource
from kb.accounts import ROLE_LABELS, ROLES
from kb.errors import BadRequest
from kb.ingest import IngestItem, IngestReport
from kb.model import IngestStatus, Role

from . import get_kb, library
from .auth import require, viewer

bp = Blueprint("admin", __name__)
MAX_FILES = 500


def upload_name(filename: str | None) -> str:
    """The file's own name, without any folder a browser or a forged request put in front."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    if not name or name in (".", "..") or name.startswith("."):
        raise BadRequest("上传的文件没有有效的文件名")
    return name


@bp.route("/import", methods=["GET", "POST"])
@require("admin")
def import_files():  # noqa: ANN201
    if request.method == "GET":
        return render_template("admin/import.html", report=None, index=None)
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        raise BadRequest("请选择要导入的文件（.md、.txt、.docx）")
    if len(files) > MAX_FILES:
        raise BadRequest(f"一次最多导入 {MAX_FILES} 个文件")
    kb = get_kb()
    report = IngestReport()
    seen: dict[str, str] = {}
    for upload in files:
        try:
            name = upload_name(upload.filename)
        except BadRequest as exc:
            report.items.append(IngestItem(upload.filename or "?", IngestStatus.REJECTED, reason=exc.message))
            continue
        item = kb.imports.ingest_bytes(upload.read(), PurePosixPath("upload") / name, seen=seen)
        item.path = name
        report.items.append(item)
    summary = library().store.update(KnowledgeBaseSource(kb))
    return render_template("admin/import.html", report=report, index=summary)


@bp.get("/admin/users")
@require("admin")
def users():  # noqa: ANN201
    return render_template("admin/users.html", users=get_kb().accounts.list(), roles=ROLES,
                           labels=ROLE_LABELS)


@bp.post("/admin/users")
@require("admin")
def users_change():  # noqa: ANN201
    form = request.form
    accounts = get_kb().accounts
    action = form.get("action", "")
    name = form.get("username", "").strip()
    if action == "add":
        accounts.add(name, form.get("password", ""), form.get("role", Role.READER))
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
