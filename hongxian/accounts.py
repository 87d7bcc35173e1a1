"""Use cases of accounts: the first administrator, logging in, managing accounts and roles."""

from __future__ import annotations

from kb.accounts import User
from kb.errors import BadRequest, NotFound
from kb.model import Role

from .cases import Cases


class AccountCases(Cases):

    @property
    def _accounts(self):  # noqa: ANN202 - kb.accounts.Accounts
        return self.core.kb.accounts

    def count(self) -> int:
        return self._accounts.count()

    def get(self, username: str) -> User | None:
        return self._accounts.get(username)

    def list(self) -> list[dict[str, object]]:
        return self._accounts.list()

    def authenticate(self, username: str, password: str) -> User | None:
        return self._accounts.authenticate(username, password)

    def check_new(self, username: str) -> str:
        """The cleaned name, if valid and free (ask before prompting for a password)."""
        return self._accounts.check_new(username)

    def setup(self, username: str, password: str, repeated: str) -> User:
        """The first administrator: only while there is no account at all."""
        if self.count():
            raise BadRequest("已经有账户了：请登录，或请管理员为您新建账户")
        if password != repeated:
            raise BadRequest("两次输入的密码不一致")
        return self._accounts.add(username, password, Role.ADMIN)

    def add(self, username: str, password: str, role: Role | str = Role.READER) -> User:
        return self._accounts.add(username, password, role)

    def set_role(self, username: str, role: Role | str, actor: str | None = None) -> None:
        """Change a role; nobody demotes themself and the last administrator stays one."""
        self._accounts.set_role(username, role, actor=actor)

    def set_password(self, username: str, password: str) -> User:
        """A new password; the account's other sessions end. Returns the account."""
        user = self.get(username)
        if user is None:
            raise NotFound(f"没有用户 {username}")
        self._accounts.set_password(user.username, password)
        return user
