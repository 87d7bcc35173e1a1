"""The Flask site and JSON API, a front of the application core (:mod:`hongxian`).

``create_app`` builds the app over a core (its configuration checked at once: a bad setting,
taxonomy, dictionary or synonyms file stops the start with a clear message); nothing is created
at import time. Views parse the request, call one use case of the core and render the answer.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, jsonify, redirect, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from hongxian import Hongxian
from hongxian.citations import is_loopback
from kb.errors import KbError, Unauthorized, storage_error
from kb.model import WHOLE_DOCUMENT
from kb.settings import SETTINGS, Settings, load_settings

from .params import MAX_FORM_BYTES, MAX_FORM_PARTS

_SETTING_NAMES = {s.name for s in SETTINGS}
csrf = CSRFProtect()
log = logging.getLogger(__name__)


def public(view: Callable) -> Callable:
    """Mark a view as reachable without a login even when ``login_required`` is on (the view
    still checks what it shows, e.g. only published pearl strings)."""
    view.hongxian_public = True  # type: ignore[attr-defined]
    return view


class _LazyKeySessions(SecureCookieSessionInterface):
    """Signed-cookie sessions whose key is read (or generated) on first use, so that creating
    the app writes nothing to the data directory.

    A key that cannot be saved (a full disk, a read-only data directory) does not take the site
    down: the generated key signs this process's sessions and saving the same key is tried again
    (every :attr:`RETRY_SECONDS`), so sessions survive once it is saved."""

    RETRY_SECONDS = 30.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._unsaved: str | None = None  # a key in use that is not yet in the data directory
        self._next_try = 0.0

    def get_signing_serializer(self, app: Flask):  # noqa: ANN201
        if not app.secret_key or (self._unsaved and time.monotonic() >= self._next_try):
            with self._lock:
                if not app.secret_key or (self._unsaved and time.monotonic() >= self._next_try):
                    app.secret_key = self._key()
        return super().get_signing_serializer(app)

    def _key(self) -> str:
        try:
            key = _secret_key(self.settings, new=self._unsaved)
        except OSError as exc:
            key = self._unsaved or secrets.token_hex(32)
            if self._unsaved is None:
                log.error("cannot save the session key in %s (%s): signing this process's sessions "
                          "with a key kept in memory until it can be saved",
                          Path(self.settings.data_dir) / SECRET_KEY_FILE, exc.strerror or exc)
            self._unsaved = key
            self._next_try = time.monotonic() + self.RETRY_SECONDS
            return key
        if self._unsaved is not None:
            log.warning("session key saved in %s", Path(self.settings.data_dir) / SECRET_KEY_FILE)
        self._unsaved = None
        return key


class _Request(Request):
    """Only a multipart upload may be as large as ``upload_mb``; any other body (a form of
    text, a JSON request) is refused beyond :data:`MAX_FORM_BYTES` before it is read (werkzeug
    reads an url-encoded body whole and bounds only multipart fields by their size)."""

    @property
    def max_content_length(self) -> int | None:
        limit = super().max_content_length
        if self.mimetype == "multipart/form-data":
            return limit
        return MAX_FORM_BYTES if limit is None else min(limit, MAX_FORM_BYTES)


SECRET_KEY_FILE = "secret_key"
MIN_KEY_LENGTH = 32  # a shorter key file is a broken one (e.g. cut short by a full disk)
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}


def _read_key(path: Path) -> str | None:
    """The key the file holds, or None if there is none: missing, empty, whitespace only, too
    short, not text or unreadable (each but a missing file logged)."""
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("ignoring the unreadable session key file %s: %s", path, exc)
        return None
    if len(key) < MIN_KEY_LENGTH:
        log.warning("ignoring the session key file %s: %s", path, "empty" if not key else "too short")
        return None
    return key


def _secret_key(settings: Settings, new: str | None = None) -> str:
    """The configured key, else the one kept in the data directory (mode 600), else a new one
    (``new`` if given) saved there first. Saving is atomic: the key is written and synced to a
    temporary file beside it, then linked into place, so no process ever reads half a key and
    of two starting at once, both use the one that was linked first; a broken key file (see
    :func:`_read_key`) is replaced. Raises OSError when the key cannot be saved."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / SECRET_KEY_FILE
    key = _read_key(path)
    if key is not None:
        return key
    key = new or secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            data = key.encode("ascii")
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # only if there is no key file: the first starter wins
        except FileExistsError:
            if (existing := _read_key(path)) is not None:
                return existing  # another process saved its key meanwhile
            os.replace(tmp, path)  # a broken key file
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            os.replace(tmp, path)  # a file system without hard links: the last starter wins
        _sync_folder(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_key(path) or key


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_app(config: dict[str, object] | None = None, core: Hongxian | None = None) -> Flask:
    """Application factory. ``config`` may hold Flask keys and, when no ``core`` is given,
    Hongxian settings (``data_dir`` …, converted like every other source of settings). A given
    core brings its own settings: settings beside it are refused rather than silently applied
    to a copy (build the core with them: ``Hongxian(override(settings, {...}))``)."""
    app = Flask(__name__)
    app.request_class = _Request
    config = dict(config or {})
    overrides = {k: config.pop(k) for k in list(config) if k in _SETTING_NAMES}
    if core is None:
        core = Hongxian(load_settings(overrides=overrides), background=True)
    elif overrides:
        raise ValueError(f"设置 {'、'.join(overrides)} 应在创建核心（Hongxian）时给出，而不是与现成的核心一起传给 create_app")
    core.check()
    core.jobs.abandon_stale()
    settings = core.settings
    app.session_interface = _LazyKeySessions(settings)
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key or None,
        MAX_CONTENT_LENGTH=settings.upload_mb * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES,
        MAX_FORM_PARTS=MAX_FORM_PARTS,
        SESSION_COOKIE_NAME="hongxian_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        REMEMBER_COOKIE_DURATION=timedelta(hours=settings.session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session: long commentary must not expire
        WTF_CSRF_SSL_STRICT=settings.cookie_secure,
        LOGIN_REQUIRED=settings.login_required,
    )
    app.config.update(config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["hongxian"] = core

    from . import admin, api, auth, editing, handouts, jobs, modes, pages, pearls, tagging

    csrf.init_app(app)
    auth.login_manager.init_app(app)
    for module in (pages, auth, modes, tagging, pearls, admin, api, jobs, editing, handouts):
        app.register_blueprint(module.bp)
    from . import citations, feeds, sharing, stats

    for module in (stats, feeds):  # the picture of the collection, the Atom feed
        app.register_blueprint(module.bp)
    app.register_blueprint(citations.bp)  # RIS / BibTeX / text references
    sharing.init_app(app)  # Open Graph metadata
    app.before_request(_gate)
    app.context_processor(_template_globals)
    from .markdown import markdown_excerpt, render_markdown

    app.jinja_env.globals["WHOLE_DOCUMENT"] = WHOLE_DOCUMENT  # a pearl or tag of the whole case
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_filter(markdown_excerpt, "excerpt")
    from hongxian.handouts import strip_numbering

    app.add_template_filter(strip_numbering, "unnumbered")  # a pearl's heading without 2、 （三）
    app.register_error_handler(Unauthorized, _unauthorized)
    app.register_error_handler(KbError, _kb_error)
    app.register_error_handler(OSError, _storage_error)
    app.register_error_handler(sqlite3.OperationalError, _storage_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(404, _not_found)
    app.register_error_handler(405, _not_allowed)
    app.register_error_handler(413, _too_large)
    app.register_error_handler(HTTPException, _http_error)
    app.after_request(_security_headers)
    return app


def _gate():  # noqa: ANN202
    """With ``login_required`` on, everything but public views needs a login."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = app_view(request.endpoint)
    if getattr(view, "hongxian_public", False) or request.blueprint == "auth":
        return None
    from .auth import viewer

    if viewer() is None and _login_required():
        raise Unauthorized("请先登录")
    return None


def app_view(endpoint: str) -> Callable | None:
    from flask import current_app

    return current_app.view_functions.get(endpoint)


def _login_required() -> bool:
    from flask import current_app

    return bool(current_app.config["LOGIN_REQUIRED"])


def _template_globals() -> dict[str, object]:
    from kb.citation import DOCUMENT_TYPES

    from .auth import viewer
    from .jobs import active_jobs

    return {"viewer": viewer(), "login_required": _login_required(), "active_jobs": active_jobs,
            "DOCUMENT_TYPES": DOCUMENT_TYPES}


def core() -> Hongxian:
    """The application core every view calls."""
    from flask import current_app

    return current_app.extensions["hongxian"]


def _wants_json() -> bool:
    """A JSON client: the API, a request that sent JSON (the drag and drop of a pearl string),
    or one that asks for JSON only."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    accept = request.accept_mimetypes
    return accept.best == "application/json" and not accept.accept_html


def _kb_error(exc: KbError):  # noqa: ANN202
    if exc.server_fault:  # the operator reads the whole message (paths included) in the log
        log.error("%s %s: %s (%s)", request.method, request.path, exc.message, exc.code)
    if _wants_json():
        return jsonify(exc.to_dict()), exc.status
    return render_template("error.html", message=exc.public_message, status=exc.status), exc.status


def _storage_error(exc: Exception):  # noqa: ANN202
    """A full disk or an unwritable data directory is a 507 or 503 with a Chinese message (JSON
    under /api/), its details in the log; any other OSError or SQLite fault stays a 500."""
    fault = storage_error(exc)
    if fault is None:
        raise exc
    return _kb_error(fault)


def _error(status: int, code: str, message: str):  # noqa: ANN202
    if _wants_json():
        return jsonify({"error": code, "message": message}), status
    return render_template("error.html", message=message, status=status), status


def _not_found(exc: Exception):  # noqa: ANN202
    return _error(404, "not_found", "没有这个页面" if not _wants_json() else "没有这个地址")


def _not_allowed(exc: Exception):  # noqa: ANN202
    return _error(405, "method_not_allowed", "这个地址不接受这种请求方法")


def _too_large(exc: Exception):  # noqa: ANN202
    """An upload over ``upload_mb``, or another body over :data:`MAX_FORM_BYTES`, or a form of more
    than :data:`MAX_FORM_PARTS` fields (files included)."""
    from flask import current_app

    limit = core().settings.upload_mb
    if request.mimetype == "multipart/form-data" and (request.content_length or 0) > current_app.config["MAX_CONTENT_LENGTH"]:
        return _error(413, "too_large", f"上传的内容太大（上限 {limit} MB，可在设置 upload_mb 中调整），没有做任何修改")
    return _error(413, "too_large", f"表单的内容太多（文字最多 {MAX_FORM_BYTES // 1000} KB，"
                                    f"字段最多 {MAX_FORM_PARTS} 个），没有做任何修改")


def _http_error(exc: HTTPException):  # noqa: ANN202
    """Any other refusal werkzeug or a view makes (400, 415 …): a Chinese page, not werkzeug's
    English one. A 5xx is left to Flask."""
    if exc.code is None or exc.code >= 500:
        return exc
    if exc.code == 400:
        return _error(400, "bad_request", "请求有误，无法处理，没有做任何修改")
    return _error(exc.code, "http_error", f"请求无法处理（HTTP {exc.code}），没有做任何修改")


def _csrf_error(exc: CSRFError):  # noqa: ANN202
    return _error(400, "csrf", "表单已失效或来源不明（缺少 CSRF 令牌），没有做任何修改。请刷新页面后重试。")


def _unauthorized(exc: Unauthorized):  # noqa: ANN202
    from .auth import login_page_for

    if _wants_json():
        return jsonify(exc.to_dict()), 401
    if not core().accounts.count():
        from flask import url_for

        return redirect(url_for("auth.setup"))
    return redirect(login_page_for(request.full_path if request.query_string else request.path))


def _security_headers(response):  # noqa: ANN001, ANN202
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure or is_loopback(request.url_root):
        # Browsers ignore COOP on an untrustworthy origin (plain HTTP at a network address) and
        # log an error on every page: send it only where it takes effect.
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if response.mimetype == "text/html" or request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def absolute_url(path: str) -> str:
    """``path`` (``/pearls/3``, with its query string if any) as an absolute URL: the one place
    the site makes absolute URLs (Open Graph, the Atom feed). The ``public_url`` setting, the
    address readers use, else the request's own address."""
    base = core().settings.public_url or request.url_root.rstrip("/")
    return base + "/" + path.lstrip("/")
