"""The Atom 1.0 feed ``/feed.atom``: newly published pearl strings and new cases, newest first.

A public view with the scope rules of ``/stats`` (:meth:`hongxian.statistics.StatsCases.scope_for`):
a feed reader cannot log in, so on a site that requires a login it gets the published strings
and the cases in them only; a logged-in browser, or any visitor of a site without login, gets
every new case too. Drafts are never in it. The XML is built with ElementTree; every URL is
absolute through :func:`web.absolute_url`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from flask import Blueprint, Response, url_for

from . import absolute_url, core, public
from .auth import viewer
from .sharing import SITE_NAME

bp = Blueprint("feeds", __name__)
ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def atom(entries: list[dict[str, object]], scope: str) -> bytes:
    """The feed document of ``entries`` (:meth:`~hongxian.statistics.StatsCases.recent`)."""
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": "zh-CN"})
    _text(feed, "id", absolute_url(url_for("feeds.atom")))
    _text(feed, "title", f"{SITE_NAME}：新发布的串珍珠与新案例")
    _text(feed, "subtitle", "只含已发布的串珍珠和其中的案例" if scope == "public" else "已发布的串珍珠和新导入的案例")
    stamps = [str(e["updated"]) for e in entries if e.get("updated")]
    _text(feed, "updated", max(stamps) if stamps else datetime.now(UTC).isoformat(timespec="seconds"))
    ET.SubElement(feed, "link", {"rel": "self", "type": MEDIA_TYPE, "href": absolute_url(url_for("feeds.atom"))})
    ET.SubElement(feed, "link", {"rel": "alternate", "type": "text/html", "href": absolute_url(url_for("pearls.index"))})
    author = ET.SubElement(feed, "author")
    _text(author, "name", "红线 Hongxian")
    _text(feed, "generator", "红线 Hongxian")
    for entry in entries:
        if entry["kind"] == "string":
            path = url_for("pearls.view", string_id=entry["id"])
            label = "串珍珠"
        else:
            path = url_for("pages.document", doc_id=entry["id"])
            label = "案例"
        item = ET.SubElement(feed, "entry")
        _text(item, "id", absolute_url(path))
        _text(item, "title", str(entry["title"]))
        _text(item, "updated", str(entry["updated"]))
        if entry.get("published"):
            _text(item, "published", str(entry["published"]))
        ET.SubElement(item, "link", {"rel": "alternate", "type": "text/html", "href": absolute_url(path)})
        who = ET.SubElement(item, "author")
        _text(who, "name", str(entry["author"] or "红线 Hongxian"))
        ET.SubElement(item, "category", {"term": str(entry["kind"]), "label": label})
        _text(item, "summary", f"{label}：{entry['summary']}")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


@bp.get("/feed.atom", endpoint="atom")
@public
def atom_feed():  # noqa: ANN201
    stats = core().stats
    scope = stats.scope_for(viewer() is not None)
    body = atom(stats.recent(scope), str(scope))
    return Response(body, mimetype=MEDIA_TYPE, headers={"Cache-Control": "no-store"})
