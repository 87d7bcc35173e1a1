"""Background jobs on the site: what is running, queued or finished, and how far it got."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from kb.model import Role

from . import core
from .auth import require

bp = Blueprint("jobs", __name__)
SHOWN = 30


@bp.get("/jobs")
@require(Role.EDITOR)
def index():  # noqa: ANN201
    return render_template("jobs.html", status=core().status(), jobs=core().jobs.recent(SHOWN),
                           server=core().process())


@bp.get("/api/jobs")
@require(Role.EDITOR)
def api():  # noqa: ANN201
    """``{"status": …, "jobs": [...], "server": …}``: the same objects as ``kb status --json`` and
    ``kb jobs --json``, and this server process (its memory: :meth:`hongxian.Hongxian.process`)."""
    return jsonify({"status": core().status(), "jobs": [j.to_dict() for j in core().jobs.recent(SHOWN)],
                    "server": core().process()})


def active_jobs() -> list:
    """The jobs queued or running, for the status line editors see on every page."""
    return core().jobs.active()
