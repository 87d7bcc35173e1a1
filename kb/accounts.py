"""Accounts and roles: administrators, editors and readers, with Argon2id password hashes.

Roles are ordered: an administrator can do everything an editor can, an editor everything a
reader can. Readers read; editors tag and curate pearl strings; administrators also import,
edit the taxonomy and manage accounts. A password change bumps ``session_version``, which signs
every existing session of that account out.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import store
from .errors import BadRequest, NotFound
from .model import Role

ROLES: tuple[str, ...] = tuple(r.value for r in Role)  # weakest first
ROLE_LABELS: dict[str, str] = {Role.READER.value: "读者", Role.EDITOR.value: "编辑", Role.ADMIN.value: "管理员"}
USERNAME = re.compile(r"^\w[\w.\-]{1,39}$")  # \w includes Chinese characters
MIN_PASSWORD = 8
_hasher = PasswordHasher()


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

    def add(self, username: str, password: str, role: Role | str = Role.READER) -> User:
        username = self.check_new(username)
        role = check_role(role).value
        digest = _hasher.hash(check_password(password))
        stamp = _now()
        with store.transaction(self.conn):
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
