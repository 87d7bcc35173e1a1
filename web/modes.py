"""The “1+N” modes page: every mode with its description, signal terms and cases; administrators
add and edit modes (taking effect in suggestions and facets at once, no restart)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from indexer.source import KnowledgeBaseSource
from kb.errors import NotFound
from kb.taxonomy import parse_signal_text

from . import get_kb, library
from .auth import require

bp = Blueprint("modes", __name__)


@bp.get("/modes")
def index():  # noqa: ANN201
    kb = get_kb()
    return render_template("modes/index.html", taxonomy=kb.modes.taxonomy(), modes=kb.modes.counts())


@bp.get("/modes/<name>")
def mode(name: str):  # noqa: ANN201
    kb = get_kb()
    found = next((m for m in kb.modes.counts() if m["name"] == name), None)
    if found is None:
        raise NotFound(f"没有名为 {name} 的工作模式")
    return render_template("modes/mode.html", mode=found, cases=kb.tags.documents_with_mode(name))


@bp.post("/modes")
@require("admin")
def save():  # noqa: ANN201
    kb = get_kb()
    form = request.form
    name = form.get("name", "").strip()
    signals = parse_signal_text(form.get("signals", ""))
    outcome = kb.modes.save(name, form.get("short", ""), form.get("description", ""), signals)
    kb.tags.resuggest()  # until the application core runs this as a background job
    library().store.update(KnowledgeBaseSource(kb))
    flash(f"已{'新增' if outcome == 'added' else '更新'}工作模式“{name}”，建议和筛选已随之更新", "ok")
    return redirect(url_for("modes.mode", name=name))
