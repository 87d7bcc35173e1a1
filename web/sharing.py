"""Open Graph metadata: how a public page looks when its link is shared (``og:title``,
``og:description``, ``og:type``, ``og:url``, ``og:site_name``, ``og:locale``).

``base.html`` has a block ``og`` that calls :func:`open_graph` with the page's title; a page
fills the block with its own title, description and type. A draft's title is never passed
here (the pearl-string page passes a generic title for a draft). URLs are made absolute by
:func:`web.absolute_url`, the site's one helper for that.
"""

from __future__ import annotations

from flask import Flask, request
from markupsafe import Markup, escape

SITE_NAME = "红线 基层党建经验与案例库"
DESCRIPTION = "基层党建经验材料与案例的知识库：检索做法，按“1+N”工作模式归类，串珍珠成教学讲义。"
MAX_DESCRIPTION = 200


def _short(text: str, limit: int = MAX_DESCRIPTION) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def open_graph(title: str, description: str = "", kind: str = "website", path: str | None = None) -> Markup:
    """The ``<meta property="og:…">`` tags of a page (``path``: its URL, the request's by
    default, query string included)."""
    from . import absolute_url

    if path is None:
        path = request.full_path if request.query_string else request.path
    tags = {"og:title": _short(title, 120) or SITE_NAME, "og:description": _short(description) or DESCRIPTION,
            "og:type": kind, "og:url": absolute_url(path), "og:site_name": SITE_NAME, "og:locale": "zh_CN"}
    return Markup("\n  ").join(Markup('<meta property="{}" content="{}">').format(escape(k), escape(v))
                               for k, v in tags.items())


def init_app(app: Flask) -> None:
    """Make :func:`open_graph` a template global."""
    app.jinja_env.globals["open_graph"] = open_graph
