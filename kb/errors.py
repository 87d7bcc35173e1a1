"""The error hierarchy shared by the knowledge base, the indexer, the CLI and the site.

Every error carries a message meant for a person (Chinese first, English where it helps);
the command line turns it into a one-line message and an exit code, the site into a 4xx page
or a JSON error object.
"""

from __future__ import annotations


class KbError(Exception):
    """Base class of every error Hongxian reports to a user."""

    status = 400
    code = "error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, object]:
        """The error as a JSON-ready object."""
        out: dict[str, object] = {"error": self.code, "message": self.message}
        out.update({k: v for k, v in self.details.items() if v is not None})
        return out


class NotFound(KbError):
    status = 404
    code = "not_found"


class BadRequest(KbError):
    status = 400
    code = "bad_request"


class Forbidden(KbError):
    """The account may not do this (or, without an account, must log in first)."""

    status = 403
    code = "forbidden"


class Unauthorized(KbError):
    """This needs a login."""

    status = 401
    code = "login_required"


class ImportRejected(KbError):
    """A file could not be imported; ``path`` and ``line`` say where."""

    code = "import_rejected"

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message, path=path, line=line)
        self.path = path
        self.line = line


class QueryError(BadRequest):
    """A search query that cannot be understood; ``fragment`` is the offending part."""

    code = "bad_query"

    def __init__(self, message: str, fragment: str | None = None) -> None:
        super().__init__(message, fragment=fragment)
        self.fragment = fragment


class IndexBusy(KbError):
    status = 503
    code = "index_busy"


class StartupError(KbError):
    code = "startup"


class IndexMissing(KbError):
    status = 503
    code = "index_missing"
