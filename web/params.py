"""Reading parameters from a request, the same way for pages and the API.

Every number a request carries is bounded before it reaches the core: ids in a URL by the
route converter :data:`ID` (larger than SQLite's largest integer: no such page, 404), numbers in
a form or query string by :func:`int_arg` (ASCII digits, within bounds: else 400 with a Chinese
message), page numbers by :data:`MAX_PAGE`, page sizes by :data:`MAX_LIMIT`, lists of ids by
:func:`id_list`. A request's form is bounded before it is parsed (:data:`MAX_FORM_BYTES`,
:data:`MAX_FORM_PARTS`; uploads by the ``upload_mb`` setting): else 413 with a Chinese message.
"""

from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

from indexer.facets import FACET_NAMES
from indexer.search import MAX_LIMIT, MAX_PAGE  # the search's bounds; no listing has MAX_PAGE pages
from kb.errors import BadRequest

MAX_ID = 2**63 - 1  # SQLite's largest INTEGER: a larger id cannot name a row
MAX_FORM_BYTES = 500_000  # a form's text: an url-encoded body in all, each field of a multipart one
MAX_FORM_PARTS = 1_000  # fields and files of one form (an upload has at most MAX_UPLOADS files)
MAX_IDS = 10_000  # ids in one list (a pearl string's new order)
ID = f"int(max={MAX_ID})"  # the route converter of every numeric id: `/pearls/<{ID}:string_id>`
_INTEGER = re.compile(r"\s*[+-]?[0-9]{1,30}\s*", re.ASCII)  # longer: not a number anyone means


def search_params(args: MultiDict) -> dict[str, object]:
    """``q``, filters (repeatable), ``page``, ``limit``, ``sort`` from query-string arguments."""
    filters = {name: [v for v in args.getlist(name) if v.strip()] for name in FACET_NAMES}
    page = int_arg(args, "page", 1, maximum=MAX_PAGE, message="page 和 limit 必须是整数")
    limit = int_arg(args, "limit", 0, minimum=0, maximum=MAX_LIMIT,
                    message="page 和 limit 必须是整数") or None  # 0: the default
    return {"q": args.get("q", "").strip(), "filters": {k: v for k, v in filters.items() if v},
            "page": page, "limit": limit, "sort": args.get("sort", "relevance")}


def int_arg(args: MultiDict, name: str, default: int, minimum: int = 1, maximum: int = MAX_ID,
            message: str | None = None) -> int:
    """An integer argument (query string or form) written in ASCII digits, from ``minimum`` to
    ``maximum``; BadRequest (with ``message`` if given) otherwise."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not _INTEGER.fullmatch(raw):
        raise BadRequest(message or f"{name} 必须是整数")
    value = int(raw)
    if value < minimum:
        raise BadRequest(f"{name} 不能小于 {minimum}")
    if value > maximum:
        raise BadRequest(f"{name} 不能大于 {maximum}")
    return value


def page_arg(args: MultiDict, name: str = "page") -> int:
    """A page number: 1 to :data:`MAX_PAGE` (1 when absent)."""
    return int_arg(args, name, 1, minimum=1, maximum=MAX_PAGE)


def id_value(raw: object) -> int | None:
    """A row id given as an int or a string of ASCII digits, 1 to :data:`MAX_ID`; else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and _INTEGER.fullmatch(raw):
        raw = int(raw)
    if isinstance(raw, int) and 1 <= raw <= MAX_ID:
        return raw
    return None


def id_list(raw: object, message: str) -> list[int]:
    """A list of row ids (ints or digit strings; see :func:`id_value`); BadRequest(``message``)
    for anything else: not a list, too long, an element that is not such an id."""
    if not isinstance(raw, list) or len(raw) > MAX_IDS:
        raise BadRequest(message)
    ids = [id_value(x) for x in raw]
    if any(i is None for i in ids):
        raise BadRequest(message)
    return ids  # type: ignore[return-value]


def version_of(raw: object) -> int | None:
    """The ``version`` a change was made from (of a pearl string, of a document's metadata), a
    form field or a JSON value; absent or empty: None, no check (older pages, scripts)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.isascii() and raw.strip().isdigit() and len(raw.strip()) <= 18:
        return int(raw)
    raise BadRequest("version 应为页面显示时的版本号（正整数）")
