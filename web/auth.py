"""Login, logout, the first administrator, and the role checks every other view uses.

Sessions are Flask's signed cookies managed by Flask-Login; the session id carries the account's
``session_version``, so changing a password or role signs the account's other sessions out, and
the token of a server-side session (table ``sessions``), which logout deletes: a copy of the
cookie made before logging out opens nothing afterwards. Logins are throttled (429 after too
many failures per account or per address; :mod:`kb.accounts`). CSRF protection (Flask-WTF)
covers every POST, including the JSON API's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from kb.accounts import TooManyAttempts, User
from kb.errors import BadRequest, Forbidden, Unauthorized

from . import core

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # never in a header (CR LF …) or a path
_MAX_NEXT = 2000


class SessionUser(UserMixin):
    """Flask-Login's view of an account in one session (``token``: its row in ``sessions``)."""

    def __init__(self, user: User, token: str) -> None:
        self.user = user
        self.token = token

    def get_id(self) -> str:
        return f"{self.user.username}\n{self.user.session_version}\n{self.token}"


@login_manager.user_loader
def _load(session_id: str) -> SessionUser | None:
    username, version, token = ([*session_id.split("\n"), "", ""])[:3]
    if not token:  # a cookie from before sessions were kept: log in again
        return None
    user = core().accounts.session_user(token)
    if user is None or user.username != username or str(user.session_version) != version:
        return None
    return SessionUser(user, token)


def _log_in(user: User) -> None:
    """A fresh session (no fixation), recorded server-side so that logout can end it."""
    session.clear()
    session.permanent = True
    login_user(SessionUser(user, core().accounts.open_session(user)))


def viewer() -> User | None:
    """The logged-in account, or None."""
    return current_user.user if current_user.is_authenticated else None


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only same-site paths: never an absolute URL or a scheme-relative ``//host``, nor one with
    control characters (``\\r\\n`` would break the redirect's header). Anything else is the
    ``default`` (the home page). Views call it before acting, so a bad ``next`` cannot fail a
    request after its change was made."""
    fallback = default or url_for("pages.index")
    if not target or len(target) > _MAX_NEXT or _CONTROL.search(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return fallback
    return target


def require(role: str) -> Callable:
    """View decorator: the viewer must be logged in with ``role`` or a stronger one."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = viewer()
            if user is None:
                raise Unauthorized("请先登录")
            if not user.can(role):
                raise Forbidden(f"您的角色（{user.role_label}）不能进行这项操作")
            return view(*args, **kwargs)

        return wrapped

    return decorate


def login_page_for(path: str) -> str:
    return url_for("auth.login", next=path)


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    if not core().accounts.count():
        return redirect(url_for("auth.setup"))
    target = safe_next(request.values.get("next"))
    error, status, retry_after = None, 200, None
    if request.method == "POST":
        try:
            user = core().accounts.login(request.form.get("username", ""), request.form.get("password", ""),
                                         request.remote_addr or "")
        except TooManyAttempts as exc:
            error, status, retry_after = exc.message, 429, exc.retry_after
        else:
            if user is not None:
                _log_in(user)
                return redirect(target)
            error, status = "用户名或密码不正确", 401
    response = make_response(render_template("auth/login.html", error=error, next=target,
                                             username=request.form.get("username", "")), status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.post("/logout")
def logout():  # noqa: ANN201
    """End this session on the server too: a copy of its cookie opens nothing afterwards."""
    if current_user.is_authenticated:
        core().accounts.close_session(current_user.token)
    logout_user()
    session.clear()
    return redirect(url_for("pages.index"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():  # noqa: ANN201
    """Create the first administrator; only while there is no account at all."""
    accounts = core().accounts
    if accounts.count():
        return redirect(url_for("auth.login"))
    error = None
    if request.method == "POST":
        form = request.form
        try:
            user = accounts.setup(form.get("username", ""), form.get("password", ""), form.get("password2", ""))
        except BadRequest as exc:
            error = exc.message
        else:
            _log_in(user)
            current_app.logger.info("first administrator %s created", user.username)
            return redirect(url_for("pages.index"))
    return render_template("auth/setup.html", error=error,
                           username=request.form.get("username", "")), 400 if error else 200
