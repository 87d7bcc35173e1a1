"""Login, logout, the first administrator, and the role checks every other view uses.

Sessions are Flask's signed cookies managed by Flask-Login; the session id carries the account's
``session_version``, so changing a password or role signs the account's other sessions out.
CSRF protection (Flask-WTF) covers every POST, including the JSON API's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from kb.accounts import User
from kb.errors import BadRequest, Forbidden, Unauthorized

from . import core

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class SessionUser(UserMixin):
    """Flask-Login's view of an account."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.username}\n{self.user.session_version}"


@login_manager.user_loader
def _load(session_id: str) -> SessionUser | None:
    username, _, version = session_id.partition("\n")
    user = core().accounts.get(username)
    if user is None or str(user.session_version) != version:
        return None
    return SessionUser(user)


def viewer() -> User | None:
    """The logged-in account, or None."""
    return current_user.user if current_user.is_authenticated else None


def safe_next(target: str | None) -> str:
    """Only same-site paths: never an absolute URL or a scheme-relative ``//host``."""
    if not target:
        return url_for("pages.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return url_for("pages.index")
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
    error = None
    if request.method == "POST":
        user = core().accounts.authenticate(request.form.get("username", ""),
                                            request.form.get("password", ""))
        if user is not None:
            session.clear()  # a fresh session on login (no fixation)
            session.permanent = True
            login_user(SessionUser(user))
            return redirect(target)
        error = "用户名或密码不正确"
    status = 401 if error else 200
    return render_template("auth/login.html", error=error, next=target,
                           username=request.form.get("username", "")), status


@bp.post("/logout")
def logout():  # noqa: ANN201
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
            session.clear()
            session.permanent = True
            login_user(SessionUser(user))
            current_app.logger.info("first administrator %s created", user.username)
            return redirect(url_for("pages.index"))
    return render_template("auth/setup.html", error=error,
                           username=request.form.get("username", "")), 400 if error else 200
