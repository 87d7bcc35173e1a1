"""The error hierarchy shared by the knowledge base, the indexer, the CLI and the site.

Every error carries a message meant for a person (Chinese first, English where it helps);
the command line turns it into a one-line message and an exit code, the site into a page or a
JSON error object with the error's status. A fault of the server's own configuration (a bad
setting, taxonomy, dictionary or synonyms file) is a :class:`ConfigError`: status 500, and the
site shows the client only :attr:`KbError.public_message` (the full message, with the server's
paths, goes to the server's log).
"""

from __future__ import annotations

import errno
import sqlite3


class KbError(Exception):
    """Base class of every error Hongxian reports to a user. A subclass names its HTTP status
    and its JSON ``error`` code in its header: ``class NotFound(KbError, status=404, code=…)``."""

    status = 400
    code = "error"

    def __init_subclass__(cls, status: int | None = None, code: str | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def server_fault(self) -> bool:
        """The server's fault (5xx), not the request's."""
        return self.status >= 500

    @property
    def public_message(self) -> str:
        """What a client of the site may be told."""
        return self.message

    def to_dict(self) -> dict[str, object]:
        """The error as a JSON-ready object (for a client: no details of a configuration fault)."""
        out: dict[str, object] = {"error": self.code, "message": self.public_message}
        if not isinstance(self, ConfigError):
            out.update({k: v for k, v in self.details.items() if v is not None})
        return out


class NotFound(KbError, status=404, code="not_found"):
    pass


class BadRequest(KbError, status=400, code="bad_request"):
    pass


class Forbidden(KbError, status=403, code="forbidden"):
    """The account may not do this (or, without an account, must log in first)."""


class Unauthorized(KbError, status=401, code="login_required"):
    """This needs a login."""


class Conflict(KbError, status=409, code="conflict"):
    """The change was made from an older version of the thing than the one now stored (someone
    else saved in between); nothing was changed. ``version`` names the version now stored."""


class ImportRejected(KbError, code="import_rejected"):
    """A file could not be imported; ``path`` and ``line`` say where."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message, path=path, line=line)
        self.path = path
        self.line = line


class QueryError(BadRequest, code="bad_query"):
    """A search query that cannot be understood; ``fragment`` is the offending part."""

    def __init__(self, message: str, fragment: str | None = None) -> None:
        super().__init__(message, fragment=fragment)
        self.fragment = fragment


class IndexBusy(KbError, status=503, code="index_busy"):
    """Another process is writing the index."""


class ConfigError(KbError, status=500, code="config"):
    """The server's configuration is wrong: a setting, the taxonomy, dictionary or synonyms file.
    Checked when the site or the command line starts; the operator must fix it."""

    @property
    def public_message(self) -> str:
        return "服务器的配置有误，管理员需要修正它（详情见服务器日志）"


class StartupError(ConfigError, code="startup"):
    """The configuration or the data directory cannot be used at start-up."""


class IndexMissing(KbError, status=503, code="index_missing"):
    """There is no index yet."""


class IndexBuildFailed(KbError, status=500, code="index_failed"):
    """A worker process of a parallel build died (killed, out of memory): nothing was swapped in."""


class StorageError(KbError, status=503, code="storage"):
    """The data directory cannot be written (read-only, no permission, an I/O error): the
    operation was not completed (its transaction rolled back, the index left at its last good
    state). The site names no server path to the client."""

    public_message_text = "服务器暂时无法写入数据（数据目录不可写），这次操作没有保存；请稍后再试或联系管理员"

    @property
    def public_message(self) -> str:
        return self.public_message_text


class StorageFull(StorageError, status=507, code="storage_full"):
    """The disk (or the database's size limit) is full: nothing was changed."""

    public_message_text = "服务器的存储空间已满，这次操作没有保存；管理员需要腾出磁盘空间（详情见服务器日志）"


_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_UNWRITABLE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO}
_SQLITE_FULL = ("database or disk is full",)
_SQLITE_UNWRITABLE = ("attempt to write a readonly database", "unable to open database file",
                      "disk i/o error")


def storage_error(exc: BaseException) -> StorageError | None:
    """The :class:`StorageError` an exception of the file system or of SQLite stands for (a full
    disk, a read-only or unreadable data directory), or None when it is something else. An
    error raised while handling one counts as it (SQLite rolls back by itself when the disk is
    full, so a ROLLBACK after it fails with "no transaction is active")."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        fault = _storage_fault(exc)
        if fault is not None:
            return fault
        if not isinstance(exc, OSError | sqlite3.OperationalError):
            return None
        exc = exc.__cause__ or exc.__context__
    return None


def _storage_fault(exc: BaseException) -> StorageError | None:
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        if any(m in text for m in _SQLITE_FULL):
            return StorageFull(f"磁盘空间已满（SQLite：{exc}），这次操作没有保存；请腾出空间后重试")
        if any(m in text for m in _SQLITE_UNWRITABLE):
            return StorageError(f"无法写入知识库（SQLite：{exc}）；请检查数据目录的权限和磁盘")
        return None
    if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
        where = f" {exc.filename}" if exc.filename else ""
        reason = exc.strerror or str(exc)
        if exc.errno in _FULL_ERRNOS:
            return StorageFull(f"磁盘空间已满，无法写入{where}（{reason}），这次操作没有完成；请腾出空间后重试")
        if exc.errno in _UNWRITABLE_ERRNOS:
            return StorageError(f"无法写入{where}（{reason}）；请检查数据目录的权限、磁盘是否只读")
    return None
