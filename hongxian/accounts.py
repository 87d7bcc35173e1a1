"""Use cases of accounts: the first administrator, logging in (throttled: too many failures of
an account or from an address are refused for a while), sessions (revoked at logout), managing
accounts and roles."""

from __future__ import annotations

from kb.accounts import ACCOUNTS_EXIST, User
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
        """Check a password, unthrottled (for the command line, which the operator runs)."""
        return self._accounts.authenticate(username, password)

    def login(self, username: str, password: str, address: str) -> User | None:
        """Check a password sent from ``address``: the account, or None when wrong. Refused with
        TooManyAttempts (429, nothing checked) after too many failures of the account or the
        address within the window (see :mod:`kb.accounts`); a success clears the account's count."""
        attempt = self._accounts.start_attempt(username, address)
        user = self._accounts.authenticate(username, password)
        if user is not None:
            self._accounts.succeeded(attempt, username)
        return user

    def open_session(self, user: User) -> str:
        """A new session of ``user`` lasting ``session_hours``: its token, for the cookie."""
        return self._accounts.open_session(user.username, self.core.settings.session_hours)

    def session_user(self, token: str) -> User | None:
        """The account of an open session, or None (logged out, expired, unknown)."""
        return self._accounts.session_user(token)

    def close_session(self, token: str) -> None:
        """Log one session out: its token opens nothing any more."""
        self._accounts.close_session(token)

    def check_new(self, username: str) -> str:
        """The cleaned name, if valid and free (ask before prompting for a password)."""
        return self._accounts.check_new(username)

    def setup(self, username: str, password: str, repeated: str) -> User:
        """The first administrator: only while there is no account at all (checked again when
        it is inserted: of requests racing to be first, one wins and the others are refused)."""
        if self.count():
            raise BadRequest(ACCOUNTS_EXIST)
        if password != repeated:
            raise BadRequest("两次输入的密码不一致")
        return self._accounts.add(username, password, Role.ADMIN, first=True)

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
