"""Files the site sends to be saved (handouts, references): one way to make the answer."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response


def attachment(data: bytes, content_type: str, fallback: str, filename: str | None = None) -> Response:
    """``data`` as a download: ``Content-Disposition: attachment`` with the ASCII ``fallback``
    name, and the real (Chinese) ``filename`` as RFC 5987 ``filename*`` when there is one."""
    response = Response(data, content_type=content_type)
    disposition = f'attachment; filename="{fallback}"'
    if filename is not None:
        disposition += f"; filename*=UTF-8''{quote(filename, safe='')}"
    response.headers["Content-Disposition"] = disposition
    return response
