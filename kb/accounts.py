"""Accounts and roles: administrators, editors and readers, with Argon2id password hashes.

Roles are ordered: an administrator can do everything an editor can, an editor everything a
reader can. Readers read; editors tag and curate pearl strings; administrators also import,
edit the taxonomy and manage accounts. A password change bumps ``session_version``, which signs
every existing session of that account out.

Sessions (table ``sessions``): each login opens one, under a random token that only the signed
cookie carries (the table keeps its SHA-256); logging out deletes it, so a copy of the cookie
taken before is worth nothing afterwards, while the account's other sessions go on.

Failed logins (table ``login_failures``) are counted per account and per client address over
the last :data:`FAILURE_WINDOW` seconds: at :data:`MAX_FAILURES_PER_ACCOUNT` (or
:data:`MAX_FAILURES_PER_ADDRESS`) further attempts are refused with :class:`TooManyAttempts`
(429) without the password being checked, until the oldest failures leave the window. A
successful login clears the account's count. The counts live in the database, so every server
process sharing it sees them.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import sqlite3
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import store
from .errors import BadRequest, KbError, NotFound
from .model import Role

ROLES: tuple[str, ...] = tuple(r.value for r in Role)  # weakest first
ROLE_LABELS: dict[str, str] = {Role.READER.value: "读者", Role.EDITOR.value: "编辑", Role.ADMIN.value: "管理员"}
USERNAME = re.compile(r"^\w[\w.\-]{1,39}$")  # \w includes Chinese characters
MIN_PASSWORD = 8
_hasher = PasswordHasher()
MAX_FAILURES_PER_ACCOUNT = 5  # failed logins of one account within the window; then 429
MAX_FAILURES_PER_ADDRESS = 20  # failed logins from one client address within the window
FAILURE_WINDOW = 15 * 60  # seconds
_KEY_LENGTH = 64  # of a username or address as the failure count keeps it
ACCOUNTS_EXIST = "已经有账户了：请登录，或请管理员为您新建账户"  # /setup once there is one


class TooManyAttempts(KbError, status=429, code="too_many_attempts"):
    """Too many failed logins for this account or from this address; ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"登录失败次数过多，请 {minutes} 分钟后再试", retry_after=retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    username: str
    role: str
    session_version: int = 0

    def can(self, role: Role | str) -> bool:
        """Does this account have ``role`` or a stronger one? (False for an unknown role.)"""
        return role in ROLES and ROLES.index(self.role) >= ROLES.index(role)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    def to_dict(self) -> dict[str, object]:
        return {"username": self.username, "role": self.role}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def clean_username(username: str) -> str:
    """Usernames are compared after NFKC folding (full-width ａ is a) and ignoring case."""
    return unicodedata.normalize("NFKC", username or "").strip()


def _clock() -> float:
    """Now, in Unix seconds (the tests move it on)."""
    return time.time()


def _account_key(username: str) -> str:
    """The name under which an account's failed logins are counted (as the table compares)."""
    return clean_username(username).lower()[:_KEY_LENGTH]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_role(role: Role | str) -> Role:
    if role not in ROLES:
        raise BadRequest(f"无效的角色 {str(role)!r}：应为 admin、editor 或 reader")
    return Role(role)


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"密码至少 {MIN_PASSWORD} 个字符")
    if password.strip() != password or "\n" in password:
        raise BadRequest("密码首尾不能有空白，也不能含换行")
    return password


class Accounts:
    """The ``users`` table: add, change password or role, list, authenticate."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def check_new(self, username: str) -> str:
        """The cleaned name, if it is valid and free (BadRequest otherwise)."""
        username = clean_username(username)
        if not USERNAME.match(username):
            raise BadRequest("用户名须为 2–40 个字母、数字、汉字、点、下划线或连字符，并以字母、数字或汉字开头")
        if self._row(username) is not None:
            raise BadRequest(f"用户 {username} 已存在")
        return username

    def add(self, username: str, password: str, role: Role | str = Role.READER, *,
            first: bool = False) -> User:
        """A new account. ``first``: only while there is no account at all (the first
        administrator), checked in the transaction that inserts it, so that of several requests
        racing to be first exactly one succeeds; the others get :data:`ACCOUNTS_EXIST`."""
        username = self.check_new(username)
        role = check_role(role).value
        digest = _hasher.hash(check_password(password))
        stamp = _now()
        with store.transaction(self.conn):
            if first and self.count():
                raise BadRequest(ACCOUNTS_EXIST)
            if self._row(username) is not None:
                raise BadRequest(f"用户 {username} 已存在")
            self.conn.execute(
                "INSERT INTO users (username, password_hash, role, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)", (username, digest, role, stamp, stamp))
        return User(username, role)

    def set_password(self, username: str, password: str) -> None:
        digest = _hasher.hash(check_password(password))
        with store.transaction(self.conn):
            row = self._require(username)
            self.conn.execute(
                "UPDATE users SET password_hash = ?, session_version = session_version + 1,"
                " updated_at = ? WHERE username = ?", (digest, _now(), row["username"]))

    def set_role(self, username: str, role: Role | str, actor: str | None = None) -> None:
        """Give an account another role. Refused: taking the administrator role from the last
        administrator, and (when ``actor``, the account making the change, is given) an
        administrator taking it from themself."""
        role = check_role(role).value
        with store.transaction(self.conn):
            row = self._require(username)
            if actor is not None and role != Role.ADMIN and self._is(actor, row["username"]):
                raise BadRequest("不能撤销自己的管理员角色（请让另一位管理员来做）")
            if row["role"] == role:
                return
            if row["role"] == Role.ADMIN and self._admins() == 1:
                raise BadRequest("不能撤销最后一位管理员的管理员角色")
            self.conn.execute("UPDATE users SET role = ?, session_version = session_version + 1,"
                              " updated_at = ? WHERE username = ?", (role, _now(), row["username"]))

    def get(self, username: str) -> User | None:
        row = self._row(username)
        return User(row["username"], row["role"], row["session_version"]) if row else None

    def list(self) -> list[dict[str, object]]:
        rows = self.conn.execute(
            "SELECT username, role, created_at, updated_at FROM users ORDER BY username").fetchall()
        return [dict(r) for r in rows]

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]

    def authenticate(self, username: str, password: str) -> User | None:
        """The account if the password is right, else None (same answer for unknown users)."""
        row = self._row(username)
        if row is None:
            _hasher.hash(password or "x")  # spend the same time as a real check
            return None
        try:
            _hasher.verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        if _hasher.check_needs_rehash(row["password_hash"]):  # parameters made stronger since
            with store.transaction(self.conn):
                self.conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                                  (_hasher.hash(password), row["username"]))
        return User(row["username"], row["role"], row["session_version"])

    # ------------------------------------------------------------------ sessions
    def open_session(self, username: str, hours: float) -> str:
        """A new session of the account for ``hours``: its token (kept in the cookie only)."""
        token = secrets.token_urlsafe(32)
        now = _clock()
        with store.transaction(self.conn):
            row = self._require(username)
            self.conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
            self.conn.execute("INSERT INTO sessions (id, username, created_at, expires_at) VALUES (?, ?, ?, ?)",
                              (_digest(token), row["username"], now, now + hours * 3600))
        return token

    def session_user(self, token: str) -> User | None:
        """The account of an open, unexpired session, or None."""
        row = self.conn.execute(
            "SELECT u.username, u.role, u.session_version FROM sessions s"
            " JOIN users u ON u.username = s.username WHERE s.id = ? AND s.expires_at > ?",
            (_digest(token), _clock())).fetchone()
        return User(row["username"], row["role"], row["session_version"]) if row else None

    def close_session(self, token: str) -> None:
        """End one session (logout); the account's other sessions go on."""
        with store.transaction(self.conn):
            self.conn.execute("DELETE FROM sessions WHERE id = ?", (_digest(token),))

    # ------------------------------------------------------------ failed logins
    def start_attempt(self, username: str, address: str) -> str:
        """Before checking a password: refuse (TooManyAttempts) when the account or the address
        has too many failures in the window, else count this attempt as a failure until
        :meth:`succeeded` says otherwise (so parallel attempts cannot slip past the limit).
        Returns the attempt's id."""
        now = _clock()
        attempt = secrets.token_hex(8)
        keys = (("account", _account_key(username), MAX_FAILURES_PER_ACCOUNT),
                ("address", (address or "")[:_KEY_LENGTH], MAX_FAILURES_PER_ADDRESS))
        with store.transaction(self.conn):
            self.conn.execute("DELETE FROM login_failures WHERE at <= ?", (now - FAILURE_WINDOW,))
            for kind, key, limit in keys:
                times = [r[0] for r in self.conn.execute(
                    "SELECT at FROM login_failures WHERE kind = ? AND key = ? AND at > ? ORDER BY at",
                    (kind, key, now - FAILURE_WINDOW))]
                if len(times) >= limit:  # wait until enough of them leave the window
                    raise TooManyAttempts(max(1, math.ceil(times[len(times) - limit] + FAILURE_WINDOW - now)))
            self.conn.executemany("INSERT INTO login_failures (attempt, kind, key, at) VALUES (?, ?, ?, ?)",
                                  [(attempt, kind, key, now) for kind, key, _ in keys])
        return attempt

    def succeeded(self, attempt: str, username: str) -> None:
        """The attempt was right: it was no failure, and the account's count starts again."""
        with store.transaction(self.conn):
            self.conn.execute("DELETE FROM login_failures WHERE attempt = ? OR (kind = 'account' AND key = ?)",
                              (attempt, _account_key(username)))

    def _row(self, username: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM users WHERE username = ?",
                                 (clean_username(username),)).fetchone()

    def _require(self, username: str) -> sqlite3.Row:
        row = self._row(username)
        if row is None:
            raise NotFound(f"没有用户 {username}")
        return row

    def _is(self, name: str, username: str) -> bool:
        """Does ``name`` name the account ``username``? (Names are compared as the table does.)"""
        row = self._row(name)
        return row is not None and row["username"] == username

    def _admins(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM users WHERE role = ?", (Role.ADMIN.value,)).fetchone()[0]
