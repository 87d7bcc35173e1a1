"""The Flask site and JSON API. ``create_app`` builds the app; nothing is created at import time."""

from __future__ import annotations

from flask import Flask, g, jsonify, render_template, request

from indexer.library import Library
from kb.errors import KbError
from kb.settings import SETTINGS, load_settings

_SETTING_NAMES = {s.name for s in SETTINGS}


def create_app(config: dict[str, object] | None = None, library: Library | None = None) -> Flask:
    """Application factory. ``config`` may hold Hongxian settings (``data_dir`` …) and Flask keys."""
    app = Flask(__name__)
    config = dict(config or {})
    overrides = {k: config.pop(k) for k in list(config) if k in _SETTING_NAMES}
    if library is None:
        library = Library(load_settings(overrides=overrides))
    app.config.from_mapping(MAX_CONTENT_LENGTH=32 * 1024 * 1024)
    app.config.update(config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["hongxian"] = library

    from . import api, pages

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.teardown_appcontext(_close_kb)
    app.register_error_handler(KbError, _kb_error)
    app.register_error_handler(404, _not_found)
    app.after_request(_security_headers)
    return app


def library() -> Library:
    from flask import current_app

    return current_app.extensions["hongxian"]


def get_kb():  # noqa: ANN201 - KnowledgeBase
    """The request's knowledge-base handle, closed at teardown."""
    if "kb" not in g:
        g.kb = library().kb()
    return g.kb


def _close_kb(exc: BaseException | None = None) -> None:
    kb = g.pop("kb", None)
    if kb is not None:
        kb.close()


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _kb_error(exc: KbError):  # noqa: ANN202
    if _wants_json():
        return jsonify(exc.to_dict()), exc.status
    return render_template("error.html", message=exc.message, status=exc.status), exc.status


def _not_found(exc: Exception):  # noqa: ANN202
    if _wants_json():
        return jsonify({"error": "not_found", "message": "没有这个地址"}), 404
    return render_template("error.html", message="没有这个页面", status=404), 404


def _security_headers(response):  # noqa: ANN001, ANN202
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response
