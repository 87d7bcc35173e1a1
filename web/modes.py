"""The “1+N” modes page: every mode with its description, signal terms and cases; administrators
add and edit modes (saved at once; suggestions and facets follow in a background job)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from kb.model import Role

from . import core
from .auth import require, viewer

bp = Blueprint("modes", __name__)


@bp.get("/modes")
def index():  # noqa: ANN201
    return render_template("modes/index.html", taxonomy=core().modes.taxonomy(), modes=core().modes.counts())


@bp.get("/modes/<path:name>", merge_slashes=False)  # a name may hold a "/" (联建/共建型)
def mode(name: str):  # noqa: ANN201
    found, cases = core().modes.mode(name)
    return render_template("modes/mode.html", mode=found, cases=cases)


@bp.post("/modes")
@require(Role.ADMIN)
def save():  # noqa: ANN201
    form = request.form
    name = form.get("name", "").strip()
    outcome, _ = core().modes.save(name, form.get("short", ""), form.get("description", ""),
                                   form.get("signals", ""), actor=viewer().username)
    flash(f"已{'新增' if outcome == 'added' else '更新'}工作模式“{name}”；建议和筛选正在后台随之更新", "ok")
    return redirect(url_for("modes.mode", name=name))
