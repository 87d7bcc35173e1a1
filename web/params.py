"""Reading search parameters from a request, the same way for pages and the API."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from indexer.facets import FACET_NAMES
from kb.errors import BadRequest


def search_params(args: MultiDict) -> dict[str, object]:
    """``q``, filters (repeatable), ``page``, ``limit``, ``sort`` from query-string arguments."""
    filters = {name: [v for v in args.getlist(name) if v.strip()] for name in FACET_NAMES}
    try:
        page = int(args.get("page", 1))
        limit = int(args["limit"]) if args.get("limit") else None
    except ValueError as exc:
        raise BadRequest("page 和 limit 必须是整数") from exc
    return {"q": args.get("q", "").strip(), "filters": {k: v for k, v in filters.items() if v},
            "page": page, "limit": limit, "sort": args.get("sort", "relevance")}


def int_arg(args: MultiDict, name: str, default: int, minimum: int = 1) -> int:
    """An integer argument (query string or form), at least ``minimum``; BadRequest otherwise."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} 必须是整数") from exc
    if value < minimum:
        raise BadRequest(f"{name} 不能小于 {minimum}")
    return value
